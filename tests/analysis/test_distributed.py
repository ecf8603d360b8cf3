"""Scans on a Dask cluster give exactly the serial results, on real worker processes.

A ``LocalCluster`` of two worker processes, and a ``dask scheduler`` with two ``dask
worker`` processes started on 127.0.0.1 (random ports), one of which is killed while it
holds tasks: the evaluations, and the selection made from them, equal the serial ones.
The worker killed may hold the only copy of the shipped study (scattered data cannot be
recomputed); tests that start the workers in turn make sure it does, before and during
an evaluation, and with no retries left the lost points are reported.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from distributed import Client, LocalCluster  # noqa: E402

from fxsim.analysis.distributed import ClusterEvaluationError, DaskEvaluator, PayloadLostError  # noqa: E402
from fxsim.analysis.space import Point  # noqa: E402
from fxsim.analysis.study import Study  # noqa: E402

pytestmark = pytest.mark.keras2

DASK = Path(sys.executable).with_name("dask")


def grid(study: Study) -> list[Point]:
    """Uniform points from too narrow (metric near 0.5) to plenty, plus a point hls4ml rejects."""
    points = [study.space.uniform(i, f) for i in (0, 1, 3) for f in (1, 3, 6, 9)]
    rejected = study.space.uniform(20, 40)  # 61-bit types: products wider than fxsim's 62 bits
    return points + [rejected]


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    c = Client(cluster)
    try:
        c.wait_for_workers(2, timeout=60)
        yield c
    finally:
        c.close()
        cluster.close()


@pytest.fixture(scope="module")
def fresh_study(gru_model, gru_data):
    """A study like ``gru_study`` with nothing evaluated yet."""
    x, y = gru_data
    return Study(gru_model, x, y, holdout=0.5, progress=False)


def test_local_cluster_gives_the_serial_evaluations(gru_study, fresh_study, client):
    points = grid(gru_study)
    serial = [gru_study.lookup(p) for p in points]
    with DaskEvaluator(fresh_study, client) as ev:
        remote = ev.evaluate(points, "test grid")
        assert len(ev.workers()) == 2
        builds = ev.builds()
    assert [r.metric for r in remote] == [s.metric for s in serial]
    assert [r.error for r in remote] == [s.error for s in serial]
    assert remote[-1].metric == float("-inf") and remote[-1].error  # rejected by hls4ml/fxsim, on both paths
    assert sorted(builds.values()) == [1, 1]  # each worker rebuilt the study once, whatever it evaluated
    accepted = sum(1 for s in serial if not s.error)
    assert fresh_study.timing.evaluations == accepted  # counted as the serial path counts


def test_selection_on_two_workers_is_the_serial_selection(gru_model, gru_data, client):
    from fxsim.analysis.pipeline import select_bits

    x, y = gru_data
    kwargs = dict(target=0.97, integers=(1, 2, 3), max_fractional=10, max_evaluations=60, verify=False)
    serial_study = Study(gru_model, x, y, holdout=0.5, progress=False)
    t0 = time.perf_counter()
    serial = select_bits(serial_study, **kwargs)
    t_serial = time.perf_counter() - t0

    dask_study = Study(gru_model, x, y, holdout=0.5, progress=False)
    with DaskEvaluator(dask_study, client) as ev:
        dask_study.backend = ev
        t0 = time.perf_counter()
        remote = select_bits(dask_study, **kwargs)
        t_dask = time.perf_counter() - t0
        assert ev.evaluations > 0
    assert dask_study.backend is None  # closing detaches it
    print(f"\nselect_bits on {len(x) // 2:,} search samples: serial {t_serial:.1f} s, "
          f"2 local workers {t_dask:.1f} s ({ev.evaluations} evaluations on the cluster)")
    assert remote.point == serial.point and remote.point is not None
    assert remote.metric == serial.metric and remote.metric_holdout == serial.metric_holdout
    assert remote.uniform.point == serial.uniform.point and remote.uniform.metric == serial.uniform.metric
    assert [(r.integer, r.fractional, r.metric) for r in remote.uniform_rows] == \
           [(r.integer, r.fractional, r.metric) for r in serial.uniform_rows]
    assert [(s.move, s.metric) for s in remote.search.steps] == [(s.move, s.metric) for s in serial.search.steps]
    assert remote.fxsim_configs == serial.fxsim_configs


def test_a_failing_evaluation_is_reported_not_scored(fresh_study, client):
    bad = Point({("gru", "result"): "not a type"})  # fails on the worker (no FixedType), every retry
    with DaskEvaluator(fresh_study, client, retries=1) as ev:
        with pytest.raises(ClusterEvaluationError, match=r"1 of 2 evaluations failed") as info:
            ev.evaluate([fresh_study.space.uniform(2, 6), bad])
    assert info.value.failures[0][0] is bad


def test_start_needs_one_of_scheduler_or_workers(fresh_study):
    with pytest.raises(ValueError, match="either a scheduler address or a number of local workers"):
        DaskEvaluator.start(fresh_study)
    with pytest.raises(ValueError, match="workers must be >= 1"):
        DaskEvaluator.start(fresh_study, workers=0)


# --- a scheduler and workers started as on a real cluster -------------------------------------


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"gave up after {timeout:g} s waiting for {what}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


class CliCluster:
    """``dask scheduler`` on 127.0.0.1 (random port); ``dask worker`` processes (no nannies) started on demand."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.workers: dict[str, subprocess.Popen] = {}
        file = tmp_path / "scheduler.json"
        self.scheduler = subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                           "--no-dashboard", "--scheduler-file", str(file)], env=dict(os.environ),
                                          stdout=subprocess.DEVNULL, stderr=open(tmp_path / "scheduler.log", "w"))
        self.address = _wait(lambda: file.exists() and file.stat().st_size and json.loads(file.read_text())["address"],
                             30, "the scheduler file")

    def start_worker(self, name: str) -> subprocess.Popen:
        self.workers[name] = subprocess.Popen(
            [str(DASK), "worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--host",
             "127.0.0.1", "--name", name, "--local-directory", str(self.tmp / name)], env=dict(os.environ),
            stdout=subprocess.DEVNULL, stderr=open(self.tmp / f"{name}.log", "w"))
        return self.workers[name]

    def kill(self, name: str) -> None:
        self.workers[name].kill()
        self.workers[name].wait(timeout=15)

    def stop(self) -> None:
        for proc in [*self.workers.values(), self.scheduler]:
            _stop(proc)


