"""The Keras/QKeras front-end: precision spec → hls4ml config → converted ModelGraph (no C++ built)."""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.fixed import FixedType
from fxsim.frontends.keras import (
    HLS4MLError,
    convert,
    float_twin,
    is_quantized,
    load_model,
    quantized_twin,
    quantized_weights,
)
from tests.frontends import qmodels

pytestmark = pytest.mark.keras2


@pytest.fixture(scope="module")
def gru_model():
    return qmodels.qgru(seed=11)


def _t(s) -> FixedType:
    return FixedType.parse(s)


def test_none_takes_the_quantizer_types_as_hls4ml_does(gru_model):
    conv = convert(gru_model)
    types = conv.layer_types()
    assert _t(types["gru"]["weight_t"]) == _t("fixed<8,2>")  # quantized_bits(8,1) → fixed<8,2>
    assert _t(types["gru"]["result_t"]) == _t("fixed<16,6>")  # 'auto' RNN result → model default
    assert _t(types["relu_1"]["result_t"]) == _t("ufixed<8,2,RND_CONV,SAT>")
    assert conv.config["LayerName"]["gru"]["Precision"]["weight"] == "fixed<8,2,TRN,WRAP,0>"
    assert conv.config == conv.generated


def test_type_string_is_the_model_default(gru_model):
    types = convert(gru_model, "ap_fixed<9,3>").layer_types()
    assert _t(types["inputs"]["result_t"]) == _t("ap_fixed<9,3>")
    assert _t(types["gru"]["accum_t"]) == _t("ap_fixed<9,3>")
    assert _t(types["gru"]["weight_t"]) == _t("fixed<8,2>")  # quantizers still win, as in hls4ml


def test_per_layer_dict_reaches_the_converted_layer(gru_model):
    conv = convert(gru_model, {"gru": {"accum": "ap_fixed<18,8>", "result": "ap_fixed<14,5,AP_RND,AP_SAT>",
                                       "table_t": "ap_fixed<12,2>", "TableSize": 512},
                               "inputs": "ap_fixed<12,4>"})
    types = conv.layer_types()
    assert _t(types["gru"]["accum_t"]) == _t("ap_fixed<18,8>")
    assert _t(types["gru"]["result_t"]) == _t("ap_fixed<14,5,AP_RND,AP_SAT>")
    assert _t(types["gru"]["table_t"]) == _t("ap_fixed<12,2>")
    assert types["gru"]["table_size"] == 512
    assert _t(types["inputs"]["result_t"]) == _t("ap_fixed<12,4>")
    assert conv.config["LayerName"]["gru"]["TableSize"] == 512
    assert conv.generated["LayerName"]["gru"]["TableSize"] == 1024


def test_options_reach_hls4ml(gru_model):
    conv = convert(gru_model, strategy="Resource", reuse_factor=2)
    gru = conv.hls_model.graph["gru"]
    assert gru.get_attr("reuse_factor") == 2 and gru.get_attr("strategy") == "resource"
    assert conv.options["backend"] == "Vivado" and conv.io_type == "io_parallel"


def test_unknown_layer_name_and_malformed_type_raise(gru_model):
    with pytest.raises(ValueError, match=r"unknown layer \['lstm'\].*inputs, gru, dense_1"):
        convert(gru_model, {"lstm": {"accum": "ap_fixed<18,8>"}})
    with pytest.raises(ValueError, match=r"precision\['gru'\]\['result'\].*ap_fixed<14"):
        convert(gru_model, {"gru": {"result": "ap_fixed<14"}})
    with pytest.raises(ValueError, match="unknown hls4ml option"):
        convert(gru_model, reuse=3)


def test_hls4ml_rejection_is_an_hls4ml_error_and_the_pipeline_names_the_layer():
    from fxsim.pipeline import convert_checked

    qk = qmodels.qkeras()
    model = qmodels.qgru(seed=12, activation=qk.quantized_tanh(8))
    with pytest.raises(HLS4MLError, match=r"Hard activation not supported"):
        convert(model)
    checked = convert_checked(model)
    assert checked.conversion is None and checked.fx is None
    assert [(f.code, f.layer) for f in checked.diagnosis.errors] == [("rnn-hard-activation", "gru")]


def test_the_front_ends_know_nothing_of_the_doctor():
    """Data flow front-end → IR → doctor rules, put together by fxsim.pipeline only (no import cycle)."""
    import ast
    import inspect

    import fxsim.frontends.hls4ml
    import fxsim.frontends.keras
    import fxsim.precision

    for module in (fxsim.frontends.keras, fxsim.frontends.hls4ml, fxsim.precision):
        tree = ast.parse(inspect.getsource(module))
        imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if m and m.startswith(("fxsim.doctor", "fxsim.pipeline"))], module.__name__


def test_load_model_from_h5_and_keras_files(tmp_path, gru_model):
    x = qmodels.inputs(0, 16, (8, 4))
    gru_model.save(tmp_path / "q.h5")
    loaded = load_model(str(tmp_path / "q.h5"))
    assert is_quantized(loaded)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), gru_model.predict(x, verbose=0))
    dense = qmodels.float_dense()
    dense.save(tmp_path / "d.keras")
    xd = qmodels.inputs(0, 16, (6,))
    np.testing.assert_array_equal(load_model(tmp_path / "d.keras").predict(xd, verbose=0), dense.predict(xd, verbose=0))
    gru_model.save(tmp_path / "q.keras")
    with pytest.raises(ValueError, match=r"cannot load Keras model.*save QKeras models with model.save\('name.h5'\)"):
        load_model(tmp_path / "q.keras")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "missing.h5")
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(ValueError, match="expected a .h5 or .keras"):
        load_model(tmp_path / "m.txt")
    with pytest.raises(ValueError, match="must be a Keras model"):
        load_model(42)


def test_float_twin_has_keras_layers_and_the_raw_weights(gru_model):
    twin = float_twin(gru_model)
    assert not is_quantized(twin)
    assert [type(layer).__name__ for layer in twin.layers] == ["InputLayer", "GRU", "Dense", "Activation", "Dense",
                                                                "Activation"]
    for a, b in zip(gru_model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert twin.get_layer("relu_1").get_config()["activation"] == "relu"
    assert twin.get_layer("gru").get_config()["reset_after"] is True


def test_quantized_twin_carries_qkeras_values_and_leaves_the_model_alone(gru_model):
    before = [w.copy() for w in gru_model.get_weights()]
    saved = quantized_weights(gru_model)
    twin = quantized_twin(gru_model)
    for a, b in zip(before, gru_model.get_weights()):
        np.testing.assert_array_equal(a, b)  # QKeras's function alone would overwrite them
    gru = gru_model.get_layer("gru")
    kernel = before[0]
    expected = np.asarray(gru.kernel_quantizer_internal(kernel))
    np.testing.assert_array_equal(saved["gru"][0], expected)
    np.testing.assert_array_equal(twin.get_layer("gru").get_weights()[0], expected)
    # the quantized values lie on the quantizer's grid (8 bits, 1 integer bit → 2^-6)
    assert np.all(expected * 64 == np.round(expected * 64))
    assert not np.all(kernel * 64 == np.round(kernel * 64))
