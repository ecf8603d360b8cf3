"""Benchmark: float -> ap_fixed code conversion, fxsim vs fxpmath vs plain numpy, repeated.

Prints values/second of ``fxsim.to_codes`` against fxpmath (``Fxp``) and a plain
numpy implementation on the same doubles, side by side in one run, each the median
(min–max) of ``--repeat`` (>= 5) runs, plus how many codes each agrees with fxsim on,
as the markdown table of the README's ``<!-- bench_fixed -->`` section. Cold starts:
fxsim's first call in this process (numba's on-disk cache), and with ``--cold-compile``
the first call in a new process on an empty kernel cache.

    .venv/bin/python benchmarks/bench_fixed.py                    # 10 million doubles, 5 runs (about 2 minutes)
    .venv/bin/python benchmarks/bench_fixed.py --n 1000000        # quick
    .venv/bin/python benchmarks/bench_fixed.py --cold-compile     # plus the empty-cache compile
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fxsim.fixed import FixedType, to_codes

TYPES = ("ap_fixed<16,6>", "ap_fixed<16,6,AP_RND,AP_SAT>", "ap_fixed<8,3,AP_RND,AP_SAT>")


def numpy_codes(x: np.ndarray, t: FixedType) -> np.ndarray:
    """Plain numpy: TRN (floor) or RND (floor(x + half)) then WRAP or SAT, signed only."""
    scaled = np.ldexp(x, t.frac)
    if t.rounding.name == "RND":
        scaled = scaled + 0.5
    q = np.floor(scaled).astype(np.int64)
    lo, hi = t.min_code, t.max_code
    if t.overflow.name == "SAT":
        return np.clip(q, lo, hi)
    span = 1 << t.width
    return (q - lo) % span + lo


def fxpmath_codes(x: np.ndarray, t: FixedType) -> np.ndarray:
    from fxpmath import Fxp

    # fxpmath "trunc" is toward zero; ap_fixed TRN is floor
    rounding = {"TRN": "floor", "RND": "around"}[t.rounding.name]
    overflow = {"WRAP": "wrap", "SAT": "saturate"}[t.overflow.name]
    f = Fxp(x, signed=t.signed, n_word=t.width, n_frac=t.frac, rounding=rounding, overflow=overflow)
    return np.asarray(f.val, dtype=np.int64)


def timings(fn, repeat: int) -> tuple[list[float], object]:
    """Seconds of ``repeat`` calls and the last call's result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def rate(n: int, times: list[float]) -> dict:
    """Million values per second: median, min, max over the runs."""
    r = [n / 1e6 / t for t in times]
    return {"median": statistics.median(r), "min": min(r), "max": max(r)}


def fmt(r: dict, digits: int) -> str:
    return f"{r['median']:.{digits}f} ({r['min']:.{digits}f}–{r['max']:.{digits}f})"


_COLD_CHILD = r"""
import time
t0 = time.perf_counter()
import numpy as np
from fxsim.fixed import FixedType, to_codes
t1 = time.perf_counter()
to_codes(np.zeros(10), FixedType(16, 6))
print(f"{t1 - t0} {time.perf_counter() - t1}")
"""


def cold_compile() -> tuple[float, float]:
    """(import, first call) seconds in a new process with an empty kernel cache of its own."""
    with tempfile.TemporaryDirectory(prefix="fxsim-cold-") as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=str(Path(tmp) / "numba"), XDG_CACHE_HOME=tmp)
        out = subprocess.run([sys.executable, "-c", _COLD_CHILD], env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"cold-compile process failed:\n{out.stderr[-2000:]}")
    a, b = map(float, out.stdout.split()[-2:])
    return a, b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="doubles converted per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per rate (at least 5)")
    parser.add_argument("--fxpmath-repeat", type=int, default=5, help="runs of fxpmath (slow; at least 5)")
    parser.add_argument("--cold-compile", action="store_true", help="also time a first call on an empty kernel cache")
    args = parser.parse_args()
    if args.repeat < 5 or args.fxpmath_repeat < 5:
        parser.error("every rate is a median of at least 5 runs")

    rng = np.random.default_rng(0)
    x = rng.normal(0, 20, args.n)  # ap_fixed<16,6> spans [-32, 32): ~10% overflow
    t0 = time.perf_counter()
    to_codes(x[:10], FixedType(16, 6))
    first_call = time.perf_counter() - t0

    rows = []
    for spec in TYPES:
        t = FixedType.parse(spec)
        ours = to_codes(x, t)  # warm
        t_fx, _ = timings(lambda t=t: to_codes(x, t), args.repeat)
        t_np, np_codes = timings(lambda t=t: numpy_codes(x, t), args.repeat)
        t_fp, fp_codes = timings(lambda t=t: fxpmath_codes(x, t), args.fxpmath_repeat)
        fx_r, np_r, fp_r = rate(args.n, t_fx), rate(args.n, t_np), rate(args.n, t_fp)
        rows.append((spec, fx_r, fp_r, np_r, float(np.mean(fp_codes == ours)), float(np.mean(np_codes == ours))))
        print(f"  {spec}: fxsim {fmt(fx_r, 1)}, fxpmath {fmt(fp_r, 2)}, numpy {fmt(np_r, 1)} Mval/s", flush=True)

    print()
    print(f"float64 -> code conversion, {args.n:,} values; Mval/s, median (min–max) of {args.repeat} runs "
          f"({args.fxpmath_repeat} for fxpmath); ratios of medians; {len(os.sched_getaffinity(0))} cores")
    print()
    print("| type | fxsim Mval/s | fxpmath Mval/s | numpy Mval/s | fxsim vs fxpmath | fxsim vs numpy | "
          "codes agreeing (fxpmath / numpy) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for spec, fx_r, fp_r, np_r, agree_fp, agree_np in rows:
        print(f"| `{spec}` | {fmt(fx_r, 1)} | {fmt(fp_r, 2)} | {fmt(np_r, 1)} | "
              f"{fx_r['median'] / fp_r['median']:.0f}x | {fx_r['median'] / np_r['median']:.1f}x | "
              f"{agree_fp:.4%} / {agree_np:.4%} |")
    print()
    print(f"First call in this process (numba's on-disk cache, warm): {first_call:.2f} s.")
    if args.cold_compile:
        imp, first = cold_compile()
        print(f"First call in a new process on an empty kernel cache: {first:.1f} s (after {imp:.1f} s of imports).")


if __name__ == "__main__":
    main()
