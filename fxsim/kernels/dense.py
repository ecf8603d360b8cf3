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

import functools

import numpy as np

from fxsim._jit_cache import njit
from fxsim.fixed import FixedType, Overflow, requantize_row, truncating_wrap, wrap_signed
from fxsim.kernels.blocks import BLOCK, load_block, n_blocks, store_block
from fxsim.kernels.counters import counter_index
from fxsim.kernels.dense_loops import (  # noqa: F401
    GROUP,
    accumulate,
    accumulate_mod32,
    accumulate_prepared,
    dense_scratch,
    fitting_groups,
    prepared_weight,
    products_fit_int32,
)
from fxsim.kernels.dense_order import dense_order  # noqa: F401  (the old import path, used by fxsim.finetune)
from fxsim.kernels.dense_plan import accumulation_plan, runs_prepared
from fxsim._threads import run_blocks

#: Columns of the per-block overflow counters filled by :func:`dense_batch`.
DENSE_COUNTERS = ("product", "accumulator", "result")
DENSE = counter_index("DenseCounter", DENSE_COUNTERS)


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
    requantize_row(flat, src_t.frac, (63, dst_t.frac, 1, int(dst_t.rounding), int(Overflow.SAT)), exact)
    return out.reshape(c.shape), (out != exact).reshape(c.shape)


def bias_to_accum(bias: np.ndarray, bias_t: FixedType, accum_t: FixedType) -> tuple[np.ndarray, int]:
    """``(accum_t)biases[j]``: bias codes recast to ``accum_t``, and how many overflowed."""
    out, over = cast_with_flags(bias, bias_t, accum_t)
    return out, int(over.sum())


