"""Gap decomposition, drift and value ranges on a small QKeras GRU with a planted bottleneck."""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.analysis.drift import recurrent_drift
from fxsim.analysis.gap import decompose
from fxsim.analysis.histograms import value_histograms
from fxsim.fixed import FixedType

pytestmark = pytest.mark.keras2


@pytest.fixture(scope="module")
def bottleneck(gru_study):
    """Everything generous except the GRU accumulator, far too narrow (3 integer bits, 3 fractional)."""
    space = gru_study.space
    return space.with_types(space.generous(), {("gru", "accum"): FixedType(6, 3)})


def test_gap_finds_the_planted_bottleneck(gru_study, bottleneck):
    gap = decompose(gru_study, bottleneck)
    assert abs(gap.generous_metric - gap.float_metric) < 2e-3
    assert gap.hardware_metric < gap.generous_metric - 0.02
    assert gap.qkeras_metric is not None
    layers = {r.name: r for r in gap.layers}
    sources = {r.name: r for r in gap.sources}
    lost = gap.generous_metric - gap.hardware_metric
    # the GRU layer and the accumulators carry the whole gap, alone and when fixed
    for row in (layers["gru"], sources["accumulators"]):
        assert row.recovered == pytest.approx(lost, abs=1e-9)
        assert row.alone == pytest.approx(lost, abs=1e-9)
    for name in ("inputs", "dense_1", "relu_1", "output", "output_sigmoid"):
        assert abs(layers[name].recovered) < 1e-9 and abs(layers[name].alone) < 1e-9
    for name in ("input", "weights", "results/states", "lookup tables"):
        assert abs(sources[name].recovered) < 1e-9
    # only pinned (QKeras-quantizer) types are left out of the layer rows
    assert layers["dense_1"].knobs == ("accum", "result")
    assert [s for s, _, _ in gap.stages()] == [
        "float (Keras)", "QKeras", "hardware (fxsim)", "hardware, all types generous"
    ]


def test_overflow_source_separates_range_from_resolution(gru_study):
    space = gru_study.space
    # generous resolution everywhere but only 1 integer bit in the GRU accumulator: a pure range problem
    p = space.with_types(space.generous(), {("gru", "accum"): FixedType(19, 1)})
    gap = decompose(gru_study, p)
    ov = {r.name: r for r in gap.sources}["overflow"]
    assert gap.overflows["gru"]["gate_preactivation"] > 0
    assert ov.recovered == pytest.approx(gap.generous_metric - gap.hardware_metric, abs=2e-3)
    assert ov.alone > 0.01


def test_drift_grows_when_the_state_is_narrow(gru_study):
    space = gru_study.space
    fine = recurrent_drift(gru_study, space.generous(), 300)
    coarse = recurrent_drift(gru_study, space.uniform(2, 3), 300)
    assert [(d.layer, d.state) for d in fine] == [("gru", "h")]
    assert fine[0].max_abs.max() < 1e-2 and fine[0].mean_abs.max() < 1e-3  # 4096-entry LUTs still quantize a little
    assert coarse[0].mean_abs.mean() > 10 * fine[0].mean_abs.mean()
    assert coarse[0].steps == 6 and coarse[0].type == FixedType(6, 3)


def test_value_ranges_count_what_overflows(gru_study):
    space = gru_study.space
    p = space.uniform(0, 5)  # 1 integer bit: inputs and pre-activations overflow
    hists = {h.label: h for h in value_histograms(gru_study, p, 300)}
    inp = hists["inputs.result"]
    assert inp.out_of_range == inp.overflow > 0  # exact: same rounding, same values
    assert inp.n_values == 300 * 6 * 4
    assert hists["gru.gate_preactivation"].out_of_range > 0
    assert {
        "gru.weight", "gru.recurrent_weight", "gru.h", "gru.z", "dense_1.accum", "output_sigmoid.result"
    } <= set(hists)
    generous = value_histograms(gru_study, space.generous(), 300)
    assert all(h.out_of_range == 0 for h in generous)
    for h in generous:
        assert h.reference.sum() + h.reference_zeros == h.n_values
        assert np.all(h.hardware >= 0)
