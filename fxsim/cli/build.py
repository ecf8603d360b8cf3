"""``fxsim build MODEL (--precision SPEC | --config FILE.yml) --data FILE.npz --out DIR``: the verified hls4ml project.

Writes the hls4ml project of exactly that configuration into ``DIR/hls4ml_prj``,
compiles its C simulation (hls4ml's own g++ build), runs it on the data and
compares every output code with fxsim's; writes ``estimate.json`` (fxsim's cost
estimate for ``--part`` at ``--clock``), ``build.json`` and ``summary.md`` beside
it. ``--synth`` then runs hls4ml's vendor build (``vivado_hls`` / ``vitis-run``)
when the tool is on PATH and puts its reports beside the estimate. Exit status:
0 verified (and synthesized with ``--synth``), 1 output codes differ, 2 bad input
(nothing written), 3 refused by the conversion doctor, 4 ``--synth`` without the
vendor tool (the verified project is written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np


def register(sub: argparse._SubParsersAction) -> None:
    from fxsim.project import DEFAULT_CLOCK, DEFAULT_PART

    p = sub.add_parser("build", help="write, compile and verify the hls4ml project of a configuration; "
                                     "cost estimate; vendor synthesis with --synth",
                       description=__doc__.split("\n\n")[1] if __doc__ else None)
    p.add_argument("model", help="Keras/QKeras model (.h5 or .keras) or a zoo model name, e.g. toptag_gru_q8i2")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--precision", metavar="SPEC",
                       help="type string (e.g. 'ap_fixed<16,6>'), 'none', inline JSON, or a .json file")
    which.add_argument("--config", metavar="FILE.yml",
                       help="complete hls4ml configuration (YAML or JSON), e.g. a scan's selected_config.yml")
    p.add_argument("--data", required=True, metavar="FILE.npz", help="inputs (and optionally labels) as .npz")
    p.add_argument("--inputs", metavar="KEY", help="array of inputs in the .npz (default: x, x_test, ...)")
    p.add_argument("--labels", metavar="KEY", help="array of labels in the .npz (default: y or y_test when present)")
    p.add_argument("--max-samples", type=int, metavar="N", help="run only the first N samples")
    p.add_argument("--out", required=True, metavar="DIR", help="build folder (created)")
    p.add_argument("--backend", choices=["Vivado", "Vitis"], default="Vivado", help="hls4ml backend (default Vivado)")
    p.add_argument("--part", default=DEFAULT_PART, help=f"FPGA part (default {DEFAULT_PART})")
    p.add_argument("--clock", type=float, default=DEFAULT_CLOCK, metavar="NS",
                   help=f"clock period in ns (default {DEFAULT_CLOCK:g})")
    p.add_argument("--device-resources", metavar="LUT,FF,DSP,BRAM_18K",
                   help="the resources of a part fxsim does not know (as fxsim estimate takes them)")
    p.add_argument("--strategy", choices=["Latency", "Resource"], help="hls4ml strategy for every layer")
    p.add_argument("--reuse-factor", type=int, metavar="R", help="hls4ml reuse factor for every layer")
    p.add_argument("--synth", action="store_true", help="also run hls4ml's vendor build (needs vivado_hls / vitis-run)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def read_config(path: str) -> dict:
    """A complete hls4ml configuration (``Model`` section) from a YAML or JSON file."""
    import yaml

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"--config: no file {path!r}")
    try:
        config = yaml.safe_load(p.read_text())  # JSON is YAML
    except yaml.YAMLError as err:
        raise ValueError(f"--config: {path} is not valid YAML/JSON ({err})") from None
    if not isinstance(config, dict) or "Model" not in config:
        raise ValueError(f"--config: {path} is not a complete hls4ml configuration (no 'Model' section); "
                         "give a per-layer spec with --precision instead")
    return config


def read_device(args: argparse.Namespace) -> Any:
    """``--device-resources`` as a :class:`fxsim.cost.Device` named after ``--part`` (None when not given)."""
    if getattr(args, "device_resources", None) is None:
        return None
    from fxsim.cost import parse_resources

    return parse_resources(args.device_resources, name=args.part)


def model_and_data(args: argparse.Namespace) -> tuple[Any, str, np.ndarray, np.ndarray | None]:
    """Model, name, inputs and (optional) labels; labelled data go through ``diagnose``'s reader (zoo rescaling)."""
    from fxsim.cli.diagnose import _model_and_data
    from fxsim.cli.evaluate import load_arrays

    data = Path(args.data)
    if not data.exists():
        raise FileNotFoundError(f"--data: no file {args.data!r}")
    with np.load(data, allow_pickle=False) as z:
        labelled = args.labels is not None or any(k in z.files for k in ("y", "y_test"))
    if labelled:
        return _model_and_data(args)
    model, name = args.model, Path(args.model).stem
    if not Path(args.model).exists():
        from fxsim.models import zoo

        if args.model not in zoo.names():
            raise FileNotFoundError(f"no model file {args.model!r}, and no zoo model of that name "
                                    f"(zoo: {', '.join(zoo.names())})")
        model, name = zoo.load(args.model), args.model
    x, _ = load_arrays(args.data, args.inputs, None)
    if args.max_samples is not None:
        if args.max_samples < 1:
            raise ValueError("--max-samples must be positive")
        x = x[: args.max_samples]
    return model, name, x, None


