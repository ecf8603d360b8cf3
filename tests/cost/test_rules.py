"""The model's rules on hand-made IR (real fxsim IR specs, no conversion): reuse, static, pruning, devices."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fxsim.cost import Device, estimate, estimate_ir, get_device, valid_reuse_factors
from fxsim.fixed import FixedType
from fxsim.ir import DenseSpec, InputSpec, RecurrentSpec
from fxsim.model import FxModel

pytestmark = pytest.mark.core

T16 = FixedType(16, 6)


def dense_model(weight: np.ndarray, t: FixedType = T16, **kw) -> FxModel:
    n_in, n_out = weight.shape
    d = DenseSpec("d", t, weight.astype(np.int64), np.zeros(n_out, dtype=np.int64), t, t, t, t, **kw)
    return FxModel([InputSpec("x", (n_in,), t), d], name="dense")


def gru_model(static: bool = True, rf: int = 1, strategy: str = "latency", T: int = 8, n: int = 4,
              n_in: int = 3, rrf: int | None = None) -> FxModel:
    rng = np.random.default_rng(1)
    w = rng.integers(-700, 700, size=(n_in, 3 * n))
    u = rng.integers(-700, 700, size=(n, 3 * n))
    spec = RecurrentSpec("gru", "gru", T16, T, w, u, np.zeros(3 * n, dtype=np.int64), np.zeros(3 * n, dtype=np.int64),
                         T16, T16, T16, T16, T16, T16, FixedType(18, 8), 1024, "tanh", "sigmoid", static=static,
                         strategy=strategy, reuse_factor=rf, recurrent_reuse_factor=rrf)
    return FxModel([InputSpec("x", (T, n_in), T16), spec], name="gru")


def test_zero_and_power_of_two_weights_cost_no_multiplier():
    w = np.array([[0, 1, 512, -256], [0, 4, -2, 0]])  # zeros and powers of two only
    est = estimate_ir(dense_model(w))
    assert est.dsp == 0
    d = est.layers[1].detail
    assert d["zero_weights"] == 3 and d["shift_products"] == 5 and d["dsp_products"] == 0 and d["lut_products"] == 0


def test_wide_constants_go_to_dsps_narrow_ones_to_luts():
    wide = estimate_ir(dense_model(np.full((4, 4), 1001)))  # 1111101001b: 11 signed bits
    narrow = estimate_ir(dense_model(np.full((4, 4), 37)))  # 100101b: 7 signed bits
    assert wide.dsp == 16 and narrow.dsp == 0
    assert narrow.lut > 0


def test_products_wider_than_a_dsp_tile_several_slices():
    t = FixedType(32, 12)
    est = estimate_ir(dense_model(np.full((2, 1), (1 << 25) + 12345), t=t))
    # 32 x 27-bit product on a 27 x 18 DSP48E2: ceil(32/27) * ceil(27/18) = 4 slices
    assert est.dsp == 2 * 4
    small_part = estimate_ir(dense_model(np.full((2, 1), (1 << 25) + 12345), t=t), part="xc7z020clg400-1")
    assert small_part.dsp == 2 * 4  # DSP48E1 25 x 18: ceil(32/25) * ceil(27/18)


def test_reuse_factor_divides_multipliers_and_multiplies_the_interval():
    base = estimate_ir(gru_model())
    for rf, rrf in ((3, 4), (12, 12)):
        shared = estimate_ir(gru_model(rf=rf, rrf=rrf, strategy="resource"))
        assert shared.dsp < base.dsp
        assert shared.interval_cycles > base.interval_cycles
        assert shared.layers[1].detail["step_cycles"] >= base.layers[1].detail["step_cycles"] + max(rf, rrf) - 1


def test_static_interval_grows_with_the_sequence_non_static_copies_the_cell():
    short, long = estimate_ir(gru_model(T=4)), estimate_ir(gru_model(T=16))
    step = short.layers[1].detail["step_cycles"]
    assert short.interval_cycles == 4 * step and long.interval_cycles == 16 * step
    assert long.dsp == short.dsp  # one cell instance
    unrolled = estimate_ir(gru_model(static=False, T=4))
    assert unrolled.interval_cycles == 1 and unrolled.layers[1].instances == 4
    assert unrolled.dsp == 4 * short.dsp
    assert unrolled.latency_cycles == short.latency_cycles


def test_valid_reuse_factors_are_hls4mls():
    from hls4ml.backends import get_backend

    backend = get_backend("Vivado")
    for n_in, n_out in ((6, 60), (20, 64), (64, 1), (20, 80)):
        assert valid_reuse_factors(n_in, n_out) == backend.get_valid_reuse_factors(n_in, n_out)


# --- bad input -------------------------------------------------------------------------


def test_unknown_part_says_how_to_give_the_resources():
    with pytest.raises(ValueError, match=r"unknown FPGA part 'xc9zzz'.*Device\(lut=.*--device-resources"):
        estimate_ir(gru_model(), part="xc9zzz")


def test_custom_device_and_fit():
    tiny = Device(lut=1000, ff=1000, dsp=10, bram_18k=2, name="tiny")
    est = estimate_ir(gru_model(), device=tiny)
    assert est.part == "tiny" and not est.fits()
    assert est.utilization()["dsp"] == est.dsp / 10
    assert estimate_ir(gru_model(), part="xcvu9p-flga2104-2L-e").fits()
    with pytest.raises(ValueError, match="non-negative integer"):
        Device(lut=-1, ff=1, dsp=1, bram_18k=1)


@pytest.mark.parametrize("clock", [0, -5.0, float("nan"), "5"])
def test_clock_must_be_positive(clock):
    with pytest.raises(ValueError, match="clock_period"):
        estimate_ir(gru_model(), clock_period=clock)


def test_reuse_factor_hls4ml_rejects():
    # 7 does not divide 3 x 12 = 36: hls4ml would move it; fxsim refuses it naming the valid ones
    with pytest.raises(ValueError, match=r"reuse_factor=7 is not valid .* valid: 1, 3, 6, 9"):
        estimate_ir(gru_model(rf=7, strategy="resource"))
    d = dense_model(np.ones((4, 4), dtype=np.int64), strategy="resource", reuse_factor=5)
    with pytest.raises(ValueError, match="reuse_factor=5"):
        estimate_ir(d)


def test_unknown_strategy():
    with pytest.raises(ValueError, match="strategy 'distributed_arithmetic' has no cost model"):
        estimate_ir(dense_model(np.ones((2, 2), dtype=np.int64), strategy="distributed_arithmetic"))


def test_fxmodel_takes_no_precision():
    with pytest.raises(ValueError, match="takes no precision"):
        estimate(gru_model(), "ap_fixed<8,3>")
    assert estimate(gru_model()).dsp == estimate_ir(gru_model()).dsp


def test_estimate_outputs():
    est = estimate_ir(gru_model())
    doc = est.to_dict()
    import json

    json.dumps(doc)
    assert doc["dsp"] == est.dsp and len(doc["layers"]) == 2 and doc["layers"][1]["class"] == "GRU"
    text = est.table()
    assert "total" in text and "not a synthesis" in text
    assert dataclasses.is_dataclass(est)
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.lut = 0
    assert get_device("XCU250-FIGD2104-2L-E").dsp == 12_288


def test_fxmodel_estimate_method():
    fx = gru_model()
    assert fx.estimate(part="xczu9eg-ffvb1156-2-e").to_dict() == estimate_ir(fx, part="xczu9eg-ffvb1156-2-e").to_dict()


def test_latency_strategy_takes_any_reuse_factor_as_hls4ml_does():
    # hls4ml validates reuse factors of the Resource strategy only; Latency shares ceil(n/R) multipliers
    est = estimate_ir(dense_model(np.full((4, 4), 1001), reuse_factor=5))
    assert est.dsp == 4 and est.interval_cycles == 5


def _tree_model(weight: np.ndarray, input_t: FixedType, accum_t: FixedType, bias: np.ndarray | None = None) -> FxModel:
    n_in, n_out = weight.shape
    b = np.zeros(n_out, dtype=np.int64) if bias is None else bias
    d = DenseSpec("d", input_t, weight.astype(np.int64), b, FixedType(8, 3), FixedType(8, 3), accum_t, accum_t)
    return FxModel([InputSpec("x", (n_in,), input_t), d], name="tree")


def test_adder_tree_adders_are_as_wide_as_their_operands_up_to_accum():
    # 4 products of a 4-bit input by the code 3 (3 signed bits): 7-bit operands. Pairwise in
    # order: two adders of 8 bits, then one of 9 (rules.ADDER_CARRY_BITS), per output.
    w = np.full((4, 2), 3)
    wide = estimate_ir(_tree_model(w, FixedType(4, 2), FixedType(20, 8))).layers[1].detail
    assert wide["adders"] == 2 * 3 and wide["adder_tree_bits"] == 2 * (8 + 8 + 9)
    # a wider accum_t changes nothing the sums can reach; a narrower one trims every adder to it
    wider = estimate_ir(_tree_model(w, FixedType(4, 2), FixedType(30, 12))).layers[1].detail
    assert wider["adder_tree_bits"] == wide["adder_tree_bits"]
    capped = estimate_ir(_tree_model(w, FixedType(4, 2), FixedType(8, 4))).layers[1].detail
    assert capped["adder_tree_bits"] == 2 * (8 + 8 + 8)
    # a nonzero bias is one more operand (its signed width), added first; zero weights drop out
    w0 = np.array([[3, 0], [3, 3], [0, 3], [3, 3]])
    d = estimate_ir(_tree_model(w0, FixedType(4, 2), FixedType(20, 8), bias=np.array([1, 0]))).layers[1].detail
    # column 0: bias (2 bits) + 3 products (7): 8, 8, then 9; column 1: 3 products: 8, then 9
    assert d["adders"] == 3 + 2 and d["adder_tree_bits"] == (8 + 8 + 9) + (8 + 9)


def test_narrower_inputs_cost_fewer_adder_luts_at_the_same_accum():
    rng = np.random.default_rng(3)
    w = rng.integers(-100, 100, size=(64, 8))
    acc = FixedType(24, 10)
    narrow = estimate_ir(_tree_model(w, FixedType(6, 2), acc)).layers[1]
    wide = estimate_ir(_tree_model(w, FixedType(14, 6), acc)).layers[1]
    assert narrow.detail["adders"] == wide.detail["adders"]
    assert narrow.detail["adder_tree_bits"] < wide.detail["adder_tree_bits"] <= wide.detail["adders"] * acc.width
