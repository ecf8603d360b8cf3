"""The accumulation plan a dense product runs, chosen in Python from its static types.

Each plan is compiled on its own (only its loops), so the choice must follow the types
exactly as the loops require: the fast loops only for signed ``accum_t`` of TRN, RND or
RND_CONV rounding (any rounding when products drop no bits) and WRAP or SAT, 32-bit
lanes only where ``accum_t`` and the dropped bits allow them, the general loops for the
rest. That every plan gives the codes of the one-product-at-a-time definition is
tests/kernels/test_block_paths.py's job.
"""

from __future__ import annotations

import itertools

import pytest

from fxsim.fixed import FixedType, Overflow, Rounding
from fxsim.kernels.dense_plan import EXACT, FLOOR, ORDERED, ROUND, ROUND_CONV, FastPlan, accumulation_plan, fast_plan

pytestmark = pytest.mark.core


def test_every_fast_plan_code_round_trips():
    codes = set()
    for rounding, sat, count, lanes32 in itertools.product((FLOOR, ROUND, ROUND_CONV), *[(False, True)] * 3):
        plan = FastPlan(rounding, sat, count, lanes32)
        assert fast_plan(plan.code) == plan
        codes.add(plan.code)
    assert len(codes) == 24 and not codes & {EXACT, ORDERED}
    assert fast_plan(EXACT) is None and fast_plan(ORDERED) is None


def _plan(accum: FixedType, x_frac: int = 10, w_frac: int = 10, latency: bool = True, count: bool = False):
    return fast_plan(accumulation_plan(x_frac, w_frac, accum.spec, latency, count))


@pytest.mark.parametrize("rounding", list(Rounding))
@pytest.mark.parametrize("overflow", list(Overflow))
def test_modes_choose_the_fast_loops_only_where_they_apply(rounding, overflow):
    accum = FixedType(16, 6, True, rounding, overflow)  # 10 fractional bits: products drop 10
    plan = _plan(accum)
    fast = rounding in (Rounding.TRN, Rounding.RND, Rounding.RND_CONV) and overflow in (Overflow.WRAP, Overflow.SAT)
    assert (plan is not None) == fast
    if fast:
        assert plan.rounding == {Rounding.TRN: FLOOR, Rounding.RND: ROUND, Rounding.RND_CONV: ROUND_CONV}[rounding]
        assert plan.sat == (overflow == Overflow.SAT) and plan.lanes32 and not plan.count
    # products that drop no bits are exact: every rounding is a floor then
    exact_products = _plan(accum, 5, 5)
    assert (exact_products is not None) == (overflow in (Overflow.WRAP, Overflow.SAT))
    if exact_products is not None:
        assert exact_products.rounding == FLOOR


def test_what_the_fast_loops_cannot_run_takes_the_general_loops():
    assert accumulation_plan(10, 10, FixedType(16, 6, False).spec, True, False) == EXACT  # unsigned accum_t
    assert accumulation_plan(10, 10, FixedType(1, 1).spec, True, False) == EXACT  # one bit
    assert accumulation_plan(2, 2, FixedType(16, 6).spec, True, False) == EXACT  # products gain bits
    assert accumulation_plan(40, 40, FixedType(16, 0).spec, True, False) == EXACT  # 64 dropped bits
    assert accumulation_plan(10, 10, FixedType(16, 6).spec, False, False) == ORDERED  # a Resource order
    assert accumulation_plan(10, 10, FixedType(16, 6, True, "RND", "SAT").spec, False, True) == ORDERED


def test_lanes_and_counting():
    assert _plan(FixedType(32, 10), 16, 16).lanes32 and not _plan(FixedType(33, 10), 16, 16).lanes32  # accum_t width
    assert _plan(FixedType(32, 32), 20, 20).lanes32 is False  # 40 bits dropped (> 31)
    assert _plan(FixedType(32, 32), 20, 11).lanes32  # 31 bits dropped
    assert _plan(FixedType(16, 6), count=True).count and not _plan(FixedType(16, 6)).count
