"""Which environment a model needs: errors name it (runs in both environments, no Keras import needed)."""

from __future__ import annotations

import json
import zipfile

import pytest

from fxsim.compat import installed_keras_major, require_keras, saved_keras_version

pytestmark = pytest.mark.core


def _keras_file(path, version: str):
    """A ``.keras`` archive as Keras writes it (metadata.json records the Keras version)."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": version, "date_saved": "2026-12-01@10:00:00"}))
        z.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {"layers": []}}))
    return path


def test_saved_version_read_from_metadata(tmp_path):
    assert saved_keras_version(_keras_file(tmp_path / "a.keras", "3.11.0")) == "3.11.0"


def test_wrong_file_for_front_end_names_environment(tmp_path):
    k3 = _keras_file(tmp_path / "k3.keras", "3.11.0")
    k2 = _keras_file(tmp_path / "k2.keras", "2.15.0")
    with pytest.raises(ValueError, match=r"saved by Keras 3\.11\.0.*use the Keras 3 front-end in \.venv-keras3"):
        require_keras(k3, 2)
    with pytest.raises(ValueError,
                       match=r"saved by Keras 2\.15\.0.*use the Keras 2 front-end in \.venv \(Python 3\.11"):
        require_keras(k2, 3)


def test_missing_keras_names_environment(tmp_path):
    """The front-end whose Keras this environment lacks says which environment has it."""
    have = installed_keras_major()
    want = 2 if have == 3 else 3
    env = r"\.venv \(Python 3\.11" if want == 2 else r"\.venv-keras3"
    f = _keras_file(tmp_path / "m.keras", f"{want}.15.0")
    with pytest.raises(ValueError, match=rf"needs Keras {want}.*use {env}"):
        require_keras(f, want)


def test_keras3_front_end_in_keras2_environment(tmp_path):
    if installed_keras_major() == 3:
        pytest.skip("Keras 3 environment: the refusal is tested where Keras 2 is installed")
    from fxsim.frontends import keras3

    with pytest.raises((ImportError, ValueError), match=r"\.venv-keras3"):
        keras3.load_model(_keras_file(tmp_path / "m.keras", "3.11.0"))


def test_torch_front_end_without_torch():
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch installed here")
    from fxsim.frontends import torch as ft

    with pytest.raises(ImportError, match=r"\.venv-keras3"):
        ft.convert(object(), input_shape=(5, 3))



def test_a_model_file_for_the_other_environment_is_refused_naming_it(tmp_path, capsys):
    """Through the public faces: ``fxsim.emulate``/``fxsim.doctor`` raise, ``fxsim evaluate`` exits 2, each
    naming the environment whose Keras saved the file."""
    import re

    import numpy as np

    import fxsim
    from fxsim.cli import main

    other = 2 if installed_keras_major() == 3 else 3
    env = r"\.venv \(Python 3\.11" if other == 2 else r"\.venv-keras3"
    path = _keras_file(tmp_path / "other.keras", f"{other}.15.0")
    for face in (fxsim.emulate, fxsim.doctor):
        with pytest.raises(ValueError, match=env):
            face(path, "ap_fixed<16,6>")
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 5, 3)))
    assert main(["evaluate", str(path), "--precision", "ap_fixed<16,6>", "--data", str(tmp_path / "d.npz"),
                 "--no-progress"]) == 2
    assert re.search(env, capsys.readouterr().err)

# --- the markers that say where a test runs (tests/conftest.py), checked on a scratch test tree ---

_MODULES = {
    "test_unmarked.py": "def test_a():\n    pass\n",
    "test_core_skips_tf.py": ("import pytest\n\ntf = pytest.importorskip('tensorflow')\n"
                              "pytestmark = pytest.mark.core\n\n\ndef test_a():\n    pass\n"),
    "test_core_imports_torch.py": ("import pytest\n\npytestmark = pytest.mark.core\n\n\n"
                                   "def test_a():\n    import torch  # noqa: F401\n\n\n"
                                   "@pytest.mark.torch\ndef test_b():\n    pass\n\n\ndef test_c():\n    pass\n"),
    "test_needs_torch.py": "import pytest\n\npytestmark = pytest.mark.torch\n\n\ndef test_a():\n    pass\n",
    "test_core_and_data.py": ("import pytest\n\npytestmark = [pytest.mark.core, pytest.mark.data]\n\n\n"
                              "def test_a():\n    pass\n"),
}


def _scratch_run(tmp_path, *args: str) -> str:
    """``pytest`` with this repository's conftest on a scratch ``tests/`` tree; its report."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    tests = tmp_path / "tests"
    tests.mkdir(exist_ok=True)
    (tests / "__init__.py").write_text("")
    shutil.copy(Path(__file__).resolve().parents[1] / "conftest.py", tests / "conftest.py")
    for name, text in _MODULES.items():
        (tests / name).write_text(text)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    core\n    keras2\n    keras3\n    torch\n    data\n")
    import os

    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-ra",
                          *args], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "COLUMNS": "250"})
    return run.stdout + run.stderr


def test_every_module_declares_its_environment_and_core_tests_import_no_framework(tmp_path):
    out = _scratch_run(tmp_path, "--fxsim-env", "", "--continue-on-collection-errors", "tests")
    assert "fxsim environment: core, nothing else; tests needing keras2, keras3, torch, data are not collected" in out
    assert "test_unmarked.py declares no environment: add a module-level pytestmark" in out
    assert "test_core_and_data.py: pytestmark says core (needs nothing) and ['data']; keep one" in out
    # the silent skip this prevents: importorskip of TensorFlow in a core module
    assert ("tests.test_core_skips_tf imports tensorflow in a test marked core: mark the test or its module "
            "keras2 (pytestmark); such tests run in .venv") in out
    assert ("FAILED tests/test_core_imports_torch.py::test_a - Failed: tests.test_core_imports_torch imports "
            "torch") in out
    assert "1 failed, 1 passed, 1 deselected, 3 errors" in out  # test_b needs torch; test_needs_torch not collected


def test_a_module_asked_for_by_path_where_its_needs_are_missing_is_skipped_with_where_it_runs(tmp_path):
    out = _scratch_run(tmp_path, "--fxsim-env", "", "tests/test_needs_torch.py")
    assert "tests/test_needs_torch.py needs torch: runs in .venv-keras3" in out and "1 skipped" in out


def test_an_environment_claiming_a_need_it_lacks_is_an_error(tmp_path):
    import importlib.util

    absent = next((n for n, m in (("torch", "torch"), ("keras2", "tensorflow"), ("data", "pythia8mc"))
                   if importlib.util.find_spec(m) is None), None)
    assert absent, "each environment lacks torch, TensorFlow or pythia8mc"
    out = _scratch_run(tmp_path, "--fxsim-env", absent, "tests/test_needs_torch.py")
    assert f"--fxsim-env says this environment provides {absent}, but its packages are not installed" in out
    assert "unknown need(s) ['cuda']" in _scratch_run(tmp_path, "--fxsim-env", "cuda", "tests")
