"""The seed study's architectures, float and QKeras, with stable layer names.

=========  ==========  ============================================================
task       input       layers
=========  ==========  ============================================================
toptag     (20, 6)     GRU(20) or LSTM(20) → Dense(64) relu → Dense(1) sigmoid
btag       (15, 6)     GRU(120) or LSTM(120) → Dense(50) relu → Dense(10) relu → Dense(3) softmax
quickdraw  (100, 3)    GRU(32, return_sequences) → Flatten → Dense(32) relu → Dense(16) relu → Dense(5) softmax
quickdraw  (100, 3)    ``cnnlstm``: Conv1D(16, 6) relu → Conv1D(8, 3) relu → Conv1D(1, 1) relu
                       → LSTM(32, return_sequences) → LSTM(16) → Dense(5) softmax
=========  ==========  ============================================================

The ``cnnlstm`` architecture is the seed study's QuickDraw Conv1D+LSTM
(Conv1D(128, 6) → Conv1D(64, 3) → Conv1D(1, 1) → LSTM(128) → LSTM(64), about
143,000 parameters) with every width divided by 4 to 8 (8,278 parameters), so
that it trains in minutes on a 2-core CPU; see :data:`CONV_RECURRENT`.

Layer names are the same for float and quantized models: ``inputs`` (hls4ml reserves ``input``), ``gru``/``lstm``,
``flatten``, ``dense_1``, ``relu_1``, ``dense_2``, ``relu_2``, ``output`` and
``output_sigmoid``/``output_softmax``; the ``cnnlstm`` models have ``conv_1``,
``conv_relu_1``, ... and ``lstm_1``, ``lstm_2``. Recurrent layers use ``unroll=False``,
convolutions ``padding='valid'``.

Quantization recipes (total bits = integer + fractional + 1 sign bit):

``default`` (what hls4ml 1.3.0 builds faithfully)
    QGRU/QLSTM with ``quantized_bits(b, i, alpha=1)`` kernel, recurrent and
    bias quantizers, ``activation='tanh'`` and ``recurrent_activation='sigmoid'``
    (hls4ml's lookup tables), no state quantizer; QDense with
    ``quantized_bits(b, i, alpha=1)`` and ``QActivation(quantized_relu(b, i))``;
    QConv1D with ``quantized_bits(b, i, alpha=1)`` kernel and bias and
    ``QActivation(quantized_relu(b, i))`` after each convolution but the last:
    the relu feeding the LSTM stays float, because hls4ml 1.3.0's LSTM compiles
    only when its input type, ``accum_t`` and ``result_t`` are identical
    (hls4ml's default ``fixed<16,6>`` for all three; a ``quantized_relu`` would
    make the input ``ufixed<b,i>``).
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
ARCHS = ("gru", "lstm")  # one recurrent layer, every task
CONV_ARCHS = ("cnnlstm",)  # Conv1D stack + stacked LSTMs, tasks with a ``conv`` spec


@dataclass(frozen=True)
class ConvRecurrentSpec:
    """Widths of a Conv1D stack followed by stacked LSTMs (every LSTM but the last returns sequences)."""

    filters: tuple[int, ...]
    kernels: tuple[int, ...]
    lstm_units: tuple[int, ...]

    def __post_init__(self):
        if len(self.filters) != len(self.kernels) or not self.filters or not self.lstm_units:
            raise ValueError("a Conv1D+LSTM needs one kernel size per filter count and at least one LSTM")


@dataclass(frozen=True)
class TaskSpec:
    """Shape and head of one benchmark's model."""

    input_shape: tuple[int, int]
    units: int
    dense: tuple[int, ...]
    n_outputs: int
    return_sequences: bool = False
    conv: ConvRecurrentSpec | None = None

    @property
    def binary(self) -> bool:
        return self.n_outputs == 1


