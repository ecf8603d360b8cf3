#!/usr/bin/env python
"""A/B warm throughput of two (or more) fxsim source trees, measured interleaved in one run.

On a shared machine absolute rates drift by 2x within minutes, so comparing a rate
measured now with one measured an hour ago says little. This script starts one worker
process per ``--tree`` (and per ``--threads`` value), each importing ``fxsim`` from its
own tree and building the zoo's float models at ``ap_fixed<16,6>`` (as
``bench_emulator.py`` does), then asks them in turn, round after round, to time one warm
``predict`` of ``--samples`` standard-normal samples. Each round visits the workers in a
rotated order, so drifting load hits every worker alike. It prints, per model and
worker, the median (min-max) samples/second, each worker's median relative to the first
worker's, and the load average before and after.

    PYTHONPATH=<tree> .venv/bin/python benchmarks/bench_ab.py --tree /tmp/wt-old --tree . \\
        --threads 1 --threads 2 --rounds 7

A worker's first predict compiles its tree's kernels when its numba cache is cold
(minutes); that happens before the first round and is not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODELS = {
    "gru20": ("toptag_gru_float", (20, 6)),
    "lstm20": ("toptag_lstm_float", (20, 6)),
    "gru120": ("btag_gru_float", (15, 6)),
    "qd_gru": ("quickdraw_gru_q8i2", (100, 3)),  # bench_quickdraw.py's models (here at the A/B's precision)
    "qd_cnnlstm": ("quickdraw_cnnlstm_q8i2", (100, 3)),
    # bench_emulator's scan: 50 configurations of the GRU(20), each converted (hls4ml's config and
    # conversion from one snapshot, from_hls4ml) and predicted; its rate counts samples over all 50
    "scan50": ("toptag_gru_float", (20, 6)),
}
SCAN_POINTS = 50
PRECISION = "ap_fixed<16,6>"


# --- worker ------------------------------------------------------------------------------------


def _reply(obj) -> None:
    # TensorFlow and hls4ml print to stdout; replies are the lines starting with this tag
    sys.__stdout__.write("@@ab " + json.dumps(obj) + "\n")
    sys.__stdout__.flush()


def worker(tree: str, models: list[str], samples: int, precision: str) -> None:
    sys.path.insert(0, tree)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import fxsim
    from fxsim import csim, from_hls4ml

    if not Path(fxsim.__file__).resolve().is_relative_to(Path(tree).resolve()):
        raise SystemExit(f"fxsim imported from {fxsim.__file__}, not from {tree}")
    import hls4ml

    from fxsim.models import zoo

    built = {}
    work = Path(tempfile.mkdtemp(prefix="fxsim-ab-"))
    for name in models:
        zoo_name, shape = MODELS[name]
        keras_model = zoo.load(zoo_name)
        if name == "scan50":
            built[name] = _scan(keras_model, samples, shape)
            built[name][0].predict(None)  # compiles or loads every mode's kernels
            continue
        cfg = hls4ml.utils.config_from_keras_model(keras_model, granularity="name", backend="Vivado",
                                                   default_precision=precision)
        fx = from_hls4ml(csim.convert(keras_model, cfg, work / zoo_name))
        x = np.random.default_rng(1).normal(0.0, 1.0, (samples, *shape)).astype(np.float32)
        fx.predict(x[:100])  # compiles (cold cache) or loads the kernels
        fx.predict(x)
        built[name] = (fx, x)
    _reply({"ready": True, "fxsim": fxsim.__file__})
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd.get("quit"):
            break
        fx, x = built[cmd["model"]]
        t0, c0 = time.perf_counter(), time.process_time()
        y = fx.predict(x)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        _reply({"seconds": dt, "cpu_seconds": dc, "checksum": float(np.asarray(y, dtype=np.float64).sum())})


class _Scan:
    """``predict(x)`` of the scan pseudo-model: bench_emulator's scan, every point converted and predicted."""

    def __init__(self, keras_model, x):
        from bench_emulator import scan_configs

        self.model, self.x, self.configs = keras_model, x, scan_configs(SCAN_POINTS)

    def predict(self, _x) -> np.ndarray:
        from bench_emulator import forget_conversions, scan_points

        forget_conversions()
        return np.concatenate([y for _, y in scan_points(self.model, self.configs, self.x)])


