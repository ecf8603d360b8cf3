"""LSTM and GRU against hls4ml's C simulation, code for code.

Static and non-static state, ``return_sequences`` (through Flatten), every
rounding and overflow mode in accum/result, widths from 6 to 30 bits, every type
of a GRU different from the others, odd table sizes and narrow ``table_t``,
sigmoid/tanh/relu as activation or recurrent activation, Latency and Resource
with reuse factor > 1, and inputs large enough to overflow the input type and the
state. hls4ml 1.3.0's LSTM only compiles with input == accum == result
(``shared/docs/hls4ml-arithmetic.md`` §5.2), so LSTM cases vary that one type.

One table of named cases drives the parametrisation; each case is one compiled,
traced model whose every layer (the recurrent layer's output sequence or final
state included) is compared on 2000 samples.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from tests.csim.helpers import N_SAMPLES, base_config, check, grid_inputs, keras, set_types

pytestmark = pytest.mark.csim


def _rnn(seed: int, cell: str, shape: tuple[int, int], units: int, head: list[int], *, return_sequences=False,
         activation="tanh", recurrent_activation="sigmoid", weight_scale=0.7, head_activation=None):
    """Input(T, F) → LSTM/GRU(units) [→ Flatten] → Dense stack."""
    k = keras()
    k.utils.set_random_seed(seed)
    init = k.initializers.RandomNormal(stddev=weight_scale, seed=seed)
    cls = {"lstm": k.layers.LSTM, "gru": k.layers.GRU}[cell]
    inp = k.Input(shape, name="x")
    h = cls(units, activation=activation, recurrent_activation=recurrent_activation,
            return_sequences=return_sequences, kernel_initializer=init, recurrent_initializer=init,
            bias_initializer=k.initializers.RandomNormal(stddev=0.5, seed=seed + 1), name="rnn")(inp)
    if return_sequences:
        h = k.layers.Flatten(name="flat")(h)
    for i, n in enumerate(head):
        h = k.layers.Dense(n, name=f"fc{i}", activation=head_activation if i < len(head) - 1 else None,
                           kernel_initializer=k.initializers.RandomNormal(stddev=0.5, seed=seed + 2 + i))(h)
    return k.Model(inp, h)


def _lstm_type(cfg: dict, t: str) -> None:
    """The one type hls4ml's LSTM compiles with: input, accum and result."""
    set_types(cfg, "x", result=t)
    set_types(cfg, "rnn", accum=t, result=t)


def _resource(cfg: dict, **reuse: int) -> None:
    cfg["Model"]["Strategy"] = "Resource"
    for name, rf in reuse.items():
        cfg["LayerName"][name]["Strategy"] = "Resource"
        cfg["LayerName"][name]["ReuseFactor"] = rf


def case_lstm_default():
    """LSTM(8) on 10×4 with config_from_keras_model's defaults (fixed<16,6>), static state."""
    m = _rnn(1, "lstm", (10, 4), 8, [5])
    return m, base_config(m), 2.0


def case_lstm_nonstatic_sequences_narrow():
    """Non-static LSTM(6), return_sequences, 10-bit RND+SAT type, 5-bit weights, 8-bit table_t, 333 entries."""
    m = _rnn(2, "lstm", (8, 3), 6, [4], return_sequences=True)
    cfg = base_config(m)
    _lstm_type(cfg, "ap_fixed<10,4,AP_RND,AP_SAT>")
    set_types(cfg, "rnn", weight="ap_fixed<6,2>", recurrent_weight="ap_fixed<5,1>", bias="ap_fixed<6,3>")
    cfg["LayerName"]["rnn"].update(Static=False, TableSize=333, table_t="ap_fixed<8,1>")
    return m, cfg, 3.0


def case_lstm_wrap_resource():
    """Resource LSTM(8) (RF=4) with a wrapping RND_CONV type that overflows, relu activation, tanh recurrent."""
    m = _rnn(3, "lstm", (7, 4), 8, [6, 3], activation="relu", recurrent_activation="tanh", weight_scale=1.2,
             head_activation="relu")
    cfg = base_config(m)
    _lstm_type(cfg, "ap_fixed<12,3,AP_RND_CONV,AP_WRAP>")
    set_types(cfg, "rnn", weight="ap_fixed<8,2,AP_RND,AP_SAT>", recurrent_weight="ap_fixed<8,2>")
    cfg["LayerName"]["rnn"].update(TableSize=500, table_t="ap_fixed<12,2,AP_RND,AP_SAT>")
    _resource(cfg, rnn=4, fc0=8, fc1=6)
    return m, cfg, 6.0


def case_lstm_sat_sym_wide():
    """LSTM(5) in a 24-bit RND_INF+SAT_SYM type, 16-bit weights, 2048-entry 20-bit table."""
    m = _rnn(4, "lstm", (12, 3), 5, [2], return_sequences=True)
    cfg = base_config(m)
    _lstm_type(cfg, "ap_fixed<24,6,AP_RND_INF,AP_SAT_SYM>")
    set_types(cfg, "rnn", weight="ap_fixed<16,3>", recurrent_weight="ap_fixed<16,3>", bias="ap_fixed<16,5>")
    cfg["LayerName"]["rnn"].update(TableSize=2048, table_t="ap_fixed<20,2>")
    return m, cfg, 4.0


