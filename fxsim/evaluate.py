"""``emulate`` and ``evaluate``: from a Keras/QKeras model and a precision to the hardware's accuracy.

:func:`emulate` converts the model with hls4ml under a precision spec, runs the
conversion doctor, refuses designs hls4ml cannot build or builds undefined
(:class:`~fxsim.doctor.ConversionRefused`), and returns the fxsim model of what is
really built (:class:`EmulatedModel`, an :class:`~fxsim.model.FxModel` that also
carries the resolved hls4ml configuration and the doctor's diagnosis).

:func:`evaluate` runs data through the float Keras model, the QKeras model (when
the model is quantized) and the emulated hardware, in batches with a progress
bar, and returns an :class:`Evaluation`: outputs, metrics for each, the gaps, the
overflow report, the configuration and the doctor's findings, printable as a
table and exportable as JSON.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fxsim.doctor.data_rules import data_findings
from fxsim.doctor.findings import Diagnosis
from fxsim.fixed import FixedType, from_codes
from fxsim.jsonio import jsonable, write_json
from fxsim.model import FxModel, OverflowReport, OverflowRow
from fxsim.pipeline import convert_checked

#: Samples per batch in :func:`evaluate` (bounds memory; one progress-bar step each).
BATCH_SIZE = 8192


class EmulatedModel(FxModel):
    """The fxsim model of one hls4ml conversion, with how it was obtained.

    Attributes
    ----------
    hls_config : the resolved hls4ml configuration the model was converted with.
    layer_types : final types of every converted layer, read from the ``ModelGraph``.
    diagnosis : the conversion doctor's findings (no errors, or it would not exist).
    conversion : the :class:`~fxsim.frontends.keras.Conversion` (Keras model, ``ModelGraph``).
    """

    def __init__(self, fx: FxModel, conversion: Any, diagnosis: Diagnosis):
        super().__init__(fx.layers, name=fx.name)
        self.conversion = conversion
        self.hls_config: dict = conversion.config
        self.layer_types: dict = conversion.layer_types()
        self.diagnosis = diagnosis

    def __repr__(self) -> str:
        return (f"EmulatedModel({self.conversion.keras_model.name!r}, {len(self.layers)} layers, "
                f"{self.input_shape} -> {self.output_shape}, {len(self.diagnosis)} doctor findings)")


def emulate(model: Any, precision: Any = None, **hls4ml_options: Any) -> EmulatedModel:
    """The fxsim model of what hls4ml 1.3.0 builds from ``model`` at ``precision``.

    Parameters
    ----------
    model : a live Keras/QKeras model or a path to ``.h5``/``.keras``.
    precision : ``None`` (QKeras quantizers, hls4ml defaults elsewhere), a type string
        (the model default, e.g. ``"ap_fixed<16,6>"``), a per-layer dict in hls4ml's
        config shape (``{"gru": {"accum": ..., "result": ..., "table_t": ..., "TableSize": 512}}``),
        or a complete hls4ml config. See :mod:`fxsim.precision`.
    **hls4ml_options : ``backend``, ``io_type``, ``strategy``, ``reuse_factor``,
        ``default_precision``, ``max_precision`` (see :data:`fxsim.precision.HLS4ML_OPTIONS`).

    Returns
    -------
    EmulatedModel : ``predict``/``predict_codes``/``trace``/``overflow_report`` as hls4ml's
        C simulation; ``hls_config`` is the resolved configuration.

    Raises
    ------
    ConversionRefused : hls4ml rejects the model, cannot compile it, or builds hardware
        whose behaviour is undefined; the message lists each problem and its fix.
    ValueError : malformed precision spec, unknown layer names, unsupported layers.
    """
    checked = convert_checked(model, precision, **hls4ml_options).require()
    return EmulatedModel(checked.fx, checked.conversion, checked.diagnosis)


# --- evaluation ---------------------------------------------------------------------------


def check_inputs(x: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Validate ``x`` against the model input ``shape``: numeric, finite, ``(n, *shape)``.

    Returns ``x`` as float32/float64 (integers become float64), reshaped to ``(n, *shape)``.
    """
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if x.dtype.kind not in "fiub":
        raise ValueError(f"input data must be numeric, got dtype {x.dtype}")
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    size = int(np.prod(shape))
    if x.ndim >= 1 and x.shape[1:] == shape:
        pass
    elif x.ndim == 2 and x.shape[1] == size:
        x = x.reshape(x.shape[0], *shape)
    else:
        raise ValueError(
            f"input data of shape {x.shape} does not match the model input {shape}: expected "
            f"(n_samples, {', '.join(map(str, shape))})"
        )
    if x.shape[0] == 0:
        raise ValueError("input data has no samples")
    finite = np.isfinite(x)
    if not finite.all():
        bad = np.argwhere(~finite)
        first = tuple(int(i) for i in bad[0])
        kinds = "/".join(sorted({"NaN" if np.isnan(x[tuple(b)]) else "inf" for b in bad[:100]}))
        raise ValueError(f"input data contain {len(bad)} non-finite values ({kinds}), first at index {first}; "
                         "fixed-point hardware has no NaN or inf")
    return x