def _scan(keras_model, samples: int, shape) -> tuple:
    x = np.random.default_rng(2).normal(0.0, 1.0, (samples, *shape)).astype(np.float64)
    return _Scan(keras_model, x), x


# --- driver ------------------------------------------------------------------------------------


class Worker:
    def __init__(self, tree: str, threads: int, models: list[str], samples: int, precision: str):
        self.label = f"{tree} t={threads}"
        env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), PYTHONPATH=tree)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", "--tree", tree, "--samples", str(samples), "--precision", precision,
             *sum((["--model", m] for m in models), [])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def read(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith("@@ab "):
                return json.loads(line[5:])
        raise RuntimeError(f"worker {self.label} exited ({self.proc.wait()})")

    def ask(self, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        try:
            self.proc.stdin.write(json.dumps({"quit": True}) + "\n")
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.proc.wait(timeout=60)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tree", action="append", required=True, help="an fxsim source tree (repeat)")
    p.add_argument("--threads", action="append", type=int, help="NUMBA_NUM_THREADS of the workers (repeat)")
    p.add_argument("--model", action="append", choices=sorted(MODELS),
                   help="models (default: all but scan50, whose rate counts the samples of its 50 points)")
    p.add_argument("--samples", type=int, default=20000)
    p.add_argument("--precision", default=PRECISION, help=f"hls4ml's default_precision (default {PRECISION})")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--json", type=Path, help="write the measurements here")
    args = p.parse_args(argv)
    models = args.model or [m for m in MODELS if m != "scan50"]
    if args.worker:
        worker(args.tree[0], models, args.samples, args.precision)
        return 0
    trees = [str(Path(t).resolve()) for t in args.tree]
    load_before = os.getloadavg()
    workers = []
    for tree in trees:
        for threads in args.threads or [2]:
            w = Worker(tree, threads, models, args.samples, args.precision)
            print(f"started {w.label}: {w.read()}", flush=True)  # one at a time: a cold compile is heavy
            workers.append(w)
    times: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    checks: dict[tuple[str, str], float] = {}
    try:
        for r in range(args.rounds):
            for m in models:
                for k in range(len(workers)):
                    w = workers[(k + r) % len(workers)]
                    out = w.ask(model=m)
                    times.setdefault((m, w.label), []).append(out["seconds"])
                    cpu.setdefault((m, w.label), []).append(out["cpu_seconds"])
                    checks[(m, w.label)] = out["checksum"]
            print(f"round {r + 1}/{args.rounds} done, load {os.getloadavg()[0]:.2f}", flush=True)
    finally:
        for w in workers:
            w.close()
    load_after = os.getloadavg()
    print(f"\nload average before {load_before}, after {load_after}; {args.samples} samples at {args.precision}, "
          f"{args.rounds} rounds\n")
    # Samples per CPU-second (all the worker's threads together) hardly depend on how many other
    # processes share the cores (only through caches); wall-clock rates do, by 2x on a loaded host.
    print("| model | worker | samples/s median (min–max) | vs first | samples/CPU-s median (min–max) | vs first "
          "| output sum |")
    print("|---|---|---:|---:|---:|---:|---:|")
    result = {"load_before": load_before, "load_after": load_after, "samples": args.samples, "rows": []}
    for m in models:
        base = cbase = None
        for w in workers:
            per = args.samples * (SCAN_POINTS if m == "scan50" else 1)
            rates = [per / s for s in times[(m, w.label)]]
            crates = [per / max(s, 1e-9) for s in cpu[(m, w.label)]]
            med, cmed = statistics.median(rates), statistics.median(crates)
            base, cbase = base or med, cbase or cmed
            print(f"| {m} | {w.label} | {med:,.0f} ({min(rates):,.0f}–{max(rates):,.0f}) | {med / base:.2f}x "
                  f"| {cmed:,.0f} ({min(crates):,.0f}–{max(crates):,.0f}) | {cmed / cbase:.2f}x "
                  f"| {checks[(m, w.label)]:.6f} |")
            result["rows"].append({"model": m, "worker": w.label, "rates": rates, "median": med,
                                   "cpu_rates": crates, "cpu_median": cmed})
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
