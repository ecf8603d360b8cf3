"""Cost rules of the wrapper and convolutional layers on hand-made IR (real fxsim specs, no conversion;
``test_wrappers_keras.py`` costs a real hls4ml conversion).

Bidirectional = its two recurrent halves side by side (resources summed, the input sequence held
once, the slower half's latency); TimeDistributed = the wrapped layers once per time step (copies
under the pipeline style, one copy run T times under DATAFLOW); Conv1D = one pixel's kernel over the
output positions; pooling = comparator/adder chains.
"""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.cost import estimate_ir
from fxsim.fixed import FixedType
from fxsim.ir import (
    BidirectionalSpec,
    Conv1DSpec,
    DenseSpec,
    InputSpec,
    Pooling1DSpec,
    RecurrentSpec,
    TimeDistributedSpec,
)
from fxsim.model import FxModel

pytestmark = pytest.mark.core

T16 = FixedType(16, 6)
TABLE = FixedType(18, 8)


def _codes(rng, shape, t: FixedType, scale: float = 0.5) -> np.ndarray:
    """Codes of ``t`` for N(0, scale) weights (nearest code, as quantising real weights)."""
    return np.round(rng.normal(0.0, scale, shape) * 2.0 ** t.frac).astype(np.int64)


def recurrent(name: str, cell: str = "gru", n: int = 4, n_in: int = 3, T: int = 6, t: FixedType = T16,
              static: bool = True, seed: int = 1, return_sequences: bool = False, strategy: str = "latency",
              rf: int = 1) -> RecurrentSpec:
    rng = np.random.default_rng(seed)
    k = 4 if cell == "lstm" else 3
    zeros = np.zeros(k * n, dtype=np.int64)
    return RecurrentSpec(name, cell, t, T, _codes(rng, (n_in, k * n), t), _codes(rng, (n, k * n), t),
                         _codes(rng, (k * n,), t), zeros, t, t, t, t, t, t, TABLE, 1024, "tanh", "sigmoid",
                         return_sequences=return_sequences, static=static, strategy=strategy, reuse_factor=rf)


def alone(spec: RecurrentSpec) -> FxModel:
    return FxModel([InputSpec("x", (spec.n_timesteps, spec.n_in), spec.input_t), spec], name=spec.name)


def bidirectional(fwd: RecurrentSpec, bwd: RecurrentSpec) -> FxModel:
    spec = BidirectionalSpec("bi", fwd, bwd)
    return FxModel([InputSpec("x", (fwd.n_timesteps, fwd.n_in), fwd.input_t), spec], name="bi")


# --- Bidirectional ---------------------------------------------------------------------------


@pytest.mark.parametrize("static", [True, False])
@pytest.mark.parametrize("cells", [("gru", "gru"), ("lstm", "lstm")])
def test_bidirectional_is_the_sum_of_its_halves(static, cells):
    fwd = recurrent("bi/forward", cells[0], n=4, static=static, seed=1, return_sequences=True)
    bwd = recurrent("bi/backward", cells[1], n=6, static=static, seed=2, return_sequences=True)
    bi = estimate_ir(bidirectional(fwd, bwd)).layers[1]
    f, b = estimate_ir(alone(fwd)).layers[1], estimate_ir(alone(bwd)).layers[1]
    assert bi.dsp == f.dsp + b.dsp > 0
    assert bi.bram_18k == f.bram_18k + b.bram_18k
    assert bi.lut == pytest.approx(f.lut + b.lut)
    assert bi.ebops == pytest.approx(f.ebops + b.ebops)
    # one copy of the input sequence serves both halves
    shared = bi.detail["shared_input_ff"]
    seq_bits = fwd.n_in * fwd.input_t.width
    if static:
        assert shared == fwd.n_timesteps * seq_bits
    else:
        assert 0 < shared < min(f.ff, b.ff)
    assert bi.ff == pytest.approx(f.ff + b.ff - shared)
    assert bi.latency_cycles == max(f.latency_cycles, b.latency_cycles)
    assert bi.interval_cycles == max(f.interval_cycles, b.interval_cycles)
    assert bi.instances == f.instances + b.instances == (2 if static else 2 * fwd.n_timesteps)
    assert bi.cls == f"Bidirectional({cells[0].upper()})"


