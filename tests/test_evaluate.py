"""``fxsim.evaluate`` and its metrics: outputs, metrics, gaps, batches, export, and bad input.

The bit-exactness of the hardware outputs against hls4ml's C simulation is in
``tests/csim/test_qkeras.py``; here the hardware outputs are compared with the
emulator called directly, and the metrics with scikit-learn.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fxsim.doctor import ConversionRefused
from fxsim.evaluate import EmulatedModel, emulate, evaluate
from fxsim.frontends.keras import float_twin
from fxsim.metrics import agreement, check_labels, classification_metrics, compute, resolve_metrics
from tests.frontends import qmodels

pytestmark = pytest.mark.keras2

# --- metrics ----------------------------------------------------------------------------------


def test_binary_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    p = np.clip(y * 0.3 + rng.uniform(0, 0.7, 500), 0, 1)[:, None]
    m = classification_metrics(y, p)
    assert m["accuracy"] == pytest.approx(np.mean((p[:, 0] > 0.5) == y))
    assert m["auc"] == pytest.approx(roc_auc_score(y, p[:, 0]))
    assert m["per_class"]["1"]["accuracy"] == pytest.approx(np.mean(p[y == 1, 0] > 0.5))
    assert m["per_class"]["0"]["count"] == int(np.sum(y == 0))


def test_multiclass_metrics_one_vs_rest_and_one_hot_labels():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 600)
    logits = rng.normal(size=(600, 3)) + 1.5 * np.eye(3)[y]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    m = classification_metrics(y, p)
    assert m["auc"] == pytest.approx(roc_auc_score(y, p, multi_class="ovr", average="macro"))
    for c in range(3):
        assert m["per_class"][str(c)]["auc"] == pytest.approx(roc_auc_score(y == c, p[:, c]))
        assert m["per_class"][str(c)]["accuracy"] == pytest.approx(np.mean(p[y == c].argmax(1) == c))
    assert np.array_equal(check_labels(np.eye(3)[y], 600, 3), y)


def test_undefined_auc_is_none_not_a_number():
    m = classification_metrics(np.zeros(10, dtype=int), np.linspace(0, 1, 10)[:, None])
    assert m["auc"] is None and m["per_class"]["1"]["accuracy"] is None


@pytest.mark.parametrize("labels, n_out, words", [
    (np.zeros(9), 1, "9 entries for 10 samples"),
    (np.full(10, 2), 1, "0..1"),
    (np.full(10, 0.5), 1, "whole numbers"),
    (np.zeros((10, 3)), 3, "one-hot"),
    (np.array(["a"] * 10), 1, "numeric"),
    (np.full(10, np.nan), 1, "NaN"),
])
def test_bad_labels_raise(labels, n_out, words):
    with pytest.raises(ValueError, match=words):
        check_labels(labels, 10, n_out)


def test_custom_and_selected_metrics():
    y = np.array([0, 1, 1, 0])
    p = np.array([[0.2], [0.9], [0.4], [0.1]])
    out = compute(y, p, ["accuracy", {"brier": lambda yy, pp: float(np.mean((pp[:, 0] - yy) ** 2))}])
    assert out == {"accuracy": 0.75, "brier": pytest.approx(np.mean((p[:, 0] - y) ** 2))}
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        resolve_metrics("f1")
    assert agreement(p, p[::-1])["same_class"] == 0.5


# --- evaluate ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dense():
    return qmodels.float_dense(seed=61)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(61)
    return qmodels.inputs(61, 1200, (6,), scale=2.0), rng.integers(0, 3, 1200)


def test_emulate_carries_the_resolved_config(dense):
    emu = emulate(dense, {"output": {"result": "ap_fixed<16,6>"}})
    assert isinstance(emu, EmulatedModel)
    assert emu.hls_config["LayerName"]["output"]["Precision"]["result"] == "ap_fixed<16,6>"
    assert emu.layer_types["output"]["result_t"] == "fixed<16,6,TRN,WRAP,0>"
    assert "EmulatedModel" in repr(emu)


def test_float_model_outputs_metrics_and_gaps(dense, data):
    x, y = data
    spec = {"output": {"result": "ap_fixed<16,6>"}}
    ev = evaluate(dense, spec, x, y, progress=False)
    assert ev.names == ["float", "hardware"] and "qkeras" not in ev.outputs
    np.testing.assert_allclose(ev.outputs["float"], dense.predict(x, verbose=0), rtol=1e-6)
    emu = emulate(dense, spec)
    np.testing.assert_array_equal(ev.hardware_codes, emu.predict_codes(x))
    np.testing.assert_array_equal(ev.outputs["hardware"], emu.predict(x.astype(np.float64)))
    assert ev.gaps["hardware - float"]["accuracy"] == pytest.approx(
        ev.metrics["hardware"]["accuracy"] - ev.metrics["float"]["accuracy"])
    assert ev.metrics["float"]["accuracy"] == pytest.approx(np.mean(ev.outputs["float"].argmax(1) == y))
    table = ev.table()
    for words in ("fxsim evaluate", "accuracy", "ROC AUC", "class 2 accuracy", "hw - float", "overflows",
                  "conversion doctor"):
        assert words in table
    assert str(ev) == table


def test_quantized_model_has_qkeras_and_float_twin_outputs():
    model = qmodels.qdense_activations(seed=62)
    x = qmodels.inputs(62, 1000, (10,))
    ev = evaluate(model, None, x, progress=False)
    assert ev.names == ["float", "qkeras", "hardware"]
    np.testing.assert_allclose(ev.outputs["qkeras"], model.predict(x, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(ev.outputs["float"], float_twin(model).predict(x, verbose=0), rtol=1e-6)
    assert ev.metrics == {} and ev.gaps == {}
    assert set(ev.agreement) == {"qkeras", "float"}
    assert "no labels given" in ev.table()
    assert "qactivation-removed" in ev.diagnosis.codes()


def test_batches_give_the_same_result(dense, data):
    x, y = data
    one = evaluate(dense, "ap_fixed<10,4>", x, y, batch_size=5000, progress=False)
    many = evaluate(dense, "ap_fixed<10,4>", x, y, batch_size=97, progress=False)
    np.testing.assert_array_equal(one.hardware_codes, many.hardware_codes)  # the hardware: exact
    assert one.overflow.to_dict() == many.overflow.to_dict()
    assert one.metrics["hardware"] == many.metrics["hardware"]
    # Keras' float32 kernels sum in a batch-size dependent order: a few float32 ulps of the outputs' scale apart
    eps, scale = np.finfo(np.float32).eps, np.abs(one.outputs["float"]).max()
    np.testing.assert_allclose(one.outputs["float"], many.outputs["float"], rtol=8 * eps, atol=8 * eps * scale)
    assert one.metrics["float"]["accuracy"] == pytest.approx(many.metrics["float"]["accuracy"], abs=2 / len(y))


def test_progress_counts_samples_and_is_silent_when_off(dense, data, capsys):
    x, y = data
    evaluate(dense, None, x[:300], y[:300], batch_size=100, progress=False)
    assert capsys.readouterr().err == ""  # library and --quiet use: nothing on stderr
    evaluate(dense, None, x[:300], y[:300], batch_size=100, progress=True)
    err = capsys.readouterr().err
    assert "300/300" in err and "3/3" not in err, err  # counts samples, not batches


def test_overflows_on_data_become_findings(dense, data):
    x, y = data
    ev = evaluate(dense, "ap_fixed<8,3>", x * 10, y, progress=False)
    assert ev.overflow.total > 0
    assert "overflow" in ev.diagnosis.codes()
    assert "inputs" in ev.table().split("overflows:")[1]


def test_json_export_is_complete_and_atomic(dense, data, tmp_path):
    x, y = data
    ev = evaluate(dense, "ap_fixed<16,6>", x, y, progress=False, class_names=["a", "b", "c"])
    path = ev.to_json(tmp_path / "sub" / "ev.json")
    doc = json.loads(path.read_text())
    assert doc["metrics"]["hardware"]["accuracy"] == ev.metrics["hardware"]["accuracy"]
    assert doc["precision"] == "ap_fixed<16,6>" and doc["n_samples"] == 1200
    assert doc["hls_config"]["Model"]["Precision"]["default"] == "ap_fixed<16,6>"
    assert {f["code"] for f in doc["findings"]} == set(ev.diagnosis.codes())
    assert "outputs" not in doc
    assert [p.name for p in path.parent.iterdir()] == ["ev.json"]  # no temporary left behind
    full = json.loads(ev.to_json(tmp_path / "full.json", include_outputs=True).read_text())
    assert np.array_equal(np.array(full["hardware_codes"]), ev.hardware_codes)
    assert "class c accuracy" in ev.table()


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("make_x, words", [
    (lambda x: x[:, :5], "shape (1200, 5) does not match the model input (6,)"),
    (lambda x: x.reshape(1200, 2, 3), "does not match the model input"),
    (lambda x: np.where(np.arange(x.size).reshape(x.shape) == 7, np.nan, x),
     "1 non-finite values (NaN), first at index (1, 1)"),
    (lambda x: np.where(np.arange(x.size).reshape(x.shape) == 0, np.inf, x), "(inf)"),
    (lambda x: x[:0], "no samples"),
    (lambda x: x.astype(str), "must be numeric"),
])
def test_bad_inputs_raise_before_any_work(dense, data, make_x, words):
    x, y = data
    with pytest.raises(ValueError) as err:
        evaluate(dense, None, make_x(x), progress=False)
    assert words in str(err.value)


@pytest.mark.parametrize("precision, words", [
    ({"gru": {"result": "ap_fixed<16,6>"}}, "unknown layer ['gru']"),
    ({"output": {"result": "ap_fixed<16"}}, "cannot parse"),
    ("ap_fixed<99,9>", "99 bits wide"),
])
def test_bad_precision_raises(dense, data, precision, words):
    x, y = data
    with pytest.raises(ValueError) as err:
        evaluate(dense, precision, x, y, progress=False)
    assert words in str(err.value)


def test_bad_labels_and_options_raise(dense, data):
    x, y = data
    with pytest.raises(ValueError, match="1199 entries for 1200 samples"):
        evaluate(dense, None, x, y[:-1], progress=False)
    with pytest.raises(ValueError, match="unknown hls4ml option"):
        evaluate(dense, None, x, y, progress=False, reuse=2)
    with pytest.raises(ValueError, match="batch_size"):
        evaluate(dense, None, x, y, progress=False, batch_size=0)
    with pytest.raises(ValueError, match="class_names has 2 names for 3 classes"):
        evaluate(dense, None, x, y, progress=False, class_names=["a", "b"])


def test_unsupported_and_undefined_models_are_refused(data):
    L = qmodels.layers()
    import tensorflow as tf

    inp = L.Input((6, 3))
    rnn = tf.keras.Model(inp, L.SimpleRNN(3, name="rnn")(inp))
    with pytest.raises(ConversionRefused, match="SimpleRNN is not supported"):
        evaluate(rnn, None, qmodels.inputs(0, 10, (6, 3)), progress=False)
    gru = qmodels.qgru(seed=63, reset_after=False)
    with pytest.raises(ConversionRefused) as err:
        evaluate(gru, None, qmodels.inputs(0, 10, (8, 4)), progress=False)
    assert "reset_after=False" in str(err.value) and "fix: use reset_after=True" in str(err.value)
