"""Small QKeras/Keras models for the front-end, doctor, evaluate and C-sim tests.

Every builder seeds TensorFlow, builds the model and then draws all weights from a
seeded normal distribution (biases included, so they are not the zeros Keras
starts with), so the same call gives the same weights and hence the same cached
hls4ml build.
"""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def qkeras():
    from fxsim.compat import import_qkeras

    return import_qkeras()


def layers():
    import tensorflow as tf

    return tf.keras.layers


def randomize(model, seed: int, scale: float = 0.5):
    """Replace every weight by seeded N(0, scale²) values, in layer order."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if ws:
            layer.set_weights([rng.normal(0.0, scale, w.shape).astype(np.float32) for w in ws])
    return model


def _model(inp, out, name):
    import tensorflow as tf

    return tf.keras.Model(inp, out, name=name)


def qbits(bits: int, integer: int, symmetric: int = 0, alpha=1):
    return qkeras().quantized_bits(bits, integer, symmetric, alpha=alpha)


def qgru(seed: int = 1, bits: int = 8, integer: int = 1, *, alpha=1, symmetric: int = 0,
         activation="tanh", recurrent_activation="sigmoid", state_quantizer=None, reset_after: bool = True,
         timesteps: int = 8, features: int = 4, units: int = 6, head: str = "sigmoid", **rnn_kwargs):
    """Input(T, F) → QGRU → QDense(8) → QActivation(quantized_relu) → QDense → sigmoid/softmax."""
    qk = qkeras()
    L = layers()
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    kq = qbits(bits, integer, symmetric, alpha)
    inp = L.Input((timesteps, features), name="inputs")
    x = qk.QGRU(units, activation=activation, recurrent_activation=recurrent_activation, kernel_quantizer=kq,
                recurrent_quantizer=qbits(bits, integer, symmetric, alpha), bias_quantizer=qbits(bits, integer),
                state_quantizer=state_quantizer, reset_after=reset_after, name="gru", **rnn_kwargs)(inp)
    x = qk.QDense(8, kernel_quantizer=qbits(bits, integer), bias_quantizer=qbits(bits, integer), name="dense_1")(x)
    x = qk.QActivation(qk.quantized_relu(bits, 2), name="relu_1")(x)
    n_out = 1 if head == "sigmoid" else 3
    x = qk.QDense(n_out, kernel_quantizer=qbits(bits, integer), bias_quantizer=qbits(bits, integer), name="output")(x)
    out = L.Activation(head, name=f"output_{head}")(x)
    return randomize(_model(inp, out, f"qgru_s{seed}"), seed)


def qlstm(seed: int = 2, bits: int = 8, integer: int = 1, *, alpha=1, activation="tanh",
          recurrent_activation="sigmoid", state_quantizer=None, timesteps: int = 6, features: int = 3,
          units: int = 5, **rnn_kwargs):
    """Input(T, F) → QLSTM → QDense(3) → softmax."""
    qk = qkeras()
    L = layers()
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    inp = L.Input((timesteps, features), name="inputs")
    x = qk.QLSTM(units, activation=activation, recurrent_activation=recurrent_activation,
                 kernel_quantizer=qbits(bits, integer, alpha=alpha),
                 recurrent_quantizer=qbits(bits, integer, alpha=alpha),
                 bias_quantizer=qbits(bits, integer), state_quantizer=state_quantizer, name="lstm", **rnn_kwargs)(inp)
    x = qk.QDense(3, kernel_quantizer=qbits(bits, integer), bias_quantizer=qbits(bits, integer), name="output")(x)
    out = L.Activation("softmax", name="output_softmax")(x)
    return randomize(_model(inp, out, f"qlstm_s{seed}"), seed)


def qdense_activations(seed: int = 3):
    """QDense stack through every QActivation quantizer hls4ml maps.

    symmetric alpha='auto' kernel (hls4ml inserts ApplyAlpha) → real quantized_tanh →
    real quantized_sigmoid → quantized_relu → quantized_bits directly after an
    'auto' QDense (hls4ml removes it) → QDense → softmax.
    """
    qk = qkeras()
    L = layers()
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    inp = L.Input((10,), name="inputs")
    x = qk.QDense(12, kernel_quantizer=qbits(8, 2, 1, "auto"), bias_quantizer=qbits(8, 2, 1), name="fc1")(inp)
    x = qk.QActivation(qk.quantized_tanh(8, use_real_tanh=True), name="tanh_1")(x)
    x = qk.QDense(8, kernel_quantizer=qbits(6, 1), bias_quantizer=qbits(6, 1), name="fc2")(x)
    x = qk.QActivation(qk.quantized_sigmoid(8, use_real_sigmoid=True), name="sigmoid_2")(x)
    x = qk.QDense(8, kernel_quantizer=qbits(8, 2), bias_quantizer=qbits(8, 2), name="fc3")(x)
    x = qk.QActivation(qk.quantized_relu(7, 2), name="relu_3")(x)
    x = qk.QDense(6, kernel_quantizer=qbits(8, 2), bias_quantizer=qbits(8, 2), name="fc4")(x)
    x = qk.QActivation(qk.quantized_bits(8, 3), name="bits_4")(x)
    x = qk.QDense(3, kernel_quantizer=qbits(8, 2), bias_quantizer=qbits(8, 2), name="output")(x)
    out = L.Activation("softmax", name="output_softmax")(x)
    return randomize(_model(inp, out, f"qdense_s{seed}"), seed)


def float_dense(seed: int = 4, n_in: int = 6, n_out: int = 3):
    """A float Keras Dense → relu → Dense → softmax (or sigmoid for one output)."""
    L = layers()
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    inp = L.Input((n_in,), name="inputs")
    x = L.Dense(8, activation="relu", name="fc1")(inp)
    x = L.Dense(n_out, name="output")(x)
    out = L.Activation("softmax" if n_out > 1 else "sigmoid", name="head")(x)
    return randomize(_model(inp, out, f"float_dense_s{seed}"), seed)


def inputs(seed: int, n: int, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    """Seeded float32 normal inputs."""
    return np.random.default_rng(seed).normal(0.0, scale, (n, *shape)).astype(np.float32)