def test_bidirectional_estimate_totals_and_json():
    fwd, bwd = recurrent("bi/forward", seed=3), recurrent("bi/backward", seed=4)
    est = estimate_ir(bidirectional(fwd, bwd))
    row = est.layers[1]
    assert est.dsp == row.dsp and est.ebops == pytest.approx(row.ebops)
    assert est.interval_cycles == row.interval_cycles == fwd.n_timesteps * row.detail["step_cycles"]
    doc = est.to_dict()
    assert doc["layers"][1]["detail"]["forward"]["step_cycles"] == row.detail["forward"]["step_cycles"]
    assert "Bidirectional" in est.table()


def test_bidirectional_resource_reuse_shares_multipliers():
    lat = estimate_ir(bidirectional(recurrent("f", n=4), recurrent("b", n=4, seed=2))).layers[1]
    # 12 is valid for both kernels (3 x 12 and 4 x 12) under hls4ml's rule
    res = estimate_ir(bidirectional(recurrent("f", n=4, strategy="resource", rf=12),
                                    recurrent("b", n=4, seed=2, strategy="resource", rf=12))).layers[1]
    assert res.detail["forward"]["multipliers"] == 3 * 12 // 12 + 4 * 12 // 12
    assert res.dsp < lat.dsp and res.interval_cycles > lat.interval_cycles


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_bidirectional_ebops_grow_with_the_fractional_bits(cell):
    """The same real weights at more fractional bits: every EBOP count can only grow
    (round(2x) has at least the effective bits of round(x)), and the input width grows."""
    previous = -1.0
    for frac in (3, 5, 7, 9, 11):
        t = FixedType(frac + 5, 5)
        fwd = recurrent("f", cell, t=t, seed=7)
        bwd = recurrent("b", cell, t=t, seed=8)
        e = estimate_ir(bidirectional(fwd, bwd))
        assert e.ebops > previous
        previous = e.ebops


# --- TimeDistributed -------------------------------------------------------------------------


def dense(name: str, n_in: int, n_out: int, seed: int = 5, t: FixedType = T16, **kw) -> DenseSpec:
    rng = np.random.default_rng(seed)
    return DenseSpec(name, t, _codes(rng, (n_in, n_out), t), _codes(rng, (n_out,), t), t, t, t, t, **kw)


def td_model(T: int = 5, n_in: int = 4, n_out: int = 3, **kw) -> tuple[FxModel, FxModel]:
    """(x -> TimeDistributed(Dense)) and (x_step -> the same Dense) models."""
    d = dense("tdd", n_in, n_out, **kw)
    td = TimeDistributedSpec("td_end", T, (d,), T16)
    return (FxModel([InputSpec("x", (T, n_in), T16), td], name="td"),
            FxModel([InputSpec("x", (n_in,), T16), d], name="dense"))


def test_time_distributed_latency_strategy_is_one_copy_per_step():
    T = 5
    model, step = td_model(T)
    row, one = estimate_ir(model).layers[1], estimate_ir(step).layers[1]
    assert row.instances == T and row.detail["time_step_loop"] == "unrolled"
    assert row.dsp == T * one.dsp > 0
    assert row.lut == pytest.approx(T * one.lut)
    assert row.ebops == pytest.approx(T * one.ebops)
    assert row.latency_cycles == one.latency_cycles and row.interval_cycles == one.interval_cycles == 1
    assert row.cls == "TimeDistributed(Dense)"


