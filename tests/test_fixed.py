"""Hand-worked cases for the fixed-point core: spellings, ties, overflow, bad input."""

from __future__ import annotations

import math
import subprocess
import sys
from fractions import Fraction

import numba as nb
import numpy as np
import pytest

from fxsim.fixed import (
    MAX_WIDTH,
    FixedType,
    Overflow,
    Rounding,
    cast,
    count_overflows,
    from_codes,
    product_type,
    quantize,
    sum_type,
    to_codes,
    to_int,
    weight_codes,
)
from fxsim.fixed.scalar import _double_to_code, cast_common, cast_params, round_shift_branchless

pytestmark = pytest.mark.core

# --- spellings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ap_fixed<16,6>", FixedType(16, 6)),
        ("ap_fixed<16,6,AP_RND_CONV,AP_SAT>", FixedType(16, 6, True, "RND_CONV", "SAT")),
        ("ap_ufixed<8,0,AP_RND,AP_SAT_SYM>", FixedType(8, 0, False, "RND", "SAT_SYM")),
        ("ap_int<8>", FixedType(8, 8, True, is_int=True)),
        ("ap_uint<4>", FixedType(4, 4, False, is_int=True)),
        ("fixed<16,6,RND,SAT,0>", FixedType(16, 6, True, "RND", "SAT")),
        ("ufixed<10,2,TRN_ZERO,WRAP,0>", FixedType(10, 2, False, "TRN_ZERO", "WRAP")),
        ("int<8>", FixedType(8, 8, True, is_int=True)),
        ("uint<8>", FixedType(8, 8, False, is_int=True)),
        (" ap_fixed< 12 , -2 > ", FixedType(12, -2)),
    ],
)
def test_parse_every_spelling(text, expected):
    assert FixedType.parse(text) == expected


@pytest.mark.parametrize(
    "t, text",
    [
        (FixedType(16, 6), "ap_fixed<16,6>"),
        (FixedType(16, 6, True, "RND_CONV", "SAT"), "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"),
        (FixedType(8, 0, False), "ap_ufixed<8,0>"),
        (FixedType(8, 8, False, is_int=True), "ap_uint<8>"),
    ],
)
def test_str_is_the_ap_spelling_and_round_trips(t, text):
    assert str(t) == text
    assert FixedType.parse(str(t)) == t
    assert FixedType.parse(t.hls4ml_str()) == t


def test_parse_hls4ml_precision_objects():
    from hls4ml.model.types import FixedPrecisionType, IntegerPrecisionType, NamedType

    fp = FixedPrecisionType(12, 4, True, "AP_RND_CONV", "AP_SAT")
    assert FixedType.parse(fp) == FixedType(12, 4, True, "RND_CONV", "SAT")
    assert FixedType.parse(FixedPrecisionType(10, 3, False)) == FixedType(10, 3, False)
    assert FixedType.parse(IntegerPrecisionType(6, False)) == FixedType(6, 6, False, is_int=True)
    assert FixedType.parse(NamedType("layer2_t", fp)) == FixedType(12, 4, True, "RND_CONV", "SAT")


def test_properties():
    t = FixedType(8, 3)
    assert (t.frac, t.lsb, t.min, t.max) == (5, 2**-5, -4.0, 4 - 2**-5)
    u = FixedType(8, 3, signed=False)
    assert (u.min, u.max, u.min_code, u.max_code) == (0.0, 8 - 2**-5, 0, 255)
    n = FixedType(4, -2)  # all bits below the binary point
    assert (n.frac, n.max) == (6, 7 * 2**-6)
    big = FixedType(6, 9)  # integer bits beyond the width: steps of 8
    assert (big.frac, big.lsb, big.max) == (-3, 8.0, 31 * 8.0)


@pytest.mark.parametrize(
    "text, words",
    [
        ("ap_fixed<0,2>", "at least 1 bit"),
        ("ap_fixed<16,6,AP_RND_FOO>", "unknown rounding mode"),
        ("ap_fixed<16,6,AP_RND,AP_CLAMP>", "unknown overflow mode"),
        ("ap_fixed<63,6>", f"at most {MAX_WIDTH}-bit"),
        ("ap_int<100>", f"at most {MAX_WIDTH}-bit"),
        ("ap_fixed<16>", "2 to 5 arguments"),
        ("ap_fixed<a,6>", "width must be an integer"),
        ("float", "cannot parse"),
        ("ap_fixed<16,6,AP_TRN,AP_WRAP,2>", "saturation bits"),
        ("ap_int<8,2>", "exactly one argument"),
    ],
)
def test_malformed_types_name_the_problem(text, words):
    with pytest.raises(ValueError, match=words):
        FixedType.parse(text)


