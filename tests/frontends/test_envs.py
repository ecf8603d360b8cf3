"""Which environment a model needs: errors name it (runs in both environments, no Keras import needed)."""

from __future__ import annotations

import json
import zipfile

import pytest

from fxsim.compat import installed_keras_major, require_keras, saved_keras_version


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
