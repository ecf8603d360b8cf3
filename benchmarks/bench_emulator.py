#!/usr/bin/env python
"""Benchmark: fxsim versus hls4ml's C simulation and Keras float, on the paper's models.

In one run, for the model zoo's float models at ``ap_fixed<16,6>`` (hls4ml
``config_from_keras_model(granularity='name', backend='Vivado')`` defaults):

* top tagging GRU(20) -> Dense(64) -> Dense(1) and LSTM(20) -> Dense(64) -> Dense(1) on 20x6,
* flavour tagging GRU(120) -> Dense(50) -> Dense(10) -> Dense(3) on 15x6,

it prints samples/second of fxsim ``predict``, of the C simulation's ``predict``
(its g++ build time shown separately) and of Keras float ``predict``, fxsim's
first-call latency (numba: on-disk cache load or compilation) and the ratios;
fxsim's codes are compared with the C simulation's on every sample the C
simulation ran. Then it times evaluating 50 precision configurations of the top
tagging GRU on the same samples: fxsim (hls4ml conversion + ``from_hls4ml`` +
``predict``) against the C simulation (conversion + g++ build + ``predict``).

    .venv/bin/python benchmarks/bench_emulator.py                # the full run (~1 h on 2 cores)
    .venv/bin/python benchmarks/bench_emulator.py --quick        # small numbers, minutes

Inputs are standard-normal features (throughput does not depend on the values).
Results are also written as JSON to ``--json`` (default ``runs/bench_emulator.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = {
    # name: (zoo model, input shape, description)
    "top tagging GRU(20)": ("toptag_gru_float", (20, 6), "GRU(20)-64-1"),
    "top tagging LSTM(20)": ("toptag_lstm_float", (20, 6), "LSTM(20)-64-1"),
    "flavour tagging GRU(120)": ("btag_gru_float", (15, 6), "GRU(120)-50-10-3"),
}
PRECISION = "ap_fixed<16,6>"


def load_model(zoo_name: str):
    from fxsim.models import zoo

    return zoo.load(zoo_name)


def hls_config(model, default: str = PRECISION) -> dict:
    import hls4ml

    return hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado",
                                                default_precision=default)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def scan_configs(n: int) -> list[dict]:
    """``n`` distinct precision settings: model default ``ap_fixed<W,I>`` plus mode variations."""
    out = []
    modes = ["", ",AP_RND,AP_SAT", ",AP_RND_CONV,AP_SAT", ",AP_TRN,AP_SAT"]
    for width in range(18, 5, -1):
        for integer in (3, 4, 5, 6):
            for m in modes:
                out.append({"default": f"ap_fixed<{width},{integer}{m}>"})
    rng = np.random.default_rng(0)
    picked = rng.choice(len(out), size=min(n, len(out)), replace=False)
    return [out[i] for i in sorted(picked)]


def compare_codes(fx_model, x, y_csim) -> tuple[int, int]:
    from fxsim.fixed import to_codes

    ours = fx_model.predict_codes(x).reshape(len(x), -1)
    theirs = to_codes(np.asarray(y_csim, dtype=np.float64).reshape(len(x), -1), fx_model.output_t)
    return int(ours.size), int(np.sum(ours != theirs))


def bench_model(label: str, zoo_name: str, shape, n: int, n_csim: int, work: Path) -> dict:
    from fxsim import csim, from_hls4ml

    model = load_model(zoo_name)
    cfg = hls_config(model)
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 1.0, (n, *shape)).astype(np.float32)
    x64 = x.astype(np.float64)

    hm, t_convert = timed(csim.convert, model, cfg, work / f"{zoo_name}-fx")
    fx, t_from = timed(from_hls4ml, hm)
    _, t_first = timed(fx.predict, x[:100])
    fx.predict(x[:1000])
    _, t_fx = timed(fx.predict, x)

    model.predict(x[:1024], batch_size=1024, verbose=0)
    _, t_keras = timed(model.predict, x, batch_size=1024, verbose=0)
    n_default = min(n, 5000)  # Keras' default batch of 32 is slow; its rate is per sample
    _, t_keras32 = timed(model.predict, x[:n_default], verbose=0)

    b = csim.build(model, cfg, use_cache=False, directory=work / f"{zoo_name}-csim")
    xc = x64[:n_csim]
    b.predict(xc[:10])
    y_csim, t_csim = timed(b.predict, xc)
    compared, mismatches = compare_codes(fx, xc, y_csim)
    shutil.rmtree(b.directory, ignore_errors=True)
    return {
        "model": label, "arch": MODELS[label][2], "samples": n, "csim_samples": n_csim,
        "fxsim_per_s": n / t_fx, "csim_per_s": n_csim / t_csim, "keras_per_s": n / t_keras,
        "keras_default_batch_per_s": n_default / t_keras32,
        "csim_compile_s": b.compile_seconds, "fxsim_first_call_s": t_first,
        "fxsim_build_s": t_convert + t_from, "codes_compared": compared, "mismatches": mismatches,
    }


def bench_scan(n_configs: int, n: int, n_csim_configs: int, work: Path) -> dict:
    from fxsim import csim, from_hls4ml

    model = load_model("toptag_gru_float")
    x = np.random.default_rng(2).normal(0.0, 1.0, (n, 20, 6)).astype(np.float64)
    configs = scan_configs(n_configs)
    fx_total = 0.0
    fx_models = []
    for i, c in enumerate(configs):
        start = time.perf_counter()
        hm = csim.convert(model, hls_config(model, c["default"]), work / f"scan-fx-{i}")
        fx = from_hls4ml(hm)
        fx.predict(x)
        fx_total += time.perf_counter() - start
        fx_models.append(fx)
    cs_total = compile_total = 0.0
    compared = mismatches = 0
    for i, c in enumerate(configs[:n_csim_configs]):
        start = time.perf_counter()
        b = csim.build(model, hls_config(model, c["default"]), use_cache=False, directory=work / f"scan-cs-{i}")
        y = b.predict(x)
        cs_total += time.perf_counter() - start
        compile_total += b.compile_seconds
        k, bad = compare_codes(fx_models[i], x, y)
        compared += k
        mismatches += bad
        shutil.rmtree(b.directory, ignore_errors=True)
    per_config = cs_total / max(1, n_csim_configs)
    return {
        "configs": len(configs), "samples": n, "fxsim_s": fx_total, "csim_configs_run": n_csim_configs,
        "csim_s": per_config * len(configs), "csim_measured_s": cs_total,
        "csim_compile_s": compile_total * len(configs) / max(1, n_csim_configs),
        "codes_compared": compared, "mismatches": mismatches,
    }


def print_tables(rows: list[dict], scan: dict | None) -> str:
    lines = [
        f"fxsim vs hls4ml C simulation vs Keras float at {PRECISION} (samples/second; {os.cpu_count()} cores)",
        "",
        "| model | fxsim | C sim predict | Keras float (batch 1024) | fxsim / C sim | fxsim / Keras | "
        "Keras float (default batch 32) | C sim g++ build | fxsim first call | codes compared | mismatches |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['fxsim_per_s']:,.0f} | {r['csim_per_s']:,.0f} | {r['keras_per_s']:,.0f} | "
            f"{r['fxsim_per_s'] / r['csim_per_s']:,.0f}x | {r['fxsim_per_s'] / r['keras_per_s']:.2f}x | "
            f"{r['keras_default_batch_per_s']:,.0f} | {r['csim_compile_s']:.1f} s | {r['fxsim_first_call_s']:.2f} s | {r['codes_compared']:,} | "
            f"{r['mismatches']} |"
        )
    if scan:
        note = "" if scan["csim_configs_run"] == scan["configs"] else (
            f" (C sim measured on {scan['csim_configs_run']} configurations, scaled to {scan['configs']})")
        lines += [
            "",
            f"{scan['configs']} precision configurations of the top tagging GRU on {scan['samples']:,} samples{note}:",
            "",
            "| | total time | per configuration |",
            "|---|---:|---:|",
            f"| fxsim (convert + from_hls4ml + predict) | {scan['fxsim_s']:,.1f} s | "
            f"{scan['fxsim_s'] / scan['configs']:.2f} s |",
            f"| C simulation (convert + g++ build + predict) | {scan['csim_s']:,.0f} s | "
            f"{scan['csim_s'] / scan['configs']:.1f} s |",
            f"| ratio | {scan['csim_s'] / scan['fxsim_s']:,.0f}x | |",
            "",
            f"Scan cross-check: {scan['codes_compared']:,} output codes compared, {scan['mismatches']} mismatches.",
        ]
    text = "\n".join(lines)
    print(text)
    return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--csim-samples", type=int, default=20000,
                    help="samples the C simulation predicts per model (its rate is per sample)")
    ap.add_argument("--configs", type=int, default=50)
    ap.add_argument("--csim-configs", type=int, default=None,
                    help="configurations the C simulation runs in the scan (default: all)")
    ap.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--no-scan", action="store_true")
    ap.add_argument("--quick", action="store_true", help="2,000 samples, 500 in the C simulation, 6 configs")
    ap.add_argument("--json", type=Path, default=ROOT / "runs" / "bench_emulator.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.samples, args.csim_samples, args.configs = 2000, 500, 6
    n_csim_configs = args.configs if args.csim_configs is None else min(args.csim_configs, args.configs)

    work = Path(tempfile.mkdtemp(prefix="fxsim-bench-"))
    try:
        rows = []
        for label in args.models:
            zoo_name, shape, _ = MODELS[label]
            row = bench_model(label, zoo_name, shape, args.samples, min(args.csim_samples, args.samples), work)
            print(f"  {label}: fxsim {row['fxsim_per_s']:,.0f}/s, C sim {row['csim_per_s']:,.0f}/s, "
                  f"Keras {row['keras_per_s']:,.0f}/s", flush=True)
            rows.append(row)
        scan = None if args.no_scan else bench_scan(args.configs, args.samples, n_csim_configs, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    text = print_tables(rows, scan)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"models": rows, "scan": scan, "table": text}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
