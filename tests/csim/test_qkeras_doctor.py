"""The doctor's refusals against g++: the designs it refuses really do not compile.

``evaluate`` refuses these models before building anything; here the same
configurations go straight to hls4ml's own build, which must fail. (The doctor's
other findings are checked on the converted ``ModelGraph`` in ``tests/test_doctor.py``,
and its type fix for the LSTM is compiled and matched bit for bit in ``test_qkeras.py``.)
"""

from __future__ import annotations

import pytest

from fxsim import csim
from fxsim.doctor import doctor
from fxsim.frontends.keras import hls4ml_config
from tests.frontends import qmodels

pytestmark = [pytest.mark.csim, pytest.mark.keras2]


def _build_fails(model, directory, precision=None) -> str:
    config = hls4ml_config(model, precision)[0]
    with pytest.raises(Exception) as err:
        csim.build(model, config, use_cache=False, directory=directory)
    return str(err.value)


def test_lstm_with_differing_types_does_not_compile(tmp_path):
    qk = qmodels.qkeras()
    model = qmodels.qlstm(seed=51, state_quantizer=qk.quantized_bits(10, 2))
    finding = doctor(model).by_code("lstm-types-differ")
    assert finding and finding[0].severity == "error"
    assert "compile" in _build_fails(model, tmp_path).lower()


def test_hard_sigmoid_recurrent_activation_does_not_compile(tmp_path):
    L = qmodels.layers()
    import tensorflow as tf

    inp = L.Input((5, 3), name="inputs")
    model = tf.keras.Model(inp, L.GRU(4, recurrent_activation="hard_sigmoid", name="gru")(inp))
    assert [f.code for f in doctor(model).errors] == ["rnn-activation-unsupported"]
    assert "compile" in _build_fails(model, tmp_path).lower()
