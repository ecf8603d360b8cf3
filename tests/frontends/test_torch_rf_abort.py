"""A PyTorch LSTM whose Resource reuse factor hls4ml 1.3.0 turns into one its own C simulation aborts on.

Found by the PyTorch fuzz campaign (seed 21, trial 8): ``LSTM(5, 10)`` over 8 time steps,
Resource, ``ReuseFactor`` 10 (valid for the layer: 10 > 5 and 10 % 5 == 0). hls4ml's
PyTorch parser stores ``n_in`` = 8 (the time steps: it reads the channels-first shape
before the channels-last conversion swaps the input variable to ``(8, 5)``), and
``init_lstm`` validates the reuse factor against ``8 x 40``: 10 becomes 8. The template
writes the input dense with ``n_in`` = 5 from the variable and RF 8 > 5, i.e.
``dense_resource_rf_gt_nin_rem0``, whose ``assert(rufactor > nin && rufactor % nin == 0)``
(``nnet_dense_resource.h:100``) fails: the C simulation aborts the process.

fxsim refuses the converted model and the doctor reports ``recurrent-resource-rf-abort``
with the reuse factors that work; the csim tests show hls4ml's C simulation really aborts
(in a subprocess) and that the suggested fix compiles and matches fxsim code for code.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from fxsim import UnsupportedLayerError, from_hls4ml  # noqa: E402
from fxsim.doctor import doctor  # noqa: E402
from fxsim.frontends import torch as ft  # noqa: E402

pytestmark = pytest.mark.torch

T_STEPS, N_FEATURES, N_STATE = 8, 5, 10
SHAPE = (T_STEPS, N_FEATURES)
OPTIONS = {"default_precision": "ap_fixed<13,6>", "strategy": "Resource"}


class Net(nn.Module):
    def __init__(self, cell: str = "lstm"):
        super().__init__()
        self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell](N_FEATURES, N_STATE, batch_first=True)
        self.fc = nn.Linear(N_STATE, 4)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1, :])


def _module(cell: str = "lstm") -> nn.Module:
    torch.manual_seed(21)
    return Net(cell).eval()


def _spec(rf: int) -> dict:
    return {"rnn": {"ReuseFactor": rf, "weight": "ap_fixed<10,4,AP_RND_MIN_INF,AP_WRAP>", "bias": "ap_fixed<6,3>"},
            "fc": {"ReuseFactor": 4}}


def test_hls4ml_validates_the_rf_against_the_time_steps(tmp_path):
    hm = ft.convert(_module(), _spec(10), input_shape=SHAPE, output_dir=tmp_path / "p", **OPTIONS).hls_model
    rnn = hm.graph["rnn"]
    assert (rnn.get_attr("n_in"), rnn.get_attr("n_timesteps")) == (T_STEPS, N_FEATURES)  # swapped attributes
    assert list(rnn.get_input_variable().shape) == [T_STEPS, N_FEATURES]  # what the C++ reads
    assert (rnn.get_attr("reuse_factor"), rnn.get_attr("recurrent_reuse_factor")) == (8, 10)


def test_fxsim_refuses_naming_layer_rf_and_n_in(tmp_path):
    hm = ft.convert(_module(), _spec(10), input_shape=SHAPE, output_dir=tmp_path / "p", **OPTIONS).hls_model
    with pytest.raises(UnsupportedLayerError) as err:
        from_hls4ml(hm)
    msg = str(err.value)
    assert "layer 'rnn' (LSTM)" in msg and "5x40" in msg and "reuse_factor 8" in msg
    assert "RF > N_IN && RF % N_IN == 0" in msg and "C simulation would abort" in msg


def test_doctor_reports_the_abort_with_working_rfs():
    diagnosis = doctor(_module(), _spec(10), input_shape=SHAPE, **OPTIONS)
    print(diagnosis)
    (f,) = diagnosis.by_code("recurrent-resource-rf-abort")
    assert f.severity == "error" and f.layer == "rnn" and not diagnosis.ok
    assert {k: f.details[k] for k in ("requested_reuse_factor", "reuse_factor", "recurrent_reuse_factor",
                                      "n_in", "n_in_attribute")} == {
        "requested_reuse_factor": 10, "reuse_factor": 8, "recurrent_reuse_factor": 10, "n_in": 5,
        "n_in_attribute": 8}
    # what hls4ml makes of them (clipped against 8x40 and 10x40) runs 5x40 and 10x40 without an assert
    assert f.details["valid"] == [1, 40, 50, 80, 100, 160, 200, 320, 400] and f.details["suggested"] == 1
    assert "time steps" in f.what and "C simulation aborts" in f.what
    assert "ReuseFactor 1" in f.fix and "or 40" in f.fix and "50 into 40 / 50" in f.fix
    assert diagnosis.by_code("not-emulated") == []  # the specific finding, not the generic one


@pytest.mark.parametrize("cell, rf, final", [("lstm", 6, 4), ("gru", 10, 8), ("gru", 6, 4)])
def test_doctor_reports_other_aborting_rfs(cell, rf, final):
    (f,) = doctor(_module(cell), _spec(rf), input_shape=SHAPE, **OPTIONS).by_code("recurrent-resource-rf-abort")
    assert f.details["reuse_factor"] == final and f.details["requested_reuse_factor"] == rf
    assert f.details["suggested"] in f.details["valid"]


@pytest.mark.parametrize("cell, rf", [("lstm", 40), ("lstm", 50), ("lstm", 80), ("lstm", 1), ("gru", 40)])
def test_doctor_accepts_working_rfs(cell, rf):
    diagnosis = doctor(_module(cell), _spec(rf), input_shape=SHAPE, **OPTIONS)
    assert diagnosis.by_code("recurrent-resource-rf-abort") == [] and diagnosis.ok, str(diagnosis)


_ABORT_SCRIPT = textwrap.dedent("""
    import sys, numpy as np, torch
    sys.path.insert(0, {tests!r})
    from frontends.test_torch_rf_abort import OPTIONS, SHAPE, _module, _spec
    from fxsim.frontends import torch as ft
    hm = ft.convert(_module(), _spec(10), input_shape=SHAPE, output_dir={out!r}, **OPTIONS).hls_model
    hm.compile()
    print("compiled", flush=True)
    hm.predict(np.zeros((2, *SHAPE)))
    print("PREDICTED", flush=True)
