"""PyTorch front-end: an ``nn.Module`` plus a precision spec → hls4ml's pytorch conversion.

The same job as :mod:`fxsim.frontends.keras` for PyTorch: :func:`convert` builds the
configuration hls4ml builds (``config_from_pytorch_model(module, input_shape,
granularity='name', backend=...)``), applies the precision spec
(:mod:`fxsim.precision`) and converts with ``convert_from_pytorch_model``,
returning a :class:`TorchConversion` (a :class:`~fxsim.frontends.keras.Conversion`),
so :func:`fxsim.from_hls4ml` and everything after it serve both front-ends.

hls4ml traces the module with ``torch.fx``; its converter takes ``nn.GRU`` /
``nn.LSTM`` with ``batch_first=True``, one layer, one direction, no dropout, with
or without initial-state inputs ``h0`` (and ``c0``), and always returns only the
last hidden state. A module it cannot trace, or a recurrent setting it refuses,
raises :class:`~fxsim.frontends.keras.HLS4MLError` naming the module and the reason.
torch and hls4ml are imported inside the functions, never at module import.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fxsim.frontends.keras import Conversion, HLS4MLError, _json_clean
from fxsim.precision import merge_config, parse_precision, check_options

#: The environment that has PyTorch (README: ``./run.sh`` creates it).
TORCH_ENV = ".venv-keras3 (pip install 'fxsim[torch]', Python 3.11-3.13)"

#: hls4ml class names of the torch modules its pytorch converter maps (for ``LayerType`` keys).
HLS4ML_CLASS = {"Linear": "Dense", "GRU": "GRU", "LSTM": "LSTM", "RNN": "SimpleRNN"}


def import_torch():
    """``torch``, or an ``ImportError`` that says which environment has it."""
    try:
        import torch
    except ImportError as err:
        raise ImportError(
            f"the PyTorch front-end needs torch, which this environment ({sys.prefix}) lacks; "
            f"use {TORCH_ENV}"
        ) from err
    return torch


def is_torch_module(obj: Any) -> bool:
    """True for a live ``torch.nn.Module`` (checked without importing torch)."""
    return any(f"{c.__module__}.{c.__qualname__}" == "torch.nn.modules.module.Module" for c in type(obj).__mro__)


def load_module(module: Any):
    """A live ``nn.Module``, or one saved whole with ``torch.save(module, path)``.

    hls4ml traces the module's Python ``forward`` with ``torch.fx``, so the saved form
    must be the pickled module itself (its class importable where it is loaded), not a
    ``state_dict`` and not TorchScript (``torch.jit``), which ``torch.fx`` cannot trace.

    Raises
    ------
    FileNotFoundError : the path does not exist.
    ValueError : not an ``nn.Module``, a TorchScript module, or a file that holds neither.
    """
    torch = import_torch()
    if isinstance(module, (str, os.PathLike)):
        path = Path(module)
        if not path.exists():
            raise FileNotFoundError(f"module file {str(path)!r} does not exist")
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=False)
        except Exception as err:
            raise ValueError(
                f"cannot load PyTorch module {str(path)!r}: {type(err).__name__}: {err} "
                "(save the whole module with torch.save(module, path); its class must be importable)"
            ) from err
        if isinstance(obj, dict):
            raise ValueError(
                f"{str(path)!r} holds a state_dict, not a module; hls4ml needs the module itself: "
                "save it with torch.save(module, path)"
            )
        module = obj
    if isinstance(module, torch.jit.ScriptModule):
        raise ValueError(
            f"{type(module).__name__} is a TorchScript module; hls4ml's converter traces Python modules with "
            "torch.fx, which cannot trace TorchScript: pass the nn.Module (or torch.save(module, path))"
        )
    if not isinstance(module, torch.nn.Module):
        raise ValueError(
            f"expected a torch.nn.Module or a path to one saved with torch.save, got {type(module).__name__}"
        )
    return module.eval()


def input_shapes(module: Any, input_shape: Any) -> list[tuple[int, ...]]:
    """The input shapes hls4ml converts with, without the batch axis.

    ``input_shape`` is ``(T, F)`` for a module taking ``x`` only, or a list
    ``[(T, F), (H,)]`` / ``[(T, F), (H,), (H,)]`` when ``forward`` also takes ``h0``
    (and ``c0``, for an LSTM).

    Raises
    ------
    ValueError : ``input_shape`` missing or malformed.
    """
    if input_shape is None:
        raise ValueError(
            f"input_shape is required for a PyTorch module ({type(module).__name__}): a torch module does not "
            "record its input size; pass input_shape=(T, F) (time steps, features), or a list with the "
            "initial-state shapes [(T, F), (H,)] when forward takes h0 (and c0)"
        )
    shapes = list(input_shape)
    if shapes and all(isinstance(d, (int, np.integer)) for d in shapes):
        shapes = [tuple(shapes)]
    out = []
    for shape in shapes:
        try:
            dims = tuple(int(d) for d in shape)
        except (TypeError, ValueError):
            raise ValueError(f"input_shape {input_shape!r}: each shape must be a tuple of positive integers") from None
        if not dims or any(d < 1 for d in dims):
            raise ValueError(f"input_shape {input_shape!r}: each shape must be a tuple of positive integers")
        out.append(dims)
    return out


def static_findings(module: Any) -> list[tuple[str, str, str]]:
    """What hls4ml's pytorch converter refuses in ``module``: ``[(module name, class, reason)]``.

    These are the settings its ``parse_rnn_layer`` raises on (or crashes on), so the
    user hears the module and the setting instead of hls4ml's bare exception.
    """
    torch = import_torch()
    found = []
    for name, sub in module.named_modules():
        if not isinstance(sub, torch.nn.RNNBase):
            continue
        cls = type(sub).__name__
        where = name or "<root>"
        if not sub.batch_first:
            found.append((where, cls, "batch_first=False: hls4ml only converts batch_first=True"))
        if sub.num_layers > 1:
            found.append((where, cls, f"num_layers={sub.num_layers}: hls4ml converts one layer (stack single-layer "
                                      "modules instead)"))
        if sub.bidirectional:
            found.append((where, cls, "bidirectional=True: hls4ml's pytorch converter refuses it"))
        if sub.dropout > 0:
            found.append((where, cls, f"dropout={sub.dropout}: hls4ml refuses recurrent dropout"))
        if not sub.bias:
            found.append((where, cls, "bias=False: hls4ml 1.3.0's converter reads bias_ih_l0 and fails without it"))
        if getattr(sub, "proj_size", 0):
            found.append((where, cls, f"proj_size={sub.proj_size}: hls4ml has no projected LSTM"))
        if isinstance(sub, torch.nn.RNN):
            found.append((where, cls, "nn.RNN (SimpleRNN): hls4ml converts it, fxsim does not emulate SimpleRNN"))
    return found


def _innermost_module(tb) -> str:
    """Name and class of the innermost ``nn.Module.forward`` frame in a traceback."""
    torch = sys.modules.get("torch")
    where = ""
    while tb is not None and torch is not None:
        obj = tb.tb_frame.f_locals.get("self")
        if isinstance(obj, torch.nn.Module):
            where = f"{type(obj).__name__} (in {tb.tb_frame.f_code.co_name}, line {tb.tb_lineno})"
        tb = tb.tb_next
    return where


def trace(module: Any):
    """Trace ``module`` with hls4ml's own ``torch.fx`` tracer (what its converter does first).

    Raises
    ------
    HLS4MLError : the module cannot be traced, naming the module and the reason.
    """
    import_torch()
    from hls4ml.utils.torch import CustomFXTracer

    try:
        return CustomFXTracer().trace(module)
    except Exception as err:
        where = _innermost_module(err.__traceback__) or type(module).__name__
        raise HLS4MLError(
            f"hls4ml cannot trace module {where} with torch.fx: {type(err).__name__}: {err} "
            "(data-dependent control flow, in-place tensor edits and non-torch calls in forward stop it)"
        ) from None


def _check_convertible(module: Any) -> None:
    errors = [f for f in static_findings(module) if "fxsim does not emulate" not in f[2]]
    if errors:
        raise HLS4MLError("hls4ml rejects the module: " + "; ".join(f"{n} ({c}): {r}" for n, c, r in errors))


def generated_config(module: Any, shapes: list[tuple[int, ...]], default: str = "fixed<16,6>",
                     backend: str = "Vivado", max_precision: str | None = None) -> dict:
    """``config_from_pytorch_model(module, shapes, granularity='name', backend=backend)`` as plain JSON."""
    import hls4ml

    trace(module)
    shapes = _channels_first(shapes)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            cfg = hls4ml.utils.config_from_pytorch_model(
                module, shapes if len(shapes) > 1 else shapes[0], granularity="name", backend=backend,
                default_precision=default, max_precision=max_precision,
                channels_last_conversion="internal",
            )
    except Exception as err:
        raise HLS4MLError(f"hls4ml cannot parse module {type(module).__name__}: {type(err).__name__}: {err}") from err
    return _json_clean(cfg)


def _channels_first(shapes: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """hls4ml's input shapes for PyTorch's batch_first ``(T, F)`` inputs.

    hls4ml's pytorch converter takes shapes channels first, ``(F, T)``. With
    ``ChannelsLastConversion: internal`` it turns the input variable into ``(T, F)``
    without a Transpose layer, so the array the C simulation reads is PyTorch's
    ``(N, T, F)``, and the recurrent C++ takes ``n_sequence``/``n_in`` from that
    variable; Linear weights are transposed to hls4ml's ``(n_in, n_out)``. (With the
    default ``full`` a Transpose of the input swaps T and F before the GRU/LSTM.)
    """
    return [tuple(s[1:]) + tuple(s[:1]) if len(s) > 1 else tuple(s) for s in shapes]


def _hls4ml_classes(module: Any) -> list[str]:
    return sorted({HLS4ML_CLASS.get(type(m).__name__, type(m).__name__) for m in module.modules()})


@dataclass
class TorchConversion(Conversion):
    """One hls4ml conversion of a PyTorch module (``keras_model`` holds the module).

    ``input_shape`` is what the module was converted with (without the batch axis),
    one shape per input of ``forward``.
    """

    input_shape: tuple = ()

    @property
    def module(self) -> Any:
        return self.keras_model

    def config_hash(self) -> str:
        return conversion_hash(self.keras_model, self.config, self.options, self.input_shape)


def conversion_hash(module: Any, config: dict, options: dict, shapes: Any = ()) -> str:
    """Hash of the module's structure and weights, the configuration, options and input shapes."""
    h = hashlib.sha256()
    h.update(repr(module).encode())
    for key, value in module.state_dict().items():
        h.update(key.encode())
        h.update(np.ascontiguousarray(value.detach().cpu().numpy()).tobytes())
    h.update(json.dumps(config, sort_keys=True).encode())
    h.update(json.dumps(_json_clean(options), sort_keys=True).encode())
    h.update(json.dumps([list(s) for s in shapes]).encode())
    return h.hexdigest()[:16]