# --- conversion: hand-worked ties and overflow ---------------------------------------

# values on an 8,3 grid (lsb 1/32): ties at +-2.5 and +-3.5 lsb, a non-tie at 2.25 lsb
LSB = 2.0**-5
TIES = np.array([2.5, 3.5, -2.5, -3.5, 2.25, -2.25]) * LSB
EXPECTED = {
    "TRN": [2, 3, -3, -4, 2, -3],
    "TRN_ZERO": [2, 3, -2, -3, 2, -2],
    "RND": [3, 4, -2, -3, 2, -2],
    "RND_ZERO": [2, 3, -2, -3, 2, -2],
    "RND_INF": [3, 4, -3, -4, 2, -2],
    "RND_MIN_INF": [2, 3, -3, -4, 2, -2],
    "RND_CONV": [2, 4, -2, -4, 2, -2],
}


@pytest.mark.parametrize("mode", list(EXPECTED))
def test_rounding_ties_by_hand(mode):
    assert to_codes(TIES, FixedType(8, 3, True, mode)).tolist() == EXPECTED[mode]


@nb.njit(cache=False)
def _round_shift_all(v, d, rnd, conv):
    out = np.empty_like(v)
    for i in range(v.size):
        out[i] = round_shift_branchless(v[i], d, rnd, conv)
    return out


def _rounded(values, d: int, mode: str) -> list[int]:
    """``values * 2**-d`` rounded exactly: TRN floors, RND takes ties up, RND_CONV ties to even."""
    exact = [Fraction(int(x), 2**d) for x in values]
    if mode == "TRN":
        return [math.floor(f) for f in exact]
    if mode == "RND":
        return [math.floor(f + Fraction(1, 2)) for f in exact]
    return [round(f) for f in exact]  # Python rounds Fractions half to even


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_round_shift_branchless_rounds_every_shift_exactly(dtype):
    """At every shift, ``d = 0`` (nothing dropped) with ``conv = 0``: the function's contract,
    which cast_params keeps (test below)."""
    rng = np.random.default_rng(7)
    for d in range(0, 9):
        v = np.concatenate([np.arange(-40, 41), rng.integers(-2**20, 2**20, 200)]).astype(dtype)
        for (rnd, conv), mode in {(0, 0): "TRN", (1, 0): "RND", (0, int(d > 0)): "RND_CONV"}.items():
            got = _round_shift_all(v, np.int64(d), np.int64(rnd), np.int64(conv))
            assert got.tolist() == _rounded(v, d, mode), (d, rnd, conv)


@pytest.mark.parametrize("mode", ["TRN", "RND", "RND_CONV"])
def test_cast_params_pass_no_tie_fix_where_nothing_is_dropped(mode):
    # round_shift_branchless leaves the d = 0 case to its callers (clearing the flag inside the
    # function measured 0.57-0.62x on the fused GRU(20) at RND_CONV)
    t = FixedType(12, 4, True, mode, "SAT").spec
    values = range(-9, 10)
    for d in range(0, 5):
        p = cast_params(np.int64(d), t)
        assert p[2] == int(mode == "RND_CONV" and d > 0)
        assert [int(cast_common(np.int64(x), p)[0]) for x in values] == _rounded(values, d, mode)


def test_overflow_modes_by_hand():
    x = [4.0, -4.5, 5.0, -4.0]  # ap_fixed<8,3>: range [-4, 4 - 1/32]
    assert to_codes(x, FixedType(8, 3, True, "TRN", "WRAP")).tolist() == [-128, 112, -96, -128]
    assert to_codes(x, FixedType(8, 3, True, "TRN", "SAT")).tolist() == [127, -128, 127, -128]
    assert to_codes(x, FixedType(8, 3, True, "TRN", "SAT_ZERO")).tolist() == [0, 0, 0, -128]
    assert to_codes(x, FixedType(8, 3, True, "TRN", "SAT_SYM")).tolist() == [127, -127, 127, -127]
    u = FixedType(4, 2, False, "TRN", "SAT")  # [0, 3.75]
    assert to_codes([-0.25, 3.9, 100.0], u).tolist() == [0, 15, 15]
    assert to_codes([-0.25, 4.0], FixedType(4, 2, False)).tolist() == [15, 0]