def test_time_distributed_in_a_dataflow_design_runs_one_copy_per_step():
    T = 6
    model, step = td_model(T, strategy="resource", reuse_factor=2)
    row, one = estimate_ir(model).layers[1], estimate_ir(step).layers[1]
    assert row.instances == 1 and row.detail["time_step_loop"] == "rolled"
    assert row.dsp == one.dsp
    assert row.ebops == pytest.approx(T * one.ebops)  # the products of every step still count
    assert row.interval_cycles == T * row.detail["step_cycles"] >= T * one.latency_cycles
    assert row.ff >= T * 3 * T16.width  # the output sequence is held while the loop runs
    # the same loop in a Latency design is T copies, interval 1
    fast = estimate_ir(td_model(T)[0]).layers[1]
    assert fast.interval_cycles == 1 and fast.dsp > row.dsp


def test_time_distributed_after_a_gru_in_a_model():
    gru = recurrent("rnn", n=4, T=5, return_sequences=True)
    d = dense("tdd", 4, 2)
    td = TimeDistributedSpec("td_end", 5, (d,), T16)
    est = estimate_ir(FxModel([InputSpec("x", (5, 3), T16), gru, td], name="gru_td"))
    assert [c.cls for c in est.layers] == ["Input", "GRU", "TimeDistributed(Dense)"]
    assert est.latency_cycles > est.layers[1].latency_cycles


def test_time_distributed_needs_its_input_shape():
    from fxsim.cost.model import _Schedule, layer_cost
    from fxsim.cost.devices import get_device

    model, _ = td_model()
    with pytest.raises(ValueError, match="TimeDistributed.*input shape"):
        layer_cost(model.layers[1], _Schedule(5.0), get_device("xcu250-figd2104-2L-e"), 15)


# --- Conv1D and pooling ----------------------------------------------------------------------


def conv(in_width: int = 12, k: int = 3, c: int = 2, f: int = 4, stride: int = 1, **kw) -> Conv1DSpec:
    rng = np.random.default_rng(9)
    return Conv1DSpec("conv", T16, _codes(rng, (k, c, f), T16), _codes(rng, (f,), T16), T16, T16, T16, T16,
                      in_width, stride=stride, **kw)


def test_conv1d_is_one_pixel_kernel_over_the_output_positions():
    spec = conv()
    est = estimate_ir(FxModel([InputSpec("x", (12, 2), T16), spec], name="conv")).layers[1]
    pixel = DenseSpec("pixel", T16, spec.weight.reshape(-1, spec.n_filt), spec.bias, T16, T16, T16, T16)
    one = estimate_ir(FxModel([InputSpec("x", (6,), T16), pixel], name="pixel")).layers[1]
    assert est.dsp == one.dsp
    assert est.ebops == pytest.approx(spec.out_width * one.ebops)
    assert est.interval_cycles == spec.out_width
    wider = conv(in_width=24)
    est2 = estimate_ir(FxModel([InputSpec("x", (24, 2), T16), wider], name="conv")).layers[1]
    assert est2.latency_cycles > est.latency_cycles and est2.dsp == est.dsp


def test_pooling_counts_a_chain_per_output_and_channel():
    t = FixedType(12, 4)
    mx = Pooling1DSpec("pool", "max", t, t, t, n_in=10, n_filt=3, pool_width=2, stride=2)
    avg = Pooling1DSpec("pool", "average", t, t, t, n_in=9, n_filt=3, pool_width=3, stride=3)
    e_max = estimate_ir(FxModel([InputSpec("x", (10, 3), t), mx], name="mx")).layers[1]
    e_avg = estimate_ir(FxModel([InputSpec("x", (9, 3), t), avg], name="avg")).layers[1]
    assert e_max.detail["max_comparators"] == 5 * 3 * 1 and e_max.dsp == 0
    assert e_avg.detail["adders"] == 3 * 3 * 2 and e_avg.detail["constant_divisions"] == 3 * 3
