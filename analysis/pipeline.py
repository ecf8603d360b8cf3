"""The two analyses the command line runs, end to end, on a :class:`~fxsim.analysis.study.Study`.

* :func:`diagnose`: at one precision, the metric float → QKeras → hardware, the gap
  by layer and by source, LSTM/GRU state drift, value ranges against the types,
  and the seed study's curve (metric versus fractional bits, hardware beside QKeras).
* :func:`select_bits`: the fewest uniform bits meeting a target, the per-knob
  search below it, the hls4ml configuration of the chosen point, and one real C
  simulation of it, with the time fxsim took against what C simulation would take.

Both return plain result objects; :mod:`fxsim.analysis.report` writes them to a folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fxsim.analysis.drift import Drift, recurrent_drift
from fxsim.analysis.gap import Gap, decompose
from fxsim.analysis.histograms import Histogram, value_histograms
from fxsim.analysis.ranges import knob_ranges, trim_integers
from fxsim.analysis.select import SearchResult, UniformRow, fewest_uniform_bits, greedy_search
from fxsim.analysis.space import Point
from fxsim.analysis.study import Study, Verification

#: The seed study's integer widths for the curve.
CURVE_INTEGERS = (0, 2, 4)


@dataclass
class Diagnosis:
    """Everything :func:`diagnose` found at one point."""

    point: Point
    gap: Gap
    drifts: list[Drift]
    histograms: list[Histogram]
    curve: list[dict]
    overflow_table: str
    seconds: float


def bits_curve(study: Study, integers: Sequence[int] = CURVE_INTEGERS, fractionals: Sequence[int] = range(1, 11),
               qkeras_samples: int | None = None) -> list[dict]:
    """Rows ``{integer, fractional, width, hardware, qkeras}`` of the seed study's figure.

    See :meth:`fxsim.analysis.study.Study.uniform_pair`: at each width the QKeras model with
    every quantizer at ``quantized_bits(I+F+1, I)`` against hls4ml's conversion of it
    with every type ``ap_fixed<I+F+1, I+1>``.
    """
    grid = [(i, f) for i in integers for f in fractionals]
    bar = None
    if study.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(grid), desc="QKeras vs hardware grid", unit="width", leave=False)
    rows = []
    for i, f in grid:
        hw, q = study.uniform_pair(i, f, qkeras_samples)
        rows.append({"integer": i, "fractional": f, "width": i + f + 1, "hardware": hw, "qkeras": q})
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return rows


def diagnose(study: Study, point: Point | None = None, curve: bool = True,
             curve_fractionals: Sequence[int] = range(1, 11), qkeras_samples: int | None = 5000,
             drift_samples: int = 2000, hist_samples: int = 1000) -> Diagnosis:
    """Diagnose the accuracy gap of ``point`` (default: the study's base precision)."""
    t0 = time.perf_counter()
    point = point or study.space.base
    gap = decompose(study, point)
    drifts = recurrent_drift(study, point, drift_samples)
    hists = value_histograms(study, point, hist_samples)
    rows = bits_curve(study, CURVE_INTEGERS, curve_fractionals, qkeras_samples=qkeras_samples) if curve else []
    table = str(study.emulate(point).overflow_report(study.x))
    return Diagnosis(point, gap, drifts, hists, rows, table, time.perf_counter() - t0)


@dataclass
class Selection:
    """Outcome of :func:`select_bits`.

    ``threshold`` applies to the search samples; with a hold-out split, a choice must
    also reach ``holdout_threshold`` (the target times the float metric on the held-out
    samples), and the per-knob path is walked back (``backoff`` steps) until it does.
    """

    target: float
    threshold: float
    float_metric: float
    objective: str
    uniform: UniformRow | None
    uniform_rows: list[UniformRow]
    search: SearchResult | None
    point: Point | None = None
    metric: float | None = None
    holdout_threshold: float | None = None
    float_holdout: float | None = None
    uniform_holdout: float | None = None
    metric_holdout: float | None = None
    backoff: int = 0
    trimmed: bool = False
    verification: Verification | None = None
    config: dict | None = None
    uniform_config: dict | None = None
    fxsim_seconds: float = 0.0
    fxsim_configs: int = 0
    notes: list[str] = field(default_factory=list)


def search_evaluator(study: Study, desc: str, budget: int) -> tuple[Callable[[Sequence[Point]], list[float]], Any]:
    """``study.evaluate`` for the per-knob search, with one progress bar over its evaluation budget.

    Most of the search's batches are a single point (the best move re-measured on the
    current point), for which :meth:`Study.evaluate` draws no bar: without this one a scan
    of a large model runs for minutes with nothing on the screen.

    Parameters
    ----------
    study : Study
        Evaluates the points; ``study.progress`` decides whether a bar is drawn.
    desc : str
        Label of the bar.
    budget : int
        The search's ``max_evaluations`` (the bar's total; the search may stop earlier).

    Returns
    -------
    evaluate : callable
        Batch metric of points, as :func:`fxsim.analysis.select.greedy_search` takes it.
    bar : tqdm or None
        The bar to close after the search (None without progress).
    """
    if not study.progress:
        return study.evaluator(), None
    from tqdm.auto import tqdm

    bar = tqdm(total=budget, desc=desc, unit="config", leave=False)

    def evaluate(points: Sequence[Point]) -> list[float]:
        metrics = study.evaluate(points)
        if bar.n + len(points) > bar.total:  # the batch that crosses the budget finishes; keep a total
            bar.total = bar.n + len(points)
        bar.update(len(points))
        return metrics

    return evaluate, bar


def _holdout_ok(study: Study, point: Point, threshold: float | None) -> bool:
    return threshold is None or study.holdout_metric(point) >= threshold


def _uniform_choice(study: Study, rows: list[UniformRow], threshold: float, holdout_threshold: float | None,
                    max_fractional: int, notes: list[str]) -> UniformRow | None:
    """The narrowest uniform row meeting the threshold (and the held-out threshold)."""
    passing = sorted((r for r in rows if r.metric >= threshold), key=lambda r: (r.width, -r.metric))
    for r in passing:
        if _holdout_ok(study, r.point, holdout_threshold):
            return r
    if not passing:
        return None
    # the narrowest ones fit the search samples only: widen the best one until the held-out samples agree
    best = passing[0]
    for f in range(best.fractional + 1, max_fractional + 1):
        p = study.space.uniform(best.integer, f)
        m = study.evaluate([p])[0]
        if m >= threshold and _holdout_ok(study, p, holdout_threshold):
            notes.append(f"ap_fixed<{best.width},{best.integer + 1}> meets the target on the search samples only; "
                         f"widened to {f} fractional bits for the held-out samples")
            return UniformRow(best.integer, f, m, p)
    return None


def _back_off(study: Study, path: list[tuple[Point, float]], holdout_threshold: float | None) -> int:
    """Index of the last point on the search path that also meets the held-out threshold."""
    if holdout_threshold is None or _holdout_ok(study, path[-1][0], holdout_threshold):
        return len(path) - 1
    lo, hi = 0, len(path) - 1  # path[lo] passes (the validated start), path[hi] fails
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _holdout_ok(study, path[mid][0], holdout_threshold):
            lo = mid
        else:
            hi = mid
    return lo


def select_bits(study: Study, target: float = 0.95, objective: str = "bits", integers: Sequence[int] = range(7),
                max_fractional: int = 16, search: bool = True, verify: bool = True, verify_samples: int | None = None,
                fresh_build: bool = True, max_evaluations: int = 600, trim: bool = True) -> Selection:
    """Choose precisions whose hardware metric is at least ``target`` times the float metric.

    Parameters
    ----------
    target : fraction of the float metric to keep (the seed used 0.95).
    objective : ``"bits"`` or ``"multipliers"`` for the per-knob search.
    search : run the per-knob search below the best uniform precision.
    verify : compile the chosen point with hls4ml and run its C simulation once
        (on the held-out samples when the study has them).
    verify_samples : run the C simulation on the first ``verify_samples`` of those only.
    fresh_build : compile afresh for verification (measures the build time) instead of
        reusing a cached build.
    max_evaluations : budget of the per-knob search.
    trim : start the per-knob search from the best uniform point with integer bits
        trimmed to the value ranges (:mod:`fxsim.analysis.ranges`) when that still meets the target.
    """
    if not 0 < target <= 1.5:
        raise ValueError(f"target must be a fraction of the float metric such as 0.95 or 0.99, got {target}")
    float_metric = study.float_metric()
    threshold = target * float_metric
    held = study.x_holdout is not None
    float_holdout = study.float_metric(holdout=True) if held else None
    holdout_threshold = target * float_holdout if held else None
    n0, s0 = study.timing.evaluations, study.timing.total_s
    _, rows = fewest_uniform_bits(study.evaluator("uniform bisection"), study.space, threshold, integers,
                                  max_fractional)
    notes: list[str] = []
    best = _uniform_choice(study, rows, threshold, holdout_threshold, max_fractional, notes)
    sel = Selection(target, threshold, float_metric, objective, best, rows, None,
                    holdout_threshold=holdout_threshold, float_holdout=float_holdout, notes=notes)
    if best is None:
        notes.append(f"no uniform precision up to {max_fractional} fractional bits reaches {threshold:.4f} "
                     f"({target:g} x float {float_metric:.4f}){' on both sample sets' if held else ''}; "
                     "nothing selected")
    else:
        sel.point, sel.metric = best.point, best.metric
        if search:
            start = best.point
            if trim:
                # integer bits the value ranges do not need are the cheapest bits to remove: try them in one go
                trimmed = trim_integers(study.space, best.point, knob_ranges(study))
                if trimmed != best.point:
                    m = study.evaluate([trimmed])[0]
                    if m >= threshold and _holdout_ok(study, trimmed, holdout_threshold):
                        start, sel.trimmed = trimmed, True
            evaluate, bar = search_evaluator(study, f"per-knob search ({objective})", max_evaluations)
            try:
                sel.search = greedy_search(evaluate, study.space, start, threshold, objective,
                                           max_evaluations=max_evaluations)
            finally:
                if bar is not None:
                    bar.close()
            path = sel.search.path()
            k = _back_off(study, path, holdout_threshold)
            sel.backoff = len(path) - 1 - k
            sel.point, sel.metric = path[k]
            if sel.backoff:
                notes.append(f"the last {sel.backoff} of {len(path) - 1} search steps met the target on the search "
                             "samples but not on the held-out ones; they were undone")
            if study.space.total_bits(sel.point) >= study.space.total_bits(best.point):
                notes.append("the per-knob search found no configuration with fewer total bits than the best uniform "
                             "precision that meets the target")
        if held:
            sel.uniform_holdout = study.holdout_metric(best.point)
            sel.metric_holdout = study.holdout_metric(sel.point)
    sel.fxsim_configs = study.timing.evaluations - n0
    sel.fxsim_seconds = study.timing.total_s - s0
    if sel.point is not None:
        sel.config = study.config(sel.point)
        sel.uniform_config = study.config(best.point)
        if verify:
            v = sel.verification = study.verify(sel.point, verify_samples, use_cache=not fresh_build)
            if not v.ok:
                notes.append(f"C simulation and fxsim disagree on {v.mismatches} of {v.compared} output codes")
            goal = holdout_threshold if v.held_out else threshold
            if v.metric_csim < goal:
                notes.append(f"on the {v.n_samples} samples simulated in C the metric {v.metric_csim:.4f} is below "
                             f"the target {goal:.4f}")
    return sel
