"""fxsim's fixed-point core against the real ``ap_types`` headers bundled with hls4ml.

One C++ program (built once, cached under ``.cache/golden``) holds every case; the
tests compare its raw codes with fxsim's and allow zero mismatches. A failure
prints the first disagreements with their inputs.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fxsim.fixed import (
    MAX_WIDTH,
    FixedType,
    Overflow,
    Rounding,
    cast,
    from_codes,
    product_type,
    sum_type,
    to_codes,
)
from tests.golden.apfixed import Oracle

pytestmark = [pytest.mark.csim, pytest.mark.core]

SIGNS = (True, False)
MODES = list(itertools.product(Rounding, Overflow))


def _small_types() -> list[FixedType]:
    """Every mode pair and sign for W = 1..8, plus varied integer bits at W = 5."""
    out = []
    for signed, width, (q, o) in itertools.product(SIGNS, range(1, 9), MODES):
        out.append(FixedType(width, (width + 1) // 2, signed, q, o))
    for signed, integer, (q, o) in itertools.product(SIGNS, (-2, 0, 7), MODES):
        out.append(FixedType(5, integer, signed, q, o))
    return out


def _all_codes_source(dst: FixedType, signed: bool = True) -> FixedType:
    # 3 extra fractional bits (every tie and quarter point) and 3 extra integer bits
    # (values up to 8x beyond the destination's range, so every overflow path).
    return FixedType(dst.width + 6, dst.integer + 3, signed)


def _all_codes(t: FixedType) -> np.ndarray:
    return np.arange(t.min_code, t.max_code + 1, dtype=np.int64)


SPECIAL_DOUBLES = np.array(
    [0.0, -0.0, 1e-300, -1e-300, 5e-324, -5e-324, 0.49999999999, -0.49999999999, 0.5, -0.5,
     2.0**40, -(2.0**40), 2.0**62 + 2.0**12, -(2.0**63), 2.0**70 + 2.0**20, 1e300, -1e300,
     3.0 * 2.0**-60, -3.0 * 2.0**-60, np.finfo(np.float64).max, -np.finfo(np.float64).max]
)


def _random_wide_types(rng: np.random.Generator, n: int) -> list[FixedType]:
    out = []
    widths = [9, 16, 18, 24, 31, 32, 33, 40, 48, 52, 53, 54, 60, 61, MAX_WIDTH]
    for k in range(n):
        width = widths[k % len(widths)]
        integer = int(rng.integers(-4, width + 5))
        q, o = MODES[int(rng.integers(len(MODES)))]
        out.append(FixedType(width, integer, bool(rng.integers(2)), q, o))
    return out


def _random_doubles(rng: np.random.Generator, t: FixedType, n: int) -> np.ndarray:
    """In range, far out of range, and exact ties at the destination's half-LSB."""
    span = 2.0 ** (t.integer - (1 if t.signed else 0))
    inside = rng.uniform(-1.1 * span if t.signed else -0.1 * span, 1.1 * span, n // 4)
    far = rng.uniform(-1, 1, n // 4) * 2.0 ** rng.integers(t.integer, t.integer + 80, n // 4)
    # ties: (k + 1/2) * lsb, exact in a double while k has < 52 bits
    kbits = min(50, t.width)
    k = rng.integers(-(2**kbits), 2**kbits, n // 4).astype(np.float64)
    ties = np.ldexp(k + 0.5, -t.frac)
    near = np.ldexp(k + rng.choice([0.25, 0.75, 0.5 + 2.0**-30, 0.5 - 2.0**-30], n // 4), -t.frac)
    return np.concatenate([inside, far, ties, near, SPECIAL_DOUBLES])


def _random_codes(rng: np.random.Generator, t: FixedType, n: int) -> np.ndarray:
    c = rng.integers(t.min_code, t.max_code, n, endpoint=True, dtype=np.int64)
    edges = np.array([t.min_code, t.max_code, 0, 1, -1, 2], dtype=np.int64)
    return np.concatenate([c, edges[(edges >= t.min_code) & (edges <= t.max_code)]])


def _build():
    rng = np.random.default_rng(20261125)
    cases, inputs, groups = [], [], []

    def add(group, case, data):
        groups.append(group)
        cases.append(case)
        inputs.append(data)

    for dst in _small_types():
        src = _all_codes_source(dst)
        codes = _all_codes(src)
        add("small conv", ("conv", dst), np.concatenate([from_codes(codes, src), SPECIAL_DOUBLES]))
        add("small cast", ("cast", src, dst), codes)
        if dst.integer == (dst.width + 1) // 2 and not dst.signed:
            usrc = _all_codes_source(dst, signed=False)
            add("small cast", ("cast", usrc, dst), _all_codes(usrc))

    for dst in _random_wide_types(rng, 90):
        add("wide conv", ("conv", dst), _random_doubles(rng, dst, 20000))
        sw = int(rng.integers(8, MAX_WIDTH + 1))
        src = FixedType(sw, int(rng.integers(-4, sw + 5)), bool(rng.integers(2)))
        add("wide cast", ("cast", src, dst), _random_codes(rng, src, 20000))

    for width in (1, 2, 5, 8, 16, 32):
        for signed in SIGNS:
            t = FixedType(width, width, signed, is_int=True)
            x = np.concatenate([rng.uniform(-3 * 2.0**width, 3 * 2.0**width, 4000),
                                np.arange(-40, 41) / 8.0, SPECIAL_DOUBLES])
            add("ap_int conv", ("conv", t), x)
            src = FixedType(width + 6, width + 3, True)
            add("ap_int cast", ("cast", src, t), _random_codes(rng, src, 4000))
            add("ap_int cast", ("cast", t, FixedType(width + 4, width // 2 + 1, signed, "RND", "SAT")),
                _random_codes(rng, t, 4000))

    pairs = [(FixedType(16, 6), FixedType(16, 6)), (FixedType(8, 3), FixedType(6, 1, False)),
             (FixedType(6, 0, False), FixedType(10, 12)), (FixedType(18, 8), FixedType(16, -2)),
             (FixedType(31, 15), FixedType(31, 1)), (FixedType(5, 5, False), FixedType(7, 2, False)),
             (FixedType(8, 8, is_int=True), FixedType(12, 4)),
             (FixedType(8, 8, is_int=True), FixedType(6, 6, False, is_int=True))]
    for a, b in pairs:
        data = np.stack([_random_codes(rng, a, 3000)[:3000], _random_codes(rng, b, 3000)[:3000]], axis=1)
        add("product", ("mul", a, b), data)
        add("sum", ("add", a, b), data)
    return cases, inputs, groups


@pytest.fixture(scope="module")
def golden():
    cases, inputs, groups = _build()
    oracle = Oracle(cases)
    return cases, inputs, groups, oracle.run(inputs)


def _check(golden, group, record):
    cases, inputs, groups, results = golden
    compared = mismatched = n_cases = 0
    failures = []
    for case, x, g, ref in zip(cases, inputs, groups, results):
        if g != group:
            continue
        n_cases += 1
        if case[0] == "conv":
            ours = to_codes(x, case[1])
        else:
            ours = cast(x, case[1], case[2])
        bad = np.flatnonzero(ours != ref)
        compared += ref.size
        mismatched += bad.size
        if bad.size and len(failures) < 5:
            failures.append(f"{case[0]} {[str(t) for t in case[1:]]}: inputs {x[bad[:5]].tolist()} "
                            f"fxsim {ours[bad[:5]].tolist()} C++ {ref[bad[:5]].tolist()}")
    record(f"ap_fixed golden / {group}", compared, mismatched, "codes")
    print(f"{group}: {n_cases} type cases, {compared} codes compared, {mismatched} mismatches")
    assert n_cases > 0
    assert mismatched == 0, "\n".join(failures)


def test_small_widths_double_to_fixed_exhaustive(golden, record):
    """All 56 sign x rounding x overflow combinations, W = 1..8, on every quarter-LSB point."""
    _check(golden, "small conv", record)


def test_small_widths_cast_exhaustive(golden, record):
    """Assignment from a wider type, over every code of the source."""
    _check(golden, "small cast", record)


def test_wide_double_to_fixed_random(golden, record):
    _check(golden, "wide conv", record)


def test_wide_cast_random(golden, record):
    _check(golden, "wide cast", record)


def test_ap_int_conversion_and_casts(golden, record):
    _check(golden, "ap_int conv", record)
    _check(golden, "ap_int cast", record)


@pytest.mark.parametrize("group", ["product", "sum"])
def test_product_and_sum_types_and_values(golden, group, record):
    cases, inputs, groups, results = golden
    compared = 0
    for case, x, g, result in zip(cases, inputs, groups, results):
        if g != group:
            continue
        ref, meta = result
        a, b = case[1], case[2]
        rt = product_type(a, b) if group == "product" else sum_type(a, b)
        assert (rt.width, rt.integer, int(rt.signed)) == meta, f"{a} {group} {b}: C++ type {meta}, fxsim {rt}"
        if group == "product":
            exact = x[:, 0] * x[:, 1]
        else:
            exact = (x[:, 0] << (rt.frac - a.frac)) + (x[:, 1] << (rt.frac - b.frac))
        assert np.array_equal(exact, ref), f"{a} {group} {b}"
        compared += ref.size
    record(f"ap_fixed golden / {group}", compared, 0, "codes")
