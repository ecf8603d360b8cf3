"""Top tagging generator: tiny fast-mode runs only (a few seconds each)."""

import numpy as np
import pytest

from fxsim.models.datasets import common, toptag

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return toptag.generate(40, preset="hls4ml", seed=3, fast=True, workers=1, cache_dir=cache, progress=False), cache


def test_shapes_features_labels(tiny):
    data, _ = tiny
    assert data.x_train.shape == (30, 20, 6) and data.x_test.shape == (10, 20, 6)
    assert data.feature_names == ["ptrel", "etarot", "phirot", "erel", "deltaR", "pdgid"]
    assert data.class_names == ["qcd", "top"]
    y = np.concatenate([data.y_train, data.y_test])
    assert set(y) == {0, 1} and np.sum(y == 1) == 20
    assert set(data.y_test) == {0, 1}


def test_padding_zero_and_scaling_fitted_on_train(tiny):
    data, _ = tiny
    mean, std = data.scale["mean"], data.scale["std"]
    raw_tr = data.x_train * std + mean
    real = np.abs(data.x_train).sum(-1) > 0
    # constituents are ptrel-sorted: once a jet runs out, the rest is padding
    assert np.all(np.diff(real.astype(int), axis=1) <= 0)
    assert np.all(raw_tr[real][:, 0] > 0)
    # the scaling is exactly the train statistics of real constituents
    np.testing.assert_allclose(raw_tr[real].mean(0), mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(data.x_train[real].std(0), 1.0, atol=1e-3)


def test_same_seed_same_data_and_cache_is_used(tiny, monkeypatch):
    data, cache = tiny
    assert list(cache.glob("toptag-*.npz"))

    def boom(*a, **k):
        raise AssertionError("regenerated although cached")

    monkeypatch.setattr(toptag, "generate_chunk", boom)
    again = toptag.generate(40, preset="hls4ml", seed=3, fast=True, workers=1, cache_dir=cache, progress=False)
    np.testing.assert_array_equal(again.x_train, data.x_train)
    assert again.settings["cache"].endswith(".npz")


def test_reproducible_without_cache_and_seed_matters(tmp_path):
    a = toptag.generate_chunk("hls4ml", True, True, toptag.pythia_seed(3, 1, 0), 5)
    b = toptag.generate_chunk("hls4ml", True, True, toptag.pythia_seed(3, 1, 0), 5)
    c = toptag.generate_chunk("hls4ml", True, True, toptag.pythia_seed(4, 1, 0), 5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # a smaller request is a prefix of a larger one, so data never depend on chunking
    np.testing.assert_array_equal(a[:3], toptag.generate_chunk("hls4ml", True, True, toptag.pythia_seed(3, 1, 0), 3))


def test_worker_count_does_not_change_data(tmp_path):
    one = toptag.generate(12, seed=9, fast=True, workers=1, cache_dir=tmp_path / "a", progress=False)
    two = toptag.generate(12, seed=9, fast=True, workers=2, cache_dir=tmp_path / "b", progress=False)
    np.testing.assert_array_equal(one.x_train, two.x_train)
    np.testing.assert_array_equal(one.y_test, two.y_test)


def test_top_jets_are_wider_and_heavier_than_qcd():
    top = toptag.generate_chunk("hls4ml", True, True, 11, 25)
    qcd = toptag.generate_chunk("hls4ml", False, True, 12, 25)

    def width(x):  # ptrel-weighted mean deltaR of the 20 leading constituents
        return np.mean(np.sum(x[..., 0] * x[..., 4], axis=1) / np.sum(x[..., 0], axis=1))

    assert width(top) > 1.3 * width(qcd)
    # three-prong top jets spread pT: the leading constituent carries less
    assert np.median(top[:, 0, 0]) < np.median(qcd[:, 0, 0])


def test_pdgid_encoding():
    cats = toptag.pdgid_category(np.array([22, 11, -13, 211, -321, 2212, 2112, 130]))
    np.testing.assert_array_equal(cats, [1, 2, 3, 4, 4, 4, 5, 5])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"preset": "atlas"}, "valid presets: hls4ml, kasieczka"),
        ({"n": 0}, "n must be a positive integer"),
        ({"n": 3}, "too small"),
        ({"test_fraction": 1.5}, "test_fraction"),
        ({"workers": 0}, "workers must be positive"),
    ],
)
def test_bad_arguments_name_the_problem(kwargs, match, tmp_path):
    args = {"n": 40, "fast": True, "cache_dir": tmp_path, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=match):
        toptag.generate(**args)


def test_dataset_roundtrip(tiny, tmp_path):
    data, _ = tiny
    path = data.save(tmp_path / "d.npz")
    back = common.Dataset.load(path)
    np.testing.assert_array_equal(back.x_test, data.x_test)
    assert back.settings["preset"] == "hls4ml" and back.feature_names == data.feature_names
    with pytest.raises(FileNotFoundError, match="no dataset"):
        common.Dataset.load(tmp_path / "missing.npz")


SCRIPT = """\
import tensorflow  # loaded: the generator may not fork, and spawned workers would re-run this script
from fxsim.models.datasets import {module}

print("script top level ran")
data = {module}.generate({n}, seed=5, fast=True, workers=2, cache_dir={cache!r}, progress=False)
print("jets", len(data.x_train) + len(data.x_test))
"""


@pytest.mark.keras2
@pytest.mark.parametrize("module, n", [("toptag", 8), ("btag", 6)])
def test_generate_from_a_plain_script_without_a_main_guard(tmp_path, module, n):
    """No ``if __name__ == '__main__':`` and TensorFlow loaded: the script runs once, the data are made in
    one process, and a warning says how to get the workers."""
    import subprocess
    import sys

    script = tmp_path / "plain.py"
    script.write_text(SCRIPT.format(module=module, n=n, cache=str(tmp_path / "cache")))
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("script top level ran") == 1 and f"jets {n}" in run.stdout
    assert f"{script}:5" in run.stderr and "if __name__ == \"__main__\":" in run.stderr


def test_unguarded_call_is_told_from_a_guarded_one(tmp_path):
    import subprocess
    import sys

    code = ("from fxsim.models.datasets.common import unguarded_main_call\n"
            "print('top', unguarded_main_call())\n"
            "if __name__ == '__main__':\n"
            "    print('guarded', unguarded_main_call())\n")
    script = tmp_path / "s.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
    assert f"top {script}:2" in out and "guarded None" in out