def convert(module: Any, precision: Any = None, input_shape: Any = None,
            output_dir: str | os.PathLike | None = None, **options: Any) -> TorchConversion:
    """Convert a PyTorch module with hls4ml under a precision spec.

    Parameters
    ----------
    module : a live ``nn.Module`` or a path to one saved with ``torch.save(module, path)``.
    precision : ``None``, a type string, a per-layer dict, or an hls4ml config
        (see :mod:`fxsim.precision`); layer names are hls4ml's (the ``torch.fx`` node names).
    input_shape : ``(T, F)``, or ``[(T, F), (H,)[, (H,)]]`` with initial states (required).
    output_dir : where hls4ml would write the project; nothing is written here.
    **options : hls4ml options, as for :func:`fxsim.frontends.keras.convert`.

    Raises
    ------
    ValueError : a malformed spec or input shape, unknown layer names.
    HLS4MLError : hls4ml cannot trace or refuses the module, naming the module and the reason.
    """
    import hls4ml

    module = load_module(module)
    shapes = input_shapes(module, input_shape)
    _check_convertible(module)
    options = check_options(options)
    spec = parse_precision(precision)
    backend = options.get("backend", "Vivado")
    default = spec.default or options.get("default_precision", "fixed<16,6>")
    generated = generated_config(module, shapes, default, backend, options.get("max_precision"))
    names = list(generated.get("LayerName", {}))
    config = _json_clean(merge_config(spec, generated, names, _hls4ml_classes(module), options))
    # hls4ml reads InputShape as a tuple (one input) or a list of tuples (JSON made it lists)
    hls_shapes = _channels_first(shapes)
    config["InputShape"] = hls_shapes[0] if len(shapes) == 1 else hls_shapes
    if output_dir is None:
        output_dir = Path(tempfile.gettempdir()) / "fxsim-hls4ml" / conversion_hash(module, config, options, shapes)
    kwargs = {k: v for k, v in options.items() if k in ("backend", "io_type", "part", "clock_period", "project_name")}
    kwargs.setdefault("backend", "Vivado")
    kwargs.setdefault("io_type", "io_parallel")
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            hls_model = hls4ml.converters.convert_from_pytorch_model(
                module, hls_config=copy.deepcopy(config), output_dir=str(output_dir), **kwargs
            )
    except Exception as err:
        raise HLS4MLError(
            f"hls4ml cannot convert module {type(module).__name__}: {type(err).__name__}: {err}"
        ) from err
    return TorchConversion(module, hls_model, config, generated, spec, dict(kwargs, **options), buf.getvalue(),
                           input_shape=tuple(shapes))


def float_predict(module: Any, inputs: list[np.ndarray]) -> np.ndarray:
    """The module's float32 output on a batch: ``module(x)`` or ``module(x, h0[, c0])``.

    ``inputs`` are as ``hls_model.predict`` takes them, ``(n, *shape)`` each; an initial
    state ``(n, H)`` is handed to PyTorch as ``(1, n, H)`` (``(num_layers, N, H)``, what
    ``nn.GRU`` / ``nn.LSTM`` take).
    """
    torch = import_torch()
    args = []
    for i, a in enumerate(inputs):
        t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
        args.append(t.unsqueeze(0) if i > 0 and t.ndim == 2 else t)
    with torch.no_grad():
        out = module(*args)
    if isinstance(out, (tuple, list)):
        out = out[0]
    return out.detach().cpu().numpy().reshape(len(inputs[0]), -1)
