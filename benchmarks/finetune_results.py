"""Hardware-aware fine-tuning results (issue 13): a report script, not a timed test.

For each model (default: the top-tagging GRU and LSTM ``q8i2`` and the flavour-tagging
GRU ``btag_gru_q8i2``) on generated jets (cached under ``data/cache``):

1. **Before/after at uniform precisions** (default ``ap_fixed<8,3>`` and
   ``ap_fixed<6,2>``, every type): :func:`fxsim.finetune` on ``--train`` training jets
   (the next ``--val`` pick the best epoch), then the hardware metric of the test jets
   (fxsim's emulator, bit-exact to hls4ml's C simulation) before and after, against the
   float model (AUC; accuracy for the 3-class flavour tagger).
2. **Scan of the fine-tuned model against the scan of the original**
   (:func:`fxsim.analysis.finetune_scan.finetune_scan`, ``--scan``): round 0 is the
   selection of the shipped QKeras QAT model (QKeras QAT + selection), each later round
   fine-tunes one bit below the best uniform width and selects again; total bits,
   average bits per type and EBOPs at ``--target`` x float held out, the kept selection
   confirmed by hls4ml's C simulation on held-out jets.

Run (the sizes used for docs/finetuning.md)::

    .venv/bin/python benchmarks/finetune_results.py --train 3000 --epochs 3 --scan-jets 3000

Writes ``runs/finetune/results.json`` (and per model the training curves, PNG and PDF).
TensorFlow runs on ``--threads`` threads (default 2).
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
MODELS = ("toptag_gru_q8i2", "toptag_lstm_q8i2", "btag_gru_q8i2")
PRECISIONS = ("ap_fixed<8,3>", "ap_fixed<6,2>")


def dataset(name: str):
    """The cached generated set of the model's task (top tagging: 16,000 jets; flavour tagging: 3,000)."""
    from fxsim.models import zoo

    if zoo.info(name)["task"] == "btag":
        from fxsim.models.datasets import btag

        return btag.generate(3000, seed=2)
    from fxsim.models.datasets import toptag

    return toptag.generate(16000, seed=21, workers=1)


def _tag(precision: str) -> str:
    return precision.replace("ap_fixed<", "").replace(">", "").replace(",", "_")


def before_after(name: str, model, x_all, y_all, x_test, y_test, precision: str, args) -> dict:
    import fxsim
    from fxsim.finetuning import finetune

    n_train = min(args.train, len(x_all) - args.val)
    x_tr, y_tr = x_all[:n_train], y_all[:n_train]
    x_val, y_val = x_all[n_train:n_train + args.val], y_all[n_train:n_train + args.val]
    t = time.perf_counter()
    ft = finetune(model, precision, x_tr, y_tr, validation=(x_val, y_val), epochs=args.epochs,
                  batch_size=args.batch_size, learning_rate=args.lr, progress=sys.stderr.isatty(),
                  evaluate_before_after=False)
    before = fxsim.evaluate(model, ft.hls_config, x_test, y_test, progress=False).metrics
    after = fxsim.evaluate(ft.model, ft.hls_config, x_test, y_test, progress=False).metrics
    m = ft.metric
    ft.plot(OUT / f"curve_{name}_{_tag(precision)}")
    return {"model": name, "precision": precision, "metric": m, "train": len(x_tr), "validation": len(x_val),
            "test": len(x_test), "epochs": args.epochs, "best_epoch": ft.best_epoch,
            "float": before["float"][m], "qkeras": before.get("qkeras", {}).get(m),
            "hardware_before": before["hardware"][m], "hardware_after": after["hardware"][m],
            "after_over_float": after["hardware"][m] / before["float"][m],
            "epoch_seconds": [h["seconds"] for h in ft.history], "wall_seconds": time.perf_counter() - t}


