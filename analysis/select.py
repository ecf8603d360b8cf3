"""Pre-synthesis bit selection: the fewest bits whose hardware metric meets a target.

Two searches, both over :class:`~fxsim.analysis.space.Point` objects and a batch
``evaluate(points) -> metrics`` callable (the hardware metric fxsim measures for
each point; :class:`fxsim.analysis.study.Study` provides one):

* :func:`uniform_scan` / :func:`fewest_uniform_bits`: the seed study's criterion.
  Every type is ``ap_fixed<I+F+1, I+1>``; the answer is the smallest width whose
  metric reaches the threshold (``target * float metric``).
* :func:`greedy_search`: per layer and per quantity. Starting from a point that
  meets the threshold (the best uniform one), it repeatedly removes one integer
  or one fractional bit from one knob group, choosing the move that saves the most
  cost per unit of metric lost among the moves that keep the threshold; moves the
  objective does not see (a bias bit under the multiplier proxy, halving a lookup
  table) are ranked by the bits and table memory they save. Estimates of each move's metric are
  reused across steps and refreshed only for the move about to be taken (lazy
  greedy), so a step costs a few evaluations, not one per knob.

The cost is the total bits (sum of every knob's width), the multiplier-cost proxy
(sum over multipliers of the operand widths, see :class:`~fxsim.analysis.space.Space`),
or any cost of a point, such as the EBOPs, LUTs or DSPs of fxsim's hardware estimate
(:mod:`fxsim.analysis.objective`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fxsim.analysis.space import Key, Point, Space, make_type

Evaluate = Callable[[Sequence[Point]], list[float]]

OBJECTIVES = ("bits", "multipliers")
#: Smallest table a search may shrink to.
MIN_TABLE_SIZE = 32


@dataclass(frozen=True)
class UniformRow:
    """One uniform precision ``ap_fixed<I+F+1, I+1>`` and its hardware metric."""

    integer: int
    fractional: int
    metric: float
    point: Point

    @property
    def width(self) -> int:
        return self.integer + self.fractional + 1


def uniform_points(space: Space, integers: Sequence[int], fractionals: Sequence[int], rounding="TRN",
                   overflow="WRAP") -> list[tuple[int, int, Point]]:
    """The grid of uniform points ``(I, F, point)``."""
    return [(i, f, space.uniform(i, f, rounding, overflow)) for i in integers for f in fractionals]


def uniform_scan(evaluate: Evaluate, space: Space, integers: Sequence[int], fractionals: Sequence[int],
                 rounding="TRN", overflow="WRAP") -> list[UniformRow]:
    """Hardware metric of every uniform precision on the grid ``integers x fractionals``."""
    grid = uniform_points(space, integers, fractionals, rounding, overflow)
    metrics = evaluate([p for _, _, p in grid])
    return [UniformRow(i, f, m, p) for (i, f, p), m in zip(grid, metrics)]


def fewest_uniform_bits(evaluate: Evaluate, space: Space, threshold: float, integers: Sequence[int] = range(7),
                        max_fractional: int = 16, rounding="TRN",
                        overflow="WRAP") -> tuple[UniformRow | None, list[UniformRow]]:
    """The narrowest uniform precision whose metric is at least ``threshold``.

    For each integer width the smallest sufficient fractional width is found by
    bisection over ``[0, max_fractional]`` (the metric grows with fractional bits
    up to noise; a width that fails at ``max_fractional`` is given up). Ties in
    total width go to the higher metric.

    Returns
    -------
    best : the chosen row, or None when no uniform precision reaches the threshold.
    rows : every row evaluated on the way.
    """
    rows: list[UniformRow] = []

    def metric(i: int, f: int) -> float:
        p = space.uniform(i, f, rounding, overflow)
        m = evaluate([p])[0]
        rows.append(UniformRow(i, f, m, p))
        return m

    best: UniformRow | None = None
    for i in integers:
        if metric(i, max_fractional) < threshold:
            continue
        lo, hi = -1, max_fractional  # metric(lo) fails (or lo = -1), metric(hi) passes
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if metric(i, mid) >= threshold:
                hi = mid
            else:
                lo = mid
        row = next(r for r in reversed(rows) if (r.integer, r.fractional) == (i, hi))
        if best is None or (row.width, -row.metric) < (best.width, -best.metric):
            best = row
    return best, rows


# --- per-knob greedy search ------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """Remove one bit from a knob group: ``"frac"`` (LSB) or ``"int"`` (MSB), or halve a table."""

    group: tuple[Key, ...]
    kind: str  # "frac" | "int" | "table"
    layer: str = ""

    def __str__(self) -> str:
        if self.kind == "table":
            return f"{self.layer}: TableSize/2"
        names = "=".join(f"{l}.{q}" for l, q in self.group)
        return f"{names}: -1 {'fractional' if self.kind == 'frac' else 'integer'} bit"


@dataclass
class Step:
    """One accepted move of the search."""

    move: str
    metric: float
    costs: dict[str, int]
    point: Point


@dataclass
class SearchResult:
    """Outcome of :func:`greedy_search`."""

    start: Point
    point: Point
    metric: float
    threshold: float
    objective: str
    steps: list[Step] = field(default_factory=list)
    evaluations: int = 0

    start_metric: float = float("nan")

    def path(self) -> list[tuple[Point, float]]:
        """The start and the point after every step, with the metric the search saw."""
        return [(self.start, self.start_metric)] + [(s.point, s.metric) for s in self.steps]


def _shrink(space: Space, point: Point, move: Move) -> Point | None:
    """``point`` after ``move``, or None when the move would leave a legal type."""
    if move.kind == "table":
        n = point.table_sizes[move.layer] // 2
        return None if n < MIN_TABLE_SIZE else space.with_tables(point, {move.layer: n})
    t = point.types[move.group[0]]
    if move.kind == "frac":
        width, integer = t.width - 1, t.integer
        if t.frac <= 0:
            return None
    else:
        width, integer = t.width - 1, t.integer - 1
        if integer < 0:
            return None
    if width < (2 if t.signed else 1):
        return None
    return space.with_types(point, {move.group[0]: make_type(width, integer, t)})


def _cost(space: Space, point: Point, objective: str | Callable[[Point], float]) -> float:
    if callable(objective):  # e.g. an estimate-based fxsim.analysis.objective.Objective
        return objective(point)
    if objective == "bits":
        return space.total_bits(point)
    if objective == "multipliers":
        return space.multiplier_cost(point)
    raise ValueError(f"unknown objective {objective!r}; valid: {', '.join(OBJECTIVES)}")


def _secondary(space: Space, point: Point) -> int:
    return space.total_bits(point) + space.table_bits(point)


def greedy_search(evaluate: Evaluate, space: Space, start: Point, threshold: float,
                  objective: str | Callable[[Point], float] = "bits",
                  tables: bool = True, max_evaluations: int = 600, slack: float = 1e-4) -> SearchResult:
    """Per-knob bit removal from ``start`` while the metric stays at or above ``threshold``.

    Parameters
    ----------
    evaluate : batch metric of points (hardware metric from fxsim).
    space : the model's knobs.
    start : a point meeting the threshold (e.g. the best uniform precision).
    threshold : the metric every accepted point keeps.
    objective : ``"bits"`` (total bits), ``"multipliers"`` (multiplier-cost proxy), or a callable
        cost of a point (:func:`fxsim.analysis.objective.objective`: EBOPs, LUT, DSP of fxsim's estimate).
    tables : also halve lookup tables (moves that the objective does not see; they are
        taken when they save the most table memory per metric lost among such moves).
    max_evaluations : stop after this many evaluations (the best point so far is returned).
    slack : metric loss treated as zero when ranking moves (noise floor), in metric units.

    Raises
    ------
    ValueError : ``start`` does not meet the threshold, or an unknown objective.
    """
    if not callable(objective) and objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; valid: {', '.join(OBJECTIVES)}")
    evals = 0

    def run(points: list[Point]) -> list[float]:
        nonlocal evals
        evals += len(points)
        return list(evaluate(points))

    current = start
    m_cur = run([current])[0]
    if m_cur < threshold:
        raise ValueError(f"the start point's metric {m_cur:.6g} is below the threshold {threshold:.6g}")
    result = SearchResult(start, current, m_cur, threshold, objective, start_metric=m_cur)
    moves = [Move(g, kind) for g in space.groups() for kind in ("frac", "int")]
    if tables:
        moves += [Move((), "table", layer) for layer in space.table_layers()]
    # loss[move] = (metric lost by the move, version of `current` it was measured on,
    # metric after it); a loss measured on an earlier point estimates the current one.
    loss: dict[Move, tuple[float, int, float]] = {}
    version = 0

    # an estimated cost (a callable objective) is worth a conversion per point: like the loss, a
    # move's saving is measured with its metric and reused until the move is measured again
    saved: dict[Move, float] = {}

    def measure(batch: list[Move]) -> None:
        afters = [_shrink(space, current, mv) for mv in batch]
        for mv, after, m in zip(batch, afters, run(afters)):
            loss[mv] = (m_cur - m, version, m)
            if callable(objective):
                saved[mv] = _cost(space, current, objective) - _cost(space, after, objective) if m > -math.inf else 0.0

    def score(move: Move) -> tuple[float, float]:
        # the objective first; total bits plus table memory break ties (moves the
        # objective does not see, such as biases or table sizes, still save resources)
        after = _shrink(space, current, move)
        lost = max(loss[move][0], 0.0) + slack
        if callable(objective):
            saving = saved[move]
        else:
            saving = _cost(space, current, objective) - _cost(space, after, objective)
        secondary = _secondary(space, current) - _secondary(space, after)
        return saving / lost, secondary / lost

    while evals < max_evaluations:
        legal = [mv for mv in moves if _shrink(space, current, mv) is not None]
        measure([mv for mv in legal if mv not in loss])
        chosen = None
        while evals < max_evaluations:
            feasible = [mv for mv in legal if m_cur - loss[mv][0] >= threshold]
            if not feasible:
                stale = [mv for mv in legal if loss[mv][1] != version]
                if not stale:
                    break
                measure(stale)
                continue
            top = max(feasible, key=score)
            if loss[top][1] == version:
                chosen = top
                break
            measure([top])
        if chosen is None:
            break
        current, m_cur = _shrink(space, current, chosen), loss[chosen][2]
        version += 1
        result.steps.append(Step(str(chosen), m_cur, space.costs(current), current))

    result.point, result.metric, result.evaluations = current, m_cur, evals
    return result
