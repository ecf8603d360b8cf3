"""``fxsim.build``: the hls4ml project of one configuration, compiled, checked against fxsim, estimated.

:func:`build` takes a Keras/QKeras model, a precision (a spec or the complete hls4ml
configuration a ``fxsim scan`` selected) and data, and writes into one folder::

    <out>/hls4ml_prj/        the hls4ml 1.3.0 project of exactly that configuration
                             (project ``myproject``; hls4ml's own write and g++ compile)
    <out>/hls4ml_config.yml  the configuration it was converted with
    <out>/estimate.json      fxsim's cost estimate (:mod:`fxsim.cost`) for the part and clock
    <out>/build.json         the C-simulation check, the metrics, the estimate, the synthesis
    <out>/summary.md         the same for people

The compiled C simulation runs on the data and every output code is compared with
fxsim's; a build is good only when none differs. With ``synth=True`` hls4ml's vendor
build (``hls_model.build()``: ``vivado_hls`` for the Vivado backend, ``vitis-run`` for
Vitis) runs when that tool is on ``PATH``, and its reports are read with hls4ml's own
parser (``hls4ml.report.parse_vivado_report``) and put beside the estimate. When the
tool is absent, :class:`SynthesisUnavailable` names it and the verified project folder
to synthesize elsewhere; nothing stands in for the vendor tool.

Bad input (an unknown part, a clock period that is not positive, a reuse factor
hls4ml would replace, a configuration whose layers are not the model's, data of the
wrong shape) raises ``ValueError`` before anything is written.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: The seed study's part (Alveo U250) and clock, also :mod:`fxsim.cost`'s defaults.
DEFAULT_PART = "xcu250-figd2104-2L-e"
DEFAULT_CLOCK = 5.0
#: The project's folder inside the build folder.
PROJECT_DIR = "hls4ml_prj"
#: hls4ml backend -> the vendor executable its ``build()`` runs, and the product's name.
VENDOR_TOOLS = {"vivado": ("vivado_hls", "Vivado HLS"), "vitis": ("vitis-run", "Vitis HLS")}
#: Lines hls4ml prints when it replaces a strategy or reuse factor it cannot build.
_REPLACED = ("Invalid ReuseFactor", "cannot be combined with reuse factor")
#: Samples per C-simulation call (one progress step each).
_CSIM_BATCH = 512


class SynthesisUnavailable(RuntimeError):
    """``synth=True`` but the vendor tool is not on ``PATH``; the verified project is written.

    Attributes
    ----------
    result : BuildResult
        Everything the build did before synthesis.
    tool : str
        The executable that was looked for.
    """

    def __init__(self, message: str, result: BuildResult, tool: str):
        super().__init__(message)
        self.result = result
        self.tool = tool


@dataclass
class BuildResult:
    """What :func:`build` wrote and found.

    Attributes
    ----------
    out : Path
        The build folder; ``project`` the hls4ml project inside it.
    n_samples, compared, mismatches : int
        Samples run in C simulation, output codes compared, codes that differ from fxsim's.
    first_mismatches : list
        Up to ten ``(sample, output index, fxsim code, C-sim code)``.
    metrics : dict
        ``{"fxsim": {...}, "csim": {...}}`` (accuracy, AUC) when labels were given, else empty.
    estimate : fxsim.cost.Estimate
        The cost estimate of the configuration for ``part`` at ``clock_period``.
    synthesis : dict or None
        hls4ml's parsed vendor reports (``CSynthesisReport`` ...) when synthesis ran.
    synthesis_status : str
        ``"not requested"``, ``"done"``, or why it did not run.
    """

    out: Path
    project: Path
    model_name: str
    backend: str
    part: str
    clock_period: float
    hls_config: dict
    n_samples: int
    compared: int
    mismatches: int
    first_mismatches: list
    compile_s: float
    predict_s: float
    metrics: dict
    estimate: Any
    synthesis: dict | None = None
    synthesis_status: str = "not requested"
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the C simulation and fxsim agree on every output code."""
        return self.mismatches == 0

    def check_line(self) -> str:
        """``"0 of N output codes differ"`` with the sample count."""
        return (f"C simulation against fxsim on {self.n_samples:,} samples: "
                f"{self.mismatches:,} of {self.compared:,} output codes differ")

    def to_dict(self) -> dict:
        """The content of ``build.json``."""
        return {
            "model": self.model_name, "backend": self.backend, "part": self.part, "clock_period": self.clock_period,
            "project": str(self.project),
            "check": {"n_samples": self.n_samples, "compared": self.compared, "mismatches": self.mismatches,
                      "first_mismatches": self.first_mismatches, "ok": self.ok,
                      "compile_s": self.compile_s, "predict_s": self.predict_s},
            "metrics": self.metrics,
            "estimate": self.estimate.to_dict(),
            "synthesis_status": self.synthesis_status,
            "synthesis": self.synthesis,
        }


