"""The per-knob search shows one progress bar over its whole evaluation budget.

Most of its batches are one point, which ``Study.evaluate`` draws no bar for: the QuickDraw
GRU scan ran 10 minutes with nothing on the screen before ``search_evaluator``.
"""

from __future__ import annotations

import pytest

from fxsim.analysis.pipeline import search_evaluator
from fxsim.analysis.select import greedy_search
from fxsim.analysis.space import Space
from tests.analysis.helpers import separable_metric, toy_specs

pytestmark = pytest.mark.core


class _Study:
    """The part of a Study the search evaluator uses, over a synthetic metric."""

    def __init__(self, evaluate, progress: bool):
        self._evaluate, self.progress, self.calls = evaluate, progress, []

    def evaluate(self, points, desc=None):
        self.calls.append((len(points), desc))
        return self._evaluate(points)

    def evaluator(self, desc=None):
        return lambda points: self.evaluate(points, desc)


def test_the_bar_counts_every_evaluation_of_the_search(capsys):
    space = Space(toy_specs("gru"))
    _, evaluate = separable_metric({("gru", "accum"): 6}, {("gru", "accum"): 2})
    study = _Study(evaluate, progress=True)
    wrapped, bar = search_evaluator(study, "per-knob search (bits)", 50)
    res = greedy_search(wrapped, space, space.uniform(3, 10), 0.95, max_evaluations=50)
    assert bar.n == res.evaluations == sum(n for n, _ in study.calls)
    assert bar.total == max(50, res.evaluations)  # the last batch may cross the budget
    assert any(n == 1 for n, _ in study.calls)  # the single-point batches are counted too
    assert all(desc is None for _, desc in study.calls)  # no second bar per batch
    bar.close()
    assert "per-knob search (bits)" in capsys.readouterr().err


def test_the_total_grows_with_a_batch_past_the_budget():
    study = _Study(lambda points: [1.0] * len(points), progress=True)
    wrapped, bar = search_evaluator(study, "per-knob search (bits)", 5)
    wrapped([object()] * 4)
    wrapped([object()] * 3)
    assert (bar.n, bar.total) == (7, 7)
    bar.close()


def test_no_bar_without_progress(capsys):
    study = _Study(lambda points: [1.0] * len(points), progress=False)
    wrapped, bar = search_evaluator(study, "per-knob search (bits)", 50)
    assert bar is None and wrapped([object(), object()]) == [1.0, 1.0]
    assert "per-knob search" not in capsys.readouterr().err
