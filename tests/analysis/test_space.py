"""The precision space: knobs, LSTM ties, uniform points, hls4ml settings, costs."""

from __future__ import annotations

import pytest

from fxsim.analysis.space import GENEROUS, SOURCES, Space, source_knobs
from fxsim.fixed import FixedType
from tests.analysis.helpers import toy_specs

pytestmark = pytest.mark.core


def test_knobs_follow_the_layers():
    space = Space(toy_specs("gru"))
    assert [l.name for l in space.layers] == ["inputs", "gru", "dense_1", "relu_1", "output", "output_sigmoid"]
    assert space.layer("gru").knobs == (
        "weight", "recurrent_weight", "bias", "recurrent_bias", "accum", "result", "table_t"
    )
    assert space.layer("relu_1").knobs == ("result",)  # relu has no table
    assert space.layer("output_sigmoid").knobs == ("result", "table_t")
    assert space.layer("dense_1").source == "gru"
    assert space.table_layers() == ["gru", "output_sigmoid"]
    assert space.base.table_sizes == {"gru": 1024, "output_sigmoid": 1024}
    assert space.base.type("relu_1", "result") == FixedType(8, 2, False, "RND_CONV", "SAT")
    # GRU has no tied knobs: every group is a single knob
    assert all(len(g) == 1 for g in space.groups())


def test_lstm_input_accum_result_are_tied():
    space = Space(toy_specs("lstm"))
    assert "recurrent_bias" not in space.layer("lstm").knobs  # always zero in hls4ml's LSTM
    tie = {("inputs", "result"), ("lstm", "accum"), ("lstm", "result")}
    assert set(space.tied(("lstm", "accum"))) == tie
    p = space.with_types(space.base, {("lstm", "accum"): FixedType(12, 4)})
    assert {k for k, t in p.types.items() if t == FixedType(12, 4)} == tie
    assert sum(len(g) == 3 for g in space.groups()) == 1


def test_uniform_sets_every_type_but_the_tables():
    space = Space(toy_specs("gru"))
    p = space.uniform(2, 5)
    for (layer, q), t in p.types.items():
        if q == "table_t":
            assert t == FixedType(18, 8)
        else:
            assert t == FixedType(8, 3), (layer, q)
    assert p.table_sizes == space.base.table_sizes
    with pytest.raises(ValueError, match="integer >= 0"):
        space.uniform(-1, 4)


def test_generous_and_widened_integers():
    space = Space(toy_specs("gru"))
    p = space.generous([("gru", "accum"), ("gru", "table_t")], space.uniform(0, 4))
    assert p.type("gru", "accum") == GENEROUS
    assert p.type("gru", "table_t").width == 24 and p.table_sizes["gru"] == 4096
    assert p.type("gru", "result") == FixedType(5, 1)
    assert p.type("relu_1", "result") == FixedType(5, 1)
    w = space.widen_integers(space.uniform(0, 4))
    assert w.type("gru", "accum") == FixedType(14, 10)  # 4 fractional bits kept
    assert space.generous(None, space.base).type("relu_1", "result").signed is False  # signedness kept


def test_overrides_and_apply_write_hls4ml_keys():
    space = Space(toy_specs("gru"))
    p = space.with_tables(space.uniform(1, 6), {"gru": 512})
    over = space.overrides(p)
    assert over["gru"]["Precision"]["accum"] == "fixed<8,2,TRN,WRAP,0>"
    assert over["gru"]["table_t"] == "fixed<18,8,TRN,WRAP,0>"
    assert over["gru"]["TableSize"] == 512
    assert over["inputs"] == {"Precision": {"result": "fixed<8,2,TRN,WRAP,0>"}}
    config = {"Model": {"Precision": {"default": "fixed<16,6>"}, "ReuseFactor": 1},
              "LayerName": {"gru": {"Precision": "fixed<10,4>", "Static": True}}}
    full = space.apply(config, p)
    assert full["LayerName"]["gru"]["Precision"]["default"] == "fixed<10,4>"
    assert full["LayerName"]["gru"]["Precision"]["weight"] == "fixed<8,2,TRN,WRAP,0>"
    assert full["LayerName"]["gru"]["Static"] is True and full["Model"]["ReuseFactor"] == 1
    assert config["LayerName"]["gru"]["Precision"] == "fixed<10,4>"  # input untouched
    with pytest.raises(ValueError, match="no lookup table"):
        space.with_tables(p, {"dense_1": 64})
    with pytest.raises(ValueError, match="has no knob"):
        space.with_types(p, {("relu_1", "accum"): FixedType(8, 2)})


def test_costs_by_hand():
    space = Space(toy_specs("gru"))
    p = space.uniform(1, 6)  # every type 8 bits wide, tables 18 bits
    n_knobs = len(space.keys)
    assert space.total_bits(p) == 8 * (n_knobs - 2) + 18 * 2
    # GRU(4) on 3 inputs: x*W 3*12, h*U 4*12, r*(Uh), hc*(1-z), h*z 4 each; dense 4*2; output 2*1
    assert space.multiplier_cost(p) == (36 + 48 + 12 + 8 + 2) * 16
    p2 = space.with_types(p, {("gru", "recurrent_weight"): FixedType(4, 1)})
    assert space.multiplier_cost(p) - space.multiplier_cost(p2) == 48 * 4
    assert space.table_bits(p) == 2 * 1024 * 18


def test_sources_cover_the_knobs():
    space = Space(toy_specs("gru"))
    covered = set()
    for s in SOURCES:
        covered |= set(source_knobs(space, s))
    assert covered == set(space.keys)
    assert source_knobs(space, "input") == [("inputs", "result")]
    assert ("inputs", "result") not in source_knobs(space, "results/states")
    with pytest.raises(ValueError, match="unknown source"):
        source_knobs(space, "gates")


def test_point_keys_are_canonical():
    space = Space(toy_specs("gru"))
    a = space.uniform(1, 6)
    b = space.with_types(space.uniform(2, 5), {k: FixedType(8, 2) for k in space.keys if k[1] != "table_t"})
    assert a == b and hash(a) == hash(b) and a.key == b.key
    assert a != space.uniform(1, 5)


def test_pinned_types_stay_put():
    space = Space(toy_specs("gru"))
    space.pin({("dense_1", "weight"): "quantizer"})
    assert ("dense_1", "weight") not in space.keys and ("dense_1", "weight") in space.all_keys
    p = space.uniform(1, 4)
    assert p.type("dense_1", "weight") == space.base.type("dense_1", "weight")
    assert "weight" not in space.overrides(p)["dense_1"]["Precision"]
    with pytest.raises(ValueError, match="cannot be changed"):
        space.with_types(p, {("dense_1", "weight"): FixedType(4, 1)})
    lstm = Space(toy_specs("lstm"))
    with pytest.raises(ValueError, match="tied"):
        lstm.pin({("lstm", "accum"): "x"})
