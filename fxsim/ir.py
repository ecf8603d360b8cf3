"""fxsim's intermediate representation: an ordered list of layer specs.

Each spec is a frozen record holding one ``FixedType`` per tensor role and the
raw int64 weight codes, exactly as hls4ml's converted ``ModelGraph`` defines them
(front-ends fill it; kernels never see user strings). ``input_t`` of a layer is
the ``result_t`` of the layer feeding it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fxsim.fixed import FixedType


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape))


@dataclass(frozen=True, eq=False)
class InputSpec:
    """The input conversion ``input_t(float)`` (hls4ml's ``convert_data``)."""

    name: str
    shape: tuple[int, ...]
    result_t: FixedType


@dataclass(frozen=True, eq=False)
class DenseSpec:
    """``nnet::dense``: per-product cast to ``accum_t``, bias in ``accum_t``, one cast to ``result_t``.

    ``weight`` is in Keras layout ``[n_in, n_out]`` (codes of ``weight_t``).
    """

    name: str
    input_t: FixedType
    weight: np.ndarray
    bias: np.ndarray
    weight_t: FixedType
    bias_t: FixedType
    accum_t: FixedType
    result_t: FixedType
    strategy: str = "latency"  # "latency" | "resource"
    reuse_factor: int = 1

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[1])

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        if _size(in_shape) != self.n_in:
            raise ValueError(f"layer {self.name!r} (Dense) expects {self.n_in} inputs, gets shape {in_shape}")
        return (self.n_out,)


@dataclass(frozen=True, eq=False)
class ActivationSpec:
    """Element-wise activation: linear, relu, leaky_relu, sigmoid, tanh, hard_sigmoid, hard_tanh.

    ``table_t``/``table_size`` serve sigmoid and tanh. ``param`` is the code of leaky
    relu's ``alpha`` in ``param_t``; ``slope``/``shift`` are the hard activations'
    constants as codes of ``slope_t``/``shift_t``.
    """

    name: str
    activation: str
    input_t: FixedType
    result_t: FixedType
    table_t: FixedType | None = None
    table_size: int = 1024
    param: int | None = None
    param_t: FixedType | None = None
    slope: int | None = None
    slope_t: FixedType | None = None
    shift: int | None = None
    shift_t: FixedType | None = None

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        return in_shape


@dataclass(frozen=True, eq=False)
class SoftmaxSpec:
    """``nnet::softmax`` in one of its four implementations (stable, latency, legacy, argmax).

    The values are those of the generated ``softmax_config`` (after hls4ml's table-size
    fixes): ``inp_norm_t`` exists for ``stable`` only; ``table_t`` is the type of the
    legacy tables and sums (the C++ ``activ_config`` default, not the layer's key).
    The input ``[n_outer, n_slice, n_inner]`` is normalised along ``n_slice``.
    """

    name: str
    implementation: str
    input_t: FixedType
    result_t: FixedType
    n_slice: int
    exp_table_t: FixedType
    inv_table_t: FixedType
    accum_t: FixedType
    inv_inp_t: FixedType
    exp_table_size: int
    inv_table_size: int
    table_t: FixedType
    inp_norm_t: FixedType | None = None
    exp_scale: float = 1.0
    n_outer: int = 1
    n_inner: int = 1

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.n_outer * self.n_slice * self.n_inner != _size(in_shape):
            raise ValueError(f"layer {self.name!r} (Softmax) slices do not cover its input {in_shape}")
        return in_shape


@dataclass(frozen=True, eq=False)
class RecurrentSpec:
    """``nnet::lstm_stack`` / ``nnet::gru_stack`` (io_parallel, Keras gate order).

    Weight layout as Keras: ``weight [n_in, k*n_state]``, ``recurrent_weight
    [n_state, k*n_state]`` (codes of ``weight_t`` / ``recurrent_weight_t``); gate order
    LSTM ``[i|f|c|o]`` (k=4), GRU ``[z|r|h]`` (k=3). ``bias``/``recurrent_bias`` are
    ``[k*n_state]`` codes (LSTM: ``recurrent_bias`` is zeros, as hls4ml writes it).

    ``input_t`` is the type of ``x``; every product, sum, gate and the candidate live in
    ``accum_t``; the hidden state (and the LSTM cell state) live in ``result_t``; one
    ``table_t``/``table_size`` serves both activations. ``strategy``/``reuse_factor``
    pick the input dense kernel; the recurrent dense kernel is picked with
    ``reuse_factor`` but runs with ``recurrent_reuse_factor`` (``None``: the same), as
    hls4ml's ``recurrent_templates.py`` does. ``static`` is kept for the record: both
    hls4ml variants compute the same numbers. ``initial_state`` names the model inputs
    (:class:`InputSpec`, shape ``(n_state,)``, type ``result_t``) the state starts from,
    as hls4ml's PyTorch ``GRU(x, h0)`` / ``LSTM(x, (h0, c0))``.
    """

    name: str
    cell: str  # "lstm" | "gru"
    input_t: FixedType
    n_timesteps: int
    weight: np.ndarray
    recurrent_weight: np.ndarray
    bias: np.ndarray
    recurrent_bias: np.ndarray
    weight_t: FixedType
    recurrent_weight_t: FixedType
    bias_t: FixedType
    recurrent_bias_t: FixedType
    accum_t: FixedType
    result_t: FixedType
    table_t: FixedType
    table_size: int
    activation: str  # "tanh" | "sigmoid" | "relu"
    recurrent_activation: str
    return_sequences: bool = False
    static: bool = True
    strategy: str = "latency"
    reuse_factor: int = 1
    recurrent_reuse_factor: int | None = None
    initial_state: tuple[str, ...] = ()  # InputSpecs giving h0 (GRU) or h0, c0 (LSTM); () starts at 0

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_state(self) -> int:
        return int(self.recurrent_weight.shape[0])

    @property
    def n_gates(self) -> int:
        """``k``: 4 blocks of ``n_state`` for an LSTM, 3 for a GRU."""
        return 4 if self.cell == "lstm" else 3

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        if in_shape != (self.n_timesteps, self.n_in):
            raise ValueError(
                f"layer {self.name!r} ({self.cell.upper()}) expects input ({self.n_timesteps}, {self.n_in}), "
                f"gets {in_shape}"
            )
        return (self.n_timesteps, self.n_state) if self.return_sequences else (self.n_state,)


