#!/usr/bin/env python
"""Benchmark: time to first prediction on an empty kernel cache, per model kind.

For each model kind (the top tagging GRU(20) and LSTM(20) of the zoo, a Dense-only
network, the flavour tagging GRU(120)+softmax and the QuickDraw Conv1D+LSTM, a QKeras
model whose quantizers set its types), converted once with hls4ml at ``ap_fixed<16,6>``
and saved as an fxsim model file, it starts ``--repeats`` (>= 3)
new Python processes, each with a kernel cache folder of its own that starts empty
(``NUMBA_CACHE_DIR`` and ``XDG_CACHE_HOME`` pointed at a new temporary folder, which is
where :func:`fxsim._jit_cache.cache_root` puts the compiled kernels), and reports the
seconds from process start to the end of the first ``predict`` of 100 samples
(import + model load + compile + predict): median, min and max. It also reports, per
kind, the same process started again on the now-filled cache (the cost of a warm
start), how many kernel specialisations the cold process compiled (``numba:compile``
events of fxsim's kernels), and which compilations took the most CPU time
(``--breakdown N``; docs/cold_start.md).

    .venv/bin/python benchmarks/bench_cold_start.py                 # all kinds, 3 runs each
    .venv/bin/python benchmarks/bench_cold_start.py --kinds GRU --repeats 3

Results go to ``--json`` (default ``runs/bench_cold_start.json``) and a markdown table
to stdout. Every cold process runs on its own empty cache, so runs are independent.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRECISION = "ap_fixed<16,6>"
#: kind: (zoo model or None for the Dense-only network built here, description)
KINDS = {
    "GRU": ("toptag_gru_float", "top tagging GRU(20)-64-1"),
    "LSTM": ("toptag_lstm_float", "top tagging LSTM(20)-64-1"),
    "Dense": (None, "Dense 16-64-32-32-5 (relu, softmax)"),
    "btag GRU+softmax": ("btag_gru_float", "flavour tagging GRU(120)-50-10-3 (softmax)"),
    "QuickDraw Conv1D+LSTM": ("quickdraw_cnnlstm_q8i2", "QuickDraw Conv1D-pooling-LSTM (QKeras 8-bit)"),
}

_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from numba.core import event

class Compiles(event.Listener):
    # every compilation of an fxsim kernel, those made by its kernel factories included, and the CPU
    # seconds of each numba compilation less those of the compilations nested in it (a callee compiles
    # while its caller is typed): {function: [specialisations, CPU s]}
    n = 0
    stack = []
    kernels = {}
    def on_start(self, ev):
        Compiles.stack.append([time.process_time(), 0.0])
    def on_end(self, ev):
        c0, nested = Compiles.stack.pop()
        spent = time.process_time() - c0
        if Compiles.stack:
            Compiles.stack[-1][1] += spent
        func = getattr(ev.data.get("dispatcher"), "py_func", None)
        module = getattr(func, "__module__", "")
        Compiles.n += module.startswith("fxsim.")
        entry = Compiles.kernels.setdefault(f"{module}.{getattr(func, '__qualname__', '?')}", [0, 0.0])
        entry[0] += 1
        entry[1] += spent - nested

event.register("numba:compile", Compiles())
from fxsim import FxModel
fx = FxModel.load(sys.argv[1])
x = np.random.default_rng(0).normal(0.0, 1.0, (100, *fx.input_shape)).astype(np.float32)
t1 = time.perf_counter()
fx.predict(x)
t2 = time.perf_counter()
print("KERNELS", json.dumps(Compiles.kernels))
print("RESULT", t1 - t0, t2 - t1, Compiles.n)
"""


def dense_model():
    """A Dense-only Keras network (jet-tagging MLP shape)."""
    import tensorflow as tf

    inp = tf.keras.Input((16,))
    h = tf.keras.layers.Dense(64, activation="relu")(inp)
    h = tf.keras.layers.Dense(32, activation="relu")(h)
    h = tf.keras.layers.Dense(32, activation="relu")(h)
    out = tf.keras.layers.Dense(5, activation="softmax")(h)
    model = tf.keras.Model(inp, out)
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def prepare(kind: str, folder: Path) -> Path:
    """Convert the kind's model with hls4ml and save it as an fxsim model file (once)."""
    path = folder / f"{kind.replace(' ', '_').replace('+', '_')}.json"
    if path.exists():
        return path
    import hls4ml

    from fxsim import csim, from_hls4ml
    from fxsim.models import zoo

    zoo_name, _ = KINDS[kind]
    model = zoo.load(zoo_name) if zoo_name else dense_model()
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado",
                                               default_precision=PRECISION)
    fx = from_hls4ml(csim.convert(model, cfg, folder / f"{path.stem}-hls4ml"))
    return fx.save(path)


