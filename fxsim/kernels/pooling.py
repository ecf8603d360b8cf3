"""``nnet::pooling1d_cl``, ``global_pooling1d_cl`` and ``zeropad1d_cl`` (``nnet_pooling.h``,
``nnet_padding.h``; io_parallel, channels last) on raw codes.

Max pooling: ``T y = x[0]; y = x[i] > y ? x[i] : y`` over the window in ``data_T``,
returned as ``accum_t`` (``pool_op``'s return type), then assigned to ``res_T``. A
padded cell holds ``pad_val<T, Max>()``: ``T x = 0; x[W-1] = 1``, the code with only
the top bit set (the most negative value of a signed type, but ``2**(W-1)`` -- a large
positive value -- of an unsigned one).

Average pooling: ``accum_t y = 0; y += x[i]`` over the window (every sum cast to
``accum_t``; padded cells add 0), then ``y /= length``: ``ap_fixed / unsigned``
divides the code by ``length`` truncating toward zero (``sdiv``; ``udiv`` when
``accum_t`` is unsigned) and keeps ``accum_t``'s format, so it cannot overflow;
``length`` is the window's pixels inside the input (the whole window with
``count_pad``). The result is assigned to ``res_T``.
"""

from __future__ import annotations

import numpy as np

from fxsim._jit_cache import njit
from fxsim._threads import run_blocks
from fxsim.fixed import requantize
from fxsim.kernels.blocks import BLOCK, n_blocks

#: Columns of the per-sample counters of :func:`pool1d_batch`.
POOL_COUNTERS = ("accumulator", "result")


@njit(cache=True, nogil=True)
def _pool1d_batch_blocks(b0, b1, x, x_frac, is_max, pad_code, pool_width, stride, pad_left, n_out, count_pad,
                         accum, result, out, counts):
    # the blocks b0 .. b1 - 1 of pool1d_batch
    n, n_in, c_n = x.shape
    af = accum[1]
    f = af if af > x_frac else x_frac
    for s in range(b0 * BLOCK, min(b1 * BLOCK, n)):
        n_acc = 0
        n_res = 0
        for o in range(n_out):
            start = o * stride - pad_left
            for c in range(c_n):
                if is_max:
                    first = True
                    y = np.int64(0)
                    for j in range(pool_width):
                        col = start + j
                        v = x[s, col, c] if 0 <= col < n_in else pad_code
                        if first or v > y:
                            y = v
                            first = False
                    a, o1 = requantize(y, x_frac, accum)
                    n_acc += o1
                else:
                    a = np.int64(0)
                    inside = 0
                    for j in range(pool_width):
                        col = start + j
                        if 0 <= col < n_in:
                            v = (a << (f - af)) + (x[s, col, c] << (f - x_frac))
                            a, o1 = requantize(v, f, accum)
                            n_acc += o1
                            inside += 1
                    length = pool_width if count_pad else inside
                    # C division of the code: truncation toward zero
                    q = abs(a) // length
                    a = -q if a < 0 else q
                r, o2 = requantize(a, af, result)
                out[s, o, c] = r
                n_res += o2
        counts[s, 0] += n_acc
        counts[s, 1] += n_res


def pool1d_batch(x, x_frac, is_max, pad_code, pool_width, stride, pad_left, n_out, count_pad,
                 accum, result, out, counts) -> None:
    """One pooling layer for a batch.

    Parameters
    ----------
    x : int64 ``[n, n_in, C]`` input codes (``x_frac`` fractional bits).
    is_max : max pooling (else average).
    pad_code : the code of a padded cell for max pooling (``pad_val``).
    pool_width, stride, pad_left, n_out : the window geometry; window ``o`` covers the
        padded pixels ``o * stride ... o * stride + pool_width - 1``.
    count_pad : divide by ``pool_width`` instead of the pixels inside the input.
    accum, result : ``FixedType.spec`` tuples of ``accum_t`` and ``res_T``.
    out : int64 ``[n, n_out, C]``, filled.
    counts : int64 ``[n, 2]``, ``+=`` the overflows named in :data:`POOL_COUNTERS` (the
        casts to ``accum_t``: every sum of an average, the max's return value).
    """
    run_blocks(_pool1d_batch_blocks, n_blocks(x.shape[0]), x, x_frac, is_max, pad_code, pool_width, stride, pad_left,
               n_out, count_pad, accum, result, out, counts)


@njit(cache=True, nogil=True)
def _zeropad1d_batch_blocks(b0, b1, x, x_frac, pad_left, result, out, counts):
    # the blocks b0 .. b1 - 1 of zeropad1d_batch
    n, n_in, c_n = x.shape
    for s in range(b0 * BLOCK, min(b1 * BLOCK, n)):
        n_res = 0
        for i in range(out.shape[1]):
            for c in range(c_n):
                out[s, i, c] = 0
        for i in range(n_in):
            for c in range(c_n):
                r, o = requantize(x[s, i, c], x_frac, result)
                out[s, pad_left + i, c] = r
                n_res += o
        counts[s, 0] += n_res


def zeropad1d_batch(x, x_frac, pad_left, result, out, counts) -> None:
    """``nnet::zeropad1d_cl``: ``out[s, pad_left + i, c] = res_T(x[s, i, c])``, zeros around.

    ``out`` is ``[n, pad_left + n_in + pad_right, C]``; ``counts[n, 1]`` ``+=`` the
    result overflows.
    """
    run_blocks(_zeropad1d_batch_blocks, n_blocks(x.shape[0]), x, x_frac, pad_left, result, out, counts)
