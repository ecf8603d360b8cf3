"""The generated config is remembered per architecture, not per default precision.

hls4ml 1.3.0's ``config_from_keras_model`` writes ``default_precision`` into
``Model.Precision.default`` and nowhere else, so :func:`fxsim.frontends.keras.generated_config`
parses a model once and answers every later default by putting it into that one key. These
tests hold that shortcut to hls4ml itself on every zoo model (float and QKeras, GRU/LSTM,
Conv1D, softmax heads): the remembered answer at a new default must equal a fresh
``config_from_keras_model`` at that default, and converting through it must give the same
``ModelGraph`` types and the same output codes as converting hls4ml's fresh config. They
fail if a future hls4ml writes the default anywhere else.
"""

from __future__ import annotations

import hls4ml
import numpy as np
import pytest

from fxsim.frontends import keras as fk
from fxsim.frontends.hls4ml import from_hls4ml
from fxsim.jsonio import jsonable
from fxsim.models import zoo
from tests.frontends import qmodels

pytestmark = pytest.mark.keras2

#: The first fills the memo; the others are answered from it (widths, integer bits, unsigned,
#: rounding and saturation modes, an integer type, hls4ml's short spelling).
DEFAULTS = ("ap_fixed<16,6>", "ap_fixed<9,3,AP_RND,AP_SAT>", "ap_fixed<6,4,AP_RND_CONV,AP_SAT>",
            "ap_ufixed<12,5,AP_TRN,AP_WRAP>", "ap_int<8>", "fixed<18,8,RND,SAT>")


def _fresh(model, default: str, max_precision: str | None = None) -> dict:
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado",
                                               default_precision=default, max_precision=max_precision)
    return jsonable(cfg)


@pytest.mark.parametrize("name", zoo.names())
def test_the_config_at_another_default_is_hls4ml_own(name):
    model = zoo.load(name)
    fk._GENERATED.clear()
    for max_precision in (None, "ap_fixed<12,4>"):
        for default in DEFAULTS:
            assert fk.generated_config(model, default, max_precision=max_precision) == \
                _fresh(model, default, max_precision), (default, max_precision)
    assert len(fk._GENERATED) == 2  # one parse per max_precision: the defaults were answered from the memo


#: Zoo models converted in full at several defaults (one per kind of layer stack).
CONVERTED = ("toptag_gru_float", "toptag_lstm_q8i2", "btag_gru_q8i2", "quickdraw_cnnlstm_q8i2")


@pytest.mark.parametrize("name", CONVERTED)
def test_conversions_at_remembered_defaults_have_hls4ml_types_and_codes(name):
    model = zoo.load(name)
    x = qmodels.inputs(7, 64, model.input_shape[1:])
    fk._GENERATED.clear()
    for default in DEFAULTS[:4] + ("ap_fixed<10,2,AP_TRN,AP_SAT>",):
        via_memo = fk.convert(model, default)
        direct = fk.convert(model, _fresh(model, default))
        assert via_memo.generated == _fresh(model, default)
        assert via_memo.config == direct.config
        assert via_memo.layer_types() == direct.layer_types(), default
        np.testing.assert_array_equal(from_hls4ml(via_memo.hls_model).predict_codes(x),
                                      from_hls4ml(direct.hls_model).predict_codes(x), err_msg=default)
    assert len(fk._GENERATED) == 1
