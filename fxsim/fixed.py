"""The fixed-point core: ``FixedType`` and exact ``ap_fixed`` arithmetic on raw integer codes.

A value of ``FixedType(W, I)`` is stored as its raw two's-complement code ``c``
(an int64) and means ``c * 2**-(W - I)``. Everything in fxsim that quantizes
goes through :func:`requantize` (scalar, numba) or the array functions built on
it; there is no second copy of the rounding rules.

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

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types as nbt
from numba.extending import intrinsic

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


def _as_fixed(t: FixedType) -> tuple[int, int, bool]:
    return t.width, t.integer, t.signed


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


# --- scalar kernels (numba) ------------------------------------------------------------

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _int_resize(builder, value, width):
    if value.type.width > width:
        return builder.trunc(value, ir.IntType(width))
    if value.type.width < width:
        return builder.sext(value, ir.IntType(width))
    return value


@intrinsic
def narrow_like(typingctx, like, value):
    """``value`` as an integer of ``like``'s type (its low bits; the caller knows it fits).

    numba computes with 64-bit integers whatever the operands; this tells the compiler the
    result is wanted in 32 bits, so a loop over int32 codes keeps 32-bit lanes (twice as many
    per vector instruction).
    """
    if not isinstance(like, nbt.Integer) or not isinstance(value, nbt.Integer):
        return None

    def codegen(context, builder, sig, args):
        return _int_resize(builder, args[1], like.bitwidth)

    return like(like, value), codegen


@intrinsic
def shift_right(typingctx, value, d):
    """``value >> d`` (arithmetic) in ``value``'s own width, ``0 <= d < width``; ``>>`` widens to 64 bits first."""
    if not isinstance(value, nbt.Integer) or not isinstance(d, nbt.Integer):
        return None

    def codegen(context, builder, sig, args):
        v, s = args
        return builder.ashr(v, _int_resize(builder, s, value.bitwidth))

    return value(value, d), codegen


@nb.njit(cache=True, inline="always")
def round_shift_branchless(v, d, rnd, conv):
    """``v * 2**-d`` (``0 <= d <= 62``) rounded with no branch on the value, so loops vectorise.

    TRN (``rnd = conv = 0``): floor. RND (``rnd = 1``): to nearest, ties toward +inf.
    RND_CONV (``conv = 1``): to nearest, ties to even. Rounding to nearest adds half an
    output step before the floor; ties-to-even adds one less unless the floor is odd.
    Computed in ``v``'s own integer width: an int32 ``v`` needs ``d <= 31`` and
    ``|v| + 2**(d-1) < 2**31``.
    """
    half = (np.int64(1) << d) >> 1  # 0 when d == 0: nothing is dropped
    # RND_CONV: -1 when the floor is even (and bits are dropped), so an exact tie rounds down to it
    even_fix = (shift_right(v, d) & 1) - (half != 0)
    return shift_right(narrow_like(v, v + (rnd | conv) * half + conv * even_fix), d)


@nb.njit(cache=True, inline="always")
def _round_shift(v, d, rmode):
    """Exact ``v * 2**-d`` (``d >= 1``) rounded to an integer with ``rmode``."""
    if d > 62:
        # |v| < 2**62 <= half an output step: only the sign and exactness matter.
        if v < 0 and rmode == 0:
            return np.int64(-1)
        return np.int64(0)
    if rmode == 0 or rmode == 2 or rmode == 6:  # TRN, RND, RND_CONV: the kernels' common modes
        return round_shift_branchless(v, d, np.int64(rmode == 2), np.int64(rmode == 6))
    q = v >> d  # floor (arithmetic shift)
    r = v - (q << d)  # remainder in [0, 2**d)
    if r == 0:  # exact
        return q
    half = np.int64(1) << (d - 1)
    if rmode == 1:  # TRN_ZERO: floor, +1 for negatives
        return q + 1 if v < 0 else q
    if r > half:
        return q + 1
    if r < half:
        return q
    # exact tie (RND and RND_CONV took round_shift_branchless above)
    if rmode == 3:  # RND_ZERO
        return q + 1 if v < 0 else q
    if rmode == 4:  # RND_INF: away from zero
        return q if v < 0 else q + 1
    return q  # RND_MIN_INF