@dataclass(frozen=True, eq=False)
class ReshapeSpec:
    """Flatten/Reshape: no arithmetic, codes keep their type."""

    name: str
    input_t: FixedType
    target_shape: tuple[int, ...]

    @property
    def result_t(self) -> FixedType:
        return self.input_t

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = tuple(int(d) for d in self.target_shape)
        if _size(shape) != _size(in_shape):
            raise ValueError(f"layer {self.name!r} (Reshape) cannot reshape {in_shape} to {shape}")
        return shape


@dataclass(frozen=True, eq=False)
class ScaleSpec:
    """hls4ml's ``ApplyAlpha`` (``nnet::normalize``, inserted for QKeras Dense with ``alpha``).

    ``res = result_t(x * scale + bias)``, exact inside; ``scale``/``bias`` are codes
    of ``scale_t``/``bias_t``, one per element (``n_filt == -1``).
    """

    name: str
    input_t: FixedType
    scale: np.ndarray
    bias: np.ndarray
    scale_t: FixedType
    bias_t: FixedType
    result_t: FixedType

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.scale.size != _size(in_shape) or self.bias.size != _size(in_shape):
            raise ValueError(
                f"layer {self.name!r} (ApplyAlpha) has {self.scale.size} scales for {_size(in_shape)} inputs"
            )
        return in_shape


@dataclass(frozen=True, eq=False)
class BidirectionalSpec:
    """``nnet::bidirectional_stack`` (hls4ml's ``Bidirectional`` of LSTM/GRU, io_parallel).

    ``forward`` runs over ``x[0..T-1]``, ``backward`` over ``x[T-1..0]``; both read the
    layer's input type and write its ``result_t`` (their ``input_t``/``result_t`` are the
    layer's). The output concatenates ``[forward | backward]`` per time step, the backward
    state after reading ``x[T-1..t]`` at step ``t`` (with ``return_sequences``), else the
    two final states. hls4ml 1.3.0 always concatenates, so ``merge_mode`` is ``"concat"``.
    """

    name: str
    forward: RecurrentSpec
    backward: RecurrentSpec
    merge_mode: str = "concat"

    @property
    def input_t(self) -> FixedType:
        return self.forward.input_t

    @property
    def result_t(self) -> FixedType:
        return self.forward.result_t

    @property
    def return_sequences(self) -> bool:
        return self.forward.return_sequences

    @property
    def n_out(self) -> int:
        return self.forward.n_state + self.backward.n_state

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        self.forward.output_shape(in_shape)
        self.backward.output_shape(in_shape)
        return (self.forward.n_timesteps, self.n_out) if self.return_sequences else (self.n_out,)


