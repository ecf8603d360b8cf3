#!/usr/bin/env python
"""Benchmark: a scan's evaluations on local Dask workers against the serial scan, in one run.

The top-tagging GRU (the zoo's float model) on ``--samples`` standard-normal jets with
labels from their first feature; 48 uniform points (``Space.uniform``: integer bits 2 to
5, fractional bits 4, 6 and 8, each with the default ``TRN, WRAP`` and with ``RND, SAT``,
``RND_CONV, SAT`` and ``TRN, SAT``). Each round evaluates the points with a new
:class:`~fxsim.analysis.study.Study` serially (this process: numba on its own threads), then
on a new ``LocalCluster`` of ``--workers`` processes (one thread each,
:meth:`~fxsim.analysis.distributed.DaskEvaluator.start`), after two points that make
each worker build its study and load its kernels (a cluster's start-up, reported apart),
and checks that the cluster's metrics equal the serial ones. It prints each round and the
medians of seconds per point.

    .venv/bin/python benchmarks/bench_dask_scan.py --workers 2 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODES = (("TRN", "WRAP"), ("RND", "SAT"), ("RND_CONV", "SAT"), ("TRN", "SAT"))


def points(study) -> list:
    return [study.space.uniform(i, f, rounding=r, overflow=o)
            for r, o in MODES for i in (2, 3, 4, 5) for f in (4, 6, 8)]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--samples", type=int, default=20000)
    args = p.parse_args(argv)

    from fxsim.analysis.distributed import DaskEvaluator
    from fxsim.analysis.study import Study
    from fxsim.models import zoo

    model = zoo.load("toptag_gru_float")
    x = np.random.default_rng(3).normal(0.0, 1.0, (args.samples, 20, 6))
    y = (x[:, :, 0].mean(axis=1) > 0).astype(int)
    warm = Study(model, x, y, progress=False)
    warm.evaluate(points(warm))  # this process's kernels of every mode loaded before the first timed round
    serial, cluster, start = [], [], []
    for r in range(args.rounds):
        s = Study(model, x, y, progress=False)
        pts = points(s)
        t0 = time.perf_counter()
        want = s.evaluate(pts)
        serial.append((time.perf_counter() - t0) / len(pts))
        d = Study(model, x, y, progress=False)
        t0 = time.perf_counter()
        d.backend = DaskEvaluator.start(d, workers=args.workers, progress=False)
        cluster_pts = points(d)
        first, rest = cluster_pts[:2], cluster_pts[2:]
        d.evaluate(first)  # each worker builds its study and loads its kernels
        start.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        got = d.evaluate(rest)
        cluster.append((time.perf_counter() - t0) / len(rest))
        d.backend.close()
        if got != want[2:]:
            raise SystemExit("the cluster's metrics differ from the serial scan's")
        print(f"round {r + 1}: serial {serial[-1] * 1000:.0f} ms per point ({len(pts)} points), "
              f"{args.workers} workers {cluster[-1] * 1000:.0f} ms per point ({len(rest)} points; start-up "
              f"{start[-1]:.1f} s), same metrics", flush=True)
    s_med, c_med = statistics.median(serial), statistics.median(cluster)
    print(f"median of {args.rounds}: serial {s_med * 1000:.0f} ms per point, {args.workers} local workers "
          f"{c_med * 1000:.0f} ms per point ({s_med / c_med:.2f}x the serial rate), cluster start-up "
          f"{statistics.median(start):.1f} s; {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
