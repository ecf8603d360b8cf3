"""PyTorch GRU(x, h0) / LSTM(x, (h0, c0)): initial-state inputs against hls4ml's C simulation.

hls4ml's pytorch converter turns the extra ``forward`` arguments into extra Input layers
and calls the ``gru_stack`` / ``lstm_stack`` overloads that start from them;
``hls_model.predict([x, h0])`` takes one array per input. Each csim case is a real module
at randomly drawn sizes and types (every rounding and overflow mode spread over the
cases), with and without initial states, compiled by hls4ml with g++; the output codes
of ``FxModel.predict_codes([x, h0])`` are compared with the C simulation's on 1000
samples (half scaled to overflow). The other tests need no compiler.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from fxsim.fixed import FixedType, to_codes  # noqa: E402
from fxsim.frontends import torch as ft  # noqa: E402

pytestmark = pytest.mark.torch

N_SAMPLES = 1000
ROUNDINGS = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_MIN_INF", "RND_CONV")
OVERFLOWS = ("WRAP", "SAT", "SAT_ZERO", "SAT_SYM")


class Net(nn.Module):
    """GRU/LSTM (last state) → Linear; subclasses give ``forward`` with or without initial states."""

    cell = "gru"

    def __init__(self, n_in: int, units: int, n_out: int):
        super().__init__()
        self.rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[self.cell](n_in, units, batch_first=True)
        self.fc = nn.Linear(units, n_out)


class GruH0(Net):
    def forward(self, x, h0):
        out, _ = self.rnn(x, h0)
        return self.fc(out[:, -1, :])


class GruPlain(Net):
    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1, :])


class LstmH0C0(Net):
    cell = "lstm"

    def forward(self, x, h0, c0):
        out, _ = self.rnn(x, (h0, c0))
        return self.fc(out[:, -1, :])


class LstmPlain(GruPlain):
    cell = "lstm"


class GruOnlyH0(nn.Module):
    """The GRU's last state is the output: its codes are compared directly."""

    def __init__(self, n_in: int, units: int):
        super().__init__()
        self.rnn = nn.GRU(n_in, units, batch_first=True)

    def forward(self, x, h0):
        out, _ = self.rnn(x, h0)
        return out[:, -1, :]


def _module(kind: str, states: bool, f: int, h: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    if kind == "gru-only":
        net = GruOnlyH0(f, h)
    elif kind == "gru":
        net = (GruH0 if states else GruPlain)(f, h, 2)
    else:
        net = (LstmH0C0 if states else LstmPlain)(f, h, 2)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, 0.6)
    return net.eval()


def _type(rng, rounding: str, overflow: str, width: tuple[int, int], integer: tuple[int, int]) -> str:
    w = int(rng.integers(*width))
    i = int(rng.integers(*integer))
    return f"fixed<{w},{min(i, w)},{rounding},{overflow}>"


def draw_case(index: int, kind: str, states: bool):
    """Sizes and a per-layer precision for case ``index``: modes cycle so the cases cover them all."""
    rng = np.random.default_rng(1000 + index)
    T, F, H = int(rng.integers(2, 8)), int(rng.integers(1, 5)), int(rng.integers(1, 6))

    def mode(k: int) -> tuple[str, str]:
        return ROUNDINGS[(index + 3 * k) % len(ROUNDINGS)], OVERFLOWS[(index + k) % len(OVERFLOWS)]

    state_names = {"gru": ["h0"], "gru-only": ["h0"], "lstm": ["h0", "c0"]}[kind] if states else []
    weight = _type(rng, *mode(2), (6, 12), (1, 4))
    bias = _type(rng, *mode(3), (6, 12), (1, 4))
    rnn = {"weight": weight, "recurrent_weight": weight, "bias": bias, "recurrent_bias": bias,
           "table_t": _type(rng, *mode(4), (10, 16), (2, 5)), "TableSize": int(rng.choice([256, 512, 1024]))}
    if kind == "lstm":  # hls4ml 1.3.0 compiles an LSTM only with input == accum == result
        t = _type(rng, *mode(0), (12, 20), (4, 8))
        x_t = rnn["accum"] = rnn["result"] = t
    else:
        x_t = _type(rng, *mode(0), (8, 16), (2, 6))
        rnn["accum"] = _type(rng, *mode(1), (14, 24), (5, 10))
        rnn["result"] = _type(rng, *mode(5), (8, 16), (2, 6))
    precision = {"x": {"result": x_t}, "rnn": rnn}
    for name in state_names:  # hls4ml passes the state arrays as the layer's result_t
        precision[name] = {"result": rnn["result"]}
    if kind != "gru-only":
        precision["fc"] = {"accum": _type(rng, *mode(6), (16, 26), (6, 10)),
                           "result": _type(rng, *mode(7), (10, 18), (4, 8))}
    return T, F, H, precision, state_names


