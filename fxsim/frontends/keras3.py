"""Keras 3 front-end: a Keras >= 3.10 model plus a precision spec → hls4ml's keras-v3 conversion.

hls4ml 1.3.0's ``convert_from_keras_model`` and ``config_from_keras_model`` dispatch
to its keras-v3 parser when Keras 3 is installed, so the conversion itself is
:func:`fxsim.frontends.keras.convert` (one rule for configuration, precision spec and
options); this module adds what differs for Keras 3: loading ``.keras`` files with
Keras 3, checking that the model and the environment are Keras 3 (an error names the
environment to use otherwise), and what hls4ml's keras-v3 parser refuses.

Converted: ``LSTM``, ``GRU`` (``reset_after=True``, Keras 3's default; hls4ml 1.3.0
computes ``reset_after=False`` wrong, see :mod:`fxsim.kernels.recurrent`), ``Dense``
and the activation layers around them, and ``Bidirectional(LSTM)`` with
``merge_mode='concat'``. hls4ml's keras-v3 parser fails on ``Bidirectional(GRU)`` with
a bias (it never splits the GRU bias), which :func:`convert` names first. Keras and
hls4ml are imported inside the functions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fxsim.compat import KERAS3_ENV, require_keras
from fxsim.frontends.keras import Conversion, HLS4MLError

#: The oldest Keras 3 whose models hls4ml 1.3.0's keras-v3 parser is tested with.
MIN_KERAS = (3, 10)


def import_keras3():
    """``keras`` (>= 3.10), or an ``ImportError`` naming the environment that has it."""
    # Keras 3 defaults to the TensorFlow backend; this environment has torch (an explicit
    # KERAS_BACKEND wins, and it only matters before keras is first imported)
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError as err:
        raise ImportError(f"Keras 3 models need Keras >= 3.10, which this environment lacks: use {KERAS3_ENV}") from err
    version = tuple(int(p) for p in keras.__version__.split(".")[:2])
    if version < MIN_KERAS:
        raise ImportError(
            f"Keras 3 models need Keras >= {'.'.join(map(str, MIN_KERAS))}; this environment has Keras "
            f"{keras.__version__}: use {KERAS3_ENV}"
        )
    return keras


def load_model(model: Any):
    """A live Keras 3 model, or one loaded from a ``.keras`` (or plain ``.h5``) file with Keras 3.

    Raises
    ------
    FileNotFoundError : the path does not exist.
    ValueError : a Keras 2 / QKeras model or file, or a Keras 3 file in an environment
        without Keras 3 (each naming the environment to use), or not a Keras model.
    """
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.exists():
            raise FileNotFoundError(f"model file {str(path)!r} does not exist")
        if path.suffix not in (".keras", ".h5", ".hdf5"):
            raise ValueError(f"model file {str(path)!r}: expected a .keras (or .h5) file")
        require_keras(path, 3)
        try:
            keras = import_keras3()
        except ImportError as err:  # the file is fine, this environment is the wrong one: a usage error
            raise ValueError(f"model file {str(path)!r} was saved by Keras 3: {err}") from err
        try:
            return keras.saving.load_model(str(path), compile=False)
        except Exception as err:
            raise ValueError(f"cannot load Keras 3 model {str(path)!r}: {type(err).__name__}: {err}") from err
    require_keras(model, 3)
    if not (hasattr(model, "layers") and hasattr(model, "get_config")):
        raise ValueError(f"model must be a Keras 3 model or a path to a .keras file, got {type(model).__name__}")
    return model


def static_findings(model: Any) -> list[tuple[str, str, str]]:
    """What hls4ml's keras-v3 parser refuses, or fxsim does not emulate: ``[(layer, class, reason)]``."""
    found = []
    for layer in model.layers:
        cls = type(layer).__name__
        if getattr(layer, "return_state", False):
            found.append((layer.name, cls, "return_state=True: hls4ml's keras-v3 parser refuses it"))
        if cls == "GRU" and not layer.reset_after:
            found.append((layer.name, cls, "reset_after=False: hls4ml 1.3.0 compiles it but computes it wrong"))
        if cls in ("LSTM", "GRU") and getattr(layer, "go_backwards", False):
            found.append((layer.name, cls, "go_backwards=True: hls4ml's recurrent parser ignores it"))
        if cls == "Bidirectional":
            found += _bidirectional_findings(layer)
        if cls == "SimpleRNN":
            found.append((layer.name, cls, "SimpleRNN: hls4ml converts it, fxsim does not emulate it"))
    return found


def _bidirectional_findings(layer: Any) -> list[tuple[str, str, str]]:
    cls = type(layer).__name__
    found = []
    for wrapped in (layer.forward_layer, layer.backward_layer):
        if type(wrapped).__name__ == "GRU" and wrapped.use_bias:
            # keras_v3/recurrent.py tests isinstance(rnn_layer.cell, keras.layers.GRU), never true for a
            # GRUCell: the (2, 3n) bias is not split and the recurrent bias is left unset
            found.append((layer.name, cls, "Bidirectional(GRU(use_bias=True)): hls4ml's keras-v3 parser does not "
                                           "split the GRU bias and fails (AttributeError); use the Keras 2 "
                                           "environment, or GRU(use_bias=False)"))
            break
    if layer.merge_mode != "concat":
        found.append((layer.name, cls, f"merge_mode={layer.merge_mode!r}: hls4ml 1.3.0's bidirectional_stack "
                                       "always concatenates, writing past an output sized for one direction; "
                                       "fxsim emulates merge_mode='concat' only"))
    return found


def convert(model: Any, precision: Any = None, output_dir: str | os.PathLike | None = None,
            **options: Any) -> Conversion:
    """Convert a Keras 3 model with hls4ml (its keras-v3 parser) under a precision spec.

    Parameters and result as :func:`fxsim.frontends.keras.convert`.

    Raises
    ------
    ValueError : a Keras 2 model or file, or a Keras 2 environment (naming the one to use);
        a malformed spec.
    HLS4MLError : hls4ml rejects the model; ``return_state`` and ``go_backwards`` are named first.
    """
    from fxsim.frontends import keras as keras2

    import_keras3()
    model = load_model(model)
    refused = [f for f in static_findings(model) if "hls4ml's" in f[2]]
    if refused:
        raise HLS4MLError("hls4ml rejects the model: " + "; ".join(f"{n} ({c}): {r}" for n, c, r in refused))
    return keras2.convert(model, precision, output_dir, **options)
