"""The fused GRU/LSTM cells give the row-by-row cells' codes and counts, and run only where they apply.

The fused cells (``gru_block_fused`` / ``lstm_block_fused``) compute each state row through
the whole cell on the dense products' int32 sums; they are chosen per layer from its types
(:func:`fxsim.kernels.recurrent.fused_cell`). The row-by-row cells, which handle every
mode, are the reference here (tests/csim proves them against hls4ml's C simulation).
Narrow types make every cast of the cell wrap (or saturate) somewhere; wide weights make the
dense products leave int32, so the int64 fallbacks of ``accumulate_mod32`` run too.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fxsim.fixed import FixedType
from fxsim.ir import RecurrentSpec
from fxsim.kernels import recurrent
from fxsim.kernels.dense_plan import FLOOR, ROUND, ROUND_CONV
from fxsim.kernels.recurrent_rows import uniform_form, uniform_modes

pytestmark = pytest.mark.core


def _spec(cell: str, accum: str, result: str, weight: str = "ap_fixed<8,3>", n_in: int = 5, n: int = 6,
          steps: int = 7, table_size: int = 1024, seed: int = 0, **kw) -> RecurrentSpec:
    rng = np.random.default_rng(seed)
    k = 4 if cell == "lstm" else 3
    wt = FixedType.parse(weight)
    at, rt = FixedType.parse(accum), FixedType.parse(result)
    lim = 1 << (wt.width - 1)
    w = lambda *shape: rng.integers(-lim, lim, shape, dtype=np.int64)  # noqa: E731
    return RecurrentSpec(
        name=f"{cell}_test", cell=cell, input_t=rt, n_timesteps=steps,
        weight=w(n_in, k * n), recurrent_weight=w(n, k * n), bias=w(k * n),
        recurrent_bias=np.zeros(k * n, dtype=np.int64) if cell == "lstm" else w(k * n),
        weight_t=wt, recurrent_weight_t=wt, bias_t=wt, recurrent_bias_t=wt,
        accum_t=at, result_t=rt, table_t=FixedType.parse("ap_fixed<18,8>"), table_size=table_size,
        activation="tanh", recurrent_activation="sigmoid", **kw)


def _both(spec: RecurrentSpec, n_samples: int = 300, scale: float = 4.0, initial_state=None,
          form: int = recurrent.FUSED_TRUNCATING_WRAP):
    t = spec.input_t
    x = np.random.default_rng(1).normal(0.0, scale, (n_samples, spec.n_timesteps, spec.n_in))
    codes = np.clip(np.round(x * 2.0**t.frac), t.min_code, t.max_code).astype(np.int64)
    p = recurrent.prepare(spec)
    assert p.fused == form
    fused = recurrent.run_recurrent(spec, codes, count=False, prepared=p, initial_state=initial_state)
    rows = recurrent.run_recurrent(spec, codes, count=False,
                                   prepared=dataclasses.replace(p, fused=recurrent.NOT_FUSED),
                                   initial_state=initial_state)
    return fused, rows


CASES = [
    ("gru", "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<8,3>"),  # the zoo's default types
    ("gru", "ap_fixed<10,3>", "ap_fixed<8,2>", "ap_fixed<8,3>"),  # every cast of the cell wraps
    ("gru", "ap_fixed<28,10>", "ap_fixed<24,8>", "ap_fixed<24,6>"),  # products beyond int32: int64 fallback
    ("lstm", "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<8,3>"),
    ("lstm", "ap_fixed<9,3>", "ap_fixed<9,3>", "ap_fixed<8,3>"),
    ("lstm", "ap_fixed<28,10>", "ap_fixed<28,10>", "ap_fixed<24,6>"),
]


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("cell, accum, result, weight", CASES)
def test_fused_cell_matches_the_row_cell(cell, accum, result, weight, return_sequences):
    if cell == "lstm":
        result = accum  # hls4ml's LSTM compiles only with input, accum_t and result_t alike
    spec = _spec(cell, accum, result, weight, return_sequences=return_sequences)
    fused, rows = _both(spec)
    np.testing.assert_array_equal(fused.out, rows.out)
    assert fused.overflows == rows.overflows
    if "<16,6>" not in accum:  # the narrow and wide cases do overflow somewhere in the cell
        assert sum(v[0] for q, v in fused.overflows.items() if "table" not in q) > 0


# The common modes (RND, RND_CONV, SAT) run the fused cell's casts of cast_common, with the modes as
# constants of the kernel where every cast of the cell shares them (uniform_form), else read at run
# time (FUSED_COMMON); the dense products of a SAT accum_t sum the groups that cannot overflow in
# int32 and saturate the others
COMMON_CASES = [
    ("gru", "ap_fixed<16,6,AP_RND,AP_SAT>", "ap_fixed<16,6,AP_RND,AP_SAT>", "ap_fixed<8,3>"),
    ("gru", "ap_fixed<10,3,AP_RND_CONV,AP_SAT>", "ap_fixed<8,2,AP_RND_CONV,AP_SAT>", "ap_fixed<8,3>"),
    ("gru", "ap_fixed<10,3,AP_TRN,AP_SAT>", "ap_fixed<8,2,AP_RND,AP_WRAP>", "ap_fixed<8,3>"),
    ("gru", "ap_fixed<12,4,AP_RND,AP_WRAP>", "ap_fixed<12,4,AP_RND_CONV,AP_WRAP>", "ap_fixed<8,3>"),
    ("gru", "ap_fixed<28,10,AP_RND,AP_SAT>", "ap_fixed<24,8,AP_RND,AP_SAT>", "ap_fixed<24,6>"),
    ("lstm", "ap_fixed<16,6,AP_RND,AP_SAT>", "ap_fixed<16,6,AP_RND,AP_SAT>", "ap_fixed<8,3>"),
    ("lstm", "ap_fixed<9,3,AP_RND_CONV,AP_SAT>", "ap_fixed<9,3,AP_RND_CONV,AP_SAT>", "ap_fixed<8,3>"),
    ("lstm", "ap_fixed<10,3,AP_TRN,AP_SAT>", "ap_fixed<10,3,AP_TRN,AP_SAT>", "ap_fixed<8,3>"),
    ("lstm", "ap_fixed<28,10,AP_RND_CONV,AP_WRAP>", "ap_fixed<28,10,AP_RND_CONV,AP_WRAP>", "ap_fixed<24,6>"),
]


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("cell, accum, result, weight", COMMON_CASES)
def test_fused_common_modes_match_the_row_cell(cell, accum, result, weight, return_sequences):
    spec = _spec(cell, accum, result, weight, return_sequences=return_sequences)
    fused, rows = _both(spec, form=_expected_form(accum, result))
    np.testing.assert_array_equal(fused.out, rows.out)
    assert fused.overflows == rows.overflows
    if "<16,6" not in accum:
        assert sum(v[0] for q, v in fused.overflows.items() if "table" not in q) > 0


def _expected_form(accum: str, result: str) -> int:
    """The fused form of a COMMON_CASES case, spelled out per case (not through fused_cell's own rule)."""
    uniform = {
        ("<16,6,AP_RND,AP_SAT>", "<16,6,AP_RND,AP_SAT>"): uniform_form(ROUND, True),
        ("<10,3,AP_RND_CONV,AP_SAT>", "<8,2,AP_RND_CONV,AP_SAT>"): uniform_form(ROUND_CONV, True),
        ("<28,10,AP_RND,AP_SAT>", "<24,8,AP_RND,AP_SAT>"): uniform_form(ROUND, True),
        ("<9,3,AP_RND_CONV,AP_SAT>", "<9,3,AP_RND_CONV,AP_SAT>"): uniform_form(ROUND_CONV, True),
        ("<10,3,AP_TRN,AP_SAT>", "<10,3,AP_TRN,AP_SAT>"): uniform_form(FLOOR, True),
        ("<28,10,AP_RND_CONV,AP_WRAP>", "<28,10,AP_RND_CONV,AP_WRAP>"): uniform_form(ROUND_CONV, False),
    }
    return uniform.get((accum.removeprefix("ap_fixed"), result.removeprefix("ap_fixed")), recurrent.FUSED_COMMON)


def test_uniform_modes_read_back_the_form():
    forms = {uniform_form(r, sat) for r in (FLOOR, ROUND, ROUND_CONV) for sat in (False, True)}
    assert len(forms) == 6 and min(forms) == recurrent.FUSED_UNIFORM
    for r in (FLOOR, ROUND, ROUND_CONV):
        for sat in (False, True):
            assert uniform_modes.py_func(uniform_form(r, sat)) == (r, sat)


def test_common_cases_run_both_kinds_of_common_casts():
    forms = {_expected_form(a, r) for _, a, r, _ in COMMON_CASES}
    assert recurrent.FUSED_COMMON in forms and len(forms) >= 4, forms


def test_fused_cell_from_initial_states():
    spec = _spec("lstm", "ap_fixed<12,4>", "ap_fixed<12,4>")
    rng = np.random.default_rng(5)
    states = tuple(rng.integers(-2000, 2000, (300, spec.n_state), dtype=np.int64) for _ in range(2))
    fused, rows = _both(spec, initial_state=states)
    np.testing.assert_array_equal(fused.out, rows.out)
    assert fused.overflows == rows.overflows


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_fused_cell_forms(cell):
    base = _spec(cell, "ap_fixed<16,6>", "ap_fixed<16,6>")
    assert recurrent.fused_cell(base) == recurrent.FUSED_TRUNCATING_WRAP
    for change in (dict(accum_t=FixedType.parse("ap_fixed<16,6,AP_TRN,AP_SAT>")),
                   dict(result_t=FixedType.parse("ap_fixed<16,6,AP_RND,AP_SAT>"))):
        assert recurrent.fused_cell(dataclasses.replace(base, **change)) == recurrent.FUSED_COMMON, change
    # one rounding (of the casts that drop bits) and one overflow mode everywhere: constants of the kernel
    sat = FixedType.parse("ap_fixed<16,6,AP_TRN,AP_SAT>")
    assert recurrent.fused_cell(dataclasses.replace(base, accum_t=sat, result_t=sat)) == uniform_form(FLOOR, True)
    rnd_conv = FixedType.parse("ap_fixed<16,6,AP_RND_CONV,AP_WRAP>")
    # the LSTM's accum_t casts drop no bit, so its rounding does not matter; the GRU's reset product does
    assert recurrent.fused_cell(dataclasses.replace(base, result_t=rnd_conv)) == (
        recurrent.FUSED_COMMON if cell == "gru" else uniform_form(ROUND_CONV, False))
    assert recurrent.fused_cell(dataclasses.replace(base, accum_t=rnd_conv, result_t=rnd_conv)) == uniform_form(
        ROUND_CONV, False)
    for change in (dict(accum_t=FixedType.parse("ap_ufixed<16,6>")),
                   dict(result_t=FixedType.parse("ap_fixed<16,6,AP_RND_ZERO,AP_SAT>")),
                   dict(result_t=FixedType.parse("ap_fixed<16,6,AP_TRN,AP_SAT_SYM>")),
                   dict(activation="relu"),
                   dict(table_size=1000)):
        assert recurrent.fused_cell(dataclasses.replace(base, **change)) == recurrent.NOT_FUSED, change
    # an accum_t that rounds: the GRU's reset product r * zh drops bits into accum_t; the LSTM
    # casts nothing to accum_t that drops bits (pre-activations are sums, table entries cast once)
    rnd = dataclasses.replace(base, accum_t=FixedType.parse("ap_fixed<16,6,AP_RND,AP_WRAP>"))
    assert recurrent.fused_cell(rnd) == (recurrent.FUSED_COMMON if cell == "gru" else recurrent.FUSED_TRUNCATING_WRAP)
    # RND in the reset product alone, every cast wrapping: the GRU's uniform RND WRAP
    rnd_both = dataclasses.replace(rnd, result_t=FixedType.parse("ap_fixed<16,6,AP_RND,AP_WRAP>"))
    assert recurrent.fused_cell(rnd_both) == uniform_form(ROUND, False)
