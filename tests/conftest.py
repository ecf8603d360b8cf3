"""Shared test plumbing: a tally of compared values that pytest prints at the end, hypothesis profiles.

Cross-checks against real C++ (ap_types headers, hls4ml C simulation) call
``tally(section, compared, mismatches)``; the terminal summary prints one line per
section, so a run shows how much was compared, not only that it passed. Works
with pytest-xdist: workers append to one file, the controller prints it.

Environments (``docs/environments.md``): every test module says in its ``pytestmark`` what it needs:
``core`` (numpy, numba, hls4ml: runs in both environments) or one or more of ``keras2``, ``keras3``,
``torch``, ``data``; a test may add needs with its own marker. A module without such a marker is a
collection error; a test importing a framework its markers do not name fails; tests whose needs
this environment lacks are not collected (the report header says so).
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib.util
import json
import os
import sys
from collections import defaultdict
from importlib import metadata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

# Property tests are reproducible by default: a derandomized profile (the same examples on
# every run and machine, no example database), so a failure in CI fails again locally.
# FXSIM_HYPOTHESIS=explore draws fresh random examples (failures kept under .cache/) to hunt for bugs.
# (the function-scoped fixture they take is the stateless ``record``)
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=_SLOW_OK)
settings.register_profile("explore", deadline=None, suppress_health_check=_SLOW_OK,
                          database=DirectoryBasedExampleDatabase(
                              str(Path(__file__).resolve().parents[1] / ".cache" / "hypothesis")))
settings.load_profile(os.environ.get("FXSIM_HYPOTHESIS", "ci"))

REPORT_DIR = Path(__file__).resolve().parents[1] / ".cache" / "test-report"
ENV = "FXSIM_TEST_TALLY"


def pytest_configure(config):
    _configure_environments(config)
    if not hasattr(config, "workerinput"):  # controller (or no xdist): one file per run,
        REPORT_DIR.mkdir(parents=True, exist_ok=True)  # inherited by the xdist workers
        path = REPORT_DIR / f"tally-{os.getpid()}.jsonl"
        path.write_text("")
        os.environ[ENV] = str(path)


def tally(section: str, compared: int, mismatches: int, what: str = "values") -> None:
    """Record ``compared`` outputs with ``mismatches`` disagreements under ``section``."""
    with open(os.environ[ENV], "a") as fh:
        fh.write(json.dumps({"section": section, "compared": int(compared),
                             "mismatches": int(mismatches), "what": what, "pid": os.getpid()}) + "\n")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if hasattr(config, "workerinput"):
        return
    report = Path(os.environ[ENV])
    lines = report.read_text().splitlines() if report.exists() else []
    report.unlink(missing_ok=True)
    totals = defaultdict(lambda: [0, 0, 0, ""])
    for line in lines:
        row = json.loads(line)
        t = totals[row["section"]]
        t[0] += 1
        t[1] += row["compared"]
        t[2] += row["mismatches"]
        t[3] = row["what"]
    if not totals:
        return
    terminalreporter.section("bit-exact comparisons")
    for section in sorted(totals):
        checks, compared, bad, what = totals[section]
        terminalreporter.write_line(
            f"{section}: {checks} checks, {compared:,} {what} compared, {bad} mismatches"
        )


@pytest.fixture
def record():
    return tally


# --- environments: what each test needs, and what this environment provides --------------------

NEEDS = ("keras2", "keras3", "torch", "data")
ENV_MARKERS = ("core", *NEEDS)
# the top-level modules a need lets a test import (torch is Keras 3's backend here); a test importing
# one of FRAMEWORKS that its needs do not allow fails, so a core test cannot quietly need TensorFlow
ALLOWS = {
    "keras2": {"tensorflow", "qkeras", "tf_keras", "tensorflow_model_optimization", "keras"},
    "keras3": {"keras", "torch"},
    "torch": {"torch"},
    "data": {"pythia8mc", "fastjet", "awkward"},
}
FRAMEWORKS = frozenset().union(*ALLOWS.values())
WHERE = {"keras2": ".venv", "keras3": ".venv-keras3", "torch": ".venv-keras3", "data": ".venv"}


def _installed(need: str) -> bool:
    """Whether ``need``'s packages are installed here (found, not imported)."""
    if need == "keras3":
        try:
            return int(metadata.version("keras").split(".")[0]) >= 3
        except metadata.PackageNotFoundError:
            return False
    modules = {"keras2": ("tensorflow", "qkeras"), "torch": ("torch",), "data": ("pythia8mc", "fastjet", "awkward")}
    return all(importlib.util.find_spec(m) is not None for m in modules[need])


def pytest_addoption(parser):
    parser.addoption("--fxsim-env", default=None, metavar="NEEDS",
                     help="the needs this environment provides, comma-separated from "
                          f"{', '.join(NEEDS)} (core always): only tests needing no more are collected, and "
                          "a need whose packages are missing is an error. Default: whatever is installed.")


_PROVIDES = pytest.StashKey[frozenset]()


def _provides(config) -> frozenset:
    return config.stash[_PROVIDES]


