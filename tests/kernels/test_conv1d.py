"""Hand-worked checks of the Conv1D, pooling and zero-padding kernels and runners
(``nnet_conv1d_latency.h``, ``nnet_conv1d_resource.h``, ``nnet_pooling.h``, ``nnet_padding.h``)."""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.fixed import FixedType
from fxsim.ir import Conv1DSpec, DenseSpec, Pooling1DSpec, ZeroPadding1DSpec
from fxsim.kernels.conv1d import im2col_rows
from fxsim.runners import make_runner

pytestmark = pytest.mark.core


def test_im2col_pads_with_zeros_and_strides():
    x = np.arange(1, 2 * 5 * 2 + 1, dtype=np.int64).reshape(2, 5, 2)
    rows = im2col_rows(x, 3, 2, 1, 3)  # kernel 3, stride 2, pad_left 1: windows at -1, 1, 3
    assert rows.shape == (6, 6)
    assert rows[0].tolist() == [0, 0, 1, 2, 3, 4]
    assert rows[1].tolist() == [3, 4, 5, 6, 7, 8]
    assert rows[2].tolist() == [7, 8, 9, 10, 0, 0]
    assert rows[3].tolist() == [0, 0, 11, 12, 13, 14]


def _conv(strategy="latency", rf=1, accum="ap_fixed<8,3,AP_TRN,AP_SAT>", seed=0, k=3, c=2, f=3, width=7,
          stride=1, pad=(1, 1)):
    rng = np.random.default_rng(seed)
    t = FixedType.parse("ap_fixed<8,3>")
    return Conv1DSpec("c", t, rng.integers(-128, 128, (k, c, f)), rng.integers(-128, 128, f), t, t,
                      FixedType.parse(accum), FixedType.parse("ap_fixed<10,4,AP_RND,AP_SAT>"), width,
                      stride, pad[0], pad[1], strategy, rf)


def _reference_conv(spec: Conv1DSpec, x: np.ndarray, order) -> np.ndarray:
    """Pixel by pixel through the Dense runner (same arithmetic, one row per pixel)."""
    rows = im2col_rows(x, spec.filt_width, spec.stride, spec.pad_left, spec.out_width)
    dense = DenseSpec("d", spec.input_t, spec.weight.reshape(-1, spec.n_filt), spec.bias, spec.weight_t,
                      spec.bias_t, spec.accum_t, spec.result_t, *order)
    out, _, _ = make_runner(dense)(rows, False)
    return out.reshape(x.shape[0], spec.out_width, spec.n_filt)


@pytest.mark.parametrize("strategy,rf", [("latency", 1), ("resource", 1), ("resource", 3), ("resource", 6)])
def test_conv_is_dense_over_pixels(strategy, rf):
    spec = _conv(strategy, rf)
    x = np.random.default_rng(1).integers(-128, 128, (50, 7, 2))
    out, counts, _ = make_runner(spec)(x, False)
    assert out.shape == (50, 7, 3)
    assert np.array_equal(out, _reference_conv(spec, x, (strategy, rf)))
    assert counts["product"][1] == 50 * 7 * 6 * 3  # padded cells count as (zero) products, as in the C++


def test_saturating_resource_order_differs_from_latency():
    # the orders only matter with a saturating accum_t; with large inputs they give different codes
    x = np.random.default_rng(2).integers(-128, 128, (400, 7, 2))
    lat, _, _ = make_runner(_conv("latency", 1, "ap_fixed<7,2,AP_TRN,AP_SAT>"))(x, False)
    res, _, _ = make_runner(_conv("resource", 3, "ap_fixed<7,2,AP_TRN,AP_SAT>"))(x, False)
    assert not np.array_equal(lat, res)


def test_resource_rf_above_window_is_refused():
    with pytest.raises(ValueError, match="RF <= FILT_WIDTH"):
        make_runner(_conv("resource", 9))


def _pool(op, width=3, stride=2, pad=(1, 1), accum="ap_fixed<8,3,AP_TRN,AP_SAT>", input_t="ap_fixed<8,3>",
          n_in=6, count_pad=False, is_global=False):
    return Pooling1DSpec("p", op, FixedType.parse(input_t), FixedType.parse(accum),
                         FixedType.parse("ap_fixed<8,3>"), n_in, 1, width, stride, pad[0], pad[1], count_pad, is_global)


def test_average_pool_sums_in_accum_and_divides_toward_zero():
    # codes at frac 5; windows [pad, 0, 1], [1, 2, 3], [3, 4, 5]
    x = np.array([[-7, -2, 3, 100, 100, 100]], dtype=np.int64).reshape(1, 6, 1)
    out, counts, _ = make_runner(_pool("average"))(x, False)
    # window 0: (-7 - 2) / 2 = -4.5 -> -4 (toward zero); window 1: -2 + 3 + 100 = 101 -> /3 = 33;
    # window 2: 100 + 100 = 200 saturates at 127 in accum_t, + 100 -> 127: 127 / 3 = 42
    assert out.ravel().tolist() == [-4, 33, 42]
    assert counts["accumulator"] == (2, 8)


def test_max_pool_pad_value_is_top_bit():
    x = np.array([[-7, -9, -3, -1, -100, -50]], dtype=np.int64).reshape(1, 6, 1)
    out, _, _ = make_runner(_pool("max"))(x, False)
    assert out.ravel().tolist() == [-7, -1, -1]  # the signed pad (-128) never wins
    # unsigned input: the pad code 2**(W-1) = 128 is a large positive value, and wins
    xu = np.array([[7, 9, 3, 1, 100, 50]], dtype=np.int64).reshape(1, 6, 1)
    spec = _pool("max", input_t="ap_ufixed<8,3>", accum="ap_ufixed<8,3>")
    out, _, _ = make_runner(spec)(xu, False)
    # window 0 = max(pad 128, 7, 9) = 128 (4.0), which wraps to -128 in the signed result fixed<8,3>
    assert out.ravel().tolist() == [-128, 9, 100]


def test_global_pool_and_zero_padding():
    x = np.array([[[1, -2], [3, -4], [6, 5]]], dtype=np.int64)  # (1, 3, 2)
    t = FixedType.parse("ap_fixed<8,3>")
    gmax = Pooling1DSpec("g", "max", t, t, t, 3, 2, 3, 3, is_global=True)
    out, _, _ = make_runner(gmax)(x, False)
    assert out.tolist() == [[6, 5]]
    gavg = Pooling1DSpec("g", "average", t, t, t, 3, 2, 3, 3, is_global=True)
    out, _, _ = make_runner(gavg)(x, False)
    assert out.tolist() == [[3, 0]]  # 10 / 3 -> 3, -1 / 3 -> 0
    zp = ZeroPadding1DSpec("z", t, FixedType.parse("ap_fixed<4,1,AP_TRN,AP_SAT>"), 1, 2)
    out, counts, _ = make_runner(zp)(x, False)
    assert out.shape == (1, 6, 2) and out[0, 0].tolist() == [0, 0] and out[0, 4:].ravel().tolist() == [0] * 4
    # <8,3> codes to <4,1,TRN>: two fractional bits dropped (floor)
    assert out[0, 1:4].tolist() == [[0, -1], [0, -1], [1, 1]] and counts["result"] == (0, 6)
