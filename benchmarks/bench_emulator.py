#!/usr/bin/env python
"""Benchmark: fxsim versus hls4ml's C simulation and Keras float, on the paper's models, repeated.

In one run, for the model zoo's float models at ``ap_fixed<16,6>`` (hls4ml
``config_from_keras_model(granularity='name', backend='Vivado')`` defaults):

* top tagging GRU(20) -> Dense(64) -> Dense(1) and LSTM(20) -> Dense(64) -> Dense(1) on 20x6,
* flavour tagging GRU(120) -> Dense(50) -> Dense(10) -> Dense(3) on 15x6,

it prints, as markdown tables (the README's ``<!-- bench_emulator -->`` section):

* samples/second of fxsim ``predict`` (warm: after a first call), of the C simulation's
  ``predict`` and of Keras float ``predict``: each the median, with min and max, of
  ``--repeats`` (>= 5) runs, fxsim's and the C simulation's taken in turn (so both see
  the same load on a shared host); the ratios are ratios of medians;
* cold starts: fxsim's first call in this process, and in a new process with numba's
  on-disk cache warm (median of ``--repeats`` processes); with ``--cold-compile`` also
  the first prediction on an empty kernel cache, once per model kind (seconds from
  process start, each in a fresh cache folder);
* the per-layer split: the time of each layer's runner (the calls ``FxModel.predict``
  makes, timed one by one on that layer's real input codes, median of the repeats);
* the fraction of the int32 SIMD roofline reached (see ``roofline`` below);
* a 50-configuration scan of the top tagging GRU: fxsim against the C simulation
  (conversion + g++ build + ``predict``), fxsim's total the median of the repeats, the
  C simulation's the mean over the configurations it ran times 50, fxsim's scans spread
  between the C simulation's configurations (one before each share of them). fxsim's
  side is what one point of ``fxsim scan`` costs (:class:`fxsim.analysis.study.Study`):
  :func:`fxsim.pipeline.convert_checked` without the doctor's rules (hls4ml's
  ``config_from_keras_model`` and ``convert_from_keras_model``, the final types read
  from the converted ``ModelGraph`` by ``from_hls4ml``), then ``predict``. Both sides
  run hls4ml's full conversion for every configuration; each timed fxsim scan starts
  with fxsim's conversion memos empty (``forget_conversions``), like the first scan of a
  process, only the numba kernels loaded by the warm-up scan carry over (docs/scan_speed.md).

fxsim's codes are compared with the C simulation's on every sample the C simulation ran.

    .venv/bin/python benchmarks/bench_emulator.py            # defaults: about 5 minutes on 2 quiet cores
    .venv/bin/python benchmarks/bench_emulator.py --full     # the issue's sizes (C sim on 20,000 samples,
                                                             # all 50 configurations, cold compiles): hours
    .venv/bin/python benchmarks/bench_emulator.py --quick    # proves the script works (about a minute)

Roofline (int32 SIMD): ``threads x clock x lanes / MACs per sample`` samples/second, where
MACs per sample are counted from fxsim's IR (Dense ``n_in x n_out``; LSTM/GRU ``T x (n_in +
n_state) x gates x n_state``), ``lanes`` the int32 lanes of the vectors numba's code uses on
this host (a loop over int32 compiled here and its machine code read: 16 in ``zmm`` registers,
8 in ``ymm``, 4 in ``xmm``; LLVM keeps 256-bit vectors on Intel cores whose 512-bit units lower
the clock, even with AVX-512, and uses 512 bits on AMD Zen 4; ``--lanes`` to override), one
vector multiply-accumulate per cycle per core, ``threads`` = numba's threads (the kernels
run blocks of samples in parallel) and ``clock`` the nominal clock read from
``/proc/cpuinfo`` (``--clock-ghz`` to override). It is an upper bound: it ignores the
casts, table lookups and memory traffic between the multiply-accumulates.

Inputs are standard-normal features (throughput does not depend on the values).
Results are also written as JSON to ``--json`` (default ``runs/bench_emulator.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

MODELS = {
    # name: (zoo model, input shape, description)
    "top tagging GRU(20)": ("toptag_gru_float", (20, 6), "GRU(20)-64-1"),
    "top tagging LSTM(20)": ("toptag_lstm_float", (20, 6), "LSTM(20)-64-1"),
    "flavour tagging GRU(120)": ("btag_gru_float", (15, 6), "GRU(120)-50-10-3"),
}
PRECISION = "ap_fixed<16,6>"
ROOFLINE_MODEL = "top tagging GRU(20)"


# --- measuring ------------------------------------------------------------------------------


def stats(values: list[float]) -> dict:
    """Median, min and max of repeated measurements (and how many)."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values),
            "values": list(values)}


