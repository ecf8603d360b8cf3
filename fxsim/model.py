"""``FxModel``: an ordered list of layer specs that runs like hls4ml's C simulation.

``predict`` gives what ``hls_model.predict`` gives (float32 in, float32 out; float64 in,
float64 out; the same output shapes), ``predict_codes`` the raw integer codes,
``trace`` every layer's output (as ``hls_model.trace``) plus LSTM/GRU internals per
time step, and ``overflow_report`` how many values did not fit their types. Models
are saved as a small JSON file plus an ``.npz`` of integer codes, so a worker can
evaluate them without TensorFlow or hls4ml.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fxsim._jit_cache import compile_notice
from fxsim._threads import chunk_bounds, map_chunks
from fxsim.fixed import FixedType, count_overflows, to_codes
from fxsim.ir import SPEC_KINDS, InputSpec, LayerSpec

FORMAT_NAME = "fxsim-model"
FORMAT_VERSION = 1

#: Most samples per chunk (one pass of every layer); bounds the memory of intermediate arrays.
CHUNK = 1 << 16


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OverflowRow:
    """One quantity of one layer: ``overflowed`` of ``total`` values did not fit ``type``."""

    layer: str
    quantity: str
    type: str
    overflowed: int
    total: int


class OverflowReport:
    """Per layer and quantity: how many values wrapped or saturated (or left a table's range).

    ``rows`` lists :class:`OverflowRow` in layer order; ``str(report)`` is a table;
    ``report[layer][quantity]`` is the overflow count.
    """

    def __init__(self, rows: Sequence[OverflowRow], n_samples: int):
        self.rows = list(rows)
        self.n_samples = int(n_samples)

    def __getitem__(self, layer: str) -> dict[str, int]:
        out = {r.quantity: r.overflowed for r in self.rows if r.layer == layer}
        if not out:
            raise KeyError(f"no layer {layer!r} in the overflow report")
        return out

    @property
    def total(self) -> int:
        """All overflows of all layers and quantities."""
        return sum(r.overflowed for r in self.rows)

    def to_dict(self) -> dict[str, dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for r in self.rows:
            out.setdefault(r.layer, {})[r.quantity] = {"type": r.type, "overflowed": r.overflowed, "total": r.total}
        return out

    def __str__(self) -> str:
        head = ("layer", "quantity", "type", "overflowed", "of", "fraction")
        body = [
            (r.layer, r.quantity, r.type, f"{r.overflowed:,}", f"{r.total:,}",
             f"{r.overflowed / r.total:.2e}" if r.total else "-")
            for r in self.rows
        ]
        widths = [max(len(str(row[i])) for row in [head, *body]) for i in range(len(head))]
        lines = [f"overflows on {self.n_samples:,} samples"]
        for row in [head, *body]:
            cells = (str(v).ljust(w) if i < 3 else str(v).rjust(w) for i, (v, w) in enumerate(zip(row, widths)))
            lines.append("  ".join(cells))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"OverflowReport({len(self.rows)} rows, {self.total} overflows on {self.n_samples} samples)"


class FxTrace(dict):
    """``{name: float array}`` like ``hls_model.trace``'s dict, plus the raw codes.

    Layer outputs are keyed by layer name with shape ``(n_samples, *layer_shape)``;
    recurrent internals by ``"<layer>/<quantity>"`` with shape ``(n_samples, T, ...)``.
    ``codes[key]`` holds the int64 codes and ``types[key]`` their ``FixedType``.
    """

    def __init__(self):
        super().__init__()
        self.codes: dict[str, np.ndarray] = {}
        self.types: dict[str, FixedType] = {}

    def add(self, key: str, codes: np.ndarray, t: FixedType, dtype: np.dtype) -> None:
        self.codes[key] = codes
        self.types[key] = t
        self[key] = _codes_to_float(codes, t, dtype)


def _codes_to_float(codes: np.ndarray, t: FixedType, dtype: np.dtype) -> np.ndarray:
    # float(result_t) / double(result_t) round half to even (ap_fixed::to_float/to_double).
    # The int64 -> float conversion rounds once, correctly; scaling by 2**-F is then exact.
    c = np.asarray(codes, dtype=np.int64)
    return np.ldexp(c.astype(dtype), np.full(c.shape, -t.frac, dtype=np.int32)).astype(dtype, copy=False)


# --- the model --------------------------------------------------------------------------


class FxModel:
    """A fixed-point model: ``layers[0]`` is the :class:`~fxsim.ir.InputSpec`, then one spec per layer.

    A model with initial-state inputs (hls4ml's PyTorch ``GRU(x, h0)``) starts with one
    ``InputSpec`` per input, ``x`` first; the layers then run on ``x`` in order and a
    recurrent layer reads the inputs its ``initial_state`` names. Such a model takes a
    list of arrays, ``[x, h0]``, as ``hls_model.predict`` does.

    Build it with :func:`fxsim.from_hls4ml` or :meth:`FxModel.load`.
    """

    def __init__(self, layers: Sequence[LayerSpec], name: str = "model"):
        layers = list(layers)
        if not layers or not isinstance(layers[0], InputSpec):
            raise ValueError("an FxModel starts with an InputSpec")
        names = [spec.name for spec in layers]
        if len(set(names)) != len(names):
            raise ValueError(f"layer names must be unique, got {names}")
        self.layers = layers
        self.name = name
        n_inputs = next((i for i, spec in enumerate(layers) if not isinstance(spec, InputSpec)), len(layers))
        #: the model's inputs, in ``hls_model.predict``'s order (``x`` first, then initial states)
        self.inputs: list[InputSpec] = layers[:n_inputs]
        self.shapes = _infer_shapes(layers, n_inputs)
        #: ``{layer name: input names}`` of the layers that start from initial-state inputs
        self._states = _check_initial_states(layers, n_inputs)
        self._runners: list | None = None

    # --- description ----------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of the first input, ``x`` (without the batch axis)."""
        return self.shapes[0]

    @property
    def input_shapes(self) -> list[tuple[int, ...]]:
        """The shape of every input, ``[x, h0, ...]`` (one entry for a single-input model)."""
        return self.shapes[:len(self.inputs)]

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.shapes[-1]

    @property
    def input_t(self) -> FixedType:
        return self.layers[0].result_t

    @property
    def output_t(self) -> FixedType:
        return self.layers[-1].result_t

    def summary(self) -> str:
        """One line per layer: name, kind, output shape and result type."""
        lines = []
        for spec, shape in zip(self.layers, self.shapes):
            kind = type(spec).__name__.removesuffix("Spec")
            detail = (getattr(spec, "activation", None) or getattr(spec, "implementation", None)
                      or getattr(spec, "cell", ""))
            lines.append(f"{spec.name:24s} {kind:10s} {detail:12s} {str(shape):12s} {spec.result_t}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"FxModel({self.name!r}, {len(self.layers)} layers, {self.input_shape} -> {self.output_shape})"

    def estimate(self, **kw: Any):
        """Hardware cost before synthesis: :func:`fxsim.cost.estimate_ir` (``part``, ``clock_period``, ``device``)."""
        from fxsim.cost import estimate_ir

        return estimate_ir(self, **kw)

    # --- running --------------------------------------------------------------------
    def predict(self, x: np.ndarray) -> np.ndarray:
        """What ``hls_model.predict(x)`` returns: float32 for float32 input, float64 for float64.

        Shape ``(n_samples, output_size)``, or ``(output_size,)`` for a single sample.
        """
        x, n, single, dtype = self._check_input(x)
        codes = self._run(x, n, trace=None, count=False)[0]
        out = _codes_to_float(codes.reshape(n, -1), self.output_t, dtype)
        return out[0] if single else out

    def predict_codes(self, x: np.ndarray) -> np.ndarray:
        """The output's raw ``result_t`` codes (int64), shaped like :meth:`predict`'s result."""
        x, n, single, _ = self._check_input(x)
        codes = self._run(x, n, trace=None, count=False)[0].reshape(n, -1)
        return codes[0] if single else codes

    def trace(self, x: np.ndarray) -> tuple[np.ndarray, FxTrace]:
        """``(predict(x), trace)`` like ``hls_model.trace(x)``, plus recurrent internals.

        The trace holds every layer's output (not the input layer, as in hls4ml), with
        shape ``(n_samples, *layer_shape)``, and ``"<layer>/<quantity>"`` entries for
        LSTM/GRU gates, candidate, cell and hidden state per time step.
        """
        x, n, single, dtype = self._check_input(x)
        tr = FxTrace()
        codes = self._run(x, n, trace=(tr, dtype))[0]
        out = _codes_to_float(codes.reshape(n, -1), self.output_t, dtype)
        return (out[0] if single else out), tr

    def overflow_report(self, x: np.ndarray) -> OverflowReport:
        """Run ``x`` and count, per layer and quantity, the values that did not fit their type."""
        x, n, _, _ = self._check_input(x)
        return self._run(x, n, trace=None)[1]

    def predict_codes_and_overflows(self, x: np.ndarray) -> tuple[np.ndarray, OverflowReport]:
        """:meth:`predict_codes` and :meth:`overflow_report` from one pass over ``x``."""
        x, n, single, _ = self._check_input(x)
        codes, report = self._run(x, n, trace=None)
        codes = codes.reshape(n, -1)
        return (codes[0] if single else codes), report

    # --- internals --------------------------------------------------------------------
    def _check_input(self, x: Any) -> tuple[np.ndarray, int, bool, np.dtype]:
        if len(self.inputs) > 1:
            return self._check_inputs(x)
        if not isinstance(x, np.ndarray):
            raise ValueError(f"expected a numpy array, got {type(x).__name__}")
        if x.dtype not in (np.float32, np.float64):
            raise ValueError(f"input dtype must be float32 or float64 (as hls_model.predict), got {x.dtype}")
        shape = self.input_shape
        size = int(np.prod(shape))
        if x.shape == shape:
            return x.reshape(1, *shape), 1, True, x.dtype
        if x.ndim >= 1 and x.shape[1:] in (shape, (size,)):
            n = x.shape[0]
            if n == 0:
                raise ValueError("input has no samples")
            return x.reshape(n, *shape), n, n == 1, x.dtype
        raise ValueError(
            f"input shape {x.shape} does not match the model input {shape}; expected (n_samples, "
            f"{', '.join(map(str, shape))}) or (n_samples, {size})"
        )

    def _check_inputs(self, xs: Any) -> tuple[list[np.ndarray], int, bool, np.dtype]:
        """The inputs of a model with several: a list ``[x, h0, ...]`` as ``hls_model.predict`` takes."""
        names = [spec.name for spec in self.inputs]
        if not isinstance(xs, (list, tuple)):
            raise ValueError(f"this model has {len(names)} inputs ({', '.join(names)}): pass a list of "
                             f"{len(names)} arrays, as hls_model.predict([...]) takes, got {type(xs).__name__}")
        if len(xs) != len(names):
            raise ValueError(f"this model has {len(names)} inputs ({', '.join(names)}), got {len(xs)} arrays")
        out, counts, singles = [], [], []
        for spec, shape, x in zip(self.inputs, self.input_shapes, xs):
            if not isinstance(x, np.ndarray):
                raise ValueError(f"input {spec.name!r}: expected a numpy array, got {type(x).__name__}")
            if x.dtype != xs[0].dtype or x.dtype not in (np.float32, np.float64):
                raise ValueError(f"input {spec.name!r}: dtype {x.dtype}; every input must be float32, or every "
                                 f"input float64 (hls_model.predict's C types), and the first is {xs[0].dtype}")
            size = int(np.prod(shape))
            if x.shape == shape:
                out.append(x.reshape(1, *shape))
                singles.append(True)
            elif x.ndim >= 1 and x.shape[1:] in (shape, (size,)) and x.shape[0] > 0:
                out.append(x.reshape(x.shape[0], *shape))
                singles.append(False)
            else:
                raise ValueError(f"input {spec.name!r} of shape {x.shape} does not match {shape}; expected "
                                 f"(n_samples, {', '.join(map(str, shape))}) or (n_samples, {size})")
            counts.append(out[-1].shape[0])
        if len(set(counts)) != 1 or len(set(singles)) != 1:
            raise ValueError("the inputs hold different numbers of samples: "
                             + ", ".join(f"{name} {n}" for name, n in zip(names, counts)))
        n = counts[0]
        return out, n, n == 1, xs[0].dtype

    def _prepare(self) -> list:
        if self._runners is None:
            from fxsim.runners import make_runner

            self._runners = [make_runner(spec) for spec in self.layers[len(self.inputs):]]
        return self._runners

    def _run(self, x: np.ndarray, n: int, trace, count: bool = True) -> tuple[np.ndarray, OverflowReport | None]:
        runners = self._prepare()
        xs = x if len(self.inputs) > 1 else [x]
        want_trace = trace is not None

        def run_chunk(start: int, stop: int):
            return self._run_chunk(runners, xs, start, stop, want_trace, count)

        # Chunks of samples, each through every layer; on several threads, each thread takes
        # whole chunks (chunk_bounds, map_chunks), so the layers need no hand-over between threads.
        parts = map_chunks(run_chunk, chunk_bounds(n, CHUNK))
        totals: dict[tuple[str, str], list] = {}
        traced: dict[str, list] = {}
        for _, counted, traced_chunk in parts:
            for layer, counts, types in counted:
                _add_counts(totals, layer, counts, types)
            for key, part in traced_chunk:
                traced.setdefault(key, []).append(part)
        out = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
        if trace is not None:
            tr, dtype = trace
            for key, chunks in traced.items():
                tr.add(key, np.concatenate([c[0] for c in chunks]), chunks[0][1], dtype)
        if not count:
            return out, None  # predict: nobody reads the overflow counts
        rows = [OverflowRow(layer, q, str(t), int(v), int(tot)) for (layer, q), (v, tot, t) in totals.items()]
        return out, OverflowReport(rows, n)

    def _run_chunk(self, runners: list, xs: list[np.ndarray], start: int, stop: int, trace: bool, count: bool):
        """Samples ``start:stop`` through every layer.

        Returns ``(output codes, [(layer, counts, types)], [(trace key, (codes, type))])``.
        """
        counted = []
        traced = []
        side: dict[str, np.ndarray] = {}
        for spec, arr in zip(self.inputs, xs):
            chunk = arr[start:stop]
            with compile_notice("the input conversion"):  # says so when it compiles (first use only)
                side[spec.name] = codes = to_codes(chunk, spec.result_t)
            if count:
                counted.append((spec.name, {"input": (_input_overflows(chunk, spec.result_t), codes.size)},
                                {"input": spec.result_t}))
        codes = side[self.inputs[0].name]
        for runner in runners:
            states = self._states.get(runner.name)
            if states:
                codes, counts, internals = _run_from_state(runner, codes, [side[k] for k in states], trace, count)
            else:
                codes, counts, internals = runner(codes, trace, count)
            if count:
                counted.append((runner.name, counts, runner.types))
            if trace:
                traced.append((runner.name, (codes, runner.spec.result_t)))
                for key, (c, t) in (internals or {}).items():
                    traced.append((f"{runner.name}/{key}", (c, t)))
        return codes, counted, traced

    # --- persistence ------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``<path>.json`` (structure, types) and ``<path>.npz`` (integer codes).

        ``path`` may end in ``.json``; returns the JSON path.
        """
        json_path, npz_path = _paths(path)
        arrays: dict[str, np.ndarray] = {}
        layers = []
        for i, spec in enumerate(self.layers):
            entry = {"kind": type(spec).__name__}
            for f in dataclasses.fields(spec):
                entry[f.name] = _encode(getattr(spec, f.name), f"{i}.{f.name}", arrays)
            layers.append(entry)
        doc = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "name": self.name,
               "arrays": npz_path.name, "layers": layers}
        json_path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(npz_path, **arrays)
        json_path.write_text(json.dumps(doc, indent=1))
        return json_path

    @classmethod
    def load(cls, path: str | Path) -> FxModel:
        """Read a model written by :meth:`save` (no TensorFlow or hls4ml needed)."""
        json_path, npz_path = _paths(path)
        doc = json.loads(json_path.read_text())
        if doc.get("format") != FORMAT_NAME:
            raise ValueError(f"{json_path} is not an fxsim model file")
        if doc.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"{json_path}: format version {doc.get('version')} is not supported (expected {FORMAT_VERSION})"
            )
        with np.load(json_path.parent / doc["arrays"]) as npz:
            arrays = {k: npz[k] for k in npz.files}
        kinds = {c.__name__: c for c in SPEC_KINDS}
        layers = []
        for entry in doc["layers"]:
            kind = kinds.get(entry.get("kind"))
            if kind is None:
                raise ValueError(f"{json_path}: unknown layer kind {entry.get('kind')!r}")
            names = {f.name for f in dataclasses.fields(kind)}
            layers.append(kind(**{k: _decode(v, arrays) for k, v in entry.items() if k in names}))
        return cls(layers, name=doc.get("name", "model"))


def _paths(path: str | Path) -> tuple[Path, Path]:
    p = Path(path)
    base = p.with_suffix("") if p.suffix in (".json", ".npz") else p
    return base.with_name(base.name + ".json"), base.with_name(base.name + ".npz")


def _encode(value: Any, key: str, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, FixedType):
        return {"__type__": str(value)}
    if isinstance(value, SPEC_KINDS):  # a spec holding specs (Bidirectional)
        fields = dataclasses.fields(value)
        return {"__spec__": type(value).__name__,
                **{f.name: _encode(getattr(value, f.name), f"{key}.{f.name}", arrays) for f in fields}}
    if isinstance(value, np.ndarray):
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, (tuple, list)):
        return {"__tuple__": [_encode(v, f"{key}.{i}", arrays) for i, v in enumerate(value)]}
    if isinstance(value, dict):
        return {"__dict__": {str(k): _encode(v, f"{key}.{k}", arrays) for k, v in value.items()}}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ValueError(f"cannot save a value of type {type(value).__name__} ({key})")


def _decode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, dict):
        if "__type__" in value:
            return FixedType.parse(value["__type__"])
        if "__spec__" in value:
            kind = {c.__name__: c for c in SPEC_KINDS}[value["__spec__"]]
            return kind(**{k: _decode(v, arrays) for k, v in value.items() if k != "__spec__"})
        if "__array__" in value:
            return arrays[value["__array__"]]
        if "__tuple__" in value:
            return tuple(_decode(v, arrays) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: _decode(v, arrays) for k, v in value["__dict__"].items()}
    return value


def _add_counts(totals: dict, layer: str, counts: dict[str, tuple[int, int]], types: dict[str, FixedType]) -> None:
    for quantity, (over, total) in counts.items():
        row = totals.setdefault((layer, quantity), [0, 0, types.get(quantity, "")])
        row[0] += int(over)
        row[1] += int(total)


def _input_overflows(x: np.ndarray, t: FixedType) -> int:
    # Round into a wide saturating type with the same fractional bits and rounding;
    # the values that then do not fit ``t`` are the ones the conversion wrapped/saturated.
    if t.is_int:
        wide = FixedType(62, 62, t.signed, is_int=True)
    else:
        wide = FixedType(62, 62 - t.frac, True, t.rounding, "SAT")
    return count_overflows(to_codes(x, wide), wide, t)


def _infer_shapes(layers: Sequence[LayerSpec], n_inputs: int = 1) -> list[tuple[int, ...]]:
    shapes = [tuple(int(d) for d in spec.shape) for spec in layers[:n_inputs]]
    current = shapes[0]
    for spec in layers[n_inputs:]:
        output_shape = getattr(spec, "output_shape", None)
        if isinstance(spec, InputSpec):
            raise ValueError(f"layer {spec.name!r}: an InputSpec after the first layer; a model's inputs come first")
        if output_shape is None:
            raise ValueError(f"layer {spec.name!r}: {type(spec).__name__} is not a layer spec fxsim can run")
        current = tuple(int(d) for d in output_shape(current))
        shapes.append(current)
    return shapes


def _check_initial_states(layers: Sequence[LayerSpec], n_inputs: int) -> dict[str, tuple[str, ...]]:
    """``{layer: input names}`` of the recurrent layers with initial states, checked against the inputs."""
    extra = {spec.name: spec for spec in layers[1:n_inputs]}
    states: dict[str, tuple[str, ...]] = {}
    used: set[str] = set()
    for spec in layers[n_inputs:]:
        names = tuple(getattr(spec, "initial_state", ()) or ())
        if not names:
            continue
        where = f"layer {spec.name!r} ({spec.cell.upper()})"
        want = 2 if spec.cell == "lstm" else 1
        if len(names) != want:
            raise ValueError(f"{where}: {len(names)} initial states {names}, expected "
                             f"{'h0 and c0' if want == 2 else 'h0'}")
        for name in names:
            inp = extra.get(name)
            if inp is None:
                raise ValueError(f"{where}: initial state {name!r} is not one of the model's state inputs "
                                 f"{sorted(extra)}")
            if tuple(inp.shape) != (spec.n_state,):
                raise ValueError(f"{where}: initial state {name!r} has shape {tuple(inp.shape)}, expected "
                                 f"({spec.n_state},)")
            used.add(name)
        states[spec.name] = names
    unused = sorted(set(extra) - used)
    if unused:
        raise ValueError(f"model inputs {unused} feed no layer (only recurrent initial states may be extra inputs)")
    return states


def _run_from_state(runner, codes: np.ndarray, states: list[np.ndarray], trace: bool, count: bool):
    """A recurrent runner's call with its layer's state starting at ``states`` (codes of the state inputs)."""
    from fxsim.kernels import recurrent

    res = recurrent.run_recurrent(runner.spec, codes, trace, count, prepared=runner.prepared,
                                  initial_state=tuple(states))
    return res.out, res.overflows, res.internals
