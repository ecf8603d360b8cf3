"""The fuzz campaign's guard: a C simulation that aborts ends a forked child, not the campaign.

``scripts/fuzz_csim.py`` runs hls4ml's build and C simulation of each trial in a forked child
(:func:`run_guarded`) because an ``assert`` in the compiled project (a ctypes call) aborts the
whole process; tests/frontends/test_torch_rf_abort.py has such a project.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.core

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fuzz_csim.py"


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("fuzz_csim_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_result_comes_back(fuzz):
    out = fuzz.run_guarded(lambda: {"codes": [1, 2, 3]}, 60)
    assert out["ok"] == {"codes": [1, 2, 3]}


def test_exception_comes_back(fuzz):
    out = fuzz.run_guarded(lambda: 1 // 0, 60)
    assert isinstance(out["error"], ZeroDivisionError) and "ZeroDivisionError" in out["traceback"]


def test_abort_is_reported_with_its_message(fuzz):
    def abort():
        os.write(2, b"python: firmware/nnet_utils/nnet_dense_resource.h:100: Assertion `rufactor > nin' failed.\n")
        os.abort()

    out = fuzz.run_guarded(abort, 60)
    assert out["died"] == f"killed by signal {int(signal.SIGABRT)} (SIGABRT)"
    assert fuzz.abort_reason(out["stderr"]).startswith("python: firmware/nnet_utils/nnet_dense_resource.h:100")


def test_hang_is_killed(fuzz):
    import time

    out = fuzz.run_guarded(lambda: time.sleep(60), 1)
    assert out["died"].startswith("no result after 1 s")


def test_child_exit_without_result(fuzz):
    out = fuzz.run_guarded(lambda: os._exit(3), 60)
    assert out["died"] == "exited with status 3 and no result"
    assert sys.stdout is not None  # the parent is still here