def build(model: Any, precision: Any, x: np.ndarray, y: np.ndarray | None = None, *, out: str | Path,
          backend: str = "Vivado", part: str = DEFAULT_PART, clock_period: float = DEFAULT_CLOCK,
          device: Any = None, synth: bool = False, progress: bool = False, name: str | None = None,
          **hls4ml_options: Any) -> BuildResult:
    """Write, compile and verify the hls4ml project of ``model`` at ``precision``; estimate its cost.

    Parameters
    ----------
    model : Keras model or str
        A live Keras/QKeras model or a ``.h5``/``.keras`` path.
    precision : Any
        A precision spec (:mod:`fxsim.precision`) or a complete hls4ml configuration,
        e.g. the ``selected_config.yml`` of ``fxsim scan``; a complete configuration must
        name exactly the model's layers.
    x : numpy.ndarray
        Inputs ``(n, *input_shape)`` for the C-simulation check.
    y : numpy.ndarray, optional
        Labels; with them the summary gives accuracy (and AUC) of fxsim and the C simulation.
    out : str or Path
        The build folder (created; a folder of an earlier ``fxsim build`` is replaced).
    backend : str
        ``"Vivado"`` or ``"Vitis"``.
    part : str
        FPGA part, written into the project and used by the estimate.
    clock_period : float
        Clock period in ns (> 0), written into the project and used by the estimate.
    device : Any, optional
        The device's resources for a part :mod:`fxsim.cost` does not know (see
        :func:`fxsim.cost.estimate`).
    synth : bool
        Run hls4ml's vendor build after the check (needs ``vivado_hls``/``vitis-run``).
    progress : bool
        tqdm progress bar over the C-simulation batches.
    name : str, optional
        The model's name in the summary (default: the Keras model's).
    **hls4ml_options : Any
        ``strategy``, ``reuse_factor``, ``io_type`` ... as :func:`fxsim.emulate` takes them.

    Returns
    -------
    BuildResult
        ``ok`` is False when any output code differs (synthesis is then not run).

    Raises
    ------
    ValueError
        Bad input; nothing is written.
    fxsim.ConversionRefused
        The doctor refuses the design; nothing is written.
    SynthesisUnavailable
        ``synth`` and the vendor tool is not on ``PATH`` (the verified project is written).
    """
    from fxsim import csim
    from fxsim.cost import estimate_ir
    from fxsim.evaluate import check_inputs, emulate
    from fxsim.frontends.keras import load_model

    backend = _check_backend(backend)
    clock_period = _check_clock(clock_period)
    out = Path(out)
    _check_out(out)
    keras_model = load_model(model)
    em = emulate(keras_model, precision, backend=backend, part=part, clock_period=clock_period, **hls4ml_options)
    _check_replaced(em)
    _check_layers(precision, em)
    x = np.ascontiguousarray(check_inputs(x, em.input_shape), dtype=np.float64)
    labels = None
    if y is not None:
        from fxsim.metrics import check_labels

        labels = check_labels(y, len(x), int(np.prod(em.output_shape)))
    est = estimate_ir(em, part=part, clock_period=clock_period, device=device)  # an unknown part raises here

    # --- from here on, things are written ---
    if out.exists():
        shutil.rmtree(out)  # an earlier fxsim build (checked above)
    out.mkdir(parents=True)
    project = out / PROJECT_DIR
    b = csim.build(keras_model, em.hls_config, backend=backend, io_type=em.conversion.io_type, use_cache=False,
                   directory=project, part=part, clock_period=clock_period)
    t0 = time.perf_counter()
    y_csim = _predict(b, x, progress)
    predict_s = time.perf_counter() - t0
    check = csim._compare("output", em.output_t, em.predict_codes(x).reshape(len(x), -1), y_csim)
    metrics: dict = {}
    if labels is not None:
        from fxsim.metrics import classification_metrics

        names = ("accuracy", "auc")
        metrics = {"fxsim": classification_metrics(labels, em.predict(x).reshape(len(x), -1), names=names),
                   "csim": classification_metrics(labels, y_csim, names=names)}
    result = BuildResult(out, project, name or getattr(keras_model, "name", "model"), backend, part, clock_period,
                         em.hls_config, len(x), check.compared, check.mismatches, check.first, b.compile_seconds,
                         predict_s, metrics, est)
    _write_config(out / "hls4ml_config.yml", em.hls_config)
    (out / "estimate.json").write_text(json.dumps(est.to_dict(), indent=1, default=str))
    result.files = [project, out / "hls4ml_config.yml", out / "estimate.json"]
    tool_missing = None
    if synth:
        tool, product = VENDOR_TOOLS[backend.lower()]
        if not result.ok:
            result.synthesis_status = "not run: the C simulation disagrees with fxsim"
        elif shutil.which(tool) is None:
            result.synthesis_status = f"not run: {tool} ({product}) is not on PATH"
            tool_missing = (tool, product)
        else:
            result.synthesis, result.synthesis_status = _synthesize(b.hls_model)
    _write_record(result)
    if tool_missing is not None:
        tool, product = tool_missing
        raise SynthesisUnavailable(
            f"--synth: {tool} ({product}, which hls4ml's {backend} backend runs) is not on PATH. The C-simulation-"
            f"verified project is {project}: synthesize it where {product} is installed, e.g. "
            f"`fxsim build ... --synth` there, or `cd {project} && {_vendor_command(backend)}`. "
            f"fxsim's estimate is in {out / 'estimate.json'}.", result, tool)
    return result


