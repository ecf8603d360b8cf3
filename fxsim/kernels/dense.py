"""``nnet::dense`` (io_parallel) on raw codes: per-product casts, exact accumulation order.

Emulates ``nnet_dense_latency.h`` (``dense_latency``) and ``nnet_dense_resource.h``
(``dense_resource_rf_leq_nin``, ``dense_resource_rf_gt_nin_rem0``), with the
default ``nnet::product::mult``::

    acc[j] = accum_t(bias[j])
    for each term (i, j) in the kernel's order:
        acc[j] = accum_t(acc[j] + accum_t(x[i] * w[i, j]))    # every product cast, every sum cast
    res[j] = res_t(acc[j])

Weights are always in Keras layout ``[n_in, n_out]`` here; the accumulation order
(:mod:`fxsim.kernels.dense_order`) only changes results when ``accum_t`` saturates, but
it always decides which steps overflow. The batch is cut into blocks of samples
(:mod:`fxsim.kernels.blocks`).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from fxsim._jit_cache import njit
from fxsim.fixed import (
    FixedType,
    Overflow,
    Rounding,
    code_range,
    narrow_like,
    requantize,
    requantize_row,
    round_shift_branchless,
    saturate,
    wrap_signed,
)
from fxsim.kernels.blocks import BLOCK, copy_as, copy_into, load_block, row_max_abs
from fxsim.kernels.counters import counter_index
from fxsim.kernels.dense_order import dense_order  # noqa: F401  (the old import path, used by fxsim.finetune)

#: Columns of the per-block overflow counters filled by :func:`dense_batch`.
DENSE_COUNTERS = ("product", "accumulator", "result")
DENSE = counter_index("DenseCounter", DENSE_COUNTERS)

# Rounding and overflow mode numbers (``FixedType.spec``) the fast accumulation loop handles.
TRN = int(Rounding.TRN)
RND = int(Rounding.RND)
RND_CONV = int(Rounding.RND_CONV)
WRAP = int(Overflow.WRAP)
SAT = int(Overflow.SAT)


def cast_with_flags(codes: np.ndarray, src_t: FixedType, dst_t: FixedType) -> tuple[np.ndarray, np.ndarray]:
    """``dst_t(codes)`` for codes of ``src_t``, and which of them overflowed (bool, same shape).

    Both through :func:`~fxsim.fixed.requantize_row`, the kernel every model already
    compiles for its input conversion, so preparing a layer compiles nothing of its own.
    A cast overflowed exactly where its code differs from the same rounding into a
    63-bit type (which holds every rounded value fxsim represents, and saturates the
    ones beyond it, which overflow any type of at most ``MAX_WIDTH`` bits).
    """
    c = np.ascontiguousarray(np.asarray(codes, dtype=np.int64))
    flat = c.ravel()
    out = np.empty_like(flat)
    requantize_row(flat, src_t.frac, dst_t.spec, out)
    exact = np.empty_like(flat)
    requantize_row(flat, src_t.frac, (63, dst_t.frac, 1, int(dst_t.rounding), SAT), exact)
    return out.reshape(c.shape), (out != exact).reshape(c.shape)


def bias_to_accum(bias: np.ndarray, bias_t: FixedType, accum_t: FixedType) -> tuple[np.ndarray, int]:
    """``(accum_t)biases[j]``: bias codes recast to ``accum_t``, and how many overflowed."""
    out, over = cast_with_flags(bias, bias_t, accum_t)
    return out, int(over.sum())


#: Outputs per group in the accumulation loops (and per "can it overflow" decision).
GROUP = 4

# How _mac_block casts (a literal at every call): not at all (WRAP, summed modulo 2**64), WRAP, SAT.
_MODULAR = 0
_WRAP = 1
_SAT = 2


@njit(cache=True, inline="always")
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
    else:
        pc = saturate(p, lo, hi)
        s = a + pc
        sc = saturate(s, lo, hi)
    return sc, pc != p, sc != s


@njit(cache=True, inline="always")
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
    products and stays in the fastest cache. ``d, rnd, conv, cast, count`` are
    literals at the call sites. Returns the product and sum overflow counts (0 unless
    ``count``).
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
            a0, a1, a2, a3 = acc[j], acc[j + 1], acc[j + 2], acc[j + 3]
            for i in range(0, i_even, 2):
                xr, xs = x[i], x[i + 1]
                w0, w1, w2, w3 = weight[i, j], weight[i, j + 1], weight[i, j + 2], weight[i, j + 3]
                u0, u1, u2, u3 = weight[i + 1, j], weight[i + 1, j + 1], weight[i + 1, j + 2], weight[i + 1, j + 3]
                for b in range(n_b):
                    xv, xu = xr[b], xs[b]
                    s0, p0, q0 = _mac_step(a0[b], _product(xv, w0, d, rnd, conv), cast, sh, lo, hi)
                    s1, p1, q1 = _mac_step(a1[b], _product(xv, w1, d, rnd, conv), cast, sh, lo, hi)
                    s2, p2, q2 = _mac_step(a2[b], _product(xv, w2, d, rnd, conv), cast, sh, lo, hi)
                    s3, p3, q3 = _mac_step(a3[b], _product(xv, w3, d, rnd, conv), cast, sh, lo, hi)
                    a0[b], p4, q4 = _mac_step(s0, _product(xu, u0, d, rnd, conv), cast, sh, lo, hi)
                    a1[b], p5, q5 = _mac_step(s1, _product(xu, u1, d, rnd, conv), cast, sh, lo, hi)
                    a2[b], p6, q6 = _mac_step(s2, _product(xu, u2, d, rnd, conv), cast, sh, lo, hi)
                    a3[b], p7, q7 = _mac_step(s3, _product(xu, u3, d, rnd, conv), cast, sh, lo, hi)
                    if count:
                        n_prod += p0 + p1 + p2 + p3 + p4 + p5 + p6 + p7
                        n_acc += q0 + q1 + q2 + q3 + q4 + q5 + q6 + q7
            j_end = j + 4
            i_rest = i_even  # the odd last input of these four outputs
        else:
            j_end = n_out
            i_rest = 0  # the last outputs, one at a time
        for jj in range(j, j_end):
            a = acc[jj]
            for i in range(i_rest, n_in):
                xr = x[i]
                w = weight[i, jj]
                for b in range(n_b):
                    a[b], p0, q0 = _mac_step(a[b], _product(xr[b], w, d, rnd, conv), cast, sh, lo, hi)
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
def fitting_groups(xmax, weight, bias_acc, d, hi, fits):
    """``fits[g] = 1`` where no product or partial sum of group ``g``'s outputs can leave ``[-hi-1, hi]``.

    Bounds every partial sum of output ``j`` by ``|bias_j| + sum_i (xmax[i] * |w_ij| >> d)
    + n_in`` (a product rounded in any mode is at most one above its floor magnitude),
    ``xmax`` being this block's :func:`row_max_abs`. Where it holds, casting each product
    and sum changes nothing, so those outputs can be summed plainly with no overflow to
    count. Returns how many groups fit.
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
        fits[g] = ok
        n_fit += ok
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


