"""The Conv1D kernel (blocks of samples, windows read from the padded input) against the
im2col matrix run through the Dense runner, over several blocks and every geometry."""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.fixed import FixedType
from fxsim.ir import Conv1DSpec, DenseSpec
from fxsim.kernels.blocks import BLOCK
from fxsim.kernels.conv1d import im2col_rows
from fxsim.runners import make_runner

pytestmark = pytest.mark.core


def _spec(k, c, f, width, stride, pad, strategy, rf, accum, seed=0):
    rng = np.random.default_rng(seed)
    t = FixedType.parse("ap_fixed<8,3>")
    return Conv1DSpec("c", t, rng.integers(-128, 128, (k, c, f)), rng.integers(-128, 128, f), t, t,
                      FixedType.parse(accum), FixedType.parse("ap_fixed<10,4,AP_RND,AP_SAT>"), width,
                      stride, pad[0], pad[1], strategy, rf)


def _reference(spec, x, want_counts):
    rows = im2col_rows(x, spec.filt_width, spec.stride, spec.pad_left, spec.out_width)
    dense = DenseSpec("d", spec.input_t, spec.weight.reshape(-1, spec.n_filt), spec.bias, spec.weight_t,
                      spec.bias_t, spec.accum_t, spec.result_t, spec.strategy, spec.reuse_factor)
    out, counts, _ = make_runner(dense)(rows, False, want_counts)
    return out.reshape(x.shape[0], spec.out_width, spec.n_filt), counts


@pytest.mark.parametrize("k,c,f,width,stride,pad,strategy,rf,accum", [
    (3, 2, 5, 11, 1, (1, 1), "latency", 1, "ap_fixed<8,3,AP_TRN,AP_SAT>"),  # saturating: the counted loops
    (4, 3, 6, 13, 2, (2, 1), "latency", 1, "ap_fixed<12,4,AP_RND,AP_WRAP>"),  # stride, uneven padding
    (5, 2, 3, 9, 3, (0, 4), "resource", 5, "ap_fixed<9,3,AP_TRN,AP_SAT>"),  # Resource order, stride > 1
    (1, 8, 1, 7, 1, (0, 0), "latency", 1, "ap_fixed<20,9>"),  # pointwise, one filter
    (2, 3, 4, 6, 5, (0, 0), "latency", 1, "ap_fixed<18,8,AP_TRN,AP_WRAP>"),  # stride skips input pixels
])
@pytest.mark.parametrize("want_counts", [False, True])
def test_conv_kernel_equals_im2col_dense(k, c, f, width, stride, pad, strategy, rf, accum, want_counts):
    spec = _spec(k, c, f, width, stride, pad, strategy, rf, accum)
    n = 2 * BLOCK + 37  # two whole blocks and a shorter last one
    x = np.random.default_rng(1).integers(-128, 128, (n, width, c))
    out, counts, _ = make_runner(spec)(x, False, want_counts)
    ref, ref_counts = _reference(spec, x, want_counts)
    assert np.array_equal(out, ref)
    for q in ("bias", "product", "accumulator", "result"):
        assert counts[q] == ref_counts[q], q
    if want_counts and "SAT" in accum:
        assert counts["accumulator"][0] > 0  # the data overflow: the counting loops ran
