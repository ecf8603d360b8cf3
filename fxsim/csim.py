"""The bridge to hls4ml's C simulation: convert, compile (hls4ml's own g++ build), predict, trace.

This is the only fxsim module that writes, compiles or runs hls4ml projects. Builds
are cached under ``.cache/fxsim/csim/<key>/`` where ``key`` is
:func:`fxsim.frontends.keras.conversion_key` (the Keras model's architecture and
weights, the hls4ml configuration, backend, I/O type, tracing and the hls4ml version);
the conversion is :func:`fxsim.frontends.keras.convert`, the one converter. A later
request for the same configuration, in this run or another, loads the compiled library
instead of rebuilding it. A file lock makes
parallel test workers wait for one build instead of racing.

:func:`crosscheck` runs fxsim and the C simulation on the same inputs and reports
mismatching codes layer by layer.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fxsim.fixed import FixedType, to_codes

CACHE_DIR = Path(__file__).resolve().parents[1] / ".cache" / "fxsim" / "csim"
PROJECT = "myproject"


def _quiet_tf() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def cache_dir() -> Path:
    """Where builds are cached (``$FXSIM_CSIM_CACHE`` overrides the repository default)."""
    return Path(os.environ.get("FXSIM_CSIM_CACHE", CACHE_DIR))


def convert(keras_model: Any, hls_config: dict, output_dir: str | Path, backend: str = "Vivado",
            io_type: str = "io_parallel", trace: bool = False, **project: Any) -> Any:
    """The ``ModelGraph`` of ``hls_config`` (not compiled), as :func:`build` converts it.

    :func:`fxsim.frontends.keras.convert` (the one converter) with this module's project
    name. With ``trace``, every layer gets ``Trace: True`` so the compiled project records
    each layer's output. ``project``: further ``convert_from_keras_model`` keywords that
    only shape the written project (``part``, ``clock_period``).
    """
    from fxsim.frontends.keras import convert as convert_keras

    _quiet_tf()
    return convert_keras(keras_model, hls_config, output_dir, trace=trace, backend=backend, io_type=io_type,
                         project_name=PROJECT, **project).hls_model


@dataclass
class Build:
    """A compiled hls4ml project: the ``ModelGraph`` with its library loaded."""

    hls_model: Any
    directory: Path
    compile_seconds: float  # 0 when the library came from the cache
    cached: bool
    traced: bool

    def predict(self, x: np.ndarray) -> np.ndarray:
        """``hls_model.predict(x)``."""
        with _quiet_stdout():
            return self.hls_model.predict(np.ascontiguousarray(x))

    def trace(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``hls_model.trace(x)`` without hls4ml's recompilation (the build was made with tracing)."""
        if not self.traced:
            raise ValueError("this build was made without tracing; build it with trace=True")
        return _trace_loaded(self.hls_model, np.ascontiguousarray(x))


def build(keras_model: Any, hls_config: dict, backend: str = "Vivado", io_type: str = "io_parallel",
          trace: bool = False, use_cache: bool = True, directory: str | Path | None = None, **project: Any) -> Build:
    """Convert and compile with hls4ml's own ``build_lib.sh``, reusing a cached build when possible.

    Parameters
    ----------
    keras_model, hls_config : what ``convert_from_keras_model`` takes.
    trace : compile with every layer traced (needed for :meth:`Build.trace`).
    use_cache : ``False`` always compiles afresh (timings) in ``directory`` or a new
        folder under the cache.
    project : ``part``, ``clock_period`` (see :func:`convert`).
    """
    if not use_cache:
        out = Path(directory) if directory else cache_dir() / f"fresh-{os.getpid()}-{time.time_ns()}"
        hm = convert(keras_model, hls_config, out, backend, io_type, trace, **project)
        start = time.perf_counter()
        with _quiet_stdout():
            hm.compile()
        return Build(hm, out, time.perf_counter() - start, False, trace)

    from fxsim.frontends.keras import conversion_key, hls4ml_config, load_model

    keras_model = load_model(keras_model)
    config = hls4ml_config(keras_model, hls_config, backend=backend, io_type=io_type)[0]
    # part/clock change the written project, not the C simulation: a build of their own
    out = cache_dir() / conversion_key(keras_model, config, backend, io_type, trace, **project)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _locked(out.with_suffix(".lock")):
        hm = convert(keras_model, config, out, backend, io_type, trace, **project)
        record = out / "fxsim-build.json"
        lib = None
        if record.exists():
            lib = out / json.loads(record.read_text())["library"]
            if not lib.exists():
                lib = None
        if lib is not None:
            hm._top_function_lib = ctypes.cdll.LoadLibrary(str(lib))
            return Build(hm, out, 0.0, True, trace)
        start = time.perf_counter()
        with _quiet_stdout():
            hm.compile()
        seconds = time.perf_counter() - start
        stamp = hm.config.get_config_value("Stamp")
        record.write_text(json.dumps({"library": f"firmware/{PROJECT}-{stamp}.so", "compile_seconds": seconds}))
        return Build(hm, out, seconds, False, trace)


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _quiet_stdout():
    # hls4ml prints a line per layer while compiling and per trace; keep test logs readable
    from fxsim.frontends.keras import quiet_stdout

    return quiet_stdout()


