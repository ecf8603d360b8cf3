"""Dense stacks against hls4ml's C simulation: widths 4..32, every rounding and overflow
mode in accum/result, integer and unsigned types, Latency and Resource (RF > 1, both
resource kernels) with saturating accumulators, inputs large enough to overflow.

One table of named cases drives the parametrisation; each case is one compiled,
traced model whose every layer is compared code for code on 2000 samples.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from tests.csim.helpers import N_SAMPLES, base_config, check, grid_inputs, keras, set_types

pytestmark = [pytest.mark.csim, pytest.mark.keras2]


def _stack(seed: int, n_in: int, sizes: list[int], activation: str | None = None, weight_scale: float = 1.0):
    k = keras()
    k.utils.set_random_seed(seed)
    inp = k.Input((n_in,), name="x")
    h = inp
    for i, n in enumerate(sizes):
        h = k.layers.Dense(n, activation=activation if i < len(sizes) - 1 else None, name=f"fc{i}",
                           kernel_initializer=k.initializers.RandomNormal(stddev=weight_scale),
                           bias_initializer=k.initializers.RandomNormal(stddev=0.5))(h)
    return k.Model(inp, h)


def case_default_latency():
    """Default config: auto-inferred wide Dense types, floor + wrap input conversion."""
    m = _stack(1, 10, [16, 8, 4], "relu")
    return m, base_config(m), 3.0


def case_modes_a():
    """Narrow accum/result with RND+SAT, RND_CONV+SAT_SYM, TRN_ZERO+WRAP; 4..12-bit widths."""
    m = _stack(2, 8, [12, 6, 3])
    cfg = base_config(m)
    set_types(cfg, "x", result="ap_fixed<10,4,AP_RND,AP_SAT>")
    set_types(cfg, "fc0", weight="ap_fixed<6,2>", bias="ap_fixed<8,3>", accum="ap_fixed<12,5,AP_RND,AP_SAT>",
              result="ap_fixed<8,4,AP_RND_CONV,AP_SAT_SYM>")
    set_types(cfg, "fc1", weight="ap_fixed<5,1>", bias="ap_fixed<4,2>", accum="ap_fixed<9,4,AP_RND_CONV,AP_SAT_SYM>",
              result="ap_fixed<6,3,AP_TRN_ZERO,AP_WRAP>")
    set_types(cfg, "fc2", weight="ap_fixed<4,1>", bias="ap_fixed<4,1>", accum="ap_fixed<7,3,AP_TRN_ZERO,AP_WRAP>",
              result="ap_fixed<4,2,AP_RND,AP_SAT>")
    return m, cfg, 4.0


def case_modes_b():
    """RND_ZERO+SAT_ZERO, RND_INF+SAT, RND_MIN_INF+WRAP; unsigned and integer types."""
    m = _stack(3, 6, [10, 7, 5])
    cfg = base_config(m)
    set_types(cfg, "x", result="ap_fixed<12,5,AP_RND_INF,AP_SAT_SYM>")
    set_types(cfg, "fc0", weight="ap_int<4>", bias="ap_int<3>", accum="ap_fixed<14,8,AP_RND_ZERO,AP_SAT_ZERO>",
              result="ap_ufixed<9,5,AP_RND_INF,AP_SAT>")
    set_types(cfg, "fc1", weight="ap_fixed<7,2,AP_RND,AP_SAT>", bias="ap_ufixed<6,2>",
              accum="ap_fixed<11,6,AP_RND_INF,AP_SAT>", result="ap_fixed<9,6,AP_RND_MIN_INF,AP_WRAP>")
    set_types(cfg, "fc2", weight="ap_fixed<8,3>", bias="ap_fixed<8,3>", accum="ap_fixed<10,5,AP_RND_MIN_INF,AP_WRAP>",
              result="ap_fixed<5,3,AP_RND_ZERO,AP_SAT_ZERO>")
    return m, cfg, 6.0


def case_wide():
    """24..32-bit accumulators and results, 18-bit weights, 32-bit output."""
    m = _stack(4, 12, [20, 9])
    cfg = base_config(m)
    set_types(cfg, "x", result="ap_fixed<24,8>")
    set_types(cfg, "fc0", weight="ap_fixed<18,4>", bias="ap_fixed<18,6>", accum="ap_fixed<32,10,AP_RND,AP_SAT>",
              result="ap_fixed<28,9,AP_RND_CONV,AP_WRAP>")
    set_types(cfg, "fc1", weight="ap_fixed<18,3>", bias="ap_fixed<16,5>", accum="ap_fixed<30,8>",
              result="ap_fixed<32,8,AP_RND,AP_SAT>")
    return m, cfg, 20.0


def case_resource_rf():
    """Resource with RF > 1: rf_leq_nin (16x8, RF=4) and rf_gt_nin_rem0 (8x6, RF=16), SAT accumulators."""
    m = _stack(5, 16, [8, 6, 4])
    cfg = base_config(m)
    cfg["Model"]["Strategy"] = "Resource"
    for name, rf in (("fc0", 4), ("fc1", 16), ("fc2", 3)):
        cfg["LayerName"][name]["Strategy"] = "Resource"
        cfg["LayerName"][name]["ReuseFactor"] = rf
    set_types(cfg, "fc0", weight="ap_fixed<8,2>", accum="ap_fixed<9,3,AP_TRN,AP_SAT>", result="ap_fixed<10,4>")
    set_types(cfg, "fc1", weight="ap_fixed<8,2>", accum="ap_fixed<8,3,AP_RND,AP_SAT>", result="ap_fixed<8,3>")
    set_types(cfg, "fc2", weight="ap_fixed<6,2>", accum="ap_fixed<7,2,AP_TRN,AP_SAT_SYM>", result="ap_fixed<7,2>")
    return m, cfg, 3.0


def case_resource_rf1_and_latency_sat():
    """Resource RF=1 and RF=20 (transposed weights; rf_leq_nin and rf_gt_nin_rem0) next to Latency, SAT accumulators."""
    m = _stack(6, 12, [10, 10, 2])
    cfg = base_config(m)
    cfg["LayerName"]["fc0"]["Strategy"] = "Resource"
    cfg["LayerName"]["fc0"]["ReuseFactor"] = 1
    cfg["LayerName"]["fc2"]["Strategy"] = "Resource"
    cfg["LayerName"]["fc2"]["ReuseFactor"] = 20
    for name in ("fc0", "fc1", "fc2"):
        set_types(cfg, name, weight="ap_fixed<8,3>", accum="ap_fixed<8,4,AP_TRN,AP_SAT>", result="ap_fixed<10,5>")
    return m, cfg, 3.0


CASES = {
    "default_latency": case_default_latency,
    "modes_a": case_modes_a,
    "modes_b": case_modes_b,
    "wide": case_wide,
    "resource_rf": case_resource_rf,
    "resource_rf1_latency_sat": case_resource_rf1_and_latency_sat,
}


@pytest.mark.parametrize("name", list(CASES))
def test_dense_stack_matches_csim(name, record):
    model, cfg, scale = CASES[name]()
    x = grid_inputs(np.random.default_rng(zlib.crc32(name.encode())), N_SAMPLES, model.input_shape[1:], scale)
    check(record, "csim dense", model, cfg, x)
