"""Stacked recurrent layers against hls4ml 1.3.0's C simulation, code for code.

``LSTM → LSTM``, ``GRU → GRU`` and ``Bidirectional → GRU`` with ``return_sequences`` on
the lower layers: the IR is a sequence of layers, each recurrent layer reading the
previous one's ``[T, n]`` output codes. hls4ml's LSTM only compiles when its input,
``accum`` and ``result`` types are one type, so in an LSTM stack every LSTM shares it.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from tests.csim.helpers import N_SAMPLES, base_config, check, grid_inputs, keras, set_types

pytestmark = [pytest.mark.csim, pytest.mark.keras2]


def _init(k, seed):
    return dict(kernel_initializer=k.initializers.RandomNormal(stddev=0.7, seed=seed),
                recurrent_initializer=k.initializers.RandomNormal(stddev=0.7, seed=seed + 1),
                bias_initializer=k.initializers.RandomNormal(stddev=0.5, seed=seed + 2))


def lstm_lstm():
    k = keras()
    inp = k.Input((6, 3), name="x")
    h = k.layers.LSTM(5, return_sequences=True, name="rnn1", **_init(k, 1))(inp)
    h = k.layers.LSTM(4, name="rnn2", **_init(k, 4))(h)
    model = k.Model(inp, k.layers.Dense(3, name="fc")(h))
    cfg = base_config(model)
    t = "ap_fixed<14,5,AP_RND_CONV,AP_SAT>"
    set_types(cfg, "x", result=t)
    for name in ("rnn1", "rnn2"):
        set_types(cfg, name, accum=t, result=t)
    cfg["LayerName"]["rnn2"]["Static"] = False
    return model, cfg, 3.0


def gru_gru():
    k = keras()
    inp = k.Input((7, 4), name="x")
    h = k.layers.GRU(6, return_sequences=True, name="rnn1", **_init(k, 7))(inp)
    h = k.layers.GRU(3, return_sequences=True, name="rnn2", **_init(k, 10))(h)
    model = k.Model(inp, k.layers.Dense(2, name="fc")(k.layers.Flatten(name="flat")(h)))
    cfg = base_config(model)
    set_types(cfg, "x", result="ap_fixed<10,4,AP_RND,AP_SAT>")
    set_types(cfg, "rnn1", accum="ap_fixed<16,6,AP_RND_ZERO,AP_SAT>", result="ap_fixed<10,3,AP_RND_INF,AP_WRAP>")
    set_types(cfg, "rnn2", accum="ap_fixed<12,4,AP_TRN_ZERO,AP_SAT_SYM>", result="ap_fixed<9,2,AP_RND_MIN_INF,AP_SAT>")
    cfg["Model"]["Strategy"] = "Resource"
    for name in ("rnn2", "fc"):
        cfg["LayerName"][name]["Strategy"] = "Resource"
        cfg["LayerName"][name]["ReuseFactor"] = 3
    return model, cfg, 4.0


def bidirectional_gru():
    k = keras()
    inp = k.Input((5, 3), name="x")
    h = k.layers.Bidirectional(k.layers.LSTM(3, return_sequences=True, **_init(k, 13)), name="bi")(inp)
    h = k.layers.GRU(4, name="rnn2", **_init(k, 16))(h)
    model = k.Model(inp, k.layers.Dense(2, name="fc")(h))
    cfg = base_config(model)
    set_types(cfg, "x", result="ap_fixed<12,4>")
    set_types(cfg, "bi", accum="ap_fixed<12,4>", result="ap_fixed<12,4>")
    set_types(cfg, "rnn2", accum="ap_fixed<18,6,AP_RND,AP_SAT>", result="ap_fixed<12,4,AP_RND,AP_SAT>")
    return model, cfg, 3.0


@pytest.mark.parametrize("make", [lstm_lstm, gru_gru, bidirectional_gru])
def test_stacked_recurrent_layers_match_csim(make, record):
    model, cfg, scale = make()
    rng = np.random.default_rng(zlib.crc32(make.__name__.encode()))
    x = grid_inputs(rng, N_SAMPLES, model.input_shape[1:], scale)
    check(record, f"csim stacked {make.__name__}", model, cfg, x)
