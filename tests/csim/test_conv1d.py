"""Conv1D front-ends against hls4ml's C simulation (io_parallel, Vivado): Keras Conv1D and
QKeras QConv1D, valid/same/causal padding, strides, fused relu, pointwise convolutions and
Dense on a ``(steps, features)`` input (hls4ml makes both PointwiseConv1D), Latency and
Resource (valid reuse factors) with every rounding and overflow mode on accum_t/result_t,
inputs large enough to overflow, and Conv1D front-ends of GRU and LSTM models.

Each case is one compiled, traced model whose every layer is compared code for code on
2000 samples (0 mismatches allowed).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from tests.csim.helpers import N_SAMPLES, base_config, check, grid_inputs, keras, set_types

pytestmark = [pytest.mark.csim, pytest.mark.keras2]


def _init(k, scale=0.5):
    return dict(kernel_initializer=k.initializers.RandomNormal(stddev=scale),
                bias_initializer=k.initializers.RandomNormal(stddev=0.5))


def case_latency_modes():
    """Conv1D valid + relu, same with stride 2, causal, pointwise, Dense on 2-D; narrow modes."""
    k = keras()
    k.utils.set_random_seed(11)
    inp = k.Input((17, 3), name="x")
    h = k.layers.Conv1D(6, 3, activation="relu", name="c0", **_init(k))(inp)
    h = k.layers.Conv1D(5, 4, strides=2, padding="same", name="c1", **_init(k))(h)
    h = k.layers.Conv1D(4, 3, padding="causal", name="c2", **_init(k))(h)
    h = k.layers.Conv1D(4, 1, name="pw", **_init(k))(h)
    h = k.layers.Dense(3, name="td", **_init(k))(h)
    m = k.Model(inp, h)
    cfg = base_config(m)
    set_types(cfg, "x", result="ap_fixed<10,4,AP_RND,AP_SAT>")
    set_types(cfg, "c0", weight="ap_fixed<6,2>", bias="ap_fixed<8,3>", accum="ap_fixed<12,5,AP_RND,AP_SAT>",
              result="ap_fixed<9,4,AP_RND_CONV,AP_SAT_SYM>")
    set_types(cfg, "c0_relu", result="ap_ufixed<8,4,AP_RND,AP_SAT>")
    set_types(cfg, "c1", weight="ap_fixed<5,1>", bias="ap_fixed<4,2>", accum="ap_fixed<10,4,AP_TRN_ZERO,AP_WRAP>",
              result="ap_fixed<8,3,AP_RND_ZERO,AP_SAT_ZERO>")
    set_types(cfg, "c2", weight="ap_fixed<7,2>", bias="ap_fixed<6,2>",
              accum="ap_fixed<9,3,AP_RND_INF,AP_SAT_SYM>", result="ap_fixed<8,3,AP_RND_MIN_INF,AP_WRAP>")
    set_types(cfg, "pw", weight="ap_fixed<6,2>", bias="ap_fixed<6,2>", accum="ap_fixed<8,3,AP_RND_CONV,AP_SAT>",
              result="ap_fixed<8,3,AP_RND_INF,AP_SAT>")
    set_types(cfg, "td", weight="ap_fixed<6,1>", bias="ap_fixed<6,2>", accum="ap_fixed<9,4,AP_RND_MIN_INF,AP_SAT>",
              result="ap_fixed<10,5,AP_TRN,AP_SAT_ZERO>")
    return m, cfg, 4.0


def case_default_and_pf():
    """Default (auto-inferred wide) types; ParallelizationFactor = out_width (BatchedDenseForConv1D)."""
    k = keras()
    k.utils.set_random_seed(12)
    inp = k.Input((10, 2), name="x")
    h = k.layers.Conv1D(4, 5, strides=3, padding="same", activation="relu", name="c0", **_init(k))(inp)
    h = k.layers.Conv1D(3, 1, name="pw", **_init(k))(h)
    h = k.layers.Flatten(name="flat")(h)
    h = k.layers.Dense(2, name="fc", **_init(k))(h)
    m = k.Model(inp, h)
    cfg = base_config(m)
    cfg["LayerName"]["pw"]["ParallelizationFactor"] = 4  # out_width 4: one partition
    cfg["LayerName"]["c0"]["ParallelizationFactor"] = 2
    return m, cfg, 3.0


def case_resource():
    """Resource with RF 1, 3 (rf_leq_nin) on Conv1D, RF 2 on a pointwise conv and a 2-D Dense; SAT accumulators."""
    k = keras()
    k.utils.set_random_seed(13)
    inp = k.Input((12, 3), name="x")
    h = k.layers.Conv1D(4, 3, padding="same", name="c0", **_init(k))(inp)
    h = k.layers.Conv1D(6, 2, strides=2, name="c1", **_init(k))(h)
    h = k.layers.Conv1D(4, 1, name="pw", **_init(k))(h)
    h = k.layers.Dense(4, name="td", **_init(k))(h)
    m = k.Model(inp, h)
    cfg = base_config(m)
    cfg["Model"]["Strategy"] = "Resource"
    for name, rf in (("c0", 3), ("c1", 8), ("pw", 2), ("td", 1)):
        cfg["LayerName"][name]["Strategy"] = "Resource"
        cfg["LayerName"][name]["ReuseFactor"] = rf
    set_types(cfg, "c0", weight="ap_fixed<8,2>", accum="ap_fixed<8,3,AP_TRN,AP_SAT>", result="ap_fixed<10,4>")
    set_types(cfg, "c1", weight="ap_fixed<8,2>", accum="ap_fixed<8,3,AP_RND,AP_SAT>", result="ap_fixed<8,3>")
    set_types(cfg, "pw", weight="ap_fixed<6,2>", accum="ap_fixed<7,2,AP_TRN,AP_SAT_SYM>", result="ap_fixed<7,2>")
    set_types(cfg, "td", weight="ap_fixed<6,2>", accum="ap_fixed<7,2,AP_RND_CONV,AP_SAT>", result="ap_fixed<8,3>")
    return m, cfg, 3.0


def case_conv_relu_gru():
    """Conv1D(relu) -> GRU (default ap_fixed<16,6>), the usual recurrent front-end."""
    k = keras()
    k.utils.set_random_seed(14)
    inp = k.Input((12, 4), name="x")
    h = k.layers.Conv1D(6, 3, padding="same", activation="relu", name="c0", **_init(k))(inp)
    h = k.layers.GRU(5, name="gru")(h)
    h = k.layers.Dense(2, name="fc")(h)
    m = k.Model(inp, h)
    return m, base_config(m), 2.0


def case_conv_lstm():
    """Conv1D -> MaxPooling1D -> LSTM at ap_fixed<24,8> (at <16,6> hls4ml 1.3.0 does not compile it)."""
    k = keras()
    k.utils.set_random_seed(15)
    inp = k.Input((14, 3), name="x")
    h = k.layers.Conv1D(4, 3, name="c0", **_init(k))(inp)
    h = k.layers.MaxPooling1D(2, name="mp")(h)
    h = k.layers.LSTM(4, return_sequences=True, name="lstm")(h)
    h = k.layers.Dense(2, name="fc")(h)
    m = k.Model(inp, h)
    cfg = base_config(m, "fixed<24,8>")
    for name in ("c0", "mp"):
        set_types(cfg, name, result="fixed<24,8>")
    set_types(cfg, "c0", accum="fixed<24,8>")
    return m, cfg, 2.0


def case_qconv1d():
    """QKeras QConv1D (quantized_bits kernel/bias) + QActivation(quantized_relu) -> QConv1D -> GRU."""
    from fxsim.compat import import_qkeras

    q = import_qkeras()
    k = keras()
    k.utils.set_random_seed(16)
    inp = k.Input((10, 3), name="x")
    h = q.QConv1D(5, 3, padding="same", kernel_quantizer=q.quantized_bits(6, 1, alpha=1),
                  bias_quantizer=q.quantized_bits(6, 2, alpha=1), name="qc0")(inp)
    h = q.QActivation(q.quantized_relu(8, 3), name="qrelu")(h)
    h = q.QConv1D(4, 2, strides=2, kernel_quantizer=q.quantized_bits(5, 0, alpha=1),
                  bias_quantizer=q.quantized_bits(6, 2, alpha=1), name="qc1")(h)
    h = k.layers.GRU(3, name="gru")(h)
    m = k.Model(inp, h)
    cfg = base_config(m)
    set_types(cfg, "qc0", accum="ap_fixed<14,6,AP_RND,AP_SAT>", result="ap_fixed<12,5>")
    return m, cfg, 2.0


CASES = {
    "latency_modes": case_latency_modes,
    "default_pf": case_default_and_pf,
    "resource": case_resource,
    "conv_relu_gru": case_conv_relu_gru,
    "conv_lstm_24_8": case_conv_lstm,
    "qconv1d": case_qconv1d,
}


@pytest.mark.parametrize("name", list(CASES))
def test_conv1d_matches_csim(name, record):
    model, cfg, scale = CASES[name]()
    x = grid_inputs(np.random.default_rng(zlib.crc32(name.encode())), N_SAMPLES, model.input_shape[1:], scale)
    check(record, "csim conv1d", model, cfg, x)


def test_dense_on_2d_input_becomes_pointwise(tmp_path):
    from fxsim import from_hls4ml
    from fxsim.csim import convert
    from fxsim.ir import Conv1DSpec

    k = keras()
    inp = k.Input((5, 3), name="x")
    m = k.Model(inp, k.layers.Dense(4, name="td")(inp))
    fx = from_hls4ml(convert(m, base_config(m), tmp_path / "p"))
    spec = fx.layers[1]
    assert isinstance(spec, Conv1DSpec) and spec.filt_width == 1 and fx.output_shape == (5, 4)


def test_dilation_is_refused(tmp_path):
    from fxsim import from_hls4ml
    from fxsim.csim import convert
    from fxsim.frontends.hls4ml import UnsupportedLayerError

    k = keras()
    inp = k.Input((12, 2), name="x")
    m = k.Model(inp, k.layers.Conv1D(3, 3, dilation_rate=2, name="dil")(inp))
    with pytest.raises(UnsupportedLayerError, match="dilation_rate 2.*ignores it"):
        from_hls4ml(convert(m, base_config(m), tmp_path / "p"))


def test_resource_rf_above_window_is_refused(tmp_path):
    from fxsim import from_hls4ml
    from fxsim.csim import convert
    from fxsim.frontends.hls4ml import UnsupportedLayerError

    k = keras()
    inp = k.Input((8, 2), name="x")
    m = k.Model(inp, k.layers.Conv1D(4, 2, name="c")(inp))
    cfg = base_config(m)
    cfg["LayerName"]["c"]["Strategy"] = "Resource"
    cfg["LayerName"]["c"]["ReuseFactor"] = 8  # valid for hls4ml's reuse-factor check, > 2 * 2
    with pytest.raises(UnsupportedLayerError, match="RF <= FILT_WIDTH"):
        from_hls4ml(convert(m, cfg, tmp_path / "p"))
