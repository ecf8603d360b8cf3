"""``Bidirectional(LSTM|GRU)`` (Keras 2) against hls4ml 1.3.0's C simulation, code for code.

Each case is one compiled, traced model ``Input(T, F) → Bidirectional(cell) [→ Flatten]
→ Dense``: LSTM and GRU, ``return_sequences`` both ways, static and non-static state,
Latency and Resource, every rounding mode and the four overflow modes spread over
``accum``/``result``, forward and backward weight types set apart, and inputs scaled
(the second half doubled) to overflow the input type and the state. A static
LSTM compiles with input, accum and result types all different here (only
``lstm_static`` is instantiated), so one case has three. hls4ml's
``bidirectional_stack`` only concatenates, so ``merge_mode='concat'`` is the one
emulated; the others are refused with the reason (tested without compiling).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest

from tests.csim.helpers import N_SAMPLES, base_config, check, grid_inputs, keras, set_types

pytestmark = [pytest.mark.csim, pytest.mark.keras2]


@dataclass(frozen=True)
class BiCase:
    name: str
    cell: str
    shape: tuple[int, int]
    units: int
    scale: float
    return_sequences: bool = False
    static: bool = True
    types: dict[str, str] = field(default_factory=dict)  # Precision keys of the Bidirectional layer
    input: str | None = None
    reuse: int | None = None  # Resource with this ReuseFactor
    table_size: int | None = None
    table_t: str | None = None
    activation: str = "tanh"
    backward_cell: str | None = None  # a different backward layer (Keras backward_layer=)

    def model(self):
        k = keras()
        seed = zlib.crc32(self.name.encode()) % 1000
        k.utils.set_random_seed(seed)

        def rnn(cell, go_backwards=False, s=0):
            init = k.initializers.RandomNormal(stddev=0.7, seed=seed + s)
            cls = {"lstm": k.layers.LSTM, "gru": k.layers.GRU}[cell]
            return cls(self.units, activation=self.activation, return_sequences=self.return_sequences,
                       go_backwards=go_backwards, kernel_initializer=init, recurrent_initializer=init,
                       bias_initializer=k.initializers.RandomNormal(stddev=0.5, seed=seed + s + 1))

        back = rnn(self.backward_cell, True, 5) if self.backward_cell else None
        inp = k.Input(self.shape, name="x")
        h = k.layers.Bidirectional(rnn(self.cell), backward_layer=back, name="bi")(inp)
        if self.return_sequences:
            h = k.layers.Flatten(name="flat")(h)
        h = k.layers.Dense(3, name="fc", kernel_initializer=k.initializers.RandomNormal(stddev=0.5, seed=seed))(h)
        return k.Model(inp, h)

    def config(self, model) -> dict:
        cfg = base_config(model)
        if self.input:
            set_types(cfg, "x", result=self.input)
        set_types(cfg, "bi", **self.types)
        bi = cfg["LayerName"]["bi"]
        if not self.static:
            bi["Static"] = False
        if self.table_size:
            bi["TableSize"] = self.table_size
        if self.table_t:
            bi["table_t"] = self.table_t
        if self.reuse:
            cfg["Model"]["Strategy"] = "Resource"
            for layer in ("bi", "fc"):
                cfg["LayerName"][layer]["Strategy"] = "Resource"
                cfg["LayerName"][layer]["ReuseFactor"] = self.reuse
        return cfg

    def inputs(self, model) -> np.ndarray:
        rng = np.random.default_rng(zlib.crc32(self.name.encode()))
        return grid_inputs(rng, N_SAMPLES, model.input_shape[1:], self.scale)


def _state(t: str) -> dict[str, str]:
    return {"accum": t, "result": t}


CASES = (
    BiCase("gru_default", "gru", (6, 3), 4, 2.0),
    BiCase("gru_sequences_nonstatic_mixed", "gru", (7, 4), 5, 3.0, return_sequences=True, static=False,
           input="ap_fixed<12,4,AP_RND_INF,AP_SAT_SYM>",
           types=dict(accum="ap_fixed<18,6,AP_RND_ZERO,AP_SAT>", result="ap_fixed<13,3,AP_RND,AP_SAT>",
                      forward_weight="ap_fixed<10,2>", backward_weight="ap_fixed<7,2,AP_RND,AP_SAT>",
                      forward_recurrent_weight="ap_fixed<9,1>", backward_recurrent_bias="ap_fixed<8,3>"),
           table_size=500, table_t="ap_fixed<14,2,AP_RND,AP_SAT>"),
    BiCase("gru_resource_narrow_wrap", "gru", (8, 3), 6, 8.0, input="ap_fixed<8,3,AP_RND,AP_SAT>",
           types=dict(accum="ap_fixed<10,4,AP_TRN_ZERO,AP_WRAP>", result="ap_fixed<8,3,AP_RND_MIN_INF,AP_SAT_ZERO>",
                      forward_weight="ap_fixed<6,2>", backward_weight="ap_fixed<6,2>"),
           reuse=3, table_size=64, table_t="ap_fixed<6,1>", activation="relu"),
    BiCase("lstm_sequences_conv_sat", "lstm", (6, 3), 4, 3.0, return_sequences=True,
           input="ap_fixed<12,4,AP_RND_CONV,AP_SAT>", types=dict(**_state("ap_fixed<12,4,AP_RND_CONV,AP_SAT>"),
                                                                 backward_weight="ap_fixed<8,2>"),
           table_size=333, table_t="ap_fixed<10,2>"),
    BiCase("lstm_nonstatic_resource_sat_sym", "lstm", (5, 4), 4, 4.0, static=False, reuse=2,
           input="ap_fixed<14,5,AP_RND_INF,AP_SAT_SYM>", types=_state("ap_fixed<14,5,AP_RND_INF,AP_SAT_SYM>")),
    BiCase("lstm_static_three_types", "lstm", (6, 3), 4, 4.0, input="ap_fixed<10,4,AP_RND,AP_SAT>",
           types=dict(accum="ap_fixed<18,6,AP_RND_ZERO,AP_SAT>", result="ap_fixed<12,3,AP_TRN_ZERO,AP_SAT>")),
    BiCase("gru_forward_lstm_backward_wrap", "gru", (6, 3), 3, 6.0, return_sequences=True,
           input="ap_fixed<11,3>", types=_state("ap_fixed<11,3>"), backward_cell="lstm"),
)


@pytest.fixture(scope="module", params=CASES, ids=[c.name for c in CASES])
def case(request):
    c = request.param
    model = c.model()
    return c, model, c.config(model), c.inputs(model)


def test_bidirectional_matches_csim(case, record):
    """Every traced layer, the output and float32 ``predict``: 0 mismatching codes."""
    c, model, cfg, x = case
    check(record, f"csim bidirectional {c.cell}", model, cfg, x)


def test_bidirectional_reports_both_directions_and_round_trips(case, tmp_path):
    """Overflow quantities and internals per direction; save/load keeps every code."""
    from fxsim import FxModel, csim, from_hls4ml

    c, model, cfg, x = case
    fx = from_hls4ml(csim.build(model, cfg, trace=True).hls_model)
    x = x[:300]
    y, report = fx.predict_codes_and_overflows(x)
    quantities = report.to_dict()["bi"]
    assert {"forward/h", "backward/h", "forward/input_product", "backward/recurrent_accumulator"} <= set(quantities)
    _, tr = fx.trace(x)
    assert tr.codes["bi/forward/h"].shape == tr.codes["bi/backward/h"].shape == (300, c.shape[0], c.units)
    # the layer's output is the forward state and (time-aligned) the backward state at every step
    out = tr.codes["bi"].reshape(300, -1, c.units * 2)
    np.testing.assert_array_equal(out[:, -1, :c.units], tr.codes["bi/forward/h"][:, -1])
    np.testing.assert_array_equal(out[:, 0, c.units:], tr.codes["bi/backward/h"][:, 0])
    loaded = FxModel.load(fx.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict_codes(x), y)


@pytest.mark.parametrize("merge", ["sum", "mul", "ave"])
def test_merge_modes_other_than_concat_are_refused_with_the_reason(merge, tmp_path):
    from fxsim import csim, from_hls4ml
    from fxsim.frontends.hls4ml import UnsupportedLayerError

    k = keras()
    inp = k.Input((4, 2), name="x")
    model = k.Model(inp, k.layers.Bidirectional(k.layers.GRU(3), merge_mode=merge, name="bi")(inp))
    hm = csim.convert(model, base_config(model), tmp_path / "p")
    with pytest.raises(UnsupportedLayerError, match=rf"'bi' \(Bidirectional\): merge_mode='{merge}'.*always writes"):
        from_hls4ml(hm)


def test_doctor_names_the_merge_mode_and_checks_the_wrapped_layer():
    from fxsim.doctor.keras_rules import static_findings

    k = keras()
    inp = k.Input((4, 2), name="x")
    h = k.layers.Bidirectional(k.layers.GRU(3, reset_after=False), merge_mode="sum", name="bi")(inp)
    codes = {f.code for f in static_findings(k.Model(inp, h)) if f.layer == "bi"}
    assert {"bidirectional-merge-mode", "gru-reset-before"} <= codes
    assert "unsupported-layer" not in codes
    inp = k.Input((4, 2), name="x")
    ok = k.Model(inp, k.layers.Bidirectional(k.layers.LSTM(3), name="bi")(inp))
    assert not [f for f in static_findings(ok) if f.severity == "error"]
