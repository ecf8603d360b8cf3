"""The user's precision spec: parse, validate, and merge it into an hls4ml configuration.

A precision spec is one of

* ``None``: take what the QKeras quantizers say and the hls4ml default
  (``fixed<16,6>``) elsewhere, exactly as ``config_from_keras_model`` does;
* a type string such as ``"ap_fixed<9,3>"``: the model default precision;
* a dict of per-layer overrides in hls4ml's config shape, keyed by layer name::

      {"gru": {"accum": "ap_fixed<18,8>", "result": "ap_fixed<16,6>",
               "table_t": "ap_fixed<18,8>", "TableSize": 512}}

  Precision names (``result``, ``accum``, ``weight`` ...) may be given flat, as
  above, or under ``"Precision"``; other keys (``table_t``, ``TableSize``,
  ``ReuseFactor`` ...) are direct layer keys, as in hls4ml;
* a partial hls4ml config (``{"LayerName": {...}}`` and/or ``{"LayerType": {...}}``
  without ``"Model"``), merged into the generated one;
* a complete hls4ml config (it has a ``"Model"`` section), used as given: what
  ``hls4ml.utils.config_from_keras_model`` returns, before or after
  ``convert_from_keras_model`` used it (hls4ml adds ``Model['BitExact']``).

hls4ml owns the configuration: a layer key is accepted when hls4ml 1.3.0 reads it,
which is read from hls4ml's own attribute registry (every configurable attribute of
every layer class of the Vivado and Vitis backends, :func:`hls4ml_keys`) plus the few
keys ``ModelGraph`` reads outside it. Values pass to hls4ml unchanged. A key no hls4ml
code reads, an unknown layer name, or a malformed or too-wide type raises
``ValueError`` naming it; the caller's dict is never modified. Nothing here imports
TensorFlow; hls4ml (light, no TensorFlow) is imported the first time keys are checked.
"""

from __future__ import annotations

import copy
import difflib
import functools
from numbers import Integral
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fxsim.fixed import FixedType

#: Sections ``convert_from_keras_model`` passes on (``converters/__init__.py``, ``_check_hls_config``).
CONFIG_SECTIONS = ("Model", "LayerName", "LayerType", "Flows", "Optimizers", "SkipOptimizers")
#: ``Model`` keys hls4ml 1.3.0 reads (``model/graph.py`` ``_parse_hls_config``, ``converters/__init__.py``,
#: the ``bit_exact`` and ``convert_to_channels_last`` passes) or that ``config_from_keras_model`` writes.
MODEL_KEYS = frozenset({
    "Precision", "ReuseFactor", "Strategy", "BramFactor", "TraceOutput", "BitExact", "TargetCycles",
    "ConvImplementation", "Compression", "PipelineStyle", "PipelineInterval", "ChannelsLastConversion",
    "TransposeOutputs", "AllowDAFallback", "AllowV2Fallback",
})
#: Precision names ``config_from_keras_model`` writes from QKeras quantizers (``<name>_quantizer`` in
#: ``converters/keras/qkeras.py``; ``activation`` becomes ``result``), beside the registry's type names.
QUANTIZER_PRECISIONS = frozenset({
    "weight", "bias", "recurrent_weight", "depthwise", "pointwise", "accum", "result", "mean", "variance", "beta",
    "gamma",
})
#: Precision keys hls4ml 1.3.0 emits but never reads (the ``*_t`` direct keys work): doctor warnings.
IGNORED_PRECISION_KEYS = {
    "table": "table_t", "exp_table": "exp_table_t", "inv_table": "inv_table_t", "inv_inp": "inv_inp_t",
}
#: Strategies ``ModelGraph`` accepts (``convert_to_snake_case`` of the value).
STRATEGIES = ("latency", "resource", "resource_unrolled", "distributed_arithmetic")
#: Layer keys (snake_case) hls4ml reads outside the attribute registry: ``model/graph.py`` (strategy,
#: target cycles, compression) and the Vivado softmax template (``exp_table_size``/``inv_table_size``).
_GRAPH_LAYER_KEYS = {
    "strategy": ("choice", STRATEGIES), "target_cycles": ("count", ()), "compression": ("int", ()),
    "exp_table_size": ("count", ()), "inv_table_size": ("count", ()),
}

