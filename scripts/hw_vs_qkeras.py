#!/usr/bin/env python
"""The seed study's figure for any zoo task: metric versus width, QKeras beside the hardware.

For each QAT zoo model of a task, on freshly generated data (not the training data),
:func:`fxsim.analysis.pipeline.bits_curve` measures at every uniform width ``(I, F)``
the QKeras model with every quantizer at ``quantized_bits(I+F+1, I)`` and fxsim's
emulation of hls4ml's conversion of that model with every type ``ap_fixed<I+F+1, I+1>``
(the same code the demo's top-tagging curve uses), and
:func:`fxsim.analysis.plots.bits_curve` draws it. Writes, per model,
``docs/figures/bits_curve_<model>.png|pdf`` and the rows to
``docs/figures/bits_curve_<model>.json``; then renders every JSON there into ``docs/curves.md``.

    .venv/bin/python scripts/hw_vs_qkeras.py toptag
    .venv/bin/python scripts/hw_vs_qkeras.py btag --models btag_gru_q8i2 --samples 2000
    .venv/bin/python scripts/hw_vs_qkeras.py --render-only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures"
CURVES_MD = ROOT / "docs" / "curves.md"

#: per task: generator arguments of the fresh data (seeds differ from the zoo's training seed 1),
#: the metric of the curve and how the data are described
TASK_DATA = {
    "toptag": {"n": 16000, "seed": 21, "metric": "auc",
               "label": "top tagging (ROC AUC)", "what": "top-tagging jets (Pythia 8, preset hls4ml)"},
    "btag": {"n": 3000, "seed": 2, "metric": "auc",
             "label": "flavour tagging (macro ROC AUC, b/c/light one-vs-rest)",
             "what": "flavour-tagging jets (Pythia 8, preset ttbar13)"},
    "quickdraw": {"n": 4000, "seed": 2, "metric": "accuracy",
                  "label": "QuickDraw (accuracy)", "what": "procedural QuickDraw sketches (difficulty 0.15)"},
}


def generate(task: str, n: int, seed: int, progress: bool):
    """The task's dataset from its generator (cached under data/cache)."""
    if task == "toptag":
        from fxsim.models.datasets import toptag

        return toptag.generate(n, preset="hls4ml", seed=seed, progress=progress)
    if task == "btag":
        from fxsim.models.datasets import btag

        return btag.generate(n, preset="ttbar13", seed=seed, progress=progress)
    from fxsim.models.datasets import quickdraw

    return quickdraw.generate(n, seed=seed, progress=progress)


def qat_models(task: str) -> list[str]:
    """The task's QAT zoo models trained at the seed's 8 bits (``*_q8i2``)."""
    from fxsim.models import zoo

    return [n for n in zoo.names() if zoo.info(n)["task"] == task and zoo.info(n)["quant"] == "q8i2"]


def curve_of(name: str, x: np.ndarray, y: np.ndarray, metric: str, fractionals: list[int],
             qkeras_samples: int, progress: bool) -> dict:
    """Rows of :func:`fxsim.analysis.pipeline.bits_curve` for one zoo model, with its float metric."""
    from fxsim.analysis.pipeline import bits_curve
    from fxsim.analysis.study import Study
    from fxsim.models import zoo

    t0 = time.perf_counter()
    study = Study(zoo.load(name), x, y, metric=metric, progress=progress)
    rows = bits_curve(study, fractionals=fractionals, qkeras_samples=qkeras_samples)
    return {"model": name, "metric": metric, "samples": int(len(x)), "qkeras_samples": int(min(qkeras_samples, len(x))),
            "float": study.float_metric(), "qkeras_trained": study.qkeras_metric(), "rows": rows,
            "seconds": round(time.perf_counter() - t0, 1)}


def plot(result: dict, label: str) -> list[Path]:
    from fxsim.analysis import plots

    return plots.bits_curve(result["rows"], result["float"], None, result["metric"],
                            FIGURES / f"bits_curve_{result['model']}",
                            title=f"{result['model']}: {label}")


def _fmt(v) -> str:
    return "–" if v is None else ("n/a" if not np.isfinite(v) else f"{v:.4f}")


def smallest_width(rows: list[dict], key: str, threshold: float) -> dict | None:
    """The row of the fewest total bits (then fewest integer bits) whose ``key`` metric reaches ``threshold``."""
    ok = [r for r in rows if r[key] is not None and np.isfinite(r[key]) and r[key] >= threshold]
    return min(ok, key=lambda r: (r["width"], r["integer"])) if ok else None


def key_numbers(result: dict, target: float = 0.95) -> str:
    """One sentence: the narrowest uniform width at which QKeras and the hardware keep ``target`` x float."""
    threshold = target * result["float"]
    parts = []
    for key, label in (("qkeras", "QKeras"), ("hardware", "hardware")):
        r = smallest_width(result["rows"], key, threshold)
        parts.append(f"{label} at {r['width']} bits (I={r['integer']}, F={r['fractional']}: {_fmt(r[key])})" if r
                     else f"{label} at no width tried")
    return (f"{target:.0%} of float ({_fmt(threshold)}) is first reached by " + " and by ".join(parts) + ".")


