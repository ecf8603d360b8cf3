"""The array API of the fixed-point core: floats to codes, codes to floats, casts, overflow counts.

Pure functions over numpy arrays of raw integer codes (int64), each running one
parallel numba kernel built on :mod:`fxsim.fixed.scalar`.
"""

from __future__ import annotations

import math
from typing import Any

import numba as nb
import numpy as np

from fxsim._jit_cache import njit
from fxsim._threads import run_blocks
from fxsim.fixed.scalar import _apply_overflow, _double_to_code, requantize, requantize_row, trunc_to_int32
from fxsim.fixed.types import MAX_WIDTH, FixedType, Overflow

_TO_CODES_CHUNK = 4096


@njit(cache=True)
def _scaled_fits(x, v):
    # x * 2**frac == v exactly (not subnormal, not overflowed), and floor(v) exact in int64 with room
    return abs(v) < 4503599627370496.0 and (abs(v) >= 2.2250738585072014e-308 or x == 0.0)


@njit(cache=True)
def _floor_codes(values, scale, out):
    """``out = floor(values * scale)`` where :func:`_scaled_fits` (else 0); returns how many did not fit.

    A function of its own over a chunk's slices: the same loop inline in the chunk loop
    of :func:`_to_codes_kernel` vectorised badly (0.82 against 0.37 ns per value, one thread).
    """
    n_slow = 0
    for i in range(values.size):
        x = np.float64(values[i])
        v = x * scale
        fits = _scaled_fits(x, v)
        out[i] = np.int64(math.floor(v if fits else 0.0))
        n_slow += not fits
    return n_slow


@njit(cache=True)
def _nearest_codes(values, scale, conv, out):
    """``out = round(values * scale)`` to the nearest integer where :func:`_scaled_fits` (else 0),
    ties up (RND) or, with ``conv``, to even (RND_CONV); returns how many did not fit.

    The floor and the remainder are exact (``|v| < 2**52``), so the tie is found exactly.
    A function over a chunk's slices, as :func:`_floor_codes`.
    """
    n_slow = 0
    for i in range(values.size):
        x = np.float64(values[i])
        v = x * scale
        fits = _scaled_fits(x, v)
        v = v if fits else 0.0
        q = math.floor(v)
        r = v - q  # exact, in [0, 1)
        c = np.int64(q)
        tie_up = (c & 1) if conv else np.int64(1)
        out[i] = c + np.int64(r > 0.5) + np.int64(r == 0.5) * tie_up
        n_slow += not fits
    return n_slow


@njit(cache=True, nogil=True)
def _to_codes_kernel(c0, c1, values, dst, out, left_out):
    """``out``: codes of ``values`` in the type ``dst`` (a ``FixedType.spec``), chunks ``c0 .. c1 - 1``.

    Values whose scaled magnitude ``|x| * 2**frac`` lies below ``2**52`` take an exact
    path: ``v = x * 2**frac`` (a power-of-two scaling, exact), its floor, and the remainder
    classed as zero, below, at or above one half, written as two extra fractional bits of
    an integer; :func:`requantize_row` then rounds those off with the type's own rounding
    and overflow (the same decisions as for any other code). The rest (huge, tiny
    subnormal-scaled, non-finite: rare) are left out, their codes meaningless, and counted
    per chunk in ``left_out``, for :func:`_to_codes_rest`, a kernel of their own that
    compiles only when some value needs it. With TRN the floor is the code already, and
    only the overflow is left to apply; with RND and RND_CONV the nearest code is
    found from the floor and the exact remainder (:func:`_nearest_codes`). Chunks of ``_TO_CODES_CHUNK`` values; the
    kernel releases the GIL, so threads run ranges of chunks in parallel.
    """
    n = values.size
    frac = dst[1]
    scale = math.ldexp(1.0, frac)
    for c in range(c0, c1):
        s0 = c * _TO_CODES_CHUNK
        s1 = min(n, s0 + _TO_CODES_CHUNK)
        n_slow = 0
        if dst[3] == 0:  # TRN (ap_fixed's default): the floor is the code, no remainder to class
            codes = out[s0:s1]
            left_out[c] = _floor_codes(values[s0:s1], scale, codes)
            requantize_row(codes, frac, dst, codes)  # the overflow mode alone
            continue
        if dst[3] == 2 or dst[3] == 6:  # RND, RND_CONV: rounded to the nearest code here
            codes = out[s0:s1]
            left_out[c] = _nearest_codes(values[s0:s1], scale, dst[3] == 6, codes)
            requantize_row(codes, frac, dst, codes)  # the overflow mode alone
            continue
        for i in range(s0, s1):
            x = np.float64(values[i])
            v = x * scale
            fits = _scaled_fits(x, v)
            v = v if fits else 0.0
            q = math.floor(v)
            r = v - q  # exact, in [0, 1)
            out[i] = 4 * np.int64(q) + np.int64(r != 0.0) + np.int64(r >= 0.5) + np.int64(r > 0.5)
            n_slow += not fits
        requantize_row(out[s0:s1], frac + 2, dst, out[s0:s1])
        left_out[c] = n_slow


