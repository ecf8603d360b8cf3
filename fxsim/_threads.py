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


#: Ranges of blocks per thread that :func:`run_blocks` hands out (more: better balance, more calls).
RANGES_PER_THREAD = 8


def run_blocks(kernel, n_blocks: int, *args) -> None:
    """``kernel(b0, b1, *args)`` over the blocks ``[0, n_blocks)``, split over numba's thread count.

    Parameters
    ----------
    kernel : a numba kernel compiled with ``nogil=True`` whose first two arguments are the
        range of blocks it computes (it writes only those blocks' outputs).
    n_blocks : how many blocks the batch has.
    *args : the kernel's other arguments.

    The threads are as many as :func:`numba.get_num_threads` (``NUMBA_NUM_THREADS``,
    :func:`numba.set_num_threads`), each taking the next range of blocks when it finishes
    one; a batch of one block, or one thread, runs in the calling thread.
    """
    n_threads = min(numba.get_num_threads(), n_blocks)
    if n_threads <= 1:
        kernel(0, n_blocks, *args)
        return
    # Ranges of about n_blocks / (8 n_threads) blocks, each taken by the next thread free: with
    # one contiguous run per thread, the thread whose core another process takes finishes
    # last while the others wait (on the shared 2-core host one thread then beat two by 19%).
    step = max(1, n_blocks // (n_threads * RANGES_PER_THREAD))
    starts = iter(range(0, n_blocks, step))  # next() on a range iterator is atomic under the GIL

    def work():
        for b0 in starts:
            kernel(b0, min(b0 + step, n_blocks), *args)

    with ThreadPoolExecutor(n_threads) as pool:
        runs = [pool.submit(work) for _ in range(n_threads)]
        for run in runs:
            run.result()  # re-raises a kernel's exception here
