"""Benchmark: one fine-tuning epoch over 30,000 top-tagging jets (issue 13's speed target, <= 60 s on 2 cores).

Times :func:`fxsim.finetune` on the shipped ``toptag_gru_q8i2`` at uniform
``ap_fixed<8,3>``: ``--epochs`` epochs (default 3) over ``--jets`` jets (default
30,000), batch 256, TensorFlow on ``--threads`` threads (default 2), and prints the
median epoch time (the first step's graph tracing is excluded and printed apart).
The epoch time depends on the number of jets, not their values, so the jets are
the training split of the cached 16,000-jet set (``toptag.generate(16000, seed=21)``)
repeated to ``--jets``. Not a timed test: it prints measured seconds.

Run::

    .venv/bin/python benchmarks/bench_finetune.py [--threads 2] [--jets 30000] [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODEL = "toptag_gru_q8i2"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--jets", type=int, default=30000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--precision", default="ap_fixed<8,3>")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    from fxsim.finetuning import finetune
    from fxsim.models import zoo
    from fxsim.models.datasets import toptag

    data = toptag.generate(16000, seed=21, workers=1)
    x, y = zoo.prepare_inputs(MODEL, data, "train")
    reps = -(-args.jets // len(x))
    x, y = np.concatenate([x] * reps)[:args.jets], np.concatenate([y] * reps)[:args.jets]
    t = time.perf_counter()
    ft = finetune(zoo.load(MODEL), args.precision, x, y, epochs=args.epochs, batch_size=args.batch_size,
                  progress=sys.stderr.isatty(), evaluate_before_after=False)
    wall = time.perf_counter() - t
    epochs = [h["seconds"] for h in ft.history]
    row = {"model": MODEL, "precision": args.precision, "jets": args.jets, "threads": args.threads,
           "batch_size": args.batch_size, "epoch_seconds": epochs, "median_epoch_seconds": float(np.median(epochs)),
           "trace_seconds": ft.seconds.get("trace"), "wall_seconds": wall, "target_seconds": 60.0}
    print(f"{MODEL} at {args.precision}: epoch over {args.jets:,} jets, {args.threads} thread(s): "
          f"median {row['median_epoch_seconds']:.1f} s of {', '.join(f'{s:.1f}' for s in epochs)} "
          f"(first-step tracing {row['trace_seconds']:.1f} s apart); target 60 s -> "
          f"x{row['median_epoch_seconds'] / 60.0:.2f} of the target")
    if args.json:
        Path(args.json).write_text(json.dumps(row, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
