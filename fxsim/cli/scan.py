"""``fxsim scan MODEL --data FILE.npz --target 0.99``: pre-synthesis bit selection.

Finds (a) the fewest uniform bits ``ap_fixed<I+F+1, I+1>`` whose hardware metric
is at least ``target`` times the float metric (the seed study's criterion) and
(b) below it, per layer and per quantity (weights, accumulators, results, table
type and size), the configuration of the smallest cost (``--objective``: EBOPs,
LUTs or DSPs of fxsim's estimate for ``--part`` at ``--clock``, or total bits)
still meeting the target, using fxsim for every candidate. A share of the samples
(``--holdout``) is kept out of the search and must agree. The chosen configuration
is compiled with hls4ml and run once in C simulation (``--build DIR``: as
``fxsim build``, with the project in DIR); the report folder holds the seed study's
curve, the selection plot (cost against metric), the estimates of the best uniform
and the selected configurations, the tables, and the selected hls4ml configuration
(YAML and JSON) ready for conversion or ``fxsim build --config``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from fxsim.analysis.objective import OBJECTIVES
    from fxsim.cli.diagnose import add_common
    from fxsim.project import DEFAULT_CLOCK, DEFAULT_PART

    p = sub.add_parser("scan", help="select the fewest bits meeting a target, verified by C simulation (report folder)",
                       description=__doc__.split("\n\n")[1] if __doc__ else None)
    add_common(p)
    p.add_argument("--target", type=float, default=0.95,
                   help="keep at least this fraction of the float metric (default 0.95, the seed's criterion)")
    p.add_argument("--objective", choices=list(OBJECTIVES), default=OBJECTIVES[0],
                   help="what the per-knob search minimises: EBOPs, LUTs or DSPs of fxsim's cost estimate, "
                        f"or total bits (default {OBJECTIVES[0]})")
    p.add_argument("--part", default=None,
                   help=f"FPGA part of the estimates (default {DEFAULT_PART}); when given, a selection that does "
                        "not fit the part fails with the figures")
    p.add_argument("--clock", type=float, default=DEFAULT_CLOCK, metavar="NS",
                   help=f"clock period of the estimates in ns (default {DEFAULT_CLOCK:g})")
    p.add_argument("--device-resources", metavar="LUT,FF,DSP,BRAM_18K",
                   help="the resources of a part fxsim does not know")
    p.add_argument("--build", metavar="DIR",
                   help="end with `fxsim build` of the selection into DIR (hls4ml project, C-simulation check, "
                        "estimate); replaces the separate C-simulation check")
    p.add_argument("--backend", choices=["Vivado", "Vitis"], default="Vivado", help="hls4ml backend of --build")
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
    p.add_argument("--finetune", action="store_true",
                   help="alternate selection and hardware-aware fine-tuning (fxsim.analysis.finetune_scan): each "
                        "round fine-tunes at one bit below the best uniform width on the search samples (never the "
                        "hold-out) and selects again; writes the kept model and configuration to the report folder")
    p.add_argument("--finetune-rounds", type=int, default=2, metavar="N", help="fine-tuning rounds (default 2)")
    p.add_argument("--finetune-epochs", type=int, default=3, metavar="N", help="epochs per round (default 3)")
    p.add_argument("--finetune-lr", type=float, default=1e-3, metavar="LR", help="learning rate (default 1e-3)")
    p.add_argument("--finetune-at", action="append", metavar="SPEC",
                   help="the uniform ap_fixed<W,I> a round fine-tunes at (every type but the lookup tables); "
                        "repeat for more rounds (at most --finetune-rounds are tried), each from the last kept model "
                        "(default: one fractional bit "
                        "below the last kept round's best uniform width)")
    p.add_argument("--finetune-requantize", action="store_true",
                   help="before each fine-tuning, set a QKeras model's quantizers to the round's width "
                        "(quantized_bits(W, I-1)); without it hls4ml keeps the trained weight widths")
    p.set_defaults(func=run)


def _finetune_scan(args: argparse.Namespace) -> int:
    """``fxsim scan --finetune``: the orchestration lives in :mod:`fxsim.analysis.finetune_scan`."""
    from fxsim.analysis.finetune_scan import finetune_scan, write
    from fxsim.cli.diagnose import _model_and_data
    from fxsim.cli.evaluate import parse_spec

    if args.scheduler or args.workers is not None or args.build or args.uniform_only:
        raise ValueError("--finetune runs serially and verifies by C simulation: drop --scheduler/--workers/--build/"
                         "--uniform-only")
    model, name, x, y = _model_and_data(args)
    options = {k: v for k, v in (("strategy", args.strategy), ("reuse_factor", args.reuse_factor)) if v is not None}
    res = finetune_scan(model, x, y, precision=parse_spec(args.precision), target=args.target,
                        objective=args.objective, holdout=args.holdout, rounds=args.finetune_rounds,
                        epochs=args.finetune_epochs, learning_rate=args.finetune_lr, verify=not args.no_verify,
                        verify_samples=args.verify_samples, progress=not args.quiet,
                        select_options={"max_fractional": args.max_fractional,
                                        "max_evaluations": args.max_evaluations},
                        proposals=args.finetune_at, requantize=args.finetune_requantize, **options)
    out = Path(args.out) if args.out else Path("runs") / "scan" / f"{name}_finetune"
    paths = write(res, out)
    print(f"{name}:")
    print("\n".join(res.summary_lines()))
    print(f"wrote {', '.join(str(p) for p in paths)}")
    v = res.verification
    return 1 if v is not None and not v.ok else 0


def summary_lines(study, sel) -> list[str]:
    """What ``scan`` prints: the uniform choice, the selection and the C-simulation check."""
    space = study.space
    lines = [f"target {sel.target:g} x float {sel.float_metric:.4f} = {sel.threshold:.4f} ({study.metric}, "
             f"{len(study.x):,} search samples"
             + (f"; held-out threshold {sel.holdout_threshold:.4f} on {len(study.x_holdout):,})"
                if sel.holdout_threshold
                else ")")]
    if sel.uniform is None:
        return lines + [f"  {n}" for n in sel.notes]
    u = sel.uniform
    lines.append(f"  best uniform   ap_fixed<{u.width},{u.integer + 1}>: {study.metric} {u.metric:.4f}"
                 + (f" (held out {sel.uniform_holdout:.4f})" if sel.uniform_holdout is not None else "")
                 + f", total bits {space.total_bits(u.point)}")
    if sel.search is not None:
        lines.append(f"  selected       per-knob: {study.metric} {sel.metric:.4f}"
                     + (f" (held out {sel.metric_holdout:.4f})" if sel.metric_holdout is not None else "")
                     + f", total bits {space.total_bits(sel.point)}")
    v = sel.verification
    if v is not None:
        lines.append(f"  C simulation   {study.metric} {v.metric_csim:.4f} (fxsim {v.metric_fxsim:.4f}) "
                     f"on {v.n_samples:,} "
                     f"{'held-out ' if v.held_out else ''}samples; {v.mismatches} of {v.compared:,} output codes differ"
                     + ("" if v.cached_build else f"; build {v.compile_s:.1f} s, predict {v.predict_s:.1f} s"))
    lines.append(f"  fxsim          {sel.fxsim_configs} configurations in {sel.fxsim_seconds:.1f} s")
    return lines + [f"  note: {n}" for n in sel.notes]


#: (label, Estimate attribute) of the printed and reported estimate figures.
FIGURES = (("EBOPs", "ebops"), ("LUT", "lut"), ("FF", "ff"), ("DSP", "dsp"), ("BRAM_18K", "bram_18k"),
           ("latency", "latency_cycles"), ("II", "interval_cycles"))


def estimate_lines(estimates: dict) -> list[str]:
    """The estimates of the best uniform and selected points, and selected / uniform."""
    lines = []
    for label, e in estimates.items():
        lines.append(f"  estimate       {label + ':':<14}" + ", ".join(f"{k} {getattr(e, a):,.0f}" for k, a in FIGURES)
                     + f"  ({e.part}, {e.clock_period:g} ns)")
    if {"best uniform", "selected"} <= set(estimates):
        u, s = estimates["best uniform"], estimates["selected"]
        lines.append("  selected / uniform " + ", ".join(
            f"{k} x{getattr(s, a) / getattr(u, a):.2f}" if getattr(u, a) else f"{k} –" for k, a in FIGURES))
    return lines


def fit_failure(e) -> str | None:
    """The figures of an estimate that does not fit its device, or None when it fits."""
    if e.fits():
        return None
    util = e.utilization()
    over = [f"{k} {getattr(e, a):,.0f} of {getattr(e.device, a):,} ({100 * util[a]:.0f}%)"
            for k, a in (("LUT", "lut"), ("FF", "ff"), ("DSP", "dsp"), ("BRAM_18K", "bram_18k"))]
    return f"the selected configuration does not fit {e.part}: " + ", ".join(over)


def verification_from_build(r, study, sel):
    """The selection's C-simulation check as the report shows it, from an ``fxsim build`` of it."""
    from fxsim.analysis.study import Verification

    held = study.x_holdout is not None
    v = Verification(metric_fxsim=r.metrics["fxsim"][study.metric], metric_csim=r.metrics["csim"][study.metric],
                     compared=r.compared, mismatches=r.mismatches, compile_s=r.compile_s, predict_s=r.predict_s,
                     cached_build=False, n_samples=r.n_samples, directory=str(r.project), held_out=held)
    if not v.ok:
        sel.notes.append(f"C simulation and fxsim disagree on {v.mismatches} of {v.compared} output codes")
    goal = sel.holdout_threshold if held else sel.threshold
    if v.metric_csim < goal:
        sel.notes.append(f"on the {v.n_samples} samples simulated in C the metric {v.metric_csim:.4f} is below "
                         f"the target {goal:.4f}")
    return v


