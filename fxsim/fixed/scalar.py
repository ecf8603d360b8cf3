"""The scalar fixed-point core in numba: rounding, overflow and the one requantize routine.

Everything in fxsim that quantizes goes through :func:`requantize` (one value) or
:func:`requantize_row` (a row, with vectorised loops for the common modes); there is no
second copy of the rounding rules. A destination type is always given as its
``FixedType.spec`` tuple ``(W, F, signed, rounding, overflow)``, and where a width and
fractional bits are passed separately the width comes first, as in the spec.
The functions are plain numba functions, which LLVM inlines into the loops that call
them; numba's own ``inline="always"`` copies a function's IR at every call site, which
made the first compilation of the kernels minutes long.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import types as nbt
from numba.extending import intrinsic

from fxsim._jit_cache import njit

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


def truncating_wrap_rule(src_frac, t):
    """``(fast, d, sh)``: whether the cast ``t(v * 2**-src_frac)`` is ``wrap_signed(v >> d, sh)``.

    That is: ``t`` (a ``FixedType.spec``) is a signed WRAP type narrower than 63 bits, and
    either TRN (ap_fixed's default) or no bit is dropped (``0 <= d <= 62``), ``sh = 64 -
    width``. Where it holds a kernel can compute and cast in one pass (the fused recurrent
    cells, the row operations); elsewhere the cast needs :func:`requantize_row`. Plain
    Python, so the Python code that picks a kernel asks the same rule;
    :func:`truncating_wrap` is it compiled, for the kernels.
    """
    width, frac, signed, rmode, omode = t
    d = src_frac - frac
    fast = signed != 0 and width < 63 and omode == 0 and 0 <= d <= 62 and (rmode == 0 or d == 0)
    return fast, d, 64 - width


truncating_wrap = njit(cache=True)(truncating_wrap_rule)


def common_cast_rule(src_frac, t):
    """Whether the cast ``t(v * 2**-src_frac)`` is one that :func:`cast_common` computes.

    That is: ``t`` (a ``FixedType.spec``) is a signed type of 2 to 62 bits, WRAP or SAT,
    and either TRN, RND or RND_CONV, or no bit is dropped (``0 <= d <= 62``). These are the
    casts a kernel can make without a branch on the value (:func:`truncating_wrap_rule`'s
    are among them). Plain Python, for the code that picks a kernel.
    """
    width, frac, signed, rmode, omode = t
    d = src_frac - frac
    return (signed != 0 and 2 <= width < 63 and omode in (0, 1) and 0 <= d <= 62
            and (d == 0 or rmode in (0, 2, 6)))


@njit(cache=True)
def cast_params(d, t):
    """The constants of :func:`cast_common` for a cast to ``t`` (a ``FixedType.spec``) that drops ``d`` bits.

    ``(d, rnd, conv, sat, sh, lo, hi)``: the rounding flags of
    :func:`round_shift_branchless`, SAT (else WRAP), ``sh = 64 - width`` and the type's
    code range. Computed once, outside a kernel's loops.
    """
    lo, hi = code_range(t[0], True)
    return (d, np.int64(t[3] == 2), np.int64(d > 0 and t[3] == 6), t[4] == 1, 64 - t[0], lo, hi)


@njit(cache=True)
def cast_common(v, p):
    """``t(v * 2**-d)`` for a cast :func:`common_cast_rule` admits (``p``: :func:`cast_params`).

    Rounded with :func:`round_shift_branchless`, then saturated or wrapped, with no
    branch on the value. Returns ``(code, overflowed)``, as :func:`requantize` does.
    """
    d, rnd, conv, sat, sh, lo, hi = p
    q = round_shift_branchless(v, d, rnd, conv)
    c = saturate(q, lo, hi) if sat else wrap_signed(q, sh)
    return c, c != q


@njit(cache=True)
def round_shift_branchless(v, d, rnd, conv):
    """``v * 2**-d`` (``0 <= d <= 62``) rounded with no branch on the value, so loops vectorise.

    TRN (``rnd = conv = 0``): floor. RND (``rnd = 1``): to nearest, ties toward +inf.
    RND_CONV (``conv = 1``): to nearest, ties to even. Rounding to nearest adds half an
    output step before the floor; ties-to-even adds one less unless the floor is odd.
    Computed in ``v``'s own integer width: an int32 ``v`` needs ``d <= 31`` and
    ``|v| + 2**(d-1) < 2**31``. With ``d == 0`` nothing is dropped: pass ``conv = 0`` then
    (the callers do: :func:`cast_params`, the accumulation plans' ``FLOOR``), as ``v`` itself
    is the answer and the tie fix would add its lowest bit. (Clearing ``conv`` here instead, from
    ``d``, made the fused GRU 0.57x at ``AP_RND_CONV``: measured with bench_ab, 2026-12-03.)
    """
    half = (np.int64(1) << d) >> 1  # 0 when d == 0: nothing is dropped
    # RND_CONV: -1 when the floor is even (and bits are dropped), so an exact tie rounds down to it
    even_fix = (shift_right(v, d) & 1) - (half != 0)
    return shift_right(narrow_like(v, v + (rnd | conv) * half + conv * even_fix), d)


@njit(cache=True)
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


@njit(cache=True)
def wrap_signed(q, shift):
    """WRAP into a signed type of ``64 - shift`` bits: the low bits of ``q``, sign-extended."""
    return (q << shift) >> shift


@njit(cache=True)
def saturate(q, lo, hi):
    """SAT: ``q`` clamped to the type's codes ``[lo, hi]``."""
    return min(max(q, lo), hi)


@njit(cache=True)
def code_range(width, signed):
    """``(lo, hi)``: the smallest and largest code of a ``width``-bit type."""
    if signed:
        hi = (np.int64(1) << (width - 1)) - 1
        return -hi - 1, hi
    return np.int64(0), (np.int64(1) << width) - 1


@njit(cache=True)
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


#: ``big = False`` of :func:`_apply_overflow` as a boolean value, not the literal ``False``: numba
#: compiles a function once per literal it is called with, and this one is linked into every kernel.
_SMALL = np.bool_(False)


@njit(cache=True)
def requantize(v, src_frac, dst):
    """Convert the exact value ``v * 2**-src_frac`` to a code of the type ``dst`` (a ``FixedType.spec``).

    The one rounding-and-overflow routine of fxsim (``|v| < 2**63``). Returns
    ``(code, overflowed)``.
    """
    width, dst_frac, signed, rmode, omode = dst
    d = src_frac - dst_frac
    if d > 0:
        q = _round_shift(v, d, rmode)
        return _apply_overflow(q, _SMALL, q < 0, width, signed, omode)
    if d == 0 or v == 0:
        return _apply_overflow(v, _SMALL, v < 0, width, signed, omode)
    s = -d
    mag = -v if v < 0 else v
    bits = 0
    while mag >> bits:
        bits += 1
    if bits + s <= 62:
        return _apply_overflow(v << s, _SMALL, v < 0, width, signed, omode)
    # Too large for int64: keep the low 64 bits for WRAP, the sign for the SAT modes.
    low = np.int64(0)
    if s < 64:
        low = np.int64(np.uint64(v) << np.uint64(s))
    return _apply_overflow(low, ~_SMALL, v < 0, width, signed, omode)


@njit(cache=True)
def _copy_for_cast(src, out):
    # The casts run in place, a loop over one array: with two names for the same memory the
    # compiler's overlap check fails at run time and it falls back to a scalar loop (8x
    # slower). A cast into another array copies first.
    if src.ctypes.data != out.ctypes.data:
        for k in range(out.shape[0]):
            out[k] = src[k]


@njit(cache=True)
def _cast_loop(src, d, rnd, conv, lo, hi, sat, out):
    """``out[k]``: ``src[k] * 2**-d`` rounded with :func:`round_shift_branchless` (``rnd = conv = 0``: TRN),
    then clamped to the codes ``[lo, hi]`` (``sat``: SAT) or wrapped into them (WRAP); returns how many changed.

    WRAP is ``((q - lo) & (2**W - 1)) + lo`` for a signed (``lo = -2**(W-1)``) and an
    unsigned (``lo = 0``) type alike. ``sat`` is a literal at each call site (so is the TRN
    call's ``rnd = conv = 0``): each call compiles to its own branch-free loop.
    """
    _copy_for_cast(src, out)
    mask = hi - lo  # 2**W - 1
    n_over = 0
    for k in range(out.shape[0]):
        q = round_shift_branchless(out[k], d, rnd, conv)
        c = saturate(q, lo, hi) if sat else ((q - lo) & mask) + lo
        out[k] = c
        n_over += c != q
    return n_over


@njit(cache=True)
def requantize_row(src, src_frac, dst, out):
    """``out[k] = dst(src[k] * 2**-src_frac)`` for a row of codes; returns how many overflowed.

    ``dst`` is a ``FixedType.spec`` tuple; ``out`` may be ``src``. The common types (a
    right shift of at most 62 bits with TRN/RND/RND_CONV, WRAP or SAT) take loops
    without branches on the data, which the compiler vectorises; everything else goes
    through :func:`requantize`. The roundings are values at run time, and WRAP is one
    formula for signed and unsigned types, so there are three loops (:func:`_cast_loop`:
    TRN and WRAP, the default ``ap_fixed<W, I>``, in the shortest; RND/RND_CONV and WRAP;
    any of the three roundings and SAT) instead of one per rounding, overflow and
    signedness: each is a
    vectorised loop that LLVM compiles again inside every kernel casting a row, so each
    costs seconds of every first compilation.
    """
    width, frac, signed, rmode, omode = dst
    d = src_frac - frac
    if (0 <= d <= 62 and (rmode == 0 or rmode == 2 or rmode == 6) and width < 63
            and (omode == 0 or omode == 1 or (omode == 3 and not signed))):
        lo, hi = code_range(width, signed)
        if omode == 0 and (rmode == 0 or d == 0):  # the default ap_fixed<W, I>, in the shortest loop
            return _cast_loop(src, d, 0, 0, lo, hi, False, out)
        dropped = d > 0  # with nothing dropped every mode is the floor
        rnd = np.int64(rmode == 2 and dropped)
        conv = np.int64(rmode == 6 and dropped)
        if omode == 0:
            return _cast_loop(src, d, rnd, conv, lo, hi, False, out)
        return _cast_loop(src, d, rnd, conv, lo, hi, True, out)
    n_over = 0
    for k in range(src.shape[0]):
        c, o = requantize(src[k], src_frac, dst)
        out[k] = c
        n_over += o
    return n_over


@njit(cache=True)
def _double_to_code(x, dst):
    """Exact ``ap_fixed(double)`` into ``dst`` (a spec): decompose x = mant * 2**exp, then requantize."""
    if x == 0.0:
        return _apply_overflow(np.int64(0), _SMALL, _SMALL, dst[0], dst[2], dst[4])
    m, e = math.frexp(x)  # x = m * 2**e, 0.5 <= |m| < 1
    mant = np.int64(m * 9007199254740992.0)  # m * 2**53, exact
    return requantize(mant, np.int64(53) - e, dst)



@njit(cache=True)
def trunc_toward_zero(code, frac):
    """``code * 2**-frac`` truncated toward zero (C's integer conversion), ``|code| < 2**62``, in int64.

    No branch on the value (only on ``frac``), so loops over codes vectorise.
    """
    if frac > 62:
        return np.int64(0)  # |code| < 2**62: below one unit, truncated to 0
    if frac > 0:
        # floor of code + (2**frac - 1) for negatives: toward zero (no overflow: |code| < 2**62)
        return (code + ((code >> 63) & ((np.int64(1) << frac) - 1))) >> frac
    if frac < 0:
        return code << -frac if -frac < 64 else np.int64(0)
    return code


@njit(cache=True)
def trunc_to_int32(code, frac):
    """C's ``(int)x`` of a fixed value: truncate toward zero, keep the low 32 bits.

    No branch on the value (only on ``frac``), so loops over codes vectorise.
    """
    return wrap_signed(trunc_toward_zero(code, frac), 32)

