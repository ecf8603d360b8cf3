"""hls4ml owns the configuration: what ``config_from_keras_model`` writes, before and after
``convert_from_keras_model`` used it (it adds ``Model['BitExact']``), is accepted by ``fxsim.emulate``
unchanged, or refused naming the layer fxsim does not cover, never a configuration key."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import fxsim
from fxsim.doctor import ConversionRefused
from fxsim.models import zoo
from tests.frontends import qmodels

pytestmark = pytest.mark.keras2


def _configs(model, tmp_path, backend):
    """The config ``config_from_keras_model`` writes, then the same dict after hls4ml converted with it;
    each with the fxsim model of hls4ml's own conversion of it."""
    import hls4ml

    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=backend)
    hls_model = hls4ml.converters.convert_from_keras_model(
        model, hls_config=copy.deepcopy(cfg), output_dir=str(tmp_path / "prj"), backend=backend or "Vivado")
    yield "before", cfg, hls_model
    hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, output_dir=str(tmp_path / "prj2"),
                                               backend=backend or "Vivado")
    assert "BitExact" in cfg["Model"]  # hls4ml wrote into it: the case a user meets
    yield "after", cfg, hls_model


def _emulate_unchanged(model, cfg):
    before = copy.deepcopy(cfg)
    emu = fxsim.emulate(model, cfg)
    assert cfg == before, "emulate modified the caller's config"
    return emu


@pytest.mark.parametrize("name", zoo.names())
def test_every_zoo_model_takes_the_config_hls4ml_writes(name, tmp_path):
    model = zoo.load(name)
    x = qmodels.inputs(5, 16, model.input_shape[1:])
    for stage, cfg, hls_model in _configs(model, tmp_path, None):
        emu = _emulate_unchanged(model, cfg)  # passed to hls4ml unchanged: what hls4ml itself builds from it
        np.testing.assert_array_equal(emu.predict_codes(x), fxsim.from_hls4ml(hls_model).predict_codes(x),
                                      err_msg=stage)


def _bidirectional():
    L = qmodels.layers()
    import tensorflow as tf

    inp = L.Input((6, 3))
    return tf.keras.Model(inp, L.Dense(2, name="head")(L.Bidirectional(L.GRU(4), name="bigru")(inp))), "bigru"


def _time_distributed():
    L = qmodels.layers()
    import tensorflow as tf

    inp = L.Input((6, 3))
    h = L.GRU(4, return_sequences=True, name="gru")(inp)
    return tf.keras.Model(inp, L.TimeDistributed(L.Dense(2), name="td")(h)), "td"


def _conv1d_gru():
    L = qmodels.layers()
    import tensorflow as tf

    inp = L.Input((8, 3))
    return tf.keras.Model(inp, L.GRU(3, name="gru")(L.Conv1D(4, 3, name="conv")(inp))), "conv"


def _conv2d():
    L = qmodels.layers()
    import tensorflow as tf

    inp = L.Input((4, 4, 1))
    return tf.keras.Model(inp, L.Dense(2, name="fc")(L.Flatten()(L.Conv2D(2, 2, name="conv2d")(inp)))), "conv2d"


@pytest.mark.parametrize("backend", [None, "Vivado"])
@pytest.mark.parametrize("make", [_bidirectional, _time_distributed, _conv1d_gru])
def test_wrapper_layers_take_the_config_hls4ml_writes(make, backend, tmp_path):
    """Bidirectional, TimeDistributed and Conv1D: the config as written, before and after hls4ml used it."""
    model, _ = make()
    x = np.random.default_rng(0).normal(0, 1, (16, *model.input_shape[1:]))
    for stage, cfg, hls_model in _configs(model, tmp_path, backend):
        emu = _emulate_unchanged(model, cfg)
        np.testing.assert_array_equal(emu.predict_codes(x), fxsim.from_hls4ml(hls_model).predict_codes(x),
                                      err_msg=stage)


@pytest.mark.parametrize("backend", [None, "Vivado"])
@pytest.mark.parametrize("make", [_conv2d])
def test_layers_fxsim_does_not_cover_are_refused_by_layer_not_by_config_key(make, backend, tmp_path):
    model, layer = make()
    for stage, cfg, _ in _configs(model, tmp_path, backend):
        with pytest.raises(ConversionRefused) as err:
            _emulate_unchanged(model, cfg)
        assert [f.layer for f in err.value.diagnosis.errors] == [layer], (stage, str(err.value))
        assert "precision[" not in str(err.value) and "unknown" not in str(err.value), (stage, str(err.value))


def test_keys_of_those_layers_pass_the_precision_check_unchanged():
    """forward_/backward_ types (Bidirectional), TimeStepLoopParallelism (TimeDistributed) and
    ParallelizationFactor (Conv1D) come from hls4ml's attribute registry, with their values' checks."""
    from fxsim.precision import parse_precision

    entries = {
        "bigru": {"Precision": {"forward_weight": "ap_fixed<8,2>", "backward_recurrent_bias": "auto"},
                  "ForwardReuseFactor": 2, "BackwardRecurrentReuseFactor": 1},
        "td": {"TimeStepLoopParallelism": "Unroll"},
        "conv": {"ParallelizationFactor": 4, "ConvImplementation": "LineBuffer"},
    }
    assert parse_precision(entries).layers == entries
    with pytest.raises(ValueError, match=r"precision\['td'\]\['TimeStepLoopParallelism'\].*'Off', 'Unroll'"):
        parse_precision({"td": {"TimeStepLoopParallelism": "Sometimes"}})
    with pytest.raises(ValueError, match=r"unknown setting 'ParallelisationFactor'.*mean 'parallelization_factor'"):
        parse_precision({"conv": {"ParallelisationFactor": 4}})