def case_gru_default():
    """GRU(8) on 10×4 → Dense(8) relu → Dense(1) with the default types, static state."""
    m = _rnn(5, "gru", (10, 4), 8, [8, 1], head_activation="relu")
    return m, base_config(m), 2.0


def case_gru_every_type_different():
    """Non-static GRU(7), return_sequences, input/accum/result/weights/biases/table all different types."""
    m = _rnn(6, "gru", (9, 5), 7, [3], return_sequences=True)
    cfg = base_config(m)
    set_types(cfg, "x", result="ap_fixed<12,4,AP_RND_INF,AP_SAT_SYM>")
    set_types(cfg, "rnn", accum="ap_fixed<20,6,AP_RND_ZERO,AP_SAT>", result="ap_fixed<14,3,AP_RND,AP_SAT>",
              weight="ap_fixed<10,2>", recurrent_weight="ap_fixed<9,1>", bias="ap_fixed<12,4>",
              recurrent_bias="ap_fixed<11,3>")
    cfg["LayerName"]["rnn"].update(Static=False, TableSize=1000, table_t="ap_fixed<16,2,AP_RND,AP_SAT>")
    return m, cfg, 3.0


def case_gru_narrow_wrap_resource():
    """Resource GRU(6) (RF=3), 10-bit TRN_ZERO+WRAP accum, RND_MIN_INF+SAT_ZERO result, 6-bit 64-entry table."""
    m = _rnn(7, "gru", (8, 3), 6, [4], activation="relu", recurrent_activation="sigmoid", weight_scale=1.0)
    cfg = base_config(m)
    set_types(cfg, "x", result="ap_fixed<8,3,AP_RND,AP_SAT>")
    set_types(cfg, "rnn", accum="ap_fixed<10,4,AP_TRN_ZERO,AP_WRAP>",
              result="ap_fixed<8,3,AP_RND_MIN_INF,AP_SAT_ZERO>", weight="ap_fixed<6,2>",
              recurrent_weight="ap_fixed<6,2>", bias="ap_fixed<6,3>")
    cfg["LayerName"]["rnn"].update(TableSize=64, table_t="ap_fixed<6,1>")
    _resource(cfg, rnn=3, fc0=4)
    return m, cfg, 8.0


def case_gru_wide_tanh_recurrent():
    """GRU(5) with tanh recurrent activation, 30-bit accum, 26-bit result, 18-bit weights, 4096-entry table."""
    m = _rnn(8, "gru", (6, 4), 5, [3], recurrent_activation="tanh")
    cfg = base_config(m)
    set_types(cfg, "x", result="ap_fixed<20,8>")
    set_types(cfg, "rnn", accum="ap_fixed<30,10,AP_RND,AP_SAT>", result="ap_fixed<26,6,AP_RND_CONV,AP_SAT>",
              weight="ap_fixed<18,4>", recurrent_weight="ap_fixed<18,4>", bias="ap_fixed<18,6>",
              recurrent_bias="ap_fixed<18,6>")
    cfg["LayerName"]["rnn"].update(TableSize=4096, table_t="ap_fixed<22,2>")
    return m, cfg, 5.0


def case_gru_unsigned_result_sequences():
    """GRU(4) with sigmoid activation into an unsigned result, return_sequences, 6-bit accum that saturates."""
    m = _rnn(9, "gru", (11, 2), 4, [2], return_sequences=True, activation="sigmoid", weight_scale=1.5)
    cfg = base_config(m)
    set_types(cfg, "x", result="ap_fixed<9,4>")
    set_types(cfg, "rnn", accum="ap_fixed<6,3,AP_RND,AP_SAT>", result="ap_ufixed<6,1,AP_RND,AP_SAT>",
              weight="ap_fixed<5,2>", recurrent_weight="ap_fixed<4,2>")
    cfg["LayerName"]["rnn"].update(Static=False, TableSize=128, table_t="ap_fixed<8,1,AP_RND,AP_SAT>")
    return m, cfg, 6.0


CASES = {f.__name__.removeprefix("case_"): f for f in (
    case_lstm_default, case_lstm_nonstatic_sequences_narrow, case_lstm_wrap_resource, case_lstm_sat_sym_wide,
    case_gru_default, case_gru_every_type_different, case_gru_narrow_wrap_resource, case_gru_wide_tanh_recurrent,
    case_gru_unsigned_result_sequences)}


@pytest.mark.parametrize("name", list(CASES))
def test_recurrent_matches_csim(name, record):
    model, cfg, scale = CASES[name]()
    x = grid_inputs(np.random.default_rng(zlib.crc32(name.encode())), N_SAMPLES, model.input_shape[1:], scale)
    check(record, f"csim {name.split('_')[0]}", model, cfg, x)
