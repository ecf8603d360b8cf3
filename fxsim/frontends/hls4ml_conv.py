"""hls4ml's convolutional layers (io_parallel, channels last) as fxsim specs.

``Conv1D`` (Keras and QKeras ``QConv1D``) and ``PointwiseConv1D`` (what hls4ml 1.3.0
makes of a ``filt_width == 1`` Conv1D and of a Dense on a ``(steps, features)`` input:
``ReplaceMultidimensionalDenseWithConv`` then ``OptimizePointwiseConv``) become
:class:`~fxsim.ir.Conv1DSpec`; ``MaxPooling1D``/``AveragePooling1D`` and their global
versions :class:`~fxsim.ir.Pooling1DSpec`; ``ZeroPadding1D``
:class:`~fxsim.ir.ZeroPadding1DSpec`. Geometry, types, strategy and reuse factor are
read from the converted layer, as the generated C++ config uses them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fxsim.frontends.hls4ml import (
    UnsupportedLayerError,
    _io_types,
    _layer_type,
    _product_kind,
    _weights,
    _where,
)
from fxsim.ir import Conv1DSpec, LayerSpec, Pooling1DSpec, ZeroPadding1DSpec


def is_conv_layer(layer: Any) -> bool:
    """Whether ``layer`` is one of the layer classes this module converts (or refuses by name)."""
    from hls4ml.model import layers as L

    return isinstance(layer, (L.Conv1D, L.SeparableConv1D, L.Pooling1D, L.GlobalPooling1D, L.ZeroPadding1D))


def convert_conv_layer(layer: Any) -> LayerSpec:
    """The spec of one converted hls4ml convolutional / pooling / padding layer.

    Raises
    ------
    UnsupportedLayerError
        For channels-first data, depthwise/separable convolutions, dilation, strategies
        other than Latency/Resource, and settings hls4ml 1.3.0 aborts on or computes wrong.
    """
    from hls4ml.model import layers as L

    if str(layer.get_attr("data_format", "channels_last")) != "channels_last":
        raise UnsupportedLayerError(f"{_where(layer)}: data_format channels_first is not emulated (channels_last is)")
    if isinstance(layer, (L.DepthwiseConv1D, L.SeparableConv1D)):
        raise UnsupportedLayerError(f"{_where(layer)} (depthwise / separable convolution) is not emulated")
    if isinstance(layer, L.Conv1D):
        return _conv1d(layer)
    if isinstance(layer, (L.Pooling1D, L.GlobalPooling1D)):
        return _pooling1d(layer)
    return _zeropad1d(layer)


def _keras_dilation(layer: Any) -> int:
    model = layer.model.config.config.get("KerasModel") if hasattr(layer, "model") else None
    if model is None:
        return 1
    try:
        rate = model.get_layer(layer.name).get_config().get("dilation_rate", 1)
    except (ValueError, AttributeError):
        return 1
    return int(rate[0] if isinstance(rate, (tuple, list)) else rate)


def _conv1d(layer: Any) -> Conv1DSpec:
    where = _where(layer)
    input_t, result_t = _io_types(layer)
    dilation = _keras_dilation(layer)
    if dilation != 1:
        raise UnsupportedLayerError(
            f"{where}: dilation_rate {dilation} is not emulated: hls4ml 1.3.0's Keras converter ignores it "
            "(parse_conv1d_layer reads no dilation and the im2col code is generated for dilation 1), so its "
            "C simulation computes an undilated convolution with a different output width than Keras"
        )
    strategy = str(layer.get_attr("strategy", "latency")).lower()
    if strategy not in ("latency", "resource"):
        raise UnsupportedLayerError(f"{where}: Strategy '{strategy}' is not emulated (Latency, Resource are)")
    product = _product_kind(layer, layer.get_input_variable().type.precision, layer.weights["weight"].type.precision)
    if product != "mult":
        raise UnsupportedLayerError(f"{where}: product '{product}' (binary / ternary / power-of-two weights) "
                                    "is not emulated")
    weight_t = _layer_type(layer, "weight_t")
    bias_t = _layer_type(layer, "bias_t")
    k, c, f = (int(layer.get_attr(a)) for a in ("filt_width", "n_chan", "n_filt"))
    weight = _weights(layer, "weight", weight_t)
    if bool(layer.get_attr("_weights_transposed", False)):
        weight = np.transpose(weight, (1, 2, 0))  # ApplyResourceStrategy made (W, C, F) into (F, W, C)
    weight = np.ascontiguousarray(weight.reshape(k, c, f))
    in_shape = tuple(int(d) for d in layer.get_input_variable().shape)
    out_shape = tuple(int(d) for d in layer.get_output_variable().shape)
    spec = Conv1DSpec(
        name=layer.name, input_t=input_t, weight=weight,
        bias=_weights(layer, "bias", bias_t).reshape(f), weight_t=weight_t, bias_t=bias_t,
        accum_t=_layer_type(layer, "accum_t"), result_t=result_t, in_width=int(layer.get_attr("in_width")),
        stride=int(layer.get_attr("stride_width", 1)), pad_left=int(layer.get_attr("pad_left", 0)),
        pad_right=int(layer.get_attr("pad_right", 0)), strategy=strategy,
        reuse_factor=int(layer.get_attr("reuse_factor", 1)),
    )
    if in_shape != (spec.in_width, c) or out_shape != (spec.out_width, f) or \
            int(layer.get_attr("out_width")) != spec.out_width:
        raise UnsupportedLayerError(
            f"{where}: geometry does not add up: input {in_shape}, output {out_shape}, in_width {spec.in_width}, "
            f"filt_width {k}, stride {spec.stride}, pad {spec.pad_left}/{spec.pad_right}"
        )
    return spec


def _pooling1d(layer: Any) -> Pooling1DSpec:
    from hls4ml.model import layers as L

    where = _where(layer)
    input_t, result_t = _io_types(layer)
    op = str(layer.get_attr("pool_op", "")).lower()
    if op not in ("max", "average"):
        raise UnsupportedLayerError(f"{where}: pool_op '{op}' is not emulated (Max, Average are)")
    n_in, n_filt = (int(d) for d in layer.get_input_variable().shape)
    is_global = isinstance(layer, L.GlobalPooling1D)
    if is_global:
        spec = Pooling1DSpec(layer.name, op, input_t, _layer_type(layer, "accum_t"), result_t, n_in, n_filt,
                             pool_width=n_in, stride=n_in, is_global=True)
        expected = (n_filt,)
    else:
        spec = Pooling1DSpec(
            layer.name, op, input_t, _layer_type(layer, "accum_t"), result_t, n_in, n_filt,
            pool_width=int(layer.get_attr("pool_width")), stride=int(layer.get_attr("stride_width")),
            pad_left=int(layer.get_attr("pad_left", 0)), pad_right=int(layer.get_attr("pad_right", 0)),
            count_pad=bool(layer.get_attr("count_pad", False)),
        )
        expected = (spec.n_out, n_filt)
        if int(layer.get_attr("n_out")) != spec.n_out:
            raise UnsupportedLayerError(
                f"{where}: n_out {layer.get_attr('n_out')} differs from the {spec.n_out} windows pooling1d_cl "
                "visits; hls4ml's C++ would write outside its output array"
            )
    if tuple(int(d) for d in layer.get_output_variable().shape) != expected:
        raise UnsupportedLayerError(f"{where}: output shape {layer.get_output_variable().shape} is not {expected}")
    return spec


def _zeropad1d(layer: Any) -> ZeroPadding1DSpec:
    input_t, result_t = _io_types(layer)
    return ZeroPadding1DSpec(layer.name, input_t, result_t, int(layer.get_attr("pad_left")),
                             int(layer.get_attr("pad_right")))
