"""hls4ml's wrapper layers in the fxsim IR: ``Bidirectional`` (LSTM/GRU) and ``TimeDistributed``.

hls4ml 1.3.0 (``model/layers.py`` ``Bidirectional``, ``backends/vivado/passes/
recurrent_templates.py``, ``nnet_recurrent.h`` ``bidirectional_stack``) builds one
layer holding two recurrent cells. What each direction reads from the converted layer:

* its own weight types ``<d>_weight_t``, ``<d>_recurrent_weight_t``, ``<d>_bias_t``,
  ``<d>_recurrent_bias_t``, activations and state size (``<d>_n_states``);
* the layer's ``accum_t``, ``table_t``, ``table_size``, ``static``, strategy, input
  type and ``result_t`` (one ``bidirectional_stack<input_t, result_t>`` call);
* the input dense runs with the layer's ``reuse_factor`` while its Resource kernel is
  picked with ``<d>_reuse_factor``; the recurrent dense runs with
  ``<d>_recurrent_reuse_factor``, its kernel also picked with ``<d>_reuse_factor``.

The output always concatenates ``[forward | backward]``: ``bidirectional_stack`` has no
other merge. For ``merge_mode`` other than ``concat`` the converter sizes the output
for one direction while the C++ writes both, past the end of the output array, so
there is no defined C simulation to match and the layer is refused.
"""

from __future__ import annotations

import numpy as np

from fxsim.frontends.hls4ml import (
    UnsupportedLayerError,
    _io_types,
    _layer_type,
    _product_kind,
    _type,
    _where,
)
from fxsim.ir import BidirectionalSpec, RecurrentSpec, TimeDistributedSpec
from fxsim.kernels.recurrent import check_recurrent_supported
from fxsim.runners_wrappers import static_only

DIRECTIONS = ("forward", "backward")


def bidirectional(layer) -> BidirectionalSpec:
    """The :class:`~fxsim.ir.BidirectionalSpec` of a converted hls4ml ``Bidirectional`` layer.

    Raises
    ------
    UnsupportedLayerError
        For a merge mode other than ``concat``, a PyTorch-converted layer, a reuse
        factor hls4ml splits between the two dense kernels in a way the recurrent
        kernels do not model, or any setting a plain LSTM/GRU would be refused for.
    """
    where = _where(layer)
    merge = layer.get_attr("merge_mode", "concat")
    if merge != "concat":
        raise UnsupportedLayerError(
            f"{where}: merge_mode={merge!r} is not emulated: hls4ml 1.3.0 sizes the output for one direction "
            "but nnet::bidirectional_stack always writes [forward | backward] (2x the values, past the end "
            "of the output array), so the C simulation is undefined; use merge_mode='concat' (then a Dense "
            "can learn the sum)"
        )
    if layer.get_attr("pytorch", False):
        raise UnsupportedLayerError(f"{where}: a PyTorch bidirectional layer is not emulated (Keras ones are)")
    specs = [_direction(layer, d) for d in DIRECTIONS]
    return BidirectionalSpec(layer.name, specs[0], specs[1], merge_mode="concat")


