"""Element-wise activations and softmax of ``nnet_activation.h`` on raw codes (batched, numba).

Every kernel takes ``x[n, m]`` int64 codes with ``x_frac`` fractional bits, writes
``out[n, m]`` codes of ``result`` (a ``FixedType.spec`` tuple) and adds overflow counts
to ``counts[n, k]`` (columns named by the ``*_COUNTERS`` tuples): per sample, or (linear,
relu: one cast per block) per block, in the row of the block's first sample; callers
sum them.
Blocks of ``BLOCK`` samples run in parallel threads (:func:`~fxsim._threads.run_blocks`):
each kernel is compiled with ``nogil=True`` over a range of blocks, which compiles in
a fraction of the time ``parallel=True`` takes (that builds the loop body as a kernel of
its own and then the whole linked code again) and runs as fast.

* ``linear``: ``res = res_t(x)``; ``relu``: ``x > 0 ? res_t(x) : 0``;
  ``leaky_relu``: ``x > 0 ? res_t(x) : res_t(alpha * x)`` (``alpha`` in ``param_t``).
* ``sigmoid``/``tanh``: ``res_t(table[index(x)])`` (:mod:`fxsim.kernels.lut`).
* ``hard_sigmoid``: ``res_t(clip(slope*x + shift, 0, 1))``; ``hard_tanh``:
  ``res_t(2*clip(...) - 1)``, with the clip done exactly in the C++ ``auto`` type.
* softmax ``stable``/``latency`` (exp and inverse tables addressed by the top bits of
  the value), ``legacy`` (``table_t`` tables and sums) and ``argmax``.
"""

from __future__ import annotations

import numpy as np

from fxsim._jit_cache import njit
from fxsim._threads import run_blocks
from fxsim.fixed import requantize, requantize_row, trunc_to_int32
from fxsim.kernels.blocks import BLOCK, n_blocks
from fxsim.kernels.lut import lut_index

ELEMENTWISE_COUNTERS = ("result",)
LUT_COUNTERS = ("table_index_clip", "result")
SOFTMAX_COUNTERS = ("norm", "exp_accum", "sum", "inv_inp", "result")
LEGACY_SOFTMAX_COUNTERS = ("table_index_clip", "exp_sum", "inv_index_clip", "result")


@njit(cache=True, nogil=True)
def _linear_batch_blocks(b0, b1, x, x_frac, result, out, counts):
    # the blocks b0 .. b1 - 1 of linear_batch: one vectorised cast of each block's values
    for blk in range(b0, b1):
        s0, s1 = blk * BLOCK, min((blk + 1) * BLOCK, x.shape[0])
        m = (s1 - s0) * x.shape[1]
        counts[s0, 0] += requantize_row(x[s0:s1].reshape(m), x_frac, result, out[s0:s1].reshape(m))


def linear_batch(x, x_frac, result, out, counts) -> None:
    """``nnet::linear``: ``res = res_t(x)``."""
    run_blocks(_linear_batch_blocks, n_blocks(x.shape[0]), x, x_frac, result, out, counts)


@njit(cache=True, nogil=True)
def _relu_batch_blocks(b0, b1, x, x_frac, result, out, counts):
    # the blocks b0 .. b1 - 1 of relu_batch
    for blk in range(b0, b1):
        s0, s1 = blk * BLOCK, min((blk + 1) * BLOCK, x.shape[0])
        for s in range(s0, s1):
            for k in range(x.shape[1]):
                out[s, k] = max(x[s, k], 0)  # res_t(0) is 0 in every type, and 0 never overflows
        # then one vectorised cast of the block's values (a branch per value kept the loop scalar)
        rows = out[s0:s1].reshape((s1 - s0) * x.shape[1])
        counts[s0, 0] += requantize_row(rows, x_frac, result, rows)


def relu_batch(x, x_frac, result, out, counts) -> None:
    """``nnet::relu``: ``x > 0 ? res_t(x) : 0``."""
    run_blocks(_relu_batch_blocks, n_blocks(x.shape[0]), x, x_frac, result, out, counts)


@njit(cache=True, nogil=True)
def _leaky_relu_batch_blocks(b0, b1, x, x_frac, alpha, alpha_frac, result, out, counts):
    # the blocks b0 .. b1 - 1 of leaky_relu_batch
    for s in range(b0 * BLOCK, min(b1 * BLOCK, x.shape[0])):
        n_over = 0
        for k in range(x.shape[1]):
            v = x[s, k]
            if v > 0:
                c, o = requantize(v, x_frac, result)
            else:
                c, o = requantize(alpha * v, alpha_frac + x_frac, result)
            out[s, k] = c
            n_over += o
        counts[s, 0] += n_over


def leaky_relu_batch(x, x_frac, alpha, alpha_frac, result, out, counts) -> None:
    """``nnet::leaky_relu``: ``x > 0 ? res_t(x) : res_t(alpha * x)`` (exact product)."""
    run_blocks(_leaky_relu_batch_blocks, n_blocks(x.shape[0]), x, x_frac, alpha, alpha_frac, result, out, counts)


