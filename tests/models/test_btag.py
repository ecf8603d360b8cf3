"""Flavour tagging generator: tiny fast-mode runs only."""

import numpy as np
import pytest

from fxsim.models.datasets import btag

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return btag.generate(45, seed=2, fast=True, workers=1, cache_dir=tmp_path_factory.mktemp("c"), progress=False)


def test_shapes_features_labels(tiny):
    assert tiny.x_train.shape[1:] == (15, 6) and len(tiny.x_train) + len(tiny.x_test) == 45
    assert tiny.feature_names == ["sd0", "sz0", "ptfrac", "dR", "nPixHits", "nSCTHits"]
    assert tiny.class_names == ["light", "c", "b"]
    y = np.concatenate([tiny.y_train, tiny.y_test])
    assert [np.sum(y == c) for c in range(3)] == [15, 15, 15]


def test_padding_zero_after_scaling(tiny):
    raw = tiny.x_train * tiny.scale["std"] + tiny.scale["mean"]
    real = np.abs(tiny.x_train).sum(-1) > 0
    assert np.all(np.diff(real.astype(int), axis=1) <= 0)
    assert np.all(raw[real][:, 2] > 0)  # ptfrac
    assert np.all(raw[real][:, 4] + raw[real][:, 5] >= btag.MIN_SI_HITS - 1e-3)


def test_tracks_sorted_by_abs_sd0_and_physics():
    rng_seed = 21
    b = btag.generate_chunk("ttbar13", 2, True, rng_seed, 30)
    light = btag.generate_chunk("ttbar13", 0, True, rng_seed + 1, 30)
    for x in (b, light):
        real = x[..., 2] > 0
        sd0 = np.where(real, np.abs(x[..., 0]), -1)
        assert np.all(np.diff(sd0, axis=1) <= 1e-6)
        assert np.all(x[~real] == 0)
    # displaced B decays: the leading |sd0| of b jets is far larger than of light jets
    assert np.median(b[:, 0, 0]) > 3 * max(np.median(light[:, 0, 0]), 0.5)


def test_reproducible():
    a = btag.generate_chunk("ttbar13", 1, True, 5, 4)
    np.testing.assert_array_equal(a, btag.generate_chunk("ttbar13", 1, True, 5, 4))


def test_heavy_flavour_of_pdg_ids():
    ids = np.array([511, -521, 5122, 10511, 421, 4122, 211, 5, 5101, 310, 553])
    np.testing.assert_array_equal(btag.heavy_flavour(ids), [5, 5, 5, 5, 4, 4, 2, 0, 0, 3, 5])


def test_unknown_preset():
    with pytest.raises(ValueError, match="valid presets: ttbar13, ttbar14"):
        btag.generate(30, preset="zz")
