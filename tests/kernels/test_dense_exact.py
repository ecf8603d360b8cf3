"""The exact float64 path of Dense (:mod:`fxsim.kernels.dense_exact`) against the block loops it replaces."""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.fixed import FixedType
from fxsim.ir import DenseSpec
from fxsim.kernels.blocks import n_blocks
from fxsim.kernels.dense import bias_to_accum, dense_batch
from fxsim.kernels.dense_exact import FLOAT64_EXACT, dense_exact_batch, exact_weights, largest_sum
from fxsim.kernels.dense_order import LATENCY_ORDER
from fxsim.runners import DenseRunner

pytestmark = pytest.mark.core


def _codes(rng, t: FixedType, shape) -> np.ndarray:
    lo, hi = t.min_code, t.max_code
    x = rng.integers(lo, hi + 1, shape, dtype=np.int64)
    x.flat[: min(4, x.size)] = [lo, hi, lo, hi][: min(4, x.size)]  # the extremes the bound is made of
    return x


def _block_path(x, input_t, w, weight_t, bias_acc, accum_t, result_t):
    out = np.zeros((x.shape[0], w.shape[1]), dtype=np.int64)
    counts = np.zeros((n_blocks(x.shape[0]), 3), dtype=np.int64)
    dense_batch(x, input_t.frac, w, weight_t.frac, bias_acc, LATENCY_ORDER, accum_t.spec, result_t.spec, out,
                counts, True)
    return out, counts.sum(axis=0)


CASES = [
    # input, weight, accum (hls4ml's automatic ones and narrower), result, n_in, n_out
    ("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<38,18>", "ap_fixed<38,18>", 20, 64),  # GRU(20)'s dense_1
    ("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<39,19>", "ap_fixed<16,6>", 64, 1),  # its output, cast down
    ("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<37,17>", "ap_fixed<12,4,AP_RND_CONV,AP_SAT>", 10, 3),
    ("ap_fixed<8,4>", "ap_fixed<8,4>", "ap_fixed<23,15>", "ap_fixed<8,4,AP_RND,AP_SAT>", 64, 5),
    ("ap_ufixed<10,4>", "ap_fixed<9,3>", "ap_fixed<40,20>", "ap_fixed<16,6,AP_TRN,AP_SAT>", 7, 2),
    # accum_t with more fractional bits than the products
    ("ap_fixed<12,4>", "ap_fixed<10,2>", "ap_fixed<45,18>", "ap_fixed<45,18>", 3, 16),
]


@pytest.mark.parametrize("types", CASES, ids=[f"{c[0]}x{c[1]}->{c[2]}->{c[3]}_{c[4]}x{c[5]}"
                                              for c in CASES])
def test_same_codes_and_counts_as_the_block_loops(types):
    rng = np.random.default_rng(7)
    input_t, weight_t, accum_t, result_t = (FixedType.parse(t) for t in types[:4])
    n_in, n_out = types[4:]
    w = _codes(rng, weight_t, (n_in, n_out))
    bias_acc = rng.integers(-(1 << 20), 1 << 20, n_out, dtype=np.int64) << max(0, accum_t.frac - 20)
    exact = exact_weights(input_t, weight_t, accum_t, w, bias_acc)
    assert exact is not None
    n = 1000  # several blocks, the last a short one
    x = _codes(rng, input_t, (n, n_in))
    want, want_counts = _block_path(x, input_t, w, weight_t, bias_acc, accum_t, result_t)
    out = np.zeros(n * n_out, dtype=np.int64)
    counts = np.zeros((n_blocks(n), 3), dtype=np.int64)
    dense_exact_batch(0, n_blocks(n), x, *exact, accum_t.frac, result_t.spec, out, counts)
    np.testing.assert_array_equal(out.reshape(n, n_out), want)
    np.testing.assert_array_equal(counts.sum(axis=0), want_counts)
    assert want_counts[0] == want_counts[1] == 0  # no product or partial sum can overflow here


def test_largest_sum_is_the_worst_case():
    t = FixedType.parse("ap_fixed<4,4>")  # codes -8 .. 7
    w = np.array([[1, -2], [3, 0]], dtype=np.int64)
    assert largest_sum(t, w, np.array([5, -1]), 0) == max(5 + 8 * 4, 1 + 8 * 2)
    assert largest_sum(t, w, np.array([0, 0]), 2) == 8 * 4 * 4
    assert largest_sum(FixedType.parse("ap_ufixed<4,4>"), w, np.array([0, 0]), 0) == 15 * 4


