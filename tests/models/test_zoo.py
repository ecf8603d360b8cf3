"""The shipped model zoo: files present, loadable, and the recorded metrics reproduced on fresh jets."""

import numpy as np
import pytest

from fxsim.models import zoo
from fxsim.models.architectures import TASKS
from fxsim.models.datasets import quickdraw, toptag

pytestmark = [pytest.mark.keras2, pytest.mark.data]


def test_every_listed_model_loads_with_the_task_shape():
    names = zoo.names()
    assert any(n.startswith("toptag_gru") for n in names) and any(n.startswith("toptag_lstm") for n in names)
    assert any(n.startswith("btag_") for n in names)
    quickdraw = {"quickdraw_gru_float", "quickdraw_gru_q8i2", "quickdraw_cnnlstm_float", "quickdraw_cnnlstm_q8i2"}
    assert quickdraw <= set(names)
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


def test_shipped_quickdraw_models_reproduce_their_accuracy_on_fresh_sketches(tmp_path):
    # 600 sketches of another seed: a recorded accuracy near 0.9 is reproduced within 3.5 standard errors
    data = quickdraw.generate(600, seed=4242, cache_dir=tmp_path, progress=False)
    for name in zoo.names():
        row = zoo.info(name)
        if row["task"] != "quickdraw":
            continue
        x, y = zoo.prepare_inputs(name, data, split="all")
        measured = float(np.mean(np.argmax(zoo.load(name).predict(x, verbose=0), axis=1) == y))
        recorded = row["metrics"]["accuracy"]
        assert abs(measured - recorded) < 0.045, f"{name}: accuracy {measured:.4f}, recorded {recorded:.4f}"


def test_quickdraw_cnnlstm_float_and_qat_share_layers_and_keep_the_lstm_input_unquantized():
    from fxsim.models import architectures as A

    fm, qm = zoo.load("quickdraw_cnnlstm_float"), zoo.load("quickdraw_cnnlstm_q8i2")
    conv = A.TASKS["quickdraw"].conv
    assert [l.name for l in fm.layers] == [l.name for l in qm.layers]
    assert [fm.get_layer(f"conv_{k}").filters for k in (1, 2, 3)] == list(conv.filters)
    assert [fm.get_layer(f"lstm_{k}").units for k in (1, 2)] == list(conv.lstm_units)
    assert fm.count_params() == qm.count_params() == zoo.info("quickdraw_cnnlstm_float")["params"]
    assert qm.get_layer("conv_1").kernel_quantizer_internal.bits == 8
    assert qm.get_layer("lstm_1").get_config()["recurrent_activation"] == "sigmoid"
    # hls4ml 1.3.0's LSTM needs input type == accum_t == result_t: the relu feeding it stays float
    assert type(qm.get_layer("conv_relu_3")).__name__ == "Activation"
    assert type(qm.get_layer("conv_relu_2")).__name__ == "QActivation"
    with pytest.raises(ValueError, match="no Conv1D\\+LSTM architecture"):
        A.build_float("toptag", "cnnlstm")


def test_zoo_errors():
    with pytest.raises(ValueError, match="unknown zoo model 'nope'"):
        zoo.info("nope")
