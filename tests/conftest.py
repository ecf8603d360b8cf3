"""Shared test plumbing: a tally of compared values that pytest prints at the end, hypothesis profiles.

Cross-checks against real C++ (ap_types headers, hls4ml C simulation) call
``tally(section, compared, mismatches)``; the terminal summary prints one line per
section, so a run shows how much was compared, not only that it passed. Works
with pytest-xdist: workers append to one file, the controller prints it.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
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
