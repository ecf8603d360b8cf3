"""Keras 3 front-end: LSTM / GRU / Dense / activations through hls4ml's keras-v3 parser, against its C simulation.

Each csim case is a real Keras 3 model (torch backend) converted by
:func:`fxsim.frontends.keras3.convert`, compiled by hls4ml with g++ and traced;
every traced layer and the output are compared code for code on 2000 samples (half
scaled to overflow), with every rounding and overflow mode spread over the types.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
if int(keras.__version__.split(".")[0]) < 3:
    pytest.skip("Keras 2 environment: the Keras 3 front-end runs in .venv-keras3", allow_module_level=True)

from fxsim.frontends import keras3 as fk  # noqa: E402
from fxsim.frontends.keras import HLS4MLError  # noqa: E402

pytestmark = pytest.mark.keras3

N_SAMPLES = 2000


def make(seed: int, cell: str, shape: tuple[int, int], units: int, *, return_sequences: bool = False,
         head: str = "relu", scale: float = 0.6):
    keras.utils.set_random_seed(seed)
    init = keras.initializers.RandomNormal(stddev=scale, seed=seed)
    binit = keras.initializers.RandomNormal(stddev=0.4, seed=seed + 1)
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    inp = keras.Input(shape, name="x")
    h = layer(units, return_sequences=return_sequences, kernel_initializer=init, recurrent_initializer=init,
              bias_initializer=binit, name="rnn")(inp)
    if return_sequences:
        h = keras.layers.Flatten(name="flat")(h)
    h = keras.layers.Dense(3, kernel_initializer=init, bias_initializer=binit, name="fc")(h)
    h = keras.layers.Activation(head, name="act")(h)
    return keras.Model(inp, h)


def inputs(seed: int, shape: tuple[int, int], frac_bits: int = 10) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (N_SAMPLES, *shape))
    x[N_SAMPLES // 2:] *= 3.0
    return np.round(x * 2.0**frac_bits) / 2.0**frac_bits


CASES = {
    "gru-modes": ("gru", (5, 3), 4, False, "sigmoid", {
        "x": {"result": "fixed<12,4,RND_INF,SAT>"},
        "rnn": {"accum": "fixed<20,8,RND_CONV,WRAP>", "result": "fixed<13,4,RND,SAT_SYM>",
                "weight": "fixed<10,3,TRN_ZERO,SAT>", "recurrent_weight": "fixed<9,2,RND_MIN_INF,SAT_ZERO>",
                "bias": "fixed<8,3,RND_ZERO,WRAP>", "recurrent_bias": "fixed<8,2,RND,SAT>",
                "table_t": "fixed<14,4,RND_CONV,SAT>", "TableSize": 256},
        "fc": {"accum": "fixed<22,9,RND,SAT>", "result": "fixed<14,6,TRN,SAT_ZERO>"},
        "act": {"result": "fixed<10,1,RND_CONV,SAT>"}}),
    "lstm-sequences": ("lstm", (4, 2), 3, True, "relu", {
        "x": {"result": "fixed<14,5,RND_ZERO,SAT>"},
        "rnn": {"accum": "fixed<14,5,RND_ZERO,SAT>", "result": "fixed<14,5,RND_ZERO,SAT>",
                "weight": "fixed<8,2,RND_INF,SAT_SYM>", "recurrent_weight": "fixed<9,3,TRN,WRAP>",
                "bias": "fixed<7,2,RND_MIN_INF,SAT>", "table_t": "fixed<12,3,TRN_ZERO,SAT_ZERO>"},
        "fc": {"accum": "fixed<24,10,RND_CONV,WRAP>", "result": "fixed<12,5,RND,SAT_SYM>"},
        "act": {"result": "ufixed<10,4,RND,SAT>"}}),
}


@pytest.mark.csim
@pytest.mark.parametrize("case", sorted(CASES))
def test_csim(case, record, tmp_path_factory):
    from fxsim import crosscheck

    cell, shape, units, seqs, head, precision = CASES[case]
    seed = sum(map(ord, case))
    model = make(seed, cell, shape, units, return_sequences=seqs, head=head)
    conv = fk.convert(model, precision, output_dir=tmp_path_factory.mktemp(f"keras3-{case}"))
    report = crosscheck(conv.hls_model, inputs(seed, shape))
    compared = sum(c.compared for c in report.layers) + report.output.compared
    bad = sum(c.mismatches for c in report.layers) + report.output.mismatches
    record("hls4ml C sim vs fxsim, Keras 3 front-end", compared, bad, "codes")
    assert report.ok, str(report)
    assert {c.layer for c in report.layers} >= {"rnn", "fc"}


def test_keras_file_round_trip(tmp_path):
    from fxsim import from_hls4ml

    model = make(3, "gru", (5, 3), 4)
    path = tmp_path / "m.keras"
    model.save(path)
    conv = fk.convert(path, "fixed<24,8,RND_CONV,SAT>")
    x = inputs(3, (5, 3))[:200]
    y = from_hls4ml(conv.hls_model).predict(x)
    assert np.max(np.abs(y - model.predict(x, verbose=0))) < 0.02


@pytest.mark.csim
def test_bidirectional_lstm_csim(record, tmp_path):
    """Keras 3 ``Bidirectional(LSTM)`` (return_sequences, then a Dense) against the C simulation."""
    from fxsim import crosscheck

    keras.utils.set_random_seed(11)
    init = keras.initializers.RandomNormal(stddev=0.6, seed=11)
    inp = keras.Input((5, 3), name="x")
    h = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True, kernel_initializer=init,
                                                     recurrent_initializer=init,
                                                     bias_initializer=keras.initializers.RandomNormal(0.4, seed=12)),
                                   name="bi")(inp)
    h = keras.layers.Dense(2, kernel_initializer=init, name="fc")(keras.layers.Flatten(name="flat")(h))
    state = "fixed<12,4,RND_CONV,SAT>"
    precision = {"x": {"result": state},
                 "bi": {"accum": state, "result": state, "forward_weight": "fixed<8,2,RND,SAT>",
                        "backward_recurrent_weight": "fixed<9,3>", "Static": False},
                 "fc": {"accum": "fixed<20,8,RND_ZERO,WRAP>", "result": "fixed<12,5,RND_INF,SAT_SYM>"}}
    conv = fk.convert(keras.Model(inp, h), precision, output_dir=tmp_path / "bi")
    report = crosscheck(conv.hls_model, inputs(11, (5, 3)))
    compared = sum(c.compared for c in report.layers) + report.output.compared
    bad = sum(c.mismatches for c in report.layers) + report.output.mismatches
    record("hls4ml C sim vs fxsim, Keras 3 Bidirectional", compared, bad, "codes")
    assert report.ok, str(report)
    assert {c.layer for c in report.layers} >= {"bi", "fc"}


def test_bidirectional_gru_with_bias_is_refused_naming_hls4mls_parser():
    """hls4ml's keras-v3 parser never splits a Bidirectional GRU's bias (it fails with AttributeError)."""
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.Bidirectional(keras.layers.GRU(3), name="bi")])
    with pytest.raises(HLS4MLError, match=r"bi \(Bidirectional\): Bidirectional\(GRU\(use_bias=True\)\)"):
        fk.convert(model)
    assert ("bi", "Bidirectional") in [f[:2] for f in fk.static_findings(model)]


def test_bidirectional_merge_sum_is_refused_with_the_reason():
    from fxsim import from_hls4ml
    from fxsim.frontends.hls4ml import UnsupportedLayerError

    model = keras.Sequential([keras.Input((5, 3)),
                              keras.layers.Bidirectional(keras.layers.LSTM(3), merge_mode="sum", name="bi")])
    conv = fk.convert(model)
    with pytest.raises(UnsupportedLayerError, match=r"'bi' \(Bidirectional\): merge_mode='sum'"):
        from_hls4ml(conv.hls_model)


def test_return_state_refused_by_name():
    inp = keras.Input((5, 3))
    out, _ = keras.layers.GRU(4, return_state=True, name="g")(inp)
    with pytest.raises(HLS4MLError, match=r"g \(GRU\): return_state=True"):
        fk.convert(keras.Model(inp, out))


def test_keras3_model_to_keras2_front_end_names_environment():
    from fxsim.compat import require_keras

    with pytest.raises(ValueError, match=r"Keras 3 model.*use the Keras 3 front-end in \.venv-keras3"):
        require_keras(make(0, "gru", (5, 3), 4), 2)


def test_evaluate_doctor_and_cli_on_a_live_model_and_a_keras_file(tmp_path, capsys):
    """``fxsim.evaluate``, ``fxsim.doctor`` and ``fxsim evaluate m.keras`` on Keras 3: float outputs are
    Keras's own, hardware codes the emulation's, the same from the live model, its file and the CLI."""
    import json

    import fxsim
    from fxsim.cli import main

    model = make(7, "gru", (5, 3), 4, head="linear")
    x = inputs(7, (5, 3))[:400]
    y = np.argmax(model.predict(x, verbose=0), axis=1)
    precision = "ap_fixed<14,5>"
    ev = fxsim.evaluate(model, precision, x, y, progress=False)
    assert ev.names == ["float", "hardware"] and ev.task == "multiclass"
    np.testing.assert_allclose(ev.outputs["float"], model.predict(x, verbose=0), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(ev.hardware_codes, fxsim.emulate(model, precision).predict_codes(x))
    assert ev.metrics["float"]["accuracy"] == 1.0
    assert ev.metrics["hardware"]["accuracy"] == pytest.approx(np.mean(ev.outputs["hardware"].argmax(1) == y))

    path = tmp_path / "m.keras"
    model.save(path)
    from_file = fxsim.evaluate(path, precision, x, y, progress=False)
    np.testing.assert_array_equal(from_file.hardware_codes, ev.hardware_codes)

    # the doctor on the file: inputs far outside <6,2> overflow, and it says where
    diagnosis = fxsim.doctor(path, "ap_fixed<6,2>", x * 8)
    assert "overflow" in diagnosis.codes()
    assert not [f for f in diagnosis if f.severity == "error"]

    np.savez(tmp_path / "d.npz", x=x, y=y)
    out = tmp_path / "ev.json"
    rc = main(["evaluate", str(path), "--precision", precision, "--data", str(tmp_path / "d.npz"),
               "--labels", "y", "--json", str(out), "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    assert "fxsim evaluate:" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc["metrics"]["hardware"]["accuracy"] == ev.metrics["hardware"]["accuracy"]
    assert doc["n_samples"] == 400


def test_a_gru_the_hardware_computes_wrong_is_a_doctor_finding():
    """``reset_after=False``: hls4ml 1.3.0 compiles it but computes it wrong; the doctor says so."""
    import fxsim

    inp = keras.Input((5, 3), name="x")
    model = keras.Model(inp, keras.layers.GRU(4, reset_after=False, name="g")(inp))
    findings = [f for f in fxsim.doctor(model, "ap_fixed<16,6>") if f.layer == "g"]
    assert findings and any("reset_after" in f.what for f in findings), findings
