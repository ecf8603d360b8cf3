"""``nnet::conv_1d_cl`` (io_parallel, channels last) on raw codes: ``nnet::dense`` over im2col rows.

hls4ml 1.3.0 fills, per output pixel, a buffer of ``filt_width * n_chan`` inputs with
the code that ``FPGABackend.generate_conv1d_line_buffer_fn`` generates (``buffer[j] =
data[col * n_chan + c]`` with ``col = pixel * stride + k - pad_left``, ``j = k * n_chan +
c``, and ``0`` outside the input), and runs on it the arithmetic of ``nnet::dense``:
``conv_1d_latency_cl`` casts every product to ``accum_t``, starts from
``accum_t(bias)`` and adds the products in ascending input index;
``conv_1d_resource_cl`` does the same in ``dense_resource_rf_leq_nin``'s order;
``pointwise_conv_1d_latency_cl`` (``filt_width == 1``) in ascending channel. So a
convolution is ``nnet::dense`` over the im2col rows: the padded zeros give products of 0,
which never overflow. :func:`conv1d_batch` runs it without building the im2col matrix
(each pixel's row is a view of the block's padded input); :func:`im2col_rows` builds the
matrix, the reference the tests run through the Dense kernel.
"""

from __future__ import annotations

import functools

import numba as nb
import numpy as np

from fxsim._jit_cache import njit
from fxsim._threads import run_blocks
from fxsim.fixed import requantize_row
from fxsim.kernels.blocks import BLOCK, n_blocks
from fxsim.kernels.dense import (DENSE, NOT_PREPARED, dense_accumulate, dense_accumulate_prepared, dense_scratch,
                                 prepared_weight)
from fxsim.kernels.dense_plan import accumulation_plan, runs_prepared


@njit(cache=True, parallel=True)
def im2col(x, filt_width, stride, pad_left, out_width, out):
    """``out[s * out_width + o, k * C + c] = x[s, o * stride + k - pad_left, c]`` (0 outside ``x``).

    Parameters
    ----------
    x : int64 ``[n, in_width, C]`` input codes.
    filt_width, stride, pad_left, out_width : the convolution's geometry.
    out : int64 ``[n * out_width, filt_width * C]``, filled.
    """
    n, w, c_n = x.shape
    for s in nb.prange(n):
        for o in range(out_width):
            r = s * out_width + o
            for k in range(filt_width):
                col = o * stride + k - pad_left
                inside = 0 <= col < w
                for c in range(c_n):
                    out[r, k * c_n + c] = x[s, col, c] if inside else np.int64(0)


def im2col_rows(x: np.ndarray, filt_width: int, stride: int, pad_left: int, out_width: int) -> np.ndarray:
    """The im2col matrix ``[n * out_width, filt_width * C]`` of the codes ``x[n, in_width, C]``."""
    x = np.ascontiguousarray(x, dtype=np.int64)
    out = np.empty((x.shape[0] * out_width, filt_width * x.shape[2]), dtype=np.int64)
    im2col(x, int(filt_width), int(stride), int(pad_left), int(out_width), out)
    return out


#: Samples per tile of :func:`transpose_in` / :func:`transpose_out`: one cache line of int64 codes.
TILE = 8


@njit(cache=True, inline="always")
def transpose_in(x, s0, out):
    """``out[k, b] = x[s0 + b, k]``: a block of samples, samples innermost, a tile of
    :data:`TILE` samples at a time.

    Column by column (``load_block``'s order) every write goes to another cache line,
    which for rows of more than a few hundred codes costs 5-10 ns a code; across a tile
    each write fills one line and each line read serves ``TILE`` codes.
    """
    n_k, n_b = out.shape
    for t0 in range(0, n_b, TILE):
        t1 = min(t0 + TILE, n_b)
        for k in range(n_k):
            for b in range(t0, t1):
                out[k, b] = x[s0 + b, k]


@njit(cache=True, inline="always")
def transpose_out(src, dst, s0):
    """``dst[s0 + b, k] = src[k, b]``: a block's values (samples innermost) back per sample, by tiles."""
    n_k, n_b = src.shape
    for t0 in range(0, n_b, TILE):
        t1 = min(t0 + TILE, n_b)
        for k in range(n_k):
            for b in range(t0, t1):
                dst[s0 + b, k] = src[k, b]