@nb.njit(cache=True, inline="always")
def wrap_signed(q, shift):
    """WRAP into a signed type of ``64 - shift`` bits: the low bits of ``q``, sign-extended."""
    return (q << shift) >> shift


@nb.njit(cache=True, inline="always")
def saturate(q, lo, hi):
    """SAT: ``q`` clamped to the type's codes ``[lo, hi]``."""
    return min(max(q, lo), hi)


@nb.njit(cache=True, inline="always")
def code_range(width, signed):
    """``(lo, hi)``: the smallest and largest code of a ``width``-bit type."""
    if signed:
        hi = (np.int64(1) << (width - 1)) - 1
        return -hi - 1, hi
    return np.int64(0), (np.int64(1) << width) - 1


@nb.njit(cache=True, inline="always")
def _apply_overflow(q, big, neg, width, signed, omode):
    """Fit the rounded integer ``q`` into ``width`` bits with ``omode``.

    ``big`` marks a value too large for int64; then ``q`` holds only its low
    64 bits (two's complement) and ``neg`` its sign. Returns ``(code, overflowed)``.
    """
    lo, hi = code_range(width, signed)
    # WRAP and SAT of an int64 value without branches on the value: the hot paths of every kernel
    if not big and omode == 0:  # WRAP: keep the low W bits (two's complement when signed)
        c = wrap_signed(q, 64 - width) if signed else q & hi
        return c, c != q
    if not big and (omode == 1 or (omode == 3 and not signed)):  # SAT (SAT_SYM is SAT when unsigned)
        c = saturate(q, lo, hi)
        return c, c != q
    over = big or q > hi or q < lo
    if not over:
        if omode == 3 and signed and q == lo and width > 1:
            # SAT_SYM also treats the exact asymmetric minimum as an underflow
            return lo | 1, True
        return q, False
    if omode == 0:  # WRAP: keep the low W bits
        u = np.uint64(q) & ((np.uint64(1) << np.uint64(width)) - np.uint64(1))
        c = np.int64(u)
        if signed and c > hi:
            c -= np.int64(1) << width
        return c, True
    if omode == 2:  # SAT_ZERO
        return np.int64(0), True
    positive = (not neg) if big else q > 0
    if positive:
        return hi, True
    if omode == 3 and signed:  # SAT_SYM: the minimum with its LSB set (-max; -1 for 1 bit)
        return lo | 1, True
    return lo, True


@nb.njit(cache=True, inline="always")
def requantize(v, src_frac, dst_frac, width, signed, rmode, omode):
    """Convert the exact value ``v * 2**-src_frac`` to a code of the destination type.

    The one rounding-and-overflow routine of fxsim (``|v| < 2**63``). Returns
    ``(code, overflowed)``.
    """
    d = src_frac - dst_frac
    if d > 0:
        q = _round_shift(v, d, rmode)
        return _apply_overflow(q, False, q < 0, width, signed, omode)
    if d == 0 or v == 0:
        return _apply_overflow(v, False, v < 0, width, signed, omode)
    s = -d
    mag = -v if v < 0 else v
    bits = 0
    while mag >> bits:
        bits += 1
    if bits + s <= 62:
        return _apply_overflow(v << s, False, v < 0, width, signed, omode)
    # Too large for int64: keep the low 64 bits for WRAP, the sign for the SAT modes.
    low = np.int64(0)
    if s < 64:
        low = np.int64(np.uint64(v) << np.uint64(s))
    return _apply_overflow(low, True, v < 0, width, signed, omode)


@nb.njit(cache=True, inline="always")
def _fast_cast(v, d, rnd, conv, wrap, signed, sh, lo, hi):
    q = round_shift_branchless(v, d, rnd, conv)
    if wrap:
        c = wrap_signed(q, sh) if signed else q & hi
    else:
        c = saturate(q, lo, hi)
    return c, c != q


