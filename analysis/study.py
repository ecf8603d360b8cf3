"""One model on one data set: float, QKeras and hardware metrics at any precision point.

A :class:`Study` converts the model once at the user's precision (the *base*
point), reads fxsim's model of it, and from then on measures the hardware metric
of any :class:`~fxsim.analysis.space.Point` by writing the point's types into the base
hls4ml configuration, letting hls4ml convert it (tens of milliseconds, no C++)
and running fxsim's bit-exact emulation on the data. Results are cached by point,
so the scans, the gap decomposition and the searches share evaluations.

:meth:`Study.verify` runs one real C simulation of a point (hls4ml's own g++
build through :mod:`fxsim.csim`) and reports how it agrees with fxsim.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fxsim.analysis.space import Point, Space

METRICS = ("auc", "accuracy")


# --- metrics ----------------------------------------------------------------------------


def metric_value(name: str, scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC (binary: the sigmoid score; multiclass: one-vs-rest macro) or accuracy, by :mod:`fxsim.metrics`.

    ``labels`` are integer class labels (see :func:`fxsim.metrics.check_labels`).
    """
    from fxsim.metrics import classification_metrics

    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; valid: {', '.join(METRICS)}")
    scores = np.asarray(scores, dtype=np.float64)
    value = classification_metrics(labels, scores.reshape(len(scores), -1), names=(name,))[name]
    if value is None:
        raise ValueError(f"{name} is undefined on these labels (a single class is present)")
    return float(value)


def default_metric(n_outputs: int) -> str:
    """AUC for a binary (one sigmoid output) model, accuracy for a multiclass one."""
    return "auc" if n_outputs == 1 else "accuracy"


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluated:
    """The hardware metric of one point and what it took to get it."""

    point: Point
    metric: float
    convert_s: float
    predict_s: float
    error: str = ""


@dataclass
class Verification:
    """fxsim versus one real hls4ml C simulation of the same configuration."""

    metric_fxsim: float
    metric_csim: float
    compared: int
    mismatches: int
    compile_s: float
    predict_s: float
    cached_build: bool
    n_samples: int
    directory: str
    held_out: bool = False

    @property
    def ok(self) -> bool:
        return self.mismatches == 0


@dataclass
class Timing:
    """Wall-clock totals of the hardware evaluations done so far."""

    evaluations: int = 0
    convert_s: float = 0.0
    predict_s: float = 0.0
    per_call: list[float] = field(default_factory=list)
    holdout_evaluations: int = 0  # on the held-out samples, not in the totals above
    holdout_s: float = 0.0
    other_s: float = 0.0  # hardware of requantized models (the seed study's curve)

    @property
    def total_s(self) -> float:
        return self.convert_s + self.predict_s


# --- the study ---------------------------------------------------------------------------------


