"""``nnet::dense`` where no cast can change a value: the exact sums, in float64, sample by sample.

Every cast of ``nnet::dense`` before the last (:mod:`fxsim.kernels.dense`) is the identity
when the products drop no bits (``accum_t`` has at least the product's fractional bits)
and no partial sum can leave ``accum_t``: then ``acc[j]`` is the exact integer
``bias[j] + sum_i x[i] * w[i, j]`` whatever the overflow and rounding modes and the order
of the additions, and no product or partial sum overflows. hls4ml's automatic ``accum_t``
of a Dense (``ap_fixed<38,18>`` for 16-bit inputs and weights over 20 inputs) is made to
be such a type. Where also every such sum is below ``2**53``, float64 holds each product and
partial sum exactly, so a fused multiply-add loop over the samples as they are stored
(``[n, n_in]``, no transposes into blocks) computes them; the single cast to ``result_t``
then goes through :func:`~fxsim.fixed.requantize_row` as everywhere else.

:func:`exact_weights` decides it from the layer's static types and weights, once per layer;
:func:`dense_exact_batch` is the kernel.
"""

from __future__ import annotations

import numpy as np

from fxsim._jit_cache import njit
from fxsim.fixed import FixedType, requantize_row
from fxsim.kernels.blocks import BLOCK
from fxsim.kernels.dense import DENSE
from fxsim.kernels.dense_plan import accumulation_plan, fast_plan

#: Every integer of at most this magnitude is a float64.
FLOAT64_EXACT = 2**53

_RESULT = DENSE.result

#: Fewest outputs for the loop that runs along the outputs (vectorised over them); fewer
#: outputs take one dot product each (vectorised over the inputs).
_ALONG_OUTPUTS = 8
#: Most inputs for which the loop along the outputs beats the fast block loops of
#: :mod:`fxsim.kernels.dense_loops` (samples innermost), where those run in int64 lanes
#: (``accum_t`` wider than 32 bits; the general loops of the other plans, a cast per product, are
#: slower still): per 2,560 samples on one thread, 20 -> 64 took 674
#: against 841 us, 50 -> 10 693 against 459 us and 120 -> 50 2,825 against 1,731 us; against
#: their int32 lanes it lost at 20 -> 64 too (701 against 453 us). A dot product per output beat
#: them at every size measured (64 -> 1: 66 against 389 us in int64 lanes, 62 against 270 us in
#: int32 lanes; 10 -> 3: 85 against 120 us). Measured 2026-12-02 on the benchmark models' layers.
_MOST_INPUTS_ALONG_OUTPUTS = 32


def largest_sum(input_t: FixedType, weight: np.ndarray, bias_acc: np.ndarray, shift: int) -> int:
    """The largest ``|bias_acc[j]| + sum_i max|x| * |w[i, j]| * 2**shift`` over the outputs ``j``.

    A bound on every product and partial sum of ``nnet::dense`` in ``accum_t`` codes, for
    inputs of ``input_t`` (``max|x|``: its largest code magnitude) and products whose codes
    are shifted left by ``shift`` bits to ``accum_t``'s fractional bits. Python integers:
    exact at any size.
    """
    xmax = max(-input_t.min_code, input_t.max_code)
    per_output = [int(v) for v in np.abs(np.asarray(weight, dtype=np.int64)).astype(object).sum(axis=0)]
    bias = [abs(int(v)) for v in np.asarray(bias_acc, dtype=np.int64)]
    return max((b + xmax * (s << shift) for b, s in zip(bias, per_output)), default=0)


