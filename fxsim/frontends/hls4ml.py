"""Read a converted hls4ml ``ModelGraph`` into an :class:`~fxsim.model.FxModel` (no C++ compiled).

Every type, table size, strategy and reuse factor is read from the converted graph
(``layer.types``, the layer attributes, and the generated ``config_cpp`` /
``function_cpp`` text where hls4ml decides things only while writing C++), never
re-derived. Weights are turned into codes along hls4ml's own text round trip
(:func:`fxsim.fixed.weight_codes`). Layers, settings and types fxsim does not
emulate, and settings hls4ml 1.3.0 cannot compile or computes wrong, raise
``ValueError`` naming the layer, its class and the setting.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np

from fxsim._memo import BoundedMemo
from fxsim.fixed import FixedType, to_codes, weight_codes
from fxsim.ir import (
    ActivationSpec,
    DenseSpec,
    InputSpec,
    LayerSpec,
    RecurrentSpec,
    ReshapeSpec,
    ScaleSpec,
    SoftmaxSpec,
)
from fxsim.model import FxModel

#: The C++ default ``activ_config::table_t`` that ``softmax_legacy`` uses (the
#: generated softmax config does not override it).
LEGACY_SOFTMAX_TABLE_T = FixedType(18, 8)


class UnsupportedLayerError(ValueError):
    """A layer or setting fxsim does not emulate, or that hls4ml itself gets wrong."""


def from_hls4ml(hls_model: Any) -> FxModel:
    """Build the fxsim model of a converted (not necessarily compiled) hls4ml model.

    Parameters
    ----------
    hls_model : ``hls4ml.model.graph.ModelGraph`` from ``convert_from_keras_model``
        (Vivado or Vitis backend, ``io_parallel``).

    Raises
    ------
    UnsupportedLayerError
        For a layer, type or setting fxsim does not cover, naming layer, class and setting.
    """
    config = hls_model.config
    backend = str(config.get_config_value("Backend") or "Vivado")
    if backend.lower() not in ("vivado", "vitis"):
        raise UnsupportedLayerError(f"backend {backend!r} is not emulated; fxsim follows the Vivado/Vitis templates")
    io_type = str(config.get_config_value("IOType") or "io_parallel")
    if io_type != "io_parallel":
        raise UnsupportedLayerError(f"IOType {io_type!r} is not emulated; fxsim follows io_parallel")
    if len(hls_model.get_output_variables()) != 1:
        raise UnsupportedLayerError("fxsim emulates models with one output")
    inputs, layers = _split_inputs(hls_model)

    specs: list[LayerSpec] = [_convert(layer) for layer in inputs]
    prev = inputs[0]
    for layer in layers:
        if layer.get_input_variable() is not prev.get_output_variable():
            raise UnsupportedLayerError(
                f"layer {layer.name!r} ({layer.class_name}) does not take the previous layer's output; "
                "fxsim emulates sequential models"
            )
        _append(specs, _convert(layer))
        prev = layer
    if hls_model.get_output_variables()[0] is not prev.get_output_variable():
        raise UnsupportedLayerError("the model output is not the last layer's output")
    _check_initial_states(specs, inputs)
    model = FxModel(specs, name=str(config.get_project_name()))
    try:
        model._prepare()  # build tables and orders now, so unsupported settings surface here
    except ValueError as err:
        raise UnsupportedLayerError(str(err)) from None
    return model


def _split_inputs(hls_model) -> tuple[list, list]:
    """The graph's Input layers in ``hls_model.predict``'s order, and the other layers in order.

    A model with several inputs is emulated when the extra ones are only the initial
    states of recurrent layers (hls4ml's PyTorch ``GRU(x, h0)``, ``LSTM(x, (h0, c0))``).
    """
    from hls4ml.model import layers as L

    all_layers = list(hls_model.get_layers())
    by_var = {id(layer.get_output_variable()): layer for layer in all_layers if isinstance(layer, L.Input)}
    inputs = [by_var.get(id(var)) for var in hls_model.get_input_variables()]
    if None in inputs or len(inputs) != len(by_var):
        raise UnsupportedLayerError("the model inputs are not its Input layers")
    others = [layer for layer in all_layers if not isinstance(layer, L.Input)]
    if not others:
        raise UnsupportedLayerError("the model has no layer after its input")
    _check_pytorch_input_transpose(others)
    states = {name for layer in others if isinstance(layer, (L.LSTM, L.GRU)) for name in layer.inputs[1:]}
    for layer in inputs[1:]:
        if layer.name not in states:
            raise UnsupportedLayerError(
                f"input {layer.name!r} is not the initial state of a GRU/LSTM; fxsim emulates one input "
                "(plus PyTorch's h0/c0 initial-state inputs)"
            )
    return inputs, others


def _check_pytorch_input_transpose(layers: list) -> None:
    """Refuse hls4ml's default ``channels_last_conversion='full'`` in front of a PyTorch GRU/LSTM.

    hls4ml then transposes the ``(T, F)`` input to ``(F, T)`` and the recurrent C++ takes
    ``n_sequence``/``n_in`` from that variable: the layer reads F steps of T features, not
    what PyTorch computes (measured: a GRU(3, 4) on T=5 at ``fixed<24,8,RND_CONV,SAT>``
    differs from PyTorch by up to 1.06 in the C simulation (h0 random or zero), against
    0.0067 with ``'internal'``; plausibly hls4ml issue #1111).
    """
    from hls4ml.model import layers as L

    for layer in layers:
        if not (isinstance(layer, (L.LSTM, L.GRU)) and layer.get_attr("pytorch", False)):
            continue
        source = layer.model.graph.get(layer.inputs[0]) if hasattr(layer, "model") else None
        if source is not None and source.class_name == "Transpose":
            raise UnsupportedLayerError(
                f"{_where(layer)} reads {source.name!r}, hls4ml's transpose of the PyTorch input "
                "(channels_last_conversion='full', its default): the C simulation then runs the layer over "
                "the feature axis as time steps and differs from PyTorch (measured: up to 1.06 for a "
                "GRU(3, 4), T=5, at fixed<24,8>); convert with config_from_pytorch_model(..., "
                "channels_last_conversion='internal') and input shapes (F, T), as fxsim.frontends.torch.convert does"
            )


def _check_initial_states(specs: list[LayerSpec], inputs: list) -> None:
    """Refuse initial-state layers hls4ml 1.3.0 cannot compile (its ``*_stack`` overloads with h0/c0).

    Those overloads pass the state arrays (the input type) as ``res_T`` and declare the
    recurrent weights and biases with ``weight_t`` / ``bias_t``; any other types are a
    C++ type mismatch, so there is no C simulation to match.
    """
    names = {layer.name for layer in inputs[1:]}
    types = {spec.name: spec.result_t for spec in specs if isinstance(spec, InputSpec)}
    for spec in specs:
        states = getattr(spec, "initial_state", ()) if isinstance(spec, RecurrentSpec) else ()
        if not states:
            continue
        where = f"layer {spec.name!r} ({spec.cell.upper()}) with initial states {', '.join(states)}"
        for name in states:
            if name not in names:
                raise UnsupportedLayerError(f"{where}: {name!r} is not a model input; fxsim emulates initial "
                                            "states given as inputs")
            if types[name] != spec.result_t:
                raise UnsupportedLayerError(
                    f"{where}: input {name!r} has type {types[name]}, the layer's result_t is {spec.result_t}; "
                    f"hls4ml 1.3.0's {spec.cell}_stack passes the state array as result_t, so the C simulation "
                    f"does not compile (give {name!r} the layer's result type)"
                )
        for a, b in (("weight_t", "recurrent_weight_t"), ("bias_t", "recurrent_bias_t")):
            if getattr(spec, a) != getattr(spec, b):
                raise UnsupportedLayerError(
                    f"{where}: {a} {getattr(spec, a)} differs from {b} {getattr(spec, b)}; hls4ml 1.3.0's "
                    f"{spec.cell}_stack with initial states declares the recurrent ones as {a}, so the C "
                    "simulation does not compile (give both the same type)"
                )


# --- helpers ------------------------------------------------------------------------------


def _append(specs: list, spec) -> None:
    """Append ``spec`` unless a wrapper spec already holds it (TimeDistributed's wrapped layers and loop end)."""
    if not any(spec.name in getattr(s, "wrapped_names", ()) for s in specs):
        specs.append(spec)


def _where(layer) -> str:
    return f"layer {layer.name!r} ({layer.class_name})"


def _type(layer, value: Any, what: str) -> FixedType:
    try:
        return FixedType.parse(value)
    except ValueError as err:
        raise UnsupportedLayerError(f"{_where(layer)}: {what} {value}: {err}") from None


def _layer_type(layer, key: str) -> FixedType:
    named = layer.types.get(key) if hasattr(layer, "types") else None
    if named is None:
        named = layer.get_attr(key)
    if named is None:
        raise UnsupportedLayerError(f"{_where(layer)}: the converted layer has no {key}")
    return _type(layer, getattr(named, "precision", named), key)


def _io_types(layer) -> tuple[FixedType, FixedType]:
    return (_type(layer, layer.get_input_variable().type.precision, "input type"),
            _type(layer, layer.get_output_variable().type.precision, "result type"))


#: Weight codes by (the weights' bytes, shape and dtype, their type): the points of a scan convert the
#: same weights again and again, mostly at types an earlier point already had.
_WEIGHT_CODES = BoundedMemo(64 << 20, size=lambda codes: codes.nbytes)


def _weights(layer, key: str, t: FixedType, transposed: bool = False) -> np.ndarray:
    data = np.asarray(layer.weights[key].data)
    if transposed:
        data = data.T
    data = np.ascontiguousarray(data)
    memo = (hashlib.sha256(data.tobytes()).digest(), data.shape, data.dtype.str, t)
    codes = _WEIGHT_CODES.get(memo)
    if codes is None:
        codes = np.ascontiguousarray(weight_codes(data, t))  # hls4ml's text round trip, once per (weights, type)
        _WEIGHT_CODES.put(memo, codes)
    return codes.copy()  # each model owns its arrays


def _literal_code(value: Any, t: FixedType) -> int:
    # hls4ml prints the constant with str() into the C++ source, which parses it as a double
    return int(to_codes(np.array([float(str(value))]), t)[0])


def _cpp_function(layer) -> str | None:
    text = layer.get_attr("function_cpp")
    if not text:
        return None
    match = re.search(r"nnet::(\w+)\s*<", str(text))
    return match.group(1) if match else None


def _cpp_value(layer, name: str) -> str:
    text = str(layer.get_attr("config_cpp") or "")
    match = re.search(rf"\b{name}\s*=\s*([^;]+);", text)
    if not match:
        raise UnsupportedLayerError(f"{_where(layer)}: no '{name}' in the generated C++ config")
    return match.group(1).strip()


def _cpp_typedef(layer, name: str) -> str:
    text = str(layer.get_attr("config_cpp") or "")
    match = re.search(rf"typedef\s+(.+?)\s+{name}\s*;", text)
    if not match:
        raise UnsupportedLayerError(f"{_where(layer)}: no typedef '{name}' in the generated C++ config")
    return match.group(1).strip()


def _product_kind(layer, input_t_obj, weight_t_obj) -> str:
    from hls4ml.backends import get_backend

    return get_backend("vivado").product_type(input_t_obj, weight_t_obj)


# --- per-layer conversion -------------------------------------------------------------------


def _convert(layer) -> LayerSpec:
    from hls4ml.model import layers as L

    if isinstance(layer, L.Input):
        var = layer.get_output_variable()
        return InputSpec(layer.name, tuple(int(d) for d in var.shape), _type(layer, var.type.precision, "input type"))
    if isinstance(layer, (L.LSTM, L.GRU)):
        return _recurrent(layer)
    if isinstance(layer, L.Bidirectional):
        from fxsim.frontends.hls4ml_wrappers import bidirectional

        return bidirectional(layer)
    if isinstance(layer, L.TimeDistributed):
        from fxsim.frontends.hls4ml_wrappers import time_distributed

        return time_distributed(layer, _convert)
    if isinstance(layer, L.Dense):
        return _dense(layer)
    if isinstance(layer, L.Softmax):
        return _softmax(layer)
    if isinstance(layer, L.HardActivation):
        return _hard_activation(layer)
    if isinstance(layer, L.ParametrizedActivation):
        return _parametrized_activation(layer)
    if isinstance(layer, L.Activation) and not isinstance(layer, (L.PReLU, L.TernaryTanh)):
        return _activation(layer)
    if isinstance(layer, L.Reshape):
        input_t, result_t = _io_types(layer)
        return ReshapeSpec(layer.name, input_t, tuple(int(d) for d in layer.get_output_variable().shape))
    if isinstance(layer, L.BatchNormalization):
        return _scale(layer)
    from fxsim.frontends import hls4ml_conv  # Conv1D, pooling, zero padding (lazily: it imports this module)

    if hls4ml_conv.is_conv_layer(layer):
        return hls4ml_conv.convert_conv_layer(layer)
    raise UnsupportedLayerError(
        f"{_where(layer)} is not supported by fxsim; it emulates Input, Dense, Activation (linear, relu, "
        "leaky relu, sigmoid, tanh, hard sigmoid/tanh), Softmax, LSTM, GRU, Bidirectional LSTM/GRU, "
        "Reshape/Flatten, ApplyAlpha, Conv1D (and Dense on a 2-D input), Max/AveragePooling1D (and global) "
        "and ZeroPadding1D"
    )


def _dense(layer) -> DenseSpec:
    input_t, result_t = _io_types(layer)
    in_shape = layer.get_input_variable().shape
    if len(in_shape) != 1:
        raise UnsupportedLayerError(
            f"{_where(layer)}: Dense on a {len(in_shape)}-D input {tuple(in_shape)} is not emulated "
            "(flatten first)"
        )
    weight_obj = layer.weights["weight"].type.precision
    product = _product_kind(layer, layer.get_input_variable().type.precision, weight_obj)
    if product not in ("mult", "weight_ternary"):
        raise UnsupportedLayerError(
            f"{_where(layer)}: product '{product}' (binary / power-of-two weights) is not emulated"
        )
    strategy = str(layer.get_attr("strategy", "latency")).lower()
    if strategy not in ("latency", "resource"):
        raise UnsupportedLayerError(f"{_where(layer)}: Strategy '{strategy}' is not emulated (Latency, Resource are)")
    weight_t = _layer_type(layer, "weight_t")
    bias_t = _layer_type(layer, "bias_t")
    weight = _weights(layer, "weight", weight_t, bool(layer.get_attr("_weights_transposed", False)))
    if product == "weight_ternary":
        # nnet::product::weight_ternary returns +a for any code other than 0 and -1
        weight = np.where((weight != 0) & (weight != -1), 1, weight).astype(np.int64)
    n_in, n_out = int(layer.get_attr("n_in")), int(layer.get_attr("n_out"))
    if weight.shape != (n_in, n_out):
        raise UnsupportedLayerError(
            f"{_where(layer)}: weight shape {weight.shape} is not (n_in, n_out)=({n_in}, {n_out})"
        )
    return DenseSpec(
        name=layer.name, input_t=input_t, weight=weight, bias=_weights(layer, "bias", bias_t).reshape(n_out),
        weight_t=weight_t, bias_t=bias_t, accum_t=_layer_type(layer, "accum_t"), result_t=result_t,
        strategy=strategy, reuse_factor=int(layer.get_attr("reuse_factor", 1)),
    )


_PLAIN_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")


def _activation(layer) -> ActivationSpec:
    input_t, result_t = _io_types(layer)
    kind = _cpp_function(layer) or str(layer.get_attr("activation")).lower()
    if kind not in _PLAIN_ACTIVATIONS:
        raise UnsupportedLayerError(
            f"{_where(layer)}: activation '{kind}' is not emulated (linear, relu, sigmoid, tanh, leaky relu, "
            "hard sigmoid/tanh and softmax are)"
        )
    table_t = _layer_type(layer, "table_t") if kind in ("sigmoid", "tanh") else None
    return ActivationSpec(layer.name, kind, input_t, result_t, table_t=table_t,
                          table_size=int(layer.get_attr("table_size", 1024)))


def _hard_activation(layer) -> ActivationSpec:
    input_t, result_t = _io_types(layer)
    kind = _cpp_function(layer) or str(layer.get_attr("activation")).lower()
    if kind not in ("hard_sigmoid", "hard_tanh"):
        raise UnsupportedLayerError(f"{_where(layer)}: hard activation '{kind}' is not emulated")
    slope_t = _layer_type(layer, "slope_t")
    shift_t = _layer_type(layer, "shift_t")
    return ActivationSpec(
        layer.name, kind, input_t, result_t,
        slope=_literal_code(layer.get_attr("slope"), slope_t), slope_t=slope_t,
        shift=_literal_code(layer.get_attr("shift"), shift_t), shift_t=shift_t,
    )


def _parametrized_activation(layer) -> ActivationSpec:
    input_t, result_t = _io_types(layer)
    kind = _cpp_function(layer) or str(layer.get_attr("activation")).lower()
    if kind != "leaky_relu":
        raise UnsupportedLayerError(f"{_where(layer)}: activation '{kind}' is not emulated (leaky_relu is)")
    param_t = _layer_type(layer, "param_t")
    return ActivationSpec(layer.name, "leaky_relu", input_t, result_t,
                          param=_literal_code(layer.get_attr("activ_param", 1.0), param_t), param_t=param_t)


def _softmax(layer) -> SoftmaxSpec:
    input_t, result_t = _io_types(layer)
    impl = _cpp_value(layer, "implementation").rsplit("::", 1)[-1]
    if impl not in ("stable", "latency", "legacy", "argmax"):
        raise UnsupportedLayerError(f"{_where(layer)}: softmax implementation '{impl}' is not emulated")
    fn = _cpp_function(layer)
    if fn not in ("softmax", "softmax_multidim"):
        raise UnsupportedLayerError(f"{_where(layer)}: softmax function '{fn}' is not emulated")
    inp_norm_t = None
    if impl == "stable":
        inp_norm = _cpp_typedef(layer, "inp_norm_t")
        named = layer.types.get("inp_norm_t")
        inp_norm_t = _type(layer, named.precision if named is not None and named.name == inp_norm else inp_norm,
                           "inp_norm_t")
    n_slice = int(_cpp_value(layer, "n_slice"))
    n_outer = int(_cpp_value(layer, "n_outer"))
    n_inner = int(_cpp_value(layer, "n_inner"))
    in_shape = tuple(int(d) for d in layer.get_input_variable().shape)
    if fn != "softmax" or n_outer != 1 or n_inner != 1 or len(in_shape) != 1:
        raise UnsupportedLayerError(
            f"{_where(layer)}: softmax over a multi-dimensional input {in_shape} (nnet::{fn}, "
            f"{n_outer}x{n_slice}x{n_inner}) is not emulated: "
            "hls4ml 1.3.0's io_parallel project for it does not compile, "
            "so there is no C simulation to match"
        )
    scale = _cpp_value(layer, "exp_scale").rstrip("fF")
    return SoftmaxSpec(
        name=layer.name, implementation=impl, input_t=input_t, result_t=result_t, n_slice=n_slice,
        exp_table_t=_layer_type(layer, "exp_table_t"), inv_table_t=_layer_type(layer, "inv_table_t"),
        accum_t=_layer_type(layer, "accum_t"), inv_inp_t=_layer_type(layer, "inv_inp_t"),
        exp_table_size=int(_cpp_value(layer, "exp_table_size")),
        inv_table_size=int(_cpp_value(layer, "inv_table_size")),
        table_t=LEGACY_SOFTMAX_TABLE_T, inp_norm_t=inp_norm_t, exp_scale=float(np.float32(float(scale))),
        n_outer=n_outer, n_inner=n_inner,
    )


def _scale(layer) -> ScaleSpec:
    input_t, result_t = _io_types(layer)
    scale_obj = layer.weights["scale"].type.precision
    product = _product_kind(layer, layer.get_input_variable().type.precision, scale_obj)
    if product != "mult":
        raise UnsupportedLayerError(
            f"{_where(layer)}: product '{product}' (power-of-two scale, e.g. QKeras alpha='auto_po2') "
            "is not emulated"
        )
    scale_t = _layer_type(layer, "scale_t")
    bias_t = _layer_type(layer, "bias_t")
    n_in = int(np.prod(layer.get_input_variable().shape))
    n_filt = int(layer.get_attr("n_filt", -1))
    scale = _weights(layer, "scale", scale_t).ravel()
    bias = _weights(layer, "bias", bias_t).ravel()
    if n_filt not in (-1, n_in):
        # nnet::normalize uses scale[ires % n_filt]
        idx = np.arange(n_in) % n_filt
        scale, bias = scale[idx], bias[idx]
    return ScaleSpec(layer.name, input_t, np.ascontiguousarray(scale), np.ascontiguousarray(bias),
                     scale_t, bias_t, result_t)


def _recurrent(layer) -> RecurrentSpec:
    import dataclasses

    cell = layer.class_name.lower()
    input_t, result_t = _io_types(layer)
    where = _where(layer)
    if layer.get_attr("direction", "forward") != "forward":
        raise UnsupportedLayerError(f"{where}: direction '{layer.get_attr('direction')}' is not emulated")
    if cell == "gru" and str(layer.get_attr("apply_reset_gate", "after")) != "after":
        raise UnsupportedLayerError(
            f"{where}: reset_after=False; hls4ml 1.3.0 compiles it but computes garbage (it reads the "
            "(3n,) Keras bias as two scalars and indexes past them), so fxsim does not emulate it"
        )
    pytorch = bool(layer.get_attr("pytorch", False))
    strategy = str(layer.get_attr("strategy", "latency")).lower()
    if strategy not in ("latency", "resource"):
        raise UnsupportedLayerError(f"{where}: Strategy '{strategy}' is not emulated (Latency, Resource are)")
    for key in ("weight", "recurrent_weight"):
        product = _product_kind(layer, layer.get_input_variable().type.precision, layer.weights[key].type.precision)
        if product != "mult":
            raise UnsupportedLayerError(f"{where}: product '{product}' for {key} is not emulated")
    transposed = bool(layer.get_attr("_weights_transposed", False))
    weight_t = _layer_type(layer, "weight_t")
    recurrent_weight_t = _layer_type(layer, "recurrent_weight_t")
    bias_t = _layer_type(layer, "bias_t")
    recurrent_bias_t = _layer_type(layer, "recurrent_bias_t")
    out_shape = layer.get_output_variable().shape
    n_state = int(out_shape[-1])
    k = 4 if cell == "lstm" else 3
    # the C++ takes n_sequence / n_in from the input variable (recurrent_templates.py), which
    # is what counts when a converter's attributes disagree (PyTorch, channels-first shapes)
    n_timesteps, n_in = (int(d) for d in layer.get_input_variable().shape[:2])
    values = dict(
        name=layer.name, cell=cell, input_t=input_t, n_timesteps=n_timesteps,
        weight=_weights(layer, "weight", weight_t, transposed),
        recurrent_weight=_weights(layer, "recurrent_weight", recurrent_weight_t, transposed),
        bias=_weights(layer, "bias", bias_t).reshape(-1),
        recurrent_bias=_weights(layer, "recurrent_bias", recurrent_bias_t).reshape(-1),
        weight_t=weight_t, recurrent_weight_t=recurrent_weight_t, bias_t=bias_t, recurrent_bias_t=recurrent_bias_t,
        accum_t=_layer_type(layer, "accum_t"), result_t=result_t, table_t=_layer_type(layer, "table_t"),
        table_size=int(layer.get_attr("table_size", 1024)),
        activation=str(layer.get_attr("activation")).lower(),
        recurrent_activation=str(layer.get_attr("recurrent_activation")).lower(),
        return_sequences=bool(layer.get_attr("return_sequences", False)),
        static=bool(layer.get_attr("static", True)), strategy=strategy,
        reuse_factor=int(layer.get_attr("reuse_factor", 1)),
    )
    if values["weight"].shape != (n_in, k * n_state) or \
            values["recurrent_weight"].shape != (n_state, k * n_state):
        raise UnsupportedLayerError(f"{where}: unexpected weight shapes {values['weight'].shape}, "
                                    f"{values['recurrent_weight'].shape}")
    if pytorch and cell == "gru":
        _pytorch_gru_to_keras_order(values, n_state, where)
    fields = {f.name for f in dataclasses.fields(RecurrentSpec)}
    if layer.get_attr("pass_initial_states", False):  # PyTorch GRU(x, h0) / LSTM(x, (h0, c0))
        values["initial_state"] = tuple(str(name) for name in layer.inputs[1:])
    recurrent_rf = int(layer.get_attr("recurrent_reuse_factor", values["reuse_factor"]))
    if "recurrent_reuse_factor" in fields:
        values["recurrent_reuse_factor"] = recurrent_rf
    elif strategy == "resource" and recurrent_rf != values["reuse_factor"]:
        raise UnsupportedLayerError(
            f"{where}: Resource with recurrent_reuse_factor {recurrent_rf} != ReuseFactor {values['reuse_factor']} "
            "(hls4ml adjusted them separately) is not emulated"
        )
    spec = RecurrentSpec(**{key: v for key, v in values.items() if key in fields})
    _check_recurrent(spec, layer)
    return spec


def _pytorch_gru_to_keras_order(values: dict, n_state: int, where: str) -> None:
    """Reorder a PyTorch GRU's gate blocks ``[r|z|n]`` to the IR's Keras order ``[z|r|h]`` (in place).

    With ``pytorch_order`` hls4ml's ``nnet::gru`` reads the reset gate from block 0 and
    the update gate from block 1, the Keras code the other way round; everything else
    (the candidate in block 2, the reset applied after the recurrent product and its
    bias, ``h = (1-z)*n + z*h``) is the same code. Each gate element is computed on its
    own, so swapping the blocks gives the same codes, as long as each output's dense
    accumulation keeps its order: true for Latency, and for any order when ``accum_t``
    wraps (modular sums); Resource with a saturating ``accum_t`` visits a column's
    products in an order that depends on the column, so it is refused.
    """
    if values["strategy"] == "resource" and values["accum_t"].overflow.name != "WRAP":
        raise UnsupportedLayerError(
            f"{where}: PyTorch GRU with Strategy Resource and a saturating accum_t "
            f"{values['accum_t']} is not emulated (Latency, or a wrapping accum_t, are)"
        )
    perm = np.r_[n_state:2 * n_state, 0:n_state, 2 * n_state:3 * n_state]
    for key in ("weight", "recurrent_weight"):
        values[key] = np.ascontiguousarray(values[key][:, perm])
    for key in ("bias", "recurrent_bias"):
        values[key] = np.ascontiguousarray(values[key][perm])


def _check_recurrent(spec: RecurrentSpec, layer) -> None:
    """Ask the recurrent kernels whether hls4ml 1.3.0 compiles and computes this layer correctly."""
    try:
        from fxsim.kernels import recurrent
    except ImportError:
        recurrent = None
    check = getattr(recurrent, "check_recurrent_supported", None)
    if check is not None:
        try:
            check(spec)
        except ValueError as err:
            raise UnsupportedLayerError(str(err)) from None
        return
    # the rules of hls4ml-arithmetic.md §5 while the recurrent module provides none
    where = _where(layer)
    for key in ("activation", "recurrent_activation"):
        if getattr(spec, key) not in ("sigmoid", "tanh", "relu"):
            raise UnsupportedLayerError(
                f"{where}: {key} '{getattr(spec, key)}' has no nnet::activation template in hls4ml 1.3.0 "
                "(only sigmoid, tanh, relu compile)"
            )
    if spec.cell == "lstm" and not (spec.input_t == spec.accum_t == spec.result_t):
        raise UnsupportedLayerError(
            f"{where}: input type {spec.input_t}, accum_t {spec.accum_t} and result_t {spec.result_t} differ; "
            "hls4ml 1.3.0's LSTM only compiles when they are identical"
        )