# --- checks (before anything is written) -----------------------------------------------------


def _check_backend(backend: str) -> str:
    names = {"vivado": "Vivado", "vitis": "Vitis"}
    if str(backend).lower() not in names:
        raise ValueError(f"backend must be 'Vivado' or 'Vitis', got {backend!r}")
    return names[str(backend).lower()]


def _check_clock(clock_period: Any) -> float:
    try:
        value = float(clock_period)
    except (TypeError, ValueError):
        raise ValueError(f"clock period must be a number of ns, got {clock_period!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"clock period must be a positive number of ns, got {clock_period!r}")
    return value


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file, not a folder")
    if out.exists() and any(out.iterdir()) and not (out / "build.json").exists():
        raise ValueError(f"--out {str(out)!r} exists and is not the folder of an earlier fxsim build; "
                         "give a new or empty folder")


def _check_replaced(em: Any) -> None:
    """hls4ml replaces a reuse factor it cannot build (and prints so): refuse, the project would not be the config."""
    log = getattr(em.conversion, "log", "") or ""
    lines = [line.strip() for line in log.splitlines() if any(s in line for s in _REPLACED)]
    if lines:
        raise ValueError("hls4ml rejects the strategy/reuse factor of this configuration and would build another one: "
                         + " | ".join(lines))


def _check_layers(precision: Any, em: Any) -> None:
    """A complete configuration must name the model's layers: no unknown and none missing."""
    if not (isinstance(precision, dict) and "Model" in precision and isinstance(precision.get("LayerName"), dict)):
        return
    known = list(em.conversion.generated.get("LayerName", {}))
    given = list(precision["LayerName"])
    unknown = [n for n in given if n not in known]
    missing = [n for n in known if n not in given]
    if unknown or missing:
        parts = ([f"unknown layers {unknown}"] if unknown else []) + ([f"missing layers {missing}"] if missing else [])
        raise ValueError(f"the configuration's LayerName does not match the model: {'; '.join(parts)} "
                         f"(the model's layers: {', '.join(known)})")


# --- the steps -------------------------------------------------------------------------------


def _predict(b: Any, x: np.ndarray, progress: bool) -> np.ndarray:
    """The C simulation on ``x`` in batches (one progress step each), outputs ``(n, n_out)`` float64."""
    starts = range(0, len(x), _CSIM_BATCH)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="C simulation", unit="batch", leave=False)
    parts = [np.asarray(b.predict(x[s:s + _CSIM_BATCH]), dtype=np.float64).reshape(len(x[s:s + _CSIM_BATCH]), -1)
             for s in starts]
    return np.concatenate(parts)


def _vendor_command(backend: str) -> str:
    # the commands hls4ml 1.3.0's VivadoBackend.build / VitisBackend.build run
    if backend.lower() == "vivado":
        return 'vivado_hls -f build_prj.tcl "reset=False csim=False synth=True cosim=False validation=False ' \
               'export=False vsynth=False fifo_opt=False"'
    return "vitis-run --tcl build_prj.tcl --mode hls (after writing build_opt.tcl as hls4ml's VitisBackend.build does)"