def run_child(model_path: Path, cache: Path | None) -> dict:
    """One new process on the kernel cache folder ``cache``: seconds to first prediction.

    ``cache`` is set both as ``NUMBA_CACHE_DIR`` and ``XDG_CACHE_HOME``; None keeps the user's cache.
    """
    env = dict(os.environ)
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = str(cache / "numba")
        env["XDG_CACHE_HOME"] = str(cache)
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, "-c", _CHILD, str(model_path)], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode != 0:
        raise RuntimeError(f"cold-start process failed:\n{out.stderr[-3000:]}")
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")][-1].split()
    kernels = json.loads([ln for ln in out.stdout.splitlines() if ln.startswith("KERNELS")][-1].split(" ", 1)[1])
    return {"wall_s": wall, "cpu_s": cpu, "load_s": float(line[1]), "first_prediction_s": float(line[2]),
            "specialisations": int(line[3]), "stderr": out.stderr.strip()[-500:], "compile_cpu_s": kernels}


def compile_breakdown(runs: list[dict]) -> dict:
    """``{function: (specialisations, median CPU s)}`` over the cold processes' compilations, costliest first.

    Names drop the ``fxsim.`` prefix and the ``<locals>`` of kernel factories.
    """
    merged: dict[str, tuple[int, list[float]]] = {}
    for run in runs:
        for name, (n, sec) in run.items():
            short = name.removeprefix("fxsim.").replace(".<locals>", "")
            merged.setdefault(short, (n, []))[1].append(sec)
    med = {name: (n, statistics.median(secs + [0.0] * (len(runs) - len(secs)))) for name, (n, secs) in merged.items()}
    return dict(sorted(med.items(), key=lambda kv: -kv[1][1]))


def stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kinds", nargs="*", default=list(KINDS), choices=list(KINDS))
    ap.add_argument("--repeats", type=int, default=3, help="cold processes per kind (at least 3)")
    ap.add_argument("--models-dir", type=Path, default=ROOT / ".cache" / "bench_cold_start",
                    help="where the converted fxsim model files are kept")
    ap.add_argument("--json", type=Path, default=ROOT / "runs" / "bench_cold_start.json")
    ap.add_argument("--breakdown", type=int, default=5, metavar="N",
                    help="also list, per kind, the N numba functions whose compilation took the most CPU")
    args = ap.parse_args(argv)
    if args.repeats < 3:
        ap.error("--repeats must be at least 3")
    args.models_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: prepare(k, args.models_dir) for k in args.kinds}
    rows = []
    for kind in args.kinds:
        cold, warm = [], []
        for _ in range(args.repeats):
            cache = Path(tempfile.mkdtemp(prefix="fxsim-cold-"))
            try:
                cold.append(run_child(paths[kind], cache))
                warm.append(run_child(paths[kind], cache))
            finally:
                shutil.rmtree(cache, ignore_errors=True)
        row = {"kind": kind, "model": KINDS[kind][1],
               "cold_wall_s": stats([c["wall_s"] for c in cold]),
               "cold_first_prediction_s": stats([c["first_prediction_s"] for c in cold]),
               "cold_cpu_s": stats([c["cpu_s"] for c in cold]),
               "warm_wall_s": stats([c["wall_s"] for c in warm]),
               "specialisations": cold[0]["specialisations"], "message": cold[0]["stderr"],
               "compile_cpu_s": compile_breakdown([c["compile_cpu_s"] for c in cold]),
               "load_avg": os.getloadavg()}
        print(f"  {kind}: cold {row['cold_wall_s']['median']:.1f} s (CPU {row['cold_cpu_s']['median']:.1f} s) "
              f"({row['cold_wall_s']['min']:.1f}-{row['cold_wall_s']['max']:.1f}), "
              f"warm {row['warm_wall_s']['median']:.1f} s, {row['specialisations']} specialisations, "
              f"load {row['load_avg'][0]:.1f}", flush=True)
        rows.append(row)
    lines = [f"Process start to first prediction (100 samples, {PRECISION}), seconds, median (min–max) of "
             f"{args.repeats} processes, each on an empty kernel cache (wall clock, and the CPU time the process used, "
             "which a loaded machine does not inflate); then the same process on the filled cache:",
             "", "| model kind | model | empty cache: wall | empty cache: CPU | warm cache: wall | kernels compiled |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        c, w, u = r["cold_wall_s"], r["warm_wall_s"], r["cold_cpu_s"]
        lines.append(f"| {r['kind']} | {r['model']} | {c['median']:.1f} ({c['min']:.1f}–{c['max']:.1f}) | "
                     f"{u['median']:.1f} ({u['min']:.1f}–{u['max']:.1f}) | "
                     f"{w['median']:.1f} ({w['min']:.1f}–{w['max']:.1f}) | {r['specialisations']} |")
    if args.breakdown > 0:
        lines += ["", f"CPU seconds of the {args.breakdown} costliest compilations per kind (median over the cold "
                  "processes; a function's own compilation, without the callees compiled inside it, but with the "
                  "callees LLVM optimises again inside it; x N: specialisations):", ""]
        for r in rows:
            top = list(r["compile_cpu_s"].items())[:args.breakdown]
            lines.append(f"* {r['kind']}: " + "; ".join(f"`{name}` {sec:.1f} (x {n})" for name, (n, sec) in top))
    text = "\n".join(lines)
    print()
    print(text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"rows": rows, "table": text}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
