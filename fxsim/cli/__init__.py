"""The ``fxsim`` command line.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func``. Modules
are imported only when the command line starts, so ``import fxsim`` stays
light.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings

# order = order in ``fxsim --help``
COMMANDS = ("demo", "evaluate", "data", "train", "diagnose", "scan", "estimate", "build", "finetune")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fxsim",
        description="Bit-accurate hls4ml fixed-point emulation: hardware accuracy before synthesis.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"fxsim.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"fxsim.cli.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def quiet_frameworks() -> None:
    """Keep TensorFlow/Keras chatter out of the command line's output.

    Converting a QKeras model makes Keras warn once per quantizer that it is not a
    ``Constraint`` (harmless: hls4ml reads the quantizer config), and repeated
    ``predict`` calls on models of different configurations log tf.function retracing.
    Neither says anything about the user's model, and together they bury the results.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", message=r"The `keras\.constraints\.serialize\(\)` API", category=UserWarning)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    quiet_frameworks()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    # ImportError: a front-end whose framework lives in the other environment says which one to use
    except (ValueError, FileNotFoundError, RuntimeError, ImportError) as err:
        print(f"fxsim {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