def options(args: argparse.Namespace) -> dict:
    out: dict[str, Any] = {}
    if getattr(args, "strategy", None):
        out["strategy"] = args.strategy
    if getattr(args, "reuse_factor", None) is not None:
        out["reuse_factor"] = args.reuse_factor
    return out


def print_result(r: Any) -> None:
    """The build log: the estimate, the project, the check, the files."""
    e = r.estimate
    print(f"  estimate ({r.part}, {r.clock_period:g} ns): LUT {e.lut:,.0f}, FF {e.ff:,.0f}, DSP {e.dsp:,.0f}, "
          f"BRAM_18K {e.bram_18k:,.0f}, latency {e.latency_cycles:,.0f} cycles ({e.latency_ns:,.0f} ns), "
          f"II {e.interval_cycles:,.0f}; EBOPs {e.ebops:,.0f}")
    print(f"  project {r.project} (hls4ml {r.backend} backend), compiled with g++ in {r.compile_s:.1f} s")
    print(f"  {r.check_line()}")
    if r.metrics:
        f, c = r.metrics["fxsim"], r.metrics["csim"]
        auc = f" AUC fxsim {f['auc']:.4f}, C simulation {c['auc']:.4f};" if f.get("auc") is not None else ""
        print(f" {auc} accuracy fxsim {f['accuracy']:.4f}, C simulation {c['accuracy']:.4f}")
    for s, i, a, b in r.first_mismatches[:5]:
        print(f"    sample {s} output {i}: fxsim code {a}, C simulation code {b}")
    print(f"  synthesis: {r.synthesis_status}")
    print(f"  wrote {', '.join(p.name for p in r.files if p.is_file())} in {r.out}")


def run(args: argparse.Namespace) -> int:
    from fxsim.cli.evaluate import parse_spec
    from fxsim.doctor import ConversionRefused
    from fxsim.project import SynthesisUnavailable, build

    precision = read_config(args.config) if args.config else parse_spec(args.precision)
    device = read_device(args)
    model, name, x, y = model_and_data(args)
    print(f"fxsim build: {name} -> {args.out}")
    try:
        r = build(model, precision, x, y, out=args.out, backend=args.backend, part=args.part,
                  clock_period=args.clock, device=device, synth=args.synth, progress=not args.quiet, name=name,
                  **options(args))
    except ConversionRefused as err:
        print(str(err), file=sys.stderr)
        return 3
    except SynthesisUnavailable as err:
        print_result(err.result)
        print(f"fxsim build: error: {err}", file=sys.stderr)
        return 4
    print_result(r)
    if not r.ok:
        return 1
    return 0 if not args.synth or r.synthesis_status == "done" else 4
