"""Compatibility: the aliases QKeras 0.9.0 needs on TensorFlow 2.15, and which environment a model needs.

QKeras still calls two TensorFlow internals that were renamed:
``nest.is_sequence`` (now ``is_nested``) and ``array_ops.unstack`` (used by
QGRU with ``reset_after=True``). Import this module, never ``qkeras``
directly, so the aliases are in place before QKeras loads.
"""

from __future__ import annotations


def import_qkeras():
    """Apply the aliases once and return the imported ``qkeras`` module."""
    import tensorflow as tf
    from tensorflow.python.ops import array_ops
    from tensorflow.python.util import nest

    if not hasattr(nest, "is_sequence"):
        nest.is_sequence = nest.is_nested
    if not hasattr(array_ops, "unstack"):
        array_ops.unstack = tf.unstack
    import qkeras

    return qkeras


# --- which environment a model needs ------------------------------------------------------
# fxsim keeps two environments, as hls4ml does (testing-keras2 / testing-keras3): QKeras
# and Keras 2 models need TensorFlow 2.15 (Python 3.11), Keras 3 models need Keras >= 3.10.
# A model handed to the wrong one gets an error naming the right one, read from the
# model's classes or its file's metadata, never from a failed load.

KERAS2_ENV = ".venv (Python 3.11, TensorFlow 2.15 / QKeras: pip install 'fxsim[qkeras]')"
KERAS3_ENV = ".venv-keras3 (Keras >= 3.10: pip install 'fxsim[keras3]')"


def installed_keras_major() -> int | None:
    """The major version of the installed ``keras`` distribution (no import), ``None`` if absent."""
    import sys
    from importlib import metadata

    # an imported keras names its version itself; the distribution metadata costs about a
    # millisecond per lookup, and a scan asks at every one of its conversions
    version = getattr(sys.modules.get("keras"), "__version__", None)
    if isinstance(version, str) and version.split(".")[0].isdigit():
        return int(version.split(".")[0])
    try:
        return int(metadata.version("keras").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return None


def model_keras_major(model) -> int | None:
    """2 for a Keras 2 / tf.keras / QKeras model, 3 for a Keras 3 model, ``None`` for neither."""
    for cls in type(model).__mro__:
        mod = cls.__module__
        if mod.startswith(("keras.src.engine", "keras.engine", "tf_keras", "qkeras", "tensorflow.python.keras")):
            return 2
        if mod.startswith(("keras.src.models", "keras.src.layers", "keras.src.ops")):
            return 3
    return None


def saved_keras_version(path) -> str | None:
    """The Keras version recorded in a ``.keras`` or ``.h5`` file, ``None`` when it records none."""
    import json
    import zipfile
    from pathlib import Path

    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            if "metadata.json" in z.namelist():
                return json.loads(z.read("metadata.json")).get("keras_version")
        return None
    try:
        import h5py

        with h5py.File(path, "r") as f:
            version = f.attrs.get("keras_version")
    except (ImportError, OSError):
        return None
    if isinstance(version, bytes):
        version = version.decode()
    return None if version is None else str(version)


def require_keras(model, major: int) -> None:
    """Raise ``ValueError`` unless ``model`` (live, or a saved file) belongs to Keras ``major``.

    Also raises when this environment lacks that Keras, naming the environment to use.
    """
    import os

    env = KERAS3_ENV if major == 3 else KERAS2_ENV
    if isinstance(model, (str, os.PathLike)):
        version = saved_keras_version(model) if os.path.exists(model) else None
        found = int(version.split(".")[0]) if version else None
        what = f"model file {str(model)!r} (saved by Keras {version})"
    else:
        found = model_keras_major(model)
        what = f"{type(model).__name__} model (Keras {found})"
    if found is not None and found != major:
        other = KERAS3_ENV if found == 3 else KERAS2_ENV
        raise ValueError(f"{what} is a Keras {found} model; this front-end reads Keras {major} models: "
                         f"use the Keras {found} front-end in {other}")
    have = installed_keras_major()
    if have != major:
        raise ValueError(
            f"{what if found else 'this model'} needs Keras {major}, but this environment has "
            f"{'no Keras' if have is None else f'Keras {have}'}: use {env}"
        )


def frontend_of(model) -> str:
    """Which front-end reads ``model``: ``"torch"``, ``"keras3"`` or ``"keras2"``.

    A live ``nn.Module`` or a ``.pt``/``.pth`` file is PyTorch's; a Keras 3 model or a
    file saved by Keras 3 is Keras 3's; everything else is the Keras 2 / QKeras front-end's,
    which raises ``ValueError`` naming the environment to use when this one has no Keras 2.
    """
    import os

    if isinstance(model, (str, os.PathLike)):
        path = str(model)
        if path.endswith((".pt", ".pth")):
            return "torch"
        version = saved_keras_version(path) if os.path.isfile(path) else None
        if version and version.startswith("3"):
            return "keras3"
    else:
        if model_keras_major(model) == 3:  # first: on the torch backend Keras 3 layers are nn.Modules too
            return "keras3"
        if any(f"{c.__module__}.{c.__qualname__}" == "torch.nn.modules.module.Module" for c in type(model).__mro__):
            return "torch"
    if installed_keras_major() != 2:
        require_keras(model, 2)
    return "keras2"