@dataclass(frozen=True, eq=False)
class Conv1DSpec:
    """``nnet::conv_1d_cl`` / ``pointwise_conv_1d_cl`` (io_parallel, channels last).

    Each output pixel is one ``nnet::dense`` over its im2col row (``filt_width * n_chan``
    inputs, zeros where the window covers ``pad_left``/``pad_right``): per-product cast to
    ``accum_t``, bias in ``accum_t``, one cast to ``result_t``, in the Latency or the
    Resource (``rf_leq_nin``) order. ``weight`` is in Keras layout ``[filt_width, n_chan,
    n_filt]`` (codes of ``weight_t``). hls4ml turns a Dense on a ``(steps, features)``
    input into this layer (``filt_width == 1``).
    """

    name: str
    input_t: FixedType
    weight: np.ndarray
    bias: np.ndarray
    weight_t: FixedType
    bias_t: FixedType
    accum_t: FixedType
    result_t: FixedType
    in_width: int
    stride: int = 1
    pad_left: int = 0
    pad_right: int = 0
    strategy: str = "latency"  # "latency" | "resource"
    reuse_factor: int = 1

    @property
    def filt_width(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_chan(self) -> int:
        return int(self.weight.shape[1])

    @property
    def n_filt(self) -> int:
        return int(self.weight.shape[2])

    @property
    def out_width(self) -> int:
        return (self.in_width + self.pad_left + self.pad_right - self.filt_width) // self.stride + 1

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        if tuple(in_shape) != (self.in_width, self.n_chan):
            raise ValueError(f"layer {self.name!r} (Conv1D) expects input ({self.in_width}, {self.n_chan}), "
                             f"gets {in_shape}")
        return (self.out_width, self.n_filt)


@dataclass(frozen=True, eq=False)
class Pooling1DSpec:
    """``nnet::pooling1d_cl`` / ``global_pooling1d_cl`` (channels last), max or average.

    Max: ``result_t(accum_t(max(window)))``, padded cells holding the code with only the
    top bit set. Average: ``y = accum_t(y + x)`` over the window (padded cells 0), then
    ``y / count`` truncated toward zero in ``accum_t``, then ``result_t``; ``count`` is the
    window's pixels inside the input (``count_pad``: the whole window). ``is_global``:
    one window over all ``n_in`` pixels.
    """

    name: str
    op: str  # "max" | "average"
    input_t: FixedType
    accum_t: FixedType
    result_t: FixedType
    n_in: int
    n_filt: int
    pool_width: int
    stride: int
    pad_left: int = 0
    pad_right: int = 0
    count_pad: bool = False
    is_global: bool = False

    @property
    def n_out(self) -> int:
        if self.is_global:
            return 1
        return (self.n_in + self.pad_left + self.pad_right - self.pool_width) // self.stride + 1

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        if tuple(in_shape) != (self.n_in, self.n_filt):
            raise ValueError(f"layer {self.name!r} (Pooling1D) expects input ({self.n_in}, {self.n_filt}), "
                             f"gets {in_shape}")
        return (self.n_filt,) if self.is_global else (self.n_out, self.n_filt)


@dataclass(frozen=True, eq=False)
class ZeroPadding1DSpec:
    """``nnet::zeropad1d_cl``: ``pad_left``/``pad_right`` zero pixels, the rest cast to ``result_t``."""

    name: str
    input_t: FixedType
    result_t: FixedType
    pad_left: int
    pad_right: int

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(in_shape) != 2:
            raise ValueError(f"layer {self.name!r} (ZeroPadding1D) expects a (steps, channels) input, gets {in_shape}")
        return (in_shape[0] + self.pad_left + self.pad_right, in_shape[1])


@dataclass(frozen=True, eq=False)
class TimeDistributedSpec:
    """hls4ml's ``TimeDistributed`` loop: ``layers`` run on each time step of a ``[T, ...]`` input.

    hls4ml converts ``TimeDistributed(X)`` into a loop start (``read_time_step``, a copy
    of step ``ts``), the wrapped layers on one step, and a loop end (``write_time_step``,
    a copy into step ``ts`` of the output); ``name`` is the loop end's (``<name>_end``),
    whose output is the layer's. The copies change no code, so ``input_t`` is the step
    slice's type and ``result_t`` the last wrapped layer's.
    """

    name: str
    n_time_steps: int
    layers: tuple
    input_t: FixedType

    @property
    def result_t(self) -> FixedType:
        return self.layers[-1].result_t

    @property
    def wrapped_names(self) -> tuple[str, ...]:
        """The hls4ml layers this spec stands for after the loop start: the wrapped ones and the loop end."""
        return (*(s.name for s in self.layers), self.name)

    def step_shapes(self, in_shape: tuple[int, ...]) -> list[tuple[int, ...]]:
        """The shape of one step before and after each wrapped layer."""
        if not in_shape or in_shape[0] != self.n_time_steps:
            raise ValueError(f"layer {self.name!r} (TimeDistributed) expects {self.n_time_steps} time steps, "
                             f"gets shape {in_shape}")
        shapes = [tuple(in_shape[1:])]
        for spec in self.layers:
            shapes.append(tuple(spec.output_shape(shapes[-1])))
        return shapes

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (self.n_time_steps, *self.step_shapes(in_shape)[-1])


LayerSpec = (InputSpec | DenseSpec | ActivationSpec | SoftmaxSpec | RecurrentSpec | ReshapeSpec | ScaleSpec
             | BidirectionalSpec | Conv1DSpec | Pooling1DSpec | ZeroPadding1DSpec | TimeDistributedSpec)

#: Every spec class, by which :meth:`fxsim.model.FxModel.load` reads a saved model back.
#: A new layer kind adds its spec here and to ``LayerSpec``, and gives it ``output_shape``.
SPEC_KINDS: tuple[type, ...] = (InputSpec, DenseSpec, ActivationSpec, SoftmaxSpec, RecurrentSpec, ReshapeSpec,
                                ScaleSpec, BidirectionalSpec,
                                Conv1DSpec, Pooling1DSpec, ZeroPadding1DSpec, TimeDistributedSpec)
