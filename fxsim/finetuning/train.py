"""The fine-tuning loop: Adam on the Keras variables, the loss computed through :class:`ExactGraph`.

Each step recomputes the weight codes hls4ml would write for the current variables
(numpy, :func:`fxsim.fixed.weight_codes`), runs the exact forward pass on a batch and
applies the straight-through gradients. The loss is the cross-entropy of the float
sigmoid/softmax of the *exact hardware logits* (the input of the model's final
sigmoid/softmax, which the hardware computes bit for bit), with the labels smoothed just
enough that the loss's optimal logit lies inside the logits' type (``logit_margin`` of its
largest value): without it the cross-entropy pushes confident logits past the type's range,
where a WRAP accumulator wraps them to the other sign (measured on the top-tagging GRU at
every type ``ap_fixed<8,3>``: the output accumulator's overflows grew and the hardware AUC
fell epoch after epoch from 0.80 to 0.61); a model without a final
squashing layer is trained on its exact outputs (binary cross-entropy of the clipped
output for one output column, mean squared error otherwise). With validation data,
every epoch is scored with the exact graph's outputs (equal to the emulator's) and
the best epoch's weights are kept; before and after, :func:`fxsim.evaluate` reports
the hardware, float and QKeras metrics on the validation data.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import numpy as np

from fxsim.finetuning.result import FineTuned


def _clone(model: Any):
    """A copy of ``model`` (architecture, quantizers, weights) to train, through an ``.h5`` round trip.

    The same path a user's saved model takes (QKeras 0.9.0 layers do not rebuild from
    ``model_from_json`` on TF 2.15).
    """
    import tempfile
    from pathlib import Path

    from fxsim.frontends.keras import load_model

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.h5"
        model.save(path)
        clone = load_model(path)
    clone.set_weights(model.get_weights())
    return clone


@contextlib.contextmanager
def _numba_single_thread():
    """numba's parallel kernels on one thread while training, restored afterwards.

    Every step converts a few thousand weights (:func:`fxsim.fixed.weight_codes`, a
    parallel numba kernel). Launching a parallel region on a busy machine waits for its
    threads: measured 70 ms per call on this 2-core host under load against 0.02 ms on
    one thread — 0.59 s of every 0.88 s training step of the top-tagging GRU.
    """
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _metric(metric: Any, n_outputs: int) -> tuple[str, Any]:
    """``(name, what fxsim.metrics.compute takes)`` of ``finetune``'s ``metric`` argument."""
    if metric is None:
        metric = "auc" if n_outputs == 1 else "accuracy"
    if isinstance(metric, str):
        if metric not in ("auc", "accuracy"):
            raise ValueError(f"metric must be 'auc', 'accuracy' or a callable f(labels, outputs), got {metric!r}")
        return metric, metric
    if callable(metric):
        name = getattr(metric, "__name__", "metric")
        return name, {name: metric}
    raise ValueError(f"metric must be 'auc', 'accuracy' or a callable f(labels, outputs), got {metric!r}")


def label_smoothing(logits_t: Any, n_classes: int, margin: float | None) -> float:
    """The smoothing ``eps`` whose cross-entropy optimum puts the logit (gap) at ``margin`` x the type's bound.

    Binary (``n_classes = 2``): labels ``y (1 - eps) + eps / 2``, optimal logit
    ``log((1 - eps/2) / (eps/2))``; softmax over ``K``: ``y (1 - eps) + eps / K``, optimal
    gap ``log((1 - eps + eps/K) / (eps/K))``. Both equal ``L`` for
    ``eps = 1 / (1 + (e**L - 1) / K)``, ``L = margin * min(-min, max)`` of ``logits_t``.
    0 without a margin or when the bound is wide (``L > 30``).
    """
    if margin is None:
        return 0.0
    if not 0.0 < margin <= 1.0:
        raise ValueError(f"logit_margin must be in (0, 1] or None, got {margin!r}")
    bound = margin * (min(-logits_t.min, logits_t.max) if logits_t.signed else logits_t.max)
    if bound > 30.0:
        return 0.0
    return float(1.0 / (1.0 + np.expm1(bound) / n_classes))


