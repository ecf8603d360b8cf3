"""Keras/QKeras front-end: a model plus a precision spec → hls4ml's conversion.

This is the one place where a user's Keras model, precision spec and hls4ml
options meet hls4ml: :func:`convert` builds the configuration hls4ml would
build (``config_from_keras_model(model, granularity='name', backend=...)``),
applies the spec (:mod:`fxsim.precision`) and converts, returning the
``ModelGraph`` with the exact configuration that produced it; it is the only
caller of ``convert_from_keras_model`` (the checked pipeline in :mod:`fxsim.pipeline`
and the C-simulation builds in :mod:`fxsim.csim` both go through it), and
:func:`conversion_key` is the one hash of a conversion. This module knows nothing
of the doctor. TensorFlow, QKeras and hls4ml are imported inside the functions,
never at module import.

It also holds the Keras-side helpers the rest of fxsim needs: loading a saved
model with the QKeras custom objects, the float twin of a QKeras model, and the
seed study's workaround twin (:func:`quantized_twin`).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fxsim._memo import BoundedMemo
from fxsim.jsonio import jsonable
from fxsim.precision import PrecisionSpec, check_options, merge_config, parse_precision

#: QKeras layer classes and their float Keras counterparts.
QKERAS_FLOAT_CLASS = {
    "QDense": "Dense",
    "QLSTM": "LSTM",
    "QGRU": "GRU",
    "QSimpleRNN": "SimpleRNN",
    "QActivation": "Activation",
    "QConv1D": "Conv1D",
    "QConv2D": "Conv2D",
    "QBatchNormalization": "BatchNormalization",
    "QBidirectional": "Bidirectional",
}
_FLOAT_ACTIVATION = {
    "quantized_relu": "relu",
    "quantized_tanh": "tanh",
    "quantized_sigmoid": "sigmoid",
    "quantized_bits": "linear",
    "binary": "linear",
    "ternary": "linear",
}


class HLS4MLError(ValueError):
    """hls4ml itself rejected or failed to convert the model (not a mistake in the call)."""


@dataclass
class Conversion:
    """One hls4ml conversion of a Keras/QKeras model, and how it was configured.

    Attributes
    ----------
    keras_model : the Keras model that was converted.
    hls_model : hls4ml's ``ModelGraph`` (not written or compiled).
    config : the hls4ml configuration passed to ``convert_from_keras_model``
        (``Model`` / ``LayerName`` sections, plain JSON-able values).
    generated : what ``config_from_keras_model`` produced before the spec was applied.
    spec : the parsed precision spec.
    options : ``backend``, ``io_type`` and the other hls4ml options used.
    log : what hls4ml printed during the conversion.
    """

    keras_model: Any
    hls_model: Any
    config: dict
    generated: dict
    spec: PrecisionSpec
    options: dict = field(default_factory=dict)
    log: str = ""

    @property
    def backend(self) -> str:
        return self.options.get("backend", "Vivado")

    @property
    def io_type(self) -> str:
        return self.options.get("io_type", "io_parallel")

    def config_hash(self) -> str:
        """:func:`conversion_key` of this conversion (architecture, weights, configuration, backend, I/O type)."""
        return conversion_key(self.keras_model, self.config, self.backend, self.io_type)

    def layer_types(self) -> dict[str, dict[str, str]]:
        """The final types of every converted layer, read from the ``ModelGraph``.

        ``{layer: {"result_t": "fixed<16,6,TRN,WRAP,0>", "accum_t": ..., "table_t": ...,
        "table_size": 1024, "class": "GRU"}}``; the input layer's entry is its ``result_t``.
        """
        out: dict[str, dict[str, Any]] = {}
        for layer in self.hls_model.get_layers():
            entry: dict[str, Any] = {"class": layer.class_name}
            for name, var_type in layer.types.items():
                if name == "index_t":
                    continue
                entry[name] = str(var_type.precision)
            entry["result_t"] = str(layer.get_output_variable().type.precision)
            size = layer.get_attr("table_size")
            if size is not None:
                entry["table_size"] = int(size)
            out[layer.name] = entry
        return out


def load_model(model: Any):
    """A live Keras model, or one loaded from a ``.h5``/``.keras`` path with QKeras objects.

    Raises
    ------
    FileNotFoundError : the path does not exist.
    ValueError : neither a Keras model nor a ``.h5``/``.keras``/SavedModel path.
    """
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.exists():
            raise FileNotFoundError(f"model file {str(path)!r} does not exist")
        if not (path.suffix in (".h5", ".hdf5", ".keras") or path.is_dir()):
            raise ValueError(f"model file {str(path)!r}: expected a .h5 or .keras file (or a SavedModel folder)")
        from fxsim.compat import import_qkeras

        qkeras = import_qkeras()
        import tensorflow as tf

        custom: dict[str, Any] = {}
        qkeras.utils._add_supported_quantized_objects(custom)
        try:
            return tf.keras.models.load_model(str(path), custom_objects=custom, compile=False)
        except Exception as err:  # TF raises many types; name the file and the cause
            hint = ""
            if path.suffix == ".keras":
                hint = ("; QKeras 0.9.0 layers (QActivation, QGRU, QLSTM ...) cannot be restored from the "
                        ".keras format on TF 2.15: save QKeras models with model.save('name.h5')")
            raise ValueError(f"cannot load Keras model {str(path)!r}: {type(err).__name__}: {err}{hint}") from err
    if not (hasattr(model, "layers") and hasattr(model, "get_config") and hasattr(model, "predict")):
        raise ValueError(f"model must be a Keras model or a path to a .h5/.keras file, got {type(model).__name__}")
    return model


def is_quantized(model: Any) -> bool:
    """True if any layer is a QKeras layer."""
    return any(type(layer).__name__ in QKERAS_FLOAT_CLASS for layer in model.layers)


def input_shape(model: Any) -> tuple[int, ...]:
    """The model's input shape without the batch axis (one input only)."""
    shapes = model.input_shape
    if isinstance(shapes, list):
        if len(shapes) != 1:
            raise ValueError(f"fxsim handles single-input models; this one has {len(shapes)} inputs")
        shapes = shapes[0]
    dims = tuple(shapes[1:])
    if any(d is None for d in dims):
        raise ValueError(f"the model's input shape {tuple(shapes)} has a free dimension; hls4ml needs fixed shapes")
    return tuple(int(d) for d in dims)


