"""QuickDraw: the sketch-rnn loader on files written in that format, and the generator."""

import numpy as np
import pytest

from fxsim.models.datasets import quickdraw as qd

pytestmark = pytest.mark.core


def _write_class(path, rng, n, shift):
    def sketch():
        k = int(rng.integers(5, 130))  # some longer than 100 to exercise truncation
        s = np.zeros((k, 3), dtype=np.int16)
        s[:, :2] = rng.integers(-20, 20, size=(k, 2)) + shift
        s[rng.random(k) < 0.2, 2] = 1
        s[-1, 2] = 1
        return s

    return qd.write_sketchrnn_npz(
        path, [sketch() for _ in range(n)], [sketch() for _ in range(3)], [sketch() for _ in range(4)]
    )


def test_loader_reads_sketchrnn_format(tmp_path):
    rng = np.random.default_rng(0)
    paths = {
        "ant": _write_class(tmp_path / "ant.npz", rng, 10, 0),
        "bee": _write_class(tmp_path / "bee.npz", rng, 6, 5),
    }
    with np.load(paths["ant"], allow_pickle=True, encoding="latin1") as z:
        assert z["train"].dtype == object and z["train"][0].dtype == np.int16
        raw_train = list(z["train"]) + list(z["valid"])
        raw_test = list(z["test"])
    data = qd.load_sketchrnn(paths)
    assert data.x_train.shape == (10 + 3 + 6 + 3, 100, 3) and data.x_test.shape == (8, 100, 3)
    assert data.class_names == ["ant", "bee"] and list(np.bincount(data.y_train)) == [13, 9]
    with np.load(paths["bee"], allow_pickle=True, encoding="latin1") as z:
        all_train = raw_train + list(z["train"]) + list(z["valid"])
    factor = np.concatenate([s[:, :2].ravel() for s in all_train]).astype(float).std()
    assert float(data.scale["factor"]) == pytest.approx(factor, rel=1e-6)
    # first test sketch: truncated/padded to 100, offsets divided, pen bit untouched
    s = raw_test[0]
    k = min(len(s), 100)
    np.testing.assert_allclose(data.x_test[0, :k, :2], s[:k, :2] / factor, rtol=1e-6)
    np.testing.assert_array_equal(data.x_test[0, :k, 2], s[:k, 2])
    assert np.all(data.x_test[0, k:] == 0)


def test_loader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="'ant' not found"):
        qd.load_sketchrnn({"ant": tmp_path / "nope.npz"})
    np.savez(tmp_path / "bad.npz", foo=np.zeros(3))
    with pytest.raises(ValueError, match="missing keys"):
        qd.load_sketchrnn({"ant": tmp_path / "bad.npz"})


def test_stroke3_roundtrip():
    strokes = [np.array([[0, 0], [10, 0], [10, 5]]), np.array([[20, 20], [25, 20]])]
    s3 = qd.to_stroke3(strokes)
    np.testing.assert_array_equal(s3, [[0, 0, 0], [10, 0, 0], [0, 5, 1], [10, 15, 0], [5, 0, 1]])
    np.testing.assert_array_equal(np.cumsum(s3[:, :2], 0)[-1], [25, 20])


def test_generator_shapes_and_classes(tmp_path):
    data = qd.generate(50, seed=1, workers=1, cache_dir=tmp_path, progress=False)
    assert data.x_train.shape[1:] == (100, 3) and len(data.x_train) + len(data.x_test) == 50
    assert data.class_names == ["ant", "bee", "butterfly", "mosquito", "snail"]
    assert set(np.unique(data.x_train[..., 2])) <= {0.0, 1.0}
    assert set(data.y_test) == set(range(5))
    raw = qd.generate_chunk(0, 0.5, 7, 3)
    np.testing.assert_array_equal(raw[0], qd.generate_chunk(0, 0.5, 7, 1)[0])
    assert all(s.dtype == np.int16 and np.abs(np.cumsum(s[:, :2], 0)).max() <= 256 for s in raw)


def test_difficulty_validated():
    with pytest.raises(ValueError, match="difficulty"):
        qd.generate(50, difficulty=1.5)
