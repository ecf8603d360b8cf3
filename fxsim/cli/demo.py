"""``fxsim demo``: the main job on built-in defaults (what ``./run.sh`` runs).

Shows, on real numbers, what the hardware's fixed-point arithmetic does to them:
the ap_fixed core's rounding and overflow modes on a sample of values, side by
side with their float originals.
"""

from __future__ import annotations

import argparse

import numpy as np


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job end to end on built-in defaults")
    p.add_argument("--out", default="runs/demo", help="folder for the demo's outputs (default: runs/demo)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def show_fixed_core(seed: int) -> None:
    from fxsim.fixed import FixedType, count_overflows, from_codes, to_codes

    rng = np.random.default_rng(seed)
    x = np.concatenate([[0.1, -0.1, 1 / 3, -2.71828, 3.99, -4.0, 5.5], rng.normal(0, 2, 5)])
    types = [FixedType.parse(s) for s in
             ("ap_fixed<8,3>", "ap_fixed<8,3,AP_RND,AP_SAT>", "ap_fixed<8,3,AP_RND_CONV,AP_SAT_SYM>",
              "ap_fixed<16,6>")]
    print("== the ap_fixed core on real numbers ==")
    print(f"{'value':>12} " + " ".join(f"{str(t):>38}" for t in types))
    coded = [from_codes(to_codes(x, t), t) for t in types]
    for i, v in enumerate(x):
        print(f"{v:>12.6f} " + " ".join(f"{c[i]:>38.6f}" for c in coded))
    ref = FixedType(40, 10)
    for t in types:
        n = count_overflows(to_codes(x, ref), ref, t)
        err = np.max(np.abs(from_codes(to_codes(x, t), t) - x)[np.abs(x) < t.max])
        print(f"  {str(t):<38} lsb={t.lsb:<10g} range=[{t.min:g}, {t.max:g}]  "
              f"overflows={n}  max |error| in range={err:.3g}")


def run(args: argparse.Namespace) -> int:
    show_fixed_core(args.seed)
    return 0
