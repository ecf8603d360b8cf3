"""from_hls4ml refuses what it does not emulate, and what hls4ml 1.3.0 cannot compile or
computes wrong, with an error naming the layer, its class and the setting (conversion only,
nothing is compiled)."""

from __future__ import annotations

import pytest

from fxsim import UnsupportedLayerError, from_hls4ml
from fxsim.csim import convert
from tests.csim.helpers import base_config, keras

pytestmark = pytest.mark.keras2


def _convert(model, cfg, tmp_path):
    return convert(model, cfg, tmp_path / "prj")


def _rnn(layer):
    k = keras()
    inp = k.Input((5, 3), name="x")
    return k.Model(inp, layer(inp))


def test_gru_reset_before_is_reported_as_broken_in_hls4ml(tmp_path):
    k = keras()
    m = _rnn(k.layers.GRU(4, reset_after=False, name="gru"))
    with pytest.raises(UnsupportedLayerError, match=r"'gru' \(GRU\).*reset_after=False.*garbage"):
        from_hls4ml(_convert(m, base_config(m), tmp_path))


def test_lstm_with_differing_types_is_reported_as_uncompilable(tmp_path):
    k = keras()
    m = _rnn(k.layers.LSTM(4, name="lstm"))
    cfg = base_config(m)
    cfg["LayerName"]["lstm"]["Precision"]["accum"] = "ap_fixed<20,8>"
    with pytest.raises(UnsupportedLayerError, match=r"'lstm' \(LSTM\).*accum_t.*only compiles"):
        from_hls4ml(_convert(m, cfg, tmp_path))


def test_hard_sigmoid_recurrent_activation_has_no_template(tmp_path):
    k = keras()
    m = _rnn(k.layers.GRU(4, recurrent_activation="hard_sigmoid", name="gru"))
    with pytest.raises(UnsupportedLayerError, match=r"'gru' \(GRU\).*recurrent_activation.*hard_sigmoid"):
        from_hls4ml(_convert(m, base_config(m), tmp_path))


def test_unsupported_layer_is_named(tmp_path):
    k = keras()
    inp = k.Input((8, 4, 1), name="x")
    h = k.layers.Conv2D(3, 3, name="conv")(inp)
    m = k.Model(inp, k.layers.Flatten(name="flat")(h))
    with pytest.raises(UnsupportedLayerError, match=r"'conv' \(Conv2D\) is not supported"):
        from_hls4ml(_convert(m, base_config(m), tmp_path))


def test_unsupported_activation_is_named(tmp_path):
    k = keras()
    inp = k.Input((4,), name="x")
    m = k.Model(inp, k.layers.Activation("softsign", name="soft")(inp))
    with pytest.raises(UnsupportedLayerError, match=r"'soft' \(Activation\).*softsign"):
        from_hls4ml(_convert(m, base_config(m), tmp_path))


def test_softmax_table_that_hls4ml_would_overrun(tmp_path):
    k = keras()
    inp = k.Input((4,), name="x")
    m = k.Model(inp, k.layers.Activation("softmax", name="sm")(inp))
    cfg = base_config(m)
    cfg["LayerName"]["sm"]["TableSize"] = 1000
    with pytest.raises(UnsupportedLayerError, match=r"'sm'.*not a power of two"):
        from_hls4ml(_convert(m, cfg, tmp_path))


def test_too_wide_type_is_refused(tmp_path):
    k = keras()
    inp = k.Input((4,), name="x")
    m = k.Model(inp, k.layers.Dense(2, name="fc")(inp))
    cfg = base_config(m)
    cfg["LayerName"]["x"]["Precision"]["result"] = "ap_fixed<40,10>"
    cfg["LayerName"]["fc"]["Precision"].update(weight="ap_fixed<30,2>", accum="ap_fixed<48,16>",
                                               result="ap_fixed<48,16>")
    with pytest.raises(UnsupportedLayerError, match=r"'fc'.*70 bits.*at most 62"):
        from_hls4ml(_convert(m, cfg, tmp_path))


def test_multidimensional_softmax_is_refused(tmp_path):
    k = keras()
    inp = k.Input((4, 3), name="x")
    m = k.Model(inp, k.layers.Softmax(axis=-1, name="sm")(inp))
    with pytest.raises(UnsupportedLayerError, match=r"'sm' \(Softmax\).*multi-dimensional"):
        from_hls4ml(_convert(m, base_config(m), tmp_path))