@njit(cache=True, nogil=True)
def _lut_batch_blocks(b0, b1, x, x_frac, table, table_frac, range_shift, result, out, counts):
    # the blocks b0 .. b1 - 1 of lut_batch
    n_table = table.shape[0]
    for s in range(b0 * BLOCK, min(b1 * BLOCK, x.shape[0])):
        n_clip = 0
        n_over = 0
        for k in range(x.shape[1]):
            idx, clipped = lut_index(x[s, k], x_frac, n_table, range_shift)
            c, o = requantize(table[idx], table_frac, result)
            out[s, k] = c
            n_clip += clipped
            n_over += o
        counts[s, 0] += n_clip
        counts[s, 1] += n_over


def lut_batch(x, x_frac, table, table_frac, range_shift, result, out, counts) -> None:
    """``nnet::sigmoid`` (``range_shift=4``) / ``nnet::tanh`` (3): ``res_t(table[index(x)])``."""
    run_blocks(_lut_batch_blocks, n_blocks(x.shape[0]), x, x_frac, table, table_frac, range_shift, result, out, counts)


@njit(cache=True, nogil=True)
def _hard_activation_batch_blocks(b0, b1, x, x_frac, slope, slope_frac, shift, shift_frac, is_tanh, result, out,
                                  counts):
    # the blocks b0 .. b1 - 1 of hard_activation_batch
    pf = slope_frac + x_frac
    f = pf if pf > shift_frac else shift_frac
    one = np.int64(1) << f
    shift_al = shift << (f - shift_frac)
    for s in range(b0 * BLOCK, min(b1 * BLOCK, x.shape[0])):
        n_over = 0
        for k in range(x.shape[1]):
            v = ((slope * x[s, k]) << (f - pf)) + shift_al
            if v > one:
                v = one
            elif v < 0:
                v = 0
            if is_tanh:
                v = 2 * v - one
            c, o = requantize(v, f, result)
            out[s, k] = c
            n_over += o
        counts[s, 0] += n_over


def hard_activation_batch(x, x_frac, slope, slope_frac, shift, shift_frac, is_tanh, result, out, counts) -> None:
    """``nnet::hard_sigmoid`` / ``nnet::hard_tanh`` (``is_tanh``) with slope/shift codes.

    ``slope*x + shift`` is exact (C++ ``auto``), clipped to [0, 1] exactly, then
    ``res_t(v)`` or ``res_t(2*v - 1)``.
    """
    run_blocks(_hard_activation_batch_blocks, n_blocks(x.shape[0]), x, x_frac, slope, slope_frac, shift, shift_frac,
               is_tanh, result, out, counts)


def reduce_plan(n: int) -> np.ndarray:
    """The pairings of ``nnet::reduce`` (balanced tree, ``nnet_common.h``) for ``n`` leaves.

    Returns int64 ``[n-1, 2]``: operation ``k`` combines nodes ``a, b`` into node
    ``n + k`` (leaves are nodes ``0..n-1``); the last node is the result. The left
    subtree of ``N`` leaves has ``2**floor(log2(N-1))``.
    """
    ops: list[tuple[int, int]] = []

    def build(first: int, count: int) -> int:
        if count == 1:
            return first
        if count == 2:
            ops.append((first, first + 1))
            return n + len(ops) - 1
        left = 1 << ((count - 1).bit_length() - 1)
        a = build(first, left)
        b = build(first + left, count - left)
        ops.append((a, b))
        return n + len(ops) - 1

    if n < 1:
        raise ValueError("softmax needs at least one input")
    build(0, n)
    return np.array(ops, dtype=np.int64).reshape(-1, 2)


@njit(cache=True)
def _top_bits(code, width, n_addr):
    """``softmax_idx_from_real_val``: the top ``n_addr`` bits of the ``width``-bit pattern."""
    u = code & ((np.int64(1) << width) - 1)
    return u >> (width - n_addr)


@njit(cache=True, nogil=True)
def _softmax_table_batch_blocks(b0, b1, x, x_width, x_frac, stable, norm, exp_table, exp_frac, exp_bits,
                                accum, inv_inp, inv_table, inv_frac, inv_bits, plan, result, out, counts):
    # the blocks b0 .. b1 - 1 of softmax_table_batch
    nw = norm[0]
    af = accum[1]
    iw = inv_inp[0]
    m = x.shape[1]
    for s in range(b0 * BLOCK, min(b1 * BLOCK, x.shape[0])):
        e = np.empty(2 * m - 1, dtype=np.int64)
        n_norm = 0
        n_exp = 0
        n_sum = 0
        xmax = x[s, 0]
        for k in range(1, m):
            if x[s, k] > xmax:
                xmax = x[s, k]
        for k in range(m):
            if stable:
                d, o = requantize(xmax - x[s, k], x_frac, norm)
                n_norm += o
                idx = _top_bits(d, nw, exp_bits)
            else:
                idx = _top_bits(x[s, k], x_width, exp_bits)
            c, o = requantize(exp_table[idx], exp_frac, accum)
            e[k] = c
            n_exp += o
        for p in range(plan.shape[0]):
            c, o = requantize(e[plan[p, 0]] + e[plan[p, 1]], af, accum)
            e[m + p] = c
            n_sum += o
        total, o_inv = requantize(e[2 * m - 2], af, inv_inp)
        inv = inv_table[_top_bits(total, iw, inv_bits)]
        n_res = 0
        for k in range(m):
            c, o = requantize(e[k] * inv, af + inv_frac, result)
            out[s, k] = c
            n_res += o
        counts[s, 0] += n_norm
        counts[s, 1] += n_exp
        counts[s, 2] += n_sum
        counts[s, 3] += o_inv
        counts[s, 4] += n_res


