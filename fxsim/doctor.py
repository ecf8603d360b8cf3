"""The conversion doctor: what hls4ml 1.3.0 will really build from a Keras/QKeras model.

hls4ml rejects some settings, cannot compile others and silently changes a few
(``shared/docs/hls4ml-arithmetic.md`` §4.1, §5, §7). :func:`doctor` looks at the
Keras model, at the converted ``ModelGraph`` and, given data, at the emulated
value ranges, and returns one :class:`Finding` per problem: its severity, the
layer, what the hardware will do, and the fix.

Severities:

* ``error``: hls4ml rejects the model, the project does not compile, or the
  hardware reads undefined memory. :func:`fxsim.evaluate` refuses such a model
  with the finding's explanation (:class:`ConversionRefused`).
* ``warning``: the hardware is well defined but is not what the model says
  (QKeras trained something else, a setting is ignored, values overflow).
  fxsim emulates what is really built and reports the deviation.
* ``info``: worth knowing, changes nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from fxsim.fixed import FixedType, from_codes, weight_codes

SEVERITIES = ("error", "warning", "info")

#: Keras layers hls4ml 1.3.0 accepts but cannot build (or builds unverified) on Vivado/Vitis;
#: every other layer is judged by hls4ml's conversion and fxsim's emulator (``not-emulated``).
UNBUILDABLE_LAYERS = {
    "SimpleRNN": "hls4ml 1.3.0 has no Vivado/Vitis template for SimpleRNN",
    "QSimpleRNN": "hls4ml 1.3.0 has no Vivado/Vitis template for SimpleRNN",
    "Bidirectional": "hls4ml's Bidirectional path is unverified (its GRU bias handling is suspect)",
    "QBidirectional": "hls4ml's Bidirectional path is unverified",
}
#: Activations ``nnet::activation`` provides for LSTM/GRU (``nnet_recr_activations.h``).
RNN_ACTIVATIONS = ("tanh", "sigmoid", "relu")
_RNN_CLASSES = ("LSTM", "GRU", "QLSTM", "QGRU")
#: Threshold on the softmax exp-table bin width (in input units) above which we warn.
SOFTMAX_BIN_LIMIT = 0.25


@dataclass(frozen=True)
class Finding:
    """One problem the doctor found.

    Attributes
    ----------
    code : short stable identifier, e.g. ``"lstm-types-differ"``.
    severity : ``"error"``, ``"warning"`` or ``"info"``.
    layer : the layer concerned (Keras/hls4ml name), or ``"model"``.
    what : what hls4ml / the hardware will do.
    fix : how to get what the model intends.
    details : numbers behind the finding (JSON-able).
    """

    code: str
    severity: str
    layer: str
    what: str
    fix: str
    details: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")

    def __str__(self) -> str:
        return f"[{self.severity}] {self.layer}: {self.what}\n    fix: {self.fix}"

    def to_dict(self) -> dict:
        return asdict(self)


class Diagnosis:
    """The doctor's findings, most severe first; iterable, printable, JSON-able."""

    def __init__(self, findings: Iterable[Finding] = ()):
        order = {s: i for i, s in enumerate(SEVERITIES)}
        self.findings = sorted(findings, key=lambda f: order[f.severity])

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __getitem__(self, i: int) -> Finding:
        return self.findings[i]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        """No errors: hls4ml builds a well-defined design."""
        return not self.errors

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def by_code(self, code: str) -> list[Finding]:
        return [f for f in self.findings if f.code == code]

    def to_list(self) -> list[dict]:
        return [f.to_dict() for f in self.findings]

    def __str__(self) -> str:
        if not self.findings:
            return "conversion doctor: no findings"
        counts = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s in SEVERITIES
                           if (n := sum(f.severity == s for f in self.findings)))
        return "\n".join([f"conversion doctor: {counts}"] + [str(f) for f in self.findings])

    def __repr__(self) -> str:
        return f"Diagnosis({self.codes()})"


