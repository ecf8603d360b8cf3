"""``fxsim.finetune`` and ``fxsim finetune``: training runs, the result converts like the original,
and the fine-tuned model's real C simulation equals fxsim's (and the graph's) code for code."""

from __future__ import annotations

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import fxsim  # noqa: E402
from fxsim.finetuning import FineTuned, finetune  # noqa: E402
from fxsim.finetuning.graph import ExactGraph  # noqa: E402

pytestmark = pytest.mark.keras2

PRECISION = "ap_fixed<8,3>"


def _task(seed: int = 0, n: int = 768):
    """A small GRU and labels it can learn (its own float decisions, with noise)."""
    k = tf.keras
    k.utils.set_random_seed(seed)
    inp = k.Input((6, 3), name="x")
    h = k.layers.GRU(6, name="rnn", kernel_initializer=k.initializers.RandomNormal(stddev=0.5, seed=seed))(inp)
    h = k.layers.Dense(1, name="out")(h)
    model = k.Model(inp, k.layers.Activation("sigmoid", name="out_act")(h))
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 6, 3)).astype(np.float32)
    score = model.predict(x, verbose=0).ravel() + rng.normal(0, 0.02, n)
    y = (score > np.median(score)).astype(np.int64)
    return model, x, y


def test_finetune_trains_and_hardware_matches(record):
    model, x, y = _task()
    weights_before = [w.copy() for w in model.get_weights()]
    ft = finetune(model, PRECISION, x[:512], y[:512], validation=(x[512:], y[512:]), epochs=2, batch_size=128,
                  learning_rate=3e-3, progress=False)
    assert isinstance(ft, FineTuned)
    assert [h["epoch"] for h in ft.history] == [1, 2] and all(np.isfinite(h["loss"]) for h in ft.history)
    assert all(np.array_equal(a, b) for a, b in zip(weights_before, model.get_weights())), "original modified"
    assert ft.model.to_json() == model.to_json().replace(model.name, ft.model.name)
    assert ft.before["hardware"]["auc"] is not None and ft.after["hardware"]["auc"] is not None
    assert ft.after["hardware"]["auc"] >= ft.before["hardware"]["auc"] - 1e-9  # the best epoch (or the start) is kept
    # the fine-tuned model converts at hls_config into exactly what the graph computes
    emu = fxsim.emulate(ft.model, ft.hls_config)
    graph = ExactGraph(emu, ft.model)
    ours = graph.predict_codes(x)
    theirs = emu.predict_codes(x).reshape(len(x), -1)
    record("finetune graph: after training", ours.size, int(np.sum(ours != theirs)), "codes")
    assert np.array_equal(ours, theirs)
    print(ft.summary())


@pytest.mark.csim
def test_finetuned_model_csim_equals_fxsim(record):
    """The real hls4ml C simulation (g++) of a fine-tuned model equals fxsim's codes."""
    model, x, y = _task(seed=1, n=640)
    ft = finetune(model, PRECISION, x[:512], y[:512], epochs=1, batch_size=128, progress=False)
    report = fxsim.crosscheck(ft.model, x.astype(np.float64), dict(ft.hls_config))
    compared = sum(c.compared for c in report.layers) + report.output.compared
    bad = sum(c.mismatches for c in report.layers) + report.output.mismatches
    record("finetune: C simulation of a fine-tuned model", compared, bad, "codes")
    assert report.ok, str(report)


def test_cli_writes_model_config_report(tmp_path):
    from fxsim.cli import main

    model, x, y = _task(seed=2, n=400)
    model.save(tmp_path / "m.h5")
    np.savez(tmp_path / "d.npz", x=x, y=y)
    out = tmp_path / "out"
    rc = main(["finetune", str(tmp_path / "m.h5"), "--precision", "ap_fixed<8,3>", "--data", str(tmp_path / "d.npz"),
               "--out", str(out), "--epochs", "1", "--batch-size", "128", "--no-progress"])
    assert rc == 0
    for name in ("model.h5", "hls_config.json", "report.json", "training_curve.png", "training_curve.pdf"):
        assert (out / name).exists(), name
    report = json.loads((out / "report.json").read_text())
    assert len(report["history"]) == 1 and "hardware" in report["after"]
    reloaded = fxsim.emulate(str(out / "model.h5"), json.loads((out / "hls_config.json").read_text()))
    assert reloaded.predict_codes(x[:50]).shape == (50, 1)


def test_cli_names_bad_input(tmp_path, capsys):
    from fxsim.cli import main

    rc = main(["finetune", str(tmp_path / "missing.h5"), "--precision", "ap_fixed<8,3>", "--data",
               str(tmp_path / "d.npz"), "--out", str(tmp_path / "o")])
    assert rc == 2 and "missing.h5" in capsys.readouterr().err


def test_metric_callable_picks_the_epoch_and_bad_metric_is_named():
    """A callable validation metric is what picks the kept epoch and what before/after report."""
    model, x, y = _task(seed=3, n=512)
    calls = []

    def balanced_accuracy(labels, outputs):
        calls.append(len(labels))
        pred = np.asarray(outputs).reshape(-1) > 0.5
        return 0.5 * (np.mean(pred[labels == 1]) + np.mean(~pred[labels == 0]))

    ft = finetune(model, PRECISION, x[:384], y[:384], validation=(x[384:], y[384:]), epochs=2, batch_size=128,
                  learning_rate=3e-3, progress=False, metric=balanced_accuracy)
    assert ft.metric == "balanced_accuracy"
    assert all(h["val_metric"] is not None for h in ft.history)
    # start + 2 epochs by the graph, and fxsim.evaluate's hardware/float/QKeras scores before and after
    assert calls.count(128) >= 3
    best = max([ft.history[i]["val_metric"] for i in range(2)])
    assert ft.after["hardware"]["balanced_accuracy"] == pytest.approx(max(best, ft.before["hardware"][ft.metric]))
    with pytest.raises(ValueError, match="metric"):
        finetune(model, PRECISION, x[:128], y[:128], epochs=1, progress=False, metric="f1")


def test_label_smoothing_puts_the_loss_optimum_inside_the_logit_type():
    """The smoothed cross-entropy's optimal logit (gap) is logit_margin x the logits type's bound."""
    from fxsim.finetuning.train import label_smoothing
    from fxsim.fixed import FixedType

    t = FixedType(8, 3, True)  # [-4, 3.96875]
    for k in (2, 3, 10):
        eps = label_smoothing(t, k, 0.75)
        assert 0.0 < eps < 1.0
        assert np.log((1 - eps + eps / k) / (eps / k)) == pytest.approx(0.75 * 3.96875)
    assert label_smoothing(FixedType(24, 10, True), 2, 0.75) == 0.0  # a wide type needs none
    assert label_smoothing(t, 2, None) == 0.0
    with pytest.raises(ValueError, match="logit_margin"):
        label_smoothing(t, 2, 1.5)
