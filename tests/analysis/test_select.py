"""Bit selection on synthetic metrics whose optimum is known."""

from __future__ import annotations

import pytest

from fxsim.analysis.select import Move, _shrink, fewest_uniform_bits, greedy_search, uniform_scan
from fxsim.analysis.space import Space
from tests.analysis.helpers import separable_metric, toy_specs

pytestmark = pytest.mark.core

NEED_FRAC = {("gru", "accum"): 6, ("gru", "result"): 4, ("output", "accum"): 3}
NEED_INT = {("dense_1", "accum"): 3, ("gru", "accum"): 2}


def test_fewest_uniform_bits_matches_brute_force():
    space = Space(toy_specs("gru"))
    metric, evaluate = separable_metric(NEED_FRAC, NEED_INT)
    threshold = 0.95
    best, rows = fewest_uniform_bits(evaluate, space, threshold, integers=range(5), max_fractional=14)
    brute = [(i + f + 1, -metric(space.uniform(i, f)), i, f) for i in range(5) for f in range(15)
             if metric(space.uniform(i, f)) >= threshold]
    w, neg_m, i, f = min(brute)
    assert (best.width, best.integer, best.fractional) == (w, i, f)
    assert best.metric == pytest.approx(-neg_m)
    assert len(rows) < 5 * 15 / 2  # bisection, not the whole grid
    none, _ = fewest_uniform_bits(evaluate, space, 2.0, integers=range(2), max_fractional=8)
    assert none is None


def test_uniform_scan_grid():
    space = Space(toy_specs("gru"))
    metric, evaluate = separable_metric(NEED_FRAC, NEED_INT)
    rows = uniform_scan(evaluate, space, [0, 2, 4], range(1, 4))
    assert [(r.integer, r.fractional) for r in rows] == [(i, f) for i in (0, 2, 4) for f in (1, 2, 3)]
    assert all(r.metric == metric(r.point) for r in rows)


@pytest.mark.parametrize("objective", ["bits", "multipliers"])
def test_greedy_search_is_feasible_and_locally_minimal(objective):
    space = Space(toy_specs("gru"))
    metric, evaluate = separable_metric(NEED_FRAC, NEED_INT)
    threshold = 0.95
    start, _ = fewest_uniform_bits(evaluate, space, threshold, integers=range(5), max_fractional=14)
    res = greedy_search(evaluate, space, start.point, threshold, objective=objective, tables=False)
    assert res.point.table_sizes == start.point.table_sizes
    assert res.metric == metric(res.point) >= threshold
    assert space.total_bits(res.point) < space.total_bits(start.point)
    assert space.multiplier_cost(res.point) < space.multiplier_cost(start.point)
    # no single further bit can go without breaking the threshold
    for group in space.groups():
        for kind in ("frac", "int"):
            smaller = _shrink(space, res.point, Move(group, kind))
            if smaller is not None:
                assert metric(smaller) < threshold, (group, kind)
    # requirements are respected: the knobs that need bits kept them
    assert res.point.type("dense_1", "accum").integer >= 3
    assert res.point.type("gru", "accum").frac >= 6 - 2
    assert res.evaluations < 400
    with_tables = greedy_search(evaluate, space, start.point, threshold, objective=objective)
    assert with_tables.metric == metric(with_tables.point) >= threshold
    assert any(n < 1024 for n in with_tables.point.table_sizes.values())


def test_greedy_search_refuses_an_infeasible_start():
    space = Space(toy_specs("gru"))
    _, evaluate = separable_metric(NEED_FRAC, NEED_INT)
    with pytest.raises(ValueError, match="below the threshold"):
        greedy_search(evaluate, space, space.uniform(0, 1), 0.95)
    with pytest.raises(ValueError, match="unknown objective"):
        greedy_search(evaluate, space, space.uniform(4, 12), 0.95, objective="luts")


def test_greedy_search_respects_the_evaluation_budget():
    space = Space(toy_specs("lstm"))
    _, evaluate = separable_metric({}, {})
    res = greedy_search(evaluate, space, space.uniform(3, 10), 0.9, max_evaluations=30)
    assert res.evaluations <= 30 + len(space.groups()) * 2


def test_greedy_search_minimises_a_callable_cost():
    from fxsim.analysis.objective import Objective

    space = Space(toy_specs("gru"))
    metric, evaluate = separable_metric(NEED_FRAC, NEED_INT)
    start, _ = fewest_uniform_bits(evaluate, space, 0.95, integers=range(5), max_fractional=14)
    # a cost dominated by one knob, as a DSP count is by the widest multiplier operands
    cost = Objective("weighted", lambda p: 100 * p.type("dense_1", "weight").width + space.total_bits(p))
    res = greedy_search(evaluate, space, start.point, 0.95, objective=cost, tables=False)
    assert str(res.objective) == "weighted"
    assert res.metric == metric(res.point) >= 0.95 and cost(res.point) < cost(start.point)
    for kind in ("frac", "int"):  # the expensive knob kept no bit it could lose
        smaller = _shrink(space, res.point, Move((("dense_1", "weight"),), kind))
        assert smaller is None or metric(smaller) < 0.95
