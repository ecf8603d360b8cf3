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
    hls4ml variants compute the same numbers.
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


LayerSpec = InputSpec | DenseSpec | ActivationSpec | SoftmaxSpec | RecurrentSpec | ReshapeSpec | ScaleSpec

#: Every spec class, by which :meth:`fxsim.model.FxModel.load` reads a saved model back.
#: A new layer kind adds its spec here and to ``LayerSpec``, and gives it ``output_shape``.
SPEC_KINDS: tuple[type, ...] = (InputSpec, DenseSpec, ActivationSpec, SoftmaxSpec, RecurrentSpec, ReshapeSpec,
                                ScaleSpec)
