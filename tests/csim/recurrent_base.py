"""The shared test base of the recurrent layers: one table of GRU/LSTM cases, named by their modes.

A :class:`RecurrentCase` describes one traced hls4ml model ``Input(T, F) → GRU/LSTM
[→ Flatten] → Dense stack`` by the settings that matter to the arithmetic: the
state's (and for GRU the accumulator's) rounding and overflow modes, static or
not, return_sequences, Resource reuse factors, activations, table size/type and
the other types. Its test id is built from those settings, e.g.
``gru-RND_ZERO-SAT-result-RND-SAT-nonstatic-sequences``, so ``-k SAT_SYM`` or
``-k lstm-nonstatic`` picks cases by what they exercise. :func:`recurrent_cases`
parametrizes a (module-scoped) fixture over the table; the checks live once in
``test_recurrent.py``.

hls4ml 1.3.0's LSTM only compiles with input == accum == result
(``shared/docs/hls4ml-arithmetic.md`` §5.2), so an LSTM case has one ``state`` type.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from fxsim.fixed import FixedType
from tests.csim.helpers import N_SAMPLES, base_config, grid_inputs, keras, set_types

DEFAULT = "fixed<16,6>"  # config_from_keras_model's default_precision


@dataclass(frozen=True)
class RecurrentCase:
    """One compiled, traced recurrent model and its inputs.

    ``name`` seeds the inputs (kept from the case table's history, so the same codes
    are compared); ``seed`` the Keras weights. Types are hls4ml/ap spellings; ``None``
    keeps ``config_from_keras_model``'s value.
    """

    name: str
    cell: str  # "gru" | "lstm"
    seed: int
    shape: tuple[int, int]
    units: int
    head: tuple[int, ...]
    scale: float  # input standard deviation (the second half of the samples is doubled)
    input: str | None = None  # the Input layer's result type (LSTM: the state type)
    accum: str | None = None
    result: str | None = None
    weights: dict[str, str] = field(default_factory=dict)  # weight, recurrent_weight, bias, recurrent_bias
    static: bool = True
    return_sequences: bool = False
    table_size: int | None = None
    table_t: str | None = None
    reuse: dict[str, int] = field(default_factory=dict)  # layer -> ReuseFactor; non-empty: Resource
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    weight_scale: float = 0.7
    head_activation: str | None = None
    doc: str = ""

    def __post_init__(self):
        if self.cell == "lstm" and not self.input == self.accum == self.result:
            raise ValueError(f"{self.name}: an LSTM case has one type for input, accum and result")

    # --- naming ---------------------------------------------------------------------------
    @property
    def id(self) -> str:
        acc = FixedType.parse(self.accum or DEFAULT)
        res = FixedType.parse(self.result or DEFAULT)
        parts = [self.cell, acc.rounding.name, acc.overflow.name]
        if (res.rounding, res.overflow) != (acc.rounding, acc.overflow):
            parts += ["result", res.rounding.name, res.overflow.name]
        if not res.signed:
            parts.append("unsigned")
        parts.append("static" if self.static else "nonstatic")
        if self.return_sequences:
            parts.append("sequences")
        if self.reuse:
            parts.append(f"resource{self.reuse['rnn']}")
        if (self.activation, self.recurrent_activation) != ("tanh", "sigmoid"):
            parts += [self.activation, self.recurrent_activation]
        return "-".join(parts)

    @property
    def section(self) -> str:
        """The tally's section (``csim gru`` / ``csim lstm``)."""
        return f"csim {self.cell}"

    # --- building -------------------------------------------------------------------------
    def model(self):
        """``Input(T, F) → LSTM/GRU(units) [→ Flatten] → Dense stack`` with seeded weights."""
        k = keras()
        k.utils.set_random_seed(self.seed)
        init = k.initializers.RandomNormal(stddev=self.weight_scale, seed=self.seed)
        cls = {"lstm": k.layers.LSTM, "gru": k.layers.GRU}[self.cell]
        inp = k.Input(self.shape, name="x")
        h = cls(self.units, activation=self.activation, recurrent_activation=self.recurrent_activation,
                return_sequences=self.return_sequences, kernel_initializer=init, recurrent_initializer=init,
                bias_initializer=k.initializers.RandomNormal(stddev=0.5, seed=self.seed + 1), name="rnn")(inp)
        if self.return_sequences:
            h = k.layers.Flatten(name="flat")(h)
        for i, n in enumerate(self.head):
            act = self.head_activation if i < len(self.head) - 1 else None
            h = k.layers.Dense(n, name=f"fc{i}", activation=act,
                               kernel_initializer=k.initializers.RandomNormal(stddev=0.5, seed=self.seed + 2 + i))(h)
        return k.Model(inp, h)

    def config(self, model) -> dict:
        """``config_from_keras_model`` with this case's types and settings written in."""
        cfg = base_config(model)
        if self.input:
            set_types(cfg, "x", result=self.input)
        rnn = {key: t for key, t in (("accum", self.accum), ("result", self.result)) if t}
        set_types(cfg, "rnn", **rnn, **self.weights)
        if not self.static:
            cfg["LayerName"]["rnn"]["Static"] = False
        if self.table_size is not None:
            cfg["LayerName"]["rnn"]["TableSize"] = self.table_size
        if self.table_t is not None:
            cfg["LayerName"]["rnn"]["table_t"] = self.table_t
        if self.reuse:
            cfg["Model"]["Strategy"] = "Resource"
            for layer, rf in self.reuse.items():
                cfg["LayerName"][layer]["Strategy"] = "Resource"
                cfg["LayerName"][layer]["ReuseFactor"] = rf
        return cfg

    def inputs(self, model) -> np.ndarray:
        rng = np.random.default_rng(zlib.crc32(self.name.encode()))
        return grid_inputs(rng, N_SAMPLES, model.input_shape[1:], self.scale)