def softmax_table_batch(x, x_width, x_frac, stable, norm, exp_table, exp_frac, exp_bits,
                        accum, inv_inp, inv_table, inv_frac, inv_bits, plan, result, out, counts) -> None:
    """``nnet::softmax_stable`` (``stable=True``) / ``softmax_latency`` on slices ``x[n, m]``.

    Parameters
    ----------
    x_width : input width (the latency table is addressed by the input's own bits).
    norm : ``inp_norm_t.spec`` (stable: ``x_max - x`` is cast to it and addresses the table).
    exp_table, exp_frac, exp_bits : exp table codes, ``exp_table_t`` fractional bits, address bits.
    accum, inv_inp : ``accum_t.spec``, ``inv_inp_t.spec``.
    inv_table, inv_frac, inv_bits : inverse table codes, ``inv_table_t`` fractional bits, address bits.
    plan : :func:`reduce_plan` of ``m``.
    """
    run_blocks(_softmax_table_batch_blocks, n_blocks(x.shape[0]), x, x_width, x_frac, stable, norm, exp_table,
               exp_frac, exp_bits, accum, inv_inp, inv_table, inv_frac, inv_bits, plan, result, out, counts)


@njit(cache=True, nogil=True)
def _softmax_legacy_batch_blocks(b0, b1, x, x_frac, table, exp_table, inv_table, result, out, counts):
    # the blocks b0 .. b1 - 1 of softmax_legacy_batch
    tf = table[1]
    m = x.shape[1]
    n_exp = exp_table.shape[0]
    n_inv = inv_table.shape[0]
    one, _ = requantize(np.int64(1), 0, table)
    for s in range(b0 * BLOCK, min(b1 * BLOCK, x.shape[0])):
        n_clip = 0
        n_sum = 0
        n_inv_clip = 0
        n_res = 0
        for i in range(m):
            acc = np.int64(0)
            for j in range(m):
                if i == j:
                    term = one
                else:
                    idx, clipped = lut_index(x[s, j] - x[s, i], x_frac, n_exp, 4)
                    term = exp_table[idx]
                    n_clip += clipped
                acc, o = requantize(acc + term, tf, table)
                n_sum += o
            # (int)(exp_res * N / 64), clamped
            idx = trunc_to_int32(acc * n_inv, tf + 6)
            if idx < 0:
                idx = 0
                n_inv_clip += 1
            elif idx > n_inv - 1:
                idx = n_inv - 1
                n_inv_clip += 1
            c, o = requantize(inv_table[idx], tf, result)
            out[s, i] = c
            n_res += o
        counts[s, 0] += n_clip
        counts[s, 1] += n_sum
        counts[s, 2] += n_inv_clip
        counts[s, 3] += n_res


def softmax_legacy_batch(x, x_frac, table, exp_table, inv_table, result, out, counts) -> None:
    """``nnet::softmax_legacy``: sums of ``exp_table[x_j - x_i]`` in ``table_t``, then ``inv_table``.

    ``table`` is ``table_t.spec`` (the type of both tables and of the running sums).
    """
    run_blocks(_softmax_legacy_batch_blocks, n_blocks(x.shape[0]), x, x_frac, table, exp_table, inv_table, result,
               out, counts)


@njit(cache=True, nogil=True)
def _softmax_argmax_batch_blocks(b0, b1, x, result, out, counts):
    # the blocks b0 .. b1 - 1 of softmax_argmax_batch
    one, o_one = requantize(np.int64(1), 0, result)
    for s in range(b0 * BLOCK, min(b1 * BLOCK, x.shape[0])):
        best = 0
        for k in range(1, x.shape[1]):
            if x[s, k] > x[s, best]:
                best = k
        for k in range(x.shape[1]):
            out[s, k] = 0
        out[s, best] = one
        counts[s, 0] += o_one



def softmax_argmax_batch(x, result, out, counts) -> None:
    """``nnet::softmax_argmax``: ``res_t(1)`` at the first strict maximum, ``0`` elsewhere."""
    run_blocks(_softmax_argmax_batch_blocks, n_blocks(x.shape[0]), x, result, out, counts)
