"""Float training and quantization-aware training (QAT) of the model zoo.

The seed recipe: train the float model, then QKeras models at total bits =
integer + fractional + 1, scanning integer bits {0, 2, 4} and fractional bits,
each with early stopping on the validation loss. QAT starts from the trained
float weights by default (``qat_init='float'``), which reaches the same
accuracy as training from scratch in far fewer epochs on a small machine.

Results go to ``<out>/metrics.json`` (merged by model name, so several runs
can fill one table) and to a Markdown table in ``<out>/README.md`` between
``<!-- metrics:start -->`` and ``<!-- metrics:end -->``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fxsim.models.architectures import TASKS, Quant, build_float, build_qkeras, check
from fxsim.models.datasets.common import Dataset

TABLE_START, TABLE_END = "<!-- metrics:start -->", "<!-- metrics:end -->"
METRIC_LABEL = {"toptag": "AUC", "btag": "b-vs-light AUC", "quickdraw": "accuracy"}
ARCH_LABEL = {"cnnlstm": "Conv1D+LSTM"}


@dataclass(frozen=True)
class FitConfig:
    """Optimiser and stopping settings shared by float and QAT training."""

    epochs: int = 60
    patience: int = 6
    batch_size: int = 256
    lr: float = 2e-3
    qat_lr_factor: float = 0.5
    validation_fraction: float = 0.2
    seed: int = 0
    verbose: int = 2

    def __post_init__(self):
        if self.epochs <= 0 or self.patience <= 0 or self.batch_size <= 0:
            raise ValueError("epochs, patience and batch_size must be positive")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must lie in (0, 1), got {self.validation_fraction}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and ask TF for deterministic kernels."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def task_of(data: Dataset) -> str:
    """The model-zoo task a dataset belongs to (from its generator)."""
    gen = data.settings.get("generator", "")
    task = "quickdraw" if gen.startswith("quickdraw") else gen
    if task not in TASKS:
        raise ValueError(f"dataset from generator {gen!r} matches no task; valid tasks: {', '.join(TASKS)}")
    if data.x_train.shape[1:] != TASKS[task].input_shape:
        raise ValueError(
            f"{task} models need inputs of shape {TASKS[task].input_shape}, "
            f"the dataset has {data.x_train.shape[1:]}"
        )
    return task


def fit(model, task: str, data: Dataset, cfg: FitConfig, lr: float) -> dict:
    """Compile and train ``model`` with early stopping; returns a short history."""
    import tensorflow as tf

    binary = TASKS[task].binary
    model.compile(
        optimizer=tf.keras.optimizers.Adam(lr),
        loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    n_val = max(1, int(len(data.x_train) * cfg.validation_fraction))
    # the generators shuffle before splitting, so the tail is a fair validation set
    x_tr, y_tr = data.x_train[:-n_val], data.y_train[:-n_val]
    x_va, y_va = data.x_train[-n_val:], data.y_train[-n_val:]
    callbacks = [
        tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True),
        tf.keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(2, cfg.patience // 2)),
    ]
    t0 = time.time()
    hist = model.fit(
        x_tr, y_tr, validation_data=(x_va, y_va), epochs=cfg.epochs, batch_size=cfg.batch_size,
        callbacks=callbacks, verbose=cfg.verbose, shuffle=True,
    )
    val = hist.history["val_loss"]
    return {"epochs": len(val), "best_val_loss": float(np.min(val)), "train_seconds": round(time.time() - t0, 1)}


def evaluate(task: str, model, x: np.ndarray, y: np.ndarray) -> dict:
    """Test metrics: AUC (top tagging), b-vs-light AUC (flavour), accuracy (all).

    Flavour tagging uses the discriminant p_b / (p_b + p_light) on b and light jets.
    """
    p = np.asarray(model.predict(x, batch_size=1024, verbose=0))
    return metrics_from_scores(task, p, y)


def metrics_from_scores(task: str, p: np.ndarray, y: np.ndarray) -> dict:
    """The metrics of :func:`evaluate` from model outputs ``p``."""
    from sklearn.metrics import roc_auc_score

    if TASKS[task].binary:
        p = p.reshape(-1)
        return {"auc": float(roc_auc_score(y, p)), "accuracy": float(np.mean((p > 0.5) == y))}
    out = {"accuracy": float(np.mean(np.argmax(p, axis=1) == y))}
    if task == "btag":
        sel = (y == 2) | (y == 0)
        disc = p[sel, 2] / (p[sel, 2] + p[sel, 0] + 1e-12)
        out["auc_b_vs_light"] = float(roc_auc_score(y[sel] == 2, disc))
        sel = (y == 1) | (y == 0)
        disc = p[sel, 1] / (p[sel, 1] + p[sel, 0] + 1e-12)
        out["auc_c_vs_light"] = float(roc_auc_score(y[sel] == 1, disc))
    return out


def headline(task: str, metrics: dict) -> float:
    """The single number a table shows for a task."""
    return metrics["auc"] if task == "toptag" else metrics["auc_b_vs_light"] if task == "btag" else metrics["accuracy"]


def train_models(
    data: Dataset,
    archs: list[str],
    quants: list[Quant],
    out_dir: str | Path,
    recipe: str = "default",
    cfg: FitConfig = FitConfig(),
    qat_init: str = "float",
    name_prefix: str | None = None,
) -> list[dict]:
    """Train float and QAT models for every architecture, save them, record metrics.

    Parameters
    ----------
    data : Dataset
        A generated dataset (its generator decides the task).
    archs : list of {'gru', 'lstm'}
    quants : list of Quant
        QAT widths; empty for float only.
    out_dir : path
        Models (``<name>.h5``), ``metrics.json`` and ``README.md`` table go here.
    recipe : {'default', 'seed'}
    cfg : FitConfig
    qat_init : {'float', 'scratch'}
        Start QAT from the trained float weights or from a fresh initialisation.
    name_prefix : str or None
        Model name prefix; default is the task name.

    Returns
    -------
    list of dict
        One metrics row per trained model.
    """
    task = task_of(data)
    for arch in archs:
        check(task, arch, recipe)
    if qat_init not in ("float", "scratch"):
        raise ValueError(f"qat_init must be 'float' or 'scratch', got {qat_init!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prefix = name_prefix or task
    dataset_info = _dataset_info(data)
    rows = []
    for arch in archs:
        set_seed(cfg.seed)
        fmodel = build_float(task, arch)
        hist = fit(fmodel, task, data, cfg, cfg.lr)
        rows.append(_save(fmodel, task, f"{prefix}_{arch}_float", arch, None, recipe, data, hist, out))
        update_metrics(out, rows[-1:], {task: dataset_info})  # after every model: a stopped run keeps its results
        for q in quants:
            set_seed(cfg.seed)
            qmodel = build_qkeras(task, arch, q, recipe)
            if qat_init == "float":
                qmodel.set_weights(fmodel.get_weights())
            suffix = "" if recipe == "default" else f"_{recipe}"
            hist = fit(qmodel, task, data, cfg, cfg.lr * cfg.qat_lr_factor)
            rows.append(_save(qmodel, task, f"{prefix}_{arch}_{q.tag}{suffix}", arch, q, recipe, data, hist, out))
            update_metrics(out, rows[-1:], {task: dataset_info})
    return rows


def _dataset_info(data: Dataset) -> dict:
    settings = {k: v for k, v in data.settings.items() if k != "cache"}
    return {
        "settings": settings,
        "n_train": int(len(data.x_train)),
        "n_test": int(len(data.x_test)),
        "feature_names": data.feature_names,
        "class_names": data.class_names,
        "scale": {k: np.asarray(v).tolist() for k, v in data.scale.items()},
    }


def _save(model, task, name, arch, quant, recipe, data, hist, out: Path) -> dict:
    metrics = evaluate(task, model, data.x_test, data.y_test)
    path = out / f"{name}.h5"
    model.save(path, include_optimizer=False)
    row = {
        "model": name,
        "file": path.name,
        "task": task,
        "arch": arch,
        "quant": quant.tag if quant else "float",
        "bits": quant.bits if quant else None,
        "integer": quant.integer if quant else None,
        "recipe": recipe if quant else None,
        "params": int(model.count_params()),
        "metrics": metrics,
        "headline": METRIC_LABEL[task],
        "dataset": f"{data.settings.get('generator')} {data.settings.get('preset')}"
        + (" fast" if data.settings.get("fast") else "")
        + f", {len(data.x_train)} train / {len(data.x_test)} test",
        **hist,
    }
    print(f"[train] {name}: {METRIC_LABEL[task]} = {headline(task, metrics):.4f} "
          f"({hist['epochs']} epochs, {hist['train_seconds']} s)")
    return row


def update_metrics(out: Path, rows: list[dict], datasets: dict) -> dict:
    """Merge ``rows`` into ``out/metrics.json`` and refresh the README table."""
    path = out / "metrics.json"
    current = json.loads(path.read_text()) if path.exists() else {"models": {}, "datasets": {}}
    for row in rows:
        current["models"][row["model"]] = row
    current["datasets"].update(datasets)
    current["models"] = dict(sorted(current["models"].items()))
    path.write_text(json.dumps(current, indent=1) + "\n")
    readme = out / "README.md"
    table = render_table(current)
    text = readme.read_text() if readme.exists() else f"# Trained models\n\n{TABLE_START}\n{TABLE_END}\n"
    if TABLE_START not in text or TABLE_END not in text:
        text += f"\n{TABLE_START}\n{TABLE_END}\n"
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    readme.write_text(f"{head}{TABLE_START}\n{table}{TABLE_END}{tail}")
    return current


def render_table(metrics: dict) -> str:
    """Markdown table: one row per task/architecture/recipe, one column per QAT width."""
    groups: dict[tuple, dict] = {}
    tags: set[str] = set()
    for row in metrics["models"].values():
        if row["quant"] == "float":
            continue
        tags.add(row["quant"] + ("" if row["recipe"] == "default" else f" ({row['recipe']})"))
    order = sorted(tags, key=lambda t: (int(t[1:].split("i")[0]), t))
    for row in metrics["models"].values():
        key = (row["task"], row["arch"])
        g = groups.setdefault(key, {"dataset": row["dataset"], "label": row["headline"], "float": None, "q": {},
                                    "params": row.get("params")})
        value = headline(row["task"], row["metrics"])
        if row["quant"] == "float":
            g["float"] = value
            g["dataset"] = row["dataset"]
        else:
            g["q"][row["quant"] + ("" if row["recipe"] == "default" else f" ({row['recipe']})")] = value
    def md_row(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |\n"

    out = md_row(["model", "dataset (test metric)", "float"] + [f"QKeras {t}" for t in order] + ["parameters"])
    out += md_row(["---"] * (4 + len(order)))
    for (task, arch), g in sorted(groups.items()):
        flt = f"{g['float']:.4f}" if g["float"] is not None else "–"
        cells = [f"{g['q'][t]:.4f}" if t in g["q"] else "–" for t in order]
        params = f"{g['params']:,}" if g["params"] is not None else "–"
        label = ARCH_LABEL.get(arch, arch.upper())
        out += md_row([f"{task} {label}", f"{g['dataset']} ({g['label']})", flt] + cells + [params])
    return out
