#!/usr/bin/env python
"""Benchmark: fxsim versus hls4ml's C simulation on the QuickDraw zoo models, repeated.

For the QuickDraw Conv1D+LSTM (``quickdraw_cnnlstm_*``) and GRU (``quickdraw_gru_*``)
zoo models, converted with hls4ml ``config_from_keras_model(granularity='name',
backend='Vivado')`` (QAT models: the QKeras quantizers' types, elsewhere hls4ml's
``fixed<16,6>`` default), on real procedural sketches (the zoo's dataset, seed 1):

* samples/second of fxsim ``predict`` (warm) and of the compiled hls4ml project's C
  simulation ``predict``, each the median (min–max) of ``--repeats`` (>= 5) runs;
  the ratio is the ratio of medians and must reach ``--required`` (default 100x);
* every C-simulation output code compared with fxsim's.

The measuring helpers (repeats, rates, hls4ml configuration, code comparison, range
format) are ``benchmarks/bench_emulator.py``'s, imported.

    .venv/bin/python benchmarks/bench_quickdraw.py                       # both models, a few minutes
    .venv/bin/python benchmarks/bench_quickdraw.py --models quickdraw_gru_q8i2 --samples 2000
    .venv/bin/python benchmarks/bench_quickdraw.py --fxsim-only          # fxsim's rates alone, no g++ build

Exits 1 when a model misses the required ratio or any code differs (with ``--fxsim-only``,
which measures no ratio and compares no codes, only on an error).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_emulator import (  # noqa: E402  (the shared measuring helpers)
    compare_codes, fmt_range, hls_config, load_model, numba_threads, rates, repeat, timed,
)

MODELS = ("quickdraw_cnnlstm_q8i2", "quickdraw_gru_q8i2")


def sketches(n: int) -> np.ndarray:
    """``n`` real sketches (train and test splits of the zoo's QuickDraw set, cached under data/cache)."""
    from fxsim.models import zoo
    from fxsim.models.datasets import quickdraw

    data = quickdraw.generate(10000, seed=1, progress=False)
    x, _ = zoo.prepare_inputs("quickdraw_gru_float", data, split="all")  # every QuickDraw model: one scaling
    if n > len(x):
        raise ValueError(f"--samples {n} exceeds the {len(x)} sketches of the dataset")
    return x[:n]


def bench(name: str, x: np.ndarray, n_csim: int, repeats: int, work: Path) -> dict:
    from fxsim import csim, from_hls4ml

    model = load_model(name)
    cfg = hls_config(model)
    hm, t_convert = timed(csim.convert, model, cfg, work / f"{name}-fx")
    fx, t_from = timed(from_hls4ml, hm)
    _, t_first = timed(fx.predict, x[:100])
    fx_rates = rates(len(x), repeat(lambda: fx.predict(x), repeats))
    row = {"model": name, "params": int(model.count_params()), "samples": len(x), "repeats": repeats,
           "fxsim_per_s": fx_rates, "fxsim_build_s": t_convert + t_from, "fxsim_first_call_s": t_first,
           "layers": [f"{s.name} ({type(s).__name__})" for s in fx.layers]}
    if n_csim == 0:  # --fxsim-only
        return row

    b = csim.build(model, cfg, use_cache=False, directory=work / f"{name}-csim")
    xc = x[:n_csim].astype(np.float64)
    b.predict(xc[:10])
    y_csim = b.predict(xc)
    csim_rates = rates(n_csim, repeat(lambda: b.predict(xc), repeats))
    compared, mismatches = compare_codes(fx, xc, y_csim)
    shutil.rmtree(b.directory, ignore_errors=True)
    return {**row, "csim_samples": n_csim, "csim_per_s": csim_rates, "ratio": fx_rates["median"] / csim_rates["median"],
            "csim_compile_s": b.compile_seconds, "codes_compared": compared, "mismatches": mismatches}


def fxsim_table(rows: list[dict]) -> str:
    reps = rows[0]["repeats"] if rows else 0
    lines = [f"fxsim alone (no C simulation) on the QuickDraw zoo models: samples/second, median (min–max) of "
             f"{reps} runs; {len(os.sched_getaffinity(0))} cores, numba threads {numba_threads()}", "",
             "| model | parameters | fxsim (warm) | samples per run |", "|---|---:|---:|---:|"]
    lines += [f"| {r['model']} | {r['params']:,} | {fmt_range(r['fxsim_per_s'])} | {r['samples']:,} |" for r in rows]
    return "\n".join(lines)


def table(rows: list[dict], required: float) -> str:
    reps = rows[0]["repeats"] if rows else 0
    lines = [f"fxsim vs hls4ml 1.3.0 C simulation on the QuickDraw zoo models: samples/second, median (min–max) of "
             f"{reps} runs; {len(os.sched_getaffinity(0))} cores, numba threads {numba_threads()}", "",
             "| model | parameters | fxsim (warm) | C sim predict | fxsim / C sim | required | C sim g++ build | "
             "codes compared | mismatches |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['params']:,} | {fmt_range(r['fxsim_per_s'])} | "
                     f"{fmt_range(r['csim_per_s'])} | "
                     f"{r['ratio']:,.0f}x | {required:,.0f}x | {r['csim_compile_s']:.1f} s | "
                     f"{r['codes_compared']:,} | {r['mismatches']} |")
    lines += ["", "Samples per run (fxsim / C simulation): "
              + "; ".join(f"{r['model']} {r['samples']:,} / {r['csim_samples']:,}" for r in rows) + "."]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--samples", type=int, default=5000, help="sketches fxsim predicts per run (default 5000)")
    ap.add_argument("--csim-samples", type=int, default=300,
                    help="sketches the C simulation predicts per run (its rate is per sample; default 300)")
    ap.add_argument("--repeats", type=int, default=5, help="runs per rate (at least 5; default 5)")
    ap.add_argument("--required", type=float, default=100.0, help="the fxsim / C sim ratio to reach (default 100)")
    ap.add_argument("--fxsim-only", action="store_true",
                    help="measure fxsim alone: no C simulation build, no ratio, no code comparison")
    ap.add_argument("--json", type=Path, default=ROOT / "runs" / "bench_quickdraw.json")
    args = ap.parse_args(argv)
    if args.repeats < 5:
        ap.error("--repeats must be at least 5 (every rate is a median of repeated runs)")
    from fxsim.models import zoo

    unknown = [m for m in args.models if m not in zoo.names()]
    if unknown:
        ap.error(f"unknown zoo models {unknown}; QuickDraw models: "
                 f"{', '.join(n for n in zoo.names() if n.startswith('quickdraw'))}")
    x = sketches(args.samples)
    work = Path(tempfile.mkdtemp(prefix="fxsim-bench-qd-"))
    rows = []
    try:
        for name in args.models:
            row = bench(name, x, 0 if args.fxsim_only else min(args.csim_samples, args.samples), args.repeats, work)
            if args.fxsim_only:
                print(f"  {name}: fxsim {fmt_range(row['fxsim_per_s'])}/s", flush=True)
                rows.append(row)
                continue
            print(f"  {name}: fxsim {fmt_range(row['fxsim_per_s'])}/s, C sim {fmt_range(row['csim_per_s'])}/s, "
                  f"{row['ratio']:,.0f}x, {row['mismatches']} of {row['codes_compared']:,} codes differ", flush=True)
            rows.append(row)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = fxsim_table(rows) if args.fxsim_only else table(rows, args.required)
    print("\n" + text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"models": rows, "required": args.required, "table": text}, indent=1))
    if args.fxsim_only:
        return 0
    ok = all(r["ratio"] >= args.required and r["mismatches"] == 0 for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
