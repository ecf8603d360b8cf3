"""``fxsim build``: the hls4ml project of one configuration, compiled with g++, checked code for code.

A tiny QKeras GRU (the analysis tests' model) on 300 samples: the project is written
and compiled by hls4ml, its C simulation agrees with fxsim on every output code, the
estimate lands beside it; ``--synth`` without a vendor tool fails naming the tool and
the project; bad input is refused before anything is written.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml

from fxsim.cli import main
from tests.analysis.helpers import labelled_data, small_qkeras

pytestmark = [pytest.mark.csim, pytest.mark.keras2]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("build")
    model = small_qkeras("gru")
    x, y = labelled_data(model, 300)
    model.save(d / "model.h5")
    np.savez(d / "data.npz", x_test=x, y_test=y)
    return d / "model.h5", d / "data.npz", d


def _argv(files, out, *extra):
    model, data, _ = files
    return ["build", str(model), "--data", str(data), "--out", str(out), "--quiet", *extra]


def test_build_writes_a_compiled_project_that_the_c_simulation_verifies(files, capsys):
    out = files[2] / "b16"
    assert main(_argv(files, out, "--precision", "ap_fixed<16,6>", "--part", "xcvu9p-flga2104-2L-e",
                      "--clock", "4")) == 0
    text = capsys.readouterr().out
    assert "C simulation against fxsim on 300 samples: 0 of 300 output codes differ" in text
    project = out / "hls4ml_prj"
    # hls4ml wrote the project for the part and clock asked, and compiled it (its own build_lib.sh)
    tcl = (project / "project.tcl").read_text()
    assert 'set part "xcvu9p-flga2104-2L-e"' in tcl and "set clock_period 4" in tcl
    assert list((project / "firmware").glob("myproject-*.so"))
    assert "ap_fixed<16,6>" in (project / "firmware" / "defines.h").read_text()
    record = json.loads((out / "build.json").read_text())
    assert record["check"] == {**record["check"], "n_samples": 300, "compared": 300, "mismatches": 0, "ok": True}
    assert record["metrics"]["fxsim"]["auc"] == record["metrics"]["csim"]["auc"] > 0.5
    assert record["synthesis_status"] == "not requested" and record["synthesis"] is None
    est = json.loads((out / "estimate.json").read_text())
    assert est["part"] == "xcvu9p-flga2104-2L-e" and est["clock_period"] == 4.0
    assert est["lut"] > 0 and est["dsp"] >= 0 and est["latency_cycles"] > 0 and est["ebops"] > 0
    assert est == record["estimate"]
    summary = (out / "summary.md").read_text()
    assert "0 of 300 output codes differ" in summary and "| LUT |" in summary
    cfg = yaml.safe_load((out / "hls4ml_config.yml").read_text())
    assert "gru" in cfg["LayerName"]


@pytest.mark.skipif(shutil.which("vitis-run") is not None, reason="a real Vitis is installed here")
def test_synth_without_the_vendor_tool_fails_naming_it_and_the_project(files, capsys):
    out = files[2] / "vitis"
    code = main(_argv(files, out, "--precision", "ap_fixed<12,4>", "--backend", "Vitis", "--synth"))
    assert code == 4
    cap = capsys.readouterr()
    assert "0 of 300 output codes differ" in cap.out  # the project is verified before synthesis is tried
    assert "vitis-run" in cap.err and str(out / "hls4ml_prj") in cap.err
    record = json.loads((out / "build.json").read_text())
    assert record["check"]["ok"] and record["synthesis"] is None
    assert record["synthesis_status"] == "not run: vitis-run (Vitis HLS) is not on PATH"
    assert (out / "hls4ml_prj" / "build_prj.tcl").exists()


def _renamed_config(files) -> str:
    """A complete hls4ml config of the model whose GRU layer is called something else."""
    from fxsim import emulate

    cfg = json.loads(json.dumps(emulate(str(files[0]), "ap_fixed<16,6>").hls_config))
    cfg["LayerName"]["gru_renamed"] = cfg["LayerName"].pop("gru")
    path = files[2] / "renamed.yml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.mark.parametrize("extra, message", [
    (["--precision", "ap_fixed<16,6>", "--part", "xc7no-such-part"], "unknown FPGA part 'xc7no-such-part'"),
    (["--precision", "ap_fixed<16,6>", "--clock", "0"], "clock period must be a positive number"),
    (["--precision", "ap_fixed<16,6>", "--clock", "-2.5"], "clock period must be a positive number"),
    (["--precision", "ap_fixed<16,6>", "--strategy", "Resource", "--reuse-factor", "7"], "ReuseFactor=7"),
    (["--config", "RENAMED"], "gru_renamed"),
    (["--precision", "ap_fixed<16"], "ap_fixed<16"),
])
def test_bad_input_is_named_and_nothing_is_written(files, capsys, extra, message):
    out = files[2] / "bad"
    extra = [_renamed_config(files) if a == "RENAMED" else a for a in extra]
    assert main(_argv(files, out, *extra)) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert not out.exists()


def test_unknown_part_says_how_to_give_the_resources(files, capsys):
    out = files[2] / "custom"
    assert main(_argv(files, out, "--precision", "ap_fixed<16,6>", "--part", "xc7no-such-part")) == 2
    assert "--device-resources" in capsys.readouterr().err and not out.exists()
