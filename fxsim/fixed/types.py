"""Fixed-point types: ``FixedType``, its rounding and overflow modes, parsing, exact result types.

A value of ``FixedType(W, I)`` is stored as its raw two's-complement code ``c``
(an int64) and means ``c * 2**-(W - I)``.

Conventions follow Xilinx ``ap_fixed<W, I, Q, O, N>``: ``W`` total bits, ``I``
integer bits including the sign bit, ``F = W - I`` fractional bits (``I`` may be
negative or larger than ``W``). Conversion rounds the exact value with ``Q``
first, then applies ``O`` to the rounded integer (a rounding carry can overflow).
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The widest type the core represents exactly. Codes live in int64 and an
#: exact sum of two codes must still fit, hence 62 and not 64.
MAX_WIDTH = 62


class Rounding(enum.IntEnum):
    """ap_q_mode: how the bits below the destination's LSB are dropped."""

    TRN = 0  # floor (toward -inf), the ap_fixed default
    TRN_ZERO = 1  # toward zero
    RND = 2  # to nearest, ties toward +inf
    RND_ZERO = 3  # to nearest, ties toward zero
    RND_INF = 4  # to nearest, ties away from zero
    RND_MIN_INF = 5  # to nearest, ties toward -inf
    RND_CONV = 6  # to nearest, ties to even (convergent)

    @classmethod
    def parse(cls, text: str | Rounding) -> Rounding:
        return _parse_mode(cls, text)


class Overflow(enum.IntEnum):
    """ap_o_mode: what happens to a rounded value outside the type's range."""

    WRAP = 0  # keep the low W bits (two's complement), the ap_fixed default
    SAT = 1  # clamp to [min, max]
    SAT_ZERO = 2  # 0 on overflow
    SAT_SYM = 3  # clamp to [-max, max] for signed types

    @classmethod
    def parse(cls, text: str | Overflow) -> Overflow:
        return _parse_mode(cls, text)


def _parse_mode(cls, text):
    if isinstance(text, cls):
        return text
    if hasattr(text, "name") and not isinstance(text, str):  # hls4ml's RoundingMode / SaturationMode enums
        text = text.name
    key = str(text).strip().upper()
    key = key[3:] if key.startswith("AP_") else key
    try:
        return cls[key]
    except KeyError:
        valid = ", ".join(m.name for m in cls)
        raise ValueError(f"unknown {cls.__name__.lower()} mode {text!r}; valid: {valid}") from None


