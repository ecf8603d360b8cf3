"""``fxsim evaluate MODEL --precision SPEC --data FILE.npz [--labels KEY] [--json OUT]``.

``MODEL`` is a ``.h5``/``.keras`` file or the name of a shipped zoo model (e.g.
``toptag_gru_q8i2``); with a zoo model and a dataset written by ``fxsim data``, the
test inputs are rescaled to the scaling the model was trained with and its labels used.
Prints the float / QKeras / hardware metrics table and the conversion doctor's
findings; ``--json`` writes the same machine-readably (atomically: nothing is
written when the evaluation fails). ``SPEC`` is a type string
(``"ap_fixed<9,3>"``), ``none`` (QKeras quantizers, hls4ml defaults), inline JSON
(a per-layer dict or a complete hls4ml config), or a path to a ``.json`` file
holding one. Exit status: 0 evaluated, 2 bad input, 3 refused by the doctor.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from fxsim.cli.common import (  # noqa: F401 (parse_spec, load_arrays, resolve_model: other commands import them here)
    add_model_arguments,
    hls4ml_options,
    load_arrays,
    load_data,
    parse_spec,
    resolve_model,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="hardware accuracy of a Keras/QKeras model at a precision, with the conversion doctor",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    add_model_arguments(p, "Keras/QKeras model (.h5 or .keras) or a zoo model name, e.g. toptag_gru_q8i2",
                        "ap_fixed<9,3>")
    p.add_argument("--data", required=True, metavar="FILE.npz", help="inputs (and optionally labels) as .npz")
    p.add_argument("--inputs", metavar="KEY",
                   help="array of inputs in the .npz (default: x, x_test, or the only array); KEY,KEY,... "
                        "for a module with initial-state inputs, e.g. x,h0")
    p.add_argument("--labels", metavar="KEY", help="array of labels in the .npz (none: outputs are compared only)")
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON to OUT")
    p.add_argument("--max-samples", type=int, metavar="N", help="evaluate only the first N samples")
    p.add_argument("--batch-size", type=int, default=8192, metavar="N", help="samples per batch (default 8192)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fxsim.doctor import ConversionRefused
    from fxsim.evaluate import evaluate

    precision = parse_spec(args.precision)
    model, _, zoo_name = resolve_model(args.model)
    options = hls4ml_options(args)
    keys = args.inputs.split(",") if args.inputs else [None]
    x, y = load_data(args.data, keys[0], args.labels, zoo_name, max_samples=args.max_samples)
    if len(keys) > 1:  # initial-state inputs: x, h0[, c0] from the same file
        x = [x] + [load_arrays(args.data, key, None)[0][:len(x)] for key in keys[1:]]
    if args.json and not Path(args.json).parent.exists():
        raise FileNotFoundError(f"--json: folder {str(Path(args.json).parent)!r} does not exist")
    try:
        result = evaluate(model, precision, x, y, batch_size=args.batch_size,
                          progress=not args.no_progress, **options)
    except ConversionRefused as err:
        print(str(err), file=sys.stderr)
        if args.json:
            _write_refusal(args.json, args.model, precision, err)
        return 3
    print(result.table())
    if args.json:
        result.to_json(args.json)
        print(f"wrote {args.json}")
    return 0


def _write_refusal(path: str, model: str, precision: Any, err: Any) -> None:
    """A refusal is a result too: write the findings so scripts can read why."""
    from fxsim.jsonio import write_json

    write_json(path, {"model": str(model), "precision": precision, "refused": True, "message": str(err),
                      "findings": err.diagnosis.to_list()})
