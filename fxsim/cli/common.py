"""What the model commands share: the model / precision / hls4ml-option arguments and their parsing.

``fxsim evaluate`` and ``fxsim estimate`` (and ``diagnose``, ``build``, ``finetune`` through
the names :mod:`fxsim.cli.evaluate` re-exports) take a model the same way: a Keras/QKeras
``.h5``/``.keras`` file, a zoo model name, or a PyTorch module saved whole with
``torch.save(module, path)`` (``.pt``/``.pth``; hls4ml traces its Python ``forward`` with
``torch.fx``, so not a ``state_dict`` and not TorchScript; its class must be importable)
with ``--input-shape``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

#: What ``--input-shape`` says in every command's help.
INPUT_SHAPE_HELP = (
    "PyTorch modules only (required there): the input shape without the batch axis, 'T,F' (time steps, "
    "features); repeat it for initial-state inputs, e.g. --input-shape 20,3 --input-shape 8 for "
    "forward(x, h0) of a GRU with 8 units. The module file is torch.save(module, path) of the whole module "
    "(its class importable), not a state_dict or TorchScript"
)


def add_model_arguments(p: argparse.ArgumentParser, model_help: str, precision_example: str) -> None:
    """The model, ``--precision``, ``--input-shape`` and the hls4ml option arguments."""
    p.add_argument("model", help=model_help + "; or a PyTorch module saved with torch.save(module, 'm.pt') "
                                              "(with --input-shape)")
    p.add_argument("--precision", required=True, metavar="SPEC",
                   help=f"type string (e.g. '{precision_example}'), 'none', inline JSON, or a .json file")
    p.add_argument("--input-shape", action="append", metavar="T,F", help=INPUT_SHAPE_HELP)
    p.add_argument("--strategy", choices=["Latency", "Resource"], help="hls4ml strategy for every layer")
    p.add_argument("--reuse-factor", type=int, metavar="N", help="hls4ml reuse factor for every layer")
    p.add_argument("--backend", choices=["Vivado", "Vitis"], help="hls4ml backend (default Vivado)")


def parse_input_shape(values: list[str] | None) -> Any:
    """``--input-shape`` values → ``(T, F)``, or a list of shapes with initial-state inputs (None: not given)."""
    if not values:
        return None
    shapes = []
    for text in values:
        try:
            dims = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
        except ValueError:
            dims = ()
        if not dims or any(d < 1 for d in dims):
            raise ValueError(f"--input-shape {text!r}: expected positive integers separated by commas, e.g. 20,3")
        shapes.append(dims)
    return shapes[0] if len(shapes) == 1 else shapes


def hls4ml_options(args: argparse.Namespace) -> dict[str, Any]:
    """The hls4ml options of :func:`add_model_arguments` (and ``input_shape``) that were given."""
    if args.reuse_factor is not None and args.reuse_factor < 1:
        raise ValueError(f"--reuse-factor must be a positive integer, got {args.reuse_factor}")
    options: dict[str, Any] = {}
    if args.strategy:
        options["strategy"] = args.strategy
    if args.reuse_factor is not None:
        options["reuse_factor"] = args.reuse_factor
    if args.backend:
        options["backend"] = args.backend
    shape = parse_input_shape(getattr(args, "input_shape", None))
    if shape is not None:
        options["input_shape"] = shape
    return options


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
    if path.suffix in (".h5", ".hdf5", ".keras", ".pt", ".pth") or "/" in text:
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
