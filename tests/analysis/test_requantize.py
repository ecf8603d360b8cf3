"""QKeras at another width: every quantizer reset, weights kept."""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.analysis.requantize import requantized

pytestmark = pytest.mark.keras2


def test_requantized_equals_a_model_built_at_that_width(gru_model):
    from tests.analysis.helpers import small_qkeras

    clone = requantized(gru_model, 6, 1)
    for layer in clone.get_config()["layers"]:
        conf = layer["config"]
        for key, q in conf.items():
            if isinstance(q, dict) and q.get("class_name") in ("quantized_bits", "quantized_relu"):
                assert (q["config"]["bits"], q["config"]["integer"]) == (6, 1), (conf["name"], key)
    assert clone.get_layer("relu_1").quantizer.bits == 6
    x = np.random.default_rng(0).normal(size=(50, 6, 4)).astype(np.float32)
    direct = small_qkeras("gru", bits=6, integer=1)
    direct.set_weights(gru_model.get_weights())
    np.testing.assert_array_equal(clone.predict(x, verbose=0), direct.predict(x, verbose=0))
    assert not np.array_equal(clone.predict(x, verbose=0), gru_model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="bits >= integer"):
        requantized(gru_model, 2, 2)


def test_float_model_has_nothing_to_requantize():
    import tensorflow as tf

    m = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no QKeras quantizers"):
        requantized(m, 8, 2)
