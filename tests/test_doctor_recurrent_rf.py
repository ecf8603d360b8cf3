"""Doctor rule ``recurrent-resource-rf-abort`` on a Keras LSTM (PyTorch: tests/frontends/test_torch_rf_abort.py).

Keras ``LSTM(3)`` over 2 features, Resource, ``ReuseFactor`` 4: hls4ml 1.3.0 keeps 4 for the
input dense (valid for 2x12) but clips the recurrent one to 3 (valid for 3x12).
``recurrent_templates.py`` picks the recurrent kernel with ``reuse_factor`` 4 > n_in 3, i.e.
``dense_resource_rf_gt_nin_rem0``, and instantiates it with ``recurrent_reuse_factor`` 3, which
fails ``assert(rufactor > nin && ...)``: the C simulation aborts.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.keras2

OPTIONS = {"strategy": "Resource", "default_precision": "ap_fixed<16,6>"}


def _model():
    from tensorflow import keras

    keras.utils.set_random_seed(7)
    inp = keras.Input((6, 2), name="x")
    h = keras.layers.LSTM(3, name="rnn")(inp)
    return keras.Model(inp, keras.layers.Dense(2, name="fc")(h))


def _precision(rf: int) -> dict:
    return {"rnn": {"ReuseFactor": rf}, "fc": {"ReuseFactor": 2}}


def test_doctor_reports_the_recurrent_kernel_abort():
    from fxsim.doctor import doctor

    diagnosis = doctor(_model(), _precision(4), **OPTIONS)
    (f,) = diagnosis.by_code("recurrent-resource-rf-abort")
    assert f.severity == "error" and f.layer == "rnn"
    assert (f.details["reuse_factor"], f.details["recurrent_reuse_factor"], f.details["n_in"]) == (4, 3, 2)
    assert f.details["n_in_attribute"] == 2 and "time steps" not in f.what  # Keras: the attribute is right
    assert "Resource dense 3x12: reuse_factor 3" in f.what and "C simulation aborts" in f.what
    assert f.details["suggested"] in f.details["valid"] and 4 not in f.details["valid"]
    fixed = doctor(_model(), _precision(f.details["suggested"]), **OPTIONS)
    assert fixed.by_code("recurrent-resource-rf-abort") == [] and fixed.ok, str(fixed)


def abort_project(out_dir: str, rf: int):
    """The converted (not compiled) project of :func:`_model` with ReuseFactor ``rf``."""
    from fxsim.frontends.keras import convert

    return convert(_model(), _precision(rf), out_dir, **OPTIONS).hls_model


@pytest.mark.csim
def test_hls4ml_csim_aborts_on_it(tmp_path):
    from tests.csim.abort import assert_csim_aborts

    assert_csim_aborts("tests.test_doctor_recurrent_rf:abort_project", tmp_path / "abort",
                       "rufactor > nin && rufactor % nin == 0", 4)
