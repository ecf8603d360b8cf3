"""``ap_fixed<W, I, Q, O, N>`` / ``ap_int<W>`` assignment from an exact value, in plain Python.

Written from the Xilinx semantics of the headers bundled with hls4ml
(``templates/vivado/ap_types/ap_fixed_base.h``): the exact value is scaled by
``2**F`` (``F = W - I``), rounded to an integer with the quantization mode ``Q``
(``quantization_adjust``), and only then fitted into ``W`` bits with the overflow
mode ``O`` (``overflow_adjust``), so a rounding carry can overflow. No numpy, no
numba: Python ints and :class:`fractions.Fraction` only, so nothing here shares
a line with fxsim's kernels.

A type is anything with ``width``, ``integer``, ``signed``, ``rounding``,
``overflow`` (enums or names) and ``is_int`` -- ``fxsim.fixed.FixedType`` is one.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

ROUNDING = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_MIN_INF", "RND_CONV")
OVERFLOW = ("WRAP", "SAT", "SAT_ZERO", "SAT_SYM")


def _name(mode: Any) -> str:
    name = getattr(mode, "name", mode)
    name = str(name).upper()
    return name[3:] if name.startswith("AP_") else name


def frac_bits(t) -> int:
    """``F = W - I``; negative when the integer bits exceed the width."""
    return t.width - t.integer


def code_limits(t) -> tuple[int, int]:
    """``(min_code, max_code)`` of a ``W``-bit two's-complement (or unsigned) code."""
    if t.signed:
        return -(1 << (t.width - 1)), (1 << (t.width - 1)) - 1
    return 0, (1 << t.width) - 1


def value(code: int, t) -> Fraction:
    """The exact value ``code * 2**-F``."""
    f = frac_bits(t)
    return Fraction(code, 1 << f) if f >= 0 else Fraction(code * (1 << -f))


def round_integer(m: Fraction, mode: str) -> int:
    """``m`` rounded to an integer with ``ap_q_mode`` ``mode`` (``quantization_adjust``)."""
    q = m.numerator // m.denominator  # floor
    rest = m - q  # in [0, 1)
    if rest == 0 or mode == "TRN":
        return q
    if mode == "TRN_ZERO":  # toward zero: floor for positives, floor + 1 for negatives
        return q + (m < 0)
    if rest != Fraction(1, 2):
        return q + (rest > Fraction(1, 2))
    tie_up = {  # an exact half: which way each mode goes
        "RND": True,  # toward +inf
        "RND_ZERO": m < 0,  # toward zero
        "RND_INF": m > 0,  # away from zero
        "RND_MIN_INF": False,  # toward -inf
        "RND_CONV": q % 2 == 1,  # to the even neighbour
    }[mode]
    return q + tie_up


def fit(q: int, t) -> tuple[int, bool]:
    """The rounded integer ``q`` fitted into ``t``'s ``W`` bits with its overflow mode.

    Returns ``(code, overflowed)``; ``overflowed`` is True when ``q`` is outside the
    mode's range (for signed SAT_SYM that range is ``[-max, max]``, so the exact
    minimum counts as an underflow, as ``operator=`` flags it).
    """
    mode = "WRAP" if t.is_int else _name(t.overflow)
    lo, hi = code_limits(t)
    # signed SAT_SYM's bottom: overflow_adjust sets the sign bit and ORs in bit 0, so -max
    # (for a 1-bit type, sign bit and bit 0 coincide: -1, the plain minimum)
    sym_lo = (lo + 1 if t.width > 1 else lo) if (t.signed and mode == "SAT_SYM") else lo
    if sym_lo <= q <= hi:
        return q, False
    if mode == "WRAP":  # keep the low W bits
        low = q & ((1 << t.width) - 1)
        return (low - (1 << t.width) if t.signed and low > hi else low), True
    if mode == "SAT_ZERO":
        return 0, True
    if mode in ("SAT", "SAT_SYM"):
        return (hi if q > hi else sym_lo), True
    raise ValueError(f"unknown overflow mode {mode!r}")


def assign(x: Fraction | int, t) -> tuple[int, bool]:
    """C++ ``t dst = x`` for an exact value ``x`` (an ``ap_fixed`` or ``ap_int`` source).

    Returns ``(code, overflowed)``. ``ap_int`` destinations truncate toward zero and
    wrap (``ap_int_base(const ap_fixed_base&)`` is ``to_ap_int_base``).
    """
    m = Fraction(x) * (Fraction(1 << frac_bits(t)) if frac_bits(t) >= 0 else Fraction(1, 1 << -frac_bits(t)))
    mode = "TRN_ZERO" if t.is_int else _name(t.rounding)
    return fit(round_integer(m, mode), t)


def from_double(x: float, t) -> int:
    """C++ ``t dst = (double)x``: the exact binary value of the double, assigned.

    ``ap_int_base(double)`` (``ap_int_base.h``) truncates the magnitude and negates it
    afterwards; for a negative double of magnitude below 1/2 its shifted-out branch
    yields -1 before the negation, so the result is +1 (then wrapped to ``W`` bits).
    """
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("ap_fixed has no NaN or inf")
    if t.is_int and -0.5 < x < 0:
        return fit(1, t)[0]
    return assign(Fraction(x), t)[0]


def cast_code(code: int, src, dst) -> tuple[int, bool]:
    """``dst = src_value``: a code of ``src`` assigned to ``dst``."""
    return assign(value(code, src), dst)


def trunc_int32(x: Fraction) -> int:
    """C's ``(int)x`` of an ``ap_fixed``: toward zero, then the low 32 bits (``to_int``)."""
    q = abs(x.numerator) // x.denominator
    q = -q if x < 0 else q
    return wrap_int32(q)


def wrap_int32(q: int) -> int:
    """The low 32 bits of ``q`` as a C ``int``."""
    q &= 0xFFFFFFFF
    return q - (1 << 32) if q >= 1 << 31 else q