#: hls4ml options ``emulate``/``evaluate`` accept, with their meaning.
HLS4ML_OPTIONS = {
    "backend": "hls4ml backend, 'Vivado' (default) or 'Vitis'",
    "io_type": "'io_parallel' (default)",
    "strategy": "'Latency' (default) or 'Resource', for every layer",
    "reuse_factor": "reuse factor for every layer (default 1)",
    "default_precision": "the model default type when the precision spec does not set it",
    "max_precision": "cap on auto-inferred precisions (Model Precision 'maximum')",
    "part": "FPGA part (no effect on the arithmetic)",
    "clock_period": "clock period (no effect on the arithmetic)",
    "project_name": "hls4ml project name",
}


@dataclass(frozen=True)
class Hls4mlKeys:
    """The layer keys hls4ml 1.3.0 reads, from its attribute registry.

    Attributes
    ----------
    settings : dict
        snake_case key → ``(kind, choices)``; kind is ``"count"`` (positive integer),
        ``"int"``, ``"bool"``, ``"choice"`` or ``"any"``.
    types : frozenset
        names of the type attributes without ``_t`` (``result``, ``accum``, ``table``,
        ``forward_weight`` ...): valid ``Precision`` names and ``<name>_t`` keys.
    """

    settings: dict
    types: frozenset

    @property
    def precision_names(self) -> frozenset:
        return self.types | QUANTIZER_PRECISIONS | {"default"}


@functools.cache
def hls4ml_keys() -> Hls4mlKeys:
    """Every configurable attribute of every hls4ml layer class, as the backends fxsim emulates build them."""
    from hls4ml.backends import get_backend
    from hls4ml.model.attributes import ChoiceAttribute, TypeAttribute
    from hls4ml.model.layers import layer_map
    from hls4ml.utils.string_utils import convert_to_snake_case

    settings: dict[str, tuple] = dict(_GRAPH_LAYER_KEYS)
    types: set[str] = set()
    for backend in ("Vivado", "Vitis"):
        make = get_backend(backend).create_layer_class
        for cls in layer_map.values():
            for attr in make(cls).expected_attributes:
                if not attr.configurable:
                    continue
                name = convert_to_snake_case(attr.config_name)
                if isinstance(attr, TypeAttribute):
                    types.add(attr.name[:-2])
                elif isinstance(attr, ChoiceAttribute):
                    settings.setdefault(name, ("choice", tuple(attr.choices)))
                elif attr.value_type is bool:
                    settings.setdefault(name, ("bool", ()))
                elif attr.value_type in (Integral, int):
                    count = name.endswith(("reuse_factor", "table_size", "parallelization_factor"))
                    settings.setdefault(name, ("count" if count else "int", ()))
                else:
                    settings.setdefault(name, ("any", ()))
    return Hls4mlKeys(settings, frozenset(types))


def _snake(key: str) -> str:
    from hls4ml.utils.string_utils import convert_to_snake_case

    return convert_to_snake_case(key)


@dataclass(frozen=True)
class PrecisionSpec:
    """A validated precision spec (a private copy: the caller's dict is never touched).

    Attributes
    ----------
    kind : str
        ``"quantizers"`` (None), ``"default"`` (a type string), ``"layers"`` (per-layer
        dict or partial config) or ``"config"`` (a complete hls4ml config).
    default : str or None
        the model default type string, if the spec sets one.
    layers : dict
        per-layer overrides, normalised to hls4ml's layer-config shape.
    layer_types : dict
        per-layer-type overrides (``LayerType``), same shape.
    config : dict or None
        the complete hls4ml config (kind ``"config"`` only).
    """

    kind: str
    default: str | None = None
    layers: dict[str, dict] = field(default_factory=dict)
    layer_types: dict[str, dict] = field(default_factory=dict)
    config: dict | None = None


