"""Doctor rules on the converted ``ModelGraph`` and the configuration that made it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fxsim.doctor.findings import Finding
from fxsim.doctor.keras_rules import layer_config, quantizer_of, quantizer_str
from fxsim.fixed import FixedType, from_codes, weight_codes

#: Threshold on the softmax exp-table bin width (in input units) above which we warn.
SOFTMAX_BIN_LIMIT = 0.25


def conversion_findings(conversion: Any) -> list[Finding]:
    """Findings on the converted ``ModelGraph`` and the configuration that made it."""
    out: list[Finding] = []
    out += _ignored_precision_keys(conversion)
    out += _lstm_types(conversion)
    out += _rnn_weights_floored(conversion)
    out += _removed_qactivations(conversion)
    out += _softmax_width(conversion)
    out += _table_width(conversion)
    from fxsim.doctor.conv_rules import conv_findings
    from fxsim.doctor.recurrent_rules import recurrent_rf_findings

    out += conv_findings(conversion)
    out += recurrent_rf_findings(conversion)
    return out


def _ignored_precision_keys(conversion: Any) -> list[Finding]:
    from fxsim.precision import IGNORED_PRECISION_KEYS

    out: list[Finding] = []
    hls_layers = {layer.name: layer for layer in conversion.hls_model.get_layers()}
    generated = conversion.generated.get("LayerName", {})
    for name, entry in conversion.spec.layers.items():
        prec = entry.get("Precision")
        if not isinstance(prec, dict):
            continue
        written = generated.get(name, {}).get("Precision", {})
        for key, direct in IGNORED_PRECISION_KEYS.items():
            if key not in prec or (isinstance(written, dict) and written.get(key) == prec[key]):
                continue  # not set, or left as config_from_keras_model wrote it
            layer = hls_layers.get(name)
            actual = layer.get_attr(direct) if layer is not None else None
            actual_s = str(actual.precision) if actual is not None else "its default"
            if direct in entry:
                continue  # the user also set the working key
            out.append(Finding(
                "table-precision-ignored", "warning", name,
                f"Precision[{key!r}]={prec[key]!r} is ignored by hls4ml 1.3.0 (nothing reads it); "
                f"the layer's {direct} stays {actual_s}",
                f"set the direct layer key instead: {{{name!r}: {{{direct!r}: {prec[key]!r}}}}}",
                {"requested": prec[key], "actual": actual_s},
            ))
    return out


def _prec(t: Any) -> FixedType:
    return FixedType.parse(t)


def _lstm_types(conversion: Any) -> list[Finding]:
    out: list[Finding] = []
    for layer in conversion.hls_model.get_layers():
        if layer.class_name != "LSTM":
            continue
        in_t = _prec(layer.get_input_variable().type.precision)
        acc_t = _prec(layer.types["accum_t"].precision)
        res_t = _prec(layer.get_output_variable().type.precision)
        if in_t == acc_t == res_t:
            continue
        prev = layer.get_input_node()
        prev_name = prev.name if prev is not None else "input"
        fix = {layer.name: {"accum": str(res_t), "result": str(res_t)}}
        cause = ""
        if in_t != res_t:
            fix[prev_name] = {"result": str(res_t)}
            if prev is not None and prev.class_name in ("Conv1D", "PointwiseConv1D", "Pooling1D"):
                # the usual Conv1D -> LSTM trap: the conv's 'auto' result is as wide as its exact sums
                cause = (f" (the input is {prev.class_name} {prev_name!r}'s result type, which 'auto' infers "
                         f"wide enough for its exact sums; set its result to {res_t})")
        out.append(Finding(
            "lstm-types-differ", "error", layer.name,
            f"LSTM input type {in_t}, accum_t {acc_t} and result_t {res_t} differ: hls4ml 1.3.0's lstm() "
            "template passes them as one type (nnet_recurrent.h:79-80), so the project does not compile" + cause,
            f"make the three identical, e.g. precision={fix!r}",
            {"input_t": str(in_t), "accum_t": str(acc_t), "result_t": str(res_t), "suggested": fix},
        ))
    return out


def _keras_layer(conversion: Any, name: str):
    try:
        return conversion.keras_model.get_layer(name)
    except ValueError:
        return None


def _rnn_weights_floored(conversion: Any) -> list[Finding]:
    out: list[Finding] = []
    for layer in conversion.hls_model.get_layers():
        if layer.class_name not in ("LSTM", "GRU"):
            continue
        klayer = _keras_layer(conversion, layer.name)
        if klayer is None or type(klayer).__name__ not in ("QLSTM", "QGRU"):
            continue
        raw = klayer.get_weights()
        quantizers = [klayer.kernel_quantizer_internal, klayer.recurrent_quantizer_internal,
                      klayer.bias_quantizer_internal]
        bias = raw[2] if len(raw) > 2 else None
        parts = [("kernel", raw[0], quantizers[0], "weight_t"), ("recurrent kernel", raw[1], quantizers[1],
                                                                 "recurrent_weight_t")]
        if bias is not None:
            parts.append(("bias", bias[0] if bias.ndim == 2 else bias, quantizers[2], "bias_t"))
        counts = {}
        total_diff = total = 0
        max_lsb = 0.0
        for what, w, q, tname in parts:
            if q is None:
                continue
            if bias is not None and what == "bias" and bias.ndim == 2:
                qvals = np.asarray(q(bias.astype(np.float32)))[0]  # QKeras quantizes the whole (2, 3n) bias
            else:
                qvals = np.asarray(q(w.astype(np.float32)))
            t = _prec(layer.types[tname].precision)
            hw = from_codes(weight_codes(w, t), t)
            diff = int(np.sum(hw != qvals.astype(np.float64)))
            counts[what] = f"{diff} of {w.size}"
            total_diff += diff
            total += w.size
            if diff:
                max_lsb = max(max_lsb, float(np.max(np.abs(hw - qvals))) / t.lsb)
        if not counts:
            continue
        out.append(Finding(
            "rnn-weights-floored", "warning" if total_diff else "info", layer.name,
            f"hls4ml writes {type(klayer).__name__} weights from the raw float kernels and floors them to the "
            f"weight types instead of using QKeras's rounded values: {total_diff} of {total} weights differ "
            f"from QKeras ({', '.join(f'{k} {v}' for k, v in counts.items())}; largest difference "
            f"{max_lsb:.3g} LSB). fxsim emulates the floored weights the hardware really holds",
            "convert the quantized twin instead (fxsim.frontends.keras.quantized_twin(model): the float model "
            "with qkeras.utils.model_save_quantized_weights values), or accept the deviation",
            {"differing": total_diff, "total": total, "per_tensor": counts, "max_lsb": max_lsb},
        ))
    return out


def _removed_qactivations(conversion: Any) -> list[Finding]:
    out: list[Finding] = []
    hls_layers = {layer.name: layer for layer in conversion.hls_model.get_layers()}
    names = set(conversion.config.get("LayerName", {}))
    for klayer in conversion.keras_model.layers:
        if type(klayer).__name__ != "QActivation" or klayer.name in hls_layers:
            continue
        q = quantizer_of(layer_config(klayer).get("activation"))
        if q is None or q[0] != "quantized_bits":
            continue
        bits, integer = int(q[1].get("bits", 8)), int(q[1].get("integer", 0))
        wanted = FixedType(bits, integer + 1, True, "RND_CONV", "SAT")
        prev, nxt = _inbound(klayer), _outbound(klayer)
        received = hls_layers[nxt].get_input_variable().type.precision if nxt in hls_layers else None
        if received is not None and _prec(received) == wanted:
            continue  # the previous layer already delivers the QActivation's type
        targets = [n for n in (prev, f"{prev}_linear") if n in names]
        fix = {n: {"result": wanted.hls4ml_str()} for n in targets}
        out.append(Finding(
            "qactivation-removed", "warning", klayer.name,
            f"QActivation({quantizer_str(q)}) directly after {prev!r}, whose result precision is 'auto', is removed by "
            f"hls4ml's merge_linear_activation: its quantization to {wanted} vanishes and "
            f"{nxt!r} receives {_prec(received) if received is not None else 'the unquantized values'} instead",
            f"give {' and '.join(map(repr, targets))} that result precision explicitly: precision={fix!r}",
            {"previous": prev, "next": nxt, "received": str(received), "wanted": str(wanted), "suggested": fix},
        ))
    return out


def _inbound(klayer: Any) -> str:
    try:
        layers = klayer.inbound_nodes[0].inbound_layers
        layers = layers if isinstance(layers, list) else [layers]
        return layers[0].name
    except (AttributeError, IndexError):
        return "?"


def _outbound(klayer: Any) -> str:
    try:
        return klayer.outbound_nodes[0].outbound_layer.name
    except (AttributeError, IndexError):
        return "?"


def _softmax_width(conversion: Any) -> list[Finding]:
    out: list[Finding] = []
    for layer in conversion.hls_model.get_layers():
        if layer.class_name != "Softmax":
            continue
        impl = str(layer.get_attr("implementation", "stable")).lower()
        if impl not in ("stable", "latency"):
            continue
        t = _prec(layer.get_input_variable().type.precision)
        size = int(layer.get_attr("exp_table_size", None) or layer.get_attr("table_size", 1024))
        if impl == "stable":
            w, i = t.width - int(t.signed), t.integer - int(t.signed)
            size = min(size, 2 ** w)
            idx = f"ap_ufixed<{w},{i}> (x_max − x)"
        else:
            w, i = t.width, t.integer
            idx = str(t)
        n_addr = max(1, math.ceil(math.log2(size)))
        bin_width = 2.0 ** (i - n_addr)
        if bin_width <= SOFTMAX_BIN_LIMIT:
            continue
        prev = layer.get_input_node()
        prev_name = prev.name if prev is not None else "?"
        out.append(Finding(
            "softmax-input-too-wide", "warning", layer.name,
            f"softmax ({impl}) input {t} is too wide for its {size}-entry exp table: the table is indexed by "
            f"the top {n_addr} bits of {idx}, so each bin spans {bin_width:g} input units (exp changes by a "
            f"factor {math.exp(min(bin_width, 700)):.3g} per bin) and the outputs are coarse or near-uniform",
            f"give {prev_name!r} a narrow result type, e.g. precision={{{prev_name!r}: {{'result': "
            "'ap_fixed<16,6>'}} (bins of 2^-5)",
            {"input_t": str(t), "bin_width": bin_width, "table_size": size},
        ))
    return out


def _lut_kinds(layer: Any) -> list[str]:
    kinds = []
    for key in ("activation", "recurrent_activation"):
        act = layer.get_attr(key)
        if isinstance(act, str) and act.lower() in ("sigmoid", "tanh"):
            kinds.append(act.lower())
    return sorted(set(kinds))


def _table_width(conversion: Any) -> list[Finding]:
    from fxsim.kernels.lut import build_table, table_values

    out: list[Finding] = []
    for layer in conversion.hls_model.get_layers():
        if layer.class_name not in ("LSTM", "GRU", "Activation") or layer.get_attr("table_t") is None:
            continue
        table_t = _prec(layer.get_attr("table_t").precision)
        size = int(layer.get_attr("table_size", 1024))
        for kind in _lut_kinds(layer):
            exact = table_values(kind, size).astype(np.float64)
            vals = from_codes(build_table(kind, size, table_t), table_t)
            bad = int(np.sum(np.abs(vals - exact) > table_t.lsb))
            step = (0.25 * 16 if kind == "sigmoid" else 8.0) / size  # steepest change between neighbours
            if bad:
                out.append(Finding(
                    "table-overflow", "warning", layer.name,
                    f"{kind} table entries do not fit table_t {table_t} ({bad} of {size} wrap or saturate; "
                    f"{kind} needs the range {'[0, 1)' if kind == 'sigmoid' else '[-1, 1)'})",
                    f"use a table_t with enough integer bits, e.g. {{{layer.name!r}: {{'table_t': "
                    f"'ap_fixed<18,8>'}}}}",
                    {"table_t": str(table_t), "entries_out_of_range": bad},
                ))
            elif table_t.lsb > step:
                distinct = int(np.unique(vals).size)
                need = math.ceil(-math.log2(step))
                out.append(Finding(
                    "table-too-narrow", "warning", layer.name,
                    f"table_t {table_t} is too narrow for {size} {kind} entries: its LSB {table_t.lsb:g} is "
                    f"coarser than the steepest step between neighbouring entries ({step:g}), so only "
                    f"{distinct} distinct values fill the {size} entries",
                    f"give table_t at least {need} fractional bits, or use TableSize "
                    f"{max(8, 2 ** math.floor(math.log2(size * step / table_t.lsb)))}",
                    {"table_t": str(table_t), "table_size": size, "distinct": distinct},
                ))
    return out
