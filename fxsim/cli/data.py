"""``fxsim data``: generate a benchmark dataset (top tagging, flavour tagging, QuickDraw).

Writes one ``.npz`` with ``x_train, y_train, x_test, y_test, feature_names,
class_names, settings`` and the fitted scaling (``scale_*``). Generation is
cached under ``data/cache`` (or ``$FXSIM_CACHE``), so a rerun with the same
settings is instant.
"""

from __future__ import annotations

import argparse
from pathlib import Path

# presets per generator; kept here (not imported) so `fxsim --help` stays light
PRESETS = {
    "toptag": ("hls4ml", "kasieczka"),
    "btag": ("ttbar13", "ttbar14"),
    "quickdraw": ("procedural",),
}


def register(subparsers) -> None:
    """Add the ``data`` sub-command."""
    p = subparsers.add_parser(
        "data",
        help="generate a benchmark dataset (.npz)",
        description="Generate benchmark data with Pythia 8 (jets) or the procedural sketch generator.",
    )
    p.add_argument("dataset", choices=sorted(PRESETS), help="which benchmark")
    p.add_argument("--n", type=int, default=1000, help="total examples, balanced over classes (default 1000)")
    p.add_argument("--preset", default=None,
                   help="toptag: hls4ml|kasieczka; btag: ttbar13|ttbar14; quickdraw: procedural")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--fast", action="store_true",
                   help="jets: multiple parton interactions off (for tests and quick runs)")
    p.add_argument("--difficulty", type=float, default=None, help="quickdraw: part mixing and noise in [0, 1]")
    p.add_argument("--test-fraction", type=float, default=0.25,
                   help="share of examples in the test split (default 0.25)")
    p.add_argument("--workers", type=int, default=None,
                   help="processes (default: one per core; never changes the data)")
    p.add_argument("--out", type=Path, default=Path("data"), help="output folder (default data/)")
    p.add_argument("--cache-dir", type=Path, default=None, help="cache folder (default data/cache or $FXSIM_CACHE)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def output_name(args: argparse.Namespace, preset: str) -> str:
    """File name that spells out the settings, e.g. ``toptag-hls4ml-n200-seed0-fast.npz``."""
    name = f"{args.dataset}-{preset}-n{args.n}-seed{args.seed}"
    if args.fast:
        name += "-fast"
    if args.difficulty is not None:
        name += f"-d{args.difficulty:g}"
    return name + ".npz"


def run(args: argparse.Namespace) -> int:
    """Validate the arguments, generate (or load from cache) and write the ``.npz``."""
    valid = PRESETS[args.dataset]
    preset = args.preset or valid[0]
    if preset not in valid:
        raise ValueError(f"unknown preset {preset!r} for {args.dataset}; valid presets: {', '.join(valid)}")
    if args.n <= 0:
        raise ValueError(f"--n must be positive, got {args.n}")
    if args.workers is not None and args.workers <= 0:
        raise ValueError(f"--workers must be positive, got {args.workers}")
    if args.difficulty is not None and args.dataset != "quickdraw":
        raise ValueError("--difficulty only applies to quickdraw")
    if args.fast and args.dataset == "quickdraw":
        raise ValueError("--fast only applies to the Pythia generators (toptag, btag)")
    common = dict(
        n=args.n,
        seed=args.seed,
        test_fraction=args.test_fraction,
        workers=args.workers,
        cache_dir=args.cache_dir,
        progress=not args.quiet,
    )
    if args.dataset == "toptag":
        from fxsim.models.datasets import toptag

        data = toptag.generate(preset=preset, fast=args.fast, **common)
    elif args.dataset == "btag":
        from fxsim.models.datasets import btag

        data = btag.generate(preset=preset, fast=args.fast, **common)
    else:
        from fxsim.models.datasets import quickdraw

        difficulty = quickdraw.DEFAULT_DIFFICULTY if args.difficulty is None else args.difficulty
        data = quickdraw.generate(difficulty=difficulty, **common)
    path = data.save(Path(args.out) / output_name(args, preset))
    print(
        f"wrote {path}: x_train {data.x_train.shape}, x_test {data.x_test.shape}, "
        f"features {data.feature_names}, classes {data.class_names}"
    )
    return 0
