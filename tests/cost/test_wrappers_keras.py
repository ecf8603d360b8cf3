"""fxsim.cost on hls4ml's own conversion of a Keras Bidirectional + TimeDistributed model."""

from __future__ import annotations

import pytest

from fxsim.cost import estimate_ir
from fxsim.ir import BidirectionalSpec

from .test_wrappers_cost import alone

pytestmark = pytest.mark.keras2


def test_keras_bidirectional_and_time_distributed_estimate():
    """hls4ml's own conversion of Bidirectional(GRU) -> TimeDistributed(Dense) -> Flatten -> Dense."""
    from tensorflow import keras

    from fxsim import emulate
    from fxsim.cost import estimate

    keras.utils.set_random_seed(3)
    x = keras.Input((6, 3))
    h = keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True), name="bi")(x)
    h = keras.layers.TimeDistributed(keras.layers.Dense(2), name="td")(h)
    h = keras.layers.Flatten()(h)
    model = keras.Model(x, keras.layers.Dense(1, name="out")(h))
    est = estimate(model, "ap_fixed<16,6>")
    classes = [c.cls for c in est.layers]
    assert "Bidirectional(GRU)" in classes and "TimeDistributed(Dense)" in classes
    bi = next(c for c in est.layers if c.cls.startswith("Bidirectional"))
    fx = emulate(model, "ap_fixed<16,6>")
    spec = next(s for s in fx.layers if isinstance(s, BidirectionalSpec))
    halves = [estimate_ir(alone(s)).layers[1] for s in (spec.forward, spec.backward)]
    assert bi.dsp == sum(h.dsp for h in halves)
    assert est.latency_cycles >= bi.latency_cycles and est.dsp >= bi.dsp
