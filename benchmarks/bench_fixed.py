"""Benchmark: float -> ap_fixed code conversion, fxsim vs fxpmath vs plain numpy.

Prints values/second of ``fxsim.to_codes`` against fxpmath (``Fxp``) and a plain
numpy implementation on the same 10 million doubles, side by side in one run,
plus how many codes each agrees with fxsim on. Run:

    .venv/bin/python benchmarks/bench_fixed.py [--n 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fxsim.fixed import FixedType, to_codes


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


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.normal(0, 20, args.n)  # ap_fixed<16,6> spans [-32, 32): ~10% overflow
    t0 = time.perf_counter()
    to_codes(x[:10], FixedType(16, 6))
    first_call = time.perf_counter() - t0

    print(f"float64 -> code conversion, {args.n:,} values, best of {args.repeat}")
    print(f"fxsim first call (numba load/compile): {first_call:.2f} s")
    header = f"{'type':<34} {'fxsim Mval/s':>13} {'fxpmath Mval/s':>15} {'numpy Mval/s':>13} " \
             f"{'vs fxpmath':>11} {'vs numpy':>9} {'agree fxp':>10} {'agree np':>9}"
    print(header)
    print("-" * len(header))
    for spec in ("ap_fixed<16,6>", "ap_fixed<16,6,AP_RND,AP_SAT>", "ap_fixed<8,3,AP_RND,AP_SAT>"):
        t = FixedType.parse(spec)
        ours = to_codes(x, t)
        t_fx = best_time(lambda: to_codes(x, t), args.repeat)
        t_np = best_time(lambda: numpy_codes(x, t), args.repeat)
        t_fp = best_time(lambda: fxpmath_codes(x, t), 1)  # slow: one run
        agree_fp = np.mean(fxpmath_codes(x, t) == ours)
        agree_np = np.mean(numpy_codes(x, t) == ours)
        n = args.n / 1e6
        print(f"{spec:<34} {n / t_fx:>13.1f} {n / t_fp:>15.2f} {n / t_np:>13.1f} "
              f"{t_fp / t_fx:>10.0f}x {t_np / t_fx:>8.1f}x {agree_fp:>10.4%} {agree_np:>9.4%}")


if __name__ == "__main__":
    main()
