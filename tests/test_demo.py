"""``fxsim demo`` (what ``./run.sh`` runs), end to end at a small size.

One shipped QAT model on 200 generated jets (the least ``--jets`` allows): evaluate, diagnose, select bits, one
real C simulation of the selection, report folder, one epoch of fine-tuning at the trained width. The command
exits non-zero unless the C simulation agrees with fxsim and meets the held-out target.
"""

from __future__ import annotations

import json
import re

import pytest

from fxsim.cli import main

pytestmark = [pytest.mark.csim, pytest.mark.keras2, pytest.mark.data]


def test_demo_runs_end_to_end_and_the_c_simulation_confirms_the_selection(tmp_path, capsys, record):
    # 200 jets is the smallest set the command accepts; it still runs every step below
    out = tmp_path / "demo"
    assert main(["demo", "--models", "toptag_gru_q8i2", "--jets", "200", "--target", "0.95", "--quiet",
                 "--finetune-epochs", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "== the ap_fixed core on real numbers ==" in text
    assert "fxsim evaluate: toptag_gru_q8i2" in text and "ROC AUC" in text
    assert "-- gap at the trained width, every type ap_fixed<8,3> --" in text
    best = re.search(r"best uniform\s+(\S+): auc ([\d.]+).*total bits (\d+)", text)
    selected = re.search(r"selected\s+per-knob: auc ([\d.]+).*total bits (\d+)", text)
    assert best and selected, text
    assert int(selected.group(2)) <= int(best.group(3))
    csim = re.search(r"C simulation\s+auc ([\d.]+) \(fxsim ([\d.]+)\) on ([\d,]+) held-out samples; 0 of ([\d,]+) "
                     r"output codes differ", text)
    assert csim, text
    record("csim demo", int(csim.group(4).replace(",", "")), 0, "output codes")
    assert csim.group(1) == csim.group(2)
    folder = out / "toptag_gru_q8i2"
    for name in ("summary.md", "selected_config.yml", "selected_config.json", "results.json"):
        assert (folder / name).exists(), name
    for plot in ("gap_bars", "state_drift", "value_ranges", "bits_curve", "selection"):
        assert (folder / "plots" / f"{plot}.png").exists(), plot
    cfg = json.loads((folder / "selected_config.json").read_text())
    assert "gru" in cfg["LayerName"]
    assert "-- fine-tuning through hls4ml's arithmetic at every type ap_fixed<8,3> (1 epoch(s)" in text
    tuned = re.search(r"held-out jets: before ([\d.]+) \(.*after ([\d.]+) \(.*float ([\d.]+)", text)
    assert tuned, text
    for name in ("model.h5", "hls_config.json", "training_curve.png", "training_curve.pdf"):
        assert (folder / "finetune" / name).exists(), name


def test_demo_refuses_unknown_models_and_tiny_sets(capsys):
    assert main(["demo", "--models", "no_such_model"]) == 2
    assert "unknown zoo models ['no_such_model']" in capsys.readouterr().err
    assert main(["demo", "--jets", "50"]) == 2
    assert "--jets must be at least 200" in capsys.readouterr().err
    assert main(["demo", "--finetune-epochs", "-1"]) == 2
    assert "--finetune-epochs" in capsys.readouterr().err
