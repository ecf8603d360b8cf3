"""What the front-ends remember between conversions of one model: the generated config
(:func:`fxsim.frontends.keras.generated_config`) and the weight codes of ``from_hls4ml``.

A scan converts one model at many precisions; the front-end asks hls4ml for the
generated config once per architecture and default, and turns a layer's weights into
codes once per type. These tests hold both to what a fresh computation returns.
"""

from __future__ import annotations

import copy

import hls4ml
import numpy as np
import pytest

from fxsim.frontends import keras as fk
from fxsim.jsonio import jsonable
from tests.frontends import qmodels

pytestmark = pytest.mark.keras2


def _fresh(model, default: str) -> dict:
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado",
                                               default_precision=default)
    return jsonable(cfg)


def test_a_remembered_config_is_what_hls4ml_returns_after_the_weights_change():
    model = qmodels.qgru(seed=21)
    first = fk.generated_config(model, "ap_fixed<12,4>")
    model.set_weights([w + 0.25 for w in model.get_weights()])  # hls4ml's config does not read the weights
    again = fk.generated_config(model, "ap_fixed<12,4>")
    assert first == again == _fresh(model, "ap_fixed<12,4>")


def test_a_caller_editing_its_copy_does_not_change_the_next_answer():
    model = qmodels.qgru(seed=22)
    cfg = fk.generated_config(model, "ap_fixed<10,3>")
    cfg["LayerName"]["gru"]["Precision"]["result"] = "ap_fixed<2,1>"
    cfg["Model"]["Precision"]["default"] = "ap_fixed<2,1>"
    assert fk.generated_config(model, "ap_fixed<10,3>") == _fresh(model, "ap_fixed<10,3>")


def test_another_architecture_or_default_is_asked_afresh():
    a = qmodels.qgru(seed=23, bits=8, integer=1)
    b = qmodels.qgru(seed=23, bits=6, integer=2)  # same layer names, other quantizers
    assert a.to_json() != b.to_json()
    for model in (a, b):
        for default in ("ap_fixed<16,6>", "ap_fixed<9,3,AP_RND,AP_SAT>"):
            assert fk.generated_config(model, default) == _fresh(model, default)


def test_the_memo_stays_bounded():
    model = qmodels.float_dense(seed=5)
    for width in range(4, 4 + 2 * fk._GENERATED_SIZE):  # each max_precision is a key of its own
        fk.generated_config(model, "ap_fixed<16,6>", max_precision=f"ap_fixed<{width},2>")
    assert len(fk._GENERATED) <= fk._GENERATED_SIZE


def test_conversions_through_the_memo_equal_conversions_of_the_fresh_config():
    model = qmodels.qgru(seed=24)
    x = qmodels.inputs(3, 64, (8, 4))
    from fxsim.frontends.hls4ml import from_hls4ml

    for default in ("ap_fixed<14,5>", "ap_fixed<14,5>", "ap_fixed<8,3,AP_RND_CONV,AP_SAT>"):
        via_memo = fk.convert(model, default)
        direct = fk.convert(model, _fresh(model, default))
        assert via_memo.config == direct.config
        np.testing.assert_array_equal(from_hls4ml(via_memo.hls_model).predict_codes(x),
                                      from_hls4ml(direct.hls_model).predict_codes(x))


def test_remembered_weight_codes_are_hls4ml_text_round_trip_codes_and_owned_by_each_model():
    from fxsim.fixed import weight_codes
    from fxsim.frontends.hls4ml import from_hls4ml

    model = qmodels.float_dense(seed=6)
    base = fk.convert(model, "ap_fixed<12,4>").config
    other = copy.deepcopy(base)
    other["LayerName"]["fc1"]["Precision"]["weight"] = "ap_fixed<7,2,AP_RND,AP_SAT>"
    convs = [fk.convert(model, cfg) for cfg in (base, other, base)]  # the third meets the first's codes again
    models = [from_hls4ml(conv.hls_model) for conv in convs]
    for fx, conv in zip(models, convs):
        for spec in fx.layers:
            if type(spec).__name__ == "DenseSpec":
                data = np.asarray(conv.hls_model.graph[spec.name].weights["weight"].data)
                np.testing.assert_array_equal(spec.weight, weight_codes(data, spec.weight_t))
    assert models[1].layers[1].weight_t != models[0].layers[1].weight_t
    for a, b in zip(models[0].layers, models[2].layers):
        if type(a).__name__ == "DenseSpec":
            assert not np.shares_memory(a.weight, b.weight)


# --- snapshots: a scan reads its unchanged model's architecture and weights once ---