@functools.cache
def conv_kernel(plan: int):
    """The ``nnet::conv_1d_cl`` kernel of one accumulation plan over a range of blocks of samples.

    Samples innermost, as every batched kernel (:mod:`fxsim.kernels.blocks`): a block's
    input is turned once into ``[pad_left + in_width + pad_right) * C, n_b]`` codes, zero
    rows for the padding, in which the im2col row of output pixel ``o`` is the contiguous
    slab of rows ``o * stride * C ... (o * stride + filt_width) * C`` -- a view, nothing
    copied (no im2col matrix in memory). Each pixel is one
    :func:`~fxsim.kernels.dense.dense_accumulate_prepared` over the block (for a
    :func:`~fxsim.kernels.dense_plan.runs_prepared` plan: the loops a Dense or recurrent
    layer of that plan compiles too; else :func:`~fxsim.kernels.dense.dense_accumulate`)
    and a cast to ``result_t``; the block's ``[out_width * n_filt, n_b]`` results go back per sample at
    the end. One kernel per plan, as :func:`~fxsim.kernels.dense.dense_kernel`; it
    releases the GIL for :func:`~fxsim._threads.run_blocks`.
    """
    prepared = runs_prepared(plan)  # a constant of the kernel: numba removes the other call before compiling

    @njit(cache=True, nogil=True)
    def conv_plan_batch(b0, b1, x, filt_width, stride, pad_left, x_frac, weight, w_frac, bias_acc, order, accum,
                        result, out, counts, wp):
        n, w, c_n = x.shape
        out_width, n_out = out.shape[1], out.shape[2]
        n_in = weight.shape[0]
        top = pad_left * c_n
        n_rows = max(pad_left + w, (out_width - 1) * stride + filt_width) * c_n
        xf = x.reshape(n, w * c_n)
        of = out.reshape(n, out_width * n_out)
        n_b = min(BLOCK, n - b0 * BLOCK)
        xp = np.zeros((n_rows, n_b), dtype=np.int64)  # the padding rows stay 0
        acc = np.empty((n_out, n_b), dtype=np.int64)
        res = np.empty((out_width * n_out, n_b), dtype=np.int64)
        scratch = dense_scratch(n_in, n_out, n_b)
        for blk in range(b0, b1):
            s0 = blk * BLOCK
            if min(BLOCK, n - s0) != n_b:  # the batch's last, shorter block
                n_b = n - s0
                xp = np.zeros((n_rows, n_b), dtype=np.int64)
                acc = np.empty((n_out, n_b), dtype=np.int64)
                res = np.empty((out_width * n_out, n_b), dtype=np.int64)
                scratch = dense_scratch(n_in, n_out, n_b)
            transpose_in(xf, s0, xp[top:top + w * c_n])
            for o in range(out_width):
                r0 = o * stride * c_n
                if prepared:
                    dense_accumulate_prepared(xp[r0:r0 + n_in], x_frac, weight, w_frac, bias_acc, order, accum, acc,
                                              counts[blk], plan, wp, scratch)
                else:
                    dense_accumulate(xp[r0:r0 + n_in], x_frac, weight, w_frac, bias_acc, order, accum, acc,
                                     counts[blk], plan)
                for j in range(n_out):
                    counts[blk, DENSE.result] += requantize_row(acc[j], accum[1], result, res[o * n_out + j])
            transpose_out(res, of, s0)

    return conv_plan_batch


def conv1d_batch(x, filt_width, stride, pad_left, x_frac, weight, w_frac, bias_acc, order, accum, result, out, counts,
                 count) -> None:
    """``nnet::conv_1d_cl`` for a batch: ``out[n, out_width, n_filt] = result_t(dense(im2col(x)))``.

    Parameters
    ----------
    x : int64 ``[n, in_width, C]`` input codes (``x_frac`` fractional bits), C-contiguous.
    filt_width, stride, pad_left : the convolution's geometry (``out``'s shape gives the output width).
    weight : int64 ``[filt_width * C, n_filt]`` weight codes (``w_frac`` fractional bits).
    bias_acc, order, accum : as :func:`~fxsim.kernels.dense.dense_accumulate`.
    result : ``result_t.spec``.
    out : int64 ``[n, out_width, n_filt]``, C-contiguous, filled.
    counts : int64 ``[n_blocks(n), 3]``, ``+=`` per block of ``BLOCK`` samples the overflow
        counts named in ``DENSE_COUNTERS`` (product and accumulator only when ``count``).
    count : count the products' and partial sums' overflows.
    """
    plan = accumulation_plan(x_frac, w_frac, accum, order.shape[0] == 0, count)
    run_blocks(conv_kernel(plan), n_blocks(x.shape[0]), x, int(filt_width), int(stride), int(pad_left), x_frac,
               weight, w_frac, bias_acc, order, accum, result, out, counts,
               prepared_weight(weight) if runs_prepared(plan) else NOT_PREPARED)
