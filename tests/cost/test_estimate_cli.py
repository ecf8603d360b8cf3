"""``fxsim estimate``: the table, the JSON, and bad input failing before anything is converted or written."""

from __future__ import annotations

import json

import pytest

from fxsim.cli import main

pytestmark = pytest.mark.keras2


def test_estimate_command_writes_json(tmp_path, capsys):
    out = tmp_path / "est.json"
    rc = main(["estimate", "toptag_gru_float", "--precision", "ap_fixed<16,6>", "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "toptag_gru_float on xcu250-figd2104-2L-e" in text and "total" in text
    doc = json.loads(out.read_text())
    assert doc["dsp"] > 0 and doc["interval_cycles"] == 20 * doc["layers"][1]["detail"]["step_cycles"]
    assert doc["part"] == "xcu250-figd2104-2L-e" and doc["uncertainty"]["lut"]


def test_estimate_command_require_fit_on_a_small_device(tmp_path, capsys):
    rc = main(["estimate", "toptag_gru_float", "--precision", "ap_fixed<16,6>", "--part", "xc7z020clg400-1",
               "--require-fit"])
    assert rc == 4
    assert "does not fit xc7z020clg400-1" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--part", "xc9zzz"], "unknown FPGA part 'xc9zzz'"),
    (["--clock", "0"], "--clock must be a positive"),
    (["--reuse-factor", "0"], "--reuse-factor must be a positive"),
    (["--device-resources", "1,2,3"], "--device-resources wants four"),
])
def test_estimate_command_bad_input(tmp_path, capsys, argv, message):
    out = tmp_path / "est.json"
    rc = main(["estimate", "toptag_gru_float", "--precision", "ap_fixed<16,6>", "--json", str(out), *argv])
    assert rc == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_estimate_command_unknown_model(capsys):
    assert main(["estimate", "no_such_model", "--precision", "ap_fixed<16,6>"]) == 2
    assert "no zoo model of that name" in capsys.readouterr().err
