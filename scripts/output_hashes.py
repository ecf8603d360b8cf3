#!/usr/bin/env python
"""SHA-256 of the emulator's output codes on the benchmark and QAT zoo models: a bit-exactness guard.

For each model and configuration below, the model is converted with hls4ml
(``config_from_keras_model(granularity='name')`` with the given default precision, then
``convert_from_keras_model``), read with :func:`fxsim.from_hls4ml` and run on fixed seeded
inputs (standard-normal samples plus samples scaled up 8x so that types overflow). The
hash covers :meth:`~fxsim.FxModel.predict_codes` on every sample, every code of
:meth:`~fxsim.FxModel.trace` (layer outputs and recurrent internals) on the first samples
of both kinds, and every row of :meth:`~fxsim.FxModel.overflow_report`. A model that
fxsim refuses hashes its error message.

    .venv/bin/python scripts/output_hashes.py runs/hashes.json            # compute and write
    .venv/bin/python scripts/output_hashes.py --check benchmarks/output_hashes.json

``--check`` recomputes every entry of the reference file and exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BASE = "ap_fixed<16,6>"

#: key: (zoo model, input shape, default precision, strategy, reuse factor, samples)
CASES = {
    "toptag_gru_float@16,6": ("toptag_gru_float", (20, 6), BASE, "Latency", 1, 3000),
    "toptag_lstm_float@16,6": ("toptag_lstm_float", (20, 6), BASE, "Latency", 1, 3000),
    "btag_gru_float@16,6": ("btag_gru_float", (15, 6), BASE, "Latency", 1, 2000),
    "toptag_gru_float@16,6,RND,SAT": ("toptag_gru_float", (20, 6), "ap_fixed<16,6,AP_RND,AP_SAT>", "Latency", 1, 3000),
    "toptag_lstm_float@16,6,RND,SAT": ("toptag_lstm_float", (20, 6), "ap_fixed<16,6,AP_RND,AP_SAT>",
                                       "Latency", 1, 3000),
    "toptag_gru_float@16,6,RND_CONV,SAT": ("toptag_gru_float", (20, 6), "ap_fixed<16,6,AP_RND_CONV,AP_SAT>",
                                           "Latency", 1, 3000),
    "btag_gru_float@12,4,RND_CONV,SAT": ("btag_gru_float", (15, 6), "ap_fixed<12,4,AP_RND_CONV,AP_SAT>",
                                         "Latency", 1, 2000),
    "toptag_gru_float@16,6/Resource,RF2": ("toptag_gru_float", (20, 6), BASE, "Resource", 2, 3000),
    "toptag_lstm_float@16,6/Resource,RF2": ("toptag_lstm_float", (20, 6), BASE, "Resource", 2, 3000),
    "toptag_gru_float@10,3,RND,SAT/Resource,RF2": ("toptag_gru_float", (20, 6), "ap_fixed<10,3,AP_RND,AP_SAT>",
                                                  "Resource", 2, 3000),
    "quickdraw_gru_float@16,6": ("quickdraw_gru_float", (100, 3), BASE, "Latency", 1, 1000),
    **{f"{name}@qkeras": (name, shape, BASE, "Latency", 1, 2000) for name, shape in (
        ("toptag_gru_q6i2", (20, 6)), ("toptag_gru_q8i2", (20, 6)), ("toptag_gru_q10i2", (20, 6)),
        ("toptag_lstm_q6i2", (20, 6)), ("toptag_lstm_q8i2", (20, 6)), ("toptag_lstm_q10i2", (20, 6)),
        ("btag_gru_q8i2", (15, 6)), ("btag_gru_q10i2", (15, 6)),
        ("btag_lstm_q8i2", (15, 6)), ("btag_lstm_q10i2", (15, 6)),
    )},
}

TRACED = 200  # samples of each kind (normal, scaled) whose trace is hashed
OVERFLOW_SCALE = 8.0


def inputs(shape: tuple[int, ...], n: int, seed: int = 12345) -> tuple[np.ndarray, np.ndarray]:
    """``n`` standard-normal samples and ``n // 4`` scaled up by ``OVERFLOW_SCALE`` (float32)."""
    rng = np.random.default_rng(seed)
    normal = rng.normal(0.0, 1.0, (n, *shape)).astype(np.float32)
    scaled = (rng.normal(0.0, 1.0, (n // 4, *shape)) * OVERFLOW_SCALE).astype(np.float32)
    return normal, scaled


def convert(zoo_name: str, precision: str, strategy: str, reuse_factor: int, work: Path):
    import hls4ml

    from fxsim import from_hls4ml
    from fxsim.models import zoo

    model = zoo.load(zoo_name)
    with contextlib.redirect_stdout(io.StringIO()):
        cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado",
                                                    default_precision=precision)
        cfg["Model"]["Strategy"] = strategy
        cfg["Model"]["ReuseFactor"] = reuse_factor
        for layer in cfg.get("LayerName", {}).values():
            layer["Strategy"] = strategy
            layer["ReuseFactor"] = reuse_factor
        hm = hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend="Vivado",
                                                        io_type="io_parallel", output_dir=str(work),
                                                        project_name="hashes")
    return from_hls4ml(hm)


def _update(h, label: str, arr: np.ndarray) -> None:
    a = np.ascontiguousarray(arr, dtype=np.int64)
    h.update(f"{label}:{a.shape}".encode())
    h.update(a.tobytes())


def case_hash(key: str, work: Path) -> tuple[str, str]:
    """``(hash, note)``: the case's SHA-256, and the start of fxsim's refusal when it refused the model."""
    zoo_name, shape, precision, strategy, rf, n = CASES[key]
    h = hashlib.sha256()
    note = ""
    try:
        fx = convert(zoo_name, precision, strategy, rf, work)
        normal, scaled = inputs(shape, n)
        for label, x in (("normal", normal), ("scaled", scaled)):
            _update(h, f"{label}/predict_codes", fx.predict_codes(x))
            report = fx.overflow_report(x)
            h.update(json.dumps(report.to_dict(), sort_keys=True).encode())
            _, tr = fx.trace(x[:TRACED])
            for name in sorted(tr.codes):
                h.update(str(tr.types[name]).encode())
                _update(h, f"{label}/trace/{name}", tr.codes[name])
    except ValueError as err:
        h.update(f"refused: {err}".encode())
        note = f"  (refused: {str(err)[:60]})"
    return h.hexdigest(), note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", help="write the hashes as JSON here")
    parser.add_argument("--check", metavar="REFERENCE", help="compare with a reference JSON; exit 1 on a difference")
    parser.add_argument("--only", nargs="*", help="substrings of the case keys to run (default: all)")
    args = parser.parse_args(argv)
    if not args.out and not args.check:
        parser.error("give an output path, --check REFERENCE, or both")
    reference = json.loads(Path(args.check).read_text())["hashes"] if args.check else None
    keys = list(reference) if reference is not None else list(CASES)
    if args.only:
        keys = [k for k in keys if any(s in k for s in args.only)]
    unknown = [k for k in keys if k not in CASES]
    if unknown:
        parser.error(f"reference names cases this script does not know: {unknown}")
    hashes: dict[str, str] = {}
    bad = 0
    with tempfile.TemporaryDirectory(prefix="fxsim-hashes-") as tmp:
        for i, key in enumerate(keys):
            start = time.perf_counter()
            hashes[key], note = case_hash(key, Path(tmp) / f"m{i}")
            verdict = ""
            if reference is not None:
                same = hashes[key] == reference[key]
                bad += not same
                verdict = "  same" if same else "  DIFFERENT"
            print(f"{key:46s} {hashes[key][:16]}  {time.perf_counter() - start:6.1f} s{verdict}{note}", flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"hashes": hashes}, indent=1) + "\n")
    if reference is not None:
        print(f"{len(keys) - bad} of {len(keys)} identical" + ("" if not bad else f"; {bad} DIFFER"))
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
