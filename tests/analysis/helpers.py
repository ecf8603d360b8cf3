"""Small hand-built IRs and synthetic metrics for the analysis tests."""

from __future__ import annotations

import numpy as np

from fxsim import ir
from fxsim.fixed import FixedType

T16 = FixedType(16, 6)


def recurrent_spec(name: str, cell: str, n_in: int, n_state: int, t: FixedType = T16) -> ir.RecurrentSpec:
    k = 4 if cell == "lstm" else 3
    z = np.zeros
    return ir.RecurrentSpec(
        name=name, cell=cell, input_t=t, n_timesteps=5,
        weight=z((n_in, k * n_state), np.int64), recurrent_weight=z((n_state, k * n_state), np.int64),
        bias=z(k * n_state, np.int64), recurrent_bias=z(k * n_state, np.int64),
        weight_t=t, recurrent_weight_t=t, bias_t=t, recurrent_bias_t=t, accum_t=t, result_t=t,
        table_t=FixedType(18, 8), table_size=1024, activation="tanh", recurrent_activation="sigmoid",
    )


def dense_spec(name: str, n_in: int, n_out: int, t: FixedType = T16) -> ir.DenseSpec:
    return ir.DenseSpec(name=name, input_t=t, weight=np.zeros((n_in, n_out), np.int64),
                        bias=np.zeros(n_out, np.int64), weight_t=t, bias_t=t, accum_t=t, result_t=t)


def toy_specs(cell: str = "gru") -> list:
    """inputs(5x3) -> gru/lstm(4) -> dense(2) -> relu -> output(1) -> sigmoid."""
    return [
        ir.InputSpec("inputs", (5, 3), T16),
        recurrent_spec(cell, cell, 3, 4),
        dense_spec("dense_1", 4, 2),
        ir.ActivationSpec("relu_1", "relu", T16, FixedType(8, 2, False, "RND_CONV", "SAT")),
        dense_spec("output", 2, 1),
        ir.ActivationSpec("output_sigmoid", "sigmoid", T16, T16, table_t=FixedType(18, 8), table_size=1024),
    ]


def separable_metric(need_frac: dict, need_int: dict, scale: float = 0.02):
    """A metric that falls by ``scale * 2**-(F - need_frac)`` per knob and collapses without enough integer bits.

    ``need_*`` map a knob ``(layer, quantity)`` to its requirement (default 0 / 1).
    """

    def metric(point) -> float:
        m = 1.0
        for key, t in point.types.items():
            if t.integer < need_int.get(key, 1):
                return 0.5
            m -= scale * 2.0 ** -(t.frac - need_frac.get(key, 0))
        for _name, n in point.table_sizes.items():
            m -= 1e-4 * 1024 / n
        return m

    def evaluate(points):
        return [metric(p) for p in points]

    return metric, evaluate


def small_qkeras(cell: str = "gru", steps: int = 6, n_in: int = 4, units: int = 5, seed: int = 0, bits: int = 8,
                 integer: int = 2):
    """inputs(steps x n_in) -> QGRU/QLSTM(units) -> QDense(8) -> QActivation(relu) -> QDense(1) -> sigmoid.

    The seed study's layer names and the zoo's ``default`` QAT recipe (``bits`` total,
    ``integer`` integer bits), with random weights scaled so that every layer does something.
    """
    import tensorflow as tf

    from fxsim.compat import import_qkeras

    qk = import_qkeras()
    tf.keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    layers = tf.keras.layers

    def q():
        return qk.quantized_bits(bits, integer, alpha=1)

    rnn = qk.QGRU if cell == "gru" else qk.QLSTM
    extra = {"reset_after": True} if cell == "gru" else {}
    inp = layers.Input((steps, n_in), name="inputs")
    h = rnn(units, activation="tanh", recurrent_activation="sigmoid", kernel_quantizer=q(), recurrent_quantizer=q(),
            bias_quantizer=q(), name=cell, **extra)(inp)
    h = qk.QDense(8, kernel_quantizer=q(), bias_quantizer=q(), name="dense_1")(h)
    h = qk.QActivation(qk.quantized_relu(bits, integer), name="relu_1")(h)
    h = qk.QDense(1, kernel_quantizer=q(), bias_quantizer=q(), name="output")(h)
    out = layers.Activation("sigmoid", name="output_sigmoid")(h)
    model = tf.keras.Model(inp, out)
    model.set_weights([w + rng.normal(scale=0.4, size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def labelled_data(model, n: int, seed: int = 0, noise: float = 0.05):
    """Gaussian inputs and labels the float model nearly separates (AUC around 0.9)."""
    from fxsim.frontends.keras import float_twin

    rng = np.random.default_rng(seed + 100)
    x = rng.normal(size=(n, *model.input_shape[1:])).astype(np.float32)
    scores = float_twin(model).predict(x, verbose=0)[:, 0]
    y = (scores + rng.normal(scale=noise * scores.std() * 10, size=n) > np.median(scores)).astype(np.int64)
    return x, y
