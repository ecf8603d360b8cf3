"""The conversion doctor on purpose-built bad models, each checked on hls4ml's real conversion.

Every finding is asserted on the converted ``ModelGraph`` (what hls4ml really
builds), and, where the consequence shows without compiling, on it too: the
layer's ``table_t`` that ``Precision['table']`` did not change, the scalar GRU
biases of ``reset_after=False``, the floored RNN weights fxsim emulates, the
removed ``QActivation``. Compile failures are shown against g++ in
``tests/csim/test_qkeras_doctor.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.doctor import ConversionRefused, Diagnosis, doctor
from fxsim.evaluate import emulate, evaluate
from fxsim.fixed import FixedType, from_codes, weight_codes
from fxsim.frontends.keras import convert, quantized_twin
from tests.frontends import qmodels

pytestmark = pytest.mark.keras2


def _t(s) -> FixedType:
    return FixedType.parse(s)


def _only(diag: Diagnosis, code: str):
    found = diag.by_code(code)
    assert len(found) == 1, f"expected one {code!r} finding, got {diag!r}\n{diag}"
    return found[0]


# --- the seed study's recipe ----------------------------------------------------------------


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_seed_recipe_gets_a_verdict_naming_each_blocker_and_its_fix(arch):
    from fxsim.models.architectures import Quant, build_qkeras

    model = build_qkeras("toptag", arch, Quant(9, 3), "seed")
    diag = doctor(model, "ap_fixed<9,3>")
    hard = _only(diag, "rnn-hard-activation")
    assert hard.severity == "error" and hard.layer == arch
    assert "quantized_tanh(bits=9" in hard.what and "Hard activation not supported" in hard.what
    assert "use_real_tanh=True" in hard.fix
    recr = _only(diag, "rnn-activation-unsupported")
    assert "recurrent_activation='hard_sigmoid'" in recr.what and "does not compile" in recr.what
    assert "recurrent_activation='sigmoid'" in recr.fix
    alpha = diag.by_code("rnn-alpha-ignored")
    assert {f.details["quantizer"] for f in alpha} == {"kernel_quantizer", "recurrent_quantizer"}
    assert all("auto_po2" in f.what and "fixed<9,4>" in f.what for f in alpha)
    with pytest.raises(ConversionRefused) as err:
        emulate(model, "ap_fixed<9,3>")
    assert "Hard activation not supported" in str(err.value) and "hard_sigmoid" in str(err.value)
    assert err.value.diagnosis.errors == diag.errors


def test_hard_quantized_tanh_as_recurrent_activation_is_refused():
    qk = qmodels.qkeras()
    model = qmodels.qgru(seed=21, recurrent_activation=qk.quantized_tanh(8))
    f = _only(doctor(model), "rnn-hard-activation")
    assert f.details["key"] == "recurrent_activation" and "'tanh'" in f.fix
    with pytest.raises(AssertionError, match="Hard activation not supported"):  # hls4ml itself refuses
        import hls4ml

        hls4ml.utils.config_from_keras_model(model, granularity="name")


def test_seed_recipe_with_the_blockers_fixed_converts_and_reports_what_differs():
    """Symmetric auto_po2 quantized_bits kernels, real tanh/sigmoid: emulated, with warnings."""
    qk = qmodels.qkeras()
    model = qmodels.qgru(seed=22, bits=9, integer=3, symmetric=1, alpha="auto_po2",
                         activation=qk.quantized_tanh(9, use_real_tanh=True))
    emu = emulate(model, "ap_fixed<9,3>")
    codes = set(emu.diagnosis.codes())
    assert {"rnn-alpha-ignored", "rnn-weights-floored", "rnn-activation-quantizer-result"} <= codes
    floored = _only(emu.diagnosis, "rnn-weights-floored")
    assert floored.details["differing"] > 0 and floored.details["max_lsb"] > 1  # alpha scaling, not 1 LSB


# --- settings hls4ml ignores ----------------------------------------------------------------


def test_precision_table_is_ignored_and_table_t_works():
    model = qmodels.qgru(seed=23)
    spec = {"gru": {"table": "ap_fixed<12,3>"}}
    f = _only(doctor(model, spec), "table-precision-ignored")
    assert f.layer == "gru" and "table_t" in f.fix and "'ap_fixed<12,3>'" in f.fix
    assert _t(convert(model, spec).layer_types()["gru"]["table_t"]) == _t("ap_fixed<18,8>")  # unchanged
    fixed = {"gru": {"table_t": "ap_fixed<12,3>"}}
    assert not doctor(model, fixed).by_code("table-precision-ignored")
    assert _t(convert(model, fixed).layer_types()["gru"]["table_t"]) == _t("ap_fixed<12,3>")


def test_softmax_table_precision_keys_are_ignored_too():
    model = qmodels.float_dense(seed=24)
    spec = {"head": {"exp_table": "ap_fixed<12,4,AP_RND,AP_SAT>", "inv_table": "ap_fixed<12,4,AP_RND,AP_SAT>"}}
    diag = doctor(model, spec)
    assert {f.details["requested"] for f in diag.by_code("table-precision-ignored")} == {
        "ap_fixed<12,4,AP_RND,AP_SAT>"}
    assert len(diag.by_code("table-precision-ignored")) == 2
    types = convert(model, spec).layer_types()["head"]
    assert _t(types["exp_table_t"]) == _t(types["inv_table_t"]) == _t("ap_fixed<18,8,AP_RND,AP_SAT>")


def test_relu_use_sigmoid_is_ignored_and_qkeras_disagrees_with_the_hardware():
    qk = qmodels.qkeras()
    L = qmodels.layers()
    import tensorflow as tf

    tf.keras.utils.set_random_seed(25)
    inp = L.Input((6,), name="inputs")
    x = qk.QDense(8, kernel_quantizer=qmodels.qbits(8, 2), bias_quantizer=qmodels.qbits(8, 2), name="fc")(inp)
    x = qk.QActivation(qk.quantized_relu(8, 2, 1), name="relu")(x)  # the seed's quantized_relu(bits, int, 1)
    model = qmodels.randomize(tf.keras.Model(inp, x), 25)
    f = _only(doctor(model), "relu-use-sigmoid-ignored")
    assert f.layer == "relu" and "use_sigmoid" in f.what
    assert f.details["hardware_step"] == 2.0**-6 and f.details["qkeras_step"] == 2.0**-5
    x = qmodels.inputs(25, 1000, (6,))
    ev = evaluate(model, None, x, progress=False)
    hw, qk_out = ev.outputs["hardware"], ev.outputs["qkeras"]
    # QKeras (hard internal sigmoid) rounds the relu to 2^-5 below its clip at 255/64 (up to
    # float32 noise of its straight-through estimator); the hardware keeps 2^-6
    below = qk_out < 255 / 64
    assert np.allclose(qk_out[below] * 32, np.round(qk_out[below] * 32), atol=1e-4)
    assert np.mean((hw * 64) % 2 == 1) > 0.2
    assert 0 < np.max(np.abs(hw - qk_out)) <= 2.0**-6


def test_alpha_on_recurrent_kernels_is_ignored():
    model = qmodels.qgru(seed=26, symmetric=1, alpha="auto_po2")
    diag = doctor(model)
    assert len(diag.by_code("rnn-alpha-ignored")) == 2
    assert _only(diag, "rnn-weights-floored").details["max_lsb"] > 1


def test_state_quantizer_becomes_accum():
    qk = qmodels.qkeras()
    model = qmodels.qgru(seed=27, state_quantizer=qk.quantized_bits(12, 3))
    f = _only(doctor(model), "state-quantizer-accum")
    assert "fixed<12,4>" in f.what
    assert _t(convert(model).layer_types()["gru"]["accum_t"]) == _t("fixed<12,4>")


def test_recurrent_activation_bits_are_not_applied():
    qk = qmodels.qkeras()
    model = qmodels.qgru(seed=28, recurrent_activation=qk.quantized_sigmoid(6, use_real_sigmoid=True))
    f = _only(doctor(model), "rnn-recurrent-activation-bits-ignored")
    assert f.details["bits"] == 6
    types = convert(model).layer_types()["gru"]
    assert "recurrent_activation" not in str(types) and _t(types["accum_t"]) == _t("fixed<16,6>")


def test_go_backwards_runs_forward_on_the_hardware():
    model = qmodels.qgru(seed=29, go_backwards=True)
    assert _only(doctor(model), "rnn-go-backwards").severity == "warning"


# --- settings hls4ml mis-handles or cannot compile --------------------------------------------


def test_rnn_weights_are_floored_from_the_raw_floats():
    model = qmodels.qgru(seed=30)
    diag = doctor(model)
    f = _only(diag, "rnn-weights-floored")
    gru = model.get_layer("gru")
    kernel, recurrent, bias = gru.get_weights()
    assert f.details["total"] == kernel.size + recurrent.size + bias[0].size
    t = _t("fixed<8,2>")
    floored = from_codes(weight_codes(kernel, t), t)
    qkeras_vals = np.asarray(gru.kernel_quantizer_internal(kernel))
    assert f.details["per_tensor"]["kernel"] == f"{int(np.sum(floored != qkeras_vals))} of {kernel.size}"
    # what fxsim emulates is the floored kernel, i.e. what the hardware holds
    emu = emulate(model)
    spec = next(s for s in emu.layers if s.name == "gru")
    np.testing.assert_array_equal(from_codes(spec.weight, spec.weight_t), floored)
    assert np.any(floored != qkeras_vals)
    # the seed's workaround: the twin with QKeras's values converts to exactly those values
    twin = emulate(quantized_twin(model))
    assert not twin.diagnosis.by_code("rnn-weights-floored")
    tspec = next(s for s in twin.layers if s.name == "gru")
    np.testing.assert_array_equal(from_codes(tspec.weight, tspec.weight_t), qkeras_vals)


def test_lstm_with_differing_types_is_refused_with_a_fix_that_converts():
    qk = qmodels.qkeras()
    model = qmodels.qlstm(seed=31, state_quantizer=qk.quantized_bits(10, 2),
                          activation=qk.quantized_tanh(8, use_real_tanh=True))
    diag = doctor(model)
    f = _only(diag, "lstm-types-differ")
    assert f.severity == "error" and f.layer == "lstm"
    assert f.details["accum_t"] == str(_t("fixed<10,3>")) and f.details["result_t"] == str(
        _t("fixed<8,1,RND_CONV,SAT>"))
    assert {"state-quantizer-accum", "rnn-activation-quantizer-result"} <= set(diag.codes())
    with pytest.raises(ConversionRefused, match="does not compile"):
        emulate(model)
    fixed = doctor(model, f.details["suggested"])
    assert not fixed.by_code("lstm-types-differ") and fixed.ok


def test_gru_reset_before_is_refused_and_hls4ml_writes_scalar_biases():
    model = qmodels.qgru(seed=32, reset_after=False)
    f = _only(doctor(model), "gru-reset-before")
    assert f.severity == "error" and "reset_after=True" in f.fix
    gru = convert(model).hls_model.graph["gru"]
    assert gru.weights["bias"].data.size == 1 and gru.weights["recurrent_bias"].data.size == 1  # C++ reads 3n
    with pytest.raises(ConversionRefused, match="reset_after=False"):
        emulate(model)


@pytest.mark.parametrize("kwargs, what", [
    ({"recurrent_activation": "hard_sigmoid"}, "recurrent_activation='hard_sigmoid'"),
    ({"activation": None}, "activation='linear'"),
])
def test_rnn_activations_without_a_template_are_refused(kwargs, what):
    f = _only(doctor(qmodels.qgru(seed=33, **kwargs)), "rnn-activation-unsupported")
    assert f.severity == "error" and what in f.what


def test_qactivation_quantized_bits_after_auto_layer_is_removed():
    model = qmodels.qdense_activations()
    f = _only(doctor(model), "qactivation-removed")
    assert f.layer == "bits_4" and f.details["previous"] == "fc4" and f.details["next"] == "output"
    hm = convert(model).hls_model
    assert "bits_4" not in hm.graph
    assert _t(hm.graph["output"].get_input_variable().type.precision) == _t(f.details["received"])
    assert _t(f.details["received"]) != _t("fixed<8,4,RND_CONV,SAT>")
    # the suggested fix delivers the QActivation's type to the next layer
    hm = convert(model, f.details["suggested"]).hls_model
    assert _t(hm.graph["output"].get_input_variable().type.precision) == _t("fixed<8,4,RND_CONV,SAT>")
    assert not doctor(model, f.details["suggested"]).by_code("qactivation-removed")


def test_softmax_input_too_wide():
    model = qmodels.float_dense(seed=34)
    f = _only(doctor(model), "softmax-input-too-wide")
    assert f.layer == "head" and f.details["bin_width"] > 0.25
    x = qmodels.inputs(34, 1000, (6,), scale=2.0)
    wide = emulate(model).predict(x.astype(np.float64))
    narrow_spec = {"output": {"result": "ap_fixed<16,6>"}}
    assert not doctor(model, narrow_spec).by_code("softmax-input-too-wide")
    narrow = emulate(model, narrow_spec).predict(x.astype(np.float64))
    keras = model.predict(x, verbose=0)
    assert np.abs(narrow - keras).mean() < np.abs(wide - keras).mean() / 3


def test_table_t_too_narrow_or_out_of_range():
    model = qmodels.qgru(seed=35)
    narrow = _only(doctor(model, {"gru": {"table_t": "ap_fixed<8,1>"}}), "table-too-narrow")
    assert narrow.details["distinct"] < 1024 / 2 and "TableSize" in narrow.fix
    assert not doctor(model, {"gru": {"table_t": "ap_fixed<8,1>", "TableSize": 128}}).by_code("table-too-narrow")
    over = doctor(model, {"gru": {"table_t": "ap_ufixed<8,0>"}}).by_code("table-overflow")
    assert [f.layer for f in over] == ["gru"] and over[0].details["entries_out_of_range"] == 512  # tanh < 0


def test_overflow_on_the_given_data():
    model = qmodels.float_dense(seed=36)
    x = qmodels.inputs(36, 1000, (6,))
    assert not doctor(model, "ap_fixed<16,6>", x=x).by_code("overflow")
    found = doctor(model, "ap_fixed<16,6>", x=x * 100).by_code("overflow")
    inputs = next(f for f in found if f.layer == "inputs")
    assert inputs.details["input"]["overflowed"] > 0 and "wrapping flips signs" in inputs.what
    saturating = doctor(model, {"inputs": {"result": "ap_fixed<16,6,AP_RND,AP_SAT>"}}, x=x * 100).by_code("overflow")
    inputs = next(f for f in saturating if f.layer == "inputs")
    assert "saturate in ap_fixed<16,6,AP_RND,AP_SAT>" in inputs.what and "wrapping" not in inputs.what


def test_table_range_clipping_is_information_not_overflow():
    model = qmodels.qgru(seed=39)
    x = qmodels.inputs(39, 1000, (8, 4), scale=3.0)
    diag = doctor(model, x=x)
    clipped = _only(diag, "table-range-clipped")
    assert clipped.severity == "info" and clipped.layer == "gru"
    assert all(q.endswith("index_clip") for q in clipped.details)
    assert not any(q.endswith("index_clip") for f in diag.by_code("overflow") for q in f.details)


@pytest.mark.parametrize("cls, code, words", [
    ("SimpleRNN", "unsupported-layer", "SimpleRNN is not supported: hls4ml 1.3.0 has no Vivado/Vitis template"),
    ("Conv2D", "not-emulated", "layer 'rnn' (Conv2D) is not supported by fxsim"),
])
def test_unsupported_layers_are_named(cls, code, words):
    L = qmodels.layers()
    import tensorflow as tf

    inp = L.Input((6, 3)) if cls == "SimpleRNN" else L.Input((6, 3, 1))
    layer = L.SimpleRNN(4, name="rnn") if cls == "SimpleRNN" else L.Conv2D(2, 3, name="rnn")
    model = tf.keras.Model(inp, layer(inp))
    f = _only(doctor(model), code)
    assert f.layer == "rnn" and words in f.what
    with pytest.raises(ValueError, match=cls):
        emulate(model)


def test_settings_hls4ml_builds_but_fxsim_does_not_emulate_are_named():
    """QDense with QKeras's default alpha (auto_po2): hls4ml multiplies by po2 exponents (ApplyAlpha)."""
    qk = qmodels.qkeras()
    L = qmodels.layers()
    import tensorflow as tf

    tf.keras.utils.set_random_seed(38)
    inp = L.Input((6,), name="inputs")
    out = qk.QDense(4, kernel_quantizer=qk.quantized_bits(8, 2, 1, alpha="auto_po2"), name="fc")(inp)
    model = qmodels.randomize(tf.keras.Model(inp, out), 38)
    f = _only(doctor(model), "not-emulated")
    assert f.severity == "error" and f.layer == "fc_alpha" and "ApplyAlpha" in f.what
    with pytest.raises(ValueError, match="fc_alpha"):
        emulate(model)


def test_clean_model_has_no_warnings():
    model = qmodels.float_dense(seed=37)
    diag = doctor(model, {"output": {"result": "ap_fixed<16,6>"}})
    assert len(diag) == 0 and diag.ok and str(diag) == "conversion doctor: no findings"
