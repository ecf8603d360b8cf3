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
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="hardware accuracy of a Keras/QKeras model at a precision, with the conversion doctor",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("model", help="Keras/QKeras model (.h5 or .keras) or a zoo model name, e.g. toptag_gru_q8i2")
    p.add_argument("--precision", required=True, metavar="SPEC",
                   help="type string (e.g. 'ap_fixed<9,3>'), 'none', inline JSON, or a .json file")
    p.add_argument("--data", required=True, metavar="FILE.npz", help="inputs (and optionally labels) as .npz")
    p.add_argument("--inputs", metavar="KEY",
                   help="array of inputs in the .npz (default: x, x_test, or the only array)")
    p.add_argument("--labels", metavar="KEY", help="array of labels in the .npz (none: outputs are compared only)")
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON to OUT")
    p.add_argument("--max-samples", type=int, metavar="N", help="evaluate only the first N samples")
    p.add_argument("--batch-size", type=int, default=8192, metavar="N", help="samples per batch (default 8192)")
    p.add_argument("--strategy", choices=["Latency", "Resource"], help="hls4ml strategy for every layer")
    p.add_argument("--reuse-factor", type=int, metavar="R", help="hls4ml reuse factor for every layer")
    p.add_argument("--backend", choices=["Vivado", "Vitis"], help="hls4ml backend (default Vivado)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def parse_spec(text: str) -> Any:
    """The precision spec from the command line: 'none', a type, inline JSON or a JSON file."""
    stripped = text.strip()
    if stripped.lower() in ("none", "auto", "qkeras"):
        return None
    if stripped.startswith("{"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as err:
            raise ValueError(f"--precision: invalid JSON ({err})") from None
    if stripped.endswith(".json"):
        path = Path(stripped)
        if not path.exists():
            raise FileNotFoundError(f"--precision: no file {stripped!r}")
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"--precision: {stripped} is not valid JSON ({err})") from None
    return stripped


def load_arrays(path: str, inputs: str | None, labels: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Inputs and labels from an ``.npz``; missing keys raise naming the keys that exist."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"--data: no file {path!r}")
    try:
        npz = np.load(p, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f"--data: cannot read {path!r} as .npz ({err})") from None
    with npz:
        keys = list(npz.files)
        if inputs is None:
            numeric = [k for k in keys if npz[k].dtype.kind in "fiu" and npz[k].ndim >= 2]
            inputs = next((k for k in ("x", "X", "x_test") if k in keys), numeric[0] if len(numeric) == 1 else None)
            if inputs is None:
                raise ValueError(f"--data: cannot tell which array holds the inputs; pass --inputs (arrays: {keys})")
        for key, what in ((inputs, "--inputs"), (labels, "--labels")):
            if key is not None and key not in keys:
                raise ValueError(f"{what}: no array {key!r} in {path} (arrays: {', '.join(keys)})")
        x = npz[inputs]
        y = npz[labels] if labels is not None else None
    return x, y


def resolve_model(text: str) -> tuple[Any, str, str | None]:
    """``(model, display name, zoo name or None)`` for a model file path or a zoo model name."""
    path = Path(text)
    if path.exists():
        return str(path), path.stem, None
    if path.suffix in (".h5", ".hdf5", ".keras") or "/" in text:
        raise FileNotFoundError(f"model file {text!r} does not exist")
    from fxsim.models import zoo

    if text not in zoo.names():
        raise FileNotFoundError(f"no model file {text!r}, and no zoo model of that name "
                                f"(zoo: {', '.join(zoo.names())})")
    return zoo.load(text), text, text


def load_data(path: str, inputs: str | None, labels: str | None, zoo_name: str | None = None,
              need_labels: bool = False, max_samples: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Inputs and labels for a command: a zoo model's rescaled test split of an ``fxsim data`` dataset,
    or the named (or usual: x/x_test, y/y_test) arrays of any ``.npz``; the first ``max_samples`` only."""
    data = Path(path)
    if not data.exists():
        raise FileNotFoundError(f"--data: no file {path!r}")
    if max_samples is not None and max_samples < 1:
        raise ValueError("--max-samples must be positive")
    with np.load(data, allow_pickle=False) as z:
        files = set(z.files)
    if zoo_name and {"x_test", "y_test", "settings"} <= files and inputs is None and labels is None:
        from fxsim.models import zoo
        from fxsim.models.datasets.common import Dataset

        x, y = zoo.prepare_inputs(zoo_name, Dataset.load(data), split="test")
    else:
        if labels is None and (need_labels or zoo_name):
            labels = next((k for k in ("y", "y_test") if k in files), None)
            if labels is None and need_labels:
                raise ValueError(f"--labels: cannot tell which array of {path} holds the labels; pass --labels")
        x, y = load_arrays(path, inputs, labels)
    if max_samples is not None:
        x, y = x[:max_samples], (y[:max_samples] if y is not None else None)
    return x, y


def run(args: argparse.Namespace) -> int:
    from fxsim.doctor import ConversionRefused
    from fxsim.evaluate import evaluate

    precision = parse_spec(args.precision)
    model, _, zoo_name = resolve_model(args.model)
    x, y = load_data(args.data, args.inputs, args.labels, zoo_name, max_samples=args.max_samples)
    if args.json and not Path(args.json).parent.exists():
        raise FileNotFoundError(f"--json: folder {str(Path(args.json).parent)!r} does not exist")
    options = {}
    if args.strategy:
        options["strategy"] = args.strategy
    if args.reuse_factor is not None:
        options["reuse_factor"] = args.reuse_factor
    if args.backend:
        options["backend"] = args.backend
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
