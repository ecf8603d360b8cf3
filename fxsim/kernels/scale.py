"""``nnet::normalize`` (hls4ml's ``ApplyAlpha``, and BatchNorm-style scaling) on raw codes."""

from __future__ import annotations

import numba as nb

from fxsim._jit_cache import njit
from fxsim.fixed import requantize


@njit(cache=True, parallel=True)
def scale_batch(x, x_frac, scale, scale_frac, bias, bias_frac, result, out, counts):
    """``nnet::normalize`` (hls4ml's ``ApplyAlpha``): ``out = result_t(x * scale + bias)`` per element.

    The product and the sum are exact (C++ expression types); one cast at the end.
    ``counts[n, 1]`` receives the result overflows per sample.
    """
    pf = x_frac + scale_frac
    f = pf if pf > bias_frac else bias_frac
    for s in nb.prange(x.shape[0]):
        n_over = 0
        for k in range(x.shape[1]):
            v = ((x[s, k] * scale[k]) << (f - pf)) + (bias[k] << (f - bias_frac))
            c, o = requantize(v, f, result)
            out[s, k] = c
            n_over += o
        counts[s, 0] += n_over
