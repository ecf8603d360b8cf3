"""Figures of the analysis, each written as PNG and PDF (matplotlib, imported only here).

* :func:`bits_curve`: the seed study's figure, metric versus fractional bits for a
  few integer widths, the hardware curve beside the QKeras curve;
* :func:`gap_bars`: per-layer and per-source gap bars;
* :func:`value_ranges`: value histograms against each type's range;
* :func:`state_drift`: LSTM/GRU state drift versus time step;
* :func:`selection`: every evaluated configuration, cost versus metric.

Each function takes the analysis results and a path *stem* (no suffix) and returns
the two files it wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, stem: str | Path) -> list[Path]:
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    _pyplot().close(fig)
    return paths


def bits_curve(rows: Sequence[dict], float_metric: float, threshold: float | None, metric: str,
               stem: str | Path, title: str = "") -> list[Path]:
    """Metric versus fractional bits, one colour per integer width; hardware solid, QKeras dashed.

    ``rows``: dicts with ``integer``, ``fractional``, ``hardware`` and optionally ``qkeras``.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    integers = sorted({r["integer"] for r in rows})
    lows = []
    for k, i in enumerate(integers):
        sub = sorted((r for r in rows if r["integer"] == i), key=lambda r: r["fractional"])
        f = [r["fractional"] for r in sub]
        hw = [r["hardware"] for r in sub]
        c = COLORS[k % len(COLORS)]
        ax.plot(f, hw, "-o", color=c, ms=4, label=f"hardware (fxsim), {i} integer bits")
        lows += hw
        if any(r.get("qkeras") is not None for r in sub):
            qk = [r.get("qkeras", np.nan) for r in sub]
            ax.plot(f, qk, "--s", color=c, ms=3, mfc="none", label=f"QKeras, {i} integer bits")
            lows += [v for v in qk if v is not None]
    ax.axhline(float_metric, color="k", lw=1, ls=":", label=f"float ({float_metric:.4f})")
    if threshold is not None:
        ax.axhline(threshold, color="grey", lw=1, ls="-.", label=f"target ({threshold:.4f})")
    finite = [v for v in lows if np.isfinite(v)]
    floor = 0.5 if metric == "auc" else 0.0
    if finite:
        ax.set_ylim(max(floor, min(finite) - 0.02), min(1.0, max(finite + [float_metric]) + 0.01) + 0.005)
    ax.set_xlabel("fractional bits F (every type ap_fixed<I+F+1, I+1>)")
    ax.set_ylabel({"auc": "ROC AUC", "accuracy": "accuracy"}.get(metric, metric))
    ax.set_title(title or "metric versus fractional bits: QKeras against the hardware")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right", ncol=2)
    return _save(fig, stem)


