"""``fxsim diagnose`` and ``fxsim scan`` on a saved model and an .npz."""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.cli import main

pytestmark = pytest.mark.keras2


@pytest.fixture(scope="module")
def files(gru_model, gru_data, tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    model = d / "model.h5"
    gru_model.save(model)
    x, y = gru_data
    data = d / "data.npz"
    np.savez(data, x_test=x[:400], y_test=y[:400])
    return model, data, d


def test_diagnose_writes_a_report(files, capsys):
    model, data, d = files
    out = d / "diag"
    assert main(["diagnose", str(model), "--data", str(data), "--out", str(out), "--no-curve", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "hardware (fxsim)" in text and "report:" in text
    summary = (out / "summary.md").read_text()
    for heading in ("## Float → QKeras → hardware", "## Gap by layer", "## Gap by source",
                    "## Recurrent state drift", "## Value ranges against the types"):
        assert heading in summary
    for plot in ("gap_bars", "state_drift", "value_ranges"):
        assert (out / "plots" / f"{plot}.png").exists() and (out / "plots" / f"{plot}.pdf").exists()


def test_scan_uniform_only(files, capsys):
    model, data, d = files
    out = d / "scan"
    code = main(["scan", str(model), "--data", str(data), "--out", str(out), "--target", "0.95", "--uniform-only",
                 "--no-verify", "--no-curve", "--holdout", "0", "--max-fractional", "8", "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "best uniform" in text
    assert (out / "selected_config.yml").exists() and (out / "uniform_config.json").exists()


@pytest.mark.parametrize("argv, message", [
    (["--data", "missing.npz"], "no file"),
    (["--labels", "nope"], "no array 'nope'"),
    (["--precision", "ap_fixed<8"], "cannot parse"),
])
def test_bad_input_is_named(files, capsys, argv, message):
    model, data, d = files
    args = ["diagnose", str(model), "--data", str(data), "--out", str(d / "bad"), "--no-curve", "--quiet"]
    for k in range(0, len(argv), 2):
        i = args.index(argv[k]) if argv[k] in args else None
        if i is None:
            args += argv[k:k + 2]
        else:
            args[i + 1] = argv[k + 1]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_unknown_model_name(files, capsys):
    _, data, _ = files
    assert main(["scan", "no_such_model", "--data", str(data)]) == 2
    assert "no zoo model" in capsys.readouterr().err
