"""The multiply-accumulate loops of ``nnet::dense``, and :func:`accumulate`, which compiles one plan's.

``acc[j] = accum_t(acc[j] + accum_t(x[i] * w[i, j]))`` for every product of a block of
samples (samples innermost, :mod:`fxsim.kernels.blocks`). :func:`accumulate` is called
with a plan (:mod:`fxsim.kernels.dense_plan`) that is a constant of the calling kernel,
and returns, at compile time, the implementation of that plan alone: numba's branch
pruning does not remove code on a constant argument's value, so a single function
holding every loop would compile all of them (minutes on an empty cache).
"""

from __future__ import annotations

import numpy as np
from numba import types as nbt
from numba.core.errors import TypingError
from numba.extending import overload

from fxsim._jit_cache import njit
from fxsim.fixed import code_range, narrow_like, requantize, round_shift_branchless, saturate, wrap_signed
from fxsim.kernels.blocks import copy_as, copy_into, row_max_abs
from fxsim.kernels.dense_plan import EXACT, ORDERED, ROUND, ROUND_CONV, fast_plan, sums_in_int32

#: Outputs per group in the accumulation loops (and per "can it overflow" decision).
GROUP = 4

# How _mac_block casts (a literal at every call): not at all (WRAP, summed modulo 2**64), WRAP, SAT,
# SAT of the partial sums only (the products are known to fit).
_MODULAR = 0
_WRAP = 1
_SAT = 2
_SAT_SUM = 3


@njit(cache=True)
def _mac_step(a, p, cast, sh, lo, hi):
    """``accum_t(a + accum_t(p))`` for a signed ``accum_t`` of ``64 - sh`` bits (codes ``[lo, hi]``).

    Returns ``(sum, product overflowed, sum overflowed)``.
    """
    if cast == _MODULAR:
        return a + p, False, False
    if cast == _WRAP:
        pc = wrap_signed(p, sh)
        s = a + pc
        sc = wrap_signed(s, sh)
    elif cast == _SAT_SUM:
        pc = p
        s = narrow_like(a, a + pc)
        sc = saturate(s, lo, hi)
    else:
        pc = saturate(p, lo, hi)
        # in a's own width: int32 lanes hold the sum of two codes of at most 31 bits
        s = narrow_like(a, a + pc)
        sc = saturate(s, lo, hi)
    return sc, pc != p, sc != s


@njit(cache=True)
def _product(x, w, d, rnd, conv):
    """``x * w`` rounded to ``2**d`` steps, in the operands' integer width (int32 where the
    caller has checked that products fit; see :func:`products_fit_int32`)."""
    return round_shift_branchless(narrow_like(w, x * w), d, rnd, conv)