@functools.cache
def declared(path: Path) -> frozenset | None:
    """The environment markers of a test module's module-level ``pytestmark`` (read, not imported)."""
    tree = ast.parse(path.read_text(), str(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark"
                                                for t in node.targets):
            return frozenset(n.attr for n in ast.walk(node.value)
                             if isinstance(n, ast.Attribute) and n.attr in ENV_MARKERS
                             and isinstance(n.value, ast.Attribute) and n.value.attr == "mark")
    return None


def _declaration_error(path: Path) -> str | None:
    marks = declared(path)
    if not marks:
        return (f"{path.name} declares no environment: add a module-level "
                f"pytestmark with one of pytest.mark.{', pytest.mark.'.join(ENV_MARKERS)} "
                "(core: numpy, numba and hls4ml only; runs in both environments)")
    if "core" in marks and len(marks) > 1:
        return f"{path.name}: pytestmark says core (needs nothing) and {sorted(marks - {'core'})}; keep one"
    return None


def _missing(config, needs) -> list[str]:
    return sorted(set(needs) - {"core"} - _provides(config))


def _where(missing) -> str:
    return " and ".join(sorted({WHERE[n] for n in missing}))


def pytest_ignore_collect(collection_path, config):
    # a module needing what this environment lacks is not imported (explicit paths get a skip below)
    if collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        if not _declaration_error(collection_path) and _missing(config, declared(collection_path)):
            return True
    return None


class _Refused(pytest.Module):
    """A test module not imported here: an undeclared environment (error) or a missing need (skip)."""

    reason = ""
    error = False

    def collect(self):
        if self.error:
            raise self.CollectError(self.reason)
        pytest.skip(self.reason, allow_module_level=True)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path, parent):
    error = _declaration_error(module_path)
    missing = [] if error else _missing(parent.config, declared(module_path))
    if error or missing:
        node = _Refused.from_parent(parent, path=module_path)
        node.error = bool(error)
        node.reason = error or (f"{module_path.relative_to(parent.config.rootpath)} needs {', '.join(missing)}: "
                                f"runs in {_where(missing)}")
        return node
    return None


def _needs(item) -> frozenset:
    return frozenset(m.name for m in item.iter_markers() if m.name in NEEDS)


def pytest_collection_modifyitems(config, items):
    # a test may add needs to its module's (e.g. one keras2 test in a core module)
    keep, drop = [], []
    for item in items:
        (drop if _missing(config, _needs(item)) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config):
    provides = _provides(config)
    absent = [n for n in NEEDS if n not in provides]
    line = f"fxsim environment: core, {', '.join(sorted(provides)) or 'nothing else'}"
    if absent:
        line += f"; tests needing {', '.join(absent)} are not collected here (they run in {_where(absent)})"
    return line


# The import guard: while a test (or a test module's import) runs, an import in tests/ of a
# framework the test's needs do not allow fails the test. builtins.__import__ (import statements)
# and importlib.import_module (pytest.importorskip) are wrapped rather than a meta-path finder
# added, so that a module already in sys.modules is caught too.
_REAL_IMPORT = builtins.__import__
_REAL_IMPORT_MODULE = importlib.import_module
_FORBIDDEN: list = [frozenset(), ""]  # [modules a test may not import, what it declared]


def _forbidden(needs) -> frozenset:
    allowed = set().union(*(ALLOWS[n] for n in needs)) if needs else set()
    return FRAMEWORKS - allowed


def _check_import(name: str) -> None:
    top = name.partition(".")[0]
    if top not in _FORBIDDEN[0]:
        return
    frame = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(("_pytest", "importlib")):
        frame = frame.f_back  # pytest.importorskip: the importer is its caller
    importer = frame.f_globals.get("__name__", "") if frame is not None else ""
    if importer == "tests" or importer.startswith("tests."):
        need = sorted(n for n, mods in ALLOWS.items() if top in mods)
        pytest.fail(f"{importer} imports {top} in a test marked {_FORBIDDEN[1]}: mark the test "
                    f"or its module {' or '.join(need)} (pytestmark); such tests run in "
                    f"{_where(need)}", pytrace=False)


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0:
        _check_import(name)
    return _REAL_IMPORT(name, globals, locals, fromlist, level)


def _guarded_import_module(name, package=None):
    if not name.startswith("."):
        _check_import(name)
    return _REAL_IMPORT_MODULE(name, package)


def _guard(needs, what: str):
    _FORBIDDEN[:] = [_forbidden(needs), what]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    needs = _needs(item)
    _guard(needs, ", ".join(sorted(needs)) or "core")
    try:
        yield
    finally:
        _FORBIDDEN[:] = [frozenset(), ""]


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    guarded = isinstance(collector, pytest.Module) and not isinstance(collector, _Refused)
    if guarded:
        marks = declared(collector.path) or frozenset({"core"})
        _guard(marks - {"core"}, ", ".join(sorted(marks)))
    try:
        yield
    finally:
        if guarded:
            _FORBIDDEN[:] = [frozenset(), ""]


def _configure_environments(config) -> None:
    given = config.getoption("--fxsim-env")
    if given is None:
        provides = frozenset(n for n in NEEDS if _installed(n))
    else:
        provides = frozenset(n.strip() for n in given.split(",") if n.strip() and n.strip() != "core")
        unknown = sorted(provides - set(NEEDS))
        if unknown:
            raise pytest.UsageError(f"--fxsim-env: unknown need(s) {unknown}; known: {', '.join(NEEDS)}")
        absent = sorted(n for n in provides if not _installed(n))
        if absent:
            raise pytest.UsageError(f"--fxsim-env says this environment provides {', '.join(absent)}, but its "
                                    f"packages are not installed in {sys.prefix}")
    config.stash[_PROVIDES] = provides
    builtins.__import__ = _guarded_import
    importlib.import_module = _guarded_import_module


def pytest_unconfigure(config):
    if builtins.__import__ is _guarded_import:
        builtins.__import__ = _REAL_IMPORT
    if importlib.import_module is _guarded_import_module:
        importlib.import_module = _REAL_IMPORT_MODULE