def test_rounding_carry_can_overflow():
    # 3.99 rounds up to 4.0, which does not fit ap_fixed<8,3>
    assert to_codes([3.99], FixedType(8, 3, True, "RND", "SAT")).tolist() == [127]
    assert to_codes([3.99], FixedType(8, 3, True, "RND", "WRAP")).tolist() == [-128]


def test_far_out_of_range_doubles_wrap_on_their_exact_bits():
    t = FixedType(8, 3)
    # 2**70 + 2**-4: exactly representable? no -- 2**70 + 1/16 rounds in double; use 2**70 * 1.5
    assert to_codes([2.0**70 * 1.5, -(2.0**70)], t).tolist() == [0, 0]
    assert to_codes([1e300, -1e300], FixedType(8, 3, True, "TRN", "SAT")).tolist() == [127, -128]


@nb.njit(cache=True)
def _by_exact_decomposition(values, dst):
    out = np.empty(values.size, dtype=np.int64)
    for i in range(values.size):
        out[i] = _double_to_code(values[i], dst)[0]
    return out


def test_fast_conversion_equals_the_exact_decomposition():
    # to_codes scales by 2**F and classes the remainder for values below 2**52 after scaling;
    # every other value decomposes the double's bits. Both must give every mode's code.
    rng = np.random.default_rng(5)
    x = np.concatenate([
        rng.normal(0, 1, 3000), rng.normal(0, 1e6, 500), rng.normal(0, 1e-6, 500),
        rng.integers(-2**20, 2**20, 3000) / 2.0 ** rng.integers(0, 40, 3000),  # exact ties, many grids
        np.ldexp(rng.integers(-2**53, 2**53, 2000).astype(np.float64), rng.integers(-1100, 100, 2000)),
        [1e300, -1e300, 5e-324, -5e-324, 1e-310, 0.0, -0.0, 2.0**60, -2.0**60, 2.0**52, 2.0**52 - 0.5,
         -2.0**52, 2.0**51 + 0.5, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5],
    ])
    compared = 0
    for width, integer in [(1, 1), (8, 3), (16, -8), (24, 70), (40, 4), (62, 8), (60, 1000), (50, -900)]:
        for r in Rounding:
            for o in Overflow:
                for signed in (True, False):
                    if width == 1 and signed:
                        continue
                    t = FixedType(width, integer, signed, r.name, o.name)
                    ours = to_codes(x, t)
                    np.testing.assert_array_equal(ours, _by_exact_decomposition(x, t.spec),
                                                  err_msg=str(t))
                    compared += ours.size
    assert compared > 1_000_000


def test_float32_inputs_convert_via_double_exactly():
    x32 = np.array([0.1, -0.7], dtype=np.float32)
    t = FixedType(40, 4)
    assert to_codes(x32, t).tolist() == to_codes(x32.astype(np.float64), t).tolist()


def test_ap_int_truncates_toward_zero_with_the_header_quirk():
    t = FixedType.parse("ap_int<8>")
    assert to_codes([2.7, -2.7, 127.9, 128.0, -0.5], t).tolist() == [2, -2, 127, -128, 0]
    # the bundled ap_int_base.h turns -0.5 < x < 0 into +1 (and prints "assign NaN")
    assert to_codes([-0.3, -0.01], t).tolist() == [1, 1]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_raise(bad):
    with pytest.raises(ValueError, match="non-finite"):
        to_codes(np.array([[0.5, bad]]), "ap_fixed<16,6>")
    with pytest.raises(ValueError, match="non-finite"):
        weight_codes([bad], "ap_fixed<16,6>")


def test_non_numeric_inputs_raise():
    with pytest.raises(ValueError, match="numeric"):
        to_codes(np.array(["a"]), "ap_fixed<16,6>")


def test_shapes_are_kept_and_round_trip():
    x = np.linspace(-3, 3, 24).reshape(2, 3, 4)
    t = FixedType(16, 6)
    c = to_codes(x, t)
    assert c.shape == x.shape and c.dtype == np.int64
    np.testing.assert_array_equal(from_codes(c, t), quantize(x, t))
    assert np.max(np.abs(quantize(x, t) - x)) < t.lsb


# --- casts, arithmetic types ---------------------------------------------------------------