def check_type(value: Any, where: str, allow_auto: bool = True) -> str:
    """Validate one type string (``'auto'`` allowed where hls4ml allows it); return it unchanged."""
    if allow_auto and isinstance(value, str) and value.strip().lower() == "auto":
        return value
    if not isinstance(value, str):
        raise ValueError(f"{where}: a precision must be a type string such as 'ap_fixed<16,6>', got {value!r}")
    try:
        FixedType.parse(value)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    return value


def parse_precision(spec: Any) -> PrecisionSpec:
    """Parse and validate a precision spec (see the module docstring).

    Layer names are checked later, against the model, by :func:`merge_config`.
    """
    if isinstance(spec, PrecisionSpec):
        return spec
    if spec is None:
        return PrecisionSpec("quantizers")
    if isinstance(spec, str):
        return PrecisionSpec("default", default=check_type(spec, "precision", allow_auto=False))
    if isinstance(spec, FixedType):
        return PrecisionSpec("default", default=str(spec))
    if not isinstance(spec, Mapping):
        raise ValueError(
            f"precision must be None, a type string, a per-layer dict or an hls4ml config; got {type(spec).__name__}"
        )
    spec = copy.deepcopy(dict(spec))
    if "Model" in spec:
        return _parse_full_config(spec)
    if "LayerName" in spec or "LayerType" in spec:
        extra = set(spec) - {"LayerName", "LayerType"}
        if extra:
            raise ValueError(
                f"precision dict mixes hls4ml config sections with other keys {sorted(extra)}; "
                "use either {'LayerName': {...}} or {layer_name: {...}}"
            )
        return PrecisionSpec("layers", layers=_entries(spec, "LayerName"), layer_types=_entries(spec, "LayerType"))
    return PrecisionSpec("layers", layers={name: normalize_layer_entry(name, entry) for name, entry in spec.items()})


def _entries(spec: Mapping, name: str) -> dict:
    section = spec.get(name, {}) or {}
    if not isinstance(section, Mapping):
        raise ValueError(f"precision[{name!r}] must be a dict of layer entries, got {type(section).__name__}")
    return {layer: normalize_layer_entry(layer, entry) for layer, entry in section.items()}


def normalize_layer_entry(layer: str, entry: Any) -> dict:
    """Turn one layer's overrides into hls4ml's layer-config shape, validating every key.

    A bare type string sets the layer's ``Precision`` default (hls4ml's
    ``LayerName: {name: {Precision: 'ap_fixed<..>'}}``), which then replaces every
    generated precision of that layer when merged; flat precision names move
    under ``Precision``; every other key must be one hls4ml reads and stays as given.
    """
    where = f"precision[{layer!r}]"
    if not isinstance(layer, str) or not layer:
        raise ValueError(f"layer names in the precision dict must be non-empty strings, got {layer!r}")
    if isinstance(entry, str):
        return {"Precision": {"default": check_type(entry, where, allow_auto=False)}}
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where} must be a type string or a dict of settings, got {type(entry).__name__}")
    names = hls4ml_keys().precision_names
    out: dict[str, Any] = {}
    precision: dict[str, str] = {}
    for key, value in entry.items():
        if key == "Precision":
            if isinstance(value, str):
                precision["default"] = check_type(value, f"{where}['Precision']")
                continue
            if not isinstance(value, Mapping):
                raise ValueError(f"{where}['Precision'] must be a type string or a dict, got {type(value).__name__}")
            for pkey, pval in value.items():
                _check_precision_name(pkey, names, where)
                precision[pkey] = check_type(pval, f"{where}['Precision'][{pkey!r}]")
        elif key in names:
            precision[key] = check_type(value, f"{where}[{key!r}]")
        else:
            out[key] = check_setting(key, value, where)
    if precision:
        out["Precision"] = precision
    return out


