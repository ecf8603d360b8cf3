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
* a complete hls4ml config (it has a ``"Model"`` section), used as given.

Everything is validated before hls4ml sees it: an unknown layer name, an
unknown key or a malformed or too-wide type raises ``ValueError`` naming it.
Nothing here imports TensorFlow or hls4ml.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fxsim.fixed import FixedType

#: Names hls4ml reads through ``Precision`` (``get_precision``) or emits there.
PRECISION_KEYS = frozenset(
    {
        "default", "result", "accum", "weight", "bias", "recurrent_weight", "recurrent_bias",
        "table", "exp_table", "inv_table", "inv_inp", "scale", "maximum",
    }
)
#: Precision keys hls4ml 1.3.0 emits but never reads (the ``*_t`` direct keys work).
IGNORED_PRECISION_KEYS = {
    "table": "table_t", "exp_table": "exp_table_t", "inv_table": "inv_table_t", "inv_inp": "inv_inp_t",
}

#: Direct (non-type) layer keys and a check for their values.
_INT_KEYS = ("TableSize", "table_size", "ReuseFactor", "RecurrentReuseFactor", "exp_table_size", "inv_table_size")
_BOOL_KEYS = ("Static", "Trace", "Skip")
_STR_KEYS = {
    "Strategy": ("latency", "resource", "resource_unrolled", "distributed_arithmetic"),
    "Implementation": ("stable", "latency", "legacy", "argmax"),
}
_MODEL_KEYS = frozenset({"Precision", "ReuseFactor", "Strategy", "BramFactor", "TraceOutput"})

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
class PrecisionSpec:
    """A validated precision spec.

    Attributes
    ----------
    kind : ``"quantizers"`` (None), ``"default"`` (a type string), ``"layers"`` (per-layer
        dict or partial config) or ``"config"`` (a complete hls4ml config).
    default : the model default type string, if the spec sets one.
    layers : per-layer overrides, normalised to hls4ml's layer-config shape.
    layer_types : per-layer-type overrides (``LayerType``), same shape.
    config : the complete hls4ml config (kind ``"config"`` only).
    """

    kind: str
    default: str | None = None
    layers: dict[str, dict] = field(default_factory=dict)
    layer_types: dict[str, dict] = field(default_factory=dict)
    config: dict | None = None

    def user_layer_entries(self) -> dict[str, dict]:
        """Every layer entry the user wrote (``LayerName`` entries), normalised."""
        if self.kind == "config":
            return {k: v for k, v in (self.config or {}).get("LayerName", {}).items()}
        return dict(self.layers)


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
        layers = {name: normalize_layer_entry(name, entry) for name, entry in _section(spec, "LayerName").items()}
        types = {name: normalize_layer_entry(name, entry) for name, entry in _section(spec, "LayerType").items()}
        return PrecisionSpec("layers", layers=layers, layer_types=types)
    layers = {name: normalize_layer_entry(name, entry) for name, entry in spec.items()}
    return PrecisionSpec("layers", layers=layers)


def _section(spec: Mapping, name: str) -> dict:
    section = spec.get(name, {}) or {}
    if not isinstance(section, Mapping):
        raise ValueError(f"precision[{name!r}] must be a dict of layer entries, got {type(section).__name__}")
    return dict(section)


def normalize_layer_entry(layer: str, entry: Any) -> dict:
    """Turn one layer's overrides into hls4ml's layer-config shape, validating every key.

    A bare type string sets the layer's ``Precision`` default (hls4ml's
    ``LayerName: {name: {Precision: 'ap_fixed<..>'}}``), which then replaces every
    generated precision of that layer when merged; flat precision names move
    under ``Precision``; ``*_t`` keys and the known direct keys stay direct.
    """
    where = f"precision[{layer!r}]"
    if not isinstance(layer, str) or not layer:
        raise ValueError(f"layer names in the precision dict must be non-empty strings, got {layer!r}")
    if isinstance(entry, str):
        return {"Precision": {"default": check_type(entry, where, allow_auto=False)}}
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where} must be a type string or a dict of settings, got {type(entry).__name__}")
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
                _check_precision_key(pkey, where)
                precision[pkey] = check_type(pval, f"{where}['Precision'][{pkey!r}]")
        elif key in PRECISION_KEYS:
            precision[key] = check_type(value, f"{where}[{key!r}]")
        elif isinstance(key, str) and key.endswith("_t"):
            out[key] = check_type(value, f"{where}[{key!r}]", allow_auto=False)
        else:
            out[key] = _check_direct(key, value, where)
    if precision:
        out["Precision"] = precision
    return out


def _check_precision_key(key: Any, where: str) -> None:
    if key not in PRECISION_KEYS:
        raise ValueError(
            f"{where}: unknown precision name {key!r}; known: {', '.join(sorted(PRECISION_KEYS))}"
        )


def _check_direct(key: Any, value: Any, where: str) -> Any:
    if key in _INT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{where}[{key!r}] must be a positive integer, got {value!r}")
        return value
    if key in _BOOL_KEYS:
        if not isinstance(value, bool):
            raise ValueError(f"{where}[{key!r}] must be True or False, got {value!r}")
        return value
    if key in _STR_KEYS:
        if not isinstance(value, str) or value.lower() not in _STR_KEYS[key]:
            raise ValueError(f"{where}[{key!r}] must be one of {_STR_KEYS[key]}, got {value!r}")
        return value
    known = sorted(PRECISION_KEYS) + sorted(_INT_KEYS + _BOOL_KEYS + tuple(_STR_KEYS)) + ["<name>_t"]
    raise ValueError(f"{where}: unknown setting {key!r}; known: {', '.join(known)}")


def _parse_full_config(spec: dict) -> PrecisionSpec:
    model = spec["Model"]
    if not isinstance(model, Mapping):
        raise ValueError(f"precision['Model'] must be a dict, got {type(model).__name__}")
    unknown = set(model) - _MODEL_KEYS
    if unknown:
        raise ValueError(f"precision['Model']: unknown keys {sorted(unknown)}; known: {sorted(_MODEL_KEYS)}")
    mprec = model.get("Precision")
    default = None
    if isinstance(mprec, str):
        default = check_type(mprec, "precision['Model']['Precision']", allow_auto=False)
    elif isinstance(mprec, Mapping):
        for key, value in mprec.items():
            _check_precision_key(key, "precision['Model']")
            check_type(value, f"precision['Model']['Precision'][{key!r}]", allow_auto=False)
        default = mprec.get("default")
    elif mprec is not None:
        raise ValueError("precision['Model']['Precision'] must be a type string or a dict")
    if default is None:
        raise ValueError("a complete hls4ml config needs Model Precision 'default' (a type string)")
    extra = set(spec) - {"Model", "LayerName", "LayerType"}
    if extra:
        raise ValueError(f"hls4ml config: unknown top-level keys {sorted(extra)}")
    layers = {n: normalize_layer_entry(n, e) for n, e in _section(spec, "LayerName").items()}
    types = {n: normalize_layer_entry(n, e) for n, e in _section(spec, "LayerType").items()}
    config = {"Model": dict(model)}
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
        _check_direct("Strategy", out["strategy"], "strategy")
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