@nb.njit(cache=True, inline="always")
def _requantize_loop(src, d, rnd, conv, wrap, signed, sh, lo, hi, out):
    # rnd, conv, wrap and signed are literals at each call site, so the branches fold away
    n_over = 0
    if src.ctypes.data == out.ctypes.data:
        # In place: a loop over one array. With two names for the same memory the compiler's
        # overlap check fails at run time and it falls back to a scalar loop (8x slower).
        for k in range(out.shape[0]):
            c, o = _fast_cast(out[k], d, rnd, conv, wrap, signed, sh, lo, hi)
            out[k] = c
            n_over += o
        return n_over
    for k in range(src.shape[0]):
        c, o = _fast_cast(src[k], d, rnd, conv, wrap, signed, sh, lo, hi)
        out[k] = c
        n_over += o
    return n_over


@nb.njit(cache=True)
def requantize_row(src, src_frac, dst, out):
    """``out[k] = dst(src[k] * 2**-src_frac)`` for a row of codes; returns how many overflowed.

    ``dst`` is a ``FixedType.spec`` tuple; ``out`` may be ``src``. The common types (a
    right shift of at most 62 bits with TRN/RND/RND_CONV, WRAP or SAT) take loops
    without branches on the data, which the compiler vectorises; everything else
    goes through :func:`requantize`.
    """
    width, frac, signed, rmode, omode = dst
    d = src_frac - frac
    if (0 <= d <= 62 and (rmode == 0 or rmode == 2 or rmode == 6) and width < 63
            and (omode == 0 or omode == 1 or (omode == 3 and not signed))):
        sh = 64 - width
        lo, hi = code_range(width, signed)
        if rmode == 0 or d == 0:  # floor, or nothing dropped
            if omode != 0:
                return _requantize_loop(src, d, 0, 0, False, True, sh, lo, hi, out)
            if signed:
                return _requantize_loop(src, d, 0, 0, True, True, sh, lo, hi, out)
            return _requantize_loop(src, d, 0, 0, True, False, sh, lo, hi, out)
        rnd = np.int64(rmode == 2)
        conv = np.int64(rmode == 6)
        if omode != 0:
            return _requantize_loop(src, d, rnd, conv, False, True, sh, lo, hi, out)
        if signed:
            return _requantize_loop(src, d, rnd, conv, True, True, sh, lo, hi, out)
        return _requantize_loop(src, d, rnd, conv, True, False, sh, lo, hi, out)
    n_over = 0
    for k in range(src.shape[0]):
        c, o = requantize(src[k], src_frac, frac, width, signed, rmode, omode)
        out[k] = c
        n_over += o
    return n_over


@nb.njit(cache=True, inline="always")
def _double_to_code(x, frac, width, signed, rmode, omode):
    """Exact ``ap_fixed(double)``: decompose x = mant * 2**exp, then requantize."""
    if x == 0.0:
        return _apply_overflow(np.int64(0), False, False, width, signed, omode)
    m, e = math.frexp(x)  # x = m * 2**e, 0.5 <= |m| < 1
    mant = np.int64(m * 9007199254740992.0)  # m * 2**53, exact
    return requantize(mant, np.int64(53) - e, frac, width, signed, rmode, omode)


_TO_CODES_CHUNK = 4096


@nb.njit(cache=True, inline="always")
def _scaled_fits(x, v):
    # x * 2**frac == v exactly (not subnormal, not overflowed), and floor(v) exact in int64 with room
    return abs(v) < 4503599627370496.0 and (abs(v) >= 2.2250738585072014e-308 or x == 0.0)


