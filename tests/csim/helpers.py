"""Shared plumbing of the C-simulation cross-checks: configs, inputs, comparison.

Each check compiles (or loads from ``fxsim.csim``'s build cache) one traced hls4ml
project, runs fxsim and the C simulation on the same inputs, compares every
traced layer's raw codes, records the counts with the ``record`` fixture and
fails on the first mismatching code (printing the first few, with inputs).
"""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

N_SAMPLES = 2000


def keras():
    from tensorflow import keras as k

    return k


def base_config(model, default: str = "fixed<16,6>") -> dict:
    """``config_from_keras_model(granularity='name', backend='Vivado')``."""
    import hls4ml

    return hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado",
                                                default_precision=default)


def set_types(cfg: dict, layer: str, **precisions: str) -> None:
    """``cfg['LayerName'][layer]['Precision'][key] = value`` for each keyword."""
    cfg["LayerName"][layer].setdefault("Precision", {})
    for key, value in precisions.items():
        cfg["LayerName"][layer]["Precision"][key] = value


def grid_inputs(rng: np.random.Generator, n: int, shape: tuple[int, ...], scale: float,
                frac_bits: int = 12) -> np.ndarray:
    """Normal inputs on a ``2**-frac_bits`` grid; the second half doubled to force overflow."""
    x = rng.normal(0.0, scale, (n, *shape))
    x[n // 2:] *= 2.0
    return np.round(x * 2.0**frac_bits) / 2.0**frac_bits


def compare_layers(model, cfg: dict, x: np.ndarray) -> tuple[int, int, str]:
    """Crosscheck every traced layer and the output: ``(codes compared, mismatches, failure text)``."""
    from fxsim import crosscheck

    report = crosscheck(model, x, cfg)
    compared = sum(c.compared for c in report.layers) + report.output.compared
    bad = sum(c.mismatches for c in report.layers) + report.output.mismatches
    lines = []
    if not report.ok:
        flat = x.reshape(x.shape[0], -1)
        lines = [str(report)]
        for c in [*report.layers, report.output]:
            for s, *_ in c.first[:3]:
                lines.append(f"{c.layer} sample {s}: input {flat[s].tolist()}")
    assert report.output.compared >= 1000
    return compared, bad, "\n".join(lines)


def compare_float32_predict(model, cfg: dict, x: np.ndarray) -> tuple[int, int]:
    """``predict`` on float32 inputs, fxsim vs the C simulation, bit for bit: ``(compared, mismatches)``.

    The float32 entry point and its round-half-even output conversion.
    """
    from fxsim import csim, from_hls4ml

    b = csim.build(model, cfg, trace=True)  # the cached build crosscheck uses
    x32 = x.astype(np.float32)
    y_csim = np.asarray(b.predict(x32))
    y_fx = from_hls4ml(b.hls_model).predict(x32)
    assert y_csim.dtype == y_fx.dtype == np.float32 and y_csim.shape == y_fx.shape
    return y_fx.size, int(np.sum(y_csim.view(np.int32) != y_fx.view(np.int32)))


def check(record, section: str, model, cfg: dict, x: np.ndarray) -> None:
    """Crosscheck every traced layer, the output and float32 ``predict``; record and require 0 mismatches."""
    compared, bad, failure = compare_layers(model, cfg, x)
    n32, bad32 = compare_float32_predict(model, cfg, x)
    record(section, compared + n32, bad + bad32, "codes")
    assert bad32 == 0, f"float32 predict differs in {bad32} of {n32} outputs"
    assert bad == 0, failure
