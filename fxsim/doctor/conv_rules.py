"""Doctor rules for the convolutional front-ends (Conv1D, pooling) of the converted ``ModelGraph``.

Each rule is a trap of hls4ml 1.3.0 (io_parallel, Vivado) measured against its C
simulation or read from its templates:

* ``conv-dilation-ignored``: Keras ``dilation_rate > 1`` -- hls4ml's Keras converter
  reads no dilation (``converters/keras/convolution.py``) and generates the im2col code
  for dilation 1, so the C++ computes an undilated convolution.
* ``conv-resource-rf-too-large``: Resource with ``ReuseFactor > filt_width * n_chan``
  -- hls4ml accepts the reuse factor (it divides ``n_in * n_out``) but
  ``conv_1d_resource_cl`` asserts ``RF <= FILT_WIDTH * N_CHAN``: the C simulation aborts.
* ``maxpool-unsigned-padding``: max pooling with padding over an unsigned input --
  ``pad_val<T, Max>()`` sets the top bit, the most negative value of a signed type but
  ``2**(I-1)`` of an unsigned one, which wins the padded windows (Keras ignores padding).
"""

from __future__ import annotations

from typing import Any

from fxsim.doctor.findings import Finding
from fxsim.fixed import FixedType


def conv_findings(conversion: Any) -> list[Finding]:
    """Findings on the Conv1D and pooling layers of a conversion."""
    out: list[Finding] = []
    for layer in conversion.hls_model.get_layers():
        kind = layer.class_name
        if kind in ("Conv1D", "PointwiseConv1D"):
            out += _dilation(conversion, layer) + _resource_rf(layer)
        elif kind == "Pooling1D":
            out += _unsigned_max_padding(layer)
    return out


def _dilation(conversion: Any, layer: Any) -> list[Finding]:
    try:
        klayer = conversion.keras_model.get_layer(layer.name)
    except (ValueError, AttributeError):
        return []
    rate = klayer.get_config().get("dilation_rate", 1)
    rate = int(rate[0] if isinstance(rate, (tuple, list)) else rate)
    if rate == 1:
        return []
    return [Finding(
        "conv-dilation-ignored", "error", layer.name,
        f"Conv1D dilation_rate={rate} is ignored by hls4ml 1.3.0's Keras converter (no dilation is read and "
        "the im2col code is generated for dilation 1): the C++ computes an undilated convolution, with "
        f"output width {layer.get_attr('out_width')} where Keras has a different one",
        "use dilation_rate=1 (e.g. a wider kernel with zero taps, or a stride), or build the layer outside hls4ml",
        {"dilation_rate": rate},
    )]


def _resource_rf(layer: Any) -> list[Finding]:
    if str(layer.get_attr("strategy", "latency")).lower() != "resource":
        return []
    n_in = int(layer.get_attr("filt_width")) * int(layer.get_attr("n_chan"))
    n_out = int(layer.get_attr("n_filt"))
    rf = int(layer.get_attr("reuse_factor", 1))
    if rf <= n_in:
        return []
    valid = [r for r in range(1, n_in + 1) if (n_in * n_out) % r == 0 and
             ((n_in * n_out + r - 1) // r % n_out == 0 or r >= n_in)]
    return [Finding(
        "conv-resource-rf-too-large", "error", layer.name,
        f"Resource Conv1D with ReuseFactor {rf} > filt_width * n_chan = {n_in}: hls4ml 1.3.0 accepts the reuse "
        "factor but conv_1d_resource_cl asserts 'RF <= FILT_WIDTH * N_CHAN', so the C simulation aborts",
        f"use a ReuseFactor of at most {n_in}, e.g. one of {valid}",
        {"reuse_factor": rf, "max_reuse_factor": n_in, "valid": valid},
    )]


def _unsigned_max_padding(layer: Any) -> list[Finding]:
    if str(layer.get_attr("pool_op", "")).lower() != "max":
        return []
    if int(layer.get_attr("pad_left", 0)) == 0 and int(layer.get_attr("pad_right", 0)) == 0:
        return []
    try:
        t = FixedType.parse(layer.get_input_variable().type.precision)
    except ValueError:
        return []
    if t.signed:
        return []
    pad = 2.0 ** (t.width - 1 - t.frac)
    return [Finding(
        "maxpool-unsigned-padding", "warning", layer.name,
        f"MaxPooling1D with padding over the unsigned input type {t}: hls4ml 1.3.0 pads with the code whose top "
        f"bit is set (pad_val in nnet_pooling.h), here +{pad:g}, so every padded window whose values are below "
        f"it outputs {pad:g} (Keras ignores the padding)",
        "use padding='valid', or make the input of the pooling signed (e.g. a signed result type on the layer "
        "before it)",
        {"input_t": str(t), "pad_value": pad},
    )]
