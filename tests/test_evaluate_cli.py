"""``fxsim evaluate MODEL --precision SPEC --data FILE.npz [--labels KEY] [--json OUT]``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fxsim.cli import main
from tests.frontends import qmodels

pytestmark = pytest.mark.keras2

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    model = qmodels.float_dense(seed=71)
    model.save(d / "dense.h5")
    qmodels.qgru(seed=72, reset_after=False).save(d / "gru_before.h5")
    x = qmodels.inputs(71, 1000, (6,))
    y = np.random.default_rng(71).integers(0, 3, 1000)
    np.savez(d / "data.npz", x_test=x, y_test=y, extra=np.zeros(3))
    np.savez(d / "seq.npz", x=qmodels.inputs(72, 50, (8, 4)))
    bad = x.copy()
    bad[3, 2] = np.nan
    np.savez(d / "nan.npz", x=bad, y=y)
    (d / "spec.json").write_text(json.dumps({"output": {"result": "ap_fixed<16,6>"}}))
    return d


def _run(capsys, *argv):
    rc = main(["evaluate", *map(str, argv), "--no-progress"])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_prints_the_table_and_writes_json(files, capsys):
    out_json = files / "ev.json"
    rc, out, err = _run(capsys, files / "dense.h5", "--precision", files / "spec.json", "--data", files / "data.npz",
                        "--labels", "y_test", "--json", out_json)
    assert rc == 0, err
    assert "ROC AUC" in out and "class 1 accuracy" in out and "conversion doctor: no findings" in out
    doc = json.loads(out_json.read_text())
    assert doc["n_samples"] == 1000 and doc["precision"] == {"output": {"result": "ap_fixed<16,6>"}}
    assert 0 <= doc["metrics"]["hardware"]["accuracy"] <= 1


def test_type_string_inline_json_and_no_labels(files, capsys):
    rc, out, _ = _run(capsys, files / "dense.h5", "--precision", "ap_fixed<10,4>", "--data", files / "data.npz",
                      "--max-samples", 200)
    assert rc == 0 and "on 200 samples" in out and "no labels given" in out
    rc, out, _ = _run(capsys, files / "dense.h5", "--precision", '{"output": {"result": "ap_fixed<12,5>"}}',
                      "--data", files / "data.npz", "--inputs", "x_test", "--labels", "y_test")
    assert rc == 0 and "accuracy" in out


def test_refusal_exits_3_with_the_findings(files, capsys):
    out_json = files / "refused.json"
    rc, out, err = _run(capsys, files / "gru_before.h5", "--precision", "none", "--data", files / "seq.npz",
                        "--json", out_json)
    assert rc == 3 and "reset_after=False" in err and out == ""
    doc = json.loads(out_json.read_text())
    assert doc["refused"] and doc["findings"][0]["code"] == "gru-reset-before"


@pytest.mark.parametrize("argv, words", [
    (["--labels", "y"], "--labels: no array 'y'"),
    (["--inputs", "x"], "--inputs: no array 'x'"),
    (["--precision", "ap_fixed<10"], "cannot parse"),
    (["--precision", "{bad json"], "invalid JSON"),
    (["--precision", '{"gru": {"result": "ap_fixed<8,3>"}}'], "unknown layer ['gru']"),
])
def test_bad_arguments_exit_2_and_write_nothing(files, capsys, argv, words):
    out_json = files / "never.json"
    args = {"--precision": "ap_fixed<16,6>", "--labels": "y_test"}
    for k, v in zip(argv[::2], argv[1::2]):
        args[k] = v
    flat = [a for kv in args.items() for a in kv]
    rc, _, err = _run(capsys, files / "dense.h5", "--data", files / "data.npz", *flat, "--json", out_json)
    assert rc == 2 and words in err
    assert not out_json.exists()


def test_nan_data_and_missing_files_exit_2(files, capsys):
    out_json = files / "never2.json"
    rc, _, err = _run(capsys, files / "dense.h5", "--precision", "none", "--data", files / "nan.npz", "--json",
                      out_json)
    assert rc == 2 and "NaN" in err and not out_json.exists()
    rc, _, err = _run(capsys, files / "missing.h5", "--precision", "none", "--data", files / "data.npz")
    assert rc == 2 and "does not exist" in err
    rc, _, err = _run(capsys, files / "dense.h5", "--precision", "none", "--data", files / "missing.npz")
    assert rc == 2 and "no file" in err


def test_torch_module_in_the_keras2_environment_names_the_other_one(files, capsys):
    """.venv has no torch: a saved PyTorch module is refused in one line naming .venv-keras3, exit 2."""
    import importlib.util

    assert importlib.util.find_spec("torch") is None, "the keras2 environment has no torch"
    module = files / "model.pt"
    module.write_bytes(b"not read: torch is missing first")
    rc, out, err = _run(capsys, module, "--input-shape", "20,6", "--precision", "ap_fixed<16,6>",
                        "--data", files / "data.npz")
    assert rc == 2 and ".venv-keras3" in err and "Traceback" not in err + out


def test_entry_point(files):
    proc = subprocess.run([sys.executable, "-m", "fxsim.cli", "evaluate", str(files / "dense.h5"), "--precision",
                           "ap_fixed<16,6>", "--data", str(files / "data.npz"), "--labels", "y_test", "--no-progress"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "fxsim evaluate: float_dense_s71" in proc.stdout


def test_model_may_be_a_zoo_name(files, capsys, tmp_path):
    """As ``scan`` and ``diagnose``: MODEL is a file or a shipped zoo model (one resolver for all three)."""
    np.savez(tmp_path / "top.npz", x=qmodels.inputs(73, 40, (20, 6)))
    rc, out, err = _run(capsys, "toptag_gru_q8i2", "--precision", "none", "--data", tmp_path / "top.npz")
    assert rc == 0, err
    assert "on 40 samples" in out and "hardware output" in out
    rc, _, err = _run(capsys, "toptag_gru_q9i9", "--precision", "none", "--data", tmp_path / "top.npz")
    assert rc == 2 and "no zoo model of that name" in err and "toptag_gru_q8i2" in err