TASKS: dict[str, TaskSpec] = {
    "toptag": TaskSpec((20, 6), 20, (64,), 1),
    "btag": TaskSpec((15, 6), 120, (50, 10), 3),
    # the seed's Conv1D(128, 6)/(64, 3)/(1, 1) + LSTM(128)/LSTM(64) scaled down 4-8x to train on 2 CPU cores
    "quickdraw": TaskSpec((100, 3), 32, (32, 16), 5, return_sequences=True,
                          conv=ConvRecurrentSpec((16, 8, 1), (6, 3, 1), (32, 16))),
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
    if arch not in ARCHS + CONV_ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; valid: {', '.join(ARCHS + CONV_ARCHS)}")
    if recipe not in RECIPES:
        raise ValueError(f"unknown QAT recipe {recipe!r}; valid recipes: {', '.join(RECIPES)}")
    spec = TASKS[task]
    if arch == "cnnlstm" and spec.conv is None:
        valid = [t for t, s in TASKS.items() if s.conv is not None]
        raise ValueError(f"task {task!r} has no Conv1D+LSTM architecture; tasks with one: {', '.join(valid)}")
    return spec


def _head(layers, x, spec: TaskSpec):
    """The output Dense and its float sigmoid/softmax."""
    head = "sigmoid" if spec.binary else "softmax"
    return layers.Activation(head, name=f"output_{head}")(x)


def build_float(task: str, arch: str):
    """The float Keras model of ``task`` with a GRU, an LSTM or (``cnnlstm``) a Conv1D+LSTM."""
    import tensorflow as tf

    spec = check(task, arch)
    layers = tf.keras.layers
    if arch == "cnnlstm":
        return _conv_lstm(task, spec, layers.Conv1D, layers.LSTM, lambda k, _: layers.Activation("relu", name=k),
                          layers.Dense, {}, f"{task}_cnnlstm_float")
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
    return tf.keras.Model(inp, _head(layers, x, spec), name=f"{task}_{arch}_float")


def _conv_lstm(task: str, spec: TaskSpec, conv_cls, lstm_cls, relu, dense_cls, quantizers: dict, name: str):
    """Conv1D stack (each followed by ``relu(name, feeds_lstm)``) → stacked LSTMs → Dense output, float or QKeras.

    ``quantizers`` holds the QKeras keyword arguments of every layer (empty for float):
    ``weights`` (Conv1D/Dense kernel and bias) and ``lstm`` (QLSTM quantizers and activations).
    """
    import tensorflow as tf

    layers = tf.keras.layers
    conv = spec.conv
    inp = layers.Input(shape=spec.input_shape, name="inputs")
    x = inp
    for k, (filters, size) in enumerate(zip(conv.filters, conv.kernels), start=1):
        x = conv_cls(filters, size, padding="valid", name=f"conv_{k}", **quantizers.get("weights", {}))(x)
        x = relu(f"conv_relu_{k}", k == len(conv.filters))(x)
    for k, units in enumerate(conv.lstm_units, start=1):
        last = k == len(conv.lstm_units)
        x = lstm_cls(units, return_sequences=not last, unroll=False, name=f"lstm_{k}",
                     **quantizers.get("lstm", {}))(x)
    x = dense_cls(spec.n_outputs, name="output", **quantizers.get("weights", {}))(x)
    return tf.keras.Model(inp, _head(layers, x, spec), name=name)


def build_qkeras(task: str, arch: str, quant: Quant, recipe: str = "default"):
    """The QKeras model of ``task`` quantized to ``quant`` with a recipe.

    Parameters
    ----------
    task : {'toptag', 'btag', 'quickdraw'}
    arch : {'gru', 'lstm', 'cnnlstm'}
        ``cnnlstm`` only for tasks with a Conv1D+LSTM spec (QuickDraw).
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
    name = f"{task}_{arch}_{quant.tag}" + ("" if recipe == "default" else f"_{recipe}")
    if arch == "cnnlstm":
        quantizers = {
            "weights": {"kernel_quantizer": kernel, "bias_quantizer": bias},
            "lstm": {"activation": rnn_act, "recurrent_activation": rnn_recr, "kernel_quantizer": kernel,
                     "recurrent_quantizer": kernel, "bias_quantizer": bias},
        }
        # hls4ml 1.3.0's LSTM compiles only with input type == accum_t == result_t (all fixed<16,6> by
        # default), and a quantized_relu(b, i) in front would make its input ufixed<b, i>: the relu feeding
        # the LSTM stays float, so the LSTM's input is unquantized like every other zoo recurrent layer's
        def relu(k: str, feeds_lstm: bool):
            return layers.Activation("relu", name=k) if feeds_lstm else qk.QActivation(qk.quantized_relu(b, i), name=k)

        return _conv_lstm(task, spec, qk.QConv1D, qk.QLSTM, relu, qk.QDense, quantizers, name)
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
    return tf.keras.Model(inp, _head(layers, x, spec), name=name)


def custom_objects() -> dict:
    """QKeras classes needed to load saved quantized models."""
    from fxsim.compat import import_qkeras

    qk = import_qkeras()
    objects: dict = {}
    qk.utils._add_supported_quantized_objects(objects)  # fills the dict in place
    return objects