def exact_weights(input_t: FixedType, weight_t: FixedType, accum_t: FixedType, weight: np.ndarray,
                  bias_acc: np.ndarray, latency: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(wf [n_in, n_out], wf.T [n_out, n_in], bias_f [n_out])`` for :func:`dense_exact_batch`, or None.

    Not None only where every cast before ``result_t`` is the identity and float64 holds
    every sum: the products drop no bits (``input_t.frac + weight_t.frac <= accum_t.frac``),
    ``accum_t`` is signed and :func:`largest_sum` lies within its codes and below
    ``2**53``; and not where the layer's block loops (its plan,
    :func:`~fxsim.kernels.dense_plan.accumulation_plan`; ``latency``: the Latency
    strategy's order) measured faster. The weights are scaled to ``accum_t``'s fractional
    bits (a power of two: exact).
    """
    shift = accum_t.frac - input_t.frac - weight_t.frac
    if shift < 0 or not accum_t.signed:
        return None
    n_in, n_out = weight.shape
    plan = fast_plan(accumulation_plan(input_t.frac, weight_t.frac, accum_t.spec, latency, False))
    if n_out >= _ALONG_OUTPUTS and plan is not None and (n_in > _MOST_INPUTS_ALONG_OUTPUTS or plan.lanes32):
        return None  # the block loops are faster there
    bound = largest_sum(input_t, weight, bias_acc, shift)
    if bound > accum_t.max_code or bound >= FLOAT64_EXACT:
        return None
    wf = np.ascontiguousarray(np.asarray(weight, dtype=np.float64) * float(1 << shift))
    return wf, np.ascontiguousarray(wf.T), np.asarray(bias_acc, dtype=np.float64)


@njit(cache=True, fastmath={"contract", "reassoc"})
def _dot_products(x, s0, s1, wft, bias_f, codes):
    """``codes[(s - s0) * n_out + j] = bias_f[j] + x[s] . wft[j]`` for few outputs: one dot product
    each, vectorised over the inputs (``reassoc``: the terms are exact, any order gives the sum)."""
    n_out, n_in = wft.shape
    for s in range(s0, s1):
        o = (s - s0) * n_out
        for j in range(n_out):
            a = 0.0
            for i in range(n_in):
                a += np.float64(x[s, i]) * wft[j, i]
            codes[o + j] = np.int64(a + bias_f[j])


@njit(cache=True, fastmath={"contract"})
def _along_outputs(x, s0, s1, wf, bias_f, row, codes):
    """As :func:`_dot_products`, vectorised over the outputs: ``row += x[s, i] * wf[i]`` for each input
    (``row``: ``n_out`` float64 of scratch)."""
    n_in, n_out = wf.shape
    for s in range(s0, s1):
        for j in range(n_out):
            row[j] = bias_f[j]
        for i in range(n_in):
            xv = np.float64(x[s, i])
            for j in range(n_out):
                row[j] += xv * wf[i, j]
        o = (s - s0) * n_out
        for j in range(n_out):
            codes[o + j] = np.int64(row[j])


@njit(cache=True, nogil=True)
def dense_exact_batch(b0, b1, x, wf, wft, bias_f, accum_frac, result, out, counts):
    """``out = result_t(bias + x @ w)`` for the samples of blocks ``b0 .. b1 - 1`` (:func:`exact_weights`).

    ``x``: int64 ``[n, n_in]`` codes; ``out``: int64 ``[n * n_out]`` (the ``[n, n_out]``
    result, flat); ``counts[blk, 2]`` ``+=`` the block's results that overflowed
    ``result_t`` (no product or partial sum can). Every product and partial sum is an
    integer below ``2**53``, so float64 sums them exactly.
    """
    n = x.shape[0]
    n_out = wf.shape[1]
    row = np.empty(n_out, dtype=np.float64)
    codes = np.empty(BLOCK * n_out, dtype=np.int64)
    for blk in range(b0, b1):
        s0 = blk * BLOCK
        s1 = min(s0 + BLOCK, n)
        m = (s1 - s0) * n_out
        if n_out >= _ALONG_OUTPUTS:
            _along_outputs(x, s0, s1, wf, bias_f, row, codes)
        else:
            _dot_products(x, s0, s1, wft, bias_f, codes)
        counts[blk, _RESULT] += requantize_row(codes[:m], accum_frac, result, out[s0 * n_out:s0 * n_out + m])
