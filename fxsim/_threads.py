"""Blocks of samples run in parallel: Python threads over a numba kernel that releases the GIL.

The batched kernels cut a batch into blocks of ``BLOCK`` samples
(:mod:`fxsim.kernels.blocks`) that are independent of each other. numba's
``parallel=True`` would run them on its thread pool, but it compiles the loop body
as a kernel of its own and then the whole linked code once more (seconds of LLVM time
per kernel on an empty cache, docs/benchmarks.md "Cold start"). A kernel compiled with
``nogil=True`` that takes a range of blocks runs as fast from plain Python threads, and
compiles once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba


def run_blocks(kernel, n_blocks: int, *args) -> None:
    """``kernel(b0, b1, *args)`` over the blocks ``[0, n_blocks)``, split over numba's thread count.

    Parameters
    ----------
    kernel : a numba kernel compiled with ``nogil=True`` whose first two arguments are the
        range of blocks it computes (it writes only those blocks' outputs).
    n_blocks : how many blocks the batch has.
    *args : the kernel's other arguments.

    The threads are as many as :func:`numba.get_num_threads` (``NUMBA_NUM_THREADS``,
    :func:`numba.set_num_threads`), each given a contiguous run of blocks; a batch of one
    block, or one thread, runs in the calling thread.
    """
    n_threads = min(numba.get_num_threads(), n_blocks)
    if n_threads <= 1:
        kernel(0, n_blocks, *args)
        return
    bounds = [n_blocks * k // n_threads for k in range(n_threads + 1)]
    with ThreadPoolExecutor(n_threads) as pool:
        runs = [pool.submit(kernel, bounds[k], bounds[k + 1], *args) for k in range(n_threads)]
        for run in runs:
            run.result()  # re-raises a kernel's exception here