def _direction(layer, d: str) -> RecurrentSpec:
    where = f"{_where(layer)} {d} {layer.get_attr(f'{d}_class_name')}"
    cell = str(layer.get_attr(f"{d}_class_name")).lower()
    if cell not in ("lstm", "gru"):
        raise UnsupportedLayerError(f"{where}: cell {cell!r} is not emulated (LSTM and GRU are)")
    input_t, result_t = _io_types(layer)
    in_prec = layer.get_input_variable().type.precision
    for key in ("weight", "recurrent_weight"):
        product = _product_kind(layer, in_prec, layer.weights[f"{d}_{key}"].type.precision)
        if product != "mult":
            raise UnsupportedLayerError(f"{where}: product '{product}' for {d}_{key} is not emulated")
    strategy = str(layer.get_attr("strategy", "latency")).lower()
    if strategy not in ("latency", "resource"):
        raise UnsupportedLayerError(f"{where}: Strategy '{strategy}' is not emulated (Latency, Resource are)")
    n_timesteps, n_in = (int(v) for v in layer.get_input_variable().shape[:2])
    n_state = int(layer.get_attr(f"{d}_n_states"))
    rf = int(layer.get_attr("reuse_factor", 1))
    d_rf = int(layer.get_attr(f"{d}_reuse_factor", rf))
    d_rrf = int(layer.get_attr(f"{d}_recurrent_reuse_factor", d_rf))
    if strategy == "resource" and ((d_rf <= n_in) != (rf <= n_in) or (d_rf <= n_state) != (rf <= n_state)):
        raise UnsupportedLayerError(
            f"{where}: ReuseFactor {rf} and {d.capitalize()}ReuseFactor {d_rf} pick different Resource kernels "
            "(hls4ml runs the input dense with the first and picks its kernel with the second); "
            "not emulated: give both the same value"
        )
    transposed = bool(layer.get_attr("_weights_transposed", False))
    types = {key: _layer_type(layer, f"{d}_{key}_t") for key in ("weight", "recurrent_weight", "bias",
                                                                  "recurrent_bias")}

    def codes(key: str) -> np.ndarray:
        from fxsim.fixed import weight_codes

        data = np.asarray(layer.weights[f"{d}_{key}"].data)
        if transposed and key.endswith("weight"):
            data = data.T
        return np.ascontiguousarray(weight_codes(data, types[key]))

    k = 4 if cell == "lstm" else 3
    spec = RecurrentSpec(
        name=f"{layer.name}/{d}", cell=cell, input_t=input_t, n_timesteps=n_timesteps,
        weight=codes("weight"), recurrent_weight=codes("recurrent_weight"),
        bias=codes("bias").reshape(-1), recurrent_bias=codes("recurrent_bias").reshape(-1),
        weight_t=types["weight"], recurrent_weight_t=types["recurrent_weight"], bias_t=types["bias"],
        recurrent_bias_t=types["recurrent_bias"], accum_t=_layer_type(layer, "accum_t"), result_t=result_t,
        table_t=_type(layer, layer.get_attr("table_t").precision, "table_t"),
        table_size=int(layer.get_attr("table_size", 1024)),
        activation=str(layer.get_attr(f"{d}_activation")).lower(),
        recurrent_activation=str(layer.get_attr(f"{d}_recurrent_activation")).lower(),
        return_sequences=bool(layer.get_attr("return_sequences", False)),
        static=bool(layer.get_attr("static", True)), strategy=strategy, reuse_factor=rf,
        recurrent_reuse_factor=d_rrf,
    )
    if spec.weight.shape != (n_in, k * n_state) or spec.recurrent_weight.shape != (n_state, k * n_state):
        raise UnsupportedLayerError(
            f"{where}: unexpected weight shapes {spec.weight.shape}, {spec.recurrent_weight.shape}"
        )
    if spec.bias.shape != (k * n_state,) or spec.recurrent_bias.shape != (k * n_state,):
        raise UnsupportedLayerError(
            f"{where}: biases of shape {spec.bias.shape} / {spec.recurrent_bias.shape}, expected ({k * n_state},) "
            "each (hls4ml's converter did not split the Keras GRU bias into input and recurrent parts)"
        )
    try:
        reset_after = layer.get_attr(f"{d}_apply_reset_gate", "after") == "after"
        check_recurrent_supported(spec, reset_after=reset_after, static_only=static_only(spec))
    except ValueError as err:
        raise UnsupportedLayerError(f"{_where(layer)}: {err}") from None
    return spec


def time_distributed(layer, convert) -> TimeDistributedSpec:
    """The :class:`~fxsim.ir.TimeDistributedSpec` of hls4ml's ``TimeDistributed`` loop starting at ``layer``.

    hls4ml 1.3.0 (``converters/keras/recurrent.py``, ``recurrent_templates.py``,
    ``nnet_time_distributed.h``) turns ``TimeDistributed(X)`` into a loop start
    (``read_time_step``), the layers of ``X`` on one step, and a loop end ``<start>_end``
    (``write_time_step``); ``layer`` is either end of the loop, and both give the same
    spec (``from_hls4ml`` keeps it once and skips the layers it holds). ``convert`` turns
    each wrapped layer into its spec (``fxsim.frontends.hls4ml._convert``).

    Raises
    ------
    UnsupportedLayerError
        For a loop end without its start, a loop whose end is missing, or copies
        between different types (the C++ copies arrays of one type).
    """
    graph = list(layer.model.get_layers())
    if layer.get_attr("wrapped_layer").name != f"{layer.name}_end":
        # the loop end: the same spec as its start's (from_hls4ml keeps the first)
        starts = [lay for lay in graph if f"{lay.name}_end" == layer.name]
        if not starts:
            raise UnsupportedLayerError(f"{_where(layer)}: a TimeDistributed loop end without its start")
        layer = starts[0]
    where = _where(layer)
    start = next(i for i, lay in enumerate(graph) if lay is layer)
    end = next((i for i in range(start + 1, len(graph)) if graph[i].name == f"{layer.name}_end"), None)
    if end is None or end == start + 1:
        raise UnsupportedLayerError(f"{where}: no wrapped layers between the loop start and {layer.name}_end")
    input_t, step_t = _io_types(layer)
    if step_t != input_t:
        raise UnsupportedLayerError(
            f"{where}: the step type {step_t} differs from the input type {input_t}; hls4ml 1.3.0 passes the "
            "step array to read_time_step_2d<input type> (arrays of one type), so the C++ does not compile: "
            f"give {layer.name!r} the result type {input_t}"
        )
    inner = tuple(convert(lay) for lay in graph[start + 1:end])
    end_layer = graph[end]
    _, result_t = _io_types(end_layer)
    if result_t != inner[-1].result_t:
        raise UnsupportedLayerError(
            f"{_where(end_layer)}: the output type {result_t} differs from the wrapped layer's "
            f"{inner[-1].result_t}; hls4ml 1.3.0 passes the step to write_time_step_2d<output type> (arrays of one "
            "type), so the C++ does not compile"
        )
    n_steps = int(layer.get_attr("n_time_steps"))
    return TimeDistributedSpec(end_layer.name, n_steps, inner, input_t)