@nb.njit(cache=True, parallel=True)
def _to_codes_kernel(values, frac, width, signed, rmode, omode):
    """Codes of ``values`` and how many of them are not finite (those codes are meaningless).

    Values whose scaled magnitude ``|x| * 2**frac`` lies below ``2**52`` take a fast exact
    path: ``v = x * 2**frac`` (a power-of-two scaling, exact), its floor, and the remainder
    classed as zero, below, at or above one half, written as two extra fractional bits of
    an integer; :func:`requantize_row` then rounds those off with the type's own rounding
    and overflow (the same decisions as for any other code). The rest (huge, tiny
    subnormal-scaled, non-finite) go through :func:`_double_to_code`.
    """
    n = values.size
    out = np.empty(n, dtype=np.int64)
    scale = math.ldexp(1.0, frac)
    dst = (width, frac, signed, rmode, omode)
    n_chunks = (n + _TO_CODES_CHUNK - 1) // _TO_CODES_CHUNK
    nonfinite = np.zeros(n_chunks, dtype=np.int64)  # per chunk: no reduction across threads
    for c in nb.prange(n_chunks):
        s0 = c * _TO_CODES_CHUNK
        s1 = min(n, s0 + _TO_CODES_CHUNK)
        n_slow = 0
        for i in range(s0, s1):
            x = values[i]
            v = x * scale
            fits = _scaled_fits(x, v)
            v = v if fits else 0.0
            q = math.floor(v)
            r = v - q  # exact, in [0, 1)
            out[i] = 4 * np.int64(q) + np.int64(r != 0.0) + np.int64(r >= 0.5) + np.int64(r > 0.5)
            n_slow += not fits
        requantize_row(out[s0:s1], frac + 2, dst, out[s0:s1])
        if n_slow:
            for i in range(s0, s1):
                x = values[i]
                if not _scaled_fits(x, x * scale):
                    out[i] = _double_to_code(x, frac, width, signed, rmode, omode)[0]
                    nonfinite[c] += not math.isfinite(x)
    return out, nonfinite.sum()


@nb.njit(cache=True, parallel=True)
def _cast_kernel(codes, src_frac, dst_frac, width, signed, rmode, omode):
    out = np.empty(codes.size, dtype=np.int64)
    for i in nb.prange(codes.size):
        out[i] = requantize(codes[i], src_frac, dst_frac, width, signed, rmode, omode)[0]
    return out


@nb.njit(cache=True, parallel=True)
def _count_overflow_kernel(codes, src_frac, dst_frac, width, signed, rmode, omode):
    n = 0
    for i in nb.prange(codes.size):
        if requantize(codes[i], src_frac, dst_frac, width, signed, rmode, omode)[1]:
            n += 1
    return n


@nb.njit(cache=True, inline="always")
def trunc_to_int32(code, frac):
    """C's ``(int)x`` of a fixed value: truncate toward zero, keep the low 32 bits.

    No branch on the value (only on ``frac``), so loops over codes vectorise.
    """
    if frac > 62:
        q = np.int64(0)  # |code| < 2**62: below one unit, truncated to 0
    elif frac > 0:
        q = code >> frac  # floor, then +1 for negatives with dropped bits: toward zero
        q += (code < 0) & ((code - (q << frac)) != 0)
    elif frac < 0:
        q = code << -frac if -frac < 64 else np.int64(0)
    else:
        q = code
    return wrap_signed(q, 32)


@nb.njit(cache=True, parallel=True)
def _trunc_kernel(codes, frac):
    out = np.empty(codes.size, dtype=np.int64)
    for i in nb.prange(codes.size):
        out[i] = trunc_to_int32(codes[i], frac)
    return out


# --- array API -----------------------------------------------------------------------


def _float_array(values: Any, what: str = "values", check_finite: bool = True) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{what} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if check_finite and not np.all(np.isfinite(arr)):
        raise _nonfinite_error(arr, what)
    return arr


def _nonfinite_error(arr: np.ndarray, what: str) -> ValueError:
    bad = np.flatnonzero(~np.isfinite(arr.ravel()))
    kinds = sorted({"NaN" if np.isnan(arr.ravel()[i]) else "inf" for i in bad[:100]})
    return ValueError(
        f"{what} contain {len(bad)} non-finite entr{'y' if len(bad) == 1 else 'ies'} "
        f"({'/'.join(kinds)}, first at flat index {bad[0]}); ap_fixed has no NaN or inf"
    )


