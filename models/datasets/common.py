"""What every benchmark generator shares: the dataset container, the on-disk
cache, parallel seeded chunks with progress, train/test split and scaling.

Reproducibility rule: a generator cuts its work into chunks of a *fixed* number
of jets (or sketches) per class, and chunk ``k`` of class ``c`` is seeded from
``(master seed, c, k)`` only. The worker count therefore changes speed, never
the data, and a small dataset is a prefix of a larger one with the same seed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# bump when a generator's output changes for the same settings, so caches refresh
FORMAT_VERSION = 1


@dataclass
class Dataset:
    """A generated benchmark split into train and test, ready for a model.

    Attributes
    ----------
    x_train, x_test : ndarray, float32, shape (n, steps, features)
        Scaled model inputs; padded steps are exactly zero.
    y_train, y_test : ndarray, int64, shape (n,)
        Integer class labels, indices into ``class_names``.
    feature_names, class_names : list of str
    settings : dict
        Everything that determined the data (generator, preset, n, seed, ...).
    scale : dict of str to ndarray
        The scaling fitted on the training split (e.g. ``mean``, ``std``),
        stored so raw values can be recovered and new data scaled alike.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: list[str]
    class_names: list[str]
    settings: dict
    scale: dict[str, np.ndarray] = field(default_factory=dict)

    def save(self, path: str | Path) -> Path:
        """Write the dataset as an ``.npz`` (atomically: no half-written caches)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {
            "x_train": self.x_train,
            "y_train": self.y_train,
            "x_test": self.x_test,
            "y_test": self.y_test,
            "feature_names": np.array(self.feature_names),
            "class_names": np.array(self.class_names),
            "settings": np.array(json.dumps(self.settings, sort_keys=True)),
        }
        arrays.update({f"scale_{k}": v for k, v in self.scale.items()})
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Dataset:
        """Read a dataset written by :meth:`save` (or ``fxsim data``)."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no dataset at {path}")
        with np.load(path, allow_pickle=False) as z:
            missing = {"x_train", "y_train", "x_test", "y_test", "settings"} - set(z.files)
            if missing:
                raise ValueError(f"{path} is not an fxsim dataset: missing {sorted(missing)}")
            return cls(
                x_train=z["x_train"],
                y_train=z["y_train"],
                x_test=z["x_test"],
                y_test=z["y_test"],
                feature_names=[str(s) for s in z["feature_names"]],
                class_names=[str(s) for s in z["class_names"]],
                settings=json.loads(str(z["settings"])),
                scale={k[len("scale_") :]: z[k] for k in z.files if k.startswith("scale_")},
            )

    def __repr__(self) -> str:
        return (
            f"Dataset({self.settings.get('generator')}, train {self.x_train.shape}, "
            f"test {self.x_test.shape}, classes {self.class_names})"
        )


def default_cache_dir() -> Path:
    """``$FXSIM_CACHE`` if set, else ``data/cache`` in the repository (git-ignored)."""
    env = os.environ.get("FXSIM_CACHE")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "data" / "cache"