""")


@pytest.mark.csim
def test_hls4ml_csim_aborts_on_it(tmp_path):
    from pathlib import Path

    tests = str(Path(__file__).resolve().parents[1])
    script = _ABORT_SCRIPT.format(tests=tests, out=str(tmp_path / "abort"))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=1200,
                          cwd=str(Path(tests).parent))
    assert "compiled" in proc.stdout, proc.stderr[-3000:]
    assert "PREDICTED" not in proc.stdout
    assert proc.returncode == -6, (proc.returncode, proc.stderr[-3000:])  # SIGABRT
    assert "rufactor > nin && rufactor % nin == 0" in proc.stderr


@pytest.mark.csim
@pytest.mark.parametrize("rf, final", [(40, (40, 40)), (50, (40, 50))])
def test_the_suggested_fixes_compile_and_match(tmp_path, rf, final):
    from fxsim.csim import crosscheck

    hm = ft.convert(_module(), _spec(rf), input_shape=SHAPE, output_dir=tmp_path / "fix", **OPTIONS).hls_model
    rnn = hm.graph["rnn"]
    assert (rnn.get_attr("reuse_factor"), rnn.get_attr("recurrent_reuse_factor")) == final
    rng = np.random.default_rng(21)
    x = np.round(rng.normal(0.0, 8.0, (500, *SHAPE)) * 4096.0) / 4096.0
    rep = crosscheck(hm, x)
    compared = sum(c.compared for c in rep.layers) + rep.output.compared
    assert compared > 0
    assert sum(c.mismatches for c in rep.layers) + rep.output.mismatches == 0, str(rep)
