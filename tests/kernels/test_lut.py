"""Hand-worked checks of the sigmoid/tanh tables and their index arithmetic (``nnet_activation.h``)."""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.fixed import FixedType
from fxsim.kernels.lut import (
    build_table,
    check_index_width,
    expf,
    lut_index,
    sigmoid_index,
    softmax_addr_bits,
    softmax_inv_table,
    softmax_real_vals,
    table_grid,
    tanh_index,
    tanhf,
)

pytestmark = pytest.mark.core

T18 = FixedType(18, 8)  # hls4ml's default table_t: 10 fractional bits


def test_default_sigmoid_table_landmarks():
    table = build_table("sigmoid", 1024, T18)
    assert table.shape == (1024,)
    assert table[512] == 512  # sigmoid(0) = 0.5 = 512 / 1024
    assert table[0] == 0  # sigmoid(-8) = 0.000335 floors to 0
    assert table.max() == 1023  # 1 - 2**-10: the float result below 1 floors, never reaches 1
    assert np.all(np.diff(table) >= 0)


def test_default_tanh_table_landmarks():
    table = build_table("tanh", 1024, T18)
    assert table[512] == 0
    assert table[0] == -1024  # tanhf(-4) = -0.99933 floors to -1
    assert table[-1] == 1023


def test_grid_is_the_float_of_a_double_expression():
    # 2 * 8.0 * (ii - N/2.0) / N in double, stored in a float: N = 1000, ii = 1 gives -7.984
    grid = table_grid("sigmoid", 1000)
    assert grid.dtype == np.float32
    assert grid[1] == np.float32(-7.984)
    assert table_grid("tanh", 333)[0] == np.float32(-4.0)


def test_table_entries_follow_glibc_float_functions():
    # sigmoid entry = float(1.0 / double(1.0f + expf(-x))); check one off-grid-centre entry by hand
    n = 1024
    x = table_grid("sigmoid", n)[700]
    expected = np.float32(1.0 / float(np.float32(np.float32(1.0) + expf(-x))))
    t = FixedType(32, 2)  # 30 fractional bits: the float's bits matter
    assert build_table("sigmoid", n, t)[700] == int(np.floor(float(expected) * 2**30))
    assert build_table("tanh", n, t)[100] == int(np.floor(float(tanhf(table_grid("tanh", n)[100])) * 2**30))


def test_narrow_table_type_rounds_and_saturates_with_its_modes():
    t = FixedType(4, 1, True, "RND", "SAT")  # [-1, 0.875] in steps of 1/8
    table = build_table("tanh", 64, t)
    assert table[0] == -8  # -0.9993 rounds to -1
    assert table[-1] == 7  # 0.9993 rounds to 1, saturates to 0.875


def test_index_truncates_toward_zero():
    # ap_fixed<16,6>: frac 10. sigmoid index = trunc0(x * 1024 / 16) + 512
    assert sigmoid_index(0, 10, 1024) == (512, False)
    assert sigmoid_index(-1, 10, 1024) == (512, False)  # -2**-10 * 64 = -1/16 -> 0: the double-width zero bin
    assert sigmoid_index(-16, 10, 1024) == (511, False)  # exactly -1
    assert sigmoid_index(-17, 10, 1024) == (511, False)  # -1.0625 -> -1
    assert sigmoid_index(16, 10, 1024) == (513, False)
    assert tanh_index(-8, 10, 1024) == (511, False)  # tanh: x * 1024 / 8 = -1
    assert tanh_index(-7, 10, 1024) == (512, False)


def test_index_clamps_and_reports():
    assert sigmoid_index(8 << 10, 10, 1024) == (1023, True)  # x = 8: 512 + 512 -> clamp
    assert sigmoid_index((8 << 10) - 16, 10, 1024) == (1023, False)
    assert sigmoid_index(-(8 << 10), 10, 1024) == (0, False)  # x = -8: index 0 exactly
    assert sigmoid_index(-(8 << 10) - 16, 10, 1024) == (0, True)


def test_index_odd_table_size():
    # N = 333: 8*N/16 = 166 (integer division); x = 1.0 -> trunc0(333/16) = 20
    assert lut_index(1 << 10, 10, 333, 4) == (186, False)
    assert lut_index(-(1 << 10), 10, 333, 4) == (146, False)


def test_index_keeps_low_32_bits_like_c_int():
    # (int) of a value >= 2**31 wraps: x * N / 16 = 2**31 -> -2**31, + 512 -> negative -> clamp to 0
    code = (1 << 31) * 16 // 1024  # x = 2**25 at frac 0
    assert lut_index(code, 0, 1024, 4) == (0, True)


def test_check_index_width():
    check_index_width(FixedType(50, 20), 1024)
    with pytest.raises(ValueError, match="index product"):
        check_index_width(FixedType(55, 20), 1024)


def test_softmax_real_values_and_address_bits():
    t = FixedType(8, 3)  # signed: top 3 bits of 8
    assert softmax_addr_bits(8, t) == 3
    vals = softmax_real_vals(8, t)
    assert vals.tolist() == [0.0, 1.0, 2.0, 3.0, -4.0, -3.0, -2.0, -1.0]
    u = FixedType(8, 3, signed=False)
    assert softmax_real_vals(4, u).tolist() == [0.0, 2.0, 4.0, 6.0]
    with pytest.raises(ValueError, match="power of two"):
        softmax_addr_bits(1000, FixedType(16, 6))
    with pytest.raises(ValueError, match="address bits"):
        softmax_addr_bits(1024, FixedType(8, 3))


def test_softmax_inverse_table_saturates_at_zero():
    t = FixedType(18, 8, True, "RND", "SAT")
    table = softmax_inv_table(4, FixedType(8, 3, signed=False), t)
    assert table[0] == t.max_code  # 1/0 = inf saturates
    assert table[1] == 512  # 1/2 with 10 fractional bits
    wrap = softmax_inv_table(4, FixedType(8, 3, signed=False), FixedType(18, 8))
    assert wrap[0] == 0  # inf wraps to 0 (all low bits zero)
