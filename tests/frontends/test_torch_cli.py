"""The CLI on saved PyTorch modules: ``fxsim evaluate|estimate m.pt --input-shape T,F``.

The saved form is ``torch.save(module, path)`` (the whole module, its class importable:
hls4ml traces the Python ``forward`` with torch.fx); no compiler is needed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from fxsim.cli import main  # noqa: E402

pytestmark = pytest.mark.torch


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 4, batch_first=True)
        self.fc = nn.Linear(4, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return torch.sigmoid(self.fc(out[:, -1, :]))


class TaggerH0(Tagger):
    def forward(self, x, h0):
        out, _ = self.rnn(x, h0)
        return self.fc(out[:, -1, :])


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("torch-cli")
    torch.manual_seed(0)
    torch.save(Tagger().eval(), d / "tagger.pt")
    torch.save(TaggerH0().eval(), d / "tagger_h0.pt")
    rng = np.random.default_rng(0)
    np.savez(d / "data.npz", x=rng.normal(size=(50, 6, 3)), h0=rng.normal(0, 0.5, size=(50, 4)),
             y=(rng.random(50) > 0.5).astype(int))
    return d


def test_evaluate_saved_module(saved, capsys, tmp_path):
    out = tmp_path / "r.json"
    rc = main(["evaluate", str(saved / "tagger.pt"), "--precision", "ap_fixed<16,6>", "--input-shape", "6,3",
               "--data", str(saved / "data.npz"), "--labels", "y", "--no-progress", "--json", str(out)])
    assert rc == 0, capsys.readouterr().err
    doc = json.loads(out.read_text())
    assert doc["model"] == "Tagger" and doc["n_samples"] == 50
    assert doc["agreement"]["float"]["max_abs_diff"] < 0.05


def test_evaluate_with_initial_state_inputs(saved, capsys):
    rc = main(["evaluate", str(saved / "tagger_h0.pt"), "--precision", "ap_fixed<16,6>",
               "--input-shape", "6,3", "--input-shape", "4", "--data", str(saved / "data.npz"),
               "--inputs", "x,h0", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    assert "fxsim evaluate: TaggerH0" in capsys.readouterr().out


def test_estimate_saved_module(saved, capsys):
    rc = main(["estimate", str(saved / "tagger.pt"), "--precision", "ap_fixed<16,6>", "--input-shape", "6,3"])
    assert rc == 0, capsys.readouterr().err
    assert "EBOPs" in capsys.readouterr().out


def test_missing_or_bad_input_shape(saved, capsys):
    rc = main(["estimate", str(saved / "tagger.pt"), "--precision", "ap_fixed<16,6>"])
    assert rc == 2
    assert "input_shape is required for a PyTorch module (Tagger)" in capsys.readouterr().err
    rc = main(["estimate", str(saved / "tagger.pt"), "--precision", "ap_fixed<16,6>", "--input-shape", "6,a"])
    assert rc == 2
    assert "--input-shape '6,a': expected positive integers" in capsys.readouterr().err


def test_state_dict_refused(saved, tmp_path, capsys):
    torch.save(Tagger().state_dict(), tmp_path / "sd.pt")
    rc = main(["estimate", str(tmp_path / "sd.pt"), "--precision", "ap_fixed<16,6>", "--input-shape", "6,3"])
    assert rc == 2
    assert "holds a state_dict, not a module" in capsys.readouterr().err


def test_help_says_which_saved_form(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "torch.save(module, path) of the whole module" in text and "not a state_dict or TorchScript" in text
