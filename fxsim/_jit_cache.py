"""Where numba caches fxsim's compiled kernels: one folder per version of the kernel sources.

numba's on-disk cache (``cache=True``) checks only the file that defines a function.
Every kernel inlines the casts of :mod:`fxsim.fixed`, so after ``fixed.py`` changed a
kernel in an unchanged file would go on running the old casts from its cache. Keying
the cache folder by a hash of all the numba sources makes any change start afresh.
A user's own ``NUMBA_CACHE_DIR`` is respected as it is.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def sources_digest() -> str:
    """A short hash of every module that defines numba kernels."""
    h = hashlib.sha256()
    for path in [_PACKAGE / "fixed.py", *sorted((_PACKAGE / "kernels").glob("*.py"))]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def configure() -> None:
    """Point numba's cache at ``$XDG_CACHE_HOME/fxsim/numba/<digest>`` (before any kernel is defined)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    import numba

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    numba.config.CACHE_DIR = str(base / "fxsim" / "numba" / sources_digest())
