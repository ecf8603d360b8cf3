"""The report folder: plots (PNG and PDF), a markdown summary with the tables, the selected config.

:func:`write_report` takes a :class:`~fxsim.analysis.study.Study` and the results of
:func:`fxsim.analysis.pipeline.diagnose` and/or :func:`fxsim.analysis.pipeline.select_bits`
and writes::

    <out>/summary.md               the tables, with links to the figures
    <out>/results.json             the same numbers, machine-readable
    <out>/plots/*.png, *.pdf       bits_curve, gap_bars, value_ranges, state_drift, selection
    <out>/selected_config.yml      complete hls4ml config of the selected point (and .json)
    <out>/uniform_config.yml       the best uniform precision's config, for comparison
    <out>/evaluations.csv          every configuration fxsim evaluated: costs and metric
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fxsim.analysis import plots
from fxsim.analysis.pipeline import Diagnosis, Selection
from fxsim.analysis.space import Point, Space


def _f(v: float | None, digits: int = 4) -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and not math.isfinite(v):
        return "rejected"
    return f"{v:.{digits}f}"


def _signed(v: float | None, digits: int = 4) -> str:
    return "–" if v is None else f"{v:+.{digits}f}"


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out + [""]


def _types_table(space: Space, points: dict[str, Point]) -> list[str]:
    """Per-layer types of one or more points side by side."""
    labels = list(points)
    head = ["layer", "quantity"] + labels
    rows = []
    for info in space.layers:
        for q in info.knobs:
            pinned = " (QKeras quantizer)" if (info.name, q) in space.pinned else ""
            rows.append([info.name, q + pinned] + [str(p.types[(info.name, q)]) for p in points.values()])
        if info.table:
            rows.append([info.name, "TableSize"] + [str(p.table_sizes[info.name]) for p in points.values()])
    return _table(head, rows)


def _write_config(out: Path, stem: str, config: dict) -> list[Path]:
    import yaml

    paths = [out / f"{stem}.yml", out / f"{stem}.json"]
    paths[0].write_text(yaml.safe_dump(config, sort_keys=False))
    paths[1].write_text(json.dumps(config, indent=1))
    return paths


def _diagnosis_md(diag: Diagnosis, study, plot_files: dict[str, list[Path]], out: Path) -> list[str]:
    g = diag.gap
    lines = ["## Float → QKeras → hardware", ""]
    lines += _table(["stage", study.metric, "change"], [(s, _f(m), _signed(d)) for s, m, d in g.stages()])
    lines += ["Hardware = hls4ml 1.3.0's C simulation of this configuration, computed bit for bit by fxsim. "
              "\"All types generous\" puts every type at "
              "`ap_fixed<28,10>` (tables `ap_fixed<24,4>` with 4096 entries): "
              "what is left there is not a precision problem.", ""]
    if "gap_bars" in plot_files:
        lines += [f"![gap bars]({plot_files['gap_bars'][0].relative_to(out)})", ""]
    lines += ["## Gap by layer", "",
              "*recovered*: metric gained when this layer's types are made generous, the rest at this precision; "
              "*alone*: metric lost when only this layer is at this precision, the rest generous.", ""]
    rows = []
    for r in g.layers:
        types = ", ".join(f"{q} {diag.point.types[(r.name, q)]}" for q in r.knobs)
        tied = f" (tied: {', '.join(r.tied)})" if r.tied else ""
        rows.append([r.name, r.kind, types + tied, _signed(r.recovered), _signed(r.alone)])
    lines += _table(["layer", "kind", "types at this precision", "recovered", "alone"], rows)
    lines += ["## Gap by source", ""]
    rows = []
    for r in g.sources:
        what = "integer bits of every type (wrap/saturation)" if r.name == "overflow" else f"{len(r.knobs)} types"
        rows.append([r.name, what, _signed(r.recovered), _signed(r.alone)])
    lines += _table(["source", "knobs", "recovered", "alone"], rows)
    lines += [f"- {n}" for n in g.notes] + ([""] if g.notes else [])
    lines += ["## Overflows at this precision (fxsim, every quantity)", "", "```", diag.overflow_table, "```", ""]
    if diag.drifts:
        lines += ["## Recurrent state drift (hardware − float, per time step)", ""]
        rows = []
        for d in diag.drifts:
            rows.append([f"{d.layer}.{d.state}", str(d.type), f"{d.mean_abs[0] / d.lsb:.2f}",
                         f"{d.mean_abs[-1] / d.lsb:.2f}", f"{d.p99[-1] / d.lsb:.1f}", f"{d.max_abs[-1]:.4g}",
                         f"{d.growth():.2f}"])
        lines += _table(["state", "type", "mean |Δ| step 1 (LSB)", f"mean |Δ| step {diag.drifts[0].steps} (LSB)",
                         "p99 last step (LSB)", "max |Δ| last step", "growth last/first"], rows)
        if "state_drift" in plot_files:
            lines += [f"![state drift]({plot_files['state_drift'][0].relative_to(out)})", ""]
    if diag.histograms:
        lines += ["## Value ranges against the types", "",
                  "Reference values from fxsim at a generous precision; *over*: reference values that overflow "
                  "the type "
                  "(after its rounding); *fxsim*: values that wrapped or saturated at this precision, as fxsim counted "
                  "them; *< LSB*: non-zero reference values below one LSB.", ""]
        rows = [[h.label, str(h.type), f"[{h.ref_min:.4g}, {h.ref_max:.4g}]", f"[{h.type.min:g}, {h.type.max:g}]",
                 f"{h.out_of_range:,} / {h.n_values:,}", "–" if h.overflow is None else f"{h.overflow:,}",
                 f"{h.below_lsb:,}"] for h in diag.histograms]
        lines += _table(["quantity", "type", "reference range", "type range", "over", "fxsim", "< LSB"], rows)
        if "value_ranges" in plot_files:
            lines += [f"![value ranges]({plot_files['value_ranges'][0].relative_to(out)})", ""]
    return lines


def _curve_md(curve: list[dict], plot_files: dict[str, list[Path]], out: Path) -> list[str]:
    lines: list[str] = []
    if curve:
        lines += ["## Metric versus fractional bits (the seed study's figure)", "",
                  "QKeras: the model's trained weights with every quantizer set to `quantized_bits(I+F+1, I)` "
                  "(QKeras computes everything else in float). Hardware: hls4ml's conversion of that model with every "
                  "type `ap_fixed<I+F+1, I+1>` (lookup tables at hls4ml's default), emulated bit for bit by fxsim.", ""]
        rows = [[r["integer"], r["fractional"], r["width"], _f(r["hardware"]), _f(r["qkeras"])] for r in curve]
        lines += _table(["I", "F", "bits", "hardware", "QKeras"], rows)
        if "bits_curve" in plot_files:
            lines += [f"![bits curve]({plot_files['bits_curve'][0].relative_to(out)})", ""]
    return lines


def _selection_md(sel: Selection, study, plot_files: dict[str, list[Path]], out: Path, configs: list[Path],
                  estimates: dict | None = None) -> list[str]:
    space = study.space
    held = sel.holdout_threshold is not None
    lines = ["## Bit selection", "",
             f"Target: hardware {study.metric} ≥ {sel.target:g} × float. On the {len(study.x):,} search samples the "
             f"float {study.metric} is {_f(sel.float_metric)}, so the threshold is **{_f(sel.threshold)}**."]
    if held:
        lines[-1] += (f" Every choice is confirmed on {len(study.x_holdout):,} held-out samples (float "
                      f"{_f(sel.float_holdout)}, threshold **{_f(sel.holdout_threshold)}**), "
                      "which the searches never see.")
    lines += [""]
    if sel.uniform is None:
        lines += [f"- {n}" for n in sel.notes] + [""]
        return lines
    u = sel.uniform
    cu = space.costs(u.point)
    head = (["configuration", "what", f"{study.metric} (search)"]
            + ([f"{study.metric} (held out)"] if held else [])
            + ["total bits", "multiplier cost", "table bits"])
    rows = [["best uniform (seed criterion)", f"ap_fixed<{u.width},{u.integer + 1}> everywhere", _f(u.metric)]
            + ([_f(sel.uniform_holdout)] if held else [])
            + [cu["total_bits"], f"{cu['multiplier_cost']:,}", f"{cu['table_bits']:,}"]]
    if sel.search is not None:
        cs = space.costs(sel.point)
        what = f"{len(sel.search.steps) - sel.backoff} moves from the uniform point" + (
            " after trimming integer bits to the value ranges" if sel.trimmed else "")
        rows.append([f"selected: per-knob search ({sel.objective})", what, _f(sel.metric)]
                    + ([_f(sel.metric_holdout)] if held else [])
                    + [cs["total_bits"], f"{cs['multiplier_cost']:,}", f"{cs['table_bits']:,}"])
    lines += _table(head, rows)
    if sel.search is not None:
        cs = space.costs(sel.point)
        saved = cu["total_bits"] - cs["total_bits"]
        lines += [f"The selected configuration uses **{cs['total_bits']} total bits against {cu['total_bits']}** "
                  "for the best "
                  f"uniform precision ({-saved:+d}), and a multiplier cost of {cs['multiplier_cost']:,} against "
                  f"{cu['multiplier_cost']:,}. *Total bits* sums the width of every type of every layer (lookup-table "
                  "entry types included; the uniform point keeps hls4ml's default table type); the *multiplier cost* "
                  "sums, over the multipliers hls4ml instantiates, the widths of their two operands.", ""]
    if estimates:
        lines += _estimates_md(estimates)
    v = sel.verification
    if v is not None:
        which = "held-out" if v.held_out else "search"
        goal = sel.holdout_threshold if v.held_out else sel.threshold
        lines += ["### Verified with hls4ml's C simulation", ""]
        lines += _table(["", "value"], [
            ["samples", f"{v.n_samples:,} ({which})"],
            [f"{study.metric}, C simulation", _f(v.metric_csim)],
            [f"{study.metric}, fxsim", _f(v.metric_fxsim)],
            ["output codes compared", f"{v.compared:,}"],
            ["mismatching codes", f"{v.mismatches:,}"],
            [f"meets the target {_f(goal)} (C simulation)", "yes" if v.metric_csim >= goal else "NO"],
            ["g++ build (hls4ml compile)", "cached" if v.cached_build else f"{v.compile_s:.1f} s"],
            ["C-simulation predict", f"{v.predict_s:.1f} s ({v.n_samples / max(v.predict_s, 1e-9):,.0f} samples/s)"],
        ])
    lines += ["### Time: fxsim against C simulation", ""]
    per = sel.fxsim_seconds / max(sel.fxsim_configs, 1)
    n = len(study.x)
    lines += [f"fxsim evaluated {sel.fxsim_configs} configurations on {n:,} samples in {sel.fxsim_seconds:.1f} s "
              f"({per:.2f} s per configuration: hls4ml conversion plus emulation, measured)."]
    if v is not None and not v.cached_build:
        csim_per = v.compile_s + v.predict_s * n / max(v.n_samples, 1)
        lines += [f"One C simulation of one configuration took {v.compile_s:.1f} s to build and "
                  f"{v.predict_s:.1f} s to run "
                  f"{v.n_samples:,} samples (measured), i.e. about {csim_per:.0f} s per configuration on "
                  f"{n:,} samples; "
                  f"{sel.fxsim_configs} configurations would take about "
                  f"{csim_per * sel.fxsim_configs / 60:.0f} minutes "
                  f"(extrapolated from that one measurement), "
                  f"{csim_per * sel.fxsim_configs / max(sel.fxsim_seconds, 1e-9):.0f}× "
                  "fxsim's time."]
    lines += [""]
    points = {"best uniform": u.point}
    if sel.search is not None:
        points["selected"] = sel.point
    lines += ["### Types", ""] + _types_table(space, points)
    if sel.search is not None and sel.search.steps:
        lines += ["### Search steps", ""]
        kept = len(sel.search.steps) - sel.backoff
        lines += _table(["#", "move", f"{study.metric} (search)", "total bits", "multiplier cost", ""],
                        [[k + 1, s.move, _f(s.metric), s.costs["total_bits"], f"{s.costs['multiplier_cost']:,}",
                          "" if k < kept else "undone (held-out samples)"]
                         for k, s in enumerate(sel.search.steps)])
    lines += [f"- {n}" for n in sel.notes] + ([""] if sel.notes else [])
    if "selection" in plot_files:
        lines += [f"![selection]({plot_files['selection'][0].relative_to(out)})", ""]
    if configs:
        lines += ["Configuration files (complete hls4ml configs, `hls4ml.converters.convert_from_keras_model(model, "
                  "hls_config=...)`): " + ", ".join(f"`{p.relative_to(out)}`" for p in configs), ""]
    return lines


def write_report(out: str | Path, study, diagnosis: Diagnosis | None = None, selection: Selection | None = None,
                 curve: list[dict] | None = None, title: str = "fxsim report", meta: dict | None = None,
                 costs=None, estimates: dict | None = None) -> list[Path]:
    """Write the report folder; returns every file written.

    ``curve`` (rows of :func:`fxsim.analysis.pipeline.bits_curve`) is taken from the diagnosis when not given.
    ``costs`` (a :class:`fxsim.analysis.objective.CostModel`) gives the selection plot's x axis for an
    estimate-based objective; ``estimates`` (``{"best uniform": Estimate, "selected": Estimate}``) are
    tabulated with their ratio.
    """
    curve = curve if curve is not None else (diagnosis.curve if diagnosis is not None else [])
    out = Path(out)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    plot_files: dict[str, list[Path]] = {}
    if diagnosis is not None:
        plot_files["gap_bars"] = plots.gap_bars(diagnosis.gap, out / "plots" / "gap_bars")
        if diagnosis.histograms:
            plot_files["value_ranges"] = plots.value_ranges(diagnosis.histograms, out / "plots" / "value_ranges")
        if diagnosis.drifts:
            plot_files["state_drift"] = plots.state_drift(diagnosis.drifts, out / "plots" / "state_drift")
    if curve:
        threshold = selection.threshold if selection is not None else None
        plot_files["bits_curve"] = plots.bits_curve(curve, study.float_metric(), threshold, study.metric,
                                                    out / "plots" / "bits_curve")
    configs: list[Path] = []
    if selection is not None and selection.point is not None:
        objective = str(selection.objective)
        cost = {"multipliers": "multiplier_cost", "bits": "total_bits"}.get(objective, objective)
        value = selection.objective if callable(selection.objective) else None
        marks = {"best uniform": _point_row(study, selection.uniform.point, cost=(cost, value))}
        if selection.search is not None:
            marks["selected"] = _point_row(study, selection.point, cost=(cost, value))
        if value is not None and costs is not None and cost not in ("total_bits", "multiplier_cost"):
            # only the points the search asked the estimate about have a cost: those are plotted
            rows = [_point_row(study, p, cost=(cost, value)) for p, _ in costs.estimated()]
        else:
            rows = [_point_row(study, e.point, e.metric) for e in study.evaluated()]
        plot_files["selection"] = plots.selection(rows, selection.threshold, study.metric, out / "plots" / "selection",
                                                  cost, marks)
        configs += _write_config(out, "selected_config", selection.config)
        configs += _write_config(out, "uniform_config", selection.uniform_config)
    for paths in plot_files.values():
        files += paths
    files += configs
    files.append(_write_evaluations(out / "evaluations.csv", study))

    lines = [f"# {title}", ""]
    for key, value in (meta or {}).items():
        lines.append(f"- **{key}**: {value}")
    held = f" (+ {len(study.x_holdout):,} held out)" if study.x_holdout is not None else ""
    lines += [f"- **samples**: {len(study.x):,}{held}; **metric**: {study.metric}", ""]
    if diagnosis is not None:
        lines += _diagnosis_md(diagnosis, study, plot_files, out)
    lines += _curve_md(curve, plot_files, out)
    if selection is not None:
        lines += _selection_md(selection, study, plot_files, out, configs, estimates)
    summary = out / "summary.md"
    summary.write_text("\n".join(lines))
    files.insert(0, summary)
    results = out / "results.json"
    record = _results(study, diagnosis, selection, curve, meta)
    if estimates:
        record["estimates"] = {k: e.to_dict() for k, e in estimates.items()}
    results.write_text(json.dumps(record, indent=1, default=str))
    files.insert(1, results)
    return files


def _point_row(study, point: Point, metric: float | None = None, cost: tuple | None = None) -> dict:
    row = dict(study.space.costs(point))
    row["metric"] = study.lookup(point).metric if metric is None else metric
    if cost is not None and cost[1] is not None and cost[0] not in row:
        row[cost[0]] = cost[1](point)
    return row


#: (label, Estimate attribute) of the estimate table.
_FIGURES = (("EBOPs", "ebops"), ("LUT", "lut"), ("FF", "ff"), ("DSP", "dsp"), ("BRAM_18K", "bram_18k"),
            ("latency (cycles)", "latency_cycles"), ("interval (cycles)", "interval_cycles"))


def _estimates_md(estimates: dict) -> list[str]:
    """The estimates side by side, with selected / best uniform."""
    labels = list(estimates)
    first = estimates[labels[0]]
    lines = ["### Hardware cost estimate", "",
             f"fxsim's analytic estimate of the design hls4ml builds at each configuration ({first.part}, "
             f"{first.clock_period:g} ns clock; before synthesis, see `fxsim.cost`).", ""]
    ratio = {"best uniform", "selected"} <= set(labels)
    head = ["", *labels] + (["selected / uniform"] if ratio else [])
    rows = []
    for label, attr in _FIGURES:
        row = [label] + [f"{getattr(estimates[k], attr):,.0f}" for k in labels]
        if ratio:
            u, s = getattr(estimates["best uniform"], attr), getattr(estimates["selected"], attr)
            row.append(f"{s / u:.2f}" if u else "–")
        rows.append(row)
    rows.append(["fits the device"] + ["yes" if estimates[k].fits() else "NO" for k in labels]
                + ([""] if ratio else []))
    return lines + _table(head, rows)


def _write_evaluations(path: Path, study) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["metric", "total_bits", "multiplier_cost", "table_bits", "convert_s", "predict_s", "error",
                    "point"])
        for e in study.evaluated():
            c = study.space.costs(e.point)
            w.writerow([e.metric, c["total_bits"], c["multiplier_cost"], c["table_bits"], f"{e.convert_s:.4f}",
                        f"{e.predict_s:.4f}", e.error, e.point.key])
    return path


def _results(study, diagnosis: Diagnosis | None, selection: Selection | None, curve: list[dict],
             meta: dict | None) -> dict:
    out: dict[str, Any] = {"meta": meta or {}, "metric": study.metric, "samples": len(study.x), "curve": curve}
    if diagnosis is not None:
        g = diagnosis.gap
        out["diagnosis"] = {
            "float": g.float_metric, "qkeras": g.qkeras_metric, "hardware": g.hardware_metric,
            "generous": g.generous_metric,
            "layers": [{"name": r.name, "recovered": r.recovered, "alone": r.alone} for r in g.layers],
            "sources": [{"name": r.name, "recovered": r.recovered, "alone": r.alone} for r in g.sources],
            "overflows": g.overflows,
            "drift": [{"state": f"{d.layer}.{d.state}", "type": str(d.type), "mean_abs": d.mean_abs.tolist(),
                       "p99": d.p99.tolist()} for d in diagnosis.drifts],
        }
    if selection is not None:
        s = selection
        out["selection"] = {
            "target": s.target, "threshold": s.threshold, "float": s.float_metric, "objective": s.objective,
            "holdout_threshold": s.holdout_threshold, "float_holdout": s.float_holdout,
            "uniform": None if s.uniform is None else {"integer": s.uniform.integer, "fractional": s.uniform.fractional,
                                                       "width": s.uniform.width, "metric": s.uniform.metric,
                                                       "metric_holdout": s.uniform_holdout,
                                                       **study.space.costs(s.uniform.point)},
            "selected": None if s.point is None else {"metric": s.metric, "metric_holdout": s.metric_holdout,
                                                      "backoff": s.backoff, **study.space.costs(s.point),
                                                      "types": study.space.describe(s.point)},
            "verification": None if s.verification is None else vars(s.verification),
            "fxsim_seconds": s.fxsim_seconds, "fxsim_configs": s.fxsim_configs, "notes": s.notes,
        }
    return out
