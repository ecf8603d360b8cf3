"""``fxsim train``: float training and QAT of the seed study's models.

Examples::

    fxsim train toptag --data data/toptag-hls4ml-n40000-seed1.npz --arch gru lstm --bits 6 8 10 --int-bits 2
    fxsim train btag --n 3000 --fast --arch gru --scan          # generate (cached), then the seed scan
"""

from __future__ import annotations

import argparse
from pathlib import Path

TASKS = ("toptag", "btag", "quickdraw")
SCAN_INT_BITS = (0, 2, 4)
SCAN_FRAC_BITS = (3, 5, 7, 9)


def register(subparsers) -> None:
    """Add the ``train`` sub-command."""
    p = subparsers.add_parser(
        "train",
        help="train float and QKeras (QAT) models of the seed study",
        description="Train the float model and QKeras models at total bits = integer + fractional + 1, "
        "with early stopping; metrics go to <out>/metrics.json and a table in <out>/README.md.",
    )
    p.add_argument("task", choices=TASKS)
    src = p.add_argument_group("data (a file, or generate one through the cache)")
    src.add_argument("--data", type=Path, default=None, help=".npz written by `fxsim data`")
    src.add_argument("--n", type=int, default=None, help="generate this many examples instead of --data")
    src.add_argument("--preset", default=None, help="generator preset (as for `fxsim data`)")
    src.add_argument("--fast", action="store_true", help="jets: multiple parton interactions off")
    src.add_argument("--data-seed", type=int, default=0, help="generator seed (default 0)")
    q = p.add_argument_group("models and quantization")
    q.add_argument("--arch", nargs="+", default=["gru"], choices=("gru", "lstm", "cnnlstm"),
                   help="recurrent layer(s); cnnlstm: QuickDraw's Conv1D+LSTM")
    q.add_argument("--bits", type=int, nargs="*", default=[], help="QAT total bits (with --int-bits)")
    q.add_argument("--frac-bits", type=int, nargs="*", default=[], help="QAT fractional bits (total = int + frac + 1)")
    q.add_argument("--int-bits", type=int, nargs="*", default=None, help="QAT integer bits (default 2; scan: 0 2 4)")
    q.add_argument("--scan", action="store_true",
                   help="the seed scan: integer bits {0,2,4} x fractional bits {3,5,7,9}")
    q.add_argument("--recipe", default="default", choices=("default", "seed"),
                   help="default: hls4ml-buildable quantizers; seed: the seed study's (auto_po2, hard activations)")
    q.add_argument("--qat-init", default="float", choices=("float", "scratch"),
                   help="start QAT from float weights or not")
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=60)
    t.add_argument("--patience", type=int, default=6, help="early stopping patience (epochs)")
    t.add_argument("--batch-size", type=int, default=256)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--seed", type=int, default=0, help="training seed")
    t.add_argument("--out", type=Path, default=None, help="output folder (default runs/train/<task>)")
    t.add_argument("--quiet", action="store_true", help="one line per model, no per-epoch log")
    p.set_defaults(func=run)


def quant_widths(args: argparse.Namespace) -> list[tuple[int, int]]:
    """(total bits, integer bits) pairs requested on the command line."""
    if args.bits and args.frac_bits:
        raise ValueError("give either --bits (total) or --frac-bits, not both")
    ints = args.int_bits if args.int_bits is not None else (list(SCAN_INT_BITS) if args.scan else [2])
    fracs = args.frac_bits or (list(SCAN_FRAC_BITS) if args.scan and not args.bits else [])
    widths = []
    for i in ints:
        if i < 0:
            raise ValueError(f"--int-bits must be ≥ 0, got {i}")
        widths += [(b, i) for b in args.bits]
        widths += [(i + f + 1, i) for f in fracs]
    for b, i in widths:
        if b < i + 1:
            raise ValueError(f"{b} total bits cannot hold {i} integer bits and a sign bit")
    return widths


def run(args: argparse.Namespace) -> int:
    """Load or generate the data, then train and record every model."""
    widths = quant_widths(args)
    if (args.data is None) == (args.n is None):
        raise ValueError("give exactly one of --data FILE or --n N")
    from fxsim.models.architectures import Quant
    from fxsim.models.datasets.common import Dataset
    from fxsim.models.train import FitConfig, task_of, train_models

    if args.data is not None:
        data = Dataset.load(args.data)
    else:
        data = _generate(args)
    task = task_of(data)
    if task != args.task:
        raise ValueError(f"the data are for {task}, not {args.task}")
    cfg = FitConfig(
        epochs=args.epochs, patience=args.patience, batch_size=args.batch_size, lr=args.lr,
        seed=args.seed, verbose=0 if args.quiet else 2,
    )
    out = args.out or Path("runs") / "train" / args.task
    rows = train_models(data, args.arch, [Quant(b, i) for b, i in widths], out, args.recipe, cfg, args.qat_init)
    print(f"wrote {len(rows)} models, metrics.json and README.md table to {out}")
    return 0


def _generate(args: argparse.Namespace):
    if args.n <= 0:
        raise ValueError(f"--n must be positive, got {args.n}")
    if args.task == "toptag":
        from fxsim.models.datasets import toptag

        return toptag.generate(args.n, preset=args.preset or "hls4ml", seed=args.data_seed, fast=args.fast)
    if args.task == "btag":
        from fxsim.models.datasets import btag

        return btag.generate(args.n, preset=args.preset or "ttbar13", seed=args.data_seed, fast=args.fast)
    from fxsim.models.datasets import quickdraw

    if args.preset not in (None, "procedural"):
        raise ValueError(f"unknown preset {args.preset!r} for quickdraw; valid presets: procedural")
    return quickdraw.generate(args.n, seed=args.data_seed)
