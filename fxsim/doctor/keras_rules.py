"""Doctor rules on the Keras/QKeras model alone (no conversion): layers and settings hls4ml 1.3.0
rejects, cannot compile, or builds other than the model says."""

from __future__ import annotations

from typing import Any

import numpy as np

from fxsim.doctor.findings import Finding


#: Keras layers hls4ml 1.3.0 accepts but cannot build (or builds unverified) on Vivado/Vitis;
#: every other layer is judged by hls4ml's conversion and fxsim's emulator (``not-emulated``).
UNBUILDABLE_LAYERS = {
    "SimpleRNN": "hls4ml 1.3.0 has no Vivado/Vitis template for SimpleRNN",
    "QSimpleRNN": "hls4ml 1.3.0 has no Vivado/Vitis template for SimpleRNN",
    "QBidirectional": "hls4ml 1.3.0 has no converter for QBidirectional (only Keras Bidirectional)",
}
#: Activations ``nnet::activation`` provides for LSTM/GRU (``nnet_recr_activations.h``).
RNN_ACTIVATIONS = ("tanh", "sigmoid", "relu")
_RNN_CLASSES = ("LSTM", "GRU", "QLSTM", "QGRU")


def quantizer_of(obj: Any) -> tuple[str, dict] | None:
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


def quantizer_str(q: tuple[str, dict]) -> str:
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


def layer_config(layer: Any) -> dict:
    try:
        return layer.get_config()
    except Exception:  # some layers cannot serialise; the doctor then has nothing to say
        return {}


def static_findings(model: Any) -> list[Finding]:
    """Findings that need only the Keras model (no conversion)."""
    findings: list[Finding] = []
    for layer in model.layers:
        cls = type(layer).__name__
        cfg = layer_config(layer)
        if cls in UNBUILDABLE_LAYERS:
            findings.append(_unsupported(layer.name, cls))
            continue
        if cls in _RNN_CLASSES:
            findings += _rnn_static(layer.name, cls, cfg)
        if cls == "Bidirectional":
            findings += _bidirectional_static(layer.name, cfg)
        if cls == "TimeDistributed":
            findings += _time_distributed_static(layer.name, cfg)
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


#: hls4ml 1.3.0 with merge_mode='sum' on Bidirectional(GRU(4)) over 5 steps of N(0, 1)
#: inputs (200 samples, default types): its output is the forward state alone, which
#: differs from Keras's forward + backward sum by up to this much.
MERGE_SUM_MAX_DIFF = 0.82


def _bidirectional_static(name: str, cfg: dict) -> list[Finding]:
    """``Bidirectional``: its merge mode, and the wrapped layers' own rules."""
    out: list[Finding] = []
    merge = cfg.get("merge_mode", "concat")
    if merge != "concat":
        out.append(Finding(
            "bidirectional-merge-mode", "error", name,
            f"merge_mode={merge!r}: hls4ml 1.3.0's bidirectional_stack always concatenates [forward | backward] "
            "into an output sized for one direction, writing the backward half past its end; the C simulation "
            f"returns the forward state alone (measured: up to {MERGE_SUM_MAX_DIFF} from Keras's 'sum' on a "
            "GRU(4)) and the behaviour is undefined",
            "use merge_mode='concat' (a following Dense can learn the sum) and retrain",
            {"merge_mode": merge, "max_abs_diff_vs_keras_sum": MERGE_SUM_MAX_DIFF},
        ))
    wrapped = [cfg.get("layer")] + ([cfg["backward_layer"]] if cfg.get("backward_layer") else [])
    for entry in wrapped:
        if not isinstance(entry, dict):
            continue
        inner_cls = str(entry.get("class_name", ""))
        inner = dict(entry.get("config", {}) or {})
        if inner_cls in _RNN_CLASSES:
            # hls4ml runs the backward layer on the reversed sequence itself: its go_backwards is expected
            inner.pop("go_backwards", None)
            out += _rnn_static(name, inner_cls, inner)
    return out


