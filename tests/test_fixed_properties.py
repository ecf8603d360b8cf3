"""fxsim's fixed-point core against the plain-Python ``ap_fixed`` reference (``tests/reference/apfixed.py``).

Property tests (hypothesis) over widths 1..62, integer bits below zero, zero and
beyond the width, every rounding and overflow mode, signed and unsigned, ``ap_int``
too, and values in range, far out of range, exact ties and near-ties. Each example
converts a batch of values with one call, so the kernels' array paths run; every
code must equal the reference's. The counts go to the run's tally.
"""

from __future__ import annotations

import math
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fxsim.fixed import FixedType, cast, count_overflows, from_codes, product_type, sum_type, to_codes
from tests.reference import apfixed as ref

pytestmark = pytest.mark.core

MAX_WIDTH = 62
ROUNDING = ref.ROUNDING
OVERFLOW = ref.OVERFLOW


@st.composite
def fixed_types(draw, max_width: int = MAX_WIDTH, allow_int: bool = True) -> FixedType:
    """Any type fxsim represents: W in 1..62, I from W-70 (all fraction) to W+8 (steps above 1)."""
    width = draw(st.integers(1, max_width))
    signed = draw(st.booleans())
    if allow_int and draw(st.integers(0, 9)) == 0:
        return FixedType(width, width, signed, is_int=True)
    integer = draw(st.one_of(st.integers(-8, width + 8), st.integers(width - 70, width + 30)))
    return FixedType(width, integer, signed, draw(st.sampled_from(ROUNDING)), draw(st.sampled_from(OVERFLOW)))