@njit(cache=True)
def _to_codes_rest(values, dst, out):
    """``out[i]`` for the finite values :func:`_to_codes_kernel` left out, with :func:`_double_to_code`."""
    scale = math.ldexp(1.0, dst[1])
    for i in range(values.size):
        x = np.float64(values[i])
        if not _scaled_fits(x, x * scale):
            out[i] = _double_to_code(x, dst)[0]


@njit(cache=True, parallel=True)
def _cast_kernel(codes, src_frac, dst):
    out = np.empty(codes.size, dtype=np.int64)
    for i in nb.prange(codes.size):
        out[i] = requantize(codes[i], src_frac, dst)[0]
    return out


@njit(cache=True, parallel=True)
def _count_overflow_kernel(codes, src_frac, dst):
    n = 0
    for i in nb.prange(codes.size):
        if requantize(codes[i], src_frac, dst)[1]:
            n += 1
    return n



@njit(cache=True, parallel=True)
def _trunc_kernel(codes, frac):
    out = np.empty(codes.size, dtype=np.int64)
    for i in nb.prange(codes.size):
        out[i] = trunc_to_int32(codes[i], frac)
    return out



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
    from ``double`` does it (float32 values are widened to double first, as C++ does;
    the kernel reads them as float32, so no float64 copy is made).
    NaN and infinities raise ``ValueError``.
    """
    t = FixedType.parse(t)
    arr = np.asarray(values)
    if arr.dtype != np.float32:  # float32 is widened to double in the kernel (exact), without a float64 copy
        arr = _float_array(arr, check_finite=False)  # non-finite values are among those the kernel leaves out
    flat = np.ascontiguousarray(arr).ravel()
    # an ap_int's spec is (W, 0, signed, TRN_ZERO, WRAP): C-style truncation toward zero, wrapped
    codes = np.empty(flat.size, dtype=np.int64)
    n_chunks = (flat.size + _TO_CODES_CHUNK - 1) // _TO_CODES_CHUNK
    left_out = np.zeros(n_chunks, dtype=np.int64)
    run_blocks(_to_codes_kernel, n_chunks, flat, t.spec, codes, left_out)
    if left_out.any():
        if not np.all(np.isfinite(flat)):
            raise _nonfinite_error(arr, "values")
        _to_codes_rest(flat, t.spec, codes)
    if t.is_int:
        _int_quirk(flat, t, codes)
    return codes.reshape(arr.shape)


def _int_quirk(flat: np.ndarray, t: FixedType, codes: np.ndarray) -> None:
    # ap_int(double) truncates toward zero, except that the bundled ap_int_base.h turns
    # -0.5 < x < 0 into -(-1) = +1 (its "shifted out" branch yields -1 before negating),
    # wrapped to the width.
    quirk = (flat < 0.0) & (flat > -0.5)
    if quirk.any():
        codes[quirk] = _apply_overflow(np.int64(1), False, False, t.width, t.signed, int(Overflow.WRAP))[0]


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
    out = _cast_kernel(c.ravel(), src.frac, dst.spec)
    return out.reshape(c.shape)


def count_overflows(codes: Any, src: FixedType | str, dst: FixedType | str) -> int:
    """How many codes of ``src`` do not fit ``dst`` (would wrap or saturate)."""
    src = FixedType.parse(src)
    dst = FixedType.parse(dst)
    c = np.ascontiguousarray(np.asarray(codes, dtype=np.int64)).ravel()
    return int(_count_overflow_kernel(c, src.frac, dst.spec))


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
    flat = arr.ravel()
    codes = to_codes(flat, t)
    # Printing moves a weight by at most half a unit of its last decimal (the parse adds half an ulp),
    # and rounding to t's grid is monotonic: where the weight moved a whole unit down and up rounds to
    # one integer (in a type as fine as t, wide enough not to overflow), the printed weight rounds to it
    # too, so only the others take the text round trip. An ap_int's conversion is not monotonic (its
    # quirk, _int_quirk), and weights so large that a unit is within a few ulps go through the text.
    unit = 10.0 ** -decimals
    text = np.arange(flat.size)
    if not t.is_int and 0.5 * unit >= 4 * np.spacing(np.abs(flat).max(initial=0.0)):
        fine = FixedType(MAX_WIDTH, MAX_WIDTH - t.frac, True, t.rounding, Overflow.SAT)
        text = np.flatnonzero(to_codes(flat - unit, fine) != to_codes(flat + unit, fine))
    if text.size:
        fmt = f"{{:.{decimals}f}}"
        printed = np.array([float(fmt.format(v)) for v in flat[text].tolist()], dtype=np.float64)
        codes[text] = to_codes(printed, t)
    return codes.reshape(arr.shape)
