"""Integer bits a value range needs, and the trimmed start of the search."""

from __future__ import annotations

import pytest

from fxsim.analysis.ranges import integer_bits_needed, knob_ranges, trim_integers
from fxsim.fixed import FixedType

pytestmark = pytest.mark.core


@pytest.mark.parametrize("lo, hi, t, need", [
    (-1.0, 0.96, FixedType(8, 3), 1),  # ap_fixed<6,1> holds [-1, 1 - 2**-5]
    (-1.0, 1.0, FixedType(8, 3), 2),
    (-0.3, 0.2, FixedType(8, 3), 0),  # ap_fixed<W,0> holds [-0.5, 0.5)
    (-5.0, 3.0, FixedType(10, 2), 4),
    (0.0, 3.9, FixedType(8, 2, False), 2),
    (0.0, 4.0, FixedType(8, 2, False), 3),
])
def test_integer_bits_needed(lo, hi, t, need):
    assert integer_bits_needed(lo, hi, t) == need
    trimmed = FixedType(t.frac + need, need, t.signed)
    assert trimmed.min <= lo and hi <= trimmed.max


@pytest.mark.keras2
def test_trim_keeps_fractions_and_never_widens(gru_study):
    space = gru_study.space
    ranges = knob_ranges(gru_study, 300)
    assert set(ranges) >= set(space.keys)
    lo, hi = ranges[("gru", "table_t")]
    assert (lo, hi) == (-1.0, 1.0)
    start = space.uniform(4, 6)
    trimmed = trim_integers(space, start, ranges)
    for k in space.keys:
        a, b = start.types[k], trimmed.types[k]
        assert b.frac == a.frac and b.integer <= a.integer
        assert b.min <= ranges[k][0] and ranges[k][1] <= b.max + b.lsb
    assert trimmed.type("gru", "table_t").integer == 2  # +1.0 needs 2 integer bits signed
    # trimming to the ranges adds (almost) no overflow, so the metric barely moves
    m0, m1 = gru_study.evaluate([start, trimmed])
    assert abs(m1 - m0) < 0.01
    assert space.total_bits(trimmed) < space.total_bits(start)