@contextlib.contextmanager
def quiet_stdout() -> Iterator[io.StringIO]:
    """Capture what hls4ml and QKeras print (a line per layer) into the yielded buffer."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        yield buf


_json_clean = jsonable  # the name other front-ends import


#: :func:`generated_config` results by (architecture JSON, backend, max_precision), newest last. A scan
#: converts one model at hundreds of precisions; this spares hls4ml's re-parse of the model each time.
_GENERATED_SIZE = 64  # configs are small; a scan of many architectures still hits
_GENERATED = BoundedMemo(_GENERATED_SIZE)  # JSON text: cheaper to copy than deepcopy


def generated_config(model: Any, default: str = "fixed<16,6>", backend: str = "Vivado",
                     max_precision: str | None = None, *, arch: str | None = None) -> dict:
    """``config_from_keras_model(model, granularity='name', backend=backend)`` as plain JSON.

    Under Keras 2 hls4ml builds this config from ``json.loads(model.to_json())`` alone
    (layer names, classes, activations and quantizer configs; the weights it also reads
    do not enter the config), and hls4ml 1.3.0 writes ``default_precision`` into one key
    only, ``Model.Precision.default`` (utils/config.py: the layer entries are built from
    the layer classes' attributes and the quantizers). So the result is remembered by that
    JSON (``arch``, when the caller already has it), the backend and ``max_precision``,
    and a later call for the same architecture at any default returns a copy with that
    default in its one place, without re-parsing (tests/frontends/test_generated_config_defaults.py
    holds it to a fresh ``config_from_keras_model`` for every zoo model at varied defaults).
    Under Keras 3 hls4ml reads the live model and every call asks it again.

    Raises ``ValueError`` naming the layer when hls4ml rejects the model.
    """
    import hls4ml

    key = None
    if _parses_json():
        key = (model.to_json() if arch is None else arch, backend, max_precision)
        text = _GENERATED.get(key)
        if text is not None:
            cfg = json.loads(text)  # a fresh copy (the config is plain JSON)
            cfg["Model"]["Precision"]["default"] = _json_clean(default)
            return cfg
    try:
        with quiet_stdout():
            cfg = hls4ml.utils.config_from_keras_model(
                model, granularity="name", backend=backend, default_precision=default, max_precision=max_precision
            )
    except AssertionError as err:
        raise HLS4MLError(f"hls4ml rejects the model: {err or 'assertion failed'}") from err
    except Exception as err:
        raise HLS4MLError(f"hls4ml cannot parse the model: {err}") from err
    cfg = _json_clean(cfg)
    if key is not None:
        _GENERATED.put(key, json.dumps(cfg))
    return cfg


def _parses_json() -> bool:
    """Whether hls4ml parses a Keras model from its ``to_json()`` (Keras 2; hls4ml's own test, utils/config.py)."""
    import keras

    return not keras.__version__ > "3.0"


def hls4ml_config(model: Any, precision: Any = None, *, arch: str | None = None,
                  **options: Any) -> tuple[dict, dict, PrecisionSpec, dict]:
    """Resolve a precision spec (or an already parsed :class:`~fxsim.precision.PrecisionSpec`) into the
    hls4ml config for ``model``.

    Returns ``(config, generated, spec, options)``. ``model`` must already be loaded;
    ``arch``: its ``to_json()`` when the caller has it (see :func:`generated_config`).
    """
    options = check_options(options)
    spec = parse_precision(precision)
    backend = options.get("backend", "Vivado")
    default = spec.default or options.get("default_precision", "fixed<16,6>")
    generated = generated_config(model, default, backend, options.get("max_precision"), arch=arch)
    names = list(generated.get("LayerName", {}))
    # hls4ml's graph holds the layer a TimeDistributed wraps under its own name, and honours its LayerName entry
    names += [layer.layer.name for layer in model.layers
              if type(layer).__name__ == "TimeDistributed" and layer.layer.name not in names]
    classes = sorted({_hls4ml_class(layer) for layer in model.layers})
    config = merge_config(spec, generated, names, classes, options)
    return _json_clean(config), generated, spec, options


def _hls4ml_class(layer: Any) -> str:
    name = type(layer).__name__
    return {"InputLayer": "Input"}.get(name, name)


#: Bump to invalidate every cached build (:mod:`fxsim.csim`) when what a key covers changes
#: (2: the weights enter as their digest, so a :class:`Snapshot` gives the same key).
KEY_VERSION = 2


@dataclass(frozen=True)
class Snapshot:
    """What every conversion of one unchanging Keras model reads of it, read once.

    A scan converts one model at hundreds of precisions (:class:`fxsim.analysis.study.Study`);
    its architecture JSON (about 0.5 ms per ``to_json()``, and hls4ml's converter calls it
    again), the digest of its weights (about 1 ms: every variable read back from
    TensorFlow) and the weights hls4ml's converter reads are the same at each. Holding a
    snapshot is a promise that the model is not changed (trained, rebuilt) while it is
    used; :func:`snapshot` takes a new one.

    Attributes
    ----------
    model : Any
        the Keras model it was taken of (a conversion of another model refuses it).
    arch : str
        ``model.to_json()``.
    weights : str
        hex SHA-256 of the weights' dtypes, shapes and bytes, in ``get_weights()`` order.
    variables : dict
        ``{layer name: ((variable name, value), ...)}``: each layer's ``weights`` as
        numpy arrays, what hls4ml's Keras 2 reader takes of them (:class:`_SnapshotModel`).
    """

    model: Any = field(repr=False, compare=False)
    arch: str
    weights: str
    variables: dict = field(default_factory=dict, repr=False, compare=False)


def snapshot(model: Any) -> Snapshot:
    """A :class:`Snapshot` of a live Keras 2 / QKeras model."""
    variables = {layer.name: tuple((w.name, np.array(w.numpy())) for w in layer.weights) for layer in model.layers}
    return Snapshot(model, model.to_json(), _weights_digest(model), variables)


class _StoredVariable:
    """A variable as hls4ml's ``KerasModelReader`` reads it: its ``name`` and a fresh copy from ``numpy()``."""

    def __init__(self, name: str, value: np.ndarray):
        self.name = name
        self._value = value

    def numpy(self) -> np.ndarray:
        return self._value.copy()  # as TensorFlow's: the caller may write into it


class _SnapshotLayer:
    """A top-level layer whose ``weights`` come from the snapshot; everything else is the layer's."""

    def __init__(self, layer: Any, variables: tuple):
        self._layer = layer
        self.weights = [_StoredVariable(name, value) for name, value in variables]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._layer, name)


class _SnapshotModel:
    """The model as hls4ml 1.3.0's Keras 2 converter reads it, answered from a :class:`Snapshot`.

    ``convert_from_keras_model`` reads ``model.to_json()`` and, for each layer,
    ``model.get_layer(name).weights`` (``KerasModelReader``); this view answers both from
    the snapshot, so a scan's conversions do not serialise the architecture and read every
    variable back from TensorFlow each time. Everything else (nested models, wrapped
    layers) is the model's own.
    """

    def __init__(self, snap: Snapshot):
        self._snap = snap

    def to_json(self, **kwargs: Any) -> str:
        return self._snap.model.to_json(**kwargs) if kwargs else self._snap.arch

    def get_layer(self, name: str | None = None, index: int | None = None) -> Any:
        layer = self._snap.model.get_layer(name, index)
        variables = self._snap.variables.get(layer.name)
        return layer if variables is None else _SnapshotLayer(layer, variables)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._snap.model, name)