def _unknown(what: str, key: Any, known: Iterable[str], where: str) -> ValueError:
    close = difflib.get_close_matches(str(key), sorted(known), n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return ValueError(f"{where}: unknown {what} {key!r} (no hls4ml 1.3.0 code reads it){hint}")


def _check_precision_name(key: Any, names: frozenset, where: str) -> None:
    if key not in names:
        raise _unknown("precision name", key, names, where)


def check_setting(key: Any, value: Any, where: str) -> Any:
    """Validate one direct layer key (``TableSize``, ``table_t``, ``TimeStepLoopParallelism`` ...) and its value.

    hls4ml reads a layer key by its snake_case name (``TableSize`` and ``table_size``
    are the same attribute); the value's check follows the attribute's definition.
    """
    keys = hls4ml_keys()
    snake = _snake(key) if isinstance(key, str) else ""
    if snake.endswith("_t") and snake[:-2] in keys.types:
        return check_type(value, f"{where}[{key!r}]", allow_auto=False)
    if snake not in keys.settings:
        known = [*keys.settings, *(f"{t}_t" for t in keys.types)]
        raise _unknown("setting", key, known, where)
    kind, choices = keys.settings[snake]
    if kind == "count" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{where}[{key!r}] must be a positive integer, got {value!r}")
    if kind == "int" and not isinstance(value, int):
        raise ValueError(f"{where}[{key!r}] must be an integer, got {value!r}")
    if kind == "bool" and not isinstance(value, bool):
        raise ValueError(f"{where}[{key!r}] must be True or False, got {value!r}")
    if kind == "choice":
        fold = _snake(value) if isinstance(value, str) else None
        if fold not in {_snake(c) for c in choices}:
            raise ValueError(f"{where}[{key!r}] must be one of {list(choices)}, got {value!r}")
    return value


def _parse_full_config(spec: dict) -> PrecisionSpec:
    model = spec["Model"]
    if not isinstance(model, Mapping):
        raise ValueError(f"precision['Model'] must be a dict, got {type(model).__name__}")
    unknown = set(model) - MODEL_KEYS
    if unknown:
        raise ValueError(f"precision['Model']: unknown keys {sorted(unknown)}; "
                         f"hls4ml 1.3.0 reads: {sorted(MODEL_KEYS)}")
    for key in ("ReuseFactor", "Strategy", "TargetCycles", "ConvImplementation"):
        if model.get(key) is not None:
            check_setting(key, model[key], "precision['Model']")
    mprec = model.get("Precision")
    default = None
    if isinstance(mprec, str):
        default = check_type(mprec, "precision['Model']['Precision']", allow_auto=False)
    elif isinstance(mprec, Mapping):
        for key, value in mprec.items():
            _check_precision_name(key, hls4ml_keys().precision_names | {"maximum"}, "precision['Model']")
            check_type(value, f"precision['Model']['Precision'][{key!r}]", allow_auto=False)
        default = mprec.get("default")
    elif mprec is not None:
        raise ValueError("precision['Model']['Precision'] must be a type string or a dict")
    if default is None:
        raise ValueError("a complete hls4ml config needs Model Precision 'default' (a type string)")
    extra = set(spec) - set(CONFIG_SECTIONS)
    if extra:
        raise ValueError(f"hls4ml config: unknown top-level keys {sorted(extra)}; hls4ml reads {list(CONFIG_SECTIONS)}")
    layers, types = _entries(spec, "LayerName"), _entries(spec, "LayerType")
    config = {key: value for key, value in spec.items() if key not in ("LayerName", "LayerType")}
    if layers:
        config["LayerName"] = layers
    if types:
        config["LayerType"] = types
    return PrecisionSpec("config", default=default, layers=layers, layer_types=types, config=config)


def check_options(options: Mapping[str, Any]) -> dict:
    """Validate the hls4ml options ``emulate``/``evaluate`` pass on; unknown names raise."""
    unknown = sorted(set(options) - set(HLS4ML_OPTIONS))
    if unknown:
        listing = "; ".join(f"{k}: {v}" for k, v in HLS4ML_OPTIONS.items())
        raise ValueError(f"unknown hls4ml option(s) {unknown}; supported: {listing}")
    out = dict(options)
    if "default_precision" in out:
        check_type(out["default_precision"], "default_precision", allow_auto=False)
    if "max_precision" in out and out["max_precision"] is not None:
        check_type(out["max_precision"], "max_precision", allow_auto=False)
    if "reuse_factor" in out:
        rf = out["reuse_factor"]
        if isinstance(rf, bool) or not isinstance(rf, int) or rf < 1:
            raise ValueError(f"reuse_factor must be a positive integer, got {rf!r}")
    if "strategy" in out:
        check_setting("Strategy", out["strategy"], "strategy")
    if "backend" in out and str(out["backend"]).lower() not in ("vivado", "vitis"):
        raise ValueError(f"backend must be 'Vivado' or 'Vitis' (the backends fxsim emulates), got {out['backend']!r}")
    if "io_type" in out and out["io_type"] not in ("io_parallel", "io_stream"):
        raise ValueError(f"io_type must be 'io_parallel' or 'io_stream', got {out['io_type']!r}")
    return out


def merge_config(
    spec: PrecisionSpec,
    generated: Mapping,
    layer_names: Iterable[str],
    layer_classes: Iterable[str] = (),
    options: Mapping[str, Any] | None = None,
) -> dict:
    """The hls4ml config to convert with: ``spec`` applied to ``generated``.

    Parameters
    ----------
    spec : the parsed precision spec.
    generated : what ``config_from_keras_model(model, granularity='name', backend=...)``
        returned for the model (with the model default already applied).
    layer_names : the names hls4ml knows for this model (the keys of the generated
        ``LayerName``, which include split activations such as ``dense_softmax``).
    layer_classes : hls4ml class names of the model's layers, for ``LayerType`` keys.
    options : validated hls4ml options (``strategy``, ``reuse_factor`` are applied here).

    Raises
    ------
    ValueError : a layer name or layer type the model does not have.
    """
    names = list(layer_names)
    _check_names(spec.layers, names, "layer")
    if spec.layer_types:
        _check_names(spec.layer_types, list(layer_classes), "layer type")
    options = dict(options or {})
    if spec.kind == "config":
        config = copy.deepcopy(spec.config)
    else:
        config = copy.deepcopy(dict(generated))
        layer_cfg = config.setdefault("LayerName", {})
        for name, entry in spec.layers.items():
            _merge_entry(layer_cfg.setdefault(name, {}), entry)
        if spec.layer_types:
            type_cfg = config.setdefault("LayerType", {})
            for name, entry in spec.layer_types.items():
                _merge_entry(type_cfg.setdefault(name, {}), entry)
    model_cfg = config.setdefault("Model", {})
    if "strategy" in options:
        model_cfg["Strategy"] = options["strategy"]
        for entry in config.get("LayerName", {}).values():
            if "Strategy" in entry:
                entry["Strategy"] = options["strategy"]
    if "reuse_factor" in options:
        # generated per-layer ReuseFactor entries would shadow the model-level one
        model_cfg["ReuseFactor"] = options["reuse_factor"]
        for entry in config.get("LayerName", {}).values():
            for key in ("ReuseFactor", "RecurrentReuseFactor"):
                if key in entry:
                    entry[key] = options["reuse_factor"]
    return config


def _check_names(entries: Mapping[str, Any], known: list[str], what: str) -> None:
    unknown = [n for n in entries if n not in known]
    if unknown:
        raise ValueError(
            f"precision names unknown {what}{'s' if len(unknown) > 1 else ''} {unknown}; "
            f"this model's {what}s are: {', '.join(known)}"
        )


def _merge_entry(target: dict, entry: Mapping) -> None:
    for key, value in entry.items():
        if key == "Precision":
            prec = target.get("Precision")
            if "default" in value or not isinstance(prec, dict):
                # A layer default only takes effect once the generated per-name entries
                # (result/accum/weight ... = 'auto' or quantizer types) are gone.
                prec = {}
                target["Precision"] = prec
            prec.update(value)
        else:
            target[key] = value
