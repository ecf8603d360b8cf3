"""``fxsim demo``: the main job on built-in defaults (what ``./run.sh`` runs).

1. The ap_fixed core on a handful of real numbers (rounding and overflow modes).
2. On the shipped QAT top-tagging models (``toptag_gru_q8i2``, ``toptag_lstm_q8i2``)
   and a small top-tagging set generated with Pythia (fast mode, cached under
   ``data/cache``): evaluate at the QKeras precision, diagnose the gap at the width
   the model was trained at (every type ``ap_fixed<8,3>``), select bits for a
   target by EBOPs (fxsim's cost estimate), print the estimates of the best uniform
   and the selected configurations, write the selection's hls4ml project and check
   it with one real hls4ml C simulation (``runs/demo/<model>/hls4ml_build/``, as
   ``fxsim build``), and write the report to ``runs/demo/<model>/``.
3. On the GRU (``FINETUNE``): fine-tune it through hls4ml's exact arithmetic at that
   trained width (:func:`fxsim.finetune`, ``--finetune-epochs``, default 2; on the
   search jets only, a fifth of them picking the best epoch) and print the hardware AUC
   of the held-out jets before and after, the float AUC, and the seconds it took
   (``runs/demo/<model>/finetune/``: the model, its configuration, the training curve).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

MODELS = ("toptag_gru_q8i2", "toptag_lstm_q8i2")
#: the models the demo fine-tunes (before/after at the trained width)
FINETUNE = ("toptag_gru_q8i2",)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job end to end on built-in defaults")
    p.add_argument("--out", default="runs/demo", help="folder for the demo's outputs (default: runs/demo)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models", nargs="+", default=list(MODELS), metavar="NAME",
                   help=f"zoo models to run (default: {' '.join(MODELS)})")
    p.add_argument("--jets", type=int, default=3000, help="top-tagging jets to generate (default 3000)")
    p.add_argument("--target", type=float, default=0.99, help="keep this fraction of the float AUC (default 0.99)")
    p.add_argument("--finetune-epochs", type=int, default=2, metavar="N",
                   help=f"fine-tuning epochs for {', '.join(FINETUNE)} at the trained width (default 2; 0 skips)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def show_fixed_core(seed: int) -> None:
    from fxsim.fixed import FixedType, count_overflows, from_codes, to_codes

    rng = np.random.default_rng(seed)
    x = np.concatenate([[0.1, -0.1, 1 / 3, -2.71828, 3.99, -4.0, 5.5], rng.normal(0, 2, 5)])
    types = [FixedType.parse(s) for s in
             ("ap_fixed<8,3>", "ap_fixed<8,3,AP_RND,AP_SAT>", "ap_fixed<8,3,AP_RND_CONV,AP_SAT_SYM>",
              "ap_fixed<16,6>")]
    print("== the ap_fixed core on real numbers ==")
    print(f"{'value':>12} " + " ".join(f"{str(t):>38}" for t in types))
    coded = [from_codes(to_codes(x, t), t) for t in types]
    for i, v in enumerate(x):
        print(f"{v:>12.6f} " + " ".join(f"{c[i]:>38.6f}" for c in coded))
    ref = FixedType(40, 10)
    for t in types:
        n = count_overflows(to_codes(x, ref), ref, t)
        err = np.max(np.abs(from_codes(to_codes(x, t), t) - x)[np.abs(x) < t.max])
        print(f"  {str(t):<38} lsb={t.lsb:<10g} range=[{t.min:g}, {t.max:g}]  "
              f"overflows={n}  max |error| in range={err:.3g}")


def top_tagging_set(models: list[str], jets: int, seed: int, progress: bool):
    """A small generated top-tagging set (fast Pythia, cached), per model rescaled as in training."""
    from fxsim.models import zoo
    from fxsim.models.datasets import toptag

    ds = toptag.generate(jets, seed=seed, fast=True, progress=progress)
    return {name: zoo.prepare_inputs(name, ds, split="all") for name in models}


def show_finetuning(study, point, label: str, folder: Path, epochs: int, progress: bool) -> dict:
    """Fine-tune at ``point`` on the search jets; hardware AUC on the held-out jets before and after."""
    from fxsim.evaluate import evaluate
    from fxsim.finetuning import finetune

    t0 = time.perf_counter()
    config = study.config(point)
    n_val = max(1, len(study.x) // 5)
    ft = finetune(study.model, config, study.x[:-n_val], study.y[:-n_val], validation=(study.x[-n_val:],
                  study.y[-n_val:]), epochs=epochs, progress=progress, evaluate_before_after=False)
    before = evaluate(study.model, ft.hls_config, study.x_holdout, study.y_holdout, progress=False).metrics
    after = evaluate(ft.model, ft.hls_config, study.x_holdout, study.y_holdout, progress=False).metrics
    seconds = time.perf_counter() - t0
    ref = before["float"]["auc"]
    hb, ha = before["hardware"]["auc"], after["hardware"]["auc"]
    print(f"-- fine-tuning through hls4ml's arithmetic at {label} ({epochs} epoch(s) on "
          f"{len(study.x) - n_val:,} search jets, best of {len(ft.history)} kept: epoch {ft.best_epoch}) --")
    print(f"  hardware AUC on {len(study.x_holdout):,} held-out jets: before {hb:.4f} ({hb / ref:.3f} x float), "
          f"after {ha:.4f} ({ha / ref:.3f} x float); float {ref:.4f}")
    print(f"  fine-tuning took {seconds:.0f} s (graph tracing {ft.seconds.get('trace', 0.0):.0f} s of it)")
    folder.mkdir(parents=True, exist_ok=True)
    ft.model.save(folder / "model.h5")
    (folder / "hls_config.json").write_text(json.dumps(ft.hls_config, indent=1, default=str))
    ft.plot(folder / "training_curve")
    return {"before": hb, "after": ha, "float": ref, "seconds": seconds}


def run_model(name: str, x: np.ndarray, y: np.ndarray, out: Path, target: float, progress: bool,
              finetune_epochs: int = 0) -> dict:
    """Evaluate, diagnose, select, cross-check and report one zoo model; returns the headline numbers."""
    from fxsim.analysis.pipeline import bits_curve, diagnose, select_bits
    from fxsim.analysis.report import write_report
    from fxsim.analysis.study import Study
    from fxsim.analysis.objective import CostModel, objective
    from fxsim.cli.scan import build_selection, estimate_lines, summary_lines
    from fxsim.evaluate import evaluate
    from fxsim.models import zoo

    t0 = time.perf_counter()
    model = zoo.load(name)
    print(f"\n== {name}: {len(x):,} generated jets ==")
    print(evaluate(model, None, x, y, metric=["auc", "accuracy"], progress=progress).table())

    study = Study(model, x, y, holdout=0.5, progress=progress)
    info = zoo.info(name)
    bits, integer = int(info["bits"]), int(info["integer"])
    trained = study.space.uniform(integer, bits - integer - 1)
    diag = diagnose(study, trained, curve=False, drift_samples=1000, hist_samples=500)
    print(f"-- gap at the trained width, every type ap_fixed<{bits},{integer + 1}> --")
    for stage, value, change in diag.gap.stages():
        print(f"  {stage:<30s} {value:.4f}" + ("" if change is None else f"  ({change:+.4f})"))
    worst = sorted(diag.gap.sources, key=lambda r: r.alone, reverse=True)[:3]
    print("  largest sources (metric lost alone): " + ", ".join(f"{r.name} {r.alone:+.4f}" for r in worst))

    print(f"-- bit selection by EBOPs, target {target:g} x float --")
    costs = CostModel(study)
    sel = select_bits(study, target, objective("ebops", study, costs), integers=range(1, 7), max_fractional=12,
                      max_evaluations=250, verify=False)
    folder = out / name
    built = None
    estimates = {}
    if sel.point is not None:
        # the selection's hls4ml project, compiled and checked on the held-out jets (the C-simulation check)
        built = build_selection(study, sel, folder / "hls4ml_build", name, progress=progress)
        estimates = {"best uniform": costs.estimate(sel.uniform.point), "selected": costs.estimate(sel.point)}
    print("\n".join(summary_lines(study, sel)))
    print("\n".join(estimate_lines(estimates)))
    if built is not None:
        print(f"  hls4ml project of the selection: {built.project} (estimate.json, summary.md beside it)")
    curve = bits_curve(study, fractionals=range(1, 11), qkeras_samples=1000)
    files = write_report(folder, study, diagnosis=diag, selection=sel, curve=curve, title=f"fxsim demo: {name}",
                         meta={"model": f"{name} (shipped QAT model, {info['dataset']})",
                               "data": f"{len(x):,} generated top-tagging jets (Pythia 8, fast mode, cached): "
                                       f"{len(study.x):,} for the searches, {len(study.x_holdout):,} held out",
                               "diagnosed precision": f"every type ap_fixed<{bits},{integer + 1}> (the trained width)",
                               "target": f"{target:g} x float AUC", "objective": "ebops",
                               "hls4ml project of the selection": str(folder / "hls4ml_build")},
                         costs=costs, estimates=estimates)
    print(f"report: {files[0]}  (plots: {', '.join(p.name for p in files if p.suffix == '.png')})")
    tuned = None
    if finetune_epochs > 0 and name in FINETUNE:
        tuned = show_finetuning(study, trained, f"every type ap_fixed<{bits},{integer + 1}>", folder / "finetune",
                                finetune_epochs, progress)
    print(f"[{name}: {time.perf_counter() - t0:.0f} s]")
    v = sel.verification
    return {"ok": sel.point is not None and v is not None and v.ok and v.metric_csim >= sel.holdout_threshold,
            "finetune": tuned}


def run(args: argparse.Namespace) -> int:
    show_fixed_core(args.seed)
    from fxsim.models import zoo

    unknown = [m for m in args.models if m not in zoo.names()]
    if unknown:
        raise ValueError(f"unknown zoo models {unknown}; available: {', '.join(zoo.names())}")
    if args.finetune_epochs < 0:
        raise ValueError("--finetune-epochs must be 0 (skip) or positive")
    if args.jets < 200:
        raise ValueError("--jets must be at least 200")
    out = Path(args.out)
    data = top_tagging_set(args.models, args.jets, seed=7 + args.seed, progress=not args.quiet)
    results = [run_model(name, *data[name], out, args.target, not args.quiet, args.finetune_epochs)
               for name in args.models]
    return 0 if all(r["ok"] for r in results) else 1