class ConversionRefused(ValueError):
    """The hardware for this model is undefined or cannot be built; carries the findings."""

    def __init__(self, diagnosis: Diagnosis):
        self.diagnosis = diagnosis
        lines = [f"fxsim refuses to emulate: hls4ml 1.3.0 cannot build a well-defined design "
                 f"({len(diagnosis.errors)} error{'s' if len(diagnosis.errors) != 1 else ''})"]
        lines += [str(f) for f in diagnosis.errors]
        super().__init__("\n".join(lines))


# --- entry point -------------------------------------------------------------------------


def doctor(model: Any, precision: Any = None, x: np.ndarray | None = None, **options: Any) -> Diagnosis:
    """Diagnose what hls4ml 1.3.0 builds from ``model`` at ``precision``.

    Parameters
    ----------
    model : Keras/QKeras model or ``.h5``/``.keras`` path.
    precision : precision spec (see :mod:`fxsim.precision`).
    x : optional input data; adds the value-range findings (overflows) measured
        by emulating the converted model on it.
    **options : hls4ml options, as for :func:`fxsim.emulate`.

    Returns
    -------
    Diagnosis : the findings, errors first. Malformed specs and bad data still raise
        ``ValueError`` (they are mistakes in the call, not in the model).
    """
    from fxsim.frontends.keras import HLS4MLError, convert, load_model
    from fxsim.precision import check_options, parse_precision

    parse_precision(precision)  # mistakes in the call raise before any diagnosis
    check_options(options)
    model = load_model(model)
    findings = static_findings(model)
    blocking = [f for f in findings if f.severity == "error" and f.details.get("blocks_conversion")]
    if blocking:
        return Diagnosis(findings)
    try:
        conversion = convert(model, precision, **options)
    except HLS4MLError as err:
        findings.append(Finding("conversion-failed", "error", "model", f"hls4ml cannot convert the model: {err}",
                                "see the other findings; simplify the model to the supported layers"))
        return Diagnosis(findings)
    findings += conversion_findings(conversion)
    if any(f.severity == "error" for f in findings):
        return Diagnosis(findings)
    from fxsim.frontends.hls4ml import UnsupportedLayerError, from_hls4ml

    try:
        fx = from_hls4ml(conversion.hls_model)
    except UnsupportedLayerError as err:
        match = re.search(r"layer '([^']+)'", str(err))
        findings.append(Finding(
            "not-emulated", "error", match.group(1) if match else "model",
            f"hls4ml builds this, but fxsim does not emulate it: {err}",
            "change the setting named above to one fxsim emulates, or check this layer with hls4ml's C "
            "simulation (fxsim.csim)",
        ))
        return Diagnosis(findings)
    if x is not None:
        findings += data_findings(fx, x)
    return Diagnosis(findings)


# --- helpers ----------------------------------------------------------------------------