def build_selection(study, sel, out, name: str, *, backend="Vivado", part=None, clock_period=None, device=None,
                    samples: int | None = None, progress: bool = False):
    """``fxsim build`` of the selected configuration on the held-out samples (or the search samples)."""
    from fxsim.project import DEFAULT_CLOCK, DEFAULT_PART, build

    x, y = (study.x_holdout, study.y_holdout) if study.x_holdout is not None else (study.x, study.y)
    x, y = (x, y) if samples is None else (x[:samples], y[:samples])
    r = build(study.model, sel.config, x, y, out=out, backend=backend, part=part or DEFAULT_PART,
              clock_period=clock_period or DEFAULT_CLOCK, device=device, progress=progress, name=name,
              **study.options)
    sel.verification = verification_from_build(r, study, sel)
    return r


def run(args: argparse.Namespace) -> int:
    """``fxsim scan``; with ``--scheduler``/``--workers`` the evaluations run on a Dask cluster."""
    if args.scheduler and args.workers is not None:
        raise ValueError("give --scheduler ADDRESS (an existing cluster) or --workers N (a local one), not both")
    if (args.finetune_at or args.finetune_requantize) and not args.finetune:
        raise ValueError("--finetune-at and --finetune-requantize only apply with --finetune")
    if args.finetune:
        return _finetune_scan(args)
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
    from fxsim.analysis.objective import CostModel, objective
    from fxsim.analysis.pipeline import bits_curve, diagnose, select_bits
    from fxsim.analysis.report import write_report
    from fxsim.cli.build import print_result, read_device
    from fxsim.cli.diagnose import make_study
    from fxsim.project import DEFAULT_PART, _check_clock

    if not 0.0 < args.target <= 1.0:
        raise ValueError(f"--target must be the fraction of the float metric to keep, in (0, 1] (e.g. 0.95 or 0.99); "
                         f"got {args.target:g}")
    if not 0.0 <= args.holdout < 1.0:
        raise ValueError(f"--holdout must be in [0, 1), got {args.holdout}")
    _check_clock(args.clock)
    device = read_device(argparse.Namespace(device_resources=args.device_resources, part=args.part or DEFAULT_PART))
    study, name = make_study(args, holdout=args.holdout)
    if attach is not None:
        attach(study)
    costs = CostModel(study, args.part or DEFAULT_PART, args.clock, device)
    obj = objective(args.objective, study, costs)
    out = Path(args.out) if args.out else Path("runs") / "scan" / name
    sel = select_bits(study, args.target, obj, max_fractional=args.max_fractional,
                      search=not args.uniform_only, verify=not args.no_verify and not args.build,
                      verify_samples=args.verify_samples, fresh_build=not args.cached_build,
                      max_evaluations=args.max_evaluations)
    estimates = {}
    if sel.point is not None:
        estimates = {"best uniform": costs.estimate(sel.uniform.point), "selected": costs.estimate(sel.point)}
    misfit = fit_failure(estimates["selected"]) if args.part and estimates else None
    built = None
    if args.build and sel.point is not None and misfit is None:
        built = build_selection(study, sel, args.build, name, backend=args.backend, part=args.part,
                                clock_period=args.clock, device=device, samples=args.verify_samples,
                                progress=not args.quiet)
    curve = [] if args.no_curve else bits_curve(study, qkeras_samples=args.qkeras_samples)
    diag = diagnose(study, sel.point, curve=False) if args.diagnose and sel.point is not None else None
    files = write_report(out, study, diagnosis=diag, selection=sel, curve=curve, title=f"fxsim scan: {name}",
                         meta={"model": args.model, "data": args.data, "base precision": args.precision,
                               "target": args.target, "objective": args.objective,
                               "part": f"{args.part or DEFAULT_PART} at {args.clock:g} ns"},
                         costs=costs, estimates=estimates)
    print(f"{name}:")
    print("\n".join(summary_lines(study, sel)))
    print("\n".join(estimate_lines(estimates)))
    print(f"report: {files[0]} ({len(files)} files)")
    if built is not None:
        print(f"build of the selection: {built.out}")
        print_result(built)
    if sel.point is None:
        return 1
    if misfit is not None:
        print(f"fxsim scan: error: {misfit}", file=sys.stderr)
        return 1
    v = sel.verification
    return 1 if v is not None and not v.ok else 0
