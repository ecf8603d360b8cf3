"""The shipped, trained models of the seed study (float and QKeras QAT).

Files live next to this module: ``<name>.h5`` per model, ``metrics.json``
(test metrics, training data settings and the input scaling each task's
models were trained with) and ``README.md`` (the metric table).

Example
-------
>>> from fxsim.models import zoo
>>> from fxsim.models.datasets import toptag
>>> model = zoo.load("toptag_gru_q8i2")
>>> data = toptag.generate(2000, seed=7)
>>> x, y = zoo.prepare_inputs("toptag_gru_q8i2", data)   # rescaled as in training
>>> scores = model.predict(x)
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

ZOO_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def metrics() -> dict:
    """The parsed ``metrics.json``: ``{'models': {name: row}, 'datasets': {task: info}}``."""
    path = ZOO_DIR / "metrics.json"
    if not path.exists():
        raise FileNotFoundError(f"no model zoo metrics at {path}")
    return json.loads(path.read_text())


def names() -> list[str]:
    """Names of the shipped models, e.g. ``toptag_gru_float``, ``toptag_lstm_q8i2``."""
    return list(metrics()["models"])


def info(name: str) -> dict:
    """The metrics row of one model (task, arch, widths, test metrics, dataset)."""
    models = metrics()["models"]
    if name not in models:
        raise ValueError(f"unknown zoo model {name!r}; available: {', '.join(models)}")
    return models[name]


def load(name: str):
    """Load a shipped model (QKeras custom objects included), uncompiled.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    """
    import tensorflow as tf

    from fxsim.models.architectures import custom_objects

    row = info(name)
    return tf.keras.models.load_model(ZOO_DIR / row["file"], custom_objects=custom_objects(), compile=False)


def prepare_inputs(name: str, data, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """Inputs of a generated dataset rescaled to the scaling model ``name`` was trained with.

    Every generator fits its scaling on its own training split, so a new
    dataset is undone to raw features and rescaled with the zoo's scaling.

    Parameters
    ----------
    name : str
    data : models.datasets.common.Dataset
    split : {'test', 'train', 'all'}

    Returns
    -------
    x, y : ndarray
    """
    row = info(name)
    task_info = metrics()["datasets"][row["task"]]
    if data.feature_names != task_info["feature_names"]:
        raise ValueError(f"{name} expects features {task_info['feature_names']}, the dataset has {data.feature_names}")
    if split == "test":
        x, y = data.x_test, data.y_test
    elif split == "train":
        x, y = data.x_train, data.y_train
    elif split == "all":
        x, y = np.concatenate([data.x_train, data.x_test]), np.concatenate([data.y_train, data.y_test])
    else:
        raise ValueError(f"split must be 'test', 'train' or 'all', got {split!r}")
    zoo_scale = {k: np.asarray(v, dtype=np.float32) for k, v in task_info["scale"].items()}
    if "factor" in zoo_scale:  # QuickDraw: offsets divided by one factor
        x = x.copy()
        x[..., :2] *= float(data.scale["factor"]) / float(zoo_scale["factor"])
        return x.astype(np.float32), y
    real = np.any(x != 0, axis=-1)
    raw = x * data.scale["std"] + data.scale["mean"]
    out = (raw - zoo_scale["mean"]) / zoo_scale["std"]
    out[~real] = 0.0
    return out.astype(np.float32), y
