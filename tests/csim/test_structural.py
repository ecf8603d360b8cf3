"""Structural layers against hls4ml's C simulation: the ApplyAlpha scale layer hls4ml inserts
for QKeras Dense with ``alpha``, BatchNormalization (the same ``nnet::normalize``), Flatten/Reshape,
and QKeras quantized activations."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from tests.csim.helpers import N_SAMPLES, base_config, check, grid_inputs, keras

pytestmark = [pytest.mark.csim, pytest.mark.keras2]


def case_qkeras_alpha():
    """QDense with quantized_bits(alpha='auto'): hls4ml factorizes alpha into ApplyAlpha layers."""
    from fxsim.compat import import_qkeras

    q = import_qkeras()
    k = keras()
    k.utils.set_random_seed(21)
    inp = k.Input((4, 3), name="x")
    h = k.layers.Flatten(name="flat")(inp)
    h = q.QDense(10, kernel_quantizer=q.quantized_bits(6, 2, alpha="auto"), bias_quantizer=q.quantized_bits(8, 3),
                 name="qfc0")(h)
    h = q.QActivation(q.quantized_relu(8, 3), name="qrelu0")(h)
    bn = k.layers.BatchNormalization(name="bn0")
    h = bn(h)
    h = q.QDense(5, kernel_quantizer=q.quantized_bits(8, 1, alpha="auto"), bias_quantizer=q.quantized_bits(8, 3),
                 name="qfc1")(h)
    h = q.QActivation(q.quantized_bits(8, 2), name="qbits1")(h)
    h = k.layers.Reshape((5, 1), name="reshape")(h)
    h = k.layers.Flatten(name="flat2")(h)
    h = q.QDense(3, kernel_quantizer=q.quantized_bits(6, 0, alpha=1), bias_quantizer=q.quantized_bits(6, 2),
                 name="qfc2")(h)
    m = k.Model(inp, h)
    rng = np.random.default_rng(21)  # a trained-looking BatchNormalization (not the identity)
    bn.set_weights([rng.uniform(0.5, 2.0, 10), rng.normal(0, 0.5, 10), rng.normal(0, 1, 10), rng.uniform(0.5, 3, 10)])
    cfg = base_config(m)
    cfg["LayerName"]["bn0"]["Precision"].update(scale="ap_fixed<10,3>", bias="ap_fixed<10,4>",
                                                result="ap_fixed<14,5,AP_RND,AP_SAT>")
    return m, cfg, 2.0


CASES = {"qkeras_alpha_reshape": case_qkeras_alpha}


@pytest.mark.parametrize("name", list(CASES))
def test_structural_matches_csim(name, record):
    model, cfg, scale = CASES[name]()
    x = grid_inputs(np.random.default_rng(zlib.crc32(name.encode())), N_SAMPLES, model.input_shape[1:], scale)
    check(record, "csim structural", model, cfg, x)


def test_alpha_layer_is_emulated(tmp_path):
    from fxsim import from_hls4ml
    from fxsim.csim import convert
    from fxsim.ir import ReshapeSpec, ScaleSpec

    model, cfg, _ = case_qkeras_alpha()
    fx = from_hls4ml(convert(model, cfg, tmp_path / "prj"))
    kinds = {type(s) for s in fx.layers}
    assert ScaleSpec in kinds, fx.summary()
    assert ReshapeSpec in kinds, fx.summary()


def test_power_of_two_alpha_is_refused(tmp_path):
    from fxsim import UnsupportedLayerError, from_hls4ml
    from fxsim.compat import import_qkeras
    from fxsim.csim import convert

    q = import_qkeras()
    k = keras()
    inp = k.Input((4,), name="x")
    m = k.Model(inp, q.QDense(3, kernel_quantizer=q.quantized_bits(6, 2, alpha="auto_po2"), name="qfc")(inp))
    with pytest.raises(UnsupportedLayerError, match=r"'qfc_alpha' \(ApplyAlpha\).*weight_exponential"):
        from_hls4ml(convert(m, base_config(m), tmp_path / "prj"))
