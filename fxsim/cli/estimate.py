"""``fxsim estimate MODEL --precision SPEC [--part P] [--clock NS] [--strategy S] [--reuse-factor N] [--json OUT]``.

Prints the hardware cost of the hls4ml io_parallel design before synthesis: EBOPs, LUT, FF,
DSP, BRAM_18K, latency and interval per layer and in total, the device utilization, and the
estimate/synthesis ratios measured on the calibration anchors. MODEL is a Keras/QKeras file
or a zoo model name. ``--json`` writes the same machine-readably (nothing is written when
the estimate fails). Exit status: 0 estimated, 2 bad input, 3 refused by the doctor, 4 the
design does not fit the device (with ``--require-fit``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from fxsim.cli.common import add_model_arguments, hls4ml_options, parse_spec, resolve_model


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "estimate",
        help="hardware cost (EBOPs, LUT, FF, DSP, BRAM, latency, II) before synthesis",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    add_model_arguments(p, "Keras/QKeras model (.h5 or .keras) or a zoo model name, e.g. toptag_gru_float",
                        "ap_fixed<16,6>")
    p.add_argument("--part", default="xcu250-figd2104-2L-e", metavar="P",
                   help="FPGA part (default xcu250-figd2104-2L-e)")
    p.add_argument("--device-resources", metavar="LUT,FF,DSP,BRAM_18K",
                   help="resources of a device fxsim does not know (overrides --part's table)")
    p.add_argument("--clock", type=float, default=5.0, metavar="NS", help="clock period in ns (default 5)")
    p.add_argument("--json", metavar="OUT", help="also write the estimate as JSON to OUT")
    p.add_argument("--require-fit", action="store_true", help="exit 4 when the design does not fit the device")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fxsim.cost import estimate, get_device, parse_resources
    from fxsim.doctor import ConversionRefused

    precision = parse_spec(args.precision)
    device = parse_resources(args.device_resources, name=args.part) if args.device_resources else None
    get_device(args.part, device)  # a bad part fails before the model is loaded
    if args.clock <= 0:
        raise ValueError(f"--clock must be a positive number of ns, got {args.clock:g}")
    options = hls4ml_options(args)
    if args.json and not Path(args.json).parent.exists():
        raise FileNotFoundError(f"--json: folder {str(Path(args.json).parent)!r} does not exist")
    model, name, _ = resolve_model(args.model)
    try:
        est = estimate(model, precision, part=args.part, clock_period=args.clock, device=device, **options)
    except ConversionRefused as err:
        print(str(err), file=sys.stderr)
        return 3
    est = _named(est, name)
    print(est.table())
    if args.json:
        est.to_json(args.json)
        print(f"wrote {args.json}")
    if args.require_fit and not est.fits():
        over = ", ".join(f"{k} {100 * v:.0f}%" for k, v in est.utilization().items() if v > 1)
        print(f"fxsim estimate: the design does not fit {est.device.name}: {over}", file=sys.stderr)
        return 4
    return 0


def _named(est: Any, name: str) -> Any:
    import dataclasses

    return dataclasses.replace(est, model_name=name)