@dataclass(frozen=True)
class FixedType:
    """An ``ap_fixed``/``ap_ufixed``/``ap_int``/``ap_uint`` type.

    Parameters
    ----------
    width : total number of bits ``W`` (1..MAX_WIDTH).
    integer : integer bits ``I`` including the sign bit; may be negative or exceed ``W``.
    signed : ``ap_fixed`` (True) or ``ap_ufixed`` (False).
    rounding, overflow : ap_q_mode / ap_o_mode, by name (``"RND_CONV"``, ``"AP_SAT"``) or enum.
    sat_bits : the fifth template argument ``N``; only 0 is supported (hls4ml always uses 0).
    is_int : an ``ap_int``/``ap_uint``: ``integer == width``, and conversion from a
        double truncates toward zero as C does (``ap_int(double)``).
    """

    width: int
    integer: int
    signed: bool = True
    rounding: Rounding = Rounding.TRN
    overflow: Overflow = Overflow.WRAP
    sat_bits: int = 0
    is_int: bool = False

    def __post_init__(self):
        object.__setattr__(self, "rounding", Rounding.parse(self.rounding))
        object.__setattr__(self, "overflow", Overflow.parse(self.overflow))
        for name in ("width", "integer", "sat_bits"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        object.__setattr__(self, "signed", bool(self.signed))
        if self.width < 1:
            raise ValueError(f"width must be at least 1 bit, got {self.width} in {self._spelling()}")
        if self.width > MAX_WIDTH:
            raise ValueError(
                f"{self._spelling()} is {self.width} bits wide; fxsim represents at most "
                f"{MAX_WIDTH}-bit types exactly"
            )
        if self.sat_bits != 0:
            raise ValueError(
                f"{self._spelling()}: saturation bits N={self.sat_bits} are not supported "
                "(hls4ml always uses N=0)"
            )
        if abs(self.frac) > 1000:
            raise ValueError(f"{self._spelling()}: integer bits {self.integer} out of the supported range")
        if self.is_int:
            if self.integer != self.width:
                raise ValueError(f"an ap_int type has integer == width, got {self.width},{self.integer}")
            # ap_int has no modes: conversion truncates toward zero, overflow wraps.
            object.__setattr__(self, "rounding", Rounding.TRN_ZERO)
            object.__setattr__(self, "overflow", Overflow.WRAP)

    # --- derived quantities ---------------------------------------------------------
    @property
    def frac(self) -> int:
        """Number of fractional bits ``F = W - I`` (negative when ``I > W``)."""
        return self.width - self.integer

    @property
    def lsb(self) -> float:
        """Value of one code step, ``2**-F``."""
        return math.ldexp(1.0, -self.frac)

    @property
    def min_code(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_code(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def min(self) -> float:
        """Smallest representable value."""
        return math.ldexp(float(self.min_code), -self.frac)

    @property
    def max(self) -> float:
        """Largest representable value."""
        return math.ldexp(float(self.max_code), -self.frac)

    @property
    def spec(self) -> tuple[int, int, int, int, int]:
        """``(W, F, signed, rounding, overflow)``: the form numba kernels take."""
        return (self.width, self.frac, int(self.signed), int(self.rounding), int(self.overflow))

    # --- spellings ------------------------------------------------------------------
    def _spelling(self) -> str:
        if self.is_int:
            return f"ap_{'' if self.signed else 'u'}int<{self.width}>"
        name = "ap_fixed" if self.signed else "ap_ufixed"
        args = [str(self.width), str(self.integer)]
        if self.rounding != Rounding.TRN or self.overflow != Overflow.WRAP or self.sat_bits:
            args += [f"AP_{Rounding(self.rounding).name}", f"AP_{Overflow(self.overflow).name}"]
            if self.sat_bits:
                args.append(str(self.sat_bits))
        return f"{name}<{','.join(args)}>"

    def __str__(self) -> str:
        return self._spelling()

    def hls4ml_str(self) -> str:
        """hls4ml's own spelling, e.g. ``fixed<16,6,RND_CONV,SAT,0>`` or ``int<8>``."""
        if self.is_int:
            return f"{'' if self.signed else 'u'}int<{self.width}>"
        name = "fixed" if self.signed else "ufixed"
        return (
            f"{name}<{self.width},{self.integer},{Rounding(self.rounding).name},"
            f"{Overflow(self.overflow).name},{self.sat_bits}>"
        )

    @classmethod
    def parse(cls, spec: Any) -> FixedType:
        """Build a type from any spelling a user meets.

        Accepts ``ap_fixed<16,6>``, ``ap_fixed<16,6,AP_RND_CONV,AP_SAT>``,
        ``ap_ufixed<8,0,AP_RND,AP_SAT_SYM>``, ``ap_int<8>``, ``ap_uint<4>``, hls4ml's
        ``fixed<16,6,RND,SAT,0>`` / ``ufixed<...>`` / ``int<8>`` / ``uint<8>``, hls4ml
        ``FixedPrecisionType`` / ``IntegerPrecisionType`` / ``NamedType`` objects, and
        ``FixedType`` itself.
        """
        if isinstance(spec, FixedType):
            return spec
        if isinstance(spec, str):
            return _parse_string(spec)
        return _from_hls4ml(spec)


_TYPE_RE = re.compile(r"^\s*(?:ap_)?(u?fixed|u?int)\s*<([^<>]*)>\s*$")


def _parse_string(text: str) -> FixedType:
    match = _TYPE_RE.match(text)
    if not match:
        raise ValueError(
            f"cannot parse fixed-point type {text!r}; expected e.g. 'ap_fixed<16,6>', "
            "'ap_ufixed<8,0,AP_RND,AP_SAT>', 'ap_int<8>' or hls4ml's 'fixed<16,6,RND,SAT,0>'"
        )
    kind, body = match.groups()
    args = [a.strip() for a in body.split(",")]
    if any(a == "" for a in args):
        raise ValueError(f"empty template argument in {text!r}")
    signed = not kind.startswith("u")

    def as_int(token: str, what: str) -> int:
        try:
            return int(token)
        except ValueError:
            raise ValueError(f"{what} must be an integer in {text!r}, got {token!r}") from None

    if kind.endswith("int"):
        if len(args) != 1:
            raise ValueError(f"{text!r}: an integer type takes exactly one argument (the width)")
        width = as_int(args[0], "width")
        if width < 1:
            raise ValueError(f"{text!r}: width must be at least 1 bit")
        return FixedType(width, width, signed, is_int=True)
    if not 2 <= len(args) <= 5:
        raise ValueError(f"{text!r}: a fixed type takes 2 to 5 arguments <W,I[,Q[,O[,N]]]>")
    width = as_int(args[0], "width")
    integer = as_int(args[1], "integer bits")
    rounding = Rounding.parse(args[2]) if len(args) > 2 else Rounding.TRN
    overflow = Overflow.parse(args[3]) if len(args) > 3 else Overflow.WRAP
    sat_bits = as_int(args[4], "saturation bits") if len(args) > 4 else 0
    return FixedType(width, integer, signed, rounding, overflow, sat_bits)


def _from_hls4ml(obj: Any) -> FixedType:
    # NamedType wraps the precision; PrecisionType objects carry width/integer/signed.
    precision = getattr(obj, "precision", obj)
    cls_name = type(precision).__name__
    if cls_name == "IntegerPrecisionType":
        return FixedType(precision.width, precision.width, precision.signed, is_int=True)
    if cls_name in ("FixedPrecisionType",) or hasattr(precision, "rounding_mode"):
        rounding = precision.rounding_mode or "TRN"
        overflow = precision.saturation_mode or "WRAP"
        return FixedType(
            precision.width,
            precision.integer,
            precision.signed,
            Rounding.parse(getattr(rounding, "name", rounding)),
            Overflow.parse(getattr(overflow, "name", overflow)),
            int(precision.saturation_bits or 0),
        )
    raise ValueError(f"unsupported precision type {cls_name} ({obj!r}); fxsim handles fixed and integer types")


# --- result types of exact arithmetic (ap_fixed_base.h RType) ------------------------


def product_type(a: FixedType, b: FixedType) -> FixedType:
    """Exact type of ``a * b``: ``ap_fixed<W1+W2, I1+I2>``, signed if either is."""
    width = a.width + b.width
    signed = a.signed or b.signed
    if a.is_int and b.is_int:
        return FixedType(width, width, signed, is_int=True)
    return FixedType(width, a.integer + b.integer, signed)


def sum_type(a: FixedType, b: FixedType, subtract: bool = False) -> FixedType:
    """Exact type of ``a + b`` (or ``a - b``, always signed), as ``ap_fixed_base.h`` defines it."""
    f = max(a.frac, b.frac)
    i = max(a.integer + (b.signed and not a.signed), b.integer + (a.signed and not b.signed)) + 1
    signed = a.signed or b.signed or subtract
    if a.is_int and b.is_int:
        return FixedType(i, i, signed, is_int=True)
    return FixedType(i + f, i, signed)