def _trace_loaded(hm: Any, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``ModelGraph.trace`` (hls4ml 1.3.0, ``model/graph.py``) minus its recompilation."""
    top_function, ctype = hm._get_top_function(x)
    n_samples = hm._compute_n_samples(x)
    out_vars = hm.get_output_variables()

    class TraceData(ctypes.Structure):
        _fields_ = [("name", ctypes.c_char_p), ("data", ctypes.c_void_p)]

    traced: dict[str, list] = {}
    sizes: dict[str, Any] = {}
    n_traced = 0
    for layer in hm.get_layers():
        if layer.get_attr("function_cpp", None) and layer.get_attr("trace", False):
            n_traced += len(layer.get_variables())
            traced[layer.name] = []
            sizes[layer.name] = layer.get_output_variable().shape
    lib = hm._top_function_lib
    collect = lib.collect_trace_output
    collect.argtypes = [ctypes.POINTER(TraceData)]
    collect.restype = None
    alloc = lib.allocate_trace_storage
    alloc.argtypes = [ctypes.c_size_t]
    alloc.restype = None
    free = lib.free_trace_storage
    free.argtypes = None
    free.restype = None
    data = (TraceData * n_traced)()
    xs = [x] if n_samples == 1 else x
    outputs = []
    alloc(ctypes.sizeof(ctype))
    try:
        for i in range(n_samples):
            preds = [np.zeros(v.size(), dtype=ctype) for v in out_vars]
            top_function(np.ascontiguousarray(xs[i]), *preds)
            outputs.append(preds[0])
            collect(data)
            for item in data:
                name = str(item.name, "utf-8")
                arr = np.ctypeslib.as_array(ctypes.cast(item.data, ctypes.POINTER(ctype)), shape=sizes[name])
                traced[name].append(np.copy(arr))
    finally:
        free()
    y = np.asarray(outputs)
    return (y[0] if n_samples == 1 else y), {k: np.asarray(v) for k, v in traced.items()}


# --- cross-check ---------------------------------------------------------------------------


@dataclass
class LayerCheck:
    """fxsim versus the C simulation on one layer's output."""

    layer: str
    type: FixedType
    compared: int
    mismatches: int
    first: list = field(default_factory=list)  # (sample, flat index, fxsim code, csim code)


@dataclass
class CrosscheckReport:
    """Per-layer comparison of raw codes; ``ok`` when nothing mismatches."""

    layers: list[LayerCheck]
    output: LayerCheck
    n_samples: int

    @property
    def ok(self) -> bool:
        return self.output.mismatches == 0 and all(c.mismatches == 0 for c in self.layers)

    @property
    def compared(self) -> int:
        return self.output.compared

    @property
    def mismatches(self) -> int:
        return self.output.mismatches

    def __str__(self) -> str:
        lines = [f"crosscheck on {self.n_samples:,} samples: "
                 f"{'OK' if self.ok else 'MISMATCH'} "
                 f"({self.output.mismatches} of {self.output.compared:,} output codes differ)"]
        for c in [*self.layers, self.output]:
            lines.append(f"  {c.layer:28s} {str(c.type):36s} {c.compared:>10,} compared {c.mismatches:>8,} mismatches")
            for s, i, a, b in c.first[:5]:
                lines.append(f"      sample {s} element {i}: fxsim code {a}, csim code {b}")
        return "\n".join(lines)


def _compare(name: str, t: FixedType, ours: np.ndarray, theirs: np.ndarray) -> LayerCheck:
    from fxsim.model import _codes_to_float

    theirs = np.asarray(theirs, dtype=np.float64).reshape(ours.shape[0], -1)
    ours = ours.reshape(ours.shape[0], -1)
    codes = to_codes(theirs, t)  # exact up to 53 bits: the C simulation's doubles hold every code
    if t.width <= 53:
        bad = np.argwhere(codes != ours)
    else:
        # wider codes do not survive the double the C simulation returns: compare that double
        # (the reported C-sim code is then the code nearest to it)
        bad = np.argwhere(_codes_to_float(ours, t, np.float64) != theirs)
    first = [(int(s), int(i), int(ours[s, i]), int(codes[s, i])) for s, i in bad[:10]]
    return LayerCheck(name, t, int(ours.size), int(len(bad)), first)


def crosscheck(model: Any, x: np.ndarray, hls_config: dict | None = None, backend: str = "Vivado",
               use_cache: bool = True, directory: str | Path | None = None,
               traced: tuple[np.ndarray, dict] | None = None) -> CrosscheckReport:
    """Run fxsim and hls4ml's C simulation on ``x`` and compare raw codes layer by layer.

    Parameters
    ----------
    model : a Keras model (with ``hls_config``), or a converted hls4ml ``ModelGraph``
        (it is then compiled with tracing turned on for every layer, in its own folder).
    x : inputs; they are passed to the C simulation as float64 so every traced value
        (up to 53 significant bits) reads back exactly.
    use_cache, directory : see :func:`build` (Keras model only).
    traced : ``(y, traces)`` that ``ModelGraph.trace(x)`` of the converted ``model`` already
        returned (e.g. in a child process, so an abort in the C simulation cannot take the
        caller down); nothing is compiled then.
    """
    from fxsim.frontends.hls4ml import from_hls4ml

    x64 = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
    if traced is not None:
        hm = model
        y, traced = traced
    elif hls_config is not None:
        b = build(model, hls_config, backend=backend, trace=True, use_cache=use_cache, directory=directory)
        hm = b.hls_model
        y, traced = b.trace(x64)
    else:
        hm = model
        for layer in hm.get_layers():
            layer.set_attr("trace", True)
        hm.config.trace_output = True
        with _quiet_stdout():
            hm.compile()
        y, traced = _trace_loaded(hm, x64)
    fx = from_hls4ml(hm)
    _, tr = fx.trace(x64)
    n = x64.reshape(-1, int(np.prod(fx.input_shape))).shape[0]
    checks = [
        _compare(name, tr.types[name], tr.codes[name], traced[name])
        for name in traced
        if name in tr.codes
    ]
    out = _compare("output", fx.output_t, fx.predict_codes(x64).reshape(n, -1), np.asarray(y).reshape(n, -1))
    return CrosscheckReport(checks, out, n)
