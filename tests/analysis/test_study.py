"""Study: the hls4ml configuration of every point is what hls4ml builds, and one C simulation agrees."""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.analysis.space import GENEROUS, GENEROUS_TABLE, GENEROUS_TABLE_SIZE
from fxsim.fixed import FixedType

pytestmark = pytest.mark.keras2


def _built_types(study, point):
    """Every knob's type as hls4ml converted it (read back through fxsim's model)."""
    fx = study.emulate(point)
    out, sizes = {}, {}
    for spec in fx.layers:
        for (layer, q) in point.types:
            if layer == spec.name:
                out[(layer, q)] = getattr(spec, q if q == "table_t" else f"{q}_t")
        if hasattr(spec, "table_size") and spec.name in point.table_sizes:
            sizes[spec.name] = spec.table_size
    return out, sizes


def _mixed_point(space, seed=0):
    rng = np.random.default_rng(seed)
    changes = {}
    for group in space.groups():
        w = int(rng.integers(5, 14))
        i = int(rng.integers(1, 4))
        mode = ("RND_CONV", "SAT") if rng.random() < 0.3 else ("TRN", "WRAP")
        signed = space.base.types[group[0]].signed
        changes[group[0]] = FixedType(w, i, signed, *mode)
    p = space.with_types(space.base, changes)
    return space.with_tables(p, {l: int(rng.choice([256, 512, 1000])) for l in space.table_layers()})


@pytest.mark.parametrize("which", ["gru", "lstm"])
def test_every_point_converts_to_exactly_its_types(which, gru_study, lstm_study):
    study = gru_study if which == "gru" else lstm_study
    space = study.space
    for point in (space.uniform(2, 5), space.generous(), _mixed_point(space, 1), _mixed_point(space, 2)):
        types, sizes = _built_types(study, point)
        assert types == dict(point.types)
        assert sizes == dict(point.table_sizes)
    g = space.generous()
    assert g.type(which, "accum") == GENEROUS and g.type(which, "table_t") == GENEROUS_TABLE
    assert g.table_sizes[which] == GENEROUS_TABLE_SIZE


def test_study_metrics_and_split(gru_study, gru_model):
    s = gru_study
    assert len(s.x) == 1200 and len(s.x_holdout) == 1200
    assert s.metric == "auc" and s.quantized
    assert 0.85 < s.float_metric() <= 1.0 and 0.85 < s.float_metric(holdout=True) <= 1.0
    # generous hardware is float up to rounding; the narrowest uniform precision is not
    generous, narrow = s.evaluate([s.space.generous(), s.space.uniform(0, 1)])
    assert abs(generous - s.float_metric()) < 2e-3
    assert narrow < s.float_metric() - 0.1
    n = s.timing.evaluations
    s.evaluate([s.space.generous()])  # cached
    assert s.timing.evaluations == n
    assert s.holdout_metric(s.space.generous()) == pytest.approx(s.float_metric(holdout=True), abs=3e-3)


def test_study_rejects_bad_input(gru_model, gru_data):
    from fxsim.analysis.study import Study

    x, y = gru_data
    with pytest.raises(ValueError, match="do not match the model input"):
        Study(gru_model, x[:, :3], y, progress=False)
    with pytest.raises(ValueError, match="labels"):
        Study(gru_model, x, y[:10], progress=False)
    bad = x.copy()
    bad[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Study(gru_model, bad, y, progress=False)
    with pytest.raises(ValueError, match="holdout"):
        Study(gru_model, x, y, holdout=1.0, progress=False)
    with pytest.raises(ValueError, match="unknown metric"):
        Study(gru_model, x, y, metric="f1", progress=False)
