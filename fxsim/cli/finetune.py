"""``fxsim finetune MODEL --precision SPEC --data FILE.npz --out DIR``.

Fine-tunes the model through hls4ml's exact fixed-point arithmetic at ``SPEC``
(:func:`fxsim.finetune`) and writes ``DIR/model.h5`` (same architecture and quantizers),
``DIR/hls_config.json`` (the precision to convert it with), ``DIR/report.json`` and the
training curve ``DIR/training_curve.png``/``.pdf``. ``MODEL`` is a ``.h5`` file or a
zoo model name. With a dataset written by ``fxsim data`` the train split trains and
the test split validates (a zoo model's inputs rescaled as it was trained); with any
other ``.npz``, ``--inputs``/``--labels`` (default ``x``/``y``) are split by
``--validation-split``. Exit status: 0 done, 2 bad input, 3 refused by the doctor or
not expressible in the exact training graph.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "finetune",
        help="fine-tune a model through hls4ml's exact fixed-point arithmetic",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("model", help="Keras/QKeras model (.h5) or a zoo model name, e.g. toptag_gru_q8i2")
    p.add_argument("--precision", required=True, metavar="SPEC",
                   help="type string (e.g. 'ap_fixed<8,3>'), 'none', inline JSON, or a .json file")
    p.add_argument("--data", required=True, metavar="FILE.npz", help="an fxsim dataset, or arrays in an .npz")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the model, config and report")
    p.add_argument("--inputs", metavar="KEY", help="array of inputs (plain .npz; default x)")
    p.add_argument("--labels", metavar="KEY", help="array of labels (plain .npz; default y)")
    p.add_argument("--validation-split", type=float, default=0.2, metavar="F",
                   help="fraction held out for validation from a plain .npz (default 0.2)")
    p.add_argument("--max-samples", type=int, metavar="N", help="train on the first N samples only")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=1, help="TensorFlow threads (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _data(args: argparse.Namespace, zoo_name: str | None):
    from fxsim.cli.evaluate import load_arrays

    with np.load(args.data, allow_pickle=False) as z:
        files = set(z.files)
    if {"x_train", "y_train", "x_test", "y_test", "settings"} <= files and args.inputs is None:
        from fxsim.models.datasets.common import Dataset

        data = Dataset.load(args.data)
        if zoo_name:
            from fxsim.models import zoo

            x, y = zoo.prepare_inputs(zoo_name, data, split="train")
            xv, yv = zoo.prepare_inputs(zoo_name, data, split="test")
        else:
            x, y, xv, yv = data.x_train, data.y_train, data.x_test, data.y_test
    else:
        x, y = load_arrays(args.data, args.inputs or ("x" if "x" in files else None), args.labels or "y")
        if not 0.0 < args.validation_split < 1.0:
            raise ValueError("--validation-split must lie in (0, 1)")
        n_val = max(1, int(round(len(x) * args.validation_split)))
        x, y, xv, yv = x[:-n_val], y[:-n_val], x[-n_val:], y[-n_val:]
    if args.max_samples is not None:
        if args.max_samples < 1:
            raise ValueError("--max-samples must be positive")
        x, y = x[:args.max_samples], y[:args.max_samples]
    return x, y, xv, yv


def run(args: argparse.Namespace) -> int:
    from fxsim.cli.evaluate import parse_spec, resolve_model

    precision = parse_spec(args.precision)
    model, name, zoo_name = resolve_model(args.model)
    if not Path(args.data).exists():
        raise FileNotFoundError(f"--data: no file {args.data!r}")
    x, y, xv, yv = _data(args, zoo_name)
    if args.threads < 1:
        raise ValueError("--threads must be positive")
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    from fxsim.doctor import ConversionRefused
    from fxsim.finetuning import finetune
    from fxsim.finetuning.graph import GraphError

    try:
        result = finetune(model, precision, x, y, validation=(xv, yv), epochs=args.epochs,
                          batch_size=args.batch_size, learning_rate=args.learning_rate,
                          progress=not args.no_progress)
    except (ConversionRefused, GraphError) as err:
        print(f"fxsim finetune: {name}: {err}", file=sys.stderr)
        return 3
    paths = result.save(args.out)
    print(result.summary())
    for key, path in paths.items():
        print(f"wrote {key}: {path}")
    return 0
