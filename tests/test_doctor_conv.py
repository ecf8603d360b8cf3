"""The doctor's Conv1D / pooling traps of hls4ml 1.3.0 (fxsim/doctor/conv_rules.py and the
Conv1D cause of ``lstm-types-differ``)."""

from __future__ import annotations

import pytest

from fxsim.doctor import ConversionRefused, Diagnosis, doctor
from fxsim.evaluate import emulate

pytestmark = pytest.mark.keras2


def _keras():
    from tensorflow import keras

    return keras


def _only(diag: Diagnosis, code: str):
    found = diag.by_code(code)
    assert len(found) == 1, f"expected one {code!r} finding, got {diag.codes()}"
    return found[0]


def test_conv_before_lstm_names_the_conv_and_the_fix_compiles():
    k = _keras()
    k.utils.set_random_seed(41)
    inp = k.Input((10, 3), name="x")
    h = k.layers.Conv1D(4, 3, name="c0")(inp)
    model = k.Model(inp, k.layers.LSTM(3, name="lstm")(h))
    diag = doctor(model)
    f = _only(diag, "lstm-types-differ")
    assert "Conv1D 'c0'" in f.what and f.details["suggested"]["c0"] == {"result": f.details["result_t"]}
    with pytest.raises(ConversionRefused, match="does not compile"):
        emulate(model)
    assert doctor(model, f.details["suggested"]).ok


def test_dilation_is_an_error():
    k = _keras()
    inp = k.Input((12, 2), name="x")
    model = k.Model(inp, k.layers.Conv1D(3, 3, dilation_rate=2, name="dil")(inp))
    f = _only(doctor(model), "conv-dilation-ignored")
    assert f.severity == "error" and f.details["dilation_rate"] == 2


def test_resource_reuse_factor_above_the_window_is_an_error():
    k = _keras()
    inp = k.Input((8, 2), name="x")
    model = k.Model(inp, k.layers.Conv1D(4, 2, name="c")(inp))
    f = _only(doctor(model, strategy="Resource", reuse_factor=8), "conv-resource-rf-too-large")
    assert f.details["max_reuse_factor"] == 4 and 8 not in f.details["valid"] and 4 in f.details["valid"]
    assert not doctor(model, strategy="Resource", reuse_factor=4).by_code("conv-resource-rf-too-large")


def test_unsigned_max_pool_padding_is_a_warning():
    k = _keras()
    inp = k.Input((9, 2), name="x")
    h = k.layers.ReLU(name="relu")(inp)
    model = k.Model(inp, k.layers.MaxPooling1D(2, padding="same", name="mp")(h))
    diag = doctor(model, {"relu": {"result": "ap_ufixed<8,3>"}})
    f = _only(diag, "maxpool-unsigned-padding")
    assert f.severity == "warning" and f.details["pad_value"] == 4.0
    assert not doctor(model).by_code("maxpool-unsigned-padding")  # signed input: the pad never wins