def _lstm(name, seed, shape, units, head, scale, state=None, **kw) -> RecurrentCase:
    return RecurrentCase(name, "lstm", seed, shape, units, tuple(head), scale, input=state, accum=state,
                         result=state, **kw)


def _gru(name, seed, shape, units, head, scale, **kw) -> RecurrentCase:
    return RecurrentCase(name, "gru", seed, shape, units, tuple(head), scale, **kw)


CASES: tuple[RecurrentCase, ...] = (
    _lstm("lstm_default", 1, (10, 4), 8, [5], 2.0,
          doc="LSTM(8) on 10x4 with config_from_keras_model's defaults (fixed<16,6>), static state"),
    _lstm("lstm_nonstatic_sequences_narrow", 2, (8, 3), 6, [4], 3.0, state="ap_fixed<10,4,AP_RND,AP_SAT>",
          weights=dict(weight="ap_fixed<6,2>", recurrent_weight="ap_fixed<5,1>", bias="ap_fixed<6,3>"),
          static=False, return_sequences=True, table_size=333, table_t="ap_fixed<8,1>",
          doc="non-static, return_sequences, 10-bit RND+SAT type, 5-bit weights, 8-bit table_t, 333 entries"),
    _lstm("lstm_wrap_resource", 3, (7, 4), 8, [6, 3], 6.0, state="ap_fixed<12,3,AP_RND_CONV,AP_WRAP>",
          weights=dict(weight="ap_fixed<8,2,AP_RND,AP_SAT>", recurrent_weight="ap_fixed<8,2>"),
          table_size=500, table_t="ap_fixed<12,2,AP_RND,AP_SAT>", reuse=dict(rnn=4, fc0=8, fc1=6),
          activation="relu", recurrent_activation="tanh", weight_scale=1.2, head_activation="relu",
          doc="Resource (RF=4), a wrapping RND_CONV type that overflows, relu activation, tanh recurrent"),
    _lstm("lstm_sat_sym_wide", 4, (12, 3), 5, [2], 4.0, state="ap_fixed<24,6,AP_RND_INF,AP_SAT_SYM>",
          weights=dict(weight="ap_fixed<16,3>", recurrent_weight="ap_fixed<16,3>", bias="ap_fixed<16,5>"),
          return_sequences=True, table_size=2048, table_t="ap_fixed<20,2>",
          doc="24-bit RND_INF+SAT_SYM type, 16-bit weights, 2048-entry 20-bit table"),
    _lstm("lstm_fused_rnd_sat", 10, (9, 4), 6, [3], 3.0, state="ap_fixed<12,3,AP_RND,AP_SAT>",
          table_size=512, table_t="ap_fixed<14,2>",
          doc="RND+SAT state that saturates, 512-entry table: the fused cell, its modes constants of the kernel"),
    _gru("gru_default", 5, (10, 4), 8, [8, 1], 2.0, head_activation="relu",
         doc="GRU(8) on 10x4 -> Dense(8) relu -> Dense(1) with the default types, static state"),
    _gru("gru_every_type_different", 6, (9, 5), 7, [3], 3.0, input="ap_fixed<12,4,AP_RND_INF,AP_SAT_SYM>",
         accum="ap_fixed<20,6,AP_RND_ZERO,AP_SAT>", result="ap_fixed<14,3,AP_RND,AP_SAT>",
         weights=dict(weight="ap_fixed<10,2>", recurrent_weight="ap_fixed<9,1>", bias="ap_fixed<12,4>",
                      recurrent_bias="ap_fixed<11,3>"),
         static=False, return_sequences=True, table_size=1000, table_t="ap_fixed<16,2,AP_RND,AP_SAT>",
         doc="non-static, return_sequences, input/accum/result/weights/biases/table all different types"),
    _gru("gru_narrow_wrap_resource", 7, (8, 3), 6, [4], 8.0, input="ap_fixed<8,3,AP_RND,AP_SAT>",
         accum="ap_fixed<10,4,AP_TRN_ZERO,AP_WRAP>", result="ap_fixed<8,3,AP_RND_MIN_INF,AP_SAT_ZERO>",
         weights=dict(weight="ap_fixed<6,2>", recurrent_weight="ap_fixed<6,2>", bias="ap_fixed<6,3>"),
         table_size=64, table_t="ap_fixed<6,1>", reuse=dict(rnn=3, fc0=4), activation="relu", weight_scale=1.0,
         doc="Resource (RF=3), 10-bit TRN_ZERO+WRAP accum, RND_MIN_INF+SAT_ZERO result, 6-bit 64-entry table"),
    _gru("gru_wide_tanh_recurrent", 8, (6, 4), 5, [3], 5.0, input="ap_fixed<20,8>",
         accum="ap_fixed<30,10,AP_RND,AP_SAT>", result="ap_fixed<26,6,AP_RND_CONV,AP_SAT>",
         weights=dict(weight="ap_fixed<18,4>", recurrent_weight="ap_fixed<18,4>", bias="ap_fixed<18,6>",
                      recurrent_bias="ap_fixed<18,6>"),
         table_size=4096, table_t="ap_fixed<22,2>", recurrent_activation="tanh",
         doc="tanh recurrent activation, 30-bit accum, 26-bit result, 18-bit weights, 4096-entry table"),
    _gru("gru_unsigned_result_sequences", 9, (11, 2), 4, [2], 6.0, input="ap_fixed<9,4>",
         accum="ap_fixed<6,3,AP_RND,AP_SAT>", result="ap_ufixed<6,1,AP_RND,AP_SAT>",
         weights=dict(weight="ap_fixed<5,2>", recurrent_weight="ap_fixed<4,2>"),
         static=False, return_sequences=True, table_size=128, table_t="ap_fixed<8,1,AP_RND,AP_SAT>",
         activation="sigmoid", weight_scale=1.5,
         doc="sigmoid activation into an unsigned result, return_sequences, a 6-bit accum that saturates"),
    _gru("gru_fused_rnd_conv_sat", 11, (8, 4), 6, [3], 4.0, input="ap_fixed<10,3,AP_RND_CONV,AP_SAT>",
         accum="ap_fixed<11,3,AP_RND_CONV,AP_SAT>", result="ap_fixed<9,2,AP_RND,AP_SAT>",
         static=False, return_sequences=True, table_size=256, table_t="ap_fixed<12,2>", weight_scale=1.0,
         doc="RND_CONV+SAT accum, RND+SAT result, both saturating: the fused cell with its common-mode casts"),
    _gru("gru_fused_uniform_rnd_conv_sat", 12, (8, 4), 6, [3], 4.0, input="ap_fixed<11,3,AP_RND_CONV,AP_SAT>",
         accum="ap_fixed<11,3,AP_RND_CONV,AP_SAT>", result="ap_fixed<11,3,AP_RND_CONV,AP_SAT>",
         table_size=1024, table_t="ap_fixed<12,2>", weight_scale=1.0,
         doc="one RND_CONV+SAT type everywhere (a precision scan's point): the fused cell, its modes constants"),
)

IDS = [c.id for c in CASES]
assert len(set(IDS)) == len(IDS), f"two recurrent cases share an id: {IDS}"


def recurrent_cases(cell: str | None = None) -> dict:
    """``pytest.fixture``/``parametrize`` keyword arguments over the cases (of one ``cell``)."""
    cases = [c for c in CASES if cell in (None, c.cell)]
    return {"params": cases, "ids": [c.id for c in cases]}