def test_cast_matches_conversion_of_the_value():
    src = FixedType(20, 8)
    codes = np.arange(-(2**19), 2**19, 997, dtype=np.int64)
    for dst in (FixedType(10, 3, True, "RND_CONV", "SAT"), FixedType(12, 9, False, "RND", "WRAP")):
        np.testing.assert_array_equal(cast(codes, src, dst), to_codes(from_codes(codes, src), dst))


def test_count_overflows():
    src = FixedType(16, 8)
    codes = to_codes([0.0, 3.9, 4.0, -4.0, -4.1, 100.0], src)
    assert count_overflows(codes, src, FixedType(8, 3)) == 3
    assert count_overflows(codes, src, FixedType(8, 3, True, "TRN", "SAT_SYM")) == 4  # -4 too


def test_product_and_sum_types():
    a, b = FixedType(16, 6), FixedType(8, 1, signed=False)
    assert product_type(a, b) == FixedType(24, 7)
    assert sum_type(a, b) == FixedType(17, 7)
    assert sum_type(FixedType(8, 2, False), FixedType(8, 2, False)) == FixedType(9, 3, False)
    assert sum_type(FixedType(8, 2, False), FixedType(8, 2, False), subtract=True).signed


def test_to_int_truncates_toward_zero():
    t = FixedType(16, 8)
    assert to_int(to_codes([-7.5, 7.5, -0.25, 0.99, -127.0], t), t).tolist() == [-7, 7, 0, 0, -127]


def test_weight_text_round_trip_gains_an_lsb_below_a_grid_point():
    # '{:.4f}' prints 0.06249 as 0.0625, one LSB of ap_fixed<6,2> above floor(0.06249*16)
    assert weight_codes([0.06249], "ap_fixed<6,2>").tolist() == [1]
    assert to_codes([0.06249], "ap_fixed<6,2>").tolist() == [0]
    # integer types print with '{:.0f}' (round half even), then parse exactly
    assert weight_codes([2.5, 3.5, -2.5], "ap_int<8>").tolist() == [2, 4, -2]


@pytest.mark.parametrize("t", [
    "ap_fixed<16,6>", "ap_fixed<8,3,AP_RND,AP_SAT>", "ap_fixed<12,2,AP_RND_CONV,AP_WRAP>", "ap_ufixed<10,3,AP_RND>",
    "ap_fixed<9,4,AP_RND_ZERO,AP_SAT_SYM>", "ap_fixed<6,1,AP_RND_MIN_INF,AP_SAT_ZERO>", "ap_fixed<40,-2,AP_RND_INF>",
    "ap_fixed<4,6,AP_RND>", "ap_fixed<2,-1,AP_RND,AP_SAT_ZERO>", "ap_fixed<1,1>", "ap_int<8>", "ap_uint<6>",
])
def test_weight_codes_are_the_text_round_trip_of_every_weight(t):
    # weight_codes prints only the weights near a rounding boundary; the codes must be those of
    # printing every weight (hls4ml's '{:.Nf}', then parsed as double), whatever the type and mode
    ft = FixedType.parse(t)
    rng = np.random.default_rng(7)
    grid = np.round(rng.normal(0, 64, 3000)) / 2.0 ** rng.integers(0, 16, 3000)
    values = np.concatenate([rng.normal(0, 0.5, 3000), grid, grid + rng.choice([-1e-12, 1e-12, -1e-7, 1e-7], 3000),
                             grid + 2.0 ** -(ft.frac + 1), rng.normal(0, 1e4, 300), [0.0, -0.0, 0.5, -0.5]])
    fmt = f"{{:.{0 if ft.is_int else max(0, ft.frac)}f}}"
    printed = np.array([float(fmt.format(v)) for v in values.tolist()])
    np.testing.assert_array_equal(weight_codes(values, t), to_codes(printed, t))
    huge = rng.normal(0, 1e17, 50)  # a decimal unit within a few ulps: every weight through the text
    printed = np.array([float(fmt.format(v)) for v in huge.tolist()])
    np.testing.assert_array_equal(weight_codes(huge, t), to_codes(printed, t))


def test_import_fxsim_does_not_import_tensorflow():
    code = "import sys, fxsim, fxsim.fixed; print('tensorflow' in sys.modules, 'hls4ml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_enums_accept_prefixed_names():
    assert Rounding.parse("AP_RND_CONV") is Rounding.RND_CONV
    assert Overflow.parse("sat_sym") is Overflow.SAT_SYM
