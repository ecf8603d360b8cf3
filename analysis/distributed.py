"""Evaluate a study's precision points on a Dask cluster, with exactly the results of the serial path.

A :class:`DaskEvaluator` ships what a worker needs to rebuild the
:class:`~fxsim.analysis.study.Study` (the model as its saved ``.h5``/``.keras`` bytes,
the search samples and labels, the base hls4ml configuration, the metric and the
hls4ml options) once to every worker (``scatter(..., broadcast=True)``); each worker
rebuilds the study once (kept by the :class:`StudyCache` worker plugin) and runs the
same :meth:`Study.lookup <fxsim.analysis.study.Study.lookup>` the serial path runs, so
every metric, and therefore every selection made from them, is the serial one.

Tasks are one point each (an evaluation is tens of milliseconds of conversion plus the
prediction, so the scheduler's overhead is small and the load balances). The
scheduler re-runs the tasks of a worker that dies; a task that raises is retried
``retries`` times; whatever still fails is reported by :class:`ClusterEvaluationError`
naming the points, never scored silently.

Scattered data cannot be recomputed, and dask's active memory manager (``ReduceReplicas``,
on by default) drops the extra copies of the payload, so a worker that dies may take the
only copy with it. The scheduler then cancels every task that needs it ("lost
dependencies", "already forgotten"). Before each evaluation, and after a round whose tasks
were cancelled while the scheduler no longer held the payload, the payload is shipped
again to the surviving workers (the same token: a worker that already rebuilt the study
keeps it) and those points are submitted again, up to ``retries`` times. Cancellations
while the payload is still on the cluster are reported, as are the points still cancelled
after the last retry. None of this needs the scheduler's configuration changed.

Use it through the study (every search then runs on the cluster)::

    from fxsim.analysis.distributed import DaskEvaluator

    with DaskEvaluator.start(study, workers=4) as ev:     # or scheduler="tcp://host:8786"
        study.backend = ev
        sel = select_bits(study, 0.99)

or directly: ``ev.evaluate(points)`` returns one :class:`~fxsim.analysis.study.Evaluated`
per point, in order.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fxsim.analysis.space import Point
from fxsim.analysis.study import Evaluated, Study

#: Name of the worker plugin that keeps the rebuilt studies.
PLUGIN_NAME = "fxsim-studies"


class ClusterEvaluationError(RuntimeError):
    """Evaluations that failed on the cluster even after retries (or whose worker kept dying)."""

    def __init__(self, failures: list[tuple[Point, BaseException]], total: int):
        self.failures = failures
        lines = [f"{len(failures)} of {total} evaluations failed on the Dask cluster:"]
        for point, err in failures[:5]:
            lines.append(f"  {type(err).__name__}: {err}  (point {_describe(point)})")
        if len(failures) > 5:
            lines.append(f"  ... and {len(failures) - 5} more")
        super().__init__("\n".join(lines))


class PayloadLostError(RuntimeError):
    """The scheduler cancelled an evaluation because every worker holding the shipped study died,
    and the evaluator had no retries left to ship it again."""


def _describe(point: Point) -> str:
    try:
        text = point.key
    except Exception:  # a malformed point (the reason it failed) may have no key
        text = repr(point)
    return text if len(text) <= 120 else text[:117] + "..."


# --- what a worker receives -------------------------------------------------------------------


def model_bytes(model: Any) -> tuple[bytes, str]:
    """A Keras/QKeras model as the bytes of its saved file and the file's suffix (``.h5``, else ``.keras``)."""
    errors = []
    with tempfile.TemporaryDirectory(prefix="fxsim-dask-") as tmp:
        for suffix in (".h5", ".keras"):
            path = Path(tmp) / f"model{suffix}"
            try:
                model.save(str(path))
            except Exception as err:  # Keras raises many types; try the other format, then report both
                errors.append(f"{suffix}: {type(err).__name__}: {err}")
                continue
            return path.read_bytes(), suffix
    raise ValueError("cannot save the study's model to ship it to the workers (" + "; ".join(errors) + ")")