def _weights_digest(model: Any) -> str:
    h = hashlib.sha256()
    for w in model.get_weights():
        w = np.ascontiguousarray(w)
        h.update(f"{w.dtype}{w.shape}".encode())
        h.update(w.tobytes())
    return h.hexdigest()


def _check_snapshot(model: Any, snap: Snapshot | None) -> None:
    if snap is not None and snap.model is not model:
        raise ValueError("this snapshot was taken of another model; take one of the model converted "
                         "(fxsim.frontends.keras.snapshot)")


def conversion_key(model: Any, config: dict, backend: str = "Vivado", io_type: str = "io_parallel",
                   trace: bool = False, *, arch: str | None = None, snap: Snapshot | None = None,
                   **project: Any) -> str:
    """The one hash of a conversion: hls4ml version, backend, I/O type, tracing, architecture, weights, config.

    Names the project folder of a conversion and keys the C-simulation build cache.
    ``project``: keywords that shape only the written project (``part``, ``clock_period``);
    they get a key of their own. ``arch``: ``model.to_json()`` when the caller has it;
    ``snap``: a :class:`Snapshot` of ``model`` (its architecture and weights digest).
    """
    import hls4ml

    _check_snapshot(model, snap)
    if snap is not None:
        arch = snap.arch
    h = hashlib.sha256()
    h.update(f"fxsim-csim {KEY_VERSION} hls4ml {hls4ml.__version__} {backend} {io_type} trace={trace}".encode())
    h.update((model.to_json() if arch is None else arch).encode())
    # the digest of the weights' bytes, so a key from a snapshot is the key without one
    h.update((_weights_digest(model) if snap is None else snap.weights).encode())
    h.update(json.dumps(config, sort_keys=True, default=str).encode())
    key = h.hexdigest()[:24]
    if project:  # the key builds without them had, so those caches stay valid
        key = hashlib.sha256(f"{key} {sorted(project.items())}".encode()).hexdigest()[:24]
    return key


