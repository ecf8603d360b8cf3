"""The batched kernels' fast loops against a step-by-step reference, and predict against the counting path.

The dense and recurrent kernels pick a loop by type and by whether overflows are
counted: ``predict`` skips counting, so WRAP accumulators add the whole sum modulo
2**64 and cast once, SAT accumulators saturate without counting, and products are
taken four outputs and two inputs at a time. Each must give the codes of the
one-product-at-a-time definition (``nnet::dense``: every product and every partial
sum cast to ``accum_t``), for every rounding and overflow mode, odd layer sizes and
partial sample blocks.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fxsim.fixed import FixedType, Overflow, Rounding, cast, count_overflows
from fxsim.ir import InputSpec, RecurrentSpec
from fxsim.kernels.blocks import BLOCK, n_blocks, row_max_abs
from fxsim.kernels.dense import DENSE, DENSE_COUNTERS, dense_batch, products_fit_int32
from fxsim.kernels.dense_order import LATENCY_ORDER, dense_order
from fxsim.model import FxModel

pytestmark = pytest.mark.core


def _reference_dense(x, x_t, w, w_t, bias_acc, accum, order):
    """``nnet::dense`` one product at a time with the array casts of ``fxsim.fixed``."""
    prod_t = FixedType(62, 62 - (x_t.frac + w_t.frac))  # only the fractional bits matter to cast()
    acc = np.tile(bias_acc, (x.shape[0], 1))
    n_prod = n_acc = 0
    for i, wi, wj, j in order:
        exact = x[:, i] * w[wi, wj]
        p = cast(exact, prod_t, accum)
        n_prod += count_overflows(exact, prod_t, accum)
        s = acc[:, j] + p
        acc[:, j] = cast(s, accum, accum)
        n_acc += count_overflows(s, accum, accum)
    return acc, n_prod, n_acc


def _run_dense(x, x_t, w, w_t, bias_acc, accum, order, count):
    n, n_out = x.shape[0], w.shape[1]
    wide = FixedType(62, 30)  # the result type: no final cast effects, so out == accumulators
    out = np.empty((n, n_out), dtype=np.int64)
    counts = np.zeros((n_blocks(n), len(DENSE_COUNTERS)), dtype=np.int64)
    dense_batch(x, x_t.frac, w, w_t.frac, bias_acc, order, accum.spec, wide.spec, out, counts, count)
    return cast(out, wide, accum), counts.sum(axis=0)


MODES = list(itertools.product(Rounding, Overflow))


@pytest.mark.parametrize("case", range(len(MODES)))
def test_dense_block_loops_match_the_step_by_step_definition(case):
    rounding, overflow = MODES[case]
    rng = np.random.default_rng(case)
    n = BLOCK + 37  # a full block and a partial one
    for n_in, n_out in [(1, 1), (3, 5), (7, 4), (6, 9), (2, 8)]:
        x_t = FixedType(int(rng.integers(6, 17)), int(rng.integers(1, 6)))
        w_t = FixedType(int(rng.integers(4, 13)), int(rng.integers(0, 3)))
        accum = FixedType(int(rng.integers(5, 20)), int(rng.integers(1, 7)), True, rounding, overflow)
        w = rng.integers(-(1 << (w_t.width - 1)), 1 << (w_t.width - 1), (n_in, n_out))
        bias_acc = cast(rng.integers(-(1 << 12), 1 << 12, n_out), FixedType(13, 3), accum)
        # the whole input range (overflows everywhere), and small inputs (a block that cannot
        # overflow, which the kernel detects and sums plainly)
        x_lim = 1 << (x_t.width - 1) if n_in % 2 else 3
        x = rng.integers(-x_lim, x_lim, (n, n_in))
        if x_lim == 3:
            bias_acc[:] = 0
        for strategy, rf in [("latency", 1), ("resource", n_in)]:
            order = LATENCY_ORDER if strategy == "latency" else dense_order(n_in, n_out, strategy, rf)
            full = dense_order(n_in, n_out, strategy, rf)
            want, want_prod, want_acc = _reference_dense(x, x_t, w, w_t, bias_acc, accum, full)
            for count in (True, False):
                got, counts = _run_dense(x, x_t, w, w_t, bias_acc, accum, order, count)
                where = f"{accum} {n_in}x{n_out} {strategy} count={count}"
                np.testing.assert_array_equal(got, want, err_msg=where)
                if count:
                    assert (counts[DENSE.product], counts[DENSE.accumulator]) == (want_prod, want_acc), where


@pytest.mark.parametrize("d", [0, 1, 15, 30, 31])
def test_int32_lanes_at_the_edge_of_int32(d):
    # Blocks whose products all fit int32 (with half a step for rounding) are summed in 32-bit
    # lanes; a product one unit larger sends the block back to int64. Inputs and weights here
    # sit on both sides of that edge, with 32-bit accumulators whose WRAP sums wrap modulo 2**32.
    rng = np.random.default_rng(d)
    x_t, w_t = FixedType(18, 2), FixedType(18, 2)  # 16 fractional bits each
    limit = (1 << 31) - 1 - ((1 << d) >> 1)
    w_max = (1 << 15) - 1
    n_in, n_out, n = 3, 6, BLOCK + 9
    routes = set()
    for rounding, overflow in itertools.product(["TRN", "RND", "RND_CONV"], ["WRAP", "SAT"]):
        accum = FixedType(32, d, True, rounding, overflow)  # 32 - d fractional bits: products drop d
        for x_max in (limit // w_max, limit // w_max + 1):
            w = rng.integers(-w_max, w_max + 1, (n_in, n_out))
            w[:, 0] = w_max
            x = rng.integers(-x_max, x_max + 1, (n, n_in))
            x[0, :] = x_max
            x[1, :] = -x_max
            bias_acc = rng.integers(-(1 << 20), 1 << 20, n_out)
            xmax = row_max_abs(np.ascontiguousarray(x[:BLOCK].T))
            routes.add(products_fit_int32(xmax, w, d))
            want, _, _ = _reference_dense(x, x_t, w, w_t, bias_acc, accum, dense_order(n_in, n_out))
            for count in (False, True):
                got, _ = _run_dense(x, x_t, w, w_t, bias_acc, accum, LATENCY_ORDER, count)
                np.testing.assert_array_equal(got, want, err_msg=f"{accum} x_max={x_max} count={count}")
    assert routes == {True, False}


def _recurrent(cell: str, accum: FixedType, result: FixedType, n_in: int, n_state: int, rng) -> FxModel:
    k = 4 if cell == "lstm" else 3
    x_t = accum if cell == "lstm" else FixedType(12, 4)  # hls4ml's LSTM needs input == accum == result
    result = accum if cell == "lstm" else result
    w_t = FixedType(9, 1)
    spec = RecurrentSpec(
        name=cell, cell=cell, input_t=x_t, n_timesteps=4,
        weight=rng.integers(-256, 256, (n_in, k * n_state)),
        recurrent_weight=rng.integers(-256, 256, (n_state, k * n_state)),
        bias=rng.integers(-256, 256, k * n_state),
        recurrent_bias=rng.integers(-256, 256, k * n_state) if cell == "gru" else np.zeros(k * n_state, np.int64),
        weight_t=w_t, recurrent_weight_t=w_t, bias_t=w_t, recurrent_bias_t=w_t, accum_t=accum, result_t=result,
        table_t=FixedType(10, 2), table_size=256, activation="tanh", recurrent_activation="sigmoid",
        return_sequences=True,
    )
    return FxModel([InputSpec("x", (4, n_in), x_t), spec])


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_recurrent_predict_equals_the_counting_path(cell):
    rng = np.random.default_rng(11)
    for rounding, overflow in MODES:
        accum = FixedType(14, 4, True, rounding, overflow)
        m = _recurrent(cell, accum, FixedType(11, 2, True, "RND", "SAT"), 5, 3, rng)
        x = rng.normal(0, 6, (BLOCK + 5, 4, 5))
        fast = m.predict_codes(x)
        counted, report = m._run(x, len(x), trace=None, count=True)
        np.testing.assert_array_equal(fast, counted.reshape(len(x), -1), err_msg=str(accum))
        assert report is not None and report.total > 0  # inputs this large overflow somewhere