@dataclass(frozen=True, eq=False)
class StudyPayload:
    """Everything a worker needs to rebuild a :class:`Study` that scores points as the client's does.

    The search samples only: the held-out samples stay on the client
    (:meth:`Study.holdout_metric` runs there).
    """

    token: str
    model: bytes
    suffix: str
    x: np.ndarray
    y: np.ndarray
    base_config: dict
    metric: str
    options: dict
    layer_names: tuple[str, ...]

    @classmethod
    def from_study(cls, study: Study) -> StudyPayload:
        data, suffix = model_bytes(study.model)
        return cls(token=uuid.uuid4().hex, model=data, suffix=suffix, x=study.x, y=study.y,
                   base_config=study.base_config, metric=study.metric, options=dict(study.options),
                   layer_names=tuple(spec.name for spec in study.base_fx.layers))

    def build(self) -> Study:
        """The study, rebuilt from the saved model at the client's base configuration.

        Raises
        ------
        RuntimeError : the rebuilt study's base configuration or layers differ from the client's
            (its scores could differ; nothing is evaluated).
        """
        with tempfile.TemporaryDirectory(prefix="fxsim-dask-") as tmp:
            path = Path(tmp) / f"model{self.suffix}"
            path.write_bytes(self.model)
            # a complete hls4ml configuration (it has "Model") is used as given
            study = Study(str(path), self.x, self.y, precision=self.base_config, metric=self.metric, holdout=0.0,
                          progress=False, **self.options)
        names = tuple(spec.name for spec in study.base_fx.layers)
        if names != self.layer_names:
            raise RuntimeError(f"on this worker hls4ml builds layers {names}, on the client {self.layer_names}")
        if study.base_config != self.base_config:
            raise RuntimeError("on this worker hls4ml's base configuration differs from the client's "
                               "(different hls4ml or fxsim versions?)")
        return study


# --- the worker side ------------------------------------------------------------------------


try:
    from distributed import WorkerPlugin as _WorkerPlugin
except ImportError:  # without distributed the module still imports; DaskEvaluator says what is missing
    _WorkerPlugin = object


class StudyCache(_WorkerPlugin):
    """Worker plugin: the studies this worker rebuilt, by payload token (each built once)."""

    idempotent = True  # registering it again (a second evaluator) keeps the worker's studies

    def __init__(self):
        self.studies: dict[str, Study] = {}
        self.builds = 0
        self._lock: threading.Lock | None = None

    def setup(self, worker) -> None:
        self._lock = threading.Lock()

    def teardown(self, worker) -> None:
        self.studies.clear()

    def get(self, payload: StudyPayload) -> Study:
        """The study of ``payload``, rebuilt on first use (one build per worker, whatever its threads)."""
        with self._lock:
            if payload.token not in self.studies:
                self.studies[payload.token] = payload.build()
                self.builds += 1
            return self.studies[payload.token]

    def forget(self, token: str) -> None:
        with self._lock:
            self.studies.pop(token, None)


def _cache(worker=None) -> StudyCache:
    if worker is None:
        from distributed import get_worker

        worker = get_worker()
    plugin = worker.plugins.get(PLUGIN_NAME)
    if plugin is None:
        raise RuntimeError(f"this Dask worker has no {PLUGIN_NAME!r} plugin (register it with DaskEvaluator)")
    return plugin


def evaluate_on_worker(payload: StudyPayload, point: Point) -> Evaluated:
    """Task: the point's :class:`Evaluated`, by the worker's copy of the study (the serial path's code)."""
    return _cache().get(payload).lookup(point)


def _forget_on_worker(token: str, dask_worker=None) -> None:
    _cache(dask_worker).forget(token)  # client.run passes the worker as ``dask_worker``


def _builds_on_worker(dask_worker=None) -> int:
    return _cache(dask_worker).builds


# --- the client side ------------------------------------------------------------------------