@njit(cache=True, inline="always")
def _mac_block(acc, weight, x, d, rnd, conv, cast, sh, lo, hi, count, groups, want):
    """``acc[j] = accum_t(acc[j] + accum_t(x[i] * weight[i, j]))`` for ``i`` ascending.

    For the outputs ``j`` of each group of ``GROUP`` (``j // GROUP == g``) with
    ``groups[g] == want``. Products rounded by :func:`~fxsim.fixed.round_shift_branchless`,
    cast with :func:`_mac_step`. Four outputs and two inputs at a time (each accumulator
    still sees its inputs in order), so an accumulator is loaded and stored once per two
    products and stays in the fastest cache. ``rnd, conv, cast, count`` are constants
    at the call sites. Returns the product and sum overflow counts (0 unless ``count``).
    """
    n_in, n_out = weight.shape
    n_b = acc.shape[1]
    i_even = n_in - n_in % 2
    n_prod = 0
    n_acc = 0
    j = 0
    while j < n_out:
        if groups[j // GROUP] != want:
            j = min(j + GROUP, n_out)
            continue
        if j + 4 <= n_out:
            for i in range(0, i_even, 2):
                w0, w1, w2, w3 = weight[i, j], weight[i, j + 1], weight[i, j + 2], weight[i, j + 3]
                u0, u1, u2, u3 = weight[i + 1, j], weight[i + 1, j + 1], weight[i + 1, j + 2], weight[i + 1, j + 3]
                for b in range(n_b):
                    xv, xu = x[i, b], x[i + 1, b]
                    s0, p0, q0 = _mac_step(acc[j, b], _product(xv, w0, d, rnd, conv), cast, sh, lo, hi)
                    s1, p1, q1 = _mac_step(acc[j + 1, b], _product(xv, w1, d, rnd, conv), cast, sh, lo, hi)
                    s2, p2, q2 = _mac_step(acc[j + 2, b], _product(xv, w2, d, rnd, conv), cast, sh, lo, hi)
                    s3, p3, q3 = _mac_step(acc[j + 3, b], _product(xv, w3, d, rnd, conv), cast, sh, lo, hi)
                    acc[j, b], p4, q4 = _mac_step(s0, _product(xu, u0, d, rnd, conv), cast, sh, lo, hi)
                    acc[j + 1, b], p5, q5 = _mac_step(s1, _product(xu, u1, d, rnd, conv), cast, sh, lo, hi)
                    acc[j + 2, b], p6, q6 = _mac_step(s2, _product(xu, u2, d, rnd, conv), cast, sh, lo, hi)
                    acc[j + 3, b], p7, q7 = _mac_step(s3, _product(xu, u3, d, rnd, conv), cast, sh, lo, hi)
                    if count:
                        n_prod += p0 + p1 + p2 + p3 + p4 + p5 + p6 + p7
                        n_acc += q0 + q1 + q2 + q3 + q4 + q5 + q6 + q7
            j_end = j + 4
            i_rest = i_even  # the odd last input of these four outputs
        else:
            j_end = n_out
            i_rest = 0  # the last outputs, one at a time
        for jj in range(j, j_end):
            for i in range(i_rest, n_in):
                w = weight[i, jj]
                for b in range(n_b):
                    acc[jj, b], p0, q0 = _mac_step(acc[jj, b], _product(x[i, b], w, d, rnd, conv), cast, sh, lo, hi)
                    if count:
                        n_prod += p0
                        n_acc += q0
        j = j_end
    return n_prod, n_acc


@njit(cache=True, inline="always")
def _mac_row_exact(acc, w, x_row, pf, accum):
    """``acc[b] = accum_t(acc[b] + accum_t(x_row[b] * w))`` with :func:`~fxsim.fixed.requantize`:
    every type and mode (``pf``: fractional bits of the exact product). Returns the overflow counts."""
    af = accum[1]
    n_prod = 0
    n_acc = 0
    for b in range(acc.shape[0]):
        p, o1 = requantize(x_row[b] * w, pf, accum)
        acc[b], o2 = requantize(acc[b] + p, af, accum)
        n_prod += o1
        n_acc += o2
    return n_prod, n_acc


@njit(cache=True)
def fitting_groups(xmax, weight, bias_acc, d, hi, fits, products_flag=0):
    """``fits[g] = 1`` where no product or partial sum of group ``g``'s outputs can leave ``[-hi-1, hi]``.

    Bounds every partial sum of output ``j`` by ``|bias_j| + sum_i (xmax[i] * |w_ij| >> d)
    + n_in`` (a product rounded in any mode is at most one above its floor magnitude),
    ``xmax`` being this block's :func:`row_max_abs`. Where it holds, casting each product
    and sum changes nothing, so those outputs can be summed plainly with no overflow to
    count. The other groups get ``products_flag`` where no product alone can overflow
    (``(xmax[i] * |w_ij| >> d) + 1 <= hi``: only their partial sums need the cast), else 0.
    Returns how many groups fit.
    """
    n_in, n_out = weight.shape
    n_fit = 0
    for g in range(fits.shape[0]):
        ok = 1
        for j in range(g * GROUP, min(g * GROUP + GROUP, n_out)):
            bound = abs(bias_acc[j]) + n_in
            for i in range(n_in):
                if bound > hi:  # stop before the sum could wrap (each term is < 2**62)
                    break
                bound += (xmax[i] * abs(weight[i, j])) >> d
            if bound > hi:
                ok = 0
                break
        if not ok and products_flag:
            ok = products_flag
            for j in range(g * GROUP, min(g * GROUP + GROUP, n_out)):
                for i in range(n_in):
                    if ((xmax[i] * abs(weight[i, j])) >> d) + 1 > hi:
                        ok = 0
                        break
                if not ok:
                    break
        fits[g] = ok
        n_fit += ok == 1
    return n_fit


_INT32_MAX = (1 << 31) - 1


@njit(cache=True)
def products_fit_int32(xmax, weight, d):
    """Whether every input, weight and product plus half a ``2**d`` step lies within int32."""
    limit = _INT32_MAX - ((np.int64(1) << d) >> 1)
    for i in range(weight.shape[0]):
        wmax = np.int64(0)
        for j in range(weight.shape[1]):
            wmax = max(wmax, abs(weight[i, j]))
        if xmax[i] > _INT32_MAX or wmax > _INT32_MAX or xmax[i] * wmax > limit:
            return False
    return True


def accumulate_prepared(plan, x, x_frac, weight, w_frac, bias_acc, order, accum, acc, counts, wp, scratch):
    """:func:`accumulate` with the weights' int32 copy prepared once (``wp``) and the block's buffers (``scratch``).

    ``wp`` is :func:`prepared_weight`'s ``(weight32, wmax)`` of ``weight``; ``scratch``
    :func:`dense_scratch`'s buffers of the block. The fast WRAP plans in 32-bit lanes that
    count nothing (the common case: the emulator's ``predict``) initialise the int32
    accumulators from the bias, sum in int32 and cast back with the WRAP in one pass, with
    no allocation and no scan of the weights per call; every other plan runs
    :func:`accumulate`'s loops (``wp`` and ``scratch`` unused). Same codes either way.
    """
    raise NotImplementedError("accumulate_prepared is compiled into fxsim's kernels")


def accumulate(plan, x, x_frac, weight, w_frac, bias_acc, order, accum, acc, counts):
    """A block of ``nnet::dense`` up to the final cast, with the loops of ``plan`` (inside kernels only).

    Parameters
    ----------
    plan : the :mod:`~fxsim.kernels.dense_plan` plan, a compile-time constant of the caller.
    x : int64 ``[n_in, B]`` input codes of ``B`` samples (``x_frac`` fractional bits).
    weight : int64 ``[n_in, n_out]`` weight codes (Keras layout), ``w_frac`` fractional bits.
    bias_acc : int64 ``[n_out]`` biases already in ``accum_t``.
    order : int64 ``[n_terms, 4]`` accumulation order (``ORDERED``; else ignored).
    accum : ``accum_t.spec``.
    acc : int64 ``[n_out, B]`` output: the accumulators, ``accum_t`` codes.
    counts : int64 ``[2]``: ``+=`` the products and partial sums that overflowed ``accum_t``
        (the fast plans count only when their ``count`` field says so).
    """
    raise NotImplementedError("accumulate is compiled into fxsim's kernels; call fxsim.kernels.dense.dense_batch")


@overload(accumulate, prefer_literal=True)
def _accumulate_plan(plan, x, x_frac, weight, w_frac, bias_acc, order, accum, acc, counts):
    # The typing step of accumulate: returns the implementation of this plan only.
    if not isinstance(plan, nbt.IntegerLiteral):
        raise TypingError("fxsim.kernels.dense_loops.accumulate needs its plan as a compile-time constant "
                          f"(got {plan}); pass it down from a kernel that holds it as a literal")
    code = plan.literal_value
    if code in (EXACT, ORDERED):
        return _general_implementation(code == ORDERED)
    return _fast_implementation(code)


@overload(accumulate_prepared, prefer_literal=True)
def _accumulate_prepared_plan(plan, x, x_frac, weight, w_frac, bias_acc, order, accum, acc, counts, wp, scratch):
    if not isinstance(plan, nbt.IntegerLiteral):
        raise TypingError("fxsim.kernels.dense_loops.accumulate_prepared needs its plan as a compile-time constant "
                          f"(got {plan})")
    code = plan.literal_value
    p = fast_plan(code)
    if p is None or not p.wrap32:
        def other(plan, x, x_frac, weight, w_frac, bias_acc, order, accum, acc, counts, wp, scratch):
            accumulate(plan, x, x_frac, weight, w_frac, bias_acc, order, accum, acc, counts)
        return other
    return _wrap32_implementation(code)


def accumulate_mod32(plan, x, x_frac, weight, w_frac, bias_acc, accum, wp, scratch, acc64):
    """The accumulators of a fast plan in 32-bit lanes that counts nothing, left in ``scratch``'s int32 buffer.

    For the plans :func:`~fxsim.kernels.dense_plan.sums_in_int32` admits (inside kernels only).
    ``scratch[1]`` (int32 ``[n_out, B]``) then holds codes congruent modulo ``2**32`` to the
    ``accum_t`` codes, so :func:`~fxsim.fixed.wrap_signed` of each is the code (``accum_t``
    has at most 32 bits), and a caller that reads the accumulators once (a fused recurrent
    cell) applies that cast itself instead of a pass over every row. WRAP
    (:attr:`~fxsim.kernels.dense_plan.FastPlan.wrap32`): the raw int32 sums where every
    product fits int32, else the int64 sums (in ``acc64``, int64 ``[n_out, B]``) already
    wrapped. SAT: the codes themselves (:func:`_sat_sums32`).
    """
    raise NotImplementedError("accumulate_mod32 is compiled into fxsim's kernels")


@overload(accumulate_mod32, prefer_literal=True)
def _accumulate_mod32_plan(plan, x, x_frac, weight, w_frac, bias_acc, accum, wp, scratch, acc64):
    if not isinstance(plan, nbt.IntegerLiteral) or not sums_in_int32(plan.literal_value):
        raise TypingError("fxsim.kernels.dense_loops.accumulate_mod32 needs a compile-time constant plan that "
                          f"sums_in_int32 admits (got {plan})")
    p = fast_plan(plan.literal_value)
    rnd = int(p.rounding == ROUND)
    conv = int(p.rounding == ROUND_CONV)

    if p.sat:
        def sat32(plan, x, x_frac, weight, w_frac, bias_acc, accum, wp, scratch, acc64):
            _sat_sums32(x, x_frac, weight, w_frac, bias_acc, accum, wp, scratch, rnd, conv, acc64)

        return sat32

    def mod32(plan, x, x_frac, weight, w_frac, bias_acc, accum, wp, scratch, acc64):
        acc32 = scratch[1]
        if not _sums32(x, x_frac, weight, w_frac, bias_acc, accum, wp, scratch, rnd, conv, acc64):
            sh = 64 - accum[0]
            for j in range(acc32.shape[0]):
                for b in range(acc32.shape[1]):
                    acc32[j, b] = wrap_signed(acc64[j, b], sh)  # accum_t has at most 32 bits: fits

    return mod32


def prepared_weight(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(weight32, wmax)``: int32 weight codes and each input row's ``max_j |w[i, j]|`` (int64), made once per layer.

    ``weight32`` holds the codes only where all of them fit int32 (else zeros:
    ``wmax`` then exceeds int32, and :func:`accumulate_prepared` takes the int64 loops).
    """
    w = np.ascontiguousarray(weight, dtype=np.int64)
    wmax = np.abs(w).max(axis=1, initial=0) if w.ndim == 2 else np.zeros(0, dtype=np.int64)
    fits = w.size == 0 or int(wmax.max(initial=0)) <= _INT32_MAX
    w32 = w.astype(np.int32) if fits else np.zeros(w.shape, dtype=np.int32)
    return w32, np.ascontiguousarray(wmax, dtype=np.int64)


@njit(cache=True, inline="always")
def dense_scratch(n_in, n_out, n_b):
    """A block's buffers for :func:`accumulate_prepared`: ``x32 [n_in, n_b]``, ``acc32 [n_out, n_b]`` (int32)
    and the group flags ``[ceil(n_out / GROUP)]``, all ones (the WRAP plans sum every group; the SAT
    plan of :func:`accumulate_mod32` writes its fitting groups there each call); made once per
    block, reused every time step."""
    groups = np.ones((n_out + GROUP - 1) // GROUP, dtype=np.int64)
    return np.empty((n_in, n_b), dtype=np.int32), np.empty((n_out, n_b), dtype=np.int32), groups


@njit(cache=True)
def _load32(x, x32, wmax, limit):
    """``x32 = x`` (low 32 bits) and whether every ``|x[i, b]| * wmax[i]`` lies within ``limit``
    (and every input and weight within int32): one pass over the block's inputs."""
    ok = True
    for i in range(x.shape[0]):
        m = np.int64(0)
        for b in range(x.shape[1]):
            v = x[i, b]
            m = max(m, abs(v))
            x32[i, b] = v
        if m > _INT32_MAX or wmax[i] > _INT32_MAX or m * wmax[i] > limit:
            ok = False
    return ok


@njit(cache=True)
def _load32_max(x, x32, wmax, limit, xmax):
    """:func:`_load32` that also writes each input row's ``max_b |x[i, b]|`` into ``xmax``."""
    ok = True
    for i in range(x.shape[0]):
        m = np.int64(0)
        for b in range(x.shape[1]):
            v = x[i, b]
            m = max(m, abs(v))
            x32[i, b] = v
        xmax[i] = m
        if m > _INT32_MAX or wmax[i] > _INT32_MAX or m * wmax[i] > limit:
            ok = False
    return ok


@njit(cache=True, inline="always")
def _sat_sums32(x, x_frac, weight, w_frac, bias_acc, accum, wp, scratch, rnd, conv, acc64):
    """The ``accum_t`` codes of the fast SAT plan without counting, into ``scratch[1]`` (int32 ``[n_out, B]``).

    As :func:`_fast_implementation`'s loops for that plan, on prepared weights and buffers:
    the groups of outputs whose partial sums cannot leave ``accum_t`` on this block's inputs
    (:func:`fitting_groups`, flags in ``scratch[2]``) are summed with no cast; the others
    with every partial sum saturated, and every product too unless none of the group's
    can overflow on these inputs (flag 2). They run in 32-bit lanes where every
    product fits int32 and ``accum_t`` has at most 31 bits (a saturated partial sum plus a
    saturated product then fits int32 too), else in int64 (``acc64``). ``accum_t`` has at
    most 32 bits, so every code fits int32.
    """
    weight32, wmax = wp
    x32, acc32, fits = scratch
    aw, af = accum[0], accum[1]
    d = x_frac + w_frac - af
    sh = 64 - aw
    lo, hi = code_range(aw, True)
    n_out = weight.shape[1]
    xmax = np.empty(x.shape[0], dtype=np.int64)
    lanes32 = _load32_max(x, x32, wmax, _INT32_MAX - ((np.int64(1) << d) >> 1), xmax)
    if lanes32 and aw <= 31:
        # every product fits int32 and a saturated code has at most 31 bits, so the sum of
        # two codes does too: the saturating loops keep 32-bit lanes. Groups flagged 2 have
        # products that cannot overflow, so only their partial sums saturate.
        n_fit = fitting_groups(xmax, weight, bias_acc, d, hi, fits, 2)
        _init(acc32, bias_acc)
        if n_fit > 0:
            _mac_block(acc32, weight32, x32, d, rnd, conv, _MODULAR, sh, lo, hi, False, fits, 1)
        if n_fit < fits.shape[0]:
            lo32, hi32 = np.int32(lo), np.int32(hi)
            _mac_block(acc32, weight32, x32, d, rnd, conv, _SAT_SUM, sh, lo32, hi32, False, fits, 2)
            _mac_block(acc32, weight32, x32, d, rnd, conv, _SAT, sh, lo32, hi32, False, fits, 0)
        return
    n_fit = fitting_groups(xmax, weight, bias_acc, d, hi, fits)
    if n_fit > 0 and lanes32:  # an accum_t of 32 bits
        _init(acc32, bias_acc)
        _mac_block(acc32, weight32, x32, d, rnd, conv, _MODULAR, sh, lo, hi, False, fits, 1)
    if n_fit < fits.shape[0] or not lanes32:
        _init(acc64, bias_acc)
        if n_fit > 0 and not lanes32:
            _mac_block(acc64, weight, x, d, rnd, conv, _MODULAR, sh, lo, hi, False, fits, 1)
        if n_fit < fits.shape[0]:
            _mac_block(acc64, weight, x, d, rnd, conv, _SAT, sh, lo, hi, False, fits, 0)
        for j in range(n_out):
            if fits[j // GROUP] == 0 or not lanes32:
                for b in range(acc32.shape[1]):
                    acc32[j, b] = acc64[j, b]


@njit(cache=True, inline="always")
def _sums32(x, x_frac, weight, w_frac, bias_acc, accum, wp, scratch, rnd, conv, acc64):
    """The sums of the fast WRAP plan without counting, before their cast to ``accum_t``.

    Where every product of the block fits int32 (:func:`_load32`), sums in 32-bit lanes
    into ``scratch[1]`` (int32 ``[n_out, B]``) and returns True: the partial sums wrap
    modulo ``2**32`` and ``accum_t`` has at most 32 bits, so WRAP of the int32 sum is WRAP
    of the exact sum. Else sums the int64 codes into ``acc64`` (modulo ``2**64``, as exact
    for the WRAP) and returns False. ``rnd, conv`` are constants of the callers.
    """
    weight32, wmax = wp
    x32, acc32, groups = scratch
    aw, af = accum[0], accum[1]
    d = x_frac + w_frac - af
    sh = 64 - aw
    lo, hi = code_range(aw, True)
    if _load32(x, x32, wmax, _INT32_MAX - ((np.int64(1) << d) >> 1)):
        for j in range(weight.shape[1]):
            bj = bias_acc[j]
            for b in range(acc32.shape[1]):
                acc32[j, b] = bj
        _mac_block(acc32, weight32, x32, d, rnd, conv, _MODULAR, sh, lo, hi, False, groups, 1)
        return True
    _init(acc64, bias_acc)
    _mac_block(acc64, weight, x, d, rnd, conv, _MODULAR, sh, lo, hi, False, groups, 1)
    return False


def _wrap32_implementation(code: int):
    """The fast WRAP plan in 32-bit lanes without counting, on prepared weights and hoisted buffers."""
    p = fast_plan(code)
    rnd = int(p.rounding == ROUND)
    conv = int(p.rounding == ROUND_CONV)

    def wrap32(plan, x, x_frac, weight, w_frac, bias_acc, order, accum, acc, counts, wp, scratch):
        acc32 = scratch[1]
        sh = 64 - accum[0]
        if _sums32(x, x_frac, weight, w_frac, bias_acc, accum, wp, scratch, rnd, conv, acc):
            for j in range(acc.shape[0]):
                for b in range(acc.shape[1]):
                    acc[j, b] = wrap_signed(np.int64(acc32[j, b]), sh)
        else:
            for j in range(acc.shape[0]):
                for b in range(acc.shape[1]):
                    acc[j, b] = wrap_signed(acc[j, b], sh)

    return wrap32


@njit(cache=True, inline="always")
def _init(acc, bias_acc):
    for j in range(acc.shape[0]):
        acc[j, :] = bias_acc[j]


def _general_implementation(ordered: bool):
    """Every type and mode: each product and partial sum through :func:`~fxsim.fixed.requantize`.

    In the Latency order (input outer, output inner), or in the order array's (``ordered``:
    the Resource strategy). ``ordered`` is a constant of the returned function.
    """

    def general(plan, x, x_frac, weight, w_frac, bias_acc, order, accum, acc, counts):
        _init(acc, bias_acc)
        pf = x_frac + w_frac
        n_out = weight.shape[1]
        n_terms = order.shape[0] if ordered else weight.shape[0] * n_out
        n_prod = 0
        n_acc = 0
        for t in range(n_terms):
            if ordered:
                i, wi, wj, j = order[t, 0], order[t, 1], order[t, 2], order[t, 3]
            else:
                i, j = t // n_out, t % n_out
                wi, wj = i, j
            o1, o2 = _mac_row_exact(acc[j], weight[wi, wj], x[i], pf, accum)
            n_prod += o1
            n_acc += o2
        counts[0] += n_prod
        counts[1] += n_acc

    return general


def _fast_implementation(code: int):
    """The loops of one fast plan: its fields are constants of the returned function.

    The common types (signed ``accum_t``, TRN/RND/RND_CONV or exact products, WRAP or SAT)
    as loops without branches on the data, which the compiler vectorises.
    """
    p = fast_plan(code)
    rnd = int(p.rounding == ROUND)
    conv = int(p.rounding == ROUND_CONV)
    sat, count, lanes32 = p.sat, p.count, p.lanes32
    cast = _SAT if sat else _WRAP
    # Casting every product and partial sum changes nothing where none can overflow; only
    # SAT, or counting, has to find those outputs. WRAP keeps the sum modulo 2**W and int64
    # arithmetic wraps modulo 2**64, so without counting one cast of the whole sum is exact.
    check_fit = sat or count

    if not check_fit and not lanes32:
        # WRAP, nothing counted, 64-bit lanes: the sums modulo 2**64, one cast each; the same codes as
        # `fast` below takes for this plan, without compiling its fit scans and int32 branch
        def wrap64(plan, x, x_frac, weight, w_frac, bias_acc, order, accum, acc, counts):
            aw, af = accum[0], accum[1]
            sh = 64 - aw
            lo, hi = code_range(aw, True)
            _init(acc, bias_acc)
            groups = np.ones((weight.shape[1] + GROUP - 1) // GROUP, dtype=np.int64)
            _mac_block(acc, weight, x, x_frac + w_frac - af, rnd, conv, _MODULAR, sh, lo, hi, False, groups, 1)
            for j in range(acc.shape[0]):
                for b in range(acc.shape[1]):
                    acc[j, b] = wrap_signed(acc[j, b], sh)

        return wrap64

    def fast(plan, x, x_frac, weight, w_frac, bias_acc, order, accum, acc, counts):
        aw, af = accum[0], accum[1]
        d = x_frac + w_frac - af
        n_out = weight.shape[1]
        _init(acc, bias_acc)
        sh = 64 - aw
        lo, hi = code_range(aw, True)
        n_groups = (n_out + GROUP - 1) // GROUP
        fits = np.ones(n_groups, dtype=np.int64)
        xmax = row_max_abs(x)
        n_fit = n_groups
        if check_fit:
            n_fit = fitting_groups(xmax, weight, bias_acc, d, hi, fits)
        if n_fit > 0:
            if lanes32 and products_fit_int32(xmax, weight, d):
                # The same sums in 32-bit lanes, twice as many per instruction: every product fits,
                # and the partial sums either fit accum_t (<= 32 bits) or wrap, now modulo 2**32.
                acc32 = copy_as(acc, np.int32)
                _mac_block(acc32, copy_as(weight, np.int32), copy_as(x, np.int32), d, rnd, conv, _MODULAR,
                           sh, lo, hi, False, fits, 1)
                copy_into(acc32, acc)
            else:
                _mac_block(acc, weight, x, d, rnd, conv, _MODULAR, sh, lo, hi, False, fits, 1)
            if not sat:
                for j in range(n_out):
                    for b in range(acc.shape[1]):
                        acc[j, b] = wrap_signed(acc[j, b], sh)
        if check_fit:
            if n_fit < n_groups:  # the outputs that may overflow: every cast
                n_prod, n_acc = _mac_block(acc, weight, x, d, rnd, conv, cast, sh, lo, hi, count, fits, 0)
                if count:
                    counts[0] += n_prod
                    counts[1] += n_acc

    return fast