def _quantizer(obj: Any) -> tuple[str, dict] | None:
    """``(class_name, config)`` of a QKeras quantizer given as config dict, string or object."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        if "class_name" not in obj:
            return None
        return obj["class_name"], dict(obj.get("config", {}) or {})
    if isinstance(obj, str):
        if "(" not in obj and not obj.startswith(("quantized_", "binary", "ternary", "stochastic_")):
            return None  # a plain Keras activation name
        from fxsim.compat import import_qkeras

        qkeras = import_qkeras()
        try:
            q = qkeras.get_quantizer(obj)
        except Exception:
            return None
        obj = q
    if hasattr(obj, "get_config"):
        return type(obj).__name__, dict(obj.get_config())
    name = getattr(obj, "__name__", None)
    return (name, {}) if name else None


def _q_str(q: tuple[str, dict]) -> str:
    name, cfg = q
    keys = [k for k in ("bits", "integer", "symmetric", "alpha", "use_sigmoid", "use_real_tanh", "use_real_sigmoid")
            if cfg.get(k) not in (None, False, 0) or k in ("bits", "integer")]
    args = ", ".join(f"{k}={cfg[k]!r}" for k in keys if k in cfg)
    return f"{name}({args})"


def _is_hard(q: tuple[str, dict]) -> bool:
    name, cfg = q
    return (name == "quantized_tanh" and not cfg.get("use_real_tanh", False)) or (
        name == "quantized_sigmoid" and not cfg.get("use_real_sigmoid", False)
    )


def _fixed_of_bits(cfg: dict) -> str:
    bits = int(cfg.get("bits", 8))
    integer = int(cfg.get("integer", 0))
    return f"fixed<{bits},{integer + 1}>" if bits != integer else f"int<{bits}>"


def _alpha_active(cfg: dict) -> bool:
    alpha = cfg.get("alpha")
    if alpha is None:
        return False
    if isinstance(alpha, str):
        return True
    try:
        return not np.all(np.asarray(alpha, dtype=float) == 1.0)
    except (TypeError, ValueError):
        return True


def _layer_config(layer: Any) -> dict:
    try:
        return layer.get_config()
    except Exception:  # some layers cannot serialise; the doctor then has nothing to say
        return {}


# --- checks on the Keras model ------------------------------------------------------------


def static_findings(model: Any) -> list[Finding]:
    """Findings that need only the Keras model (no conversion)."""
    findings: list[Finding] = []
    for layer in model.layers:
        cls = type(layer).__name__
        cfg = _layer_config(layer)
        if cls in UNBUILDABLE_LAYERS:
            findings.append(_unsupported(layer.name, cls))
            continue
        if cls in _RNN_CLASSES:
            findings += _rnn_static(layer.name, cls, cfg)
        if cls == "QActivation":
            findings += _qactivation_static(layer.name, cfg)
    return findings


def _unsupported(name: str, cls: str) -> Finding:
    return Finding(
        "unsupported-layer", "error", name,
        f"{cls} is not supported: {UNBUILDABLE_LAYERS[cls]}",
        "replace it by a supported layer (LSTM or GRU)",
        {"class": cls, "blocks_conversion": True},
    )


def _rnn_static(name: str, cls: str, cfg: dict) -> list[Finding]:
    out: list[Finding] = []
    cell = "GRU" if "GRU" in cls else "LSTM"
    if cfg.get("return_state"):
        out.append(Finding("rnn-return-state", "error", name, "hls4ml raises on return_state=True",
                           "set return_state=False", {"blocks_conversion": True}))
    if cfg.get("time_major"):
        out.append(Finding("rnn-time-major", "error", name, "hls4ml raises on time_major=True",
                           "use batch-major input (time_major=False)", {"blocks_conversion": True}))
    if cfg.get("stateful"):
        out.append(Finding("rnn-stateful", "warning", name,
                           "the hardware resets the state to zero at the start of every sample (stateful is ignored)",
                           "train with stateful=False"))
    if cfg.get("go_backwards"):
        out.append(Finding("rnn-go-backwards", "warning", name,
                           "hls4ml hard-codes direction='forward': the hardware reads the sequence from t=0, "
                           "Keras read it backwards",
                           "reverse the time axis of the input yourself and train with go_backwards=False"))
    if cell == "GRU" and not cfg.get("reset_after", True):
        out.append(Finding(
            "gru-reset-before", "error", name,
            "GRU(reset_after=False): hls4ml always computes reset-after, writes the (3n,) bias as two "
            "1-element arrays and the C++ reads 3n elements out of bounds; it compiles and gives garbage",
            "use reset_after=True (the Keras default; QGRU defaults to False, pass it explicitly) and retrain",
        ))
    if cfg.get("unroll"):
        out.append(Finding("rnn-unroll", "info", name, "unroll has no effect on the hardware", "none needed"))
    for key in ("activation", "recurrent_activation"):
        out += _rnn_activation(name, cls, key, cfg.get(key))
    if cls.startswith("Q"):
        out += _qrnn_quantizers(name, cfg)
    return out


def _rnn_activation(name: str, cls: str, key: str, act: Any) -> list[Finding]:
    q = _quantizer(act) if not (isinstance(act, str) and "(" not in act) else None
    if q is None:
        act_name = act if isinstance(act, str) else (act.get("class_name") if isinstance(act, dict) else str(act))
        act_name = "linear" if act_name is None else act_name
        if act_name in RNN_ACTIVATIONS:
            return []
        what = (f"{key}={act_name!r}: nnet::activation has only relu, sigmoid and tanh for recurrent layers, "
                "so the project does not compile")
        if act_name == "hard_sigmoid":
            what += " (this is QKeras QLSTM/QGRU's default recurrent_activation)"
        return [Finding("rnn-activation-unsupported", "error", name, what,
                        f"use {key}='sigmoid' or 'tanh' (or a QKeras quantized_sigmoid/quantized_tanh with "
                        "use_real_sigmoid/use_real_tanh=True) and retrain", {"activation": act_name, "key": key})]
    qname, qcfg = q
    if isinstance(act, str) and not cls.startswith("Q"):
        return [Finding("rnn-activation-unsupported", "error", name,
                        f"{key}={act!r} is not a Keras activation", f"use {key}='tanh' or 'sigmoid'")]
    if _is_hard(q):
        real = "use_real_tanh" if qname == "quantized_tanh" else "use_real_sigmoid"
        plain = "tanh" if qname == "quantized_tanh" else "sigmoid"
        return [Finding(
            "rnn-hard-activation", "error", name,
            f"{key}={_q_str(q)} is QKeras's hard (piecewise-linear) {plain}; hls4ml 1.3.0 asserts "
            "'Hard activation not supported' for recurrent layers and converts nothing",
            f"use {qname}(..., {real}=True) or {key}='{plain}' and retrain (the hardware then uses its "
            f"{plain} lookup table)",
            {"blocks_conversion": True, "key": key, "quantizer": qname},
        )]
    out: list[Finding] = []
    supported = {"quantized_tanh": "tanh", "quantized_sigmoid": "sigmoid", "quantized_relu": "relu"}
    if qname not in supported:
        return [Finding("rnn-activation-unsupported", "error", name,
                        f"{key}={_q_str(q)} becomes hls4ml activation "
                        f"{'linear' if qname == 'quantized_bits' else qname!r}, which nnet::activation does not "
                        "provide for recurrent layers: the project does not compile",
                        f"use a quantized_tanh/quantized_sigmoid with use_real_*=True, or 'tanh'/'sigmoid'",
                        {"key": key, "quantizer": qname})]
    if qname == "quantized_relu":
        out += _relu_ignored(name, qcfg, where=f"{key} ")
    if key == "recurrent_activation":
        out.append(Finding(
            "rnn-recurrent-activation-bits-ignored", "warning", name,
            f"recurrent_activation={_q_str(q)}: hls4ml keeps only the function ({supported[qname]}); the gate "
            f"values are not quantized to {qcfg.get('bits')} bits but stay in the layer's table_t/accum_t",
            "set the layer's accum/table_t to the precision you want the gates in, or accept the finer gates",
            {"quantizer": qname, "bits": qcfg.get("bits")},
        ))
    else:
        out.append(Finding(
            "rnn-activation-quantizer-result", "warning", name,
            f"activation={_q_str(q)}: hls4ml turns the activation quantizer into the layer's result_t, which "
            "holds the hidden state h (and the LSTM cell state c) at every step, not only the activation output",
            "set the layer's 'result' precision explicitly to the state precision you want",
            {"quantizer": qname},
        ))
    return out


def _qrnn_quantizers(name: str, cfg: dict) -> list[Finding]:
    out: list[Finding] = []
    for key in ("kernel_quantizer", "recurrent_quantizer"):
        q = _quantizer(cfg.get(key))
        if q and q[0] == "quantized_bits" and _alpha_active(q[1]):
            out.append(Finding(
                "rnn-alpha-ignored", "warning", name,
                f"{key}={_q_str(q)}: QKeras scales the quantized weights by a per-unit alpha "
                f"({q[1].get('alpha')!r}); hls4ml ignores alpha on recurrent layers and writes the raw float "
                f"weights floored to {_fixed_of_bits(q[1])}, so the hardware's weights are not QKeras's",
                "use alpha=1 in the recurrent layer's quantizers and retrain, or convert the quantized twin "
                "(fxsim.frontends.keras.quantized_twin) with weight types that hold the scaled values",
                {"quantizer": key, "alpha": str(q[1].get("alpha"))},
            ))
    q = _quantizer(cfg.get("state_quantizer"))
    if q:
        out.append(Finding(
            "state-quantizer-accum", "warning", name,
            f"state_quantizer={_q_str(q)} becomes the layer's accum_t ({_fixed_of_bits(q[1])}): every "
            "product, bias, pre-activation and gate value is computed in it, while the state itself "
            "(h, and c for LSTM) stays in result_t; for LSTM the differing accum_t also breaks compilation",
            "drop state_quantizer and set the layer's 'result' (state) and 'accum' precisions explicitly",
            {"quantizer": q[0]},
        ))
    return out


def _relu_ignored(name: str, cfg: dict, where: str = "") -> list[Finding]:
    out: list[Finding] = []
    if cfg.get("use_sigmoid"):
        bits, integer = int(cfg.get("bits", 8)), int(cfg.get("integer", 0))
        out.append(Finding(
            "relu-use-sigmoid-ignored", "warning", name,
            f"{where}quantized_relu({bits}, {integer}, use_sigmoid={cfg['use_sigmoid']!r}): hls4ml ignores "
            f"use_sigmoid and builds a relu into ufixed<{bits},{integer}> (step 2^{integer - bits}); QKeras "
            "computes 2^i·clip(2·round(σ(x/2^i)·2^b)/2^b − 1) instead, which with its default hard internal "
            f"sigmoid is a relu on a grid twice as coarse (step 2^{integer - bits + 1}) and with "
            "set_internal_sigmoid('real') a sigmoid-shaped curve, so QKeras trained and measured another "
            "function than the hardware's. quantized_relu's third positional argument is use_sigmoid, not "
            "'symmetric' as in quantized_bits",
            "drop the third argument (quantized_relu(bits, integer)) and retrain",
            {"use_sigmoid": cfg["use_sigmoid"], "hardware_step": 2.0 ** (integer - bits),
             "qkeras_step": 2.0 ** (integer - bits + 1)},
        ))
    if cfg.get("relu_upper_bound") is not None and not cfg.get("is_quantized_clip", True):
        out.append(Finding("relu-upper-bound-ignored", "warning", name,
                           f"{where}quantized_relu relu_upper_bound={cfg['relu_upper_bound']} is ignored by hls4ml",
                           "clip with the type's range instead (is_quantized_clip=True)"))
    if cfg.get("use_stochastic_rounding"):
        out.append(Finding("stochastic-rounding-ignored", "warning", name,
                           f"{where}use_stochastic_rounding is ignored: the hardware rounds to nearest even",
                           "train without stochastic rounding"))
    return out


def _qactivation_static(name: str, cfg: dict) -> list[Finding]:
    q = _quantizer(cfg.get("activation"))
    if q is None:
        return []
    qname, qcfg = q
    supported = ("quantized_relu", "quantized_tanh", "quantized_sigmoid", "quantized_bits",
                 "binary_tanh", "ternary_tanh", "binary", "ternary")
    if qname not in supported:
        return [Finding("unsupported-quantizer", "error", name,
                        f"QActivation({qname}): hls4ml raises 'Unsupported QKeras activation'",
                        "use quantized_relu, quantized_tanh, quantized_sigmoid or quantized_bits",
                        {"blocks_conversion": True, "quantizer": qname})]
    if qname == "quantized_relu":
        return _relu_ignored(name, qcfg)
    if qname in ("quantized_tanh", "quantized_sigmoid") and _is_hard(q):
        return [Finding(
            "hard-activation", "info", name,
            f"QActivation({_q_str(q)}) becomes hls4ml's HardActivation (slope 0.5, shift 0.5)",
            "none needed; use_real_tanh/use_real_sigmoid=True would use a lookup table instead",
        )]
    return []


# --- checks on the conversion -------------------------------------------------------------


def conversion_findings(conversion: Any) -> list[Finding]:
    """Findings on the converted ``ModelGraph`` and the configuration that made it."""
    out: list[Finding] = []
    out += _ignored_precision_keys(conversion)
    out += _lstm_types(conversion)
    out += _rnn_weights_floored(conversion)
    out += _removed_qactivations(conversion)
    out += _softmax_width(conversion)
    out += _table_width(conversion)
    return out


def _ignored_precision_keys(conversion: Any) -> list[Finding]:
    from fxsim.precision import IGNORED_PRECISION_KEYS

    out: list[Finding] = []
    hls_layers = {layer.name: layer for layer in conversion.hls_model.get_layers()}
    for name, entry in conversion.spec.user_layer_entries().items():
        prec = entry.get("Precision")
        if not isinstance(prec, dict):
            continue
        for key, direct in IGNORED_PRECISION_KEYS.items():
            if key not in prec:
                continue
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
        if in_t != res_t:
            fix[prev_name] = {"result": str(res_t)}
        out.append(Finding(
            "lstm-types-differ", "error", layer.name,
            f"LSTM input type {in_t}, accum_t {acc_t} and result_t {res_t} differ: hls4ml 1.3.0's lstm() "
            "template passes them as one type (nnet_recurrent.h:79-80), so the project does not compile",
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
        q = _quantizer(_layer_config(klayer).get("activation"))
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
            f"QActivation({_q_str(q)}) directly after {prev!r}, whose result precision is 'auto', is removed by "
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


# --- checks on data -----------------------------------------------------------------------


def data_findings(fx_model: Any, x: np.ndarray, report: Any = None) -> list[Finding]:
    """Findings from the emulator's per-layer overflow report on ``x``.

    Values that do not fit their type become one ``overflow`` warning per layer
    (each quantity with its own wrap/saturate mode); lookup-table indices that fall
    outside a table (``*index_clip``) are clamped to its end entries, which is the
    intended saturation of sigmoid/tanh, and become an ``info`` finding.
    """
    if report is None:
        report = fx_model.overflow_report(x)
    out: list[Finding] = []
    by_layer: dict[str, list] = {}
    for row in report.rows:
        if row.overflowed:
            by_layer.setdefault(row.layer, []).append(row)
    for layer, rows in by_layer.items():
        clipped = [r for r in rows if r.quantity.endswith("index_clip")]
        over = [r for r in rows if r not in clipped]
        if over:
            parts = [f"{r.quantity} {r.overflowed:,} of {r.total:,} {'wrap' if _wraps(r.type) else 'saturate'} "
                     f"in {r.type}" for r in over]
            wraps = any(_wraps(r.type) for r in over)
            out.append(Finding(
                "overflow", "warning", layer,
                f"on the given {report.n_samples:,} samples, values do not fit their types"
                + (" (wrapping flips signs)" if wraps else "") + ": " + "; ".join(parts),
                "add integer bits to the overflowing types (the layer's result/accum, or the input type for "
                "'input')" + (", or give them AP_SAT so overflows saturate instead of wrapping" if wraps else
                              " if the saturated values matter"),
                {r.quantity: {"type": r.type, "overflowed": r.overflowed, "total": r.total} for r in over},
            ))
        if clipped:
            parts = [f"{r.quantity} {r.overflowed:,} of {r.total:,}" for r in clipped]
            out.append(Finding(
                "table-range-clipped", "info", layer,
                "lookup-table inputs outside the table's range are clamped to its end entries "
                "(sigmoid beyond ±8, tanh beyond ±4): " + "; ".join(parts),
                "none needed unless those inputs matter; the table range is fixed by hls4ml",
                {r.quantity: {"type": r.type, "clipped": r.overflowed, "total": r.total} for r in clipped},
            ))
    return out


def _wraps(type_str: str) -> bool:
    try:
        return FixedType.parse(type_str).overflow.name == "WRAP"
    except ValueError:
        return True
