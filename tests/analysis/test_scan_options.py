"""``fxsim scan``'s cost options: --objective, --part (a selection that does not fit fails), --target bounds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fxsim.cli import main

pytestmark = pytest.mark.keras2


@pytest.fixture(scope="module")
def files(gru_model, gru_data, tmp_path_factory):
    d = tmp_path_factory.mktemp("scan_options")
    gru_model.save(d / "model.h5")
    x, y = gru_data
    np.savez(d / "data.npz", x_test=x[:400], y_test=y[:400])
    return d / "model.h5", d / "data.npz", d


@pytest.mark.parametrize("target", ["1.5", "0", "-0.2", "1.0001"])
def test_target_outside_zero_one_is_refused(files, capsys, target):
    model, data, d = files
    out = d / f"t{target}"
    assert main(["scan", str(model), "--data", str(data), "--target", target, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--target must be the fraction of the float metric to keep, in (0, 1]" in err and not out.exists()


def test_estimates_of_uniform_and_selected_and_a_part_too_small_fails_with_the_figures(files, capsys):
    model, data, d = files
    out = d / "small_part"
    code = main(["scan", str(model), "--data", str(data), "--out", str(out), "--target", "0.95", "--objective", "lut",
                 "--max-evaluations", "30", "--no-verify", "--no-curve", "--holdout", "0", "--max-fractional", "8",
                 "--part", "tiny-board", "--device-resources", "2000,4000,4,8", "--quiet"])
    assert code == 1
    cap = capsys.readouterr()
    assert "selected / uniform" in cap.out and "estimate       best uniform:" in cap.out
    assert "the selected configuration does not fit tiny-board: LUT" in cap.err and "of 2,000" in cap.err
    results = json.loads((out / "results.json").read_text())
    u, s = results["estimates"]["best uniform"], results["estimates"]["selected"]
    assert s["lut"] <= u["lut"] and results["selection"]["objective"] == "lut"
    summary = (out / "summary.md").read_text()
    assert "### Hardware cost estimate" in summary and "selected / uniform" in summary
    assert (out / "plots" / "selection.png").exists()


def test_unknown_part_is_refused_before_the_scan(files, capsys):
    model, data, d = files
    assert main(["scan", str(model), "--data", str(data), "--out", str(d / "p"), "--part", "xc9nothing",
                 "--quiet"]) == 2
    assert "unknown FPGA part 'xc9nothing'" in capsys.readouterr().err


def test_finetune_widths_reach_the_fine_tuning_scan(files, capsys):
    model, data, d = files
    base = ["scan", str(model), "--data", str(data), "--out", str(d / "ft"), "--quiet"]
    # a malformed width is refused by fxsim.analysis.finetune_scan itself, so the flag got there
    assert main(base + ["--finetune", "--finetune-at", "ap_fixed<8,3>", "--finetune-at", "ap_fixed<8>"]) == 2
    assert "proposal" in capsys.readouterr().err
    assert main(base + ["--finetune-at", "ap_fixed<8,3>"]) == 2
    assert "only apply with --finetune" in capsys.readouterr().err
    assert main(base + ["--finetune-requantize"]) == 2
    assert "only apply with --finetune" in capsys.readouterr().err
