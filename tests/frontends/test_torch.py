"""PyTorch front-end: nn.GRU / nn.LSTM through hls4ml's pytorch converter, against its C simulation.

Each csim case is one real module converted by :func:`fxsim.frontends.torch.convert`,
compiled by hls4ml with g++ and traced; every traced layer and the output are
compared code for code on 2000 samples (half of them scaled to overflow). Cases
spread every rounding and every overflow mode over the GRU's and LSTM's types,
vary sizes, widths, Latency/Resource, and check PyTorch's gate order against
PyTorch's own float output. The error tests need no compiler.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from fxsim.frontends import torch as ft  # noqa: E402
from fxsim.frontends.keras import HLS4MLError  # noqa: E402

pytestmark = pytest.mark.torch

N_SAMPLES = 2000


class Net(nn.Module):
    """x (N, T, F) → GRU/LSTM (last state) → Linear."""

    def __init__(self, cell: str, n_in: int, units: int, n_out: int):
        super().__init__()
        self.rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell](n_in, units, batch_first=True)
        self.fc = nn.Linear(units, n_out)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1, :])


def make(seed: int, cell: str, n_in: int, units: int, n_out: int, scale: float = 0.6) -> Net:
    torch.manual_seed(seed)
    net = Net(cell, n_in, units, n_out)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, scale)
    return net.eval()


def inputs(seed: int, shape: tuple[int, int], frac_bits: int = 10) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (N_SAMPLES, *shape))
    x[N_SAMPLES // 2:] *= 3.0  # overflow the input type and the state
    return np.round(x * 2.0**frac_bits) / 2.0**frac_bits


#: (cell, T, F, units, precision, options). LSTM: hls4ml 1.3.0 compiles only input == accum == result.
CASES = {
    "gru-rnd-conv-sat": ("gru", 5, 3, 4, {
        "x": {"result": "fixed<12,4,RND_CONV,SAT>"},
        "rnn": {"accum": "fixed<20,8,RND,WRAP>", "result": "fixed<14,5,RND_CONV,SAT>",
                "weight": "fixed<10,3,RND_ZERO,SAT_SYM>", "recurrent_weight": "fixed<9,2,TRN_ZERO,SAT>",
                "bias": "fixed<8,3,RND_INF,SAT_ZERO>", "recurrent_bias": "fixed<8,2,RND_MIN_INF,WRAP>",
                "table_t": "fixed<14,4,RND,SAT>", "TableSize": 512},
        "fc": {"accum": "fixed<24,10,TRN,SAT>", "result": "fixed<16,7,RND,SAT_SYM>"}}, {}),
    "gru-resource-wrap": ("gru", 6, 4, 6, {
        "x": {"result": "fixed<10,3,TRN,WRAP>"},
        "rnn": {"accum": "fixed<18,6,RND_MIN_INF,WRAP>", "result": "fixed<11,3,RND_INF,SAT_ZERO>",
                "weight": "fixed<8,2>", "recurrent_weight": "fixed<8,2,RND_CONV,SAT>", "ReuseFactor": 2},
        "fc": {"result": "fixed<14,6,TRN_ZERO,WRAP>"}}, {"strategy": "Resource"}),
    "lstm-rnd-sat-sym": ("lstm", 4, 3, 5, {
        "x": {"result": "fixed<16,6,RND,SAT_SYM>"},
        "rnn": {"accum": "fixed<16,6,RND,SAT_SYM>", "result": "fixed<16,6,RND,SAT_SYM>",
                "weight": "fixed<9,3,RND_CONV,SAT>", "recurrent_weight": "fixed<10,3,TRN_ZERO,WRAP>",
                "bias": "fixed<8,3,RND_ZERO,SAT_ZERO>", "recurrent_bias": "fixed<8,3,RND_INF,SAT>",
                "table_t": "fixed<12,3,RND_MIN_INF,SAT>"},
        "fc": {"accum": "fixed<22,8,RND_CONV,SAT>", "result": "fixed<12,5,TRN,SAT_ZERO>"}}, {}),
    "lstm-wide-float-check": ("lstm", 7, 2, 3, "fixed<24,8,RND_CONV,SAT>", {}),
    "gru-wide-float-check": ("gru", 7, 2, 3, "fixed<24,8,RND_CONV,SAT>", {}),
}


@pytest.mark.csim
@pytest.mark.parametrize("case", sorted(CASES))
def test_csim(case, record, tmp_path_factory):
    from fxsim import crosscheck, from_hls4ml

    cell, T, F, units, precision, options = CASES[case]
    seed = sum(map(ord, case))
    net = make(seed, cell, F, units, 2)
    out = tmp_path_factory.mktemp(f"torch-{case}")
    conv = ft.convert(net, precision, input_shape=(T, F), output_dir=out, **options)
    x = inputs(seed, (T, F))
    report = crosscheck(conv.hls_model, x)
    compared = sum(c.compared for c in report.layers) + report.output.compared
    bad = sum(c.mismatches for c in report.layers) + report.output.mismatches
    record("hls4ml C sim vs fxsim, PyTorch front-end", compared, bad, "codes")
    assert report.ok, str(report)
    assert {c.layer for c in report.layers} >= {"rnn", "fc"}
    if "float-check" in case:
        # PyTorch's gate order and reset placement: at 24 bits the emulation follows torch's float
        x_small = x[:200]
        y_torch = net(torch.tensor(x_small, dtype=torch.float32)).detach().numpy()
        y_fx = from_hls4ml(conv.hls_model).predict(x_small)
        assert np.max(np.abs(y_fx - y_torch)) < 0.02, np.max(np.abs(y_fx - y_torch))


def test_missing_input_shape():
    with pytest.raises(ValueError, match=r"input_shape is required for a PyTorch module \(Net\).*\(T, F\)"):
        ft.convert(make(0, "gru", 3, 4, 2), "fixed<16,6>")


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 4, batch_first=True)

    def forward(self, x):
        if x.sum() > 0:  # data-dependent control flow: torch.fx cannot trace it
            x = -x
        out, _ = self.rnn(x)
        return out[:, -1, :]


def test_untraceable_module_named():
    with pytest.raises(HLS4MLError, match=r"cannot trace module Branchy \(in forward, line \d+\) with torch.fx"):
        ft.convert(Branchy(), input_shape=(5, 3))


@pytest.mark.parametrize("kwargs, reason", [
    ({"num_layers": 2}, "num_layers=2"),
    ({"bidirectional": True}, "bidirectional=True"),
    ({"batch_first": False}, "batch_first=False"),
    ({"num_layers": 2, "dropout": 0.5}, "dropout=0.5"),
    ({"bias": False}, "bias=False"),
])
def test_refused_settings_name_the_module(kwargs, reason):
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.LSTM(3, 4, **{"batch_first": True, **kwargs})

        def forward(self, x):
            out, _ = self.enc(x)
            return out

    with pytest.raises(HLS4MLError, match=rf"enc \(LSTM\): {reason}"):
        ft.convert(M(), input_shape=(5, 3))


def test_saved_module_and_refused_forms(tmp_path):
    net = make(1, "gru", 3, 4, 2)
    path = tmp_path / "net.pt"
    torch.save(net, path)
    assert isinstance(ft.load_module(path), Net)
    torch.save(net.state_dict(), tmp_path / "sd.pt")
    with pytest.raises(ValueError, match="holds a state_dict, not a module"):
        ft.load_module(tmp_path / "sd.pt")
    with pytest.raises(ValueError, match="TorchScript"):
        ft.load_module(torch.jit.script(net))
    with pytest.raises(FileNotFoundError):
        ft.load_module(tmp_path / "missing.pt")


def test_initial_states_are_inputs():
    """forward(x, h0): hls4ml adds an Input layer for h0; fxsim reads it as a second input
    (the C-simulation comparisons are in test_torch_states.py)."""
    class WithH0(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 4, batch_first=True)

        def forward(self, x, h0):
            out, _ = self.rnn(x, h0)
            return out[:, -1, :]

    from fxsim import from_hls4ml

    conv = ft.convert(WithH0(), input_shape=[(5, 3), (4,)])
    assert conv.input_shape == ((5, 3), (4,))
    fx = from_hls4ml(conv.hls_model)
    assert [s.name for s in fx.inputs] == ["x", "h0"]
    assert fx.layers[-1].initial_state == ("h0",)
