"""``fxsim scan MODEL --data FILE.npz --target 0.99``: pre-synthesis bit selection.

Finds (a) the fewest uniform bits ``ap_fixed<I+F+1, I+1>`` whose hardware metric
is at least ``target`` times the float metric (the seed study's criterion) and
(b) below it, per layer and per quantity (weights, accumulators, results, table
type and size), the configuration with the fewest total bits (or the smallest
multiplier cost) still meeting the target, using fxsim for every candidate. A
share of the samples (``--holdout``) is kept out of the search and must agree.
The chosen configuration is compiled with hls4ml and run once in C simulation;
the report folder holds the seed study's curve, the selection plot, the tables,
and the selected hls4ml configuration (YAML and JSON) ready for conversion.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from fxsim.cli.diagnose import add_common

    p = sub.add_parser("scan", help="select the fewest bits meeting a target, verified by C simulation (report folder)",
                       description=__doc__.split("\n\n")[1] if __doc__ else None)
    add_common(p)
    p.add_argument("--target", type=float, default=0.95,
                   help="keep at least this fraction of the float metric (default 0.95, the seed's criterion)")
    p.add_argument("--objective", choices=["bits", "multipliers"], default="bits",
                   help="what the per-knob search minimises: total bits or the multiplier-cost proxy (default bits)")
    p.add_argument("--holdout", type=float, default=0.5,
                   help="share of the samples the searches never see; choices must meet the target there too "
                        "(default 0.5; 0 disables)")
    p.add_argument("--max-fractional", type=int, default=16, help="widest fractional part tried (default 16)")
    p.add_argument("--uniform-only", action="store_true", help="only the uniform criterion, no per-knob search")
    p.add_argument("--max-evaluations", type=int, default=600, help="budget of the per-knob search (default 600)")
    p.add_argument("--no-verify", action="store_true", help="skip the C-simulation check of the chosen configuration")
    p.add_argument("--verify-samples", type=int, metavar="N", help="run the C simulation on N samples only")
    p.add_argument("--cached-build", action="store_true",
                   help="reuse a cached C-simulation build (default: build afresh, so the build time is measured)")
    p.add_argument("--no-curve", action="store_true", help="skip the metric-versus-fractional-bits curve")
    p.add_argument("--diagnose", action="store_true", help="also diagnose the selected configuration's gap")
    p.add_argument("--qkeras-samples", type=int, default=5000, metavar="N",
                   help="samples for each QKeras point of the curve (default 5000)")
    p.add_argument("--out", default=None, metavar="DIR", help="report folder (default: runs/scan/<model>)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="evaluate the configurations on the Dask cluster at ADDRESS (e.g. tcp://host:8786)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="evaluate the configurations on N local Dask worker processes")
    p.set_defaults(func=run)


def summary_lines(study, sel) -> list[str]:
    """What ``scan`` prints: the uniform choice, the selection and the C-simulation check."""
    space = study.space
    lines = [f"target {sel.target:g} x float {sel.float_metric:.4f} = {sel.threshold:.4f} ({study.metric}, "
             f"{len(study.x):,} search samples"
             + (f"; held-out threshold {sel.holdout_threshold:.4f} on {len(study.x_holdout):,})" if sel.holdout_threshold
                else ")")]
    if sel.uniform is None:
        return lines + [f"  {n}" for n in sel.notes]
    u = sel.uniform
    lines.append(f"  best uniform   ap_fixed<{u.width},{u.integer + 1}>: {study.metric} {u.metric:.4f}"
                 + (f" (held out {sel.uniform_holdout:.4f})" if sel.uniform_holdout is not None else "")
                 + f", total bits {space.total_bits(u.point)}, multiplier cost {space.multiplier_cost(u.point):,}")
    if sel.search is not None:
        lines.append(f"  selected       per-knob: {study.metric} {sel.metric:.4f}"
                     + (f" (held out {sel.metric_holdout:.4f})" if sel.metric_holdout is not None else "")
                     + f", total bits {space.total_bits(sel.point)}, multiplier cost {space.multiplier_cost(sel.point):,}")
    v = sel.verification
    if v is not None:
        lines.append(f"  C simulation   {study.metric} {v.metric_csim:.4f} (fxsim {v.metric_fxsim:.4f}) on {v.n_samples:,} "
                     f"{'held-out ' if v.held_out else ''}samples; {v.mismatches} of {v.compared:,} output codes differ"
                     + ("" if v.cached_build else f"; build {v.compile_s:.1f} s, predict {v.predict_s:.1f} s"))
    lines.append(f"  fxsim          {sel.fxsim_configs} configurations in {sel.fxsim_seconds:.1f} s")
    return lines + [f"  note: {n}" for n in sel.notes]


def run(args: argparse.Namespace) -> int:
    """``fxsim scan``; with ``--scheduler``/``--workers`` the evaluations run on a Dask cluster."""
    if args.scheduler and args.workers is not None:
        raise ValueError("give --scheduler ADDRESS (an existing cluster) or --workers N (a local one), not both")
    if not (args.scheduler or args.workers is not None):
        return _scan(args, attach=None)
    from fxsim.analysis.distributed import DaskEvaluator

    cluster: list = []

    def attach(study) -> None:  # once the study exists: ship it to the workers
        study.backend = DaskEvaluator.start(study, scheduler=args.scheduler, workers=args.workers)
        cluster.append(study.backend)

    try:
        return _scan(args, attach)
    finally:
        for ev in cluster:
            ev.close()


def _scan(args: argparse.Namespace, attach) -> int:
    from fxsim.analysis.pipeline import bits_curve, diagnose, select_bits
    from fxsim.analysis.report import write_report
    from fxsim.cli.diagnose import make_study

    if not 0.0 <= args.holdout < 1.0:
        raise ValueError(f"--holdout must be in [0, 1), got {args.holdout}")
    study, name = make_study(args, holdout=args.holdout)
    if attach is not None:
        attach(study)
    out = Path(args.out) if args.out else Path("runs") / "scan" / name
    sel = select_bits(study, args.target, args.objective, max_fractional=args.max_fractional,
                      search=not args.uniform_only, verify=not args.no_verify, verify_samples=args.verify_samples,
                      fresh_build=not args.cached_build, max_evaluations=args.max_evaluations)
    curve = [] if args.no_curve else bits_curve(study, qkeras_samples=args.qkeras_samples)
    diag = diagnose(study, sel.point, curve=False) if args.diagnose and sel.point is not None else None
    files = write_report(out, study, diagnosis=diag, selection=sel, curve=curve, title=f"fxsim scan: {name}",
                         meta={"model": args.model, "data": args.data, "base precision": args.precision,
                               "target": args.target, "objective": args.objective})
    print(f"{name}:")
    print("\n".join(summary_lines(study, sel)))
    print(f"report: {files[0]} ({len(files)} files)")
    if sel.point is None:
        return 1
    v = sel.verification
    return 1 if v is not None and not v.ok else 0
