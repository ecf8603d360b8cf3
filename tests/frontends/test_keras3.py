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