def to_codes(values: Any, t: FixedType | str) -> np.ndarray:
    """Exact ``ap_fixed`` conversion of float values to raw int64 codes of ``t``.

    Every rounding and overflow mode, signed and unsigned, as the C++ constructor
    from ``double`` does it (float32 inputs are widened to double first, as C++ does).
    NaN and infinities raise ``ValueError``.
    """
    t = FixedType.parse(t)
    arr = _float_array(values, check_finite=False)  # the kernel counts non-finite values as it goes
    flat = np.ascontiguousarray(arr).ravel()
    w, f, s, r, o = t.spec
    if t.is_int:
        codes, n_nonfinite = _int_from_double(flat, w, bool(s))
    else:
        codes, n_nonfinite = _to_codes_kernel(flat, f, w, bool(s), r, o)
    if n_nonfinite:
        raise _nonfinite_error(arr, "values")
    return codes.reshape(arr.shape)


def _int_from_double(flat: np.ndarray, width: int, signed: bool) -> tuple[np.ndarray, int]:
    # ap_int(double): C-style truncation toward zero, then wrap to the width ...
    codes, n_nonfinite = _to_codes_kernel(flat, 0, width, signed, int(Rounding.TRN_ZERO), int(Overflow.WRAP))
    # ... except that the bundled ap_int_base.h turns -0.5 < x < 0 into -(-1) = +1
    # (its "shifted out" branch yields -1 before negating), wrapped to the width.
    quirk = (flat < 0.0) & (flat > -0.5)
    if quirk.any():
        codes[quirk] = _apply_overflow(np.int64(1), False, False, width, signed, int(Overflow.WRAP))[0]
    return codes, n_nonfinite


def from_codes(codes: Any, t: FixedType | str) -> np.ndarray:
    """Float64 values of raw codes (exact for types up to 53 significant bits)."""
    t = FixedType.parse(t)
    c = np.asarray(codes, dtype=np.int64)
    return np.ldexp(c.astype(np.float64), -t.frac)


def quantize(values: Any, t: FixedType | str) -> np.ndarray:
    """``values`` after conversion to ``t`` and back to float64."""
    t = FixedType.parse(t)
    return from_codes(to_codes(values, t), t)


def cast(codes: Any, src: FixedType | str, dst: FixedType | str) -> np.ndarray:
    """Re-quantize codes of ``src`` into ``dst`` exactly as C++ assignment does."""
    src = FixedType.parse(src)
    dst = FixedType.parse(dst)
    c = np.ascontiguousarray(np.asarray(codes, dtype=np.int64))
    w, f, s, r, o = dst.spec
    out = _cast_kernel(c.ravel(), src.frac, f, w, bool(s), r, o)
    return out.reshape(c.shape)


def count_overflows(codes: Any, src: FixedType | str, dst: FixedType | str) -> int:
    """How many codes of ``src`` do not fit ``dst`` (would wrap or saturate)."""
    src = FixedType.parse(src)
    dst = FixedType.parse(dst)
    c = np.ascontiguousarray(np.asarray(codes, dtype=np.int64)).ravel()
    w, f, s, r, o = dst.spec
    return int(_count_overflow_kernel(c, src.frac, f, w, bool(s), r, o))


def to_int(codes: Any, t: FixedType | str) -> np.ndarray:
    """C's ``(int)x`` for fixed values of ``t``: toward zero, low 32 bits (hls4ml's LUT index)."""
    t = FixedType.parse(t)
    c = np.ascontiguousarray(np.asarray(codes, dtype=np.int64))
    return _trunc_kernel(c.ravel(), t.frac).reshape(c.shape)


def weight_codes(values: Any, t: FixedType | str) -> np.ndarray:
    """hls4ml's weight path: print with F decimals, read back as double, convert.

    hls4ml writes each weight with ``'{:.Nf}'`` (N = max(0, F); ``'{:.0f}'`` for
    integer types) and the C simulation parses the text with ``>> double`` before the
    ``ap_fixed`` conversion, so a weight just below a grid point can gain one LSB.
    """
    t = FixedType.parse(t)
    arr = _float_array(values, "weights")
    decimals = 0 if t.is_int else max(0, t.frac)
    fmt = f"{{:.{decimals}f}}"
    printed = np.array([float(fmt.format(v)) for v in arr.ravel().tolist()], dtype=np.float64)
    return to_codes(printed.reshape(arr.shape), t)