@dataclass
class _Reference:
    """The model evaluate compares the hardware with: its float (and QKeras) outputs per batch."""

    model: Any
    name: str
    shapes: list[tuple[int, ...]]
    float: Any  # (list of input batches) -> outputs
    quantized: Any = None  # the QKeras model's, for quantized Keras models
    n_outputs: int | None = None


def _keras_reference(model: Any, frontend: str = "keras2") -> _Reference:
    from fxsim.frontends.keras import float_twin, input_shape, is_quantized, load_model

    if frontend == "keras3":  # a .keras file saved by Keras 3 is loaded by Keras 3 (or refused naming its environment)
        from fxsim.frontends.keras3 import load_model
    model = load_model(model)
    twin = float_twin(model) if is_quantized(model) else model

    def run(m):
        return lambda xb: m.predict_on_batch(xb[0].astype(np.float32, copy=False))

    return _Reference(model, model.name, [input_shape(model)], run(twin),
                      run(model) if is_quantized(model) else None, int(np.prod(model.output_shape[1:])))


def _torch_reference(module: Any, input_shape: Any) -> _Reference:
    from fxsim.frontends import torch as ft

    module = ft.load_module(module)
    shapes = ft.input_shapes(module, input_shape)
    return _Reference(module, type(module).__name__, shapes, lambda xb: ft.float_predict(module, xb))


def _input_list(x: Any, shapes: list[tuple[int, ...]]) -> list:
    if len(shapes) == 1:
        return [x]
    if not isinstance(x, (list, tuple)) or len(x) != len(shapes):
        got = f"{len(x)} arrays" if isinstance(x, (list, tuple)) else type(x).__name__
        raise ValueError(f"the model has {len(shapes)} inputs {shapes}: pass a list of {len(shapes)} arrays "
                         f"[x, h0, ...] as hls_model.predict takes, got {got}")
    return list(x)


def _merge_reports(reports: list[OverflowReport], n: int) -> OverflowReport:
    totals: dict[tuple[str, str], list] = {}
    for report in reports:
        for r in report.rows:
            entry = totals.setdefault((r.layer, r.quantity), [r.type, 0, 0])
            entry[1] += r.overflowed
            entry[2] += r.total
    rows = [OverflowRow(layer, q, t, v, tot) for (layer, q), (t, v, tot) in totals.items()]
    return OverflowReport(rows, n)