def convert(model: Any, precision: Any = None, output_dir: str | os.PathLike | None = None, *,
            trace: bool = False, snap: Snapshot | None = None, **options: Any) -> Conversion:
    """Convert a Keras/QKeras model with hls4ml under a precision spec.

    Parameters
    ----------
    model : a live Keras/QKeras model or a path to ``.h5``/``.keras``.
    precision : ``None``, a type string, a per-layer dict, or an hls4ml config
        (see :mod:`fxsim.precision`).
    output_dir : where hls4ml would write the project; nothing is written here.
        Defaults to a folder under the system temp directory named by :func:`conversion_key`.
    trace : turn on ``Trace`` for every layer (what a traced C-simulation build needs); the
        recorded ``config`` stays the one without it.
    snap : a :class:`Snapshot` of ``model`` (a live model), for the many conversions of a scan.
    **options : hls4ml options (``backend``, ``io_type``, ``strategy``, ``reuse_factor``,
        ``default_precision``, ``max_precision``, ``part``, ``clock_period``, ``project_name``).

    Raises
    ------
    ValueError : malformed spec or unknown layer names.
    HLS4MLError : hls4ml rejects the model (a ``ValueError`` too).
    """
    import hls4ml

    model = load_model(model)
    _check_snapshot(model, snap)
    # once: the generated config's memo and the default folder's conversion key both read it
    if snap is not None:
        arch = snap.arch
    else:
        arch = model.to_json() if _parses_json() or output_dir is None else None
    config, generated, spec, options = hls4ml_config(model, precision, arch=arch, **options)
    kwargs = {k: v for k, v in options.items() if k in ("backend", "io_type", "part", "clock_period", "project_name")}
    kwargs.setdefault("backend", "Vivado")
    kwargs.setdefault("io_type", "io_parallel")
    if output_dir is None:
        key = conversion_key(model, config, kwargs["backend"], kwargs["io_type"], trace, arch=arch, snap=snap)
        output_dir = Path(tempfile.gettempdir()) / "fxsim-hls4ml" / key
    hls_config = copy.deepcopy(config)  # hls4ml writes into the dict it is given (Model['BitExact'])
    if trace:
        for entry in hls_config.get("LayerName", {}).values():
            entry["Trace"] = True
    try:
        with quiet_stdout() as log:
            hls_model = hls4ml.converters.convert_from_keras_model(
                model if snap is None else _SnapshotModel(snap), hls_config=hls_config,
                output_dir=str(output_dir), **kwargs
            )
    except AssertionError as err:
        raise HLS4MLError(f"hls4ml rejects the model: {err or 'assertion failed'}") from err
    except Exception as err:
        raise HLS4MLError(f"hls4ml cannot convert the model: {type(err).__name__}: {err}") from err
    if trace:
        hls_model.config.trace_output = True
    return Conversion(model, hls_model, config, generated, spec, dict(kwargs, **options), log.getvalue())