def _synthesize(hls_model: Any) -> tuple[dict | None, str]:
    """hls4ml's vendor build (C synthesis only) and its own report parser."""
    from hls4ml.report import parse_vivado_report

    hls_model.build(csim=False, synth=True, cosim=False, export=False, vsynth=False)
    report = parse_vivado_report(hls_model.config.get_output_dir())
    if not report or "CSynthesisReport" not in report:
        return report, "failed: the vendor build wrote no C-synthesis report (see the project's logs)"
    return report, "done"


#: (label, Estimate attribute, key of hls4ml's CSynthesisReport)
_COMPARED = (("LUT", "lut", "LUT"), ("FF", "ff", "FF"), ("DSP", "dsp", "DSP"),
             ("BRAM_18K", "bram_18k", "BRAM_18K"), ("latency (cycles)", "latency_cycles", "WorstLatency"),
             ("interval (cycles)", "interval_cycles", "IntervalMax"))


def synthesis_rows(estimate: Any, report: dict | None) -> list[list[str]]:
    """Rows ``[quantity, estimate, synthesis, synthesis / estimate]`` (synthesis columns empty without a report)."""
    csynth = (report or {}).get("CSynthesisReport", {})
    rows = []
    for label, attr, key in _COMPARED:
        e = getattr(estimate, attr)
        s = csynth.get(key)
        try:
            s_val = float(s) if s is not None else None
        except ValueError:
            s_val = None
        ratio = f"{s_val / e:.2f}" if s_val is not None and e else "–"
        rows.append([label, f"{e:,.0f}", "–" if s is None else str(s), ratio])
    return rows


def _write_config(path: Path, config: dict) -> None:
    import yaml

    path.write_text(yaml.safe_dump(config, sort_keys=False))


def _write_record(r: BuildResult) -> None:
    (r.out / "build.json").write_text(json.dumps(r.to_dict(), indent=1, default=str))
    (r.out / "summary.md").write_text(summary_md(r))
    r.files += [r.out / "build.json", r.out / "summary.md"]


def _md_table(head: list[str], rows: list[list[Any]]) -> list[str]:
    return (["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
            + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows] + [""])


def summary_md(r: BuildResult) -> str:
    """``summary.md``: the check, accuracy, the cost estimate and the synthesis (when it ran)."""
    e = r.estimate
    lines = [f"# fxsim build: {r.model_name}", "",
             f"- **project**: `{r.project.name}/` (hls4ml's {r.backend} backend, project `myproject`), "
             f"part {r.part}, clock {r.clock_period:g} ns; configuration in `hls4ml_config.yml`",
             f"- **C simulation** (hls4ml's g++ build, {r.compile_s:.1f} s): {r.check_line()}"
             + (" — **verified**" if r.ok else " — **MISMATCH**"), ""]
    for s, i, a, b in r.first_mismatches[:5]:
        lines.append(f"  - sample {s} output {i}: fxsim code {a}, C simulation code {b}")
    if r.metrics:
        lines += ["## Accuracy on the data", ""]
        lines += _md_table(["", "accuracy", "ROC AUC"],
                           [[k, _num(v.get("accuracy")), _num(v.get("auc"))] for k, v in
                            (("fxsim", r.metrics["fxsim"]), ("C simulation", r.metrics["csim"]))])
    lines += ["## Cost", "",
              f"fxsim's estimate before synthesis (`estimate.json`){_spread(e)}. Synthesis: {r.synthesis_status}.", ""]
    lines += _md_table(["", "estimate", "synthesis", "synthesis / estimate"], synthesis_rows(e, r.synthesis))
    lines += ["### Estimate by layer", "", "```", e.table(), "```", ""]
    return "\n".join(lines)


def _spread(e: Any) -> str:
    """The estimate/synthesis ratios measured on the calibration anchors, when the estimate has them."""
    spread = getattr(e, "uncertainty", None) or {}
    if not spread:
        return ""
    return "; estimate/synthesis on the calibration anchors: " + ", ".join(
        f"{k} ×{lo:.2f}–×{hi:.2f}" for k, (lo, hi) in spread.items())


def _num(v: Any) -> str:
    return "–" if v is None else f"{v:.4f}"