def _score(labels: np.ndarray, outputs: np.ndarray, metric: tuple[str, Any]) -> float | None:
    from fxsim.metrics import compute

    return compute(labels, outputs, metric[1]).get(metric[0])


def finetune(
    model: Any,
    precision: Any,
    x: Any,
    y: Any,
    *,
    validation: tuple[Any, Any] | None = None,
    epochs: int = 5,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    progress: bool = True,
    seed: int = 0,
    metric: Any = None,
    logit_margin: float | None = 0.75,
    evaluate_before_after: bool = True,
    **hls4ml_options: Any,
) -> FineTuned:
    """Fine-tune a Keras/QKeras model through hls4ml's exact arithmetic at ``precision``.

    Parameters
    ----------
    model : Keras/QKeras model or ``.h5`` path (not modified: a copy is trained).
    precision : precision spec, as for :func:`fxsim.emulate`.
    x, y : training inputs ``(n, *input_shape)`` and labels (0/1 for one sigmoid output;
        integers or one-hot for softmax).
    validation : ``(x_val, y_val)``: scored every epoch with the hardware arithmetic; the
        best epoch is kept (guards against overfitting) and :func:`fxsim.evaluate` reports
        before/after metrics on it.
    epochs, batch_size, learning_rate : the Adam loop.
    progress : tqdm progress bars.
    seed : shuffling seed.
    metric : the validation metric that picks the best epoch: ``"auc"`` (default for one
        output), ``"accuracy"`` (default otherwise) or a callable ``f(labels, outputs) -> float``
        (e.g. a b-vs-light AUC), named by its ``__name__``.
    logit_margin : smooth the labels so that the loss's optimal logit is this share of the
        logits' type's largest value (:func:`label_smoothing`); ``None``: plain labels.
    evaluate_before_after : run :func:`fxsim.evaluate` before and after (needs ``validation``).
    **hls4ml_options : passed to :func:`fxsim.emulate`.

    Returns
    -------
    FineTuned : ``.model`` (trained copy, same architecture and quantizers), ``.hls_config``
        (the resolved precision to convert it with), ``.history``, ``.before``/``.after``.

    Raises
    ------
    fxsim.finetuning.graph.GraphError : a layer the exact graph cannot express (named).
    ValueError : bad inputs or labels, bad settings.
    """
    import tensorflow as tf
    from tqdm.auto import tqdm

    from fxsim.evaluate import check_inputs, emulate, evaluate
    from fxsim.finetuning.graph import ExactGraph
    from fxsim.frontends.keras import input_shape, load_model
    from fxsim.metrics import check_labels

    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    original = load_model(model)
    shape = input_shape(original)
    x = check_inputs(x, shape)
    n_outputs = int(np.prod(original.output_shape[1:]))
    labels = check_labels(y, x.shape[0], n_outputs)
    if validation is not None:
        xv = check_inputs(validation[0], shape)
        yv = check_labels(validation[1], xv.shape[0], n_outputs)
    scoring = _metric(metric, n_outputs)
    reported = None if metric is None else scoring[1]  # fxsim.evaluate's metrics (default: all built-in ones)

    emu = emulate(original, precision, **hls4ml_options)
    hls_config = emu.hls_config
    tuned = _clone(original)
    graph = ExactGraph(emu, tuned)
    seconds["prepare"] = time.perf_counter() - t0

    before: dict = {}
    if validation is not None and evaluate_before_after:
        t = time.perf_counter()
        before = evaluate(original, hls_config, xv, yv, reported, progress=False).metrics
        seconds["evaluate_before"] = time.perf_counter() - t

    variables = graph.variables
    optimizer = tf.keras.optimizers.Adam(learning_rate=learning_rate)
    if n_outputs == 1:
        target = labels.reshape(-1, 1).astype(np.float64)
    else:
        target = np.eye(n_outputs)[labels] if labels.ndim == 1 else labels.astype(np.float64)

    eps = 0.0
    if graph.logit_kind is not None:
        eps = label_smoothing(graph.layers[-1].spec.input_t, max(2, n_outputs), logit_margin)
        target = target * (1.0 - eps) + eps / max(2, n_outputs)

    def loss_fn(out, logits, yb):
        if graph.logit_kind == "sigmoid":
            return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(yb, logits))
        if graph.logit_kind == "softmax":
            return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(yb, logits))
        if n_outputs == 1:
            p = tf.clip_by_value(out, 1e-6, 1.0 - 1e-6)
            return -tf.reduce_mean(yb * tf.math.log(p) + (1.0 - yb) * tf.math.log(1.0 - p))
        return tf.reduce_mean(tf.square(out - yb))

    @tf.function(reduce_retracing=True)
    def train_step(xb, yb, feeds):
        with tf.GradientTape() as tape:
            out, logits = graph.forward(xb, feeds)
            loss = loss_fn(out, logits, yb)
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return loss

    x_values = graph.input_values(x)  # input_t(x) once: data need no gradient
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    history: list[dict] = []
    best = (-np.inf, 0, [v.numpy() for v in variables])
    if validation is not None:
        score0 = _score(yv, _outputs(graph, xv), scoring)
        best = (score0 if score0 is not None else -np.inf, 0, best[2])
    with _numba_single_thread():
        for epoch in range(1, epochs + 1):
            t = time.perf_counter()
            order = rng.permutation(n)
            losses = []
            # whole batches only (one traced step; the order is reshuffled every epoch: no sample is left out for good)
            n_used = n if n <= batch_size else n - n % batch_size
            desc = f"finetune epoch {epoch}/{epochs}"
            with tqdm(total=n_used, desc=desc, unit="sample", disable=not progress) as bar:
                for s in range(0, n_used, batch_size):
                    idx = order[s:s + batch_size]
                    ts = time.perf_counter()
                    feeds = [(tf.constant(v, tf.float64), tf.constant(m, tf.float64)) for v, m in graph.feeds()]
                    loss = train_step(tf.constant(x_values[idx]), tf.constant(target[idx]), feeds)
                    losses.append(float(loss) * len(idx))
                    if "trace" not in seconds:  # the first step builds the graph
                        seconds["trace"] = time.perf_counter() - ts
                        t += seconds["trace"]
                    bar.update(len(idx))
            entry = {"epoch": epoch, "loss": float(np.sum(losses) / n_used), "seconds": time.perf_counter() - t,
                     "samples": int(n_used)}
            if validation is not None:
                score = _score(yv, _outputs(graph, xv), scoring)
                entry["val_metric"] = score
                if score is not None and score > best[0]:
                    best = (score, epoch, [v.numpy() for v in variables])
            else:
                best = (-np.inf, epoch, [v.numpy() for v in variables])
            history.append(entry)
    for v, value in zip(variables, best[2]):
        v.assign(value)
    seconds["train"] = sum(h["seconds"] for h in history) + seconds.get("trace", 0.0)

    after: dict = {}
    if validation is not None and evaluate_before_after:
        t = time.perf_counter()
        after = evaluate(tuned, hls_config, xv, yv, reported, progress=False).metrics
        seconds["evaluate_after"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0
    return FineTuned(model=tuned, hls_config=hls_config, history=history, before=before, after=after,
                     metric=scoring[0], best_epoch=int(best[1]), seconds=seconds, label_smoothing=eps)


def _outputs(graph: Any, x: np.ndarray) -> np.ndarray:
    """The hardware's float outputs (``float(result_t)``) from the exact graph."""
    return np.ldexp(graph.predict_codes(x).astype(np.float64), -graph.output_t.frac)