def scan(name: str, model, x, y, args) -> dict:
    from fxsim.analysis.finetune_scan import finetune_scan

    t = time.perf_counter()
    res = finetune_scan(model, x, y, target=args.target, objective="ebops", rounds=args.rounds, epochs=args.epochs,
                        batch_size=args.batch_size, learning_rate=args.lr, progress=sys.stderr.isatty(),
                        verify_samples=args.verify_samples,
                        select_options={"max_fractional": 10, "max_evaluations": args.max_evaluations})
    rows = []
    for r in res.rounds:
        sel = r.selection
        if sel.point is None or (r.index > 0 and r.total_bits is None):
            rows.append({"round": r.index, "kept": r.kept, "reason": r.reason})
            continue
        n_types = len(sel.point.types)
        rows.append({"round": r.index, "finetuned_at": r.proposed, "kept": r.kept, "reason": r.reason,
                     "total_bits": r.total_bits, "types": n_types, "average_bits": r.total_bits / n_types,
                     "ebops": r.cost, "metric_holdout": r.metric_holdout,
                     "best_uniform": r.to_dict()["best_uniform"]})
    v = res.verification
    kept, first = res.kept, res.rounds[0]
    return {"model": name, "jets": len(x), "target": args.target, "float_holdout": res.float_holdout,
            "rounds": rows, "kept_round": kept.index,
            "ebops_original": first.cost, "ebops_finetuned": kept.cost,
            "ebops_reduction": None if not first.cost else 1.0 - kept.cost / first.cost,
            "csim": None if v is None else {"metric": v.metric_csim, "fxsim": v.metric_fxsim, "compared": v.compared,
                                            "mismatches": v.mismatches, "samples": v.n_samples},
            "summary": res.summary_lines(), "wall_seconds": time.perf_counter() - t}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--precision", action="append", help="uniform precision(s) (default: both of the issue)")
    p.add_argument("--train", type=int, default=3000, help="training jets of the before/after runs")
    p.add_argument("--val", type=int, default=500, help="validation jets (best epoch)")
    p.add_argument("--test", type=int, default=2000, help="test jets scored before/after")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--scan", action="store_true", help="also the scan of the fine-tuned model against the original's")
    p.add_argument("--scan-jets", type=int, default=3000, help="jets of the scan (half held out)")
    p.add_argument("--target", type=float, default=0.99)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--max-evaluations", type=int, default=200)
    p.add_argument("--verify-samples", type=int, default=500)
    p.add_argument("--no-before-after", action="store_true")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    from fxsim.models import zoo

    OUT.mkdir(parents=True, exist_ok=True)
    doc: dict = {"settings": vars(args), "before_after": [], "scans": []}
    path = OUT / f"results_{'_'.join(args.models)}.json"
    for name in args.models:
        data = dataset(name)
        x_all, y_all = zoo.prepare_inputs(name, data, "train")
        x_test, y_test = zoo.prepare_inputs(name, data, "test")
        x_test, y_test = x_test[:args.test], y_test[:args.test]
        model = zoo.load(name)
        if not args.no_before_after:
            for precision in args.precision or PRECISIONS:
                row = before_after(name, model, x_all, y_all, x_test, y_test, precision, args)
                doc["before_after"].append(row)
                print(f"{name} {precision}: hardware {row['metric']} {row['hardware_before']:.4f} -> "
                      f"{row['hardware_after']:.4f} (float {row['float']:.4f}, after/float "
                      f"{row['after_over_float']:.3f}; {row['train']} jets x {row['epochs']} epochs, "
                      f"{row['wall_seconds']:.0f} s)", flush=True)
                path.write_text(json.dumps(doc, indent=1, default=str))
        if args.scan:
            x_s = np.concatenate([x_all, x_test])[:args.scan_jets]
            y_s = np.concatenate([y_all, y_test])[:args.scan_jets]
            row = scan(name, model, x_s, y_s, args)
            doc["scans"].append(row)
            print("\n".join(row["summary"]), flush=True)
            path.write_text(json.dumps(doc, indent=1, default=str))
    print()
    print("| model | precision | float | hardware before | after | after / float |")
    print("|---|---|---|---|---|---|")
    for r in doc["before_after"]:
        print(f"| {r['model']} | {r['precision']} | {r['float']:.4f} | {r['hardware_before']:.4f} | "
              f"{r['hardware_after']:.4f} | {r['after_over_float']:.3f} |")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
