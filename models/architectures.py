"""The seed study's architectures, float and QKeras, with stable layer names.

=========  ==========  ============================================================
task       input       layers
=========  ==========  ============================================================
toptag     (20, 6)     GRU(20) or LSTM(20) → Dense(64) relu → Dense(1) sigmoid
btag       (15, 6)     GRU(120) or LSTM(120) → Dense(50) relu → Dense(10) relu → Dense(3) softmax
quickdraw  (100, 3)    GRU(32, return_sequences) → Flatten → Dense(32) relu → Dense(16) relu → Dense(5) softmax
=========  ==========  ============================================================

Layer names are the same for float and quantized models: ``inputs`` (hls4ml reserves ``input``), ``gru``/``lstm``,
``flatten``, ``dense_1``, ``relu_1``, ``dense_2``, ``relu_2``, ``output`` and
``output_sigmoid``/``output_softmax``. Recurrent layers use ``unroll=False``.

Quantization recipes (total bits = integer + fractional + 1 sign bit):

``default`` (what hls4ml 1.3.0 builds faithfully)
    QGRU/QLSTM with ``quantized_bits(b, i, alpha=1)`` kernel, recurrent and
    bias quantizers, ``activation='tanh'`` and ``recurrent_activation='sigmoid'``
    (hls4ml's lookup tables), no state quantizer; QDense with
    ``quantized_bits(b, i, alpha=1)`` and ``QActivation(quantized_relu(b, i))``.
``seed`` (the seed study's recipe, kept for comparison)
    symmetric ``quantized_bits(b, i, 1, alpha='auto_po2')`` kernels,
    ``quantized_tanh(b)`` activation and QKeras's default ``hard_sigmoid``
    recurrent activation. hls4ml 1.3.0 cannot build hard tanh/sigmoid recurrent
    activations and ignores ``auto_po2`` on recurrent kernels, so these models
    do not convert faithfully.
The output layers keep float sigmoid/softmax, as in the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

RECIPES = ("default", "seed")
ARCHS = ("gru", "lstm")


@dataclass(frozen=True)
class TaskSpec:
    """Shape and head of one benchmark's model."""

    input_shape: tuple[int, int]
    units: int
    dense: tuple[int, ...]
    n_outputs: int
    return_sequences: bool = False

    @property
    def binary(self) -> bool:
        return self.n_outputs == 1


TASKS: dict[str, TaskSpec] = {
    "toptag": TaskSpec((20, 6), 20, (64,), 1),
    "btag": TaskSpec((15, 6), 120, (50, 10), 3),
    "quickdraw": TaskSpec((100, 3), 32, (32, 16), 5, return_sequences=True),
}


@dataclass(frozen=True)
class Quant:
    """Fixed-point width for QAT: ``bits`` total, ``integer`` bits above the point (sign excluded)."""

    bits: int
    integer: int

    def __post_init__(self):
        if self.integer < 0 or self.bits < self.integer + 1:
            raise ValueError(
                f"invalid width: {self.bits} total bits with {self.integer} integer bits "
                "(need total ≥ integer + 1 sign bit, integer ≥ 0)"
            )

    @property
    def fractional(self) -> int:
        return self.bits - self.integer - 1

    @property
    def tag(self) -> str:
        return f"q{self.bits}i{self.integer}"


def check(task: str, arch: str, recipe: str = "default") -> TaskSpec:
    """Validate names and return the task's spec."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(TASKS)}")
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; valid: {', '.join(ARCHS)}")
    if recipe not in RECIPES:
        raise ValueError(f"unknown QAT recipe {recipe!r}; valid recipes: {', '.join(RECIPES)}")
    return TASKS[task]


def build_float(task: str, arch: str):
    """The float Keras model of ``task`` with a GRU or LSTM."""
    import tensorflow as tf

    spec = check(task, arch)
    layers = tf.keras.layers
    rnn_cls = layers.GRU if arch == "gru" else layers.LSTM
    # reset_after=True (the Keras default) is the GRU hls4ml's gate order assumes
    kwargs = {"reset_after": True} if arch == "gru" else {}
    inp = layers.Input(shape=spec.input_shape, name="inputs")
    x = rnn_cls(spec.units, return_sequences=spec.return_sequences, unroll=False, name=arch, **kwargs)(inp)
    if spec.return_sequences:
        x = layers.Flatten(name="flatten")(x)
    for k, width in enumerate(spec.dense, start=1):
        x = layers.Dense(width, name=f"dense_{k}")(x)
        x = layers.Activation("relu", name=f"relu_{k}")(x)
    x = layers.Dense(spec.n_outputs, name="output")(x)
    head = "sigmoid" if spec.binary else "softmax"
    out = layers.Activation(head, name=f"output_{head}")(x)
    return tf.keras.Model(inp, out, name=f"{task}_{arch}_float")


def build_qkeras(task: str, arch: str, quant: Quant, recipe: str = "default"):
    """The QKeras model of ``task`` quantized to ``quant`` with a recipe.

    Parameters
    ----------
    task : {'toptag', 'btag', 'quickdraw'}
    arch : {'gru', 'lstm'}
    quant : Quant
        Total and integer bits of weights, biases and relu outputs.
    recipe : {'default', 'seed'}
        See the module docstring.
    """
    import tensorflow as tf

    from fxsim.compat import import_qkeras

    spec = check(task, arch, recipe)
    qk = import_qkeras()
    b, i = quant.bits, quant.integer
    if recipe == "default":
        kernel = qk.quantized_bits(b, i, alpha=1)
        bias = qk.quantized_bits(b, i, alpha=1)
        rnn_act, rnn_recr = "tanh", "sigmoid"
    else:
        kernel = qk.quantized_bits(b, i, 1, alpha="auto_po2")
        bias = qk.quantized_bits(b, i, 1)
        rnn_act, rnn_recr = qk.quantized_tanh(b), "hard_sigmoid"
    layers = tf.keras.layers
    rnn_cls = qk.QGRU if arch == "gru" else qk.QLSTM
    # QGRU defaults to reset_after=False; match the float GRU so weights carry over
    kwargs = {"reset_after": True} if arch == "gru" else {}
    inp = layers.Input(shape=spec.input_shape, name="inputs")
    x = rnn_cls(
        spec.units,
        activation=rnn_act,
        recurrent_activation=rnn_recr,
        kernel_quantizer=kernel,
        recurrent_quantizer=kernel,
        bias_quantizer=bias,
        return_sequences=spec.return_sequences,
        unroll=False,
        name=arch,
        **kwargs,
    )(inp)
    if spec.return_sequences:
        x = layers.Flatten(name="flatten")(x)
    for k, width in enumerate(spec.dense, start=1):
        x = qk.QDense(width, kernel_quantizer=kernel, bias_quantizer=bias, name=f"dense_{k}")(x)
        x = qk.QActivation(qk.quantized_relu(b, i), name=f"relu_{k}")(x)
    x = qk.QDense(spec.n_outputs, kernel_quantizer=kernel, bias_quantizer=bias, name="output")(x)
    head = "sigmoid" if spec.binary else "softmax"
    out = layers.Activation(head, name=f"output_{head}")(x)
    return tf.keras.Model(inp, out, name=f"{task}_{arch}_{quant.tag}" + ("" if recipe == "default" else f"_{recipe}"))


def custom_objects() -> dict:
    """QKeras classes needed to load saved quantized models."""
    from fxsim.compat import import_qkeras

    qk = import_qkeras()
    objects: dict = {}
    qk.utils._add_supported_quantized_objects(objects)  # fills the dict in place
    return objects