@pytest.fixture
def cli_cluster(tmp_path):
    """A scheduler and no workers yet (each test starts its workers, in its own order)."""
    cluster = CliCluster(tmp_path)
    try:
        yield cluster
    finally:
        cluster.stop()


def _address(ev: DaskEvaluator, name: str) -> str:
    info = ev.client.scheduler_info(n_workers=-1)["workers"]
    return next(a for a, w in info.items() if w["name"] == name)


def _holders(ev: DaskEvaluator) -> list[str]:
    """Addresses of the workers that hold the evaluator's shipped payload now."""
    return sorted(ev.client.who_has([ev._data]).get(ev._data.key, ()))


def _evaluate_in_thread(ev: DaskEvaluator, points: list[Point]) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run():
        try:
            out["result"] = ev.evaluate(points)
        except BaseException as err:  # handed to the test, which raises it (a thread's error is otherwise lost)
            out["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _joined(thread: threading.Thread, out: dict, timeout: float) -> list:
    thread.join(timeout=timeout)
    assert not thread.is_alive(), "the evaluations did not finish after the worker was lost"
    if "error" in out:
        raise out["error"]
    return out["result"]


def test_scheduler_and_worker_processes_survive_a_lost_worker(gru_study, fresh_study, cli_cluster):
    cli_cluster.start_worker("w0")
    cli_cluster.start_worker("w1")
    points = grid(gru_study) + [gru_study.space.uniform(2, f) for f in range(1, 11)]
    serial = [gru_study.lookup(p).metric for p in points]
    ev = DaskEvaluator.start(fresh_study, scheduler=cli_cluster.address, timeout=30, progress=False)
    try:
        ev.client.wait_for_workers(2, timeout=60)
        victim_address = _address(ev, "w1")
        run, out = _evaluate_in_thread(ev, points)
        # kill w1 while it holds work (it is rebuilding the study or evaluating); it may hold the
        # only copy of the payload (dask's active memory manager drops extra replicas)
        _wait(lambda: ev.client.processing().get(victim_address), 60, "a task on worker w1")
        cli_cluster.kill("w1")
        assert [r.metric for r in _joined(run, out, 120)] == serial  # its tasks were re-run on w0
        assert victim_address not in ev.workers() and len(ev.workers()) == 1
    finally:
        ev.close()


def test_losing_the_only_copy_of_the_payload_before_evaluating(gru_study, fresh_study, cli_cluster):
    """The worker that holds the only copy of the shipped study dies: it is shipped again to the survivors."""
    cli_cluster.start_worker("w1")
    points = [gru_study.space.uniform(2, f) for f in range(1, 11)]
    serial = [gru_study.lookup(p) for p in points]
    ev = DaskEvaluator.start(fresh_study, scheduler=cli_cluster.address, timeout=30, progress=False)
    try:
        holder = _address(ev, "w1")
        assert _holders(ev) == [holder]  # scattered while w1 was the only worker
        cli_cluster.start_worker("w0")
        ev.client.wait_for_workers(2, timeout=60)
        assert _holders(ev) == [holder]  # w0 joined later, with no task yet: it has no copy
        cli_cluster.kill("w1")
        _wait(lambda: holder not in ev.workers(), 60, "the scheduler to notice w1 is gone")
        remote = ev.evaluate(points)
        assert [r.metric for r in remote] == [s.metric for s in serial]
        assert [r.error for r in remote] == [s.error for s in serial]
        assert _holders(ev) == [_address(ev, "w0")] and ev.reships == 1
    finally:
        ev.close()


def test_losing_the_only_copy_of_the_payload_while_evaluating(gru_study, fresh_study, cli_cluster):
    """Its tasks are cancelled by the scheduler (their input cannot be recomputed); they are submitted again."""
    cli_cluster.start_worker("w1")
    points = grid(gru_study)
    serial = [gru_study.lookup(p).metric for p in points]
    ev = DaskEvaluator.start(fresh_study, scheduler=cli_cluster.address, timeout=30, progress=False)
    try:
        holder = _address(ev, "w1")
        assert _holders(ev) == [holder]
        run, out = _evaluate_in_thread(ev, points)
        _wait(lambda: ev.client.processing().get(holder), 60, "a task on worker w1")
        cli_cluster.kill("w1")  # the only worker, and the only copy: every task loses its input
        cli_cluster.start_worker("w0")
        assert [r.metric for r in _joined(run, out, 120)] == serial
        assert ev.workers() == [_address(ev, "w0")] and _holders(ev) == ev.workers()
        assert ev.reships == 1
    finally:
        ev.close()


def test_losing_the_payload_with_no_retries_left_is_reported(gru_study, fresh_study, cli_cluster):
    """``retries=0``: the cancelled points are reported (never scored), each naming the lost payload."""
    cli_cluster.start_worker("w1")
    points = grid(gru_study)
    ev = DaskEvaluator.start(fresh_study, scheduler=cli_cluster.address, timeout=30, progress=False, retries=0)
    try:
        holder = _address(ev, "w1")
        run, out = _evaluate_in_thread(ev, points)
        _wait(lambda: ev.client.processing().get(holder), 60, "a task on worker w1")
        cli_cluster.kill("w1")
        with pytest.raises(ClusterEvaluationError, match=rf"{len(points)} of {len(points)} evaluations failed") as info:
            _joined(run, out, 120)
        assert sorted(p.key for p, _ in info.value.failures) == sorted(p.key for p in points)  # in any order
        assert all(isinstance(err, PayloadLostError) for _, err in info.value.failures)
        assert ev.reships == 0
    finally:
        ev.close()