@dataclass(eq=False, repr=False)
class Evaluation:
    """Float, QKeras and hardware outputs of one model on one data set, with metrics.

    Attributes
    ----------
    model_name, precision : what was evaluated (``precision`` as the user gave it).
    n_samples : number of samples.
    task : ``"binary"`` or ``"multiclass"`` (by the number of output columns).
    outputs : ``{"float": ..., "qkeras": ... (quantized models only), "hardware": ...}``,
        float64 arrays ``(n, n_outputs)``; ``hardware`` is exactly ``float(result_t)``.
    hardware_codes : raw ``result_t`` codes of the hardware outputs (int64).
    output_t : the hardware output type.
    metrics : ``{name: {metric: value}}`` per set of outputs (empty without labels).
    gaps : ``{"hardware - float": {...}, "hardware - qkeras": {...}}`` for scalar metrics.
    agreement : same-class fraction and output differences, hardware against each other set.
    overflow : the emulator's overflow report on these data.
    hls_config : the resolved hls4ml configuration; ``layer_types`` the final types.
    diagnosis : the conversion doctor's findings, including overflows on these data.
    emulated : the :class:`EmulatedModel` that produced the hardware outputs.
    seconds : wall time per stage.
    """

    model_name: str
    precision: Any
    precision_label: str
    n_samples: int
    task: str
    class_names: list[str] | None
    outputs: dict[str, np.ndarray]
    hardware_codes: np.ndarray
    output_t: FixedType
    metrics: dict[str, dict]
    gaps: dict[str, dict]
    agreement: dict[str, dict]
    overflow: OverflowReport
    hls_config: dict
    layer_types: dict
    diagnosis: Diagnosis
    emulated: EmulatedModel
    seconds: dict[str, float]

    @property
    def names(self) -> list[str]:
        return [k for k in ("float", "qkeras", "hardware") if k in self.outputs]

    # --- presentation ---------------------------------------------------------------------
    def table(self) -> str:
        """The metrics side by side, the gaps, agreement, overflows and the doctor's findings."""
        label = {"float": "float", "qkeras": "QKeras", "hardware": "hardware"}
        gap_cols = [g for g in ("hardware - float", "hardware - qkeras") if g in self.gaps]
        head = ["", *[label[n] for n in self.names], *[g.replace("hardware", "hw").replace("qkeras", "QKeras")
                                                          for g in gap_cols]]
        rows: list[list[str]] = []
        scalar = [k for k, v in self.metrics.get("hardware", {}).items() if not isinstance(v, dict)]
        for key in scalar:
            rows.append([_metric_label(key), *[_fmt(self.metrics[n].get(key)) for n in self.names],
                         *[_fmt(self.gaps[g].get(key), signed=True) for g in gap_cols]])
        per_class = self.metrics.get("hardware", {}).get("per_class", {})
        for cls in per_class:
            for key in ("accuracy", "auc"):
                if key not in per_class[cls]:
                    continue
                vals = [self.metrics[n]["per_class"][cls][key] for n in self.names]
                gaps = [_diff(self.metrics["hardware"]["per_class"][cls][key],
                              self.metrics[g.split(" - ")[1]]["per_class"][cls][key]) for g in gap_cols]
                rows.append([f"class {self.class_names[int(cls)] if self.class_names else cls} {_metric_label(key)}",
                             *[_fmt(v) for v in vals], *[_fmt(v, signed=True) for v in gaps]])
        lines = [f"fxsim evaluate: {self.model_name} at precision {self.precision_label} on "
                 f"{self.n_samples:,} samples ({self.task}, hardware output {self.output_t})"]
        if rows:
            widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
            for r in [head, *rows]:
                lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        else:
            lines.append("(no labels given: no metrics; outputs compared below)")
        for other, agree in self.agreement.items():
            lines.append(f"hardware vs {label[other]}: same class on {agree['same_class']:.2%} of samples, "
                         f"mean |Δoutput| {agree['mean_abs_diff']:.3g}, max {agree['max_abs_diff']:.3g}")
        n_over = self.overflow.total
        layers = sorted({r.layer for r in self.overflow.rows if r.overflowed})
        lines.append(f"overflows: {n_over:,} values" + (f" in {', '.join(layers)}" if layers else ""))
        lines.append(str(self.diagnosis))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        acc = self.metrics.get("hardware", {}).get("accuracy")
        return (f"Evaluation({self.model_name!r}, {self.n_samples} samples, hardware accuracy "
                f"{'n/a' if acc is None else f'{acc:.4f}'}, {len(self.diagnosis)} findings)")

    def to_dict(self, include_outputs: bool = False) -> dict:
        """Everything but the raw arrays (add them with ``include_outputs=True``), JSON-able."""
        doc = {
            "model": self.model_name,
            "precision": self.precision,
            "n_samples": self.n_samples,
            "task": self.task,
            "class_names": self.class_names,
            "output_t": str(self.output_t),
            "metrics": self.metrics,
            "gaps": self.gaps,
            "agreement": self.agreement,
            "overflow": {"total": self.overflow.total, "layers": self.overflow.to_dict()},
            "hls_config": self.hls_config,
            "layer_types": self.layer_types,
            "findings": self.diagnosis.to_list(),
            "seconds": self.seconds,
        }
        if include_outputs:
            doc["outputs"] = {k: v.tolist() for k, v in self.outputs.items()}
            doc["hardware_codes"] = self.hardware_codes.tolist()
        return jsonable(doc)

    def to_json(self, path: str | os.PathLike, include_outputs: bool = False) -> Path:
        """Write :meth:`to_dict` to ``path`` atomically (no half-written file on failure)."""
        return write_json(path, self.to_dict(include_outputs))