# --- float twins ------------------------------------------------------------------------


def _float_activation(act: Any) -> Any:
    """The float Keras activation behind a QKeras activation quantizer (config or string)."""
    if act is None:
        return "linear"
    if isinstance(act, dict):
        name = act.get("class_name", "")
    else:
        name = str(act).split("(")[0].strip()
    if name in _FLOAT_ACTIVATION:
        return _FLOAT_ACTIVATION[name]
    if name.startswith("quantized_") or name in ("binary", "ternary", "stochastic_binary", "stochastic_ternary"):
        raise ValueError(f"no float counterpart for QKeras activation {name!r}")
    return act


def _float_layer_config(layer_cfg: dict) -> dict:
    cls = layer_cfg["class_name"]
    out = copy.deepcopy(layer_cfg)
    if cls not in QKERAS_FLOAT_CLASS:
        return out
    out["class_name"] = QKERAS_FLOAT_CLASS[cls]
    out["module"] = "keras.layers"
    out.pop("registered_name", None)
    conf = out["config"]
    for key in list(conf):
        if "quantizer" in key or key.endswith("_range") or key == "kernel_quantizer":
            conf.pop(key)
    for key, value in list(conf.items()):
        if not (isinstance(value, dict) and str(value.get("module", "")).startswith("qkeras")):
            continue
        if key.endswith("_initializer") and value.get("class_name") == "QInitializer":
            conf[key] = value["config"]["initializer"]  # QKeras's wrapper around a Keras initializer
        elif key.endswith("_constraint"):
            conf[key] = None  # QKeras's auto-range Clip: training only, not part of inference
    for key in ("activation", "recurrent_activation"):
        if key in conf:
            conf[key] = _float_activation(conf[key])
    return out


