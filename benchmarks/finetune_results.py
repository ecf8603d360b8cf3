"""Hardware-aware fine-tuning results on the shipped top-tagging GRU (issue 13).

For ``toptag_gru_q8i2`` at uniform ``ap_fixed<8,3>`` and ``ap_fixed<6,2>``: the hardware
ROC AUC (fxsim's emulator, bit-exact to hls4ml's C simulation) on held-out test jets
before and after :func:`fxsim.finetune`, against the float model's AUC, and the epoch
time measured here, scaled to 30,000 jets.

Not a timed test: it trains. Run::

    .venv/bin/python benchmarks/finetune_results.py [--epochs 4] [--train 10000] [--quick]

Writes ``runs/finetune/results.json`` and the training curves (PNG and PDF). Data:
``fxsim.models.datasets.toptag.generate`` (cached under ``data/cache``). TensorFlow runs
on ``--threads`` threads (default 1: the machine is shared).
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
OUT = ROOT / "runs" / "finetune"
MODEL = "toptag_gru_q8i2"
PRECISIONS = ("ap_fixed<8,3>", "ap_fixed<6,2>")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jets", type=int, default=16000, help="jets generated (train/test split 75/25)")
    p.add_argument("--seed", type=int, default=21)
    p.add_argument("--train", type=int, default=10000, help="training jets (the rest of the train split validates)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--precision", action="append", help="precision(s) to run (default: both of the issue)")
    p.add_argument("--quick", action="store_true", help="a smoke run: 600 jets, 1 epoch")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    import fxsim
    from fxsim.finetuning import finetune
    from fxsim.models import zoo
    from fxsim.models.datasets import toptag

    if args.quick:
        args.train, args.epochs = 600, 1
    data = toptag.generate(args.jets, seed=args.seed, workers=1)
    x_all, y_all = zoo.prepare_inputs(MODEL, data, "train")
    x_test, y_test = zoo.prepare_inputs(MODEL, data, "test")
    n_val = min(2000, len(x_all) - args.train)
    if n_val < 200:
        raise SystemExit(f"--train {args.train} leaves {n_val} validation jets of {len(x_all)}; lower it")
    x_tr, y_tr = x_all[:args.train], y_all[:args.train]
    x_val, y_val = x_all[args.train:args.train + n_val], y_all[args.train:args.train + n_val]
    if args.quick:
        x_test, y_test = x_test[:1000], y_test[:1000]
    model = zoo.load(MODEL)
    rows = []
    OUT.mkdir(parents=True, exist_ok=True)
    for precision in args.precision or PRECISIONS:
        t = time.perf_counter()
        ft = finetune(model, precision, x_tr, y_tr, validation=(x_val, y_val), epochs=args.epochs,
                      batch_size=args.batch_size, learning_rate=args.lr, progress=sys.stderr.isatty())
        before = fxsim.evaluate(model, ft.hls_config, x_test, y_test, progress=False).metrics
        after = fxsim.evaluate(ft.model, ft.hls_config, x_test, y_test, progress=False).metrics
        epoch_s = [h["seconds"] for h in ft.history]
        per_jet = float(np.median([h["seconds"] / h["samples"] for h in ft.history]))
        row = {
            "model": MODEL, "precision": precision, "train_jets": len(x_tr), "validation_jets": len(x_val),
            "test_jets": len(x_test), "epochs": args.epochs, "best_epoch": ft.best_epoch,
            "float_auc": before["float"]["auc"], "qkeras_auc": before.get("qkeras", {}).get("auc"),
            "hardware_auc_before": before["hardware"]["auc"], "hardware_auc_after": after["hardware"]["auc"],
            "ratio_after_to_float": after["hardware"]["auc"] / before["float"]["auc"],
            "epoch_seconds": epoch_s, "seconds_per_30000_jets": per_jet * 30000,
            "trace_seconds": ft.seconds.get("trace"), "threads": args.threads, "history": ft.history,
            "wall_seconds": time.perf_counter() - t,
        }
        rows.append(row)
        tag = precision.replace("ap_fixed<", "").replace(">", "").replace(",", "_")
        ft.plot(OUT / f"curve_{tag}")
        ft.model.save(OUT / f"{MODEL}_finetuned_{tag}.h5")
        (OUT / f"hls_config_{tag}.json").write_text(json.dumps(ft.hls_config, indent=1, default=str))
        print(f"{precision}: hardware AUC {row['hardware_auc_before']:.4f} -> {row['hardware_auc_after']:.4f} "
              f"(float {row['float_auc']:.4f}, ratio {row['ratio_after_to_float']:.3f}); "
              f"epoch {np.median(epoch_s):.1f} s on {len(x_tr)} jets = {row['seconds_per_30000_jets']:.0f} s per "
              f"30,000 jets ({args.threads} thread(s), shared machine)", flush=True)
        name = "results_quick" if args.quick else "results"
        if args.precision:  # a partial run does not overwrite the full table
            tags = (r["precision"].replace("ap_fixed<", "").replace(">", "").replace(",", "_") for r in rows)
            name += "_" + "_".join(tags)
        (OUT / f"{name}_e{args.epochs}.json" if args.precision else OUT / f"{name}.json").write_text(
            json.dumps(rows, indent=1))
    print()
    print("| precision | float AUC | hardware AUC before | after | after / float | epoch, 30k jets |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['precision']} | {r['float_auc']:.4f} | {r['hardware_auc_before']:.4f} | "
              f"{r['hardware_auc_after']:.4f} | {r['ratio_after_to_float']:.3f} | "
              f"{r['seconds_per_30000_jets']:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
