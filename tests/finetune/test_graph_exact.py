"""The training graph's forward codes equal the emulator's, code for code.

Random small Keras models (Dense stacks with relu/sigmoid/tanh/linear and every softmax
implementation; GRU and LSTM with and without ``return_sequences``, static and not) at
random precisions (widths 5-18, every rounding mode, WRAP/SAT/SAT_SYM/SAT_ZERO,
per-layer accum/result/table types and table sizes) on inputs of which half are large
enough to overflow the input type; the shipped QKeras GRU at the issue's precisions.
Each case compares every output code of :meth:`ExactGraph.predict_codes` with
``fxsim.emulate(model, precision).predict_codes`` and records the count.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import fxsim  # noqa: E402
from fxsim.finetuning import ste  # noqa: E402
from fxsim.finetuning.graph import ExactGraph, GraphError  # noqa: E402
from fxsim.fixed import FixedType, Overflow, Rounding  # noqa: E402

pytestmark = pytest.mark.keras2

N = 1000
ROUNDINGS = [m.name for m in Rounding]
OVERFLOWS = [m.name for m in Overflow]


def _type(rng: np.random.Generator, lo: int = 5, hi: int = 18, modes: bool = True) -> str:
    w = int(rng.integers(lo, hi + 1))
    i = int(rng.integers(1, min(w, 8) + 1))
    if not modes or rng.random() < 0.4:
        return f"ap_fixed<{w},{i}>"
    return f"ap_fixed<{w},{i},AP_{rng.choice(ROUNDINGS)},AP_{rng.choice(OVERFLOWS)}>"


def _inputs(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    x = rng.normal(0.0, 1.0, (N, *shape))
    x[N // 2:] *= 8.0  # overflow the input type and the accumulators
    return x.astype(np.float32)


def _compare(record, section: str, model, precision, x) -> int:
    emu = fxsim.emulate(model, precision)
    graph = ExactGraph(emu, model)
    ours = graph.predict_codes(x)
    theirs = emu.predict_codes(x).reshape(len(x), -1)
    bad = int(np.sum(ours != theirs))
    record(section, ours.size, bad, "codes")
    assert ours.shape == theirs.shape
    assert bad == 0, f"{bad} of {ours.size} codes differ at {precision}; first rows\n{ours[:4]}\n{theirs[:4]}"
    return ours.size


def test_cast_matches_fixed_for_every_mode(record):
    """ste.exact_codes == fxsim.fixed.cast for every rounding x overflow x signedness."""
    rng = np.random.default_rng(1)
    src = FixedType(20, 8)
    codes = rng.integers(src.min_code, src.max_code + 1, 4000)
    codes[:8] = [src.min_code, src.max_code, 0, -1, 1, 2**10, -(2**10), 2**10 + 2**3]
    values = tf.constant(fxsim.from_codes(codes, src), tf.float64)
    compared = bad = 0
    for r, o, signed in itertools.product(Rounding, Overflow, (True, False)):
        for w, i in ((6, 2), (9, 5), (12, 1)):
            dst = FixedType(w, i, signed, r, o)
            ours = ste.exact_codes(values, dst)[0].numpy().astype(np.int64)
            theirs = fxsim.cast(codes, src, dst)
            compared += ours.size
            bad += int(np.sum(ours != theirs))
            assert np.array_equal(ours, theirs), f"{dst}: {np.sum(ours != theirs)} differ"
    record("finetune graph: casts", compared, bad, "codes")


def _dense_model(seed: int, n_in: int, widths: list[int], acts: list[str], final: str):
    k = tf.keras
    k.utils.set_random_seed(seed)
    inp = k.Input((n_in,), name="x")
    h = inp
    for j, (n, a) in enumerate(zip(widths, acts)):
        h = k.layers.Dense(n, name=f"fc{j}", kernel_initializer=k.initializers.RandomNormal(stddev=0.6, seed=seed + j),
                           bias_initializer=k.initializers.RandomNormal(stddev=0.3, seed=seed + 50 + j))(h)
        h = k.layers.Activation(a, name=f"act{j}")(h)
    h = k.layers.Dense(4 if final == "softmax" else 1, name="out")(h)
    h = k.layers.Activation(final, name="out_act")(h)
    return k.Model(inp, h)


DENSE_CASES = [
    (0, [8], ["relu"], "sigmoid"),
    (1, [6, 5], ["tanh", "relu"], "softmax"),
    (2, [7], ["sigmoid"], "softmax"),
    (3, [5, 5], ["relu", "sigmoid"], "tanh"),
    (4, [6], ["linear"], "softmax"),
]


@pytest.mark.parametrize("seed,widths,acts,final", DENSE_CASES)
def test_dense_stack(record, seed, widths, acts, final):
    rng = np.random.default_rng(100 + seed)
    model = _dense_model(seed, 5, widths, acts, final)
    x = _inputs(rng, (5,))
    # a uniform precision, then per-layer types with modes, table sizes and softmax implementations
    _compare(record, "finetune graph: dense stacks", model, _type(rng, 6, 14, modes=False), x)
    spec = {}
    for j in range(len(widths)):
        spec[f"fc{j}"] = {"accum": _type(rng), "result": _type(rng), "weight": _type(rng, 6, 12, False)}
        spec[f"act{j}"] = {"result": _type(rng), "table_t": _type(rng, 8, 18),
                           "TableSize": int(rng.choice([256, 333, 1024]))}
    spec["out"] = {"accum": _type(rng), "result": _type(rng, 8, 16)}
    if final == "softmax":
        impl = ["stable", "latency", "legacy", "argmax"][seed % 4]
        spec["out_act"] = {"Implementation": impl}
    _compare(record, "finetune graph: dense stacks", model, spec, x)


def _rnn_model(seed: int, cell: str, units: int, return_sequences: bool, activation="tanh",
               recurrent_activation="sigmoid"):
    k = tf.keras
    k.utils.set_random_seed(seed)
    init = k.initializers.RandomNormal(stddev=0.6, seed=seed)
    cls = {"lstm": k.layers.LSTM, "gru": k.layers.GRU}[cell]
    inp = k.Input((5, 3), name="x")
    h = cls(units, activation=activation, recurrent_activation=recurrent_activation, return_sequences=return_sequences,
            kernel_initializer=init, recurrent_initializer=init,
            bias_initializer=k.initializers.RandomNormal(stddev=0.4, seed=seed + 1), name="rnn")(inp)
    if return_sequences:
        h = k.layers.Flatten(name="flat")(h)
    h = k.layers.Dense(1, name="out", kernel_initializer=k.initializers.RandomNormal(stddev=0.5, seed=seed + 2))(h)
    h = k.layers.Activation("sigmoid", name="out_act")(h)
    return k.Model(inp, h)


RNN_CASES = [
    (10, "gru", 4, False, True, "tanh", "sigmoid"),
    (11, "gru", 3, True, False, "tanh", "sigmoid"),
    (12, "gru", 5, False, False, "relu", "sigmoid"),
    (13, "lstm", 4, False, True, "tanh", "sigmoid"),
    (14, "lstm", 3, True, False, "tanh", "sigmoid"),
    (15, "lstm", 4, False, True, "tanh", "tanh"),
]


@pytest.mark.parametrize("seed,cell,units,return_sequences,static,activation,recurrent_activation", RNN_CASES)
def test_recurrent(record, seed, cell, units, return_sequences, static, activation, recurrent_activation):
    rng = np.random.default_rng(200 + seed)
    model = _rnn_model(seed, cell, units, return_sequences, activation, recurrent_activation)
    x = _inputs(rng, (5, 3))
    _compare(record, f"finetune graph: {cell}", model, _type(rng, 6, 14, modes=False), x)
    rnn = {"table_t": _type(rng, 8, 18), "TableSize": int(rng.choice([128, 333, 1024])), "Static": static,
           "weight": _type(rng, 6, 12, False), "recurrent_weight": _type(rng, 6, 12, False),
           "bias": _type(rng, 6, 12, False)}
    if cell == "lstm":  # hls4ml's LSTM compiles only with input == accum == result
        t = _type(rng, 8, 16)
        spec = {"x": {"result": t}, "rnn": dict(rnn, accum=t, result=t)}
    else:
        spec = {"x": {"result": _type(rng, 6, 14)}, "rnn": dict(rnn, accum=_type(rng, 8, 16), result=_type(rng, 6, 14))}
    spec["out"] = {"accum": _type(rng), "result": _type(rng, 8, 16)}
    _compare(record, f"finetune graph: {cell}", model, spec, x)


@pytest.mark.parametrize("precision", ["ap_fixed<8,3>", "ap_fixed<6,2>", None])
def test_shipped_qkeras_gru(record, precision):
    from fxsim.models import zoo

    model = zoo.load("toptag_gru_q8i2")
    x = _inputs(np.random.default_rng(7), (20, 6))
    _compare(record, "finetune graph: shipped QKeras GRU", model, precision, x)


def test_unexpressible_layer_is_named():
    k = tf.keras
    k.utils.set_random_seed(0)
    inp = k.Input((4,), name="x")
    h = k.layers.Dense(3, name="fc", activation="relu")(inp)
    h = k.layers.BatchNormalization(name="bn")(h)  # after the activation: hls4ml cannot fold it into fc
    model = k.Model(inp, k.layers.Dense(1, name="out")(h))
    emu = fxsim.emulate(model, "ap_fixed<12,5>")
    if not any(type(s).__name__ == "ScaleSpec" for s in emu.layers):
        pytest.skip("hls4ml folded the BatchNormalization into the Dense")
    with pytest.raises(GraphError, match="bn"):
        ExactGraph(emu, model)


def test_too_wide_for_float64_is_refused():
    model = _dense_model(0, 5, [4], ["relu"], "sigmoid")
    emu = fxsim.emulate(model, {"x": {"result": "ap_fixed<20,6>"},
                                "fc0": {"accum": "ap_fixed<40,12>", "weight": "ap_fixed<40,8>",
                                        "result": "ap_fixed<16,6>"}})
    with pytest.raises(GraphError, match="fc0"):
        ExactGraph(emu, model)


def test_gradients_reach_every_variable():
    model = _rnn_model(3, "gru", 4, False)
    emu = fxsim.emulate(model, "ap_fixed<12,4>")
    graph = ExactGraph(emu, model)
    x = tf.constant(graph.input_values(_inputs(np.random.default_rng(0), (5, 3))[:64]), tf.float64)
    feeds = [(tf.constant(v, tf.float64), tf.constant(m, tf.float64)) for v, m in graph.feeds()]
    y = tf.constant(np.random.default_rng(1).integers(0, 2, (64, 1)), tf.float64)
    with tf.GradientTape() as tape:
        _, logits = graph.forward(x, feeds)
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(y, logits))
    grads = tape.gradient(loss, graph.variables)
    assert len(grads) == len(graph.variables) == 5  # GRU kernel, recurrent kernel, bias; Dense kernel, bias
    for v, g in zip(graph.variables, grads):
        assert g is not None and np.all(np.isfinite(g.numpy())) and np.any(g.numpy() != 0), v.name