def repeat(fn, repeats: int) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls of ``fn``."""
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def rates(n: int, seconds: list[float]) -> dict:
    """Samples per second of each run, summarised."""
    return stats([n / s for s in seconds])


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def load_model(zoo_name: str):
    from fxsim.models import zoo

    return zoo.load(zoo_name)


def hls_config(model, default: str = PRECISION) -> dict:
    import hls4ml

    return hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado",
                                                default_precision=default)


def compare_codes(fx_model, x, y_csim) -> tuple[int, int]:
    from fxsim.fixed import to_codes

    ours = fx_model.predict_codes(x).reshape(len(x), -1)
    theirs = to_codes(np.asarray(y_csim, dtype=np.float64).reshape(len(x), -1), fx_model.output_t)
    return int(ours.size), int(np.sum(ours != theirs))


# --- model structure --------------------------------------------------------------------------


def macs_per_sample(fx) -> int:
    """Multiply-accumulates per sample, counted from the IR (Dense and LSTM/GRU layers)."""
    from fxsim.ir import DenseSpec, RecurrentSpec

    total = 0
    for spec in fx.layers[1:]:
        if isinstance(spec, DenseSpec):
            total += spec.n_in * spec.n_out
        elif isinstance(spec, RecurrentSpec):
            total += spec.n_timesteps * (spec.n_in + spec.n_state) * spec.n_gates * spec.n_state
    return total


def model_kind(fx) -> str:
    """The layer kinds a model needs kernels for, e.g. ``GRU+Dense+Activation``."""
    from fxsim.ir import RecurrentSpec

    kinds = []
    for spec in fx.layers[1:]:
        k = spec.cell.upper() if isinstance(spec, RecurrentSpec) else type(spec).__name__.removesuffix("Spec")
        if k not in kinds:
            kinds.append(k)
    return "+".join(kinds)


def _cpuinfo() -> list[str]:
    """The lines of ``/proc/cpuinfo`` (none where it cannot be read)."""
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def clock_ghz() -> float | None:
    """The nominal clock from ``/proc/cpuinfo`` (the highest ``cpu MHz`` line), or None."""
    try:
        mhz = [float(line.split(":")[1]) for line in _cpuinfo() if line.startswith("cpu MHz")]
    except (ValueError, IndexError):
        return None
    return max(mhz) / 1000 if mhz else None


def int32_lanes() -> int:
    """int32 lanes per vector of the code numba compiles on this host: 16 (``zmm``), 8 (``ymm``) or 4.

    Read off the machine code of a loop over int32 arrays compiled here (no cache), as the
    kernels are: the CPU's flags are not enough. A virtual machine's ``/proc/cpuinfo`` can
    hide flags LLVM uses (seen: no ``avx2`` listed on a Zen 4 whose kernels ran ``zmm`` code),
    and on Intel cores with AVX-512 (seen: ``rocketlake``) LLVM prefers 256-bit vectors.
    Either would misstate the roofline fraction by 2 to 4 times.
    """
    import re

    import numba

    @numba.njit(cache=False)
    def muladd(acc, x, w):
        for i in range(acc.size):
            acc[i] += np.int32(x[i] * w[i])

    a = np.zeros(1024, dtype=np.int32)
    muladd(a, a, a)
    asm = "\n".join(muladd.inspect_asm().values())
    for reg, lanes in (("zmm", 16), ("ymm", 8), ("xmm", 4)):
        if re.search(rf"\bvp(mull|add)d\b[^\n]*%{reg}", asm):
            return lanes
    return 1


def numba_threads() -> int:
    import numba

    return int(numba.get_num_threads())


def roofline(macs: int, threads: int, ghz: float, lanes: int) -> float:
    """Samples/second at one ``lanes``-wide int32 multiply-accumulate per cycle on every thread."""
    return threads * ghz * 1e9 * lanes / macs


# --- per layer ------------------------------------------------------------------------------


def layer_split(fx, x: np.ndarray, repeats: int) -> list[dict]:
    """Seconds per call of the input conversion and of each layer's runner, on that layer's real input.

    The same calls ``FxModel.predict`` makes (``runner(codes, want_trace=False,
    want_counts=False)``, in chunks of ``fxsim.model.CHUNK`` samples), timed one layer at a time.
    """
    from fxsim.fixed import to_codes
    from fxsim.model import CHUNK

    runners = fx._prepare()
    chunks = [x[i:i + CHUNK] for i in range(0, len(x), CHUNK)]
    rows = []
    inputs = [to_codes(c, fx.input_t) for c in chunks]
    t = repeat(lambda: [to_codes(c, fx.input_t) for c in chunks], repeats)
    rows.append({"layer": fx.layers[0].name, "kind": "Input (float to codes)", "seconds": stats(t)})
    for runner in runners:
        outputs = [runner(c, False, False)[0] for c in inputs]  # warm, and the next layer's input
        t = repeat(lambda r=runner, ins=inputs: [r(c, False, False) for c in ins], repeats)
        spec = runner.spec
        kind = getattr(spec, "cell", "").upper() or type(spec).__name__.removesuffix("Spec")
        detail = getattr(spec, "activation", None) if kind == "Activation" else None
        rows.append({"layer": runner.name, "kind": kind + (f" ({detail})" if detail else ""), "seconds": stats(t)})
        inputs = outputs
    return rows


# --- cold starts in new processes -----------------------------------------------------------

def cold_process(model_path: Path, cache: Path | None) -> tuple[float, float]:
    """(import + load, first prediction) seconds in a new Python process.

    ``cache``: a kernel cache folder of its own (empty: everything compiles); None keeps the
    user's (warm) cache. The process is :func:`bench_cold_start.run_child`'s.
    """
    from bench_cold_start import run_child

    out = run_child(model_path, cache)
    return out["load_s"], out["first_prediction_s"]


# --- the benchmarks ---------------------------------------------------------------------------


def bench_model(label: str, zoo_name: str, shape, args, work: Path) -> dict:
    from fxsim import csim, from_hls4ml

    n, n_csim, repeats = args.samples, min(args.csim_samples, args.samples), args.repeats
    model = load_model(zoo_name)
    cfg = hls_config(model)
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 1.0, (n, *shape)).astype(np.float32)
    x64 = x.astype(np.float64)

    hm, t_convert = timed(csim.convert, model, cfg, work / f"{zoo_name}-fx")
    fx, t_from = timed(from_hls4ml, hm)
    _, t_first = timed(fx.predict, x[:100])  # this process: numba's on-disk cache (or a compile)
    fx.predict(x)

    b = csim.build(model, cfg, use_cache=False, directory=work / f"{zoo_name}-csim")
    xc = x64[:n_csim]
    b.predict(xc[:10])
    y_csim = b.predict(xc)
    # fxsim's and the C simulation's runs taken in turn, so that both see the same load on a shared
    # host (fxsim's five runs one after another last a fraction of a second: one busy second of a
    # neighbour would otherwise set its whole median)
    fx_s, csim_s = [], []
    for _ in range(repeats):
        fx_s.append(timed(fx.predict, x)[1])
        csim_s.append(timed(b.predict, xc)[1])
    fx_rates, csim_rates = rates(n, fx_s), rates(n_csim, csim_s)
    compared, mismatches = compare_codes(fx, xc, y_csim)
    shutil.rmtree(b.directory, ignore_errors=True)
    split = layer_split(fx, x, repeats)

    saved = fx.save(work / f"{zoo_name}-fxsim")
    cold = [cold_process(saved, None) for _ in range(repeats)]
    cold_compile = None
    if args.cold_compile:
        fresh = Path(tempfile.mkdtemp(prefix="fxsim-cold-", dir=work))
        load_s, first_s = cold_process(saved, fresh)
        cold_compile = {"load_s": load_s, "first_prediction_s": first_s, "total_s": load_s + first_s}

    model.predict(x[:1024], batch_size=1024, verbose=0)
    keras_rates = rates(n, repeat(lambda: model.predict(x, batch_size=1024, verbose=0), repeats))
    n_default = min(n, args.keras32_samples)  # Keras' default batch of 32 is slow; its rate is per sample
    keras32_rates = rates(n_default, repeat(lambda: model.predict(x[:n_default], verbose=0), repeats))
    return {
        "model": label, "arch": MODELS[label][2], "kind": model_kind(fx), "macs_per_sample": macs_per_sample(fx),
        "samples": n, "csim_samples": n_csim, "repeats": repeats,
        "fxsim_per_s": fx_rates, "csim_per_s": csim_rates, "keras_per_s": keras_rates,
        "keras_default_batch_per_s": keras32_rates, "keras_default_batch_samples": n_default,
        "csim_compile_s": b.compile_seconds, "fxsim_first_call_s": t_first,
        "fxsim_cold_process": {"load_s": stats([c[0] for c in cold]),
                               "first_prediction_s": stats([c[1] for c in cold])},
        "fxsim_cold_compile": cold_compile,
        "fxsim_build_s": t_convert + t_from, "layers": split,
        "codes_compared": compared, "mismatches": mismatches,
    }


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


def scan_points(model, configs: list[dict], x: np.ndarray) -> list[tuple]:
    """``[(fx model, predict(x))]`` for each configuration: what a scan point costs in
    ``fxsim.analysis.study.Study`` (``fxsim scan``).

    The checked pipeline without the doctor's rules (hls4ml's ``config_from_keras_model`` and
    ``convert_from_keras_model``, ``from_hls4ml``), then predict; like the study, it reads the
    model's architecture and weights once (a snapshot) for all the points.
    """
    from fxsim.pipeline import convert_checked, snapshot

    snap = snapshot(model)
    out = []
    for c in configs:
        fx = convert_checked(model, c["default"], rules=False, snapshot=snap).require().fx
        out.append((fx, fx.predict(x)))
    return out


def forget_conversions() -> None:
    """Empty what fxsim remembers between conversions of a model (hls4ml's generated config per
    architecture, weight codes per type), so each timed scan converts its configurations as the
    first scan of a process does; only the loaded numba kernels carry over."""
    from fxsim.frontends import hls4ml as hls4ml_frontend
    from fxsim.frontends import keras as keras_frontend

    keras_frontend._GENERATED.clear()
    hls4ml_frontend._WEIGHT_CODES.clear()


def bench_scan(args, work: Path) -> dict:
    from fxsim import csim

    n, repeats = args.samples, args.repeats
    model = load_model("toptag_gru_float")
    x = np.random.default_rng(2).normal(0.0, 1.0, (n, 20, 6)).astype(np.float64)
    configs = scan_configs(args.configs)
    n_csim_configs = len(configs) if args.csim_configs is None else min(args.csim_configs, len(configs))

    def fx_scan() -> list:
        return [fx for fx, _ in scan_points(model, configs, x)]

    fx_models = fx_scan()  # warm: numba kernels of every mode loaded
    fx_totals = []
    per_config, compile_s = [], []
    compared = mismatches = 0
    # spread over the list (widths 18 down to 6, every integer width and mode), not its first few:
    # the C simulation's cost depends on the type's width and modes
    picked = sorted({int(round(k)) for k in np.linspace(0, len(configs) - 1, n_csim_configs)})
    # each timed fxsim scan before a share of the C-simulation configurations, so that fxsim's repeats
    # spread over the C simulation's minutes (both then see the host's load alike)
    def timed_scan() -> float:
        return repeat(lambda: (forget_conversions(), fx_scan()), 1)[0]

    scan_before = {int(t[0]) for t in np.array_split(np.arange(len(picked)), repeats) if len(t)}
    for k, i in enumerate(picked):
        if k in scan_before:
            fx_totals.append(timed_scan())
        c = configs[i]
        start = time.perf_counter()
        b = csim.build(model, hls_config(model, c["default"]), use_cache=False, directory=work / f"scan-cs-{i}")
        y = b.predict(x)
        per_config.append(time.perf_counter() - start)
        compile_s.append(b.compile_seconds)
        k, bad = compare_codes(fx_models[i], x, y)
        compared += k
        mismatches += bad
        shutil.rmtree(b.directory, ignore_errors=True)
    fx_totals += [timed_scan() for _ in range(repeats - len(fx_totals))]  # fewer configurations than repeats
    return {
        "configs": len(configs), "samples": n, "repeats": repeats, "fxsim_s": stats(fx_totals),
        "csim_configs_run": len(picked), "csim_configs": [configs[i]["default"] for i in picked],
        "csim_per_config_s": stats(per_config),
        "csim_compile_per_config_s": stats(compile_s),
        # a scan's cost is the sum over its configurations: the mean of those measured times their number
        # (the sum itself when all ran; the median, which this reported before, is not an estimate of a sum)
        "csim_s": statistics.fmean(per_config) * len(configs),
        "codes_compared": compared, "mismatches": mismatches,
    }


# --- tables ---------------------------------------------------------------------------------


def fmt_range(s: dict, digits: int = 0, unit: str = "") -> str:
    f = f"{{:,.{digits}f}}"
    return f"{f.format(s['median'])}{unit} ({f.format(s['min'])}–{f.format(s['max'])})"


def tables(rows: list[dict], scan: dict | None, hw: dict) -> str:
    reps = rows[0]["repeats"] if rows else (scan or {}).get("repeats", 0)
    lines = [
        f"fxsim vs hls4ml C simulation vs Keras float at {PRECISION}: samples/second, median (min–max) of "
        f"{reps} runs; {hw['cores']} cores, numba threads {hw['threads']}",
        "",
    ]
    if rows:
        lines += [
            "| model | fxsim (warm) | C sim predict | Keras float (batch 1024) | fxsim / C sim | fxsim / Keras | "
            "Keras float (default batch 32) | C sim g++ build | codes compared | mismatches |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            fx, cs, kr = (r[k]["median"] for k in ("fxsim_per_s", "csim_per_s", "keras_per_s"))
            lines.append(
                f"| {r['model']}-{r['arch'].split('-', 1)[1]} | {fmt_range(r['fxsim_per_s'])} | "
                f"{fmt_range(r['csim_per_s'])} | "
                f"{fmt_range(r['keras_per_s'])} | {fx / cs:,.0f}x | {fx / kr:.2f}x | "
                f"{fmt_range(r['keras_default_batch_per_s'])} | {r['csim_compile_s']:.1f} s | "
                f"{r['codes_compared']:,} | {r['mismatches']} |"
            )
        samples = sorted({(r["samples"], r["csim_samples"], r["keras_default_batch_samples"]) for r in rows})
        lines += ["", "Samples per run (fxsim and Keras batch 1024 / C simulation / Keras default batch): "
                  + "; ".join(f"{a:,} / {b:,} / {c:,}" for a, b, c in samples) + "."]

        lines += [
            "",
            "Cold starts (seconds): fxsim's first call in the benchmark's process; a new process with the "
            "kernel cache warm (import + model load, then first prediction of 100 samples; median (min–max) of "
            f"{reps} processes); the first prediction on an empty kernel cache (one process per model kind):",
            "",
            "| model | kernels | first call, this process | new process: import + load | "
            "new process: first prediction | "
            "empty cache: first prediction | empty cache: process start to first prediction |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            c, cc = r["fxsim_cold_process"], r["fxsim_cold_compile"]
            lines.append(
                f"| {r['model']} | {r['kind']} | {r['fxsim_first_call_s']:.2f} | {fmt_range(c['load_s'], 2)} | "
                f"{fmt_range(c['first_prediction_s'], 2)} | "
                + (f"{cc['first_prediction_s']:.1f} | {cc['total_s']:.1f} |" if cc else "not run (--cold-compile) | |")
            )

        lines += ["", "Where fxsim's time goes (warm; each layer's runner timed on its real input, median "
                  f"(min–max) of {reps} runs, µs per 1,000 samples):", "",
                  "| model | layer | kind | µs / 1k samples | share |", "|---|---|---|---:|---:|"]
        for r in rows:
            total = sum(l["seconds"]["median"] for l in r["layers"])
            scale = 1e9 / r["samples"]  # seconds per run -> µs per 1,000 samples
            for l in r["layers"]:
                s = {k: l["seconds"][k] * scale for k in ("median", "min", "max")}
                lines.append(f"| {r['model']} | {l['layer']} | {l['kind']} | {fmt_range(s, 1)} | "
                             f"{l['seconds']['median'] / total:.0%} |")

        lines += ["", f"int32 SIMD roofline: threads x clock x lanes / MACs per sample = {hw['threads']} x "
                  f"{hw['ghz']:.2f} GHz x {hw['lanes']} lanes / MACs (clock: {hw['clock_source']}; lanes: "
                  f"{hw['lanes_source']}):", "",
                  "| model | MACs per sample | roofline samples/s | fxsim samples/s (median) | fraction of roofline |",
                  "|---|---:|---:|---:|---:|"]
        for r in rows:
            roof = roofline(r["macs_per_sample"], hw["threads"], hw["ghz"], hw["lanes"])
            med = r["fxsim_per_s"]["median"]
            lines.append(f"| {r['model']} | {r['macs_per_sample']:,} | {roof:,.0f} | {med:,.0f} | {med / roof:.1%} |")
    if scan:
        note = "" if scan["csim_configs_run"] == scan["configs"] else (
            f" (the C simulation measured on {scan['csim_configs_run']} of them, spread over the list: "
            f"{', '.join(f'`{c}`' for c in scan.get('csim_configs', []))}; their mean scaled to {scan['configs']})")
        fx_med = scan["fxsim_s"]["median"]
        lines += [
            "",
            f"{scan['configs']} precision configurations of the top tagging GRU on {scan['samples']:,} samples{note}; "
            f"fxsim's total the median (min–max) of {scan['repeats']} scans, the C simulation's per configuration "
            "the median (min–max) over the configurations it ran:",
            "",
            "| | total | per configuration |",
            "|---|---:|---:|",
            "| fxsim (`fxsim scan`'s per-point path: hls4ml conversion + `from_hls4ml` + predict) | "
            f"{fmt_range(scan['fxsim_s'], 2, ' s')} | "
            f"{fx_med / scan['configs']:.3f} s |",
            f"| C simulation (conversion + g++ build + predict) | {scan['csim_s']:,.0f} s | "
            f"{fmt_range(scan['csim_per_config_s'], 1, ' s')} |",
            f"| ratio | {scan['csim_s'] / fx_med:,.0f}x | |",
            "",
            f"Scan cross-check: {scan['codes_compared']:,} output codes compared, {scan['mismatches']} mismatches.",
        ]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=20000, help="samples fxsim and Keras predict per run")
    ap.add_argument("--csim-samples", type=int, default=1000,
                    help="samples the C simulation predicts per run (its rate is per sample; default 1000)")
    ap.add_argument("--keras32-samples", type=int, default=5000,
                    help="samples of the Keras default-batch runs (default 5000)")
    ap.add_argument("--repeats", type=int, default=5, help="runs per rate (at least 5; default 5)")
    ap.add_argument("--configs", type=int, default=50)
    ap.add_argument("--csim-configs", type=int, default=5,
                    help="configurations the C simulation runs in the scan, spread evenly over them "
                         "(default 5; --full: all)")
    ap.add_argument("--cold-compile", action="store_true",
                    help="also time the first prediction on an empty kernel cache, per model (minutes each)")
    ap.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--no-scan", action="store_true")
    ap.add_argument("--lanes", type=int, default=None,
                    help="int32 lanes per SIMD vector for the roofline (default: those numba's code uses here)")
    ap.add_argument("--clock-ghz", type=float, default=None, help="clock for the roofline (default: /proc/cpuinfo)")
    ap.add_argument("--quick", action="store_true",
                    help="2,000 samples, 200 in the C simulation, 6 configurations, 1 in the C simulation")
    ap.add_argument("--full", action="store_true",
                    help="the issue's sizes: C simulation on 20,000 samples and all configurations, cold compiles")
    ap.add_argument("--json", type=Path, default=ROOT / "runs" / "bench_emulator.json")
    args = ap.parse_args(argv)
    if args.repeats < 5:
        ap.error("--repeats must be at least 5 (every rate is a median of repeated runs)")
    if args.quick and args.full:
        ap.error("--quick and --full exclude each other")
    if args.quick:
        args.samples, args.csim_samples, args.keras32_samples, args.configs, args.csim_configs = 2000, 200, 1000, 6, 1
    if args.full:
        args.samples, args.csim_samples, args.csim_configs, args.cold_compile = 20000, 20000, None, True

    ghz = args.clock_ghz or clock_ghz()
    hw = {"cores": len(os.sched_getaffinity(0)), "threads": numba_threads(), "lanes": args.lanes or int32_lanes(),
          "ghz": ghz or float("nan"),
          "clock_source": "--clock-ghz" if args.clock_ghz else ("/proc/cpuinfo" if ghz else "clock unknown"),
          "lanes_source": "--lanes" if args.lanes else "the compiled code's vector registers"}
    work = Path(tempfile.mkdtemp(prefix="fxsim-bench-"))
    try:
        rows = []
        for label in args.models:
            zoo_name, shape, _ = MODELS[label]
            row = bench_model(label, zoo_name, shape, args, work)
            print(f"  {label}: fxsim {fmt_range(row['fxsim_per_s'])}/s, C sim {fmt_range(row['csim_per_s'])}/s, "
                  f"Keras {fmt_range(row['keras_per_s'])}/s", flush=True)
            rows.append(row)
        scan = None if args.no_scan else bench_scan(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    text = tables(rows, scan, hw)
    print(text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"models": rows, "scan": scan, "hardware": hw, "table": text}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
