"""Training loop and metric table on a tiny generated set (not a quality test)."""

import json

import numpy as np
import pytest

from fxsim.cli import main
from fxsim.models import train
from fxsim.models.architectures import Quant, custom_objects
from fxsim.models.datasets import toptag

pytestmark = [pytest.mark.keras2, pytest.mark.data]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return toptag.generate(60, seed=5, fast=True, workers=1, cache_dir=tmp_path_factory.mktemp("c"), progress=False)


def test_train_float_and_qat_writes_models_and_table(tiny, tmp_path):
    import tensorflow as tf

    cfg = train.FitConfig(epochs=2, patience=1, batch_size=16, verbose=0)
    rows = train.train_models(tiny, ["gru"], [Quant(8, 2)], tmp_path, cfg=cfg)
    assert [r["model"] for r in rows] == ["toptag_gru_float", "toptag_gru_q8i2"]
    for r in rows:
        assert 0.0 <= r["metrics"]["auc"] <= 1.0 and 1 <= r["epochs"] <= 2
        model = tf.keras.models.load_model(tmp_path / r["file"], custom_objects=custom_objects(), compile=False)
        assert model.predict(tiny.x_test, verbose=0).shape == (len(tiny.x_test), 1)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert set(saved["models"]) == {"toptag_gru_float", "toptag_gru_q8i2"}
    np.testing.assert_allclose(saved["datasets"]["toptag"]["scale"]["mean"], tiny.scale["mean"], rtol=1e-6)
    readme = (tmp_path / "README.md").read_text()
    assert "| toptag GRU |" in readme and "QKeras q8i2" in readme


def test_metrics_table_merges_runs(tmp_path):
    row = {"model": "btag_gru_float", "task": "btag", "arch": "gru", "quant": "float", "recipe": None,
           "metrics": {"auc_b_vs_light": 0.93, "accuracy": 0.7}, "headline": "b-vs-light AUC", "dataset": "btag"}
    train.update_metrics(tmp_path, [row], {})
    train.update_metrics(tmp_path, [{**row, "model": "btag_gru_q8i2", "quant": "q8i2", "recipe": "default",
                                      "metrics": {"auc_b_vs_light": 0.91, "accuracy": 0.6}}], {})
    text = (tmp_path / "README.md").read_text()
    assert "| btag GRU | btag (b-vs-light AUC) | 0.9300 | 0.9100 |" in text


def test_metrics_from_scores():
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1], [0.1, 0.1, 0.8], [0.3, 0.1, 0.6]])
    m = train.metrics_from_scores("btag", p, y)
    assert m["auc_b_vs_light"] == 1.0 and m["accuracy"] == pytest.approx(5 / 6)


def test_train_command_validates(capsys):
    assert main(["train", "toptag", "--bits", "8", "--frac-bits", "5", "--n", "40"]) == 2
    assert "either --bits" in capsys.readouterr().err
    assert main(["train", "toptag"]) == 2
    assert "exactly one of --data" in capsys.readouterr().err
    assert main(["train", "toptag", "--n", "40", "--bits", "2", "--int-bits", "4"]) == 2
    assert "cannot hold" in capsys.readouterr().err