def _inputs(seed: int, T: int, F: int, H: int, n_states: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(0.0, 1.0, (N_SAMPLES, T, F))] + [rng.normal(0.0, 0.7, (N_SAMPLES, H))
                                                          for _ in range(n_states)]
    for a in arrays:
        a[N_SAMPLES // 2:] *= 4.0  # overflow the input types and the state
    return [np.round(a * 2.0**10) / 2.0**10 for a in arrays]


#: (cell kind, with initial states, options)
CASES = {
    "gru-h0-0": ("gru", True, {}),
    "gru-h0-1": ("gru", True, {}),
    "gru-h0-2": ("gru-only", True, {}),
    "gru-h0-resource": ("gru", True, {"strategy": "Resource"}),
    "lstm-h0c0-0": ("lstm", True, {}),
    "lstm-h0c0-1": ("lstm", True, {}),
    "gru-plain": ("gru", False, {}),
    "lstm-plain": ("lstm", False, {}),
}


@pytest.mark.csim
@pytest.mark.parametrize("case", list(CASES))
def test_csim_initial_states(case, record, tmp_path_factory):
    from fxsim import from_hls4ml
    from fxsim.frontends.keras import quiet_stdout

    kind, states, options = CASES[case]
    index = list(CASES).index(case)
    T, F, H, precision, names = draw_case(index, kind, states)
    if options.get("strategy") == "Resource":  # PyTorch GRU + Resource: fxsim needs a wrapping accum_t
        precision["rnn"]["accum"] = precision["rnn"]["accum"].rsplit(",", 1)[0] + ",WRAP>"
    net = _module(kind, states, F, H, seed=index)
    shapes = [(T, F)] + [(H,)] * len(names)
    conv = ft.convert(net, precision, input_shape=shapes if names else (T, F),
                      output_dir=tmp_path_factory.mktemp(f"torch-states-{case}"), **options)
    hm = conv.hls_model
    with quiet_stdout():
        hm.compile()
    xs = _inputs(index, T, F, H, len(names))
    feed = xs if names else xs[0]
    y = np.asarray(hm.predict([np.ascontiguousarray(a) for a in xs] if names else np.ascontiguousarray(feed)))
    fx = from_hls4ml(hm)
    assert [s.name for s in fx.inputs] == ["x", *names]
    rnn = next(s for s in fx.layers if s.name == "rnn")
    assert rnn.initial_state == tuple(names)
    ours = fx.predict_codes(feed)
    theirs = to_codes(y.reshape(ours.shape), fx.output_t)
    bad = int(np.sum(ours != theirs))
    record("hls4ml C sim vs fxsim, PyTorch initial states", ours.size, bad, "codes")
    assert bad == 0, f"{bad} of {ours.size} codes differ; precision {precision}"
    # the float predict and the overflow report read the same inputs
    np.testing.assert_array_equal(fx.predict(feed), y.reshape(ours.shape))
    report = fx.overflow_report(feed)
    assert {r.layer for r in report.rows} >= {"x", *names, "rnn"}


# --- no compiler needed ---------------------------------------------------------------------


def _converted(kind: str = "gru", precision=None, h: int = 4):
    net = _module(kind, True, 3, h, seed=7)
    names = ["h0", "c0"] if kind == "lstm" else ["h0"]
    return ft.convert(net, precision or "fixed<16,6>", input_shape=[(5, 3)] + [(h,)] * len(names))


def test_model_inputs_and_errors(tmp_path):
    from fxsim import FxModel, from_hls4ml

    fx = from_hls4ml(_converted("lstm").hls_model)
    assert [s.name for s in fx.inputs] == ["x", "h0", "c0"]
    assert fx.input_shapes == [(5, 3), (4,), (4,)]
    rng = np.random.default_rng(0)
    x, h0, c0 = rng.normal(size=(20, 5, 3)), rng.normal(size=(20, 4)), rng.normal(size=(20, 4))
    codes = fx.predict_codes([x, h0, c0])
    assert codes.shape == (20, 2)
    # a single sample without the batch axis, and flattened x
    np.testing.assert_array_equal(fx.predict_codes([x[3], h0[3], c0[3]]), codes[3])
    np.testing.assert_array_equal(fx.predict_codes((x.reshape(20, 15), h0, c0)), codes)
    # the initial states matter
    assert not np.array_equal(fx.predict_codes([x, 0 * h0, 0 * c0]), codes)
    _, tr = fx.trace([x, h0, c0])
    assert tr.codes["rnn/h"].shape == (20, 5, 4)
    # save / load keeps the inputs and the layer's initial-state names
    path = fx.save(tmp_path / "m")
    back = FxModel.load(path)
    assert [s.name for s in back.inputs] == ["x", "h0", "c0"]
    np.testing.assert_array_equal(back.predict_codes([x, h0, c0]), codes)
    with pytest.raises(ValueError, match=r"3 inputs \(x, h0, c0\): pass a list of 3 arrays"):
        fx.predict(x)
    with pytest.raises(ValueError, match=r"3 inputs \(x, h0, c0\), got 2 arrays"):
        fx.predict([x, h0])
    with pytest.raises(ValueError, match=r"input 'h0' of shape \(20, 5\) does not match \(4,\)"):
        fx.predict([x, rng.normal(size=(20, 5)), c0])
    with pytest.raises(ValueError, match="different numbers of samples: x 20, h0 19, c0 20"):
        fx.predict([x, h0[:19], c0])
    with pytest.raises(ValueError, match=r"input 'c0': dtype float32; every input must be float32"):
        fx.predict([x, h0, c0.astype(np.float32)])


def test_single_input_models_unchanged():
    from fxsim import from_hls4ml

    net = _module("gru", False, 3, 4, seed=1)
    fx = from_hls4ml(ft.convert(net, "fixed<16,6>", input_shape=(5, 3)).hls_model)
    assert [s.name for s in fx.inputs] == ["x"]
    x = np.random.default_rng(1).normal(size=(10, 5, 3))
    assert fx.predict_codes(x).shape == (10, 2)
    with pytest.raises(ValueError, match="expected a numpy array, got list"):
        fx.predict([x])


@pytest.mark.parametrize("precision, match", [
    ({"h0": {"result": "fixed<12,4>"}},
     r"input 'h0' has type ap_fixed<12,4.*result_t is ap_fixed<16,6.*does not compile"),
    ({"rnn": {"recurrent_weight": "fixed<9,2>"}}, r"weight_t ap_fixed<16,6.* differs from recurrent_weight_t"),
    ({"rnn": {"recurrent_bias": "fixed<9,2>"}}, r"bias_t ap_fixed<16,6.* differs from recurrent_bias_t"),
])
def test_uncompilable_state_types_refused(precision, match):
    """hls4ml 1.3.0 compiles these with g++ errors (checked by hand: 'Failed to compile project')."""
    from fxsim import from_hls4ml
    from fxsim.frontends.hls4ml import UnsupportedLayerError

    with pytest.raises(UnsupportedLayerError, match=match):
        from_hls4ml(_converted("gru", precision).hls_model)


def test_emulate_and_evaluate_with_states():
    import fxsim

    net = _module("gru", True, 3, 4, seed=3)
    emu = fxsim.emulate(net, "fixed<16,6>", input_shape=[(5, 3), (4,)])
    rng = np.random.default_rng(3)
    x, h0 = rng.normal(size=(64, 5, 3)), rng.normal(0, 0.5, size=(64, 4))
    y = (rng.random(64) > 0.5).astype(int)
    ev = fxsim.evaluate(net, "fixed<16,6>", [x, h0], y, input_shape=[(5, 3), (4,)], progress=False)
    np.testing.assert_array_equal(ev.hardware_codes, emu.predict_codes([x, h0]))
    with torch.no_grad():
        want = net(torch.tensor(x, dtype=torch.float32), torch.tensor(h0[None], dtype=torch.float32)).numpy()
    np.testing.assert_allclose(ev.outputs["float"], want, rtol=1e-6, atol=1e-6)
    assert np.max(np.abs(ev.outputs["hardware"] - want)) < 0.1
    with pytest.raises(ValueError, match="input_shape is required"):
        fxsim.evaluate(net, "fixed<16,6>", [x, h0], y, progress=False)


def test_state_codes_kernel_argument():
    """The kernel driver refuses states of the wrong shape or dtype."""
    from fxsim import from_hls4ml
    from fxsim.kernels import recurrent

    fx = from_hls4ml(_converted("gru").hls_model)
    spec = next(s for s in fx.layers if s.name == "rnn")
    x = to_codes(np.zeros((3, 5, 3)), spec.input_t)
    with pytest.raises(ValueError, match=r"initial state must be int64 codes \(3, 4\)"):
        recurrent.run_recurrent(spec, x, initial_state=(np.zeros((3, 5), np.int64),))
    with pytest.raises(ValueError, match="2 initial states, expected h0"):
        recurrent.run_recurrent(spec, x, initial_state=(np.zeros((3, 4), np.int64),) * 2)
    assert FixedType.parse("fixed<16,6>") == spec.result_t


def test_hls4ml_default_transpose_refused_with_the_measured_difference(tmp_path):
    """hls4ml's default channels_last_conversion='full' feeds the GRU a transposed input."""
    import hls4ml

    from fxsim import from_hls4ml
    from fxsim.frontends.hls4ml import UnsupportedLayerError
    from fxsim.frontends.keras import quiet_stdout

    net = _module("gru-only", True, 3, 4, seed=0)
    with quiet_stdout():
        cfg = hls4ml.utils.config_from_pytorch_model(net, [(None, 5, 3), (None, 1, 4)])
        hm = hls4ml.converters.convert_from_pytorch_model(net, hls_config=cfg, output_dir=str(tmp_path / "p"))
    with pytest.raises(UnsupportedLayerError, match=r"transpose of the PyTorch input.*channels_last_conversion"):
        from_hls4ml(hm)
