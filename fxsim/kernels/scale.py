"""``nnet::normalize`` (hls4ml's ``ApplyAlpha``, and BatchNorm-style scaling) on raw codes."""

from __future__ import annotations

from fxsim._jit_cache import njit
from fxsim._threads import run_blocks
from fxsim.fixed import requantize
from fxsim.kernels.blocks import BLOCK, n_blocks


@njit(cache=True, nogil=True)
def _scale_batch_blocks(b0, b1, x, x_frac, scale, scale_frac, bias, bias_frac, result, out, counts):
    # the blocks b0 .. b1 - 1 of scale_batch
    pf = x_frac + scale_frac
    f = pf if pf > bias_frac else bias_frac
    for s in range(b0 * BLOCK, min(b1 * BLOCK, x.shape[0])):
        n_over = 0
        for k in range(x.shape[1]):
            v = ((x[s, k] * scale[k]) << (f - pf)) + (bias[k] << (f - bias_frac))
            c, o = requantize(v, f, result)
            out[s, k] = c
            n_over += o
        counts[s, 0] += n_over


def scale_batch(x, x_frac, scale, scale_frac, bias, bias_frac, result, out, counts) -> None:
    """``nnet::normalize`` (hls4ml's ``ApplyAlpha``): ``out = result_t(x * scale + bias)`` per element.

    The product and the sum are exact (C++ expression types); one cast at the end.
    ``counts[n, 1]`` receives the result overflows per sample.
    """
    run_blocks(_scale_batch_blocks, n_blocks(x.shape[0]), x, x_frac, scale, scale_frac, bias, bias_frac, result, out,
               counts)
