"""cast_with_flags (the bias and lookup-table casts of the runners) against the core's cast and overflow count."""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.fixed import FixedType, Overflow, Rounding, cast, count_overflows
from fxsim.kernels.dense import bias_to_accum, cast_with_flags
from fxsim.kernels.recurrent_rows import accum_table

pytestmark = pytest.mark.core

SOURCES = [FixedType(16, 10), FixedType(24, 4), FixedType(8, 8, signed=False)]
def _dests():
    out = []
    for w, i, s in ((6, 2, True), (12, 9, True), (5, -1, True), (40, 30, True), (7, 7, False), (62, 20, True)):
        for r in Rounding:
            for o in Overflow:
                out.append(FixedType(w, i, signed=s, rounding=r, overflow=o))
    return out


@pytest.mark.parametrize("src", SOURCES, ids=str)
def test_cast_with_flags_matches_cast_and_count_overflows(src):
    rng = np.random.default_rng(0)
    lo, hi = (-(1 << (src.width - 1)), (1 << (src.width - 1)) - 1) if src.signed else (0, (1 << src.width) - 1)
    codes = np.concatenate([rng.integers(lo, hi + 1, 400), [lo, hi, 0, 1, -1 if src.signed else 2]]).astype(np.int64)
    for dst in _dests():
        out, over = cast_with_flags(codes, src, dst)
        np.testing.assert_array_equal(out, cast(codes, src, dst), err_msg=str(dst))
        assert int(over.sum()) == count_overflows(codes, src, dst), str(dst)
        for k in np.flatnonzero(over)[:5]:  # each flagged code overflows on its own
            assert count_overflows(codes[k:k + 1], src, dst) == 1
        assert bias_to_accum(codes, src, dst)[1] == int(over.sum())


def test_accum_table_packs_code_and_flag():
    table = np.array([-300, -5, 0, 7, 255, 4000], dtype=np.int64)
    src, dst = FixedType(18, 8), FixedType(10, 6)
    packed = accum_table(table, src, dst)
    np.testing.assert_array_equal(packed >> 1, cast(table, src, dst))
    np.testing.assert_array_equal(packed & 1, [count_overflows(table[k:k + 1], src, dst) for k in range(len(table))])
