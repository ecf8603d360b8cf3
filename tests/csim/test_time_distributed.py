"""``TimeDistributed(Dense)`` after a recurrent layer against hls4ml 1.3.0's C simulation.

hls4ml 1.3.0 turns ``TimeDistributed(X)`` into a loop: a start layer copying time step
``ts`` out (``read_time_step_2d``), ``X``'s layers on that step (a ``Dense``, plus an
``Activation`` when the Dense has one), and ``<name>_end`` copying the result into
step ``ts`` of the output. fxsim holds it as one :class:`~fxsim.ir.TimeDistributedSpec`
named after the loop end, whose output is the layer's.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from tests.csim.helpers import N_SAMPLES, base_config, check, grid_inputs, keras, set_types

pytestmark = [pytest.mark.csim, pytest.mark.keras2]


def gru_td_relu_flatten():
    """The wrapped Dense's relu: hls4ml 1.3.0 drops it (the C simulation is the oracle)."""
    k = keras()
    inp = k.Input((6, 3), name="x")
    h = k.layers.GRU(5, return_sequences=True, name="rnn")(inp)
    h = k.layers.TimeDistributed(k.layers.Dense(3, activation="relu", name="tdd"), name="td")(h)
    model = k.Model(inp, k.layers.Dense(2, name="fc")(k.layers.Flatten(name="flat")(h)))
    # the loop start/end get the model default (their 'auto' is not inferred) and hls4ml copies
    # arrays of one type in and out of the loop: the default is the recurrent and wrapped result type
    cfg = base_config(model, default="ap_fixed<10,3,AP_RND_CONV,AP_SAT>")
    set_types(cfg, "x", result="ap_fixed<10,4,AP_RND,AP_SAT>")
    set_types(cfg, "rnn", accum="ap_fixed<16,6,AP_RND_ZERO,AP_SAT_SYM>")
    cfg["LayerName"]["rnn"]["Static"] = False
    cfg["LayerName"].setdefault("tdd", {})
    set_types(cfg, "tdd", weight="ap_fixed<8,2>", accum="ap_fixed<12,3,AP_RND_INF,AP_WRAP>")
    return model, cfg, 4.0


def lstm_td_output_resource():
    k = keras()
    inp = k.Input((5, 4), name="x")
    h = k.layers.LSTM(4, return_sequences=True, name="rnn")(inp)
    model = k.Model(inp, k.layers.TimeDistributed(k.layers.Dense(2, name="tdd"), name="td")(h))
    cfg = base_config(model, default="ap_fixed<12,4,AP_TRN_ZERO,AP_SAT>")
    cfg["LayerName"].setdefault("tdd", {})
    set_types(cfg, "tdd", accum="ap_fixed<14,5,AP_RND_MIN_INF,AP_SAT_ZERO>")
    cfg["Model"]["Strategy"] = "Resource"
    for name in ("rnn", "tdd"):
        cfg["LayerName"][name]["Strategy"] = "Resource"
        cfg["LayerName"][name]["ReuseFactor"] = 2
    return model, cfg, 3.0


@pytest.mark.parametrize("make", [gru_td_relu_flatten, lstm_td_output_resource])
def test_time_distributed_matches_csim(make, record, tmp_path):
    from fxsim import FxModel, csim, from_hls4ml
    from fxsim.ir import TimeDistributedSpec

    model, cfg, scale = make()
    rng = np.random.default_rng(zlib.crc32(make.__name__.encode()))
    x = grid_inputs(rng, N_SAMPLES, model.input_shape[1:], scale)
    check(record, f"csim time_distributed {make.__name__}", model, cfg, x)
    fx = from_hls4ml(csim.build(model, cfg, trace=True).hls_model)
    td = next(s for s in fx.layers if isinstance(s, TimeDistributedSpec))
    assert td.name == "td_end" and td.layers[0].name == "tdd"
    _, report = fx.predict_codes_and_overflows(x[:200])
    assert "tdd/result" in report.to_dict()["td_end"]
    loaded = FxModel.load(fx.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict_codes(x[:200]), fx.predict_codes(x[:200]))


def test_doctor_warns_that_hls4ml_drops_the_wrapped_activation():
    from fxsim.doctor.keras_rules import static_findings

    model, _, _ = gru_td_relu_flatten()
    found = [f for f in static_findings(model) if f.code == "time-distributed-activation-dropped"]
    assert [f.layer for f in found] == ["td"] and "relu" in found[0].what
