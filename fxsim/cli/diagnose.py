"""``fxsim diagnose MODEL --data FILE.npz``: where the accuracy goes, float → QKeras → hardware.

At one precision (``--precision``, default: what the QKeras quantizers say), the
gap is decomposed by layer and by source (inputs, weights, accumulators,
results/states, lookup tables, overflow), LSTM/GRU state drift is measured per
time step, every value is histogrammed against its type's range, and the seed
study's curve (metric versus fractional bits for 0, 2 and 4 integer bits, the
hardware beside QKeras) is drawn. Everything lands in a report folder
(``summary.md``, ``plots/``, ``results.json``).

``MODEL`` is a ``.h5``/``.keras`` file or the name of a shipped zoo model (e.g.
``toptag_gru_q8i2``); with a zoo model and a dataset written by ``fxsim data``,
the inputs are rescaled to the scaling the model was trained with.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np


def add_common(p: argparse.ArgumentParser) -> None:
    """Arguments ``diagnose`` and ``scan`` share."""
    p.add_argument("model", help="Keras/QKeras model (.h5 or .keras) or a zoo model name, e.g. toptag_gru_q8i2")
    p.add_argument("--data", required=True, metavar="FILE.npz", help="inputs and labels (.npz, e.g. from fxsim data)")
    p.add_argument("--inputs", metavar="KEY", help="array of inputs in the .npz (default: x, x_test, ...)")
    p.add_argument("--labels", metavar="KEY", help="array of labels in the .npz (default: y, y_test)")
    p.add_argument("--precision", default="none", metavar="SPEC",
                   help="base precision: 'none' (QKeras quantizers, hls4ml defaults), a type string, inline JSON, "
                        "or a .json file (default: none)")
    p.add_argument("--metric", choices=["auc", "accuracy"], help="default: auc for one output, accuracy otherwise")
    p.add_argument("--max-samples", type=int, metavar="N", help="use only the first N samples")
    p.add_argument("--strategy", choices=["Latency", "Resource"], help="hls4ml strategy for every layer")
    p.add_argument("--reuse-factor", type=int, metavar="R", help="hls4ml reuse factor for every layer")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("diagnose", help="decompose the accuracy gap float → QKeras → hardware (report folder)",
                       description=__doc__.split("\n\n")[1] if __doc__ else None)
    add_common(p)
    p.add_argument("--out", default=None, metavar="DIR", help="report folder (default: runs/diagnose/<model>)")
    p.add_argument("--no-curve", action="store_true", help="skip the metric-versus-fractional-bits curve")
    p.add_argument("--qkeras-samples", type=int, default=5000, metavar="N",
                   help="samples for each QKeras point of the curve (default 5000)")
    p.set_defaults(func=run)


def _model_and_data(args: argparse.Namespace) -> tuple[Any, str, np.ndarray, np.ndarray]:
    """The model (path or loaded zoo model), its display name, inputs and labels."""
    from fxsim.cli.evaluate import load_data, resolve_model

    model, name, zoo_name = resolve_model(args.model)
    x, y = load_data(args.data, args.inputs, args.labels, zoo_name, need_labels=True, max_samples=args.max_samples)
    return model, name, x, y


def make_study(args: argparse.Namespace, holdout: float = 0.0):
    """A :class:`fxsim.analysis.study.Study` from the command-line arguments."""
    from fxsim.analysis.study import Study
    from fxsim.cli.evaluate import parse_spec

    model, name, x, y = _model_and_data(args)
    options: dict[str, Any] = {}
    if args.strategy:
        options["strategy"] = args.strategy
    if args.reuse_factor is not None:
        options["reuse_factor"] = args.reuse_factor
    study = Study(model, x, y, parse_spec(args.precision), metric=args.metric, holdout=holdout,
                  progress=not args.quiet, **options)
    return study, name


def print_stages(gap) -> None:
    for stage, value, change in gap.stages():
        extra = "" if change is None else f"  ({change:+.4f})"
        print(f"  {stage:<30s} {value:.4f}{extra}")


def run(args: argparse.Namespace) -> int:
    from fxsim.analysis.pipeline import diagnose
    from fxsim.analysis.report import write_report

    study, name = make_study(args)
    out = Path(args.out) if args.out else Path("runs") / "diagnose" / name
    diag = diagnose(study, curve=not args.no_curve, qkeras_samples=args.qkeras_samples)
    files = write_report(out, study, diagnosis=diag, title=f"fxsim diagnose: {name}",
                         meta={"model": args.model, "data": args.data, "precision": args.precision})
    g = diag.gap
    print(f"{name}: {study.metric} on {len(study.x):,} samples")
    print_stages(g)
    worst = sorted(g.layers, key=lambda r: r.alone, reverse=True)[:3]
    print("  largest layer gaps (alone): " + ", ".join(f"{r.name} {r.alone:+.4f}" for r in worst))
    worst = sorted(g.sources, key=lambda r: r.alone, reverse=True)[:3]
    print("  largest source gaps (alone): " + ", ".join(f"{r.name} {r.alone:+.4f}" for r in worst))
    print(f"report: {files[0]} ({len(files)} files, {diag.seconds:.0f} s)")
    return 0
