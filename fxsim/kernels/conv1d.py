"""``nnet::conv_1d_cl`` (io_parallel, channels last) on raw codes: im2col rows, then ``nnet::dense``.

hls4ml 1.3.0 fills, per output pixel, a buffer of ``filt_width * n_chan`` inputs with
the code that ``FPGABackend.generate_conv1d_line_buffer_fn`` generates (``buffer[j] =
data[col * n_chan + c]`` with ``col = pixel * stride + k - pad_left``, ``j = k * n_chan +
c``, and ``0`` outside the input), and runs on it the arithmetic of ``nnet::dense``:
``conv_1d_latency_cl`` casts every product to ``accum_t``, starts from
``accum_t(bias)`` and adds the products in ascending input index;
``conv_1d_resource_cl`` does the same in ``dense_resource_rf_leq_nin``'s order;
``pointwise_conv_1d_latency_cl`` (``filt_width == 1``) in ascending channel. So a
convolution is :func:`fxsim.kernels.dense.dense_batch` over the im2col rows: the
padded zeros give products of 0, which never overflow.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from fxsim._jit_cache import njit


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