def _metric_label(key: str) -> str:
    return {"accuracy": "accuracy", "auc": "ROC AUC"}.get(key, key)


def _fmt(v: Any, signed: bool = False) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, (int, float, np.floating)):
        return f"{v:+.4f}" if signed else f"{v:.4f}"
    return str(v)


def _diff(a: Any, b: Any) -> float | None:
    if a is None or b is None or isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return None
    return float(a) - float(b)


def _precision_label(precision: Any) -> str:
    if precision is None:
        return "None (QKeras quantizers, hls4ml defaults)"
    if isinstance(precision, (str, FixedType)):
        return repr(str(precision))
    return "per-layer spec" if "Model" not in precision else "hls4ml config"


def evaluate(
    model: Any,
    precision: Any,
    x: Any,
    y: Any = None,
    metric: Any = None,
    *,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
    threshold: float = 0.5,
    class_names: list[str] | None = None,
    **hls4ml_options: Any,
) -> Evaluation:
    """What accuracy the model will have on the FPGA at this precision.

    Parameters
    ----------
    model : Keras/QKeras model or ``.h5``/``.keras`` path, or a PyTorch ``nn.Module``
        (or ``.pt`` file saved with ``torch.save(module, path)``) with ``input_shape=``.
    precision : precision spec, as for :func:`emulate`.
    x : inputs ``(n, *input_shape)`` (float32 or float64; the hardware gets them as
        ``hls_model.predict`` would: converted to the input type from that dtype); a
        list ``[x, h0]`` / ``[x, h0, c0]`` for a module whose ``forward`` takes initial
        states (``(n, H)`` each; PyTorch gets them as ``(1, n, H)``).
    y : optional labels: 0/1 for one sigmoid output; integers or one-hot for softmax.
    metric : ``None`` (accuracy, ROC AUC, per class), a name or list of names, a
        callable ``f(labels, outputs)``, or a dict of callables.
    batch_size : samples per batch (one progress-bar step each).
    progress : show a tqdm progress bar.
    threshold : binary decision threshold on the sigmoid score.
    class_names : names for the per-class rows.
    **hls4ml_options : passed to :func:`emulate`.

    Raises
    ------
    ConversionRefused : the hardware cannot be built or is undefined (see :mod:`fxsim.doctor`).
    ValueError : inputs of the wrong shape, NaN/inf inputs, bad labels, malformed precision,
        unknown layer names, unsupported layers. Nothing is computed before the checks pass.
    """
    from fxsim.compat import frontend_of
    from fxsim.metrics import agreement, check_labels, compute, resolve_metrics, task_of

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    resolve_metrics(metric)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    frontend = frontend_of(model)
    if frontend == "torch":
        ref = _torch_reference(model, hls4ml_options.get("input_shape"))
    else:
        ref = _keras_reference(model, frontend)
    xs = [check_inputs(xi, shape) for xi, shape in zip(_input_list(x, ref.shapes), ref.shapes)]
    n = xs[0].shape[0]
    if any(xi.shape[0] != n for xi in xs):
        raise ValueError("the inputs hold different numbers of samples: " + ", ".join(str(len(xi)) for xi in xs))
    if len({xi.dtype for xi in xs}) > 1:
        xs = [xi.astype(np.float64) for xi in xs]  # the C simulation takes one C type for every input
    emu = None
    if ref.n_outputs is None:  # a torch module does not record its output size: the hardware's
        emu = emulate(ref.model, precision, **hls4ml_options)
        ref.n_outputs = int(np.prod(emu.output_shape))
    n_outputs = ref.n_outputs
    labels = check_labels(y, n, n_outputs) if y is not None else None
    if class_names is not None and len(class_names) != max(2, n_outputs):
        raise ValueError(f"class_names has {len(class_names)} names for {max(2, n_outputs)} classes")

    if emu is None:
        emu = emulate(ref.model, precision, **hls4ml_options)
    seconds["convert"] = time.perf_counter() - t0

    outs: dict[str, list[np.ndarray]] = {"float": []}
    if ref.quantized is not None:
        outs["qkeras"] = []
    codes: list[np.ndarray] = []
    reports: list[OverflowReport] = []
    timing = {"keras": 0.0, "hardware": 0.0}
    from tqdm.auto import tqdm

    with tqdm(total=n, desc=f"evaluate {ref.name}", unit="sample", disable=not progress) as bar:
        for start in range(0, n, batch_size):
            xb = [xi[start:start + batch_size] for xi in xs]
            nb = len(xb[0])
            t = time.perf_counter()
            outs["float"].append(np.asarray(ref.float(xb), dtype=np.float64).reshape(nb, -1))
            if ref.quantized is not None:
                outs["qkeras"].append(np.asarray(ref.quantized(xb), dtype=np.float64).reshape(nb, -1))
            timing["keras"] += time.perf_counter() - t
            t = time.perf_counter()
            batch_codes, batch_report = emu.predict_codes_and_overflows(xb if len(xb) > 1 else xb[0])
            codes.append(np.asarray(batch_codes).reshape(nb, -1))
            reports.append(batch_report)
            timing["hardware"] += time.perf_counter() - t
            bar.update(nb)
    hw_codes = np.concatenate(codes)
    outputs = {k: np.concatenate(v) for k, v in outs.items()}
    outputs["hardware"] = from_codes(hw_codes, emu.output_t)
    report = _merge_reports(reports, n)
    seconds.update(timing)

    t = time.perf_counter()
    names = [k for k in ("float", "qkeras", "hardware") if k in outputs]
    metrics = {k: compute(labels, outputs[k], metric, threshold) for k in names} if labels is not None else {}
    gaps: dict[str, dict] = {}
    for other in ("float", "qkeras"):
        if other in metrics:
            gaps[f"hardware - {other}"] = {
                key: _diff(metrics["hardware"][key], metrics[other][key])
                for key, value in metrics["hardware"].items() if not isinstance(value, (dict, list))
            }
    agree = {other: agreement(outputs["hardware"], outputs[other], threshold) for other in ("qkeras", "float")
             if other in outputs}
    diagnosis = Diagnosis([*emu.diagnosis, *data_findings(emu, xs if len(xs) > 1 else xs[0], report)])
    seconds["metrics"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0
    return Evaluation(
        model_name=ref.name,
        precision=jsonable(precision if not isinstance(precision, FixedType) else str(precision)),
        precision_label=_precision_label(precision),
        n_samples=n,
        task=task_of(outputs["hardware"]),
        class_names=list(class_names) if class_names is not None else None,
        outputs=outputs,
        hardware_codes=hw_codes,
        output_t=emu.output_t,
        metrics=metrics,
        gaps=gaps,
        agreement=agree,
        overflow=report,
        hls_config=emu.hls_config,
        layer_types=emu.layer_types,
        diagnosis=diagnosis,
        emulated=emu,
        seconds=seconds,
    )