class Study:
    """A Keras/QKeras model, data with labels, and the hls4ml conversion at a base precision.

    Parameters
    ----------
    model : a Keras/QKeras model or a ``.h5``/``.keras`` path.
    x, y : inputs ``(n, *input_shape)`` and labels (integers, 0/1, or one-hot; checked by
        :func:`fxsim.metrics.check_labels`).
    precision : the base precision spec (see :mod:`fxsim.precision`); ``None`` takes the
        QKeras quantizers and hls4ml's defaults.
    metric : ``"auc"`` or ``"accuracy"``; default AUC for one output, accuracy otherwise.
    holdout : share of the samples kept out of every search (a seeded random split): the
        searches see ``x``/``y``, the held-out ``x_holdout``/``y_holdout`` confirm their
        choice and feed the C-simulation check, so a selection cannot fit the noise of the
        samples it was chosen on.
    seed : seed of the hold-out split.
    progress : show tqdm progress bars for batches of evaluations.
    **options : hls4ml options (``strategy``, ``reuse_factor``, ``backend`` ...).
    """

    #: Evaluates batches of points elsewhere: ``None`` here, or an object whose ``evaluate(points, desc)``
    #: returns one :class:`Evaluated` per point, e.g. :class:`fxsim.analysis.distributed.DaskEvaluator`.
    backend: Any = None

    def __init__(self, model: Any, x: np.ndarray, y: np.ndarray, precision: Any = None, metric: str | None = None,
                 holdout: float = 0.0, seed: int = 0, progress: bool = True, **options: Any):
        from fxsim.metrics import check_labels
        from fxsim.pipeline import input_shape, load_model

        self.model = load_model(model)
        x = _check_inputs(x, input_shape(self.model))
        n_outputs = int(np.prod(self.model.output_shape[1:]))
        y = check_labels(y, len(x), n_outputs)
        if not 0.0 <= holdout < 1.0:
            raise ValueError(f"holdout must be a fraction in [0, 1), got {holdout}")
        n_hold = int(round(len(x) * holdout))
        if holdout > 0 and (n_hold < 2 or len(x) - n_hold < 2):
            raise ValueError(f"holdout {holdout} of {len(x)} samples leaves too few on one side")
        order = np.random.default_rng(seed).permutation(len(x))
        keep, held = np.sort(order[n_hold:]), np.sort(order[:n_hold])
        self.x, self.y = x[keep], y[keep]
        self.x_holdout, self.y_holdout = (x[held], y[held]) if n_hold else (None, None)
        self.options = dict(options)
        self.progress = progress
        from fxsim.pipeline import snapshot

        # the study holds its model unchanged (its evaluations are cached by point): its
        # architecture and weights are read once, not at each of the scan's conversions
        self._snapshot = snapshot(self.model)
        base = self._convert(self.model, precision)
        self.base_config: dict = base.conversion.config
        self.base_fx = base.fx
        self.space = Space(self.base_fx.layers)
        self._layer_names = [spec.name for spec in self.base_fx.layers]
        self._find_pinned()
        self.metric = metric or default_metric(n_outputs)
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; valid: {', '.join(METRICS)}")
        self._cache: dict[str, Evaluated] = {}
        self._holdout: dict[str, float] = {}
        self._pairs: dict[str, tuple[float, float | None]] = {}
        self.timing = Timing()
        self._keras: dict[str, np.ndarray] = {}

    def _convert(self, model: Any, precision: Any):
        """:func:`fxsim.pipeline.convert_checked` without the doctor's rules (a scan converts hundreds of
        points of one model); raises ``ValueError`` where hls4ml or fxsim refuse the point."""
        from fxsim.pipeline import convert_checked

        snap = self._snapshot if model is self.model else None  # the requantized twins are new models
        return convert_checked(model, precision, rules=False, snapshot=snap, **self.options).require()

    def _find_pinned(self) -> None:
        """Pin the types hls4ml does not take from the configuration (QKeras quantizers decide them)."""
        probe = self.space.generous()
        fx = self._convert(self.model, self.config(probe)).fx
        built = {spec.name: spec for spec in fx.layers}
        pinned = {}
        for (layer, q), want in probe.types.items():
            spec = built.get(layer)
            got = getattr(spec, q if q == "table_t" else f"{q}_t", None) if spec is not None else None
            if got != want:
                if got != self.space.base.types[(layer, q)]:
                    raise ValueError(
                        f"{layer}.{q}: asked hls4ml for {want}, it built {got} "
                        f"(base {self.space.base.types[(layer, q)]})"
                    )
                pinned[(layer, q)] = "hls4ml takes it from the layer's QKeras quantizer"
        self.space.pin(pinned)

    # -- Keras side --
    @property
    def quantized(self) -> bool:
        from fxsim.pipeline import is_quantized

        return is_quantized(self.model)

    def _split(self, holdout: bool) -> tuple[np.ndarray, np.ndarray]:
        if not holdout:
            return self.x, self.y
        if self.x_holdout is None:
            raise ValueError("this study has no held-out samples (holdout=0)")
        return self.x_holdout, self.y_holdout

    def keras_scores(self, which: str = "float", holdout: bool = False) -> np.ndarray:
        """Scores of the float model (``"float"``: QKeras layers replaced by their float twins) or
        of the model itself (``"qkeras"``), on the search samples or the held-out ones."""
        key = f"{which}:{holdout}"
        if key not in self._keras:
            from fxsim.pipeline import float_twin

            m = float_twin(self.model) if which == "float" else self.model
            x, _ = self._split(holdout)
            self._keras[key] = np.asarray(m.predict(x, batch_size=2048, verbose=0), dtype=np.float64)
        return self._keras[key]

    def float_metric(self, holdout: bool = False) -> float:
        return metric_value(self.metric, self.keras_scores("float", holdout), self._split(holdout)[1])

    def qkeras_metric(self, holdout: bool = False) -> float | None:
        """The QKeras model's own metric, or None for a float model."""
        if not self.quantized:
            return None
        return metric_value(self.metric, self.keras_scores("qkeras", holdout), self._split(holdout)[1])

    def uniform_pair(self, integer: int, fractional: int,
                     qkeras_samples: int | None = None) -> tuple[float, float | None]:
        """Hardware and QKeras metric at the uniform width ``(I, F)``, as the seed study compared them.

        For a QKeras model every quantizer is first set to ``quantized_bits(I+F+1, I)``
        (:func:`fxsim.analysis.requantize.requantized`): QKeras's metric is that model's, and
        the hardware is hls4ml's conversion of that model with every configurable type at
        ``ap_fixed<I+F+1, I+1>`` (so quantizer-pinned weights follow too). For a float
        model the QKeras metric is None and the hardware is :meth:`evaluate` of
        ``space.uniform(I, F)``. ``qkeras_samples`` limits the QKeras inputs (its
        recurrent layers run at a few thousand samples a second).
        """
        point = self.space.uniform(integer, fractional)
        if not self.quantized:
            return self.evaluate([point])[0], None
        key = f"uniform:{integer}:{fractional}:{qkeras_samples}"
        if key not in self._pairs:
            from fxsim.analysis.requantize import requantized

            m = requantized(self.model, integer + fractional + 1, integer)
            xq = self.x if qkeras_samples is None else self.x[:qkeras_samples]
            yq = self.y if qkeras_samples is None else self.y[:qkeras_samples]
            q = metric_value(self.metric, m.predict(xq, batch_size=2048, verbose=0), yq)
            t0 = time.perf_counter()
            try:
                fx = self._convert(m, self.config(point)).fx
            except ValueError:
                hw = float("-inf")
            else:
                hw = metric_value(self.metric, fx.predict(self.x), self.y)
            self.timing.other_s += time.perf_counter() - t0
            self._pairs[key] = (hw, q)
        return self._pairs[key]

    # -- hardware side --
    def config(self, point: Point) -> dict:
        """The complete hls4ml configuration of ``point``."""
        return self.space.apply(self.base_config, point)

    def emulate(self, point: Point):
        """fxsim's model of the hardware hls4ml builds at ``point``."""
        fx = self._convert(self.model, self.config(point)).fx
        names = [spec.name for spec in fx.layers]
        if names != self._layer_names:
            raise ValueError(f"at this precision hls4ml builds layers {names}, the base precision {self._layer_names}")
        return fx

    def evaluate(self, points: Sequence[Point], desc: str | None = None) -> list[float]:
        """Hardware metric of each point (cached); a point hls4ml or fxsim rejects scores ``-inf``."""
        todo = [p for p in dict.fromkeys(points) if p.key not in self._cache]
        if self.backend is not None and todo:  # the same evaluations, on a cluster
            self._cache.update((p.key, ev) for p, ev in zip(todo, self.backend.evaluate(todo, desc)))
            todo = []
        bar = None
        if self.progress and desc and len(todo) > 1:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc=desc, unit="config", leave=False)
        for p in todo:
            self._cache[p.key] = self._evaluate_one(p)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        return [self._cache[p.key].metric for p in points]

    def evaluated(self) -> list[Evaluated]:
        """Every point evaluated so far, in order."""
        return list(self._cache.values())

    def lookup(self, point: Point) -> Evaluated:
        self.evaluate([point])
        return self._cache[point.key]

    def _evaluate_one(self, point: Point) -> Evaluated:
        t0 = time.perf_counter()
        try:
            fx = self.emulate(point)
        except ValueError as err:  # hls4ml rejects it, or hls4ml would build it wrong
            return Evaluated(point, float("-inf"), time.perf_counter() - t0, 0.0, str(err))
        t1 = time.perf_counter()
        scores = fx.predict(self.x)
        t2 = time.perf_counter()
        self.timing.evaluations += 1
        self.timing.convert_s += t1 - t0
        self.timing.predict_s += t2 - t1
        self.timing.per_call.append(t2 - t0)
        return Evaluated(point, metric_value(self.metric, scores, self.y), t1 - t0, t2 - t1)

    def scores(self, point: Point) -> np.ndarray:
        return self.emulate(point).predict(self.x)

    def holdout_metric(self, point: Point) -> float:
        """The hardware metric of ``point`` on the held-out samples (cached)."""
        if point.key not in self._holdout:
            x, y = self._split(True)
            t0 = time.perf_counter()
            try:
                fx = self.emulate(point)
            except ValueError:
                self._holdout[point.key] = float("-inf")
                return self._holdout[point.key]
            self._holdout[point.key] = metric_value(self.metric, fx.predict(x), y)
            self.timing.holdout_evaluations += 1
            self.timing.holdout_s += time.perf_counter() - t0
        return self._holdout[point.key]

    def evaluator(self, desc: str | None = None) -> Callable[[Sequence[Point]], list[float]]:
        """``evaluate`` with a fixed progress label, for :mod:`fxsim.analysis.select`."""
        return lambda points: self.evaluate(points, desc)

    # -- C simulation --
    def verify(self, point: Point, n_samples: int | None = None, use_cache: bool = True) -> Verification:
        """Compile ``point`` with hls4ml (g++), run its C simulation, compare with fxsim.

        Runs on the held-out samples when the study has them, else on the search samples.

        Parameters
        ----------
        n_samples : run only the first ``n_samples`` inputs (the C simulation makes one
            call per sample, about a thousand samples a second for the top-tagging GRU).
        use_cache : reuse a cached build of the same configuration (``False`` measures a
            fresh build).
        """
        from fxsim import csim
        from fxsim.fixed import to_codes

        x, y = self._split(self.x_holdout is not None)
        x, y = (x, y) if n_samples is None else (x[:n_samples], y[:n_samples])
        config = self.config(point)
        build = csim.build(self.model, config, backend=self.options.get("backend", "Vivado"), use_cache=use_cache)
        t0 = time.perf_counter()
        y_csim = np.asarray(build.predict(x), dtype=np.float64).reshape(len(x), -1)
        predict_s = time.perf_counter() - t0
        fx = self.emulate(point)
        ours = fx.predict_codes(x).reshape(len(x), -1)
        theirs = to_codes(y_csim, fx.output_t)
        return Verification(
            metric_fxsim=metric_value(self.metric, fx.predict(x), y),
            metric_csim=metric_value(self.metric, y_csim, y),
            compared=int(ours.size),
            mismatches=int(np.count_nonzero(ours != theirs)),
            compile_s=build.compile_seconds,
            predict_s=predict_s,
            cached_build=build.cached,
            n_samples=len(x),
            directory=str(build.directory),
            held_out=self.x_holdout is not None,
        )


def _check_inputs(x: Any, shape: tuple[int, ...]) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "fiu":
        raise ValueError(f"inputs must be numeric, got dtype {x.dtype}")
    x = np.ascontiguousarray(x, dtype=np.float64)  # float64: the C simulation's outputs read back exactly
    if x.ndim < 2 or x.shape[1:] != shape:
        raise ValueError(
            f"inputs of shape {x.shape} do not match the model input {shape}; "
            f"expected (n, {', '.join(map(str, shape))})"
        )
    if len(x) == 0:
        raise ValueError("no input samples")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"inputs contain {int(np.count_nonzero(~np.isfinite(x)))} NaN/inf values")
    return x
