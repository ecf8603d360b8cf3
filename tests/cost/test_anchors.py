"""The calibration anchors (the seed's Vivado HLS 2019.2 synthesis) and the precision trend.

Prints the estimate/synthesis ratio of every anchor figure; each must lie within x1.5
(BRAM within x2). ``fxsim.cost.rules.ANCHOR_RATIOS`` records the measured ranges (the
``uncertainty`` of every Estimate); the test fails if they drift from what is measured here.
"""

from __future__ import annotations

import pytest

from fxsim.cost import estimate_ir, rules

pytestmark = pytest.mark.keras2

RESOURCES = ("lut", "ff", "dsp", "bram_18k")


@pytest.fixture(scope="module")
def anchor_estimates(zoo_emulated):
    return {name: estimate_ir(zoo_emulated(name, rules.ANCHOR_PRECISION), part=rules.ANCHOR_PART,
                              clock_period=rules.ANCHOR_CLOCK_NS)
            for name in rules.ANCHORS}


def test_anchor_ratios(anchor_estimates, capsys):
    ratios: dict[str, list[float]] = {}
    lines = [f"{'model':20s} {'figure':16s} {'synthesis':>10s} {'estimate':>10s} {'ratio':>6s}"]
    for name, figures in rules.ANCHORS.items():
        est = anchor_estimates[name]
        for key, synth in figures.items():
            value = getattr(est, key)
            ratio = value / synth
            ratios.setdefault(key, []).append(ratio)
            lines.append(f"{name:20s} {key:16s} {synth:>10,} {value:>10,.0f} {ratio:>6.2f}")
    with capsys.disabled():
        print("\nfxsim.cost anchor ratios (estimate / Vivado HLS 2019.2):\n" + "\n".join(lines))
    for key, rs in ratios.items():
        bound = 2.0 if key == "bram_18k" else 1.5
        for r in rs:
            assert 1 / bound <= r <= bound, f"{key}: estimate/synthesis {r:.2f} outside x{bound}"
    measured = {k: (round(min(v), 2), round(max(v), 2)) for k, v in ratios.items()}
    assert {k: tuple(v) for k, v in rules.ANCHOR_RATIOS.items()} == measured, (
        f"rules.ANCHOR_RATIOS is stale; measured {measured}")


def test_anchor_estimate_carries_its_uncertainty(anchor_estimates):
    est = anchor_estimates["toptag_lstm_float"]
    assert set(est.uncertainty) >= set(RESOURCES)
    assert est.latency_ns == est.latency_cycles * 5.0
    assert est.fits()


@pytest.mark.parametrize("name", ["toptag_gru_float", "toptag_lstm_float"])
def test_every_resource_smaller_at_8_3_than_16_6(zoo_emulated, name):
    wide = estimate_ir(zoo_emulated(name, "ap_fixed<16,6>"))
    narrow = estimate_ir(zoo_emulated(name, "ap_fixed<8,3>"))
    for key in ("ebops", "lut", "ff"):
        assert getattr(narrow, key) < getattr(wide, key), key
    assert narrow.dsp < wide.dsp and narrow.dsp == 0  # every product below 10 bits goes to LUTs
    # hls4ml keeps the activation tables at their default ap_fixed<18,8> x 1024 under a model-wide
    # type: the same ROMs, the same BRAM, unless the table type shrinks too
    tables = {str(s.table_t) for s in zoo_emulated(name, "ap_fixed<8,3>").layers
              if getattr(s, "table_t", None) is not None}
    assert tables == {"ap_fixed<18,8>"}
    assert narrow.bram_18k == wide.bram_18k
    assert narrow.latency_cycles <= wide.latency_cycles


@pytest.mark.parametrize("name", ["toptag_gru_float", "toptag_lstm_float"])
def test_bram_follows_the_table_size(zoo_emulated, name):
    """The tables' ROMs: one BRAM_18K per two parallel lookups at 1024 entries, LUT memory when shallow."""
    import dataclasses

    from fxsim.model import FxModel

    fx = zoo_emulated(name, "ap_fixed<16,6>")
    rnn = fx.layers[1]
    lookups = {"gru": 3, "lstm": 5}[rnn.cell] * rnn.n_state
    full = estimate_ir(fx)
    assert full.layers[1].bram_18k == lookups // 2
    small = FxModel([fx.layers[0], dataclasses.replace(rnn, table_size=256), *fx.layers[2:]], name="small")
    est = estimate_ir(small)
    assert est.layers[1].bram_18k == 0 and est.bram_18k == full.bram_18k - lookups // 2
    assert est.layers[1].lut > full.layers[1].lut  # the tables moved into LUTs
