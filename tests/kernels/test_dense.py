"""Hand-worked checks of the dense kernel: per-product casts, bias cast, accumulation orders."""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.fixed import FixedType
from fxsim.kernels.dense import bias_to_accum, dense_batch
from fxsim.kernels.dense_order import LATENCY_ORDER, dense_order
from fxsim.kernels.scale import scale_batch

pytestmark = pytest.mark.core


def _run(x, x_frac, w, w_frac, bias_acc, order, accum, result):
    x = np.atleast_2d(np.asarray(x, dtype=np.int64))
    w = np.ascontiguousarray(np.asarray(w, dtype=np.int64))
    out = np.zeros((x.shape[0], w.shape[1]), dtype=np.int64)
    counts = np.zeros((x.shape[0], 3), dtype=np.int64)
    dense_batch(x, x_frac, w, w_frac, np.asarray(bias_acc, dtype=np.int64), order, accum.spec, result.spec,
                out, counts, True)
    return out, counts


def test_latency_order_is_input_major():
    order = dense_order(2, 3, "latency")
    assert order.tolist() == [[0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 2, 2], [1, 1, 0, 0], [1, 1, 1, 1], [1, 1, 2, 2]]


def test_resource_rf_leq_nin_order():
    # n_in=4, n_out=1, RF=2: ir=0 adds inputs 0, 2; ir=1 adds 1, 3 (nnet_dense_resource.h:12-84)
    order = dense_order(4, 1, "resource", 2)
    assert order[:, 0].tolist() == [0, 2, 1, 3]
    assert order[:, 3].tolist() == [0, 0, 0, 0]
    assert np.array_equal(order[:, 0], order[:, 1])  # the input index matches the weight row


def test_resource_rf_gt_nin_rem0_order():
    # n_in=2, n_out=3, RF=4: transposed weights [3][2]; ir walks w_index = ir, ir+4
    order = dense_order(2, 3, "resource", 4)
    pairs = [(int(r[0]), int(r[3])) for r in order]
    assert pairs == [(0, 0), (0, 2), (1, 0), (1, 2), (0, 1), (1, 1)]
    assert sorted((int(r[1]), int(r[2])) for r in order) == [(i, j) for i in range(2) for j in range(3)]


def test_invalid_reuse_factor_raises():
    with pytest.raises(ValueError, match="assert"):
        dense_order(4, 3, "resource", 6)  # RF > n_in and RF % n_in != 0
    with pytest.raises(ValueError, match="not emulated"):
        dense_order(4, 3, "resource_unrolled", 2)


def test_each_product_is_floored_into_accum():
    # 0.75 * 0.75 = 0.5625 floors to 0 in ap_fixed<8,8>; the exact sum 1.125 would floor to 1
    a = FixedType(8, 8)
    out, counts = _run([[3, 3]], 2, [[3], [3]], 2, [0], LATENCY_ORDER, a, a)
    assert out.tolist() == [[0]]
    assert counts.tolist() == [[0, 0, 0]]


def test_bias_is_cast_to_accum():
    b = FixedType(8, 4)  # 4 fractional bits
    a = FixedType(8, 6, True, "TRN", "WRAP")  # 2 fractional bits
    codes, over = bias_to_accum(np.array([7, -7]), b, a)  # 0.4375 -> 0.25 (floor), -0.4375 -> -0.5
    assert codes.tolist() == [1, -2]
    assert over == 0


def test_saturating_accumulator_depends_on_order():
    # products 5, 5, -5, 0 into ap_fixed<4,4,TRN,SAT> (range -8..7):
    # latency: 5+5 -> 7 (sat), 7-5 = 2; resource RF=2 adds inputs 0, 2, 1, 3: 5-5+5 = 5
    a = FixedType(4, 4, True, "TRN", "SAT")
    r = FixedType(8, 8)
    x, w = [[5, 5, -5, 0]], [[1], [1], [1], [1]]
    out_lat, c_lat = _run(x, 0, w, 0, [0], LATENCY_ORDER, a, r)
    out_res, c_res = _run(x, 0, w, 0, [0], dense_order(4, 1, "resource", 2), a, r)
    assert out_lat.tolist() == [[2]] and c_lat[0, 1] == 1
    assert out_res.tolist() == [[5]] and c_res[0, 1] == 0


def test_wrapping_accumulator_and_overflow_counts():
    a = FixedType(4, 4)  # wraps modulo 16
    r = FixedType(3, 3, True, "TRN", "SAT")
    out, counts = _run([[6, 6]], 0, [[1], [1]], 0, [0], LATENCY_ORDER, a, r)
    assert out.tolist() == [[-4]]  # 12 wraps to -4, fits the result
    assert counts.tolist() == [[0, 1, 0]]
    out, counts = _run([[3, 3]], 0, [[1], [1]], 0, [0], LATENCY_ORDER, a, r)
    assert out.tolist() == [[3]]  # 6 saturates to 3 in ap_fixed<3,3,TRN,SAT>
    assert counts.tolist() == [[0, 0, 1]]


def test_product_overflow_counted():
    a = FixedType(4, 4)
    out, counts = _run([[4]], 0, [[3]], 0, [0], LATENCY_ORDER, a, FixedType(8, 8))
    assert out.tolist() == [[-4]]  # 12 wraps to -4 when cast to accum_t
    assert counts.tolist() == [[1, 0, 0]]


def test_scale_is_exact_then_one_cast():
    # 1.5 * 0.75 + 0.125 = 1.25 exactly; result ap_fixed<8,4,RND> (4 fractional bits): 20
    r = FixedType(8, 4, True, "RND", "WRAP")
    out = np.zeros((1, 1), dtype=np.int64)
    counts = np.zeros((1, 1), dtype=np.int64)
    scale_batch(np.array([[3]], dtype=np.int64), 1, np.array([3], dtype=np.int64), 2,
                np.array([1], dtype=np.int64), 3, r.spec, out, counts)
    assert out.tolist() == [[20]]