def test_refused_where_a_cast_could_change_a_value():
    x16 = FixedType.parse("ap_fixed<16,6>")
    w = np.full((20, 4), (1 << 15) - 1, dtype=np.int64)
    b = np.zeros(4, dtype=np.int64)
    assert exact_weights(x16, x16, FixedType.parse("ap_fixed<38,18>"), w, b) is not None
    # products drop bits (accum_t has fewer fractional bits than x * w)
    assert exact_weights(x16, x16, FixedType.parse("ap_fixed<38,19>"), w, b) is None
    # a partial sum can leave accum_t: 20 * 2**15 * (2**15 - 1) ~ 2.1e10 needs 35 bits plus the sign
    assert exact_weights(x16, x16, FixedType.parse("ap_fixed<35,15>"), w, b) is None
    assert exact_weights(x16, x16, FixedType.parse("ap_fixed<36,16>"), w, b) is not None
    # an unsigned accum_t would wrap negative sums
    assert exact_weights(x16, x16, FixedType.parse("ap_ufixed<38,18>"), w, b) is None


def test_refused_where_float64_is_not_exact():
    x = FixedType.parse("ap_fixed<30,10>")
    w = np.full((64, 2), (1 << 29) - 1, dtype=np.int64)
    b = np.zeros(2, dtype=np.int64)
    accum = FixedType.parse("ap_fixed<62,22>")  # holds every sum, but they reach 2**64-ish > 2**53
    assert largest_sum(x, w, b, 0) >= FLOAT64_EXACT
    assert exact_weights(x, x, accum, w, b) is None


def test_the_block_loops_keep_the_shapes_where_they_are_faster():
    x16 = FixedType.parse("ap_fixed<16,6>")
    b = np.zeros(64, dtype=np.int64)
    wide = FixedType.parse("ap_fixed<40,20>")
    assert exact_weights(x16, x16, wide, np.ones((20, 64), dtype=np.int64), b) is not None
    assert exact_weights(x16, x16, wide, np.ones((120, 64), dtype=np.int64), b) is None  # many inputs
    narrow = FixedType.parse("ap_fixed<22,14>")  # hls4ml's for 8-bit types: the block loops' int32 lanes
    assert exact_weights(FixedType.parse("ap_fixed<8,4>"), FixedType.parse("ap_fixed<8,4>"), narrow,
                         np.ones((20, 64), dtype=np.int64), b) is None
    # the Resource strategy's ordered loops cast every product: the exact sums are taken there
    assert exact_weights(FixedType.parse("ap_fixed<8,4>"), FixedType.parse("ap_fixed<8,4>"), narrow,
                         np.ones((20, 64), dtype=np.int64), b, latency=False) is not None
    assert exact_weights(x16, x16, wide, np.ones((120, 3), dtype=np.int64), b[:3]) is not None  # few outputs


def test_runner_takes_the_exact_path_and_reports_the_same_overflows():
    rng = np.random.default_rng(3)
    t16 = FixedType.parse("ap_fixed<16,6>")
    accum, result = FixedType.parse("ap_fixed<39,19>"), FixedType.parse("ap_fixed<10,2,AP_TRN,AP_SAT>")
    w = _codes(rng, t16, (64, 1))
    bias = rng.integers(-1000, 1000, 1, dtype=np.int64)
    spec = DenseSpec("d", t16, w, bias, t16, t16, accum, result)
    runner = DenseRunner(spec)
    assert runner.exact is not None
    x = _codes(rng, t16, (700, 64))
    out, counts, _ = runner(x, False, True)
    bias_acc, _ = bias_to_accum(bias, t16, accum)
    want, want_counts = _block_path(x, t16, w, t16, bias_acc, accum, result)
    np.testing.assert_array_equal(out, want)
    assert counts["result"] == (want_counts[2], 700)
    assert counts["result"][0] > 0  # the saturating result_t does clip some: the count is exercised
    assert counts["product"][0] == counts["accumulator"][0] == 0
