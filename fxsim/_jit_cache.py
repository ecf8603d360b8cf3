"""fxsim's own on-disk cache of compiled kernels, keyed by a hash of every kernel source file.

numba's on-disk cache (``cache=True``) checks only the file that defines a function.
Every kernel inlines the casts of :mod:`fxsim.fixed`, so after ``fixed/scalar.py``
changed, a kernel in an unchanged file would go on running the old casts from its
cache. Kernels are therefore declared with :func:`njit` below instead of
``numba.njit(cache=True)``: their cache lives in ``<base>/fxsim/numba/<digest>/``,
``<digest>`` hashing every module under ``fxsim/fixed/`` and ``fxsim/kernels/``, and
``<base>`` being ``NUMBA_CACHE_DIR`` when the user set it, else ``$XDG_CACHE_HOME``
(``~/.cache``).

Nothing global changes: the cache is attached to each fxsim dispatcher (numba's
``FunctionCache`` with a locator of fxsim's own), so ``numba.config`` and the caches
of the user's own numba functions stay as they were.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numba
from numba.core import event as _event
from numba.core.caching import CompileResultCacheImpl, FunctionCache, _CacheLocator

_PACKAGE = Path(__file__).resolve().parent

#: Folders (under ``fxsim/``) whose modules define numba kernels; all of them key the cache.
KERNEL_DIRS = ("fixed", "kernels")


def kernel_sources() -> list[Path]:
    """Every module that defines or inlines fxsim's numba kernels."""
    return sorted(p for d in KERNEL_DIRS for p in (_PACKAGE / d).glob("*.py"))


@lru_cache(maxsize=1)
def sources_digest() -> str:
    """A short hash of every module that defines numba kernels (:func:`kernel_sources`)."""
    h = hashlib.sha256()
    for path in kernel_sources():
        h.update(str(path.relative_to(_PACKAGE)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def cache_root() -> Path:
    """The folder holding this version's compiled kernels."""
    base = numba.config.CACHE_DIR or os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fxsim" / "numba" / sources_digest()


class _KernelLocator(_CacheLocator):
    """Locates the cache of a kernel defined in one of :func:`kernel_sources`."""

    def __init__(self, py_func, py_file):
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = str(cache_root() / self.get_suitable_cache_subpath(py_file))

    def get_cache_path(self):
        return self._cache_path

    def get_source_stamp(self):
        return sources_digest()

    def get_disambiguator(self):
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        if Path(py_file).resolve() not in kernel_sources():
            return None
        self = cls(py_func, py_file)
        try:
            self.ensure_cache_path()
        except OSError:  # not writable: run without an on-disk cache
            return None
        return self


class _KernelCacheImpl(CompileResultCacheImpl):
    _locator_classes = [_KernelLocator]


class _KernelCache(FunctionCache):
    _impl_class = _KernelCacheImpl


def njit(**options):
    """``numba.njit(**options)``; with ``cache=True`` the compiled code goes to fxsim's cache.

    Used for every kernel in :func:`kernel_sources` (so the digest covers its dependencies).
    """
    cache = options.pop("cache", False)

    def decorate(func):
        dispatcher = numba.njit(**options)(func)
        if cache:
            try:
                dispatcher._cache = _KernelCache(func)
            except RuntimeError:  # no writable cache folder: compile every session instead
                pass
        return dispatcher

    return decorate


def compiled_specialisations() -> int:
    """How many kernel specialisations this process compiled (cache misses of fxsim's dispatchers)."""
    seen = set()
    total = 0
    for name, module in list(sys.modules.items()):
        if not (name.startswith("fxsim.fixed") or name.startswith("fxsim.kernels")):
            continue
        for obj in vars(module).values():
            if isinstance(obj, numba.core.registry.CPUDispatcher) and id(obj) not in seen:
                seen.add(id(obj))
                total += sum(obj._cache_misses.values())
    return total


class _CompileNotice(_event.Listener):
    """Counts numba compilations (``numba:compile`` events: cache misses only) and reports them."""

    def __init__(self, kind: str, stream):
        self.kind = kind
        self.stream = stream
        self.started = None
        self.compiled = 0
        self.bar = None

    def on_start(self, event):
        if self.started is None:
            self.started = time.perf_counter()
            try:
                from tqdm.auto import tqdm
            except ImportError:  # tqdm is a dependency; a plain line if it is missing
                print(f"compiling fxsim kernels for {self.kind} — first use only", file=self.stream, flush=True)
            else:
                self.bar = tqdm(desc=f"compiling fxsim kernels for {self.kind} — first use only",
                                unit=" kernels", file=self.stream, leave=True, mininterval=1.0)

    def on_end(self, event):
        self.compiled += 1
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.started is None:
            return
        seconds = time.perf_counter() - self.started
        if self.bar is not None:
            self.bar.set_postfix_str(f"done in {seconds:.1f} s, cached for next time", refresh=True)
            self.bar.close()
        else:
            print(f"  {self.compiled} kernels compiled in {seconds:.1f} s (cached for next time)",
                  file=self.stream, flush=True)


@contextmanager
def compile_notice(kind: str, stream=None):
    """Within the block, say on ``stream`` (stderr) when fxsim's kernels compile, once.

    Nothing is shown when every kernel comes from the on-disk cache or was compiled
    earlier in the process: numba raises its ``numba:compile`` event only for a real
    compilation. ``kind`` names what is being compiled ("GRU", "Dense", ...).
    """
    listener = _CompileNotice(kind, stream or sys.stderr)
    try:
        with _event.install_listener("numba:compile", listener):
            yield listener
    finally:
        listener.close()
