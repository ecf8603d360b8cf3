"""The float recurrence reference against Keras, and the drift statistics by hand."""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.analysis.drift import activation_name, drift, float_states
from fxsim.fixed import FixedType

pytestmark = pytest.mark.core


@pytest.mark.keras2
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_float_states_match_keras(cell):
    import tensorflow as tf

    tf.keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 7, 3)).astype(np.float32)
    layer_cls = tf.keras.layers.GRU if cell == "gru" else tf.keras.layers.LSTM
    inp = tf.keras.Input((7, 3))
    layer = layer_cls(5, return_sequences=True, return_state=True)
    outs = layer(inp)
    model = tf.keras.Model(inp, outs)
    weights = [w + rng.normal(scale=0.3, size=w.shape).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(weights)  # non-zero biases, so the bias layout is exercised
    keras = [np.asarray(o) for o in model.predict(x, verbose=0)]
    ours = float_states(x, *weights, cell=cell)
    np.testing.assert_allclose(ours["h"], keras[0], atol=2e-5)
    if cell == "lstm":
        np.testing.assert_allclose(ours["c"][:, -1], keras[2], atol=2e-5)
    assert set(ours) == ({"h"} if cell == "gru" else {"h", "c"})


def test_activation_names():
    assert activation_name("tanh") == "tanh"
    assert activation_name("quantized_tanh(8, use_real_tanh=True)") == "tanh"
    assert activation_name({"class_name": "quantized_sigmoid", "config": {}}) == "sigmoid"
    assert activation_name(None) == "linear"
    with pytest.raises(ValueError, match="no float reference"):
        activation_name("swish")
    with pytest.raises(ValueError, match="unknown recurrent cell"):
        float_states(np.zeros((1, 2, 1)), np.zeros((1, 3)), np.zeros((1, 3)), None, "rnn")


def test_drift_statistics_by_hand():
    t = FixedType(8, 3)  # lsb 1/32
    ref = np.zeros((2, 3, 2))
    hw = np.zeros((2, 3, 2))
    hw[0, 0, 0] = 1 / 32
    hw[:, 2, :] = -2 / 32
    d = drift("gru", "h", hw, ref, t)
    np.testing.assert_allclose(d.mean_abs, [1 / 32 / 4, 0, 2 / 32])
    np.testing.assert_allclose(d.max_abs, [1 / 32, 0, 2 / 32])
    np.testing.assert_allclose(d.mean, [1 / 128, 0, -2 / 32])
    np.testing.assert_allclose(d.rms, [np.sqrt((1 / 32) ** 2 / 4), 0, 2 / 32])
    assert d.lsb == 1 / 32 and d.steps == 3 and d.growth() == pytest.approx(8.0)
    with pytest.raises(ValueError, match="differ in shape"):
        drift("gru", "h", hw, ref[:, :2], t)