def _time_distributed_static(name: str, cfg: dict) -> list[Finding]:
    """``TimeDistributed(X)``: hls4ml 1.3.0 calls X's handler directly, so X's activation is never split off."""
    inner = cfg.get("layer")
    inner_cfg = dict(inner.get("config", {}) or {}) if isinstance(inner, dict) else {}
    act = inner_cfg.get("activation")
    act_name = act if isinstance(act, str) else (act or {}).get("class_name") if isinstance(act, dict) else None
    if act_name and act_name != "linear":
        return [Finding(
            "time-distributed-activation-dropped", "warning", name,
            f"hls4ml 1.3.0 drops the activation={act_name!r} of the layer TimeDistributed wraps (its converter "
            "calls the wrapped layer's handler directly, which leaves the activation to a split that never runs): "
            "the hardware computes the wrapped layer without it (measured: GRU(5) -> TimeDistributed(Dense(3, "
            "'relu')) -> Dense(2) differs from Keras by up to 1.53, by 0.017 from the same model without the relu)",
            f"wrap a linear layer and add Activation({act_name!r}) after the TimeDistributed",
            {"activation": act_name},
        )]
    return []


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
    q = quantizer_of(act) if not (isinstance(act, str) and "(" not in act) else None
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
            f"{key}={quantizer_str(q)} is QKeras's hard (piecewise-linear) {plain}; hls4ml 1.3.0 asserts "
            "'Hard activation not supported' for recurrent layers and converts nothing",
            f"use {qname}(..., {real}=True) or {key}='{plain}' and retrain (the hardware then uses its "
            f"{plain} lookup table)",
            {"blocks_conversion": True, "key": key, "quantizer": qname},
        )]
    out: list[Finding] = []
    supported = {"quantized_tanh": "tanh", "quantized_sigmoid": "sigmoid", "quantized_relu": "relu"}
    if qname not in supported:
        return [Finding("rnn-activation-unsupported", "error", name,
                        f"{key}={quantizer_str(q)} becomes hls4ml activation "
                        f"{'linear' if qname == 'quantized_bits' else qname!r}, which nnet::activation does not "
                        "provide for recurrent layers: the project does not compile",
                        "use a quantized_tanh/quantized_sigmoid with use_real_*=True, or 'tanh'/'sigmoid'",
                        {"key": key, "quantizer": qname})]
    if qname == "quantized_relu":
        out += _relu_ignored(name, qcfg, where=f"{key} ")
    if key == "recurrent_activation":
        out.append(Finding(
            "rnn-recurrent-activation-bits-ignored", "warning", name,
            f"recurrent_activation={quantizer_str(q)}: hls4ml keeps only the function ({supported[qname]}); the gate "
            f"values are not quantized to {qcfg.get('bits')} bits but stay in the layer's table_t/accum_t",
            "set the layer's accum/table_t to the precision you want the gates in, or accept the finer gates",
            {"quantizer": qname, "bits": qcfg.get("bits")},
        ))
    else:
        out.append(Finding(
            "rnn-activation-quantizer-result", "warning", name,
            f"activation={quantizer_str(q)}: hls4ml turns the activation quantizer into the layer's result_t, which "
            "holds the hidden state h (and the LSTM cell state c) at every step, not only the activation output",
            "set the layer's 'result' precision explicitly to the state precision you want",
            {"quantizer": qname},
        ))
    return out


def _qrnn_quantizers(name: str, cfg: dict) -> list[Finding]:
    out: list[Finding] = []
    for key in ("kernel_quantizer", "recurrent_quantizer"):
        q = quantizer_of(cfg.get(key))
        if q and q[0] == "quantized_bits" and _alpha_active(q[1]):
            out.append(Finding(
                "rnn-alpha-ignored", "warning", name,
                f"{key}={quantizer_str(q)}: QKeras scales the quantized weights by a per-unit alpha "
                f"({q[1].get('alpha')!r}); hls4ml ignores alpha on recurrent layers and writes the raw float "
                f"weights floored to {_fixed_of_bits(q[1])}, so the hardware's weights are not QKeras's",
                "use alpha=1 in the recurrent layer's quantizers and retrain, or convert the quantized twin "
                "(fxsim.frontends.keras.quantized_twin) with weight types that hold the scaled values",
                {"quantizer": key, "alpha": str(q[1].get("alpha"))},
            ))
    q = quantizer_of(cfg.get("state_quantizer"))
    if q:
        out.append(Finding(
            "state-quantizer-accum", "warning", name,
            f"state_quantizer={quantizer_str(q)} becomes the layer's accum_t ({_fixed_of_bits(q[1])}): every "
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
    q = quantizer_of(cfg.get("activation"))
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
            f"QActivation({quantizer_str(q)}) becomes hls4ml's HardActivation (slope 0.5, shift 0.5)",
            "none needed; use_real_tanh/use_real_sigmoid=True would use a lookup table instead",
        )]
    return []
