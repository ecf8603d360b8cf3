"""Pooling and zero padding against hls4ml's C simulation (io_parallel, Vivado):
ZeroPadding1D, MaxPooling1D / AveragePooling1D (valid and same padding, strides, the
average's accum_t sums and truncating division, every rounding/overflow mode),
GlobalMaxPooling1D / GlobalAveragePooling1D, and max pooling with padding over an
unsigned input (hls4ml pads with the code 2**(W-1), a large positive value).

Each case is one compiled, traced model whose every layer is compared code for code on
2000 samples (0 mismatches allowed).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from tests.csim.helpers import N_SAMPLES, base_config, check, grid_inputs, keras, set_types

pytestmark = [pytest.mark.csim, pytest.mark.keras2]


def case_pool_average_global():
    """ZeroPadding1D -> Conv1D -> AveragePooling1D(same, 3/2) -> MaxPooling1D(same) -> GlobalAveragePooling1D."""
    k = keras()
    k.utils.set_random_seed(21)
    inp = k.Input((15, 3), name="x")
    h = k.layers.ZeroPadding1D((2, 1), name="zp")(inp)
    h = k.layers.Conv1D(4, 3, name="c0")(h)
    h = k.layers.AveragePooling1D(3, strides=2, padding="same", name="ap")(h)
    h = k.layers.MaxPooling1D(2, strides=1, padding="same", name="mp")(h)
    h = k.layers.GlobalAveragePooling1D(name="gap")(h)
    m = k.Model(inp, h)
    cfg = base_config(m)
    set_types(cfg, "x", result="ap_fixed<10,4,AP_RND,AP_SAT>")
    set_types(cfg, "c0", accum="ap_fixed<14,5,AP_RND,AP_SAT>", result="ap_fixed<12,4,AP_RND_CONV,AP_SAT>")
    set_types(cfg, "ap", accum="ap_fixed<9,3,AP_RND,AP_SAT>", result="ap_fixed<8,3,AP_RND_ZERO,AP_SAT_SYM>")
    set_types(cfg, "mp", accum="ap_fixed<7,2,AP_RND_INF,AP_SAT>", result="ap_fixed<6,2,AP_TRN,AP_WRAP>")
    set_types(cfg, "gap", accum="ap_fixed<7,3,AP_TRN_ZERO,AP_WRAP>", result="ap_fixed<6,3,AP_RND_MIN_INF,AP_SAT>")
    return m, cfg, 3.0


def case_pool_valid_global_max():
    """MaxPooling1D(3, 2) and AveragePooling1D(2) valid with default types, then GlobalMaxPooling1D."""
    k = keras()
    k.utils.set_random_seed(22)
    inp = k.Input((20, 2), name="x")
    h = k.layers.MaxPooling1D(3, strides=2, name="mp")(inp)
    h = k.layers.AveragePooling1D(2, name="ap")(h)
    h = k.layers.Conv1D(3, 2, name="c0")(h)
    h = k.layers.GlobalMaxPooling1D(name="gmp")(h)
    m = k.Model(inp, h)
    cfg = base_config(m)
    set_types(cfg, "ap", accum="ap_fixed<8,2,AP_TRN,AP_WRAP>", result="ap_fixed<8,2,AP_RND,AP_SAT>")
    set_types(cfg, "gmp", accum="ap_fixed<10,3,AP_RND,AP_SAT>", result="ap_fixed<8,3,AP_RND_CONV,AP_SAT>")
    return m, cfg, 4.0


def case_unsigned_max_pool_padding():
    """QActivation(quantized_relu) (ufixed) -> MaxPooling1D(same): hls4ml's pad value wins some windows."""
    from fxsim.compat import import_qkeras

    q = import_qkeras()
    k = keras()
    k.utils.set_random_seed(23)
    inp = k.Input((9, 2), name="x")
    h = q.QActivation(q.quantized_relu(6, 2), name="qrelu")(inp)
    h = k.layers.MaxPooling1D(2, strides=2, padding="same", name="mp")(h)
    h = k.layers.AveragePooling1D(2, padding="same", name="ap")(h)
    m = k.Model(inp, h)
    return m, base_config(m), 2.0


CASES = {
    "average_global": case_pool_average_global,
    "valid_global_max": case_pool_valid_global_max,
    "unsigned_max_padding": case_unsigned_max_pool_padding,
}


@pytest.mark.parametrize("name", list(CASES))
def test_pooling_matches_csim(name, record):
    model, cfg, scale = CASES[name]()
    x = grid_inputs(np.random.default_rng(zlib.crc32(name.encode())), N_SAMPLES, model.input_shape[1:], scale)
    check(record, "csim pooling", model, cfg, x)