def float_twin(model: Any):
    """The float Keras model with the same architecture and the same (raw) weights.

    QDense → Dense, QLSTM → LSTM, QGRU → GRU, QActivation(q) → Activation of q's
    float function (``quantized_relu`` → relu, ``quantized_bits`` → linear ...). For a
    model without QKeras layers this is a clone with the same weights.
    """
    import tensorflow as tf

    model = load_model(model)
    cfg = model.get_config()
    cfg = copy.deepcopy(cfg)
    if "layers" not in cfg:
        raise ValueError("float_twin needs a Sequential or functional Keras model")
    cfg["layers"] = [_float_layer_config(layer) for layer in cfg["layers"]]
    if isinstance(model, tf.keras.Sequential):
        twin = tf.keras.Sequential.from_config(cfg)
    else:
        twin = tf.keras.Model.from_config(cfg)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            twin.get_layer(layer.name).set_weights(weights)
    return twin


def quantized_weights(model: Any) -> dict[str, list[np.ndarray]]:
    """``qkeras.utils.model_save_quantized_weights`` output, without touching ``model``.

    QKeras's function overwrites the model's weights in place; this runs it on a clone.
    Layers without quantizers keep their weights.
    """
    from fxsim.compat import import_qkeras

    qkeras = import_qkeras()
    import tensorflow as tf

    model = load_model(model)
    custom: dict[str, Any] = {}
    qkeras.utils._add_supported_quantized_objects(custom)
    with tf.keras.utils.custom_object_scope(custom):
        clone = tf.keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    with quiet_stdout():
        saved = qkeras.utils.model_save_quantized_weights(clone)
    out = {}
    for layer in model.layers:
        if layer.name in saved:
            out[layer.name] = [np.asarray(w) for w in saved[layer.name]["weights"]]
    return out


def quantized_twin(model: Any):
    """The seed study's workaround: the float twin carrying QKeras's quantized weights.

    hls4ml 1.3.0 writes QLSTM/QGRU weights from the raw float kernels and floors them
    to the quantizer's type, and ignores ``alpha`` on recurrent kernels, so the
    hardware's weights are not the ones QKeras trained with. Copying the output of
    ``qkeras.utils.model_save_quantized_weights`` into the float twin and converting
    that twin puts QKeras's values into the hardware. Convert the twin with a
    precision whose weight types hold those values exactly (e.g. the default
    ``ap_fixed<16,6>`` for 8-bit quantizers); the activations are then float-typed
    Keras activations at the precision you give.
    """
    twin = float_twin(model)
    for name, weights in quantized_weights(model).items():
        twin.get_layer(name).set_weights(weights)
    return twin
