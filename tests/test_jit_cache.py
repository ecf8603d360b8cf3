"""fxsim's kernel cache: keyed by every kernel source, and no numba global setting touched."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fxsim import _jit_cache

pytestmark = pytest.mark.core

PACKAGE = Path(_jit_cache.__file__).resolve().parent

# Runs in a fresh interpreter: every numba.config setting and numba's cache locators before
# and after `import fxsim` and a prediction, and whether the kernels came from the disk cache.
_PROBE = """
import json, numba, numpy as np
from numba.core import caching
def settings():
    config = {k: repr(getattr(numba.config, k)) for k in dir(numba.config) if k.isupper()}
    return config, list(caching.CacheImpl._locator_classes)
before = settings()
import fxsim
from fxsim.ir import ActivationSpec, InputSpec
from fxsim.kernels import activations
after_import = settings()
t = fxsim.FixedType(8, 3)
model = fxsim.FxModel([InputSpec("x", (4,), t), ActivationSpec("relu", "relu", t, t)])
model.predict(np.linspace(-2, 2, 8).reshape(2, 4))
after_run = settings()
stats = activations._relu_batch_blocks.stats  # the numba kernel relu_batch runs over blocks
print(json.dumps({"unchanged": before == after_import == after_run, "cache_dir": numba.config.CACHE_DIR,
                  "hits": sum(stats.cache_hits.values()), "misses": sum(stats.cache_misses.values()),
                  "path": stats.cache_path}))
"""


def _probe(env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_and_predict_leave_numba_settings_alone_and_kernels_load_from_the_cache(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    first = _probe(env)
    assert first["unchanged"] and first["cache_dir"] == ""
    assert first["misses"] >= 1  # an empty cache: compiled
    root = tmp_path / "fxsim" / "numba" / _jit_cache.sources_digest()
    assert Path(first["path"]).is_relative_to(root)
    assert any(root.rglob("*.nbi")) and any(root.rglob("*.nbc"))
    second = _probe(env)
    assert second["unchanged"]
    assert second["hits"] >= 1 and second["misses"] == 0  # loaded, not compiled
    # a user's own NUMBA_CACHE_DIR stays as it is and hosts fxsim's folder (here the same one)
    env = dict(env, XDG_CACHE_HOME=str(tmp_path / "elsewhere"), NUMBA_CACHE_DIR=str(tmp_path))
    third = _probe(env)
    assert third["unchanged"] and third["cache_dir"] == str(tmp_path)
    assert Path(third["path"]).is_relative_to(root) and third["misses"] == 0


def test_the_digest_covers_every_module_with_kernels():
    uses_numba = {p.resolve() for p in PACKAGE.rglob("*.py")
                  if re.search(r"@(njit|nb\.njit|numba\.njit|intrinsic)\b", p.read_text())}
    assert uses_numba, "no kernel modules found"
    assert uses_numba <= set(_jit_cache.kernel_sources())
    assert PACKAGE / "fixed" / "scalar.py" in _jit_cache.kernel_sources()
    # and kernels are declared with fxsim's decorator, not numba's own cache
    plain = [p for p in uses_numba if re.search(r"@(nb|numba)\.njit\(.*cache=True", p.read_text())]
    assert not plain


def test_the_digest_changes_with_any_kernel_source(tmp_path, monkeypatch):
    for d in _jit_cache.KERNEL_DIRS:
        (tmp_path / d).mkdir()
        for p in (PACKAGE / d).glob("*.py"):
            (tmp_path / d / p.name).write_bytes(p.read_bytes())
    monkeypatch.setattr(_jit_cache, "_PACKAGE", tmp_path)
    _jit_cache.sources_digest.cache_clear()
    try:
        before = _jit_cache.sources_digest()
        with open(tmp_path / "fixed" / "scalar.py", "a") as f:
            f.write("\n# changed\n")
        _jit_cache.sources_digest.cache_clear()
        assert _jit_cache.sources_digest() != before
    finally:
        _jit_cache.sources_digest.cache_clear()


def test_compile_notice_speaks_once_and_only_when_something_compiles():
    import io

    import numba

    @numba.njit
    def add_one(x):
        return x + 1

    first = io.StringIO()
    with _jit_cache.compile_notice("Test", stream=first) as notice:
        assert add_one(1) == 2
    assert "compiling fxsim kernels for Test — first use only" in first.getvalue()
    assert notice.compiled >= 1 and "done in" in first.getvalue()

    again = io.StringIO()
    with _jit_cache.compile_notice("Test", stream=again) as notice:
        assert add_one(2) == 3  # compiled already: nothing to say
    assert again.getvalue() == "" and notice.compiled == 0