def test_a_conversion_from_a_snapshot_is_the_conversion_without_one():
    from fxsim.frontends.hls4ml import from_hls4ml

    model = qmodels.qgru(seed=31)
    snap = fk.snapshot(model)
    x = np.random.default_rng(31).normal(0.0, 1.0, (64, *model.input_shape[1:]))
    for precision in ("ap_fixed<12,4>", "ap_fixed<9,3,AP_RND,AP_SAT>"):
        plain = fk.convert(model, precision)
        snapped = fk.convert(model, precision, snap=snap)
        assert snapped.config == plain.config
        assert snapped.hls_model.config.get_output_dir() == plain.hls_model.config.get_output_dir()
        np.testing.assert_array_equal(from_hls4ml(snapped.hls_model).predict_codes(x),
                                      from_hls4ml(plain.hls_model).predict_codes(x))
    assert fk.conversion_key(model, plain.config, snap=snap) == fk.conversion_key(model, plain.config)


def test_the_key_follows_the_weights_and_a_new_snapshot_sees_them():
    model = qmodels.qgru(seed=32)
    config = fk.convert(model, "ap_fixed<12,4>").config
    before = fk.snapshot(model)
    model.set_weights([w + 0.25 for w in model.get_weights()])
    after = fk.snapshot(model)
    assert before.arch == after.arch and before.weights != after.weights
    assert fk.conversion_key(model, config, snap=after) == fk.conversion_key(model, config)
    assert fk.conversion_key(model, config, snap=before) != fk.conversion_key(model, config)


def test_a_snapshot_of_another_model_is_refused():
    from fxsim.pipeline import convert_checked, snapshot

    a, b = qmodels.qgru(seed=33), qmodels.qgru(seed=34)
    with pytest.raises(ValueError, match="another model"):
        fk.convert(b, "ap_fixed<12,4>", snap=fk.snapshot(a))
    with pytest.raises(ValueError, match="another model"):
        convert_checked(b, "ap_fixed<12,4>", rules=False, snapshot=snapshot(a))
    assert snapshot("no/such/model.h5") is None  # paths are loaded afresh: no snapshot


def _wrapped_model(kind: str):
    """A Bidirectional LSTM, or a TimeDistributed Dense over a GRU: layers whose weights hls4ml's
    reader finds under wrapped names."""
    import tensorflow as tf

    L = qmodels.layers()
    inp = L.Input((6, 3))
    if kind == "bidirectional":
        out = L.Dense(2, name="head")(L.Bidirectional(L.LSTM(4), name="bilstm")(inp))
    else:
        out = L.TimeDistributed(L.Dense(2), name="td")(L.GRU(4, return_sequences=True)(inp))
    model = tf.keras.Model(inp, out)
    qmodels.randomize(model, 40 if kind == "bidirectional" else 41)
    return model


def _graph_weights(hls_model) -> dict:
    return {(layer.name, name): np.array(w.data) for layer in hls_model.get_layers()
            for name, w in layer.weights.items()}


@pytest.mark.parametrize("which", ["qgru", "qlstm", "bidirectional", "time_distributed"])
def test_hls4ml_reads_the_same_weights_and_architecture_from_a_snapshot(which):
    """The snapshot's view of the model (``_SnapshotModel``) gives hls4ml what the model itself gives it."""
    from fxsim.frontends.hls4ml import from_hls4ml

    model = {"qgru": lambda: qmodels.qgru(seed=35), "qlstm": lambda: qmodels.qlstm(seed=36)}.get(
        which, lambda: _wrapped_model(which))()
    snap = fk.snapshot(model)
    x = np.random.default_rng(35).normal(0.0, 1.0, (32, *model.input_shape[1:]))
    for precision in ("ap_fixed<12,4>", "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"):
        plain, snapped = fk.convert(model, precision), fk.convert(model, precision, snap=snap)
        want, got = _graph_weights(plain.hls_model), _graph_weights(snapped.hls_model)
        assert got.keys() == want.keys() and want
        for key in want:
            np.testing.assert_array_equal(got[key], want[key], err_msg=str(key))
        np.testing.assert_array_equal(from_hls4ml(snapped.hls_model).predict_codes(x),
                                      from_hls4ml(plain.hls_model).predict_codes(x))


def test_a_snapshot_converts_the_model_as_it_was_when_taken():
    """hls4ml reads the snapshot's weights, not the live model's (a snapshot promises an unchanged
    model; this shows the promise is what the conversion relies on) and cannot write into them."""
    model = qmodels.qgru(seed=37)
    snap = fk.snapshot(model)
    before = _graph_weights(fk.convert(model, "ap_fixed<12,4>").hls_model)
    model.set_weights([w + 0.25 for w in model.get_weights()])
    first = fk.convert(model, "ap_fixed<12,4>", snap=snap).hls_model
    for layer in first.get_layers():  # a converter writing into what it read must not reach the next conversion
        for w in layer.weights.values():
            if isinstance(w.data, np.ndarray) and w.data.flags.writeable:
                w.data += 1
    again = _graph_weights(fk.convert(model, "ap_fixed<12,4>", snap=snap).hls_model)
    for key in before:
        np.testing.assert_array_equal(again[key], before[key], err_msg=str(key))
    assert not all(np.array_equal(v, before[k]) for k, v in _graph_weights(
        fk.convert(model, "ap_fixed<12,4>").hls_model).items())