class DaskEvaluator:
    """Evaluates a study's points on a Dask cluster; assign it to ``study.backend`` to route every search there.

    Parameters
    ----------
    study : the client's study (its model, search samples, base configuration, metric).
    client : a connected ``distributed.Client``.
    retries : times a task that raises is retried (a worker that dies has its tasks re-run by
        the scheduler, up to ``distributed.scheduler.allowed-failures`` times), and times the
        points whose tasks the scheduler cancelled because the workers holding the payload died
        are submitted again with the payload shipped anew.
    progress : tqdm bar over completed evaluations (default: the study's setting).
    owns : close ``client`` (and its cluster) in :meth:`close`.
    """

    def __init__(self, study: Study, client, retries: int = 2, progress: bool | None = None, owns: bool = False):
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.study = study
        self.client = client
        self.retries = int(retries)
        self.progress = study.progress if progress is None else progress
        self.owns = owns
        self.wall_s = 0.0
        self.evaluations = 0
        self.payload = StudyPayload.from_study(study)
        client.register_plugin(StudyCache(), name=PLUGIN_NAME)
        self._data = self._ship()
        self.reships = 0  # times the payload was shipped again after the workers holding it died

    def _ship(self):
        """The payload scattered to every worker now, straight from here (not through the scheduler).

        Workers that join later fetch it from a peer; dask's active memory manager may then drop
        the extra replicas, down to one (see :meth:`_payload_held`).
        """
        return self.client.scatter(self.payload, broadcast=True, hash=False)

    def _payload_held(self) -> bool:
        """Whether some worker still holds the shipped payload.

        The scheduler's view: after the only worker holding it died, the future's status stays
        "finished" for a while, then turns "cancelled" (the scheduler forgot the key).
        """
        from concurrent.futures import CancelledError

        if self._data.status != "finished":
            return False
        try:
            return bool(self.client.who_has([self._data]).get(self._data.key))
        except CancelledError:  # cancelled between the look at its status and the question
            return False

    def _reship(self) -> None:
        old, self._data = self._data, self._ship()
        self.reships += 1
        self.client.cancel([old])  # its key is gone from the scheduler; drop the client's reference too

    @classmethod
    def start(cls, study: Study, scheduler: str | None = None, workers: int | None = None, timeout: float = 60.0,
              **kwargs: Any) -> DaskEvaluator:
        """Connect to the cluster at ``scheduler`` or start a local one of ``workers`` processes.

        Parameters
        ----------
        scheduler : address of a running scheduler (``tcp://host:8786``, or ``host:port``).
        workers : number of local worker processes (one thread each).
        timeout : seconds to wait for the scheduler and for the first worker.
        **kwargs : :class:`DaskEvaluator` options (``retries``, ``progress``).
        """
        try:
            from distributed import Client, LocalCluster
        except ImportError as err:
            raise ImportError("scans on a cluster need dask's distributed scheduler: pip install 'dask[distributed]'") \
                from err
        if (scheduler is None) == (workers is None):
            raise ValueError("give either a scheduler address or a number of local workers")
        if workers is not None:
            if workers < 1:
                raise ValueError(f"workers must be >= 1, got {workers}")
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
        else:
            try:
                client = Client(scheduler, timeout=timeout)
            except OSError as err:
                raise ConnectionError(f"no Dask scheduler answers at {scheduler!r} within {timeout:g} s: {err}") \
                    from err
        try:
            client.wait_for_workers(1, timeout=timeout)
            return cls(study, client, owns=True, **kwargs)
        except BaseException:
            _close(client)
            raise

    # --- evaluation ---------------------------------------------------------------------------
    def evaluate(self, points: Sequence[Point], desc: str | None = None) -> list[Evaluated]:
        """One :class:`Evaluated` per point, in order, computed on the cluster.

        The study's ``timing`` counts them as the serial path does (the per-evaluation times
        measured on the workers); :attr:`wall_s` adds up the wall-clock time here.

        Raises
        ------
        ClusterEvaluationError : some evaluations failed after their retries.
        """
        points = list(points)
        if not points:
            return []
        t0 = time.perf_counter()
        results: list[Evaluated | None] = [None] * len(points)
        failures: list[tuple[Point, BaseException]] = []
        bar = None
        if self.progress and len(points) > 1:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(points), desc=f"{desc or 'evaluations'} (dask)", unit="config", leave=False)

        def report(failed: list[tuple[int, BaseException]]) -> None:
            failures.extend((points[i], err) for i, err in failed)
            if bar is not None:
                bar.update(len(failed))  # done, as failures

        try:
            todo = list(range(len(points)))
            rounds = 0
            while todo:
                if not self._payload_held():  # its workers died since it was shipped (or in the last round)
                    try:
                        self._reship()
                    except Exception as err:  # no worker left to take it (scatter timed out), or the client is gone
                        report([(i, err) for i in todo])
                        break
                cancelled = self._round(points, todo, results, failures, bar)
                if not cancelled:
                    break
                # cancelled by the scheduler, not failed by the task: submitted again only when the
                # payload was lost with its workers (otherwise someone cancelled them: reported)
                try:
                    lost = not self._payload_held()
                except Exception:  # the scheduler does not answer: report the cancellations as they are
                    lost = False
                if not lost:
                    report(cancelled)
                    break
                if rounds >= self.retries:
                    report([(i, PayloadLostError(f"the workers holding the shipped study died (submitted again "
                                                 f"{rounds} times, retries={self.retries}); {err}"))
                            for i, err in cancelled])
                    break
                rounds += 1
                todo = [i for i, _ in cancelled]
        finally:
            if bar is not None:
                bar.close()
            self.wall_s += time.perf_counter() - t0
        if failures:
            raise ClusterEvaluationError(failures, len(points))
        timing = self.study.timing
        for ev in results:
            if not ev.error:  # as Study._evaluate_one counts: evaluations hls4ml accepted
                timing.evaluations += 1
                timing.convert_s += ev.convert_s
                timing.predict_s += ev.predict_s
                timing.per_call.append(ev.convert_s + ev.predict_s)
        self.evaluations += len(points)
        return results

    def _round(self, points: list[Point], todo: list[int], results: list, failures: list, bar) -> list:
        """Submit the points ``todo``; store results and task errors; return the cancelled ``(index, error)``."""
        from concurrent.futures import CancelledError

        from distributed import as_completed

        futures = [self.client.submit(evaluate_on_worker, self._data, points[i], retries=self.retries, pure=False,
                                      key=f"fxsim-point-{self.payload.token[:8]}-{uuid.uuid4().hex}")
                   for i in todo]
        where = {f.key: i for f, i in zip(futures, todo)}
        cancelled = []
        for fut in as_completed(futures):
            i = where[fut.key]
            # result() rather than a look at fut.status: a result held by a worker that dies
            # after as_completed yielded it turns "lost"/"pending" (exception() is then None)
            # and dask recomputes it; result() waits for that, and raises the task's error
            # (after retries; KilledWorker when its workers kept dying) or CancelledError
            # (the scheduler cancelled it: its payload was lost with the workers holding it).
            try:
                results[i] = fut.result()
            except CancelledError as err:
                cancelled.append((i, err))
                continue  # not done yet: the caller may submit it again
            except BaseException as err:
                failures.append((points[i], err))
            if bar is not None:
                bar.update(1)
        return cancelled

    def metrics(self, points: Sequence[Point], desc: str | None = None) -> list[float]:
        """The hardware metric of each point: the ``evaluate(points) -> list[float]`` of the searches."""
        return [ev.metric for ev in self.evaluate(points, desc)]

    # --- the cluster --------------------------------------------------------------------------
    def workers(self) -> list[str]:
        """Addresses of the cluster's workers now."""
        return sorted(self.client.scheduler_info(n_workers=-1)["workers"])

    def builds(self) -> dict[str, int]:
        """Per worker address, how many studies it has rebuilt (one per evaluator it served)."""
        return self.client.run(_builds_on_worker)

    def close(self) -> None:
        """Drop the shipped data and the workers' studies; close the client (and cluster) when owned."""
        try:
            if self.client.status == "running":
                self.client.run(_forget_on_worker, self.payload.token)
                self.client.cancel([self._data])
        finally:
            if self.owns:
                _close(self.client)
            if getattr(self.study, "backend", None) is self:
                self.study.backend = None

    def __enter__(self) -> DaskEvaluator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DaskEvaluator({self.client.scheduler.address if self.client.scheduler else '?'}, " \
               f"{self.evaluations} evaluations)"


def _close(client) -> None:
    cluster = client.cluster
    client.close()
    if cluster is not None:
        cluster.close()