@njit(cache=True, inline="always")
def dense_accumulate(x, x_frac, weight, w_frac, bias_acc, order, accum, acc, counts, plan):
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
        (only when the plan counts).
    plan : :func:`~fxsim.kernels.dense_plan.accumulation_plan` of these types, a constant
        of the calling kernel: the kernel holds that plan's loops only.

    Inlined into its callers (each compiled numba function is optimised and compiled to
    machine code again with everything it calls, so every level of calls costs time).
    """
    accumulate(plan, x, x_frac, weight, w_frac, bias_acc, order, accum, acc,
               counts[DENSE.product:DENSE.accumulator + 1])


@njit(cache=True, inline="always")
def dense_accumulate_prepared(x, x_frac, weight, w_frac, bias_acc, order, accum, acc, counts, plan, wp, scratch):
    """:func:`dense_accumulate` with the weights prepared once per layer and the buffers once per block.

    ``wp`` : :func:`~fxsim.kernels.dense_loops.prepared_weight` of ``weight``, ``(weight32, wmax)``.
    ``scratch`` : :func:`~fxsim.kernels.dense_loops.dense_scratch` ``(n_in, n_out, B)`` of the block.
    The same codes as :func:`dense_accumulate`; the common fast plan (WRAP, 32-bit lanes, no
    counting) then makes no allocation and no scan of the weights per call.
    """
    accumulate_prepared(plan, x, x_frac, weight, w_frac, bias_acc, order, accum, acc,
                        counts[DENSE.product:DENSE.accumulator + 1], wp, scratch)


def dense_batch(x, x_frac, weight, w_frac, bias_acc, order, accum, result, out, counts, count, prepared=None) -> None:
    """``nnet::dense`` for a batch: ``out[n, n_out] = result_t(dense(x[n, n_in]))``.

    Parameters
    ----------
    x : int64 ``[n, n_in]`` input codes (``x_frac`` fractional bits).
    weight, w_frac, bias_acc, order, accum : as :func:`dense_accumulate`.
    result : ``result_t.spec``.
    out : int64 ``[n, n_out]``, filled.
    counts : int64 ``[n_blocks(n), 3]``, ``+=`` per block of ``BLOCK`` samples the overflow
        counts named in ``DENSE_COUNTERS`` (product, accumulator, result; the first two
        only when ``count``).
    count : count the products' and partial sums' overflows (without, the common
        accumulator types take faster loops).
    prepared : :func:`~fxsim.kernels.dense_loops.prepared_weight` of ``weight``, when the
        caller keeps it; made here otherwise.

    Runs the kernel of the layer's accumulation plan (:func:`dense_kernel`) over the
    blocks in parallel threads.
    """
    plan = accumulation_plan(x_frac, w_frac, accum, order.shape[0] == 0, count)
    if prepared is None:
        prepared = prepared_weight(weight) if runs_prepared(plan) else NOT_PREPARED
    run_blocks(dense_kernel(plan), n_blocks(x.shape[0]), x, x_frac, weight, w_frac, bias_acc, order, accum, result,
               out, counts, prepared)


#: The ``prepared`` argument of the kernels whose plan does not take prepared weights.
NOT_PREPARED = (np.zeros((0, 0), dtype=np.int32), np.zeros(0, dtype=np.int64))


@functools.cache
def dense_kernel(plan: int):
    """The ``nnet::dense`` kernel of one accumulation plan over a range of blocks (compiled on its first call).

    One kernel per plan, the plan a constant in it, so that a model compiles only the
    loops of the plans its layers use (:mod:`fxsim.kernels.dense_plan`). A
    :func:`~fxsim.kernels.dense_plan.runs_prepared` plan runs through
    :func:`~fxsim.kernels.dense_loops.accumulate_mod32`, as the fused recurrent cells' products
    do, so that a Dense and a recurrent layer of that plan compile its loops once, and casts
    each int32 sum to ``accum_t`` and then ``result_t`` as it reads it (one pass, where both
    casts are truncating WRAPs: :func:`~fxsim.fixed.truncating_wrap`); the others run
    through :func:`dense_accumulate` (``wp`` unused). It releases the GIL:
    :func:`~fxsim._threads.run_blocks` runs ranges of blocks in parallel.
    """
    prepared = runs_prepared(plan)  # a constant of the kernel: numba removes the other call before compiling

    @njit(cache=True, nogil=True)
    def dense_plan_batch(b0, b1, x, x_frac, weight, w_frac, bias_acc, order, accum, result, out, counts, wp):
        n = x.shape[0]
        n_in, n_out = weight.shape
        n_b = min(BLOCK, n - b0 * BLOCK)
        xb = np.empty((n_in, n_b), dtype=np.int64)
        acc = np.empty((n_out, n_b), dtype=np.int64)
        res = np.empty((n_out, n_b), dtype=np.int64)
        scratch = dense_scratch(n_in, n_out, n_b)
        sha = 64 - accum[0]
        fast, d, shr = truncating_wrap(accum[1], result)  # one pass for both casts (prepared plans)
        for blk in range(b0, b1):
            s0 = blk * BLOCK
            if min(BLOCK, n - s0) != n_b:  # the batch's last, shorter block
                n_b = n - s0
                xb = np.empty((n_in, n_b), dtype=np.int64)
                acc = np.empty((n_out, n_b), dtype=np.int64)
                res = np.empty((n_out, n_b), dtype=np.int64)
                scratch = dense_scratch(n_in, n_out, n_b)
            load_block(x, s0, 0, xb)
            if prepared:
                # the sums in int32 (congruent modulo 2**32; accum_t has at most 32 bits), cast as they are read
                accumulate_mod32(plan, xb, x_frac, weight, w_frac, bias_acc, accum, wp, scratch, acc)
                acc32 = scratch[1]
                if fast:  # ap_fixed's default modes: accum_t's and result_t's casts in one pass
                    n_over = 0
                    for j in range(n_out):
                        for b in range(n_b):
                            v = wrap_signed(np.int64(acc32[j, b]), sha) >> d
                            c = wrap_signed(v, shr)
                            n_over += c != v
                            res[j, b] = c
                    counts[blk, DENSE.result] += n_over
                    store_block(res, out, s0, 0)
                    continue
                for j in range(n_out):
                    for b in range(n_b):
                        acc[j, b] = wrap_signed(np.int64(acc32[j, b]), sha)
            else:
                dense_accumulate(xb, x_frac, weight, w_frac, bias_acc, order, accum, acc, counts[blk], plan)
            # the block's accumulators cast to result_t in one call, then back per sample
            counts[blk, DENSE.result] += requantize_row(acc.reshape(n_out * n_b), accum[1], result,
                                                        res.reshape(n_out * n_b))
            store_block(res, out, s0, 0)

    return dense_plan_batch