@njit(cache=True, inline="always")
def _mac_plain(acc, weight, x, d, trn, rnd, conv, sh, lo, hi, fits):
    # the fitting groups, summed without casts (see dense_accumulate); literal rounding flags,
    # so each loop holds only its own mode's operations
    if trn:
        _mac_block(acc, weight, x, d, 0, 0, _MODULAR, sh, lo, hi, False, fits, 1)
    elif conv:
        _mac_block(acc, weight, x, d, 0, 1, _MODULAR, sh, lo, hi, False, fits, 1)
    else:
        _mac_block(acc, weight, x, d, 1, 0, _MODULAR, sh, lo, hi, False, fits, 1)


@njit(cache=True)
def dense_accumulate(x, x_frac, weight, w_frac, bias_acc, order, accum, acc, counts, count):
    """A block of samples of ``nnet::dense`` up to (not including) the final cast.

    Samples are the innermost axis, so every step is a loop over the block that
    the compiler vectorises.

    Parameters
    ----------
    x : int64 ``[n_in, B]`` input codes of ``B`` samples (``x_frac`` fractional bits).
    x_frac : fractional bits of the input type.
    weight : int64 ``[n_in, n_out]`` weight codes, Keras layout.
    w_frac : fractional bits of ``weight_t``.
    bias_acc : int64 ``[n_out]`` biases already in ``accum_t`` (:func:`bias_to_accum`).
    order : int64 ``[n_terms, 4]`` from :func:`dense_order`, or ``[0, 4]`` for the Latency order.
    accum : ``accum_t.spec`` tuple ``(W, F, signed, rounding, overflow)``.
    acc : int64 ``[n_out, B]`` output: the accumulators, ``accum_t`` codes.
    counts : int64 array whose first columns are ``DENSE_COUNTERS``' product and
        accumulator: ``+=`` the products / accumulations that overflowed ``accum_t``
        (only when ``count``).
    count : count the overflows; without, the common types take faster loops.
    """
    aw, af, asg, ar, ao = accum
    pf = x_frac + w_frac  # fractional bits of the exact product
    n_in, n_out = weight.shape
    n_b = acc.shape[1]
    for j in range(n_out):
        acc[j, :] = bias_acc[j]
    n_prod = 0
    n_acc = 0
    d = pf - af
    rnd = np.int64(ar == RND)
    conv = np.int64(ar == RND_CONV)
    if (order.shape[0] == 0 and asg and aw > 1 and (ao == WRAP or ao == SAT)
            and (d == 0 or (0 < d <= 62 and (ar == TRN or rnd or conv)))):
        # The common types (signed accum_t, TRN/RND/RND_CONV or exact products, WRAP or SAT) as
        # loops without branches on the data, which the compiler vectorises; the core's casts.
        sh = 64 - aw
        lo, hi = code_range(aw, True)
        trn = d == 0 or ar == TRN  # then literal zeros: the rounding terms fold away
        fits = np.empty((n_out + GROUP - 1) // GROUP, dtype=np.int64)
        xmax = row_max_abs(x)
        if ao == WRAP and not count:
            # WRAP keeps the sum modulo 2**W and int64 arithmetic wraps modulo 2**64, so casting
            # every product and partial sum gives the same code as one cast of the whole sum.
            fits[:] = 1
            n_fit = fits.shape[0]
        else:
            # where no product or partial sum can overflow, no cast changes anything (nor is any counted)
            n_fit = fitting_groups(xmax, weight, bias_acc, d, hi, fits)
        if n_fit > 0:
            if aw <= 32 and d <= 31 and products_fit_int32(xmax, weight, d):
                # The same sums in 32-bit lanes, twice as many per instruction: every product fits,
                # and the partial sums either fit accum_t (<= 32 bits) or wrap, now modulo 2**32.
                acc32 = copy_as(acc, np.int32)
                _mac_plain(acc32, copy_as(weight, np.int32), copy_as(x, np.int32), d, trn, rnd, conv,
                           sh, lo, hi, fits)
                copy_into(acc32, acc)
            else:
                _mac_plain(acc, weight, x, d, trn, rnd, conv, sh, lo, hi, fits)
            if ao == WRAP:
                for j in range(n_out):
                    for b in range(n_b):
                        acc[j, b] = wrap_signed(acc[j, b], sh)
        if n_fit < fits.shape[0] and not count:  # SAT outputs that may overflow
            if trn:
                _mac_block(acc, weight, x, d, 0, 0, _SAT, sh, lo, hi, False, fits, 0)
            else:
                _mac_block(acc, weight, x, d, rnd, conv, _SAT, sh, lo, hi, False, fits, 0)
        elif n_fit < fits.shape[0]:  # counted, WRAP or SAT
            if trn and ao == WRAP:
                n_prod, n_acc = _mac_block(acc, weight, x, d, 0, 0, _WRAP, sh, lo, hi, True, fits, 0)
            elif ao == WRAP:
                n_prod, n_acc = _mac_block(acc, weight, x, d, rnd, conv, _WRAP, sh, lo, hi, True, fits, 0)
            elif trn:
                n_prod, n_acc = _mac_block(acc, weight, x, d, 0, 0, _SAT, sh, lo, hi, True, fits, 0)
            else:
                n_prod, n_acc = _mac_block(acc, weight, x, d, rnd, conv, _SAT, sh, lo, hi, True, fits, 0)
    elif order.shape[0] == 0:
        for i in range(n_in):
            for j in range(n_out):
                o1, o2 = _mac_row_exact(acc[j], weight[i, j], x[i], pf, accum)
                n_prod += o1
                n_acc += o2
    else:
        for t in range(order.shape[0]):
            o1, o2 = _mac_row_exact(acc[order[t, 3]], weight[order[t, 1], order[t, 2]], x[order[t, 0]], pf, accum)
            n_prod += o1
            n_acc += o2
    counts[DENSE.product] += n_prod
    counts[DENSE.accumulator] += n_acc


@njit(cache=True, parallel=True)
def dense_batch(x, x_frac, weight, w_frac, bias_acc, order, accum, result, out, counts, count):
    """``nnet::dense`` for a batch: ``out[n, n_out] = result_t(dense(x[n, n_in]))``.

    ``accum``/``result`` are ``FixedType.spec`` tuples; ``counts[n_blocks(n), 3]`` receives
    per block of ``BLOCK`` samples the overflow counts named in ``DENSE_COUNTERS``
    (product, accumulator, result; the first two only when ``count``). Parallel over blocks.
    """
    n = x.shape[0]
    n_in, n_out = weight.shape
    for blk in nb.prange((n + BLOCK - 1) // BLOCK):
        s0 = blk * BLOCK
        n_b = min(BLOCK, n - s0)
        xb = np.empty((n_in, n_b), dtype=np.int64)
        load_block(x, s0, 0, xb)
        acc = np.empty((n_out, n_b), dtype=np.int64)
        res = np.empty(n_b, dtype=np.int64)
        dense_accumulate(xb, x_frac, weight, w_frac, bias_acc, order, accum, acc, counts[blk], count)
        for j in range(n_out):
            counts[blk, DENSE.result] += requantize_row(acc[j], accum[1], result, res)
            for b in range(n_b):
                out[s0 + b, j] = res[b]