@st.composite
def doubles_for(draw, t: FixedType, n: int = 60) -> list[float]:
    """Doubles a conversion to ``t`` can get wrong: ties, near-ties, edges, far out of range, any double."""
    f = t.frac
    span = t.width + 4
    k = st.integers(-(1 << min(span, 52)), 1 << min(span, 52))
    exact_half = st.builds(lambda c: math.ldexp(c + 0.5, -f), st.integers(-(1 << min(span, 50)), 1 << min(span, 50)))
    # a few extra fractional bits below the destination's LSB: quarter points, ties, just-off ties
    sub_lsb = st.builds(lambda c, e: math.ldexp(c, -f - e), k, st.integers(1, 6))
    edges = st.sampled_from([t.min, t.max, t.min - t.lsb / 2, t.max + t.lsb / 2, -t.max, 0.0, -0.0,
                             t.max + t.lsb, t.min - t.lsb, -t.lsb / 2, t.lsb / 2, -0.25, -0.49, 0.3])
    far = st.builds(lambda m, e: math.ldexp(m, e), st.floats(-1, 1), st.integers(t.integer, t.integer + 200))
    anything = st.floats(allow_nan=False, allow_infinity=False)
    tiny = st.floats(-1e-300, 1e-300, allow_subnormal=True)
    values = draw(st.lists(st.one_of(exact_half, sub_lsb, edges, far, anything, tiny), min_size=n // 2, max_size=n))
    return [v for v in values if math.isfinite(v)]


@settings(max_examples=200)
@given(data=st.data())
def test_to_codes_equals_the_reference_on_any_double(data, record):
    t = data.draw(fixed_types(), label="type")
    x = data.draw(doubles_for(t), label="values")
    if not x:
        return
    ours = to_codes(np.array(x, dtype=np.float64), t).tolist()
    want = [ref.from_double(v, t) for v in x]
    record("reference / to_codes", len(x), sum(a != b for a, b in zip(ours, want)), "codes")
    assert ours == want, f"{t}: {[(v, a, b) for v, a, b in zip(x, ours, want) if a != b][:5]}"


@st.composite
def codes_of(draw, t: FixedType, n: int = 60) -> list[int]:
    lo, hi = t.min_code, t.max_code
    one = st.one_of(st.integers(lo, hi), st.sampled_from([lo, hi, 0, max(lo, -1), min(hi, 1), lo + 1, hi - 1]))
    return draw(st.lists(one, min_size=min(n, 10), max_size=n))


@settings(max_examples=250)
@given(data=st.data())
def test_cast_and_count_overflows_equal_the_reference(data, record):
    src = data.draw(fixed_types(), label="src")
    dst = data.draw(fixed_types(), label="dst")
    codes = data.draw(codes_of(src), label="codes")
    arr = np.array(codes, dtype=np.int64)
    ours = cast(arr, src, dst).tolist()
    want = [ref.cast_code(c, src, dst) for c in codes]
    record("reference / cast", len(codes), sum(a != b[0] for a, b in zip(ours, want)), "codes")
    assert ours == [w[0] for w in want], f"{src} -> {dst}: " + str(
        [(c, a, b) for c, a, b in zip(codes, ours, want) if a != b[0]][:5])
    if not dst.is_int:  # ap_int destinations have no overflow flag to compare
        assert count_overflows(arr, src, dst) == sum(w[1] for w in want), f"{src} -> {dst}"


@settings(max_examples=200)
@given(data=st.data())
def test_cast_equals_conversion_of_the_exact_value(data):
    # two routes to one number: a code of src cast to dst, and the same value as a double
    src = data.draw(fixed_types(max_width=52, allow_int=False), label="src")  # every code exact in a double
    dst = data.draw(fixed_types(allow_int=False), label="dst")
    arr = np.array(data.draw(codes_of(src), label="codes"), dtype=np.int64)
    values = from_codes(arr, src)
    if not np.all(np.isfinite(values)):
        return
    assert cast(arr, src, dst).tolist() == to_codes(values, dst).tolist()


@settings(max_examples=150)
@given(data=st.data())
def test_product_and_sum_types_hold_every_exact_result(data):
    # the RType of ap_fixed_base.h: a * b and a + b are exact in product_type / sum_type
    a = data.draw(fixed_types(max_width=30), label="a")
    b = data.draw(fixed_types(max_width=30), label="b")
    ca = data.draw(codes_of(a, 8), label="a codes") + [a.min_code, a.max_code]
    cb = data.draw(codes_of(b, 8), label="b codes") + [b.min_code, b.max_code]
    try:
        pt, st_ = product_type(a, b), sum_type(a, b)
    except ValueError as err:  # the exact type is wider than fxsim represents: refused, by name
        assert "bits wide" in str(err) and "at most 62" in str(err), err
        assert a.width + b.width > 62 or max(a.frac, b.frac) + max(a.integer, b.integer) + 1 > 60, err
        return
    assert pt.signed == (a.signed or b.signed) and st_.signed == (a.signed or b.signed)
    for x in ca:
        for y in cb:
            for t, v in ((pt, ref.value(x, a) * ref.value(y, b)), (st_, ref.value(x, a) + ref.value(y, b))):
                code, over = ref.assign(v, t)
                assert not over and ref.value(code, t) == v, f"{a} {b} -> {t}: {v} does not fit"


@pytest.mark.parametrize("rounding", ROUNDING)
def test_reference_ties_by_hand(rounding):
    # the reference itself, on the hand-worked ties of test_fixed.py: +-2.5, +-3.5, +-2.25 LSB
    t = FixedType(8, 3, True, rounding)
    lsb = 2.0**-5
    want = {"TRN": [2, 3, -3, -4, 2, -3], "TRN_ZERO": [2, 3, -2, -3, 2, -2], "RND": [3, 4, -2, -3, 2, -2],
            "RND_ZERO": [2, 3, -2, -3, 2, -2], "RND_INF": [3, 4, -3, -4, 2, -2],
            "RND_MIN_INF": [2, 3, -3, -4, 2, -2], "RND_CONV": [2, 4, -2, -4, 2, -2]}[rounding]
    assert [ref.from_double(v * lsb, t) for v in (2.5, 3.5, -2.5, -3.5, 2.25, -2.25)] == want


def test_reference_overflow_by_hand():
    x = [4.0, -4.5, 5.0, -4.0]  # ap_fixed<8,3>: [-4, 4 - 1/32]
    for mode, want in {"WRAP": [-128, 112, -96, -128], "SAT": [127, -128, 127, -128],
                       "SAT_ZERO": [0, 0, 0, -128], "SAT_SYM": [127, -127, 127, -127]}.items():
        assert [ref.from_double(v, FixedType(8, 3, True, "TRN", mode)) for v in x] == want, mode
    assert [ref.from_double(v, FixedType(1, 1, True, "TRN", "SAT_SYM")) for v in (-3.0, -1.0, 2.0)] == [-1, -1, 0]
    assert ref.from_double(-0.3, FixedType(8, 8, True, is_int=True)) == 1  # the ap_int_base(double) quirk
