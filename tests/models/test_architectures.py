"""Model zoo architectures: shapes, names, and hls4ml conversion of the default QAT recipe."""

import pytest

from fxsim.models import architectures as A

pytestmark = pytest.mark.keras2


@pytest.mark.parametrize("task", list(A.TASKS))
@pytest.mark.parametrize("arch", A.ARCHS)
def test_float_and_qkeras_shapes_and_names(task, arch):
    spec = A.TASKS[task]
    fm = A.build_float(task, arch)
    qm = A.build_qkeras(task, arch, A.Quant(8, 2))
    for m in (fm, qm):
        assert m.input_shape == (None, *spec.input_shape)
        assert m.output_shape == (None, spec.n_outputs)
        assert m.get_layer(arch).units == spec.units
        assert m.get_layer(arch).unroll is False
        assert [m.get_layer(f"dense_{k}").units for k in range(1, len(spec.dense) + 1)] == list(spec.dense)
    assert [l.name for l in fm.layers] == [l.name for l in qm.layers]
    assert [w.shape for w in fm.get_weights()] == [w.shape for w in qm.get_weights()]
    rnn = qm.get_layer(arch)
    assert rnn.get_config()["recurrent_activation"] == "sigmoid"
    assert rnn.kernel_quantizer_internal.bits == 8 and rnn.kernel_quantizer_internal.integer == 2
    assert rnn.state_quantizer is None if hasattr(rnn, "state_quantizer") else True


def _convert(model, tmp_path):
    import hls4ml

    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado")
    return hls4ml.converters.convert_from_keras_model(
        model, hls_config=cfg, backend="Vivado", io_type="io_parallel", output_dir=str(tmp_path / "prj")
    )


@pytest.mark.parametrize("task, arch", [("toptag", "gru"), ("toptag", "lstm"), ("btag", "lstm"), ("quickdraw", "gru")])
def test_default_recipe_converts_with_hls4ml(task, arch, tmp_path):
    model = A.build_qkeras(task, arch, A.Quant(10, 2))
    hls = _convert(model, tmp_path)
    layer = hls.graph[arch]
    assert layer.get_attr("activation") == "tanh"
    assert layer.get_attr("recurrent_activation") == "sigmoid"
    prec = layer.get_attr("weight_t").precision
    assert (prec.width, prec.integer, prec.signed) == (10, 3, True)


def test_seed_recipe_builds_but_hls4ml_rejects_its_hard_activations(tmp_path):
    model = A.build_qkeras("toptag", "gru", A.Quant(8, 2), recipe="seed")
    assert model.get_layer("gru").get_config()["recurrent_activation"] == "hard_sigmoid"
    with pytest.raises(AssertionError, match="Hard activation"):
        _convert(model, tmp_path)


def test_bad_names_and_widths():
    with pytest.raises(ValueError, match="valid tasks: toptag, btag, quickdraw"):
        A.build_float("jets", "gru")
    with pytest.raises(ValueError, match="valid: gru, lstm"):
        A.build_float("toptag", "rnn")
    with pytest.raises(ValueError, match="valid recipes"):
        A.build_qkeras("toptag", "gru", A.Quant(8, 2), recipe="fancy")
    with pytest.raises(ValueError, match="integer bits"):
        A.Quant(3, 4)
    assert A.Quant(10, 2).fractional == 7 and A.Quant(10, 2).tag == "q10i2"
