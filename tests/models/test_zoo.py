"""The shipped model zoo: files present, loadable, and the recorded metrics reproduced on fresh jets."""

import numpy as np
import pytest

from fxsim.models import zoo
from fxsim.models.architectures import TASKS
from fxsim.models.datasets import toptag


def test_every_listed_model_loads_with_the_task_shape():
    names = zoo.names()
    assert any(n.startswith("toptag_gru") for n in names) and any(n.startswith("toptag_lstm") for n in names)
    assert any(n.startswith("btag_") for n in names)
    for name in names:
        row = zoo.info(name)
        path = zoo.ZOO_DIR / row["file"]
        assert path.exists() and path.stat().st_size < 500_000, f"{name}: missing or too big"
        model = zoo.load(name)
        assert model.input_shape == (None, *TASKS[row["task"]].input_shape)


def test_shipped_top_tagger_works_on_freshly_generated_jets(tmp_path):
    from sklearn.metrics import roc_auc_score

    data = toptag.generate(300, preset="hls4ml", seed=4242, cache_dir=tmp_path, progress=False)
    x, y = zoo.prepare_inputs("toptag_gru_float", data, split="all")
    # rescaling undoes this dataset's own scaling and applies the zoo's
    raw = data.x_test[0] * data.scale["std"] + data.scale["mean"]
    real = np.any(data.x_test[0] != 0, axis=-1)
    scale = zoo.metrics()["datasets"]["toptag"]["scale"]
    np.testing.assert_allclose(zoo.prepare_inputs("toptag_gru_float", data)[0][0][real],
                               ((raw - scale["mean"]) / np.array(scale["std"]))[real], rtol=1e-4, atol=1e-5)
    scores = zoo.load("toptag_gru_float").predict(x, verbose=0).ravel()
    assert roc_auc_score(y, scores) > 0.85
    # every shipped top tagger reproduces its recorded AUC on these fresh jets (300 jets: +-0.01),
    # so the zoo's metrics table says what the models do, not only what was once written down
    for name in zoo.names():
        row = zoo.info(name)
        if row["task"] == "toptag":
            xn, yn = zoo.prepare_inputs(name, data, split="all")
            measured = roc_auc_score(yn, zoo.load(name).predict(xn, verbose=0).ravel())
            recorded = row["metrics"]["auc"]
            assert abs(measured - recorded) < 0.03, f"{name}: AUC {measured:.4f}, recorded {recorded:.4f}"


def test_zoo_errors():
    with pytest.raises(ValueError, match="unknown zoo model 'nope'"):
        zoo.info("nope")
