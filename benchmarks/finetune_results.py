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

Run one model per process (the sizes used for docs/finetuning.md)::

    nice -n 5 timeout 1500 .venv/bin/python benchmarks/finetune_results.py --models toptag_gru_q8i2 --scan

Writes ``runs/finetune_results/results_<models>.json`` and ``.md`` (the rows as
markdown tables) and per model the training curves (PNG and PDF). TensorFlow runs on
``--threads`` threads (default 2).

Data: the cached generated sets (``toptag.generate(16000, seed=21)``: 12,000 training
and 4,000 test jets; ``btag.generate(3000, seed=2)``: 2,250 and 750). The before/after
runs train on the first ``--train`` training jets, pick the best epoch on the next
``--val`` and score the test jets; the scans take every jet of the set, half of them
held out (never trained on). Each before/after row also lists the quantities that
overflow most (or leave a lookup table's range) at that precision, from the emulator's
overflow report on the test jets, before and after: the measured reason where a row
misses a goal.
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
OUT = ROOT / "runs" / "finetune_results"
MODELS = ("toptag_gru_q8i2", "toptag_lstm_q8i2", "btag_gru_q8i2")
PRECISIONS = ("ap_fixed<8,3>", "ap_fixed<6,2>")
#: the goals of issue 13
GOAL_UNIFORM, GOAL_TARGET, GOAL_AVG_BITS, GOAL_EBOPS = 0.97, 0.99, 6.0, 0.30


def dataset(name: str):
    """The cached generated set of the model's task (top tagging: 16,000 jets; flavour tagging: 3,000)."""
    from fxsim.models import zoo

    if zoo.info(name)["task"] == "btag":
        from fxsim.models.datasets import btag

        return btag.generate(3000, seed=2)
    from fxsim.models.datasets import toptag

    return toptag.generate(16000, seed=21, workers=1)


def auc_b_vs_light(labels: np.ndarray, outputs: np.ndarray) -> float:
    """The zoo's flavour-tagging metric: ROC AUC of p_b / (p_b + p_light) on b and light jets."""
    from fxsim.models.train import metrics_from_scores

    return metrics_from_scores("btag", np.asarray(outputs), np.asarray(labels))["auc_b_vs_light"]


def metric_of(name: str):
    """The headline metric the zoo uses (top tagging: AUC; flavour tagging: b-vs-light AUC)."""
    from fxsim.models import zoo

    return auc_b_vs_light if zoo.info(name)["task"] == "btag" else "auc"


def _tag(precision: str) -> str:
    return precision.replace("ap_fixed<", "").replace(">", "").replace(",", "_")


def worst_overflows(model, config, x: np.ndarray, top: int = 6) -> list[dict]:
    """The quantities that overflow most (fraction of their values) at ``config`` on ``x``: emulator's report."""
    import fxsim

    report = fxsim.emulate(model, config).overflow_report(x)
    rows = sorted((r for r in report.rows if r.overflowed), key=lambda r: -r.overflowed / max(r.total, 1))
    return [{"layer": r.layer, "quantity": r.quantity, "type": r.type, "overflowed": r.overflowed,
             "total": r.total, "fraction": r.overflowed / max(r.total, 1)} for r in rows[:top]]


def gap_of(model, precision: str, x: np.ndarray, y: np.ndarray, metric: str = "auc") -> dict:
    """:func:`fxsim.analysis.gap.decompose` at every type ``precision``: what widening each layer or
    source (overflow, tables ...) alone recovers, on ``x``."""
    from fxsim.analysis.finetune_scan import uniform_spec
    from fxsim.analysis.gap import decompose
    from fxsim.analysis.study import Study

    integer, fractional = uniform_spec(precision)
    study = Study(model, x, y, metric=metric, progress=False)
    g = decompose(study, study.space.uniform(integer, fractional))
    return {"metric": g.metric, "hardware": g.hardware_metric, "generous": g.generous_metric,
            "float": g.float_metric,
            "rows": sorted(({"name": r.name, "kind": r.kind, "recovered_metric": r.recovered_metric,
                             "alone_metric": r.alone_metric} for r in g.layers + g.sources),
                           key=lambda r: -r["recovered_metric"])}


def at_width(model, precision: str):
    """``model`` with its QKeras quantizers at ``precision``'s width: ``quantized_bits(W, I-1)``.

    hls4ml takes the weight and bias types of QKeras layers from their quantizers (and a
    ``quantized_relu``'s output type), not from the model default precision; so that every
    type is ``ap_fixed<W,I>``, the quantizers are set to that width first (the trained
    width leaves the model as it is).
    """
    from fxsim.analysis.finetune_scan import uniform_spec
    from fxsim.analysis.requantize import requantized

    integer, fractional = uniform_spec(precision)
    return requantized(model, integer + fractional + 1, integer)


def before_after(name: str, model, x_all, y_all, x_test, y_test, precision: str, epochs: int, args) -> dict:
    import fxsim
    from fxsim.analysis.finetune_scan import uniform_spec
    from fxsim.finetuning import finetune

    from fxsim.analysis.study import Study

    metric = metric_of(name)
    model = at_width(model, precision)
    n_train = min(args.train, len(x_all) - args.val)
    x_tr, y_tr = x_all[:n_train], y_all[:n_train]
    x_val, y_val = x_all[n_train:n_train + args.val], y_all[n_train:n_train + args.val]
    t = time.perf_counter()
    # every type but the lookup tables' at ap_fixed<W,I> (Space.uniform, as the demo and the scan): the model
    # default precision alone leaves the Dense accumulators and results to hls4ml's inference
    integer, fractional = uniform_spec(precision)
    study = Study(model, x_val, y_val, progress=False)
    config = study.config(study.space.uniform(integer, fractional))
    ft = finetune(model, config, x_tr, y_tr, validation=(x_val, y_val), epochs=epochs,
                  batch_size=args.batch_size, learning_rate=args.lr, progress=sys.stderr.isatty(),
                  metric=metric, evaluate_before_after=False)
    metrics = None if isinstance(metric, str) else {ft.metric: metric}
    before = fxsim.evaluate(model, ft.hls_config, x_test, y_test, metrics, progress=False).metrics
    after = fxsim.evaluate(ft.model, ft.hls_config, x_test, y_test, metrics, progress=False).metrics
    m = ft.metric
    stem = OUT / f"{name}_{_tag(precision)}"
    ft.plot(OUT / f"curve_{name}_{_tag(precision)}")
    ft.model.save(stem.with_suffix(".h5"))
    return {"model": name, "precision": precision,
            "quantizers": f"quantized_bits({integer + fractional + 1},{integer})", "metric": m,
            "train": len(x_tr), "validation": len(x_val),
            "test": len(x_test), "epochs": epochs, "best_epoch": ft.best_epoch,
            "float": before["float"][m], "qkeras": before.get("qkeras", {}).get(m),
            "hardware_before": before["hardware"][m], "hardware_after": after["hardware"][m],
            "after_over_float": after["hardware"][m] / before["float"][m],
            "history": ft.history, "trace_seconds": ft.seconds.get("trace"),
            "epoch_seconds": [h["seconds"] for h in ft.history],
            "overflows_before": worst_overflows(model, ft.hls_config, x_test),
            "overflows_after": worst_overflows(ft.model, ft.hls_config, x_test),
            "gap_after": gap_of(ft.model, precision, x_test, y_test,
                                metric if isinstance(metric, str) else "auc"),
            "wall_seconds": time.perf_counter() - t}


def scan(name: str, model, x, y, args) -> dict:
    from fxsim.analysis.finetune_scan import finetune_scan, write

    metric = metric_of(name)
    t = time.perf_counter()
    res = finetune_scan(model, x, y, target=args.target, objective="ebops", rounds=args.rounds,
                        epochs=args.scan_epochs, batch_size=args.batch_size, learning_rate=args.lr,
                        progress=sys.stderr.isatty(), verify_samples=args.verify_samples,
                        proposals=args.proposals or None, requantize=True,
                        metric=metric if isinstance(metric, str) else "auc",  # the study's: macro one-vs-rest AUC
                        select_options={"max_fractional": 12, "max_evaluations": args.max_evaluations})
    rows = []
    for r in res.rounds:
        sel = r.selection
        if sel.point is None or (r.index > 0 and r.total_bits is None):
            rows.append({"round": r.index, "finetuned_at": r.proposed, "kept": r.kept, "reason": r.reason})
            continue
        n_types = len(sel.point.types)
        rows.append({"round": r.index, "finetuned_at": r.proposed, "kept": r.kept, "reason": r.reason,
                     "total_bits": r.total_bits, "types": n_types, "average_bits": r.total_bits / n_types,
                     "ebops": r.cost, "metric_search": sel.metric, "metric_holdout": r.metric_holdout,
                     "holdout_over_float": None if r.metric_holdout is None else r.metric_holdout / res.float_holdout,
                     "best_uniform": r.to_dict()["best_uniform"], "history": r.history, "seconds": r.seconds,
                     "selected": {f"{layer}.{q}": t.hls4ml_str() for (layer, q), t in sel.point.types.items()},
                     "table_sizes": dict(sel.point.table_sizes)})
    v = res.verification
    kept, first = res.kept, res.rounds[0]
    write(res, OUT / f"scan_{name}")
    pinned = sorted(f"{layer}.{q}" for layer, q in res.study.space.pinned)
    return {"model": name, "jets": len(x), "search": len(res.study.x), "held_out": len(res.study.x_holdout),
            "pinned": pinned,
            "metric": res.study.metric, "target": args.target, "float_holdout": res.float_holdout,
            "rounds": rows, "kept_round": kept.index,
            "ebops_original": first.cost, "ebops_finetuned": kept.cost,
            "ebops_reduction": None if not first.cost else 1.0 - kept.cost / first.cost,
            "csim": None if v is None else {"metric": v.metric_csim, "fxsim": v.metric_fxsim, "compared": v.compared,
                                            "mismatches": v.mismatches, "samples": v.n_samples},
            "summary": res.summary_lines(), "wall_seconds": time.perf_counter() - t}


def markdown(doc: dict) -> list[str]:
    """The rows as the markdown tables of docs/finetuning.md."""
    lines = ["| model | precision | metric | epochs x jets | float | hardware before | after | after / float |"
             " most-overflowing quantity after (fraction) |", "|---|---|---|---|---:|---:|---:|---:|---|"]
    for r in doc["before_after"]:
        worst = r["overflows_after"][0] if r["overflows_after"] else None
        w = "none" if worst is None else \
            f"{worst['layer']}.{worst['quantity']} {worst['type']} ({worst['fraction']:.1%})"
        lines.append(f"| {r['model']} | `{r['precision']}` | {r['metric']} | {r['epochs']} x {r['train']:,} | "
                     f"{r['float']:.4f} | {r['hardware_before']:.4f} | {r['hardware_after']:.4f} | "
                     f"{r['after_over_float']:.3f} | {w} |")
    if doc["scans"]:
        lines += ["", "| model | round | fine-tuned at | best uniform | total bits | types | average bits | EBOPs |"
                  " held-out metric | / float | kept |", "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
        for sc in doc["scans"]:
            for r in sc["rounds"]:
                if "total_bits" not in r:
                    lines.append(f"| {sc['model']} | {r['round']} | {r['finetuned_at']} | | | | | | | | "
                                 f"{'yes' if r['kept'] else 'no'}: {r['reason']} |")
                    continue
                lines.append(f"| {sc['model']} | {r['round']} | {r['finetuned_at'] or '(original)'} | "
                             f"{r['best_uniform']} | {r['total_bits']} | {r['types']} | {r['average_bits']:.2f} | "
                             f"{r['ebops']:,.0f} | {r['metric_holdout']:.4f} | {r['holdout_over_float']:.3f} | "
                             f"{'yes' if r['kept'] else 'no'}{': ' + r['reason'] if r['reason'] else ''} |")
            c = sc["csim"]
            csim = "not run" if c is None else \
                f"{c['metric']:.4f} ({c['mismatches']} of {c['compared']:,} codes differ)"
            red = sc["ebops_reduction"]
            change = "n/a" if red is None else f"{red:.1%} fewer" if red >= 0 else f"{-red:.1%} more"
            lines.append(f"| {sc['model']} | C sim of kept round {sc['kept_round']} | | | | | | | {csim} | | "
                         f"EBOPs {change} than round 0 |")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--precision", action="append", help="uniform precision(s) (default: both of the issue)")
    p.add_argument("--train", type=int, default=10000, help="training jets of the before/after runs")
    p.add_argument("--val", type=int, default=2000, help="validation jets (best epoch)")
    p.add_argument("--test", type=int, default=4000, help="test jets scored before/after")
    p.add_argument("--epochs", type=int, nargs="+", default=[5, 10],
                   help="epochs of the before/after runs, one per precision (or one for all)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--scan", action="store_true", help="also the scan of the fine-tuned model against the original's")
    p.add_argument("--scan-jets", type=int, default=16000, help="jets of the scan (half held out)")
    p.add_argument("--scan-epochs", type=int, default=6, help="epochs of each fine-tuning round of the scan")
    p.add_argument("--proposals", nargs="*", default=["ap_fixed<8,3>", "ap_fixed<6,2>"],
                   help="uniform precision each scan round fine-tunes at (none: one bit below the best uniform)")
    p.add_argument("--target", type=float, default=GOAL_TARGET)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--max-evaluations", type=int, default=200)
    p.add_argument("--verify-samples", type=int, default=1000)
    p.add_argument("--no-before-after", action="store_true")
    p.add_argument("--gap-only", action="store_true",
                   help="only the gap decomposition of the saved fine-tuned models (runs/finetune_results/*.h5)")
    args = p.parse_args(argv)
    precisions = args.precision or list(PRECISIONS)
    if len(args.epochs) not in (1, len(precisions)):
        p.error(f"--epochs takes one value or one per precision ({len(precisions)})")
    epochs = args.epochs * len(precisions) if len(args.epochs) == 1 else args.epochs
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    from fxsim.models import zoo

    OUT.mkdir(parents=True, exist_ok=True)
    doc: dict = {"settings": vars(args), "before_after": [], "scans": []}
    stem = OUT / f"results_{'_'.join(args.models)}{'_scan' if args.scan else ''}"
    if args.no_before_after:
        stem = stem.with_name(stem.name + "_only")

    def save() -> None:
        stem.with_suffix(".json").write_text(json.dumps(doc, indent=1, default=str))
        stem.with_suffix(".md").write_text("\n".join(markdown(doc)) + "\n")

    for name in args.models:
        data = dataset(name)
        x_all, y_all = zoo.prepare_inputs(name, data, "train")
        x_test, y_test = zoo.prepare_inputs(name, data, "test")
        x_test, y_test = x_test[:args.test], y_test[:args.test]
        model = zoo.load(name)
        if args.gap_only:
            from fxsim.frontends.keras import load_model

            for precision in precisions:
                saved = load_model(OUT / f"{name}_{_tag(precision)}.h5")
                metric = metric_of(name)
                row = {"model": name, "precision": precision,
                       **gap_of(saved, precision, x_test, y_test, metric if isinstance(metric, str) else "auc")}
                doc.setdefault("gaps", []).append(row)
                print(name, precision, json.dumps(row["rows"][:4]), flush=True)
            stem.with_name(f"gaps_{name}.json").write_text(json.dumps(doc["gaps"], indent=1))
            continue
        if not args.no_before_after:
            for precision, n_epochs in zip(precisions, epochs):
                row = before_after(name, model, x_all, y_all, x_test, y_test, precision, n_epochs, args)
                doc["before_after"].append(row)
                print(f"{name} {precision}: hardware {row['metric']} {row['hardware_before']:.4f} -> "
                      f"{row['hardware_after']:.4f} (float {row['float']:.4f}, after/float "
                      f"{row['after_over_float']:.3f}; {row['train']} jets x {row['epochs']} epochs, "
                      f"epochs {', '.join(f'{s:.0f}' for s in row['epoch_seconds'])} s, "
                      f"{row['wall_seconds']:.0f} s in all)", flush=True)
                save()
        if args.scan:
            x_s = np.concatenate([x_all, x_test])[:args.scan_jets]
            y_s = np.concatenate([y_all, y_test])[:args.scan_jets]
            row = scan(name, model, x_s, y_s, args)
            doc["scans"].append(row)
            print("\n".join(row["summary"]), flush=True)
            save()
    print("\n".join(markdown(doc)))
    print(f"wrote {stem.with_suffix('.json')} and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
