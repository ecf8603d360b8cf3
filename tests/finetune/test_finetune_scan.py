"""``fxsim scan --finetune``: selection alternated with fine-tuning really fine-tunes, never trains on
the hold-out split, and its kept selection's real C simulation equals fxsim's code for code."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from fxsim.analysis.finetune_scan import finetune_scan, write  # noqa: E402

pytestmark = pytest.mark.keras2

SELECT = {"integers": range(1, 5), "max_fractional": 8, "max_evaluations": 40}


def _task(seed: int = 3, n: int = 800):
    k = tf.keras
    k.utils.set_random_seed(seed)
    inp = k.Input((5, 3), name="x")
    h = k.layers.GRU(5, name="rnn", kernel_initializer=k.initializers.RandomNormal(stddev=0.6, seed=seed))(inp)
    model = k.Model(inp, k.layers.Activation("sigmoid", name="out_act")(k.layers.Dense(1, name="out")(h)))
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 5, 3)).astype(np.float32)
    score = model.predict(x, verbose=0).ravel() + rng.normal(0, 0.02, n)
    return model, x, (score > np.median(score)).astype(np.int64)


@pytest.mark.csim
def test_alternation_finetunes_and_csim_agrees(record, tmp_path):
    model, x, y = _task()
    res = finetune_scan(model, x, y, target=0.97, objective="bits", rounds=1, epochs=2, batch_size=128,
                        learning_rate=3e-3, progress=False, select_options=SELECT, verify_samples=200)
    assert len(res.rounds) == 2 and res.rounds[0].kept
    r1 = res.rounds[1]
    # round 1 fine-tuned at one fractional bit below round 0's best uniform width, on search samples only
    u0 = res.rounds[0].selection.uniform
    assert r1.proposed == f"ap_fixed<{u0.width - 1},{u0.integer + 1}>"
    assert r1.history
    n_search = len(res.study.x)
    assert n_search == len(x) - len(res.study.x_holdout)
    assert all(h["samples"] < n_search for h in r1.history)  # the held-out split is never trained on
    changed = [not np.array_equal(a, b) for a, b in zip(model.get_weights(), r1.model.get_weights())]
    assert any(changed), "round 1 did not change the weights"
    if r1.kept:
        assert res.model is r1.model and r1.cost < res.rounds[0].cost
        assert r1.metric_holdout >= 0.97 * res.float_holdout
    else:
        assert r1.reason
    v = res.verification
    record("finetune scan: C simulation of the kept selection", v.compared, v.mismatches, "codes")
    assert v.mismatches == 0 and v.held_out
    print("\n".join(res.summary_lines()))
    paths = write(res, tmp_path / "out")
    assert all(p.exists() for p in paths)


def test_bad_settings_are_named():
    model, x, y = _task(n=100)
    with pytest.raises(ValueError, match="hold-out"):
        finetune_scan(model, x, y, holdout=0.0)
    with pytest.raises(ValueError, match="rounds"):
        finetune_scan(model, x, y, rounds=0)
    for bad in ("ap_fixed<8>", "ap_fixed<4,4>", "ap_ufixed<8,3>"):
        with pytest.raises(ValueError, match="proposal"):
            finetune_scan(model, x, y, proposals=[bad])
