"""The precision space of a Conv1D front-end before an LSTM (fxsim.analysis.space_conv), on hand-made IR."""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.analysis.space import Space
from fxsim.fixed import FixedType
from fxsim.ir import (
    ActivationSpec,
    Conv1DSpec,
    InputSpec,
    Pooling1DSpec,
    RecurrentSpec,
    ZeroPadding1DSpec,
)

pytestmark = pytest.mark.core

T = FixedType(16, 6)


def conv_lstm_specs(n: int = 3):
    rng = np.random.default_rng(0)
    zp = ZeroPadding1DSpec("zp", T, T, 1, 1)
    conv = Conv1DSpec("conv", T, rng.integers(-300, 300, (3, 2, 4)), np.zeros(4, dtype=np.int64), T, T,
                      FixedType(20, 8), FixedType(12, 4), in_width=12, stride=1)
    relu = ActivationSpec("conv_relu", FixedType(12, 4), T, "relu")
    pool = Pooling1DSpec("pool", "max", T, T, T, n_in=10, n_filt=4, pool_width=2, stride=2)
    lstm = RecurrentSpec("lstm", "lstm", T, 5, rng.integers(-300, 300, (4, 4 * n)), rng.integers(-300, 300, (n, 4 * n)),
                         np.zeros(4 * n, dtype=np.int64), np.zeros(4 * n, dtype=np.int64), T, T, T, T, T, T,
                         FixedType(18, 8), 1024, "tanh", "sigmoid")
    return [InputSpec("x", (10, 2), T), zp, conv, relu, pool, lstm]


def test_conv_pooling_and_padding_have_knobs():
    space = Space(conv_lstm_specs())
    assert space.layer("conv").knobs == ("weight", "bias", "accum", "result")
    assert space.layer("pool").knobs == ("accum", "result")
    assert space.layer("zp").knobs == ("result",)
    assert space.base.type("conv", "accum") == FixedType(20, 8)
    # one output pixel's kernel: 3 taps x 2 channels x 4 filters multipliers of (zp result) x (conv weight)
    (m,) = space.layer("conv").multipliers
    assert (m.count, m.a, m.b) == (24, ("zp", "result"), ("conv", "weight"))


def test_zero_padding_keeps_its_input_type_and_the_lstm_ties_reach_the_pooling():
    space = Space(conv_lstm_specs())
    assert set(space.tied(("zp", "result"))) == {("x", "result"), ("zp", "result")}
    assert set(space.tied(("lstm", "accum"))) == {("pool", "result"), ("lstm", "accum"), ("lstm", "result")}
    p = space.uniform(2, 5)
    assert all(t == FixedType(8, 3) for (layer, q), t in p.types.items() if q != "table_t")
    over = space.overrides(p)
    u = FixedType(8, 3).hls4ml_str()
    assert over["conv"]["Precision"] == {q: u for q in ("weight", "bias", "accum", "result")}
    assert over["pool"]["Precision"] == {"accum": u, "result": u}