def gap_bars(gap, stem: str | Path) -> list[Path]:
    """Two panels (layers, sources): metric recovered when made generous, and lost when alone at P."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [len(gap.layers), len(gap.sources)]})
    for ax, rows, title in ((axes[0], gap.layers, "by layer"), (axes[1], gap.sources, "by source")):
        names = [r.name for r in rows]
        x = np.arange(len(rows))
        rec = [r.recovered for r in rows]
        alone = [r.alone for r in rows]
        ax.bar(x - 0.2, rec, 0.4, color=COLORS[0], label="recovered when generous (rest at P)")
        ax.bar(x + 0.2, alone, 0.4, color=COLORS[1], label="lost when alone at P (rest generous)")
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
        ax.set_title(f"gap {title}")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel(f"{gap.metric} difference")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"float {gap.float_metric:.4f}"
                 + (f" → QKeras {gap.qkeras_metric:.4f}" if gap.qkeras_metric is not None else "")
                 + f" → hardware {gap.hardware_metric:.4f} (all generous: {gap.generous_metric:.4f})", fontsize=10)
    return _save(fig, stem)


def value_ranges(hists: Sequence, stem: str | Path, title: str = "") -> list[Path]:
    """One row per quantity: ``log2|x|`` of reference (outline) and hardware (filled) values
    over the type's range (shaded); overflows and sub-LSB counts at the right."""
    from fxsim.analysis.histograms import EDGES

    plt = _pyplot()
    n = len(hists)
    fig, ax = plt.subplots(figsize=(10, 0.36 * n + 1.4))
    centers = (EDGES[:-1] + EDGES[1:]) / 2
    lo_all, hi_all = [], []
    for row, h in enumerate(hists):
        y0 = n - 1 - row
        lo, hi = h.range_log2
        ax.add_patch(plt.Rectangle((lo, y0 - 0.45), hi - lo, 0.9, color="0.88", zorder=0))
        for counts, style in ((h.reference, dict(color="k", lw=0.9)), (h.hardware, dict(color=COLORS[0], alpha=0.6))):
            if counts.sum() == 0:
                continue
            height = 0.85 * counts / counts.max()
            if "alpha" in style:
                ax.bar(centers, height, width=1.0, bottom=y0 - 0.42, color=style["color"], alpha=style["alpha"],
                       zorder=1)
            else:  # outline of each run of occupied bins
                occupied = np.flatnonzero(counts > 0)
                runs = np.split(occupied, np.flatnonzero(np.diff(occupied) > 1) + 1)
                for run in runs:
                    ax.stairs(y0 - 0.42 + height[run[0]:run[-1] + 1], EDGES[run[0]:run[-1] + 2],
                              baseline=y0 - 0.42, zorder=2, **style)
        nz = np.nonzero(h.reference)[0]
        if len(nz):
            lo_all.append(EDGES[nz[0]])
            hi_all.append(EDGES[nz[-1] + 1])
        lo_all.append(lo)
        hi_all.append(hi)
        note = f"{h.out_of_range:,} over"
        if h.overflow is not None:
            note += f" | fxsim {h.overflow:,}"
        note += f" | {h.below_lsb:,} <lsb"
        ax.text(1.01, y0, note, transform=ax.get_yaxis_transform(), va="center", fontsize=6.5,
                color="#d62728" if h.out_of_range or h.overflow else "k")
    ax.set_yticks(range(n), [f"{h.label}  {h.type}" for h in reversed(hists)], fontsize=6.5)
    ax.set_ylim(-0.6, n - 0.4)
    if lo_all:
        ax.set_xlim(max(EDGES[0], min(lo_all) - 1), min(EDGES[-1], max(hi_all) + 1))
    ax.set_xlabel("log2 |value|   (grey: the type's range, LSB to largest magnitude; "
                  "black: reference values; blue: hardware values)")
    ax.set_title(title or "value ranges against the types (overflow counts: reference values "
                          "over the range | fxsim's count | non-zero values below one LSB)", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, stem)


def state_drift(drifts: Sequence, stem: str | Path, title: str = "") -> list[Path]:
    """Mean and 99th-percentile |hardware - float| per time step, in LSBs of each state's type."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for k, d in enumerate(drifts):
        t = np.arange(1, d.steps + 1)
        c = COLORS[k % len(COLORS)]
        ax.plot(t, d.mean_abs / d.lsb, "-o", ms=3, color=c, label=f"{d.layer}.{d.state} mean |Δ| ({d.type})")
        ax.plot(t, d.p99 / d.lsb, "--", color=c, lw=1, label=f"{d.layer}.{d.state} 99th percentile")
    ax.set_yscale("log")
    ax.set_xlabel("time step")
    ax.set_ylabel("|hardware − float| in LSBs of the state type")
    ax.set_title(title or "recurrent state drift, hardware versus float")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return _save(fig, stem)


def selection(points: Sequence[dict], threshold: float, metric: str, stem: str | Path, cost: str = "total_bits",
              marks: dict | None = None) -> list[Path]:
    """Every evaluated configuration: cost (x) against metric (y), with the target and chosen points.

    ``points``: dicts with the cost key and ``metric``; ``marks``: ``{label: dict}`` highlighted.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    xs = np.array([p[cost] for p in points], dtype=float)
    ys = np.array([p["metric"] for p in points], dtype=float)
    ok = np.isfinite(ys)
    ax.scatter(xs[ok], ys[ok], s=8, color="0.6", label="evaluated configurations")
    ax.axhline(threshold, color="grey", ls="-.", lw=1, label=f"target ({threshold:.4f})")
    for k, (label, p) in enumerate((marks or {}).items()):
        ax.scatter([p[cost]], [p["metric"]], s=60, marker="**^sD"[k % 5], color=COLORS[(k + 1) % len(COLORS)],
                   label=f"{label}: {p[cost]:,.0f} , {p['metric']:.4f}", zorder=3)
    if ok.any():
        floor = threshold - 3 * max(1e-3, float(np.nanmax(ys[ok]) - threshold))
        ax.set_ylim(max(floor, float(np.nanmin(ys[ok]))) - 0.002, float(np.nanmax(ys[ok])) + 0.002)
    ax.set_xlabel({"total_bits": "total bits (sum of every type's width)",
                   "multiplier_cost": "multiplier cost (sum over multipliers of operand widths)",
                   "ebops": "EBOPs (fxsim estimate)", "lut": "LUT (fxsim estimate)",
                   "dsp": "DSP (fxsim estimate)"}.get(cost, cost))
    ax.set_ylabel(metric)
    ax.set_title("bit selection: every configuration fxsim evaluated")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, stem)
