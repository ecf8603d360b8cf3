"""Bit selection end to end on a small QKeras GRU: fxsim's choice, one real C simulation, the report folder."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from fxsim.analysis.pipeline import bits_curve, select_bits
from fxsim.analysis.report import write_report

pytestmark = pytest.mark.keras2


@pytest.fixture(scope="module")
def selection(gru_study):
    return select_bits(gru_study, target=0.97, integers=(1, 2, 3), max_fractional=10, max_evaluations=80,
                       fresh_build=False)


@pytest.mark.csim
def test_selection_meets_the_target_in_c_simulation(gru_study, selection, record):
    sel, space = selection, gru_study.space
    assert sel.uniform is not None and sel.point is not None
    assert sel.uniform.metric >= sel.threshold and sel.uniform_holdout >= sel.holdout_threshold
    assert sel.metric >= sel.threshold and sel.metric_holdout >= sel.holdout_threshold
    assert space.total_bits(sel.point) < space.total_bits(sel.uniform.point)
    v = sel.verification
    record("analysis / selected configuration vs C simulation", v.compared, v.mismatches, "output codes")
    assert v.held_out and v.n_samples == len(gru_study.x_holdout)
    assert v.mismatches == 0
    assert v.metric_csim == v.metric_fxsim == pytest.approx(sel.metric_holdout)
    assert v.metric_csim >= sel.holdout_threshold


def test_selected_config_file_builds_the_selected_types(gru_study, gru_model, selection, tmp_path):
    """The written YAML, read back and given to hls4ml, builds exactly the selected types."""
    from fxsim import from_hls4ml
    from fxsim.frontends.keras import convert

    files = write_report(tmp_path, gru_study, selection=selection, curve=[], title="t")
    config = yaml.safe_load((tmp_path / "selected_config.yml").read_text())
    assert config == json.loads((tmp_path / "selected_config.json").read_text())
    fx = from_hls4ml(convert(gru_model, config).hls_model)
    built = {s.name: s for s in fx.layers}
    for (layer, q), t in selection.point.types.items():
        assert getattr(built[layer], q if q == "table_t" else f"{q}_t") == t, (layer, q)
    for layer, n in selection.point.table_sizes.items():
        assert built[layer].table_size == n
    summary = (tmp_path / "summary.md").read_text()
    for heading in ("## Bit selection", "### Verified with hls4ml's C simulation", "### Types", "### Search steps"):
        assert heading in summary
    assert (tmp_path / "plots" / "selection.png").stat().st_size > 1000
    assert (tmp_path / "plots" / "selection.pdf").exists()
    with open(tmp_path / "evaluations.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(gru_study.evaluated())
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["selection"]["selected"]["total_bits"] == gru_study.space.total_bits(selection.point)
    assert files[0].name == "summary.md"


def test_curve_puts_qkeras_beside_the_hardware(gru_study, tmp_path):
    rows = bits_curve(gru_study, integers=(0, 2), fractionals=(2, 6), qkeras_samples=300)
    assert [(r["integer"], r["fractional"], r["width"]) for r in rows] == [(0, 2, 3), (0, 6, 7), (2, 2, 5), (2, 6, 9)]
    assert all(r["qkeras"] is not None and 0.4 < r["qkeras"] <= 1 for r in rows)
    # wider is better in both worlds here, and the 1-integer-bit hardware is far below QKeras
    by = {(r["integer"], r["fractional"]): r for r in rows}
    assert by[(2, 6)]["hardware"] > by[(2, 2)]["hardware"]
    assert by[(0, 6)]["hardware"] < by[(0, 6)]["qkeras"] - 0.05
    files = write_report(tmp_path, gru_study, curve=rows, title="curve")
    assert (tmp_path / "plots" / "bits_curve.png").exists() and (tmp_path / "plots" / "bits_curve.pdf").exists()
    assert "the seed study's figure" in (tmp_path / "summary.md").read_text()
    assert len(files) >= 4


def test_select_bits_reports_an_unreachable_target(gru_study):
    sel = select_bits(gru_study, target=1.2, integers=(2,), max_fractional=6, verify=False)
    assert sel.uniform is None and sel.point is None
    assert any("nothing selected" in n for n in sel.notes)
    with pytest.raises(ValueError, match="target"):
        select_bits(gru_study, target=0)
