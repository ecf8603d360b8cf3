"""Classification metrics for :func:`fxsim.evaluate`: accuracy, ROC AUC, per class.

Two output shapes are understood:

* binary: one column (``(n,)`` or ``(n, 1)``), a sigmoid score; the predicted
  class is ``score > threshold`` (0.5). Labels are 0/1, shape ``(n,)`` or ``(n, 1)``.
* multiclass: ``k > 1`` columns (softmax); the predicted class is the argmax
  (first maximum, as numpy). Labels are integers ``(n,)`` or one-hot ``(n, k)``.

ROC AUC is scikit-learn's (``roc_auc_score``): binary on the score, multiclass
one-vs-rest (macro average) plus one AUC per class. Metrics that are undefined
for the given labels (AUC with one class present) are ``None``, never a made-up number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

BUILTIN = ("accuracy", "auc", "per_class")


def task_of(outputs: np.ndarray) -> str:
    """``"binary"`` for one output column, ``"multiclass"`` for several."""
    out = np.asarray(outputs)
    if out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1):
        return "binary"
    if out.ndim == 2:
        return "multiclass"
    raise ValueError(f"classification metrics need outputs of shape (n,) or (n, k), got {out.shape}")


def check_labels(y: Any, n: int, n_outputs: int) -> np.ndarray:
    """Integer class labels ``(n,)`` from 0/1, integer or one-hot labels; bad labels raise.

    Parameters
    ----------
    y : labels as given by the user.
    n : number of samples the labels must cover.
    n_outputs : number of model output columns (1 = binary).
    """
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"labels must be numeric, got dtype {arr.dtype}")
    if arr.shape[:1] != (n,):
        raise ValueError(f"labels have {arr.shape[0] if arr.ndim else 0} entries for {n} samples (shape {arr.shape})")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError("labels contain NaN or inf")
    n_classes = 2 if n_outputs == 1 else n_outputs
    if arr.ndim == 2 and arr.shape[1] == n_outputs and n_outputs > 1:
        if not np.all((arr == 0) | (arr == 1)) or not np.all(arr.sum(axis=1) == 1):
            raise ValueError("2-D labels must be one-hot (exactly one 1 per row)")
        return arr.argmax(axis=1).astype(np.int64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"labels of shape {arr.shape} do not fit a model with {n_outputs} output column(s); "
            f"expected (n,) integer labels{f' or (n, {n_outputs:d}) one-hot' if n_outputs > 1 else ''}"
        )
    if not np.all(arr == np.round(arr)):
        raise ValueError("labels must be whole numbers (class indices)")
    labels = arr.astype(np.int64)
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1} for {n_outputs} output column(s); "
                         f"found {labels.min()}..{labels.max()}")
    return labels


def predicted_class(outputs: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """The class each output row predicts (binary: score > threshold; else argmax)."""
    out = np.asarray(outputs, dtype=np.float64)
    if task_of(out) == "binary":
        return (out.reshape(-1) > threshold).astype(np.int64)
    return out.argmax(axis=1).astype(np.int64)


def _auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    if np.unique(labels).size < 2:
        return None
    return float(roc_auc_score(labels, scores))


def classification_metrics(labels: np.ndarray, outputs: np.ndarray, threshold: float = 0.5,
                           names: tuple[str, ...] = BUILTIN) -> dict[str, Any]:
    """Accuracy, ROC AUC and per-class figures of ``outputs`` against integer ``labels``.

    Returns ``{"accuracy": float, "auc": float | None, "per_class": {cls: {"accuracy",
    "auc", "count"}}}`` (only the requested ``names``). Per-class accuracy is the
    fraction of that class's samples predicted as it (recall); per-class AUC is one
    class against the rest.
    """
    out = np.asarray(outputs, dtype=np.float64)
    task = task_of(out)
    pred = predicted_class(out, threshold)
    result: dict[str, Any] = {}
    if "accuracy" in names:
        result["accuracy"] = float(np.mean(pred == labels))
    if task == "binary":
        scores = out.reshape(-1)
        if "auc" in names:
            result["auc"] = _auc(labels, scores)
        if "per_class" in names:
            result["per_class"] = {
                str(c): {"count": int(np.sum(labels == c)),
                         "accuracy": float(np.mean(pred[labels == c] == c)) if np.any(labels == c) else None}
                for c in (0, 1)
            }
        return result
    k = out.shape[1]
    if "auc" in names:
        present = np.unique(labels)
        if present.size < 2:
            result["auc"] = None
        else:
            aucs = [_auc((labels == c).astype(int), out[:, c]) for c in present]
            result["auc"] = float(np.mean([a for a in aucs if a is not None]))  # macro one-vs-rest
    if "per_class" in names:
        result["per_class"] = {}
        for c in range(k):
            mask = labels == c
            result["per_class"][str(c)] = {
                "count": int(mask.sum()),
                "accuracy": float(np.mean(pred[mask] == c)) if mask.any() else None,
                "auc": _auc(mask.astype(int), out[:, c]),
            }
    return result


def resolve_metrics(metric: Any) -> tuple[tuple[str, ...], dict[str, Callable]]:
    """Split a ``metric`` argument into built-in names and custom callables.

    ``None`` → all built-ins; a name or list of names from ``accuracy``, ``auc``,
    ``per_class``; a callable ``f(labels, outputs) -> float`` (named by its
    ``__name__``); or a dict ``{name: callable}``. Unknown names raise ``ValueError``.
    """
    if metric is None:
        return BUILTIN, {}
    items = metric if isinstance(metric, (list, tuple)) else [metric]
    names: list[str] = []
    custom: dict[str, Callable] = {}
    for item in items:
        if isinstance(item, str):
            if item not in BUILTIN:
                raise ValueError(
                    f"unknown metric {item!r}; built-in metrics: {', '.join(BUILTIN)} (or pass a callable)"
                )
            names.append(item)
        elif isinstance(item, Mapping):
            for key, fn in item.items():
                if not callable(fn):
                    raise ValueError(f"metric {key!r} is not callable")
                custom[str(key)] = fn
        elif callable(item):
            custom[getattr(item, "__name__", f"metric_{len(custom)}")] = item
        else:
            raise ValueError(f"metric must be a name, a callable or a dict of callables, got {type(item).__name__}")
    return tuple(names), custom


def compute(labels: np.ndarray, outputs: np.ndarray, metric: Any = None, threshold: float = 0.5) -> dict[str, Any]:
    """All requested metrics (built-in and custom) of one set of outputs."""
    names, custom = resolve_metrics(metric)
    result = classification_metrics(labels, outputs, threshold, names) if names else {}
    for name, fn in custom.items():
        value = fn(labels, np.asarray(outputs))
        result[name] = float(value) if np.ndim(value) == 0 else np.asarray(value).tolist()
    return result


def agreement(a: np.ndarray, b: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """How two sets of outputs for the same samples agree: same predicted class, output differences."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    diff = np.abs(a - b)
    return {
        "same_class": float(np.mean(predicted_class(a, threshold) == predicted_class(b, threshold))),
        "mean_abs_diff": float(diff.mean()),
        "max_abs_diff": float(diff.max()),
    }
