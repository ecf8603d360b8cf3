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
from functools import lru_cache
from pathlib import Path

import numba
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
