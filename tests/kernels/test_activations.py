"""Hand-worked checks of the activation and softmax kernels (``nnet_activation.h``)."""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.fixed import FixedType, to_codes
from fxsim.kernels import activations as act
from fxsim.kernels.lut import build_table, softmax_exp_table, softmax_inv_table, softmax_legacy_tables

pytestmark = pytest.mark.core


def _out(shape, k):
    return np.zeros(shape, dtype=np.int64), np.zeros((shape[0], k), dtype=np.int64)


def test_relu_and_linear():
    x = np.array([[-5, 0, 7, 40]], dtype=np.int64)  # frac 2: -1.25, 0, 1.75, 10
    r = FixedType(4, 2, False, "TRN", "SAT")  # ufixed<4,2>: 0..3.75
    out, counts = _out(x.shape, 1)
    act.relu_batch(x, 2, r.spec, out, counts)
    assert out.tolist() == [[0, 0, 7, 15]] and counts.tolist() == [[1]]
    out, counts = _out(x.shape, 1)
    act.linear_batch(x, 2, FixedType(6, 4).spec, out, counts)  # wraps 10 -> -6 (4 integer bits)
    assert out.tolist() == [[-5, 0, 7, -24]] and counts.tolist() == [[1]]


def test_leaky_relu_exact_product():
    # alpha = 0.3 in ufixed<8,-1> (9 fractional bits): 153/512; x = -2.5 -> -0.7470703125 -> floor at frac 4
    alpha_t = FixedType(8, -1, False)
    alpha = int(to_codes([0.3], alpha_t)[0])
    assert alpha == 153
    x = np.array([[-10, 6]], dtype=np.int64)  # frac 2
    out, counts = _out(x.shape, 1)
    act.leaky_relu_batch(x, 2, np.int64(alpha), 9, FixedType(8, 4).spec, out, counts)
    assert out.tolist() == [[-12, 24]]  # floor(-0.747 * 16) = -12; 1.5 * 16 = 24


def test_lut_uses_table_and_clips():
    table = build_table("sigmoid", 1024, FixedType(18, 8))
    x = np.array([[0, 100 << 10, -(100 << 10)]], dtype=np.int64)
    out, counts = _out(x.shape, 2)
    act.lut_batch(x, 10, table, 10, 4, FixedType(8, 0, False, "RND", "SAT").spec, out, counts)
    assert out.tolist() == [[128, 255, 0]]  # 0.5; 1023/1024 rounds to 1 and saturates; 0
    assert counts.tolist() == [[2, 1]]


def test_hard_sigmoid_and_tanh():
    slope_t = FixedType(16, 0, False)
    slope = int(to_codes([0.2], slope_t)[0])
    assert slope == 13107  # floor(0.2 * 65536)
    x = np.array([[0, 4 << 4, -(4 << 4), 1 << 4]], dtype=np.int64)  # frac 4: 0, 4, -4, 1
    r = FixedType(16, 2)
    out, _ = _out(x.shape, 1)
    act.hard_activation_batch(x, 4, np.int64(slope), 16, np.int64(2), 2, False, r.spec, out, _)
    # 0.5; clip(0.2*4 + 0.5) = 1; clip(-0.3) = 0; 0.19999695 + 0.5 floored to 14 fractional bits
    assert out.tolist() == [[8192, 16384, 0, int(np.floor((13107 / 65536 + 0.5) * 2**14))]]
    out, _ = _out(x.shape, 1)
    act.hard_activation_batch(x, 4, np.int64(2), 2, np.int64(2), 2, True, r.spec, out, _)
    assert out.tolist() == [[0, 16384, -16384, 16384]]  # 2*clip(0.5x + 0.5) - 1


def test_reduce_plan_matches_nnet_reduce():
    assert act.reduce_plan(1).shape == (0, 2)
    assert act.reduce_plan(2).tolist() == [[0, 1]]
    assert act.reduce_plan(3).tolist() == [[0, 1], [3, 2]]  # left subtree of 2, right of 1
    assert act.reduce_plan(5).tolist() == [[0, 1], [2, 3], [5, 6], [7, 4]]  # 4 + 1


def test_argmax_first_strict_maximum():
    x = np.array([[1, 3, 3, 2], [5, 5, 5, 5]], dtype=np.int64)
    out, counts = _out(x.shape, 1)
    act.softmax_argmax_batch(x, FixedType(4, 1, False).spec, out, counts)
    assert out.tolist() == [[0, 8, 0, 0], [8, 0, 0, 0]]
    out, counts = _out(x.shape, 1)
    act.softmax_argmax_batch(x, FixedType(4, 0, False).spec, out, counts)  # 1 wraps to 0 in ufixed<4,0>
    assert out.tolist() == [[0, 0, 0, 0], [0, 0, 0, 0]] and counts.sum() == 2


def test_stable_softmax_of_equal_inputs():
    # equal inputs: d = 0 -> exp_table[0] = 1; sum = 4 -> inverse of 4 = 0.25 each
    x_t = FixedType(8, 4)
    norm = FixedType(7, 3, False)
    t = FixedType(18, 8, True, "RND", "SAT")
    exp_table = softmax_exp_table(16, norm, t, negative=True)
    inv_table = softmax_inv_table(1024, t, t)
    x = np.full((1, 4), 5, dtype=np.int64)
    out, counts = _out(x.shape, 5)
    act.softmax_table_batch(x, x_t.width, x_t.frac, True, norm.spec, exp_table, t.frac, 4, t.spec, t.spec,
                            inv_table, t.frac, 10, act.reduce_plan(4), FixedType(16, 6).spec, out, counts)
    assert out.tolist() == [[256, 256, 256, 256]]  # 0.25 with 10 fractional bits


def test_legacy_softmax_of_equal_inputs():
    t = FixedType(18, 8)
    exp_table, inv_table = softmax_legacy_tables(1024, 1024, t)
    x = np.zeros((1, 2), dtype=np.int64)
    out, counts = _out(x.shape, 4)
    act.softmax_legacy_batch(x, 10, t.spec, exp_table, inv_table, FixedType(16, 6).spec, out, counts)
    # S = 1 + exp_table[512] = 1 + 1 = 2; index trunc0(2 * 1024 / 64) = 32; 1 / (64*32/1024) = 0.5
    assert out.tolist() == [[512, 512]]
