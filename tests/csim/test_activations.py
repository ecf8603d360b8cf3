"""Activations and softmax against hls4ml's C simulation.

sigmoid/tanh with odd table sizes and narrow or wide ``table_t``; relu into unsigned
saturating types, leaky relu, hard sigmoid, QKeras hard tanh, linear; softmax in
all four implementations with default and custom table/accumulator types and odd
slice lengths (the adder tree). Each case is one compiled, traced model compared
layer by layer on 2000 samples.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from tests.csim.helpers import N_SAMPLES, base_config, check, grid_inputs, keras, set_types

pytestmark = [pytest.mark.csim, pytest.mark.keras2]


def _dense(k, n, name, stddev=1.0):
    return k.layers.Dense(n, name=name, kernel_initializer=k.initializers.RandomNormal(stddev=stddev),
                          bias_initializer=k.initializers.RandomNormal(stddev=0.5))


def case_lut_tables():
    """sigmoid/tanh tables: sizes 333, 1000, 1024, 4096; table_t 8..24 bits, RND/SAT; 32-bit LUT input."""
    k = keras()
    k.utils.set_random_seed(11)
    inp = k.Input((6,), name="x")
    h = _dense(k, 8, "fc0")(inp)
    h = k.layers.Activation("sigmoid", name="sig0")(h)
    h = _dense(k, 8, "fc1", 2.0)(h)
    h = k.layers.Activation("tanh", name="tanh1")(h)
    h = _dense(k, 6, "fc2", 2.0)(h)
    h = k.layers.Activation("sigmoid", name="sig2")(h)
    h = _dense(k, 4, "fc3", 3.0)(h)
    h = k.layers.Activation("tanh", name="tanh3")(h)
    m = k.Model(inp, h)
    cfg = base_config(m)
    set_types(cfg, "fc0", accum="ap_fixed<14,6>", result="ap_fixed<12,5,AP_RND,AP_SAT>")
    cfg["LayerName"]["sig0"].update(TableSize=333, table_t="ap_fixed<8,2>")
    set_types(cfg, "sig0", result="ap_ufixed<8,0,AP_RND_CONV,AP_SAT>")
    set_types(cfg, "fc1", result="ap_fixed<32,12>")
    cfg["LayerName"]["tanh1"].update(TableSize=1000, table_t="ap_fixed<10,1,AP_RND,AP_SAT>")
    set_types(cfg, "tanh1", result="ap_fixed<8,1,AP_RND,AP_SAT_SYM>")
    cfg["LayerName"]["tanh3"].update(TableSize=4096, table_t="ap_fixed<24,2>")
    set_types(cfg, "tanh3", result="ap_fixed<22,2>")
    return m, cfg, 3.0


def case_relu_leaky_hard_linear():
    """relu into ap_ufixed RND_CONV+SAT, leaky relu, hard sigmoid, QKeras hard tanh, linear."""
    from fxsim.compat import import_qkeras

    qkeras = import_qkeras()
    k = keras()
    k.utils.set_random_seed(12)
    inp = k.Input((7,), name="x")
    h = _dense(k, 9, "fc0")(inp)
    h = k.layers.Activation("relu", name="relu0")(h)
    h = _dense(k, 8, "fc1")(h)
    h = k.layers.LeakyReLU(0.1, name="leaky1")(h)
    h = _dense(k, 7, "fc2")(h)
    h = k.layers.Activation("hard_sigmoid", name="hsig2")(h)
    h = _dense(k, 6, "fc3", 2.0)(h)
    h = qkeras.QActivation(qkeras.quantized_tanh(8), name="htanh3")(h)
    h = _dense(k, 5, "fc4")(h)
    h = k.layers.Activation("linear", name="lin4")(h)
    m = k.Model(inp, h)
    cfg = base_config(m)
    set_types(cfg, "relu0", result="ap_ufixed<8,3,AP_RND_CONV,AP_SAT>")
    set_types(cfg, "fc1", result="ap_fixed<14,5>")
    set_types(cfg, "leaky1", result="ap_fixed<10,4,AP_RND,AP_SAT>")
    set_types(cfg, "hsig2", result="ap_ufixed<9,1,AP_RND,AP_SAT>")
    set_types(cfg, "fc4", result="ap_fixed<18,7>")
    set_types(cfg, "lin4", result="ap_fixed<7,3,AP_RND_CONV,AP_SAT>")
    return m, cfg, 4.0


def _softmax_model(seed, n_in, first, second, impl_first, impl_second):
    k = keras()
    k.utils.set_random_seed(seed)
    inp = k.Input((n_in,), name="x")
    h = _dense(k, first, "fc0", 1.5)(inp)
    h = k.layers.Activation("softmax", name="sm0")(h)
    h = _dense(k, second, "fc1", 3.0)(h)
    h = k.layers.Activation("softmax", name="sm1")(h)
    m = k.Model(inp, h)
    cfg = base_config(m)
    cfg["LayerName"]["sm0"]["Implementation"] = impl_first
    cfg["LayerName"]["sm1"]["Implementation"] = impl_second
    return m, cfg


def case_softmax_latency_stable():
    """latency (5 inputs) then stable (7 inputs), on 12-bit inputs and default tables."""
    m, cfg = _softmax_model(13, 6, 5, 7, "latency", "stable")
    set_types(cfg, "fc0", result="ap_fixed<12,4>")
    set_types(cfg, "fc1", result="ap_fixed<10,4,AP_RND,AP_SAT>")
    return m, cfg, 2.0


def case_softmax_legacy_argmax():
    """legacy (its layer table_t key is ignored by the C++) then argmax into an unsigned type."""
    m, cfg = _softmax_model(14, 5, 6, 3, "legacy", "argmax")
    set_types(cfg, "fc0", result="ap_fixed<14,5>")
    cfg["LayerName"]["sm0"].update(table_t="ap_fixed<10,3>", TableSize=512)
    set_types(cfg, "fc1", result="ap_fixed<8,3>")
    set_types(cfg, "sm1", result="ap_ufixed<4,1>")
    return m, cfg, 2.0


def case_softmax_custom_types():
    """stable and latency with narrow exp/inv tables, inv_inp_t, saturating accum, 9 and 3 slices."""
    m, cfg = _softmax_model(15, 4, 9, 3, "stable", "latency")
    set_types(cfg, "fc0", result="ap_fixed<10,5>")
    cfg["LayerName"]["sm0"].update(exp_table_t="ap_fixed<12,4,AP_RND,AP_SAT>", inv_table_t="ap_ufixed<14,6>",
                                   inv_inp_t="ap_fixed<12,5,AP_RND,AP_SAT>", TableSize=256)
    set_types(cfg, "sm0", accum="ap_fixed<12,5,AP_TRN,AP_SAT>", result="ap_ufixed<10,1,AP_RND,AP_SAT>")
    set_types(cfg, "fc1", result="ap_fixed<8,4>")
    cfg["LayerName"]["sm1"].update(exp_table_t="ap_fixed<10,6>", inv_table_t="ap_fixed<16,4,AP_RND_CONV,AP_SAT>")
    set_types(cfg, "sm1", accum="ap_fixed<10,6>", result="ap_fixed<12,2>")
    return m, cfg, 2.0


CASES = {
    "lut_tables": case_lut_tables,
    "relu_leaky_hard_linear": case_relu_leaky_hard_linear,
    "softmax_latency_stable": case_softmax_latency_stable,
    "softmax_legacy_argmax": case_softmax_legacy_argmax,
    "softmax_custom_types": case_softmax_custom_types,
}


@pytest.mark.parametrize("name", list(CASES))
def test_activation_matches_csim(name, record):
    model, cfg, scale = CASES[name]()
    x = grid_inputs(np.random.default_rng(zlib.crc32(name.encode())), N_SAMPLES, model.input_shape[1:], scale)
    section = "csim softmax" if name.startswith("softmax") else "csim activations"
    check(record, section, model, cfg, x)