def render(figures: Path = FIGURES, out: Path = CURVES_MD) -> Path:
    """``docs/curves.md`` from every ``bits_curve_*.json`` under ``figures``, grouped by task."""
    from fxsim.models import zoo

    results = [json.loads(p.read_text()) for p in sorted(figures.glob("bits_curve_*.json"))]
    lines = ["# QKeras versus hardware, metric versus width", "",
             "The seed study's figure for each QAT zoo model, made by `scripts/hw_vs_qkeras.py <task>`:",
             "at each uniform width, **QKeras** is the model with every quantizer set to",
             "`quantized_bits(I+F+1, I)` (QKeras computes the rest in float), **hardware** is fxsim's",
             "bit-exact emulation of hls4ml 1.3.0's conversion of that model with every type",
             "`ap_fixed<I+F+1, I+1>`. Data are freshly generated (not the training data).",
             "*n/a*: hls4ml's project does not exist at that width (fxsim refuses it with the reason).", ""]
    lines += ["Fewest uniform bits reaching 95% of the float metric (the seed's criterion), per model:", "",
              "| model | float | QKeras | hardware |", "|---|---:|---:|---:|"]
    for r in results:
        cells = []
        for key in ("qkeras", "hardware"):
            row = smallest_width(r["rows"], key, 0.95 * r["float"])
            cells.append(f"{row['width']} (I={row['integer']})" if row else "none tried")
        lines.append(f"| {r['model']} | {_fmt(r['float'])} | {cells[0]} | {cells[1]} |")
    lines += ["", "The hardware needs 4 integer bits above the sign and 6–10 fractional bits where QKeras "
              "reaches it at 3–9 bits: QKeras quantizes weights and activations only, while the "
              "hardware also rounds and wraps every accumulator, state and table input at the uniform type.", ""]
    for task, spec in TASK_DATA.items():
        mine = [r for r in results if r["model"].split("_")[0] == task]
        if not mine:
            continue
        lines += [f"## {spec['label']}", ""]
        for r in mine:
            info = zoo.info(r["model"]) if r["model"] in zoo.names() else {}
            lines += [f"### {r['model']}", "",
                      f"![{r['model']}](figures/bits_curve_{r['model']}.png) "
                      f"([PDF](figures/bits_curve_{r['model']}.pdf))", "",
                      f"{r['samples']:,} {spec['what']}, generator seed {r.get('data_seed', '?')}; QKeras points on "
                      f"the first {r['qkeras_samples']:,}. Float {r['metric']} {_fmt(r['float'])}, QKeras at its "
                      f"trained width {info.get('quant', '?')} {_fmt(r['qkeras_trained'])} ({r['seconds']:.0f} s). "
                      + key_numbers(r), ""]
            integers = sorted({row["integer"] for row in r["rows"]})
            head = ["F"] + [f"{kind} I={i}" for i in integers for kind in ("QKeras", "hardware")]
            lines += ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
            for f in sorted({row["fractional"] for row in r["rows"]}):
                cells = [str(f)]
                for i in integers:
                    row = next(x for x in r["rows"] if x["integer"] == i and x["fractional"] == f)
                    cells += [_fmt(row["qkeras"]), _fmt(row["hardware"])]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
    out.write_text("\n".join(lines))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("task", nargs="?", choices=list(TASK_DATA), help="zoo task (omit with --render-only)")
    p.add_argument("--models", nargs="+", help="zoo models (default: the task's *_q8i2 models)")
    p.add_argument("--samples", type=int, default=None, help="inputs for the hardware side (default: all generated)")
    p.add_argument("--qkeras-samples", type=int, default=2000, help="inputs for each QKeras point (default 2000)")
    p.add_argument("--n", type=int, default=None, help="examples to generate (default per task)")
    p.add_argument("--data-seed", type=int, default=None, help="generator seed (default per task, not 1)")
    p.add_argument("--fractionals", type=int, nargs="+", default=list(range(1, 11)))
    p.add_argument("--render-only", action="store_true",
                   help="only redraw the figures and rewrite docs/curves.md from the JSON files")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if not args.render_only:
        if args.task is None:
            p.error("give a task, or --render-only")
        from fxsim.models import zoo

        spec = TASK_DATA[args.task]
        n = args.n or spec["n"]
        seed = spec["seed"] if args.data_seed is None else args.data_seed
        data = generate(args.task, n, seed, not args.quiet)
        models = args.models or qat_models(args.task)
        if not models:
            raise SystemExit(f"no QAT q8i2 zoo models for task {args.task}")
        FIGURES.mkdir(parents=True, exist_ok=True)
        for name in models:
            x, y = zoo.prepare_inputs(name, data, split="all")
            x, y = (x[: args.samples], y[: args.samples]) if args.samples else (x, y)
            result = curve_of(name, x, y, spec["metric"], args.fractionals, args.qkeras_samples, not args.quiet)
            result["data_seed"] = seed
            (FIGURES / f"bits_curve_{name}.json").write_text(json.dumps(result, indent=1) + "\n")
            files = plot(result, spec["label"])
            print(f"{name}: float {result['float']:.4f}, {len(result['rows'])} widths in {result['seconds']:.0f} s "
                  f"-> {', '.join(str(f.relative_to(ROOT)) for f in files)}", flush=True)
    else:
        for path in sorted(FIGURES.glob("bits_curve_*.json")):
            result = json.loads(path.read_text())
            plot(result, TASK_DATA[result["model"].split("_")[0]]["label"])
    print(f"wrote {render().relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