def settings_key(settings: dict) -> str:
    """Short stable hash of the settings that determine a dataset."""
    blob = json.dumps({**settings, "format": FORMAT_VERSION}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def cache_path(settings: dict, cache_dir: str | Path | None = None) -> Path:
    """Where the dataset for ``settings`` is cached."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return root / f"{settings['generator']}-{settings_key(settings)}.npz"


def cached_or_build(
    settings: dict, build: Callable[[], Dataset], cache_dir: str | Path | None = None
) -> Dataset:
    """Return the cached dataset for ``settings``, building and caching it if absent."""
    path = cache_path(settings, cache_dir)
    if path.exists():
        data = Dataset.load(path)
        data.settings["cache"] = str(path)
        return data
    data = build()
    data.settings = dict(settings)
    data.save(path)
    data.settings["cache"] = str(path)
    return data


def check_common_args(n: int, workers: int | None, test_fraction: float) -> None:
    """Clear errors for arguments every generator shares."""
    if not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if workers is not None and workers <= 0:
        raise ValueError(f"workers must be positive, got {workers!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction!r}")


def per_class_counts(n: int, n_classes: int) -> list[int]:
    """Split ``n`` examples as evenly as possible over the classes."""
    if n < 2 * n_classes:
        raise ValueError(f"n={n} is too small: need at least {2 * n_classes} to fill train and test with every class")
    base, extra = divmod(n, n_classes)
    return [base + (1 if c < extra else 0) for c in range(n_classes)]


def chunk_tasks(counts: Sequence[int], chunk_size: int) -> list[tuple[int, int, int]]:
    """Tasks ``(class, chunk index, size)`` covering ``counts[c]`` examples per class."""
    tasks = []
    for c, n_c in enumerate(counts):
        for k, start in enumerate(range(0, n_c, chunk_size)):
            tasks.append((c, k, min(chunk_size, n_c - start)))
    return tasks


def _call(job):
    func, args, index = job
    return index, func(*args)


def start_method() -> str | None:
    """How to start the generator's worker processes; None: run the chunks in this process.

    ``fork`` is cheap and works from any script, but forking a process that already
    runs TensorFlow's threads can hang, so with TensorFlow loaded the workers are
    spawned. A spawned worker re-imports the main module: when that is a script whose
    top level calls the generator outside an ``if __name__ == "__main__":`` block, every
    worker would run the script again, so then there are no workers.
    """
    if "tensorflow" not in sys.modules:
        return "fork"
    return "spawn" if unguarded_main_call() is None else None


def unguarded_main_call() -> str | None:
    """``"script.py:line"`` of the main script's top-level statement running now, when it is not
    under ``if __name__ == "__main__":``; None when guarded or there is no main script (a notebook,
    an interactive session)."""
    import ast

    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    frame = sys._getframe(1)
    while frame is not None and not (frame.f_globals is getattr(main, "__dict__", None)
                                     and frame.f_code.co_name == "<module>"):
        frame = frame.f_back
    if path is None or frame is None or not Path(path).is_file():
        return None
    line = frame.f_lineno
    tree = ast.parse(Path(path).read_text(), filename=path)
    for node in ast.walk(tree):
        if (isinstance(node, ast.If) and ast.unparse(node.test).replace("'", '"')
                in ('__name__ == "__main__"', '"__main__" == __name__')
                and node.body[0].lineno <= line <= node.body[-1].end_lineno):
            return None
    return f"{path}:{line}"


def run_parallel(
    func: Callable,
    args_list: Sequence[tuple],
    weights: Sequence[int],
    workers: int | None,
    desc: str,
    unit: str = "jet",
    progress: bool = True,
) -> list:
    """Run ``func(*args)`` for every entry, in worker processes, with a tqdm bar.

    Parameters
    ----------
    func : callable
        A module-level function (it is pickled to the workers).
    args_list : sequence of tuple
    weights : sequence of int
        Progress units each call contributes (e.g. jets per chunk).
    workers : int or None
        Processes to use; None means one per core.
    desc, unit : str
        Progress bar label and unit.

    Returns
    -------
    list
        Results in the order of ``args_list`` (independent of completion order).
    """
    from tqdm import tqdm

    workers = min(workers or os.cpu_count() or 1, len(args_list))
    method = start_method() if workers > 1 else None
    if workers > 1 and method is None:
        warnings.warn(
            f"{unguarded_main_call()}: this script calls the {desc} generator outside an "
            "'if __name__ == \"__main__\":' block while TensorFlow is loaded; worker processes (spawned, because "
            "forking a process running TensorFlow can hang) would run the whole script again, so the data are "
            f"generated in this one process instead. Put the call under 'if __name__ == \"__main__\":' to use "
            f"{workers} processes (the data are the same either way).",
            RuntimeWarning, stacklevel=2,
        )
        workers = 1
    results: list = [None] * len(args_list)
    jobs = [(func, args, i) for i, args in enumerate(args_list)]
    with tqdm(total=int(sum(weights)), desc=desc, unit=unit, disable=not progress, smoothing=0.1) as bar:
        if workers <= 1:
            for job in jobs:
                i, res = _call(job)
                results[i] = res
                bar.update(weights[i])
        else:
            import multiprocessing as mp

            with mp.get_context(method).Pool(workers) as pool:
                for i, res in pool.imap_unordered(_call, jobs):
                    results[i] = res
                    bar.update(weights[i])
    return results


def split_train_test(
    x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle with ``seed`` and split, stratified so every class is in both parts."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xD5]))
    train_idx, test_idx = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = max(1, int(round(test_fraction * len(idx))))
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    train = rng.permutation(np.concatenate(train_idx))
    test = rng.permutation(np.concatenate(test_idx))
    return x[train], y[train], x[test], y[test]


def fit_standardizer(x: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Per-feature mean and std over the real (non-padded) steps of ``x``.

    Parameters
    ----------
    x : ndarray, shape (n, steps, features)
    mask : ndarray of bool, shape (n, steps)
        True for real steps; padding does not bias the statistics.
    """
    real = x[mask]
    if len(real) == 0:
        raise ValueError("cannot fit the scaling: the training data has no non-padded steps")
    mean = real.mean(axis=0)
    std = real.std(axis=0)
    std = np.where(std > 0, std, 1.0)  # a constant feature is only centred
    return {"mean": mean.astype(np.float32), "std": std.astype(np.float32)}


def apply_standardizer(x: np.ndarray, mask: np.ndarray, scale: dict[str, np.ndarray]) -> np.ndarray:
    """Standardise real steps with ``scale``; padded steps stay exactly zero."""
    out = (x - scale["mean"]) / scale["std"]
    out[~mask] = 0.0
    return out.astype(np.float32)


def jet_dataset(
    chunks: Sequence[np.ndarray],
    tasks: Sequence[tuple[int, int, int]],
    real_column: int,
    test_fraction: float,
    seed: int,
    features: Sequence[str],
    classes: Sequence[str],
    settings: dict,
) -> Dataset:
    """Labelled, split and standardised :class:`Dataset` from generated per-class chunks.

    ``tasks`` are :func:`chunk_tasks`' ``(label, index, size)``; a row whose
    ``real_column`` is positive is a real constituent or track (the others are padding
    and stay zero through the standardisation).
    """
    x = np.concatenate(chunks)
    y = np.concatenate([np.full(t[2], t[0], dtype=np.int64) for t in tasks])
    x_tr, y_tr, x_te, y_te = split_train_test(x, y, test_fraction, seed)
    mask_tr, mask_te = x_tr[..., real_column] > 0, x_te[..., real_column] > 0
    scale = fit_standardizer(x_tr, mask_tr)
    return Dataset(
        apply_standardizer(x_tr, mask_tr, scale),
        y_tr,
        apply_standardizer(x_te, mask_te, scale),
        y_te,
        list(features),
        list(classes),
        settings,
        scale,
    )
