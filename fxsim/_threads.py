"""Samples run in parallel: Python threads over numba kernels that release the GIL.

Two levels. :func:`map_chunks` runs a model's chunks of samples on a pool of threads,
each chunk through every layer on one thread (``FxModel`` predict, trace, counts);
:func:`run_blocks` splits one kernel call's blocks over threads, for a call made
outside such a pool (a lone kernel, a batch of one chunk).

The batched kernels cut a batch into blocks of ``BLOCK`` samples
(:mod:`fxsim.kernels.blocks`) that are independent of each other. numba's
``parallel=True`` would run them on its thread pool, but it compiles the loop body
as a kernel of its own and then the whole linked code once more (seconds of LLVM time
per kernel on an empty cache, docs/benchmarks.md "Cold start"). A kernel compiled with
``nogil=True`` that takes a range of blocks runs as fast from plain Python threads, and
compiles once.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numba

from fxsim.kernels.blocks import BLOCK

T = TypeVar("T")

#: Chunks per thread that :func:`chunk_bounds` aims at (a thread slowed by another process takes fewer).
CHUNKS_PER_THREAD = 4

#: Fewest samples in a chunk of :func:`chunk_bounds` (each layer's Python call costs tens of µs per chunk).
MIN_CHUNK = 8 * BLOCK


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
    :func:`numba.set_num_threads`), the calling thread one of them, each taking the next
    range of blocks when it finishes one; a batch of one block, or one thread, runs in the
    calling thread. The first block runs in the calling thread before the others start (a
    kernel's first use compiles it).
    """
    n_threads = min(numba.get_num_threads(), n_blocks - 1)
    if n_threads <= 1:
        kernel(0, n_blocks, *args)
        return
    # The first block alone in the calling thread first: on first use it compiles the kernel there,
    # before other threads dispatch to it. numba types a call's arguments outside its compiler lock,
    # and a dispatch during another thread's first compilation can meet numba's typeof registry while
    # that compilation extends it ("dictionary changed size during iteration", seen on a fresh cache).
    kernel(0, 1, *args)
    # Ranges of about n_blocks / (8 n_threads) blocks, each taken by the next thread free: with
    # one contiguous run per thread, the thread whose core another process takes finishes
    # last while the others wait (on the shared 2-core host one thread then beat two by 19%).
    step = max(1, (n_blocks - 1) // (n_threads * RANGES_PER_THREAD))
    starts = iter(range(1, n_blocks, step))  # next() on a range iterator is atomic under the GIL

    def work():
        for b0 in starts:
            kernel(b0, min(b0 + step, n_blocks), *args)

    _on_threads(work, n_threads)


def _on_threads(work: Callable[[], None], n_threads: int) -> None:
    """``work()`` on ``n_threads`` threads at once, the calling thread one of them, with one numba thread each.

    The calling thread works too rather than waiting: a new pool thread takes one to a few ms to
    start on a loaded host (measured in predict's chunk timeline), during which the caller's core
    would sit idle. numba's thread count is per thread; the caller's is set back afterwards.
    """
    with ThreadPoolExecutor(n_threads - 1) as pool:
        runs = [pool.submit(_one_numba_thread, work) for _ in range(n_threads - 1)]
        _one_numba_thread(work)
        for run in runs:
            run.result()  # re-raises a pool thread's exception here


def _one_numba_thread(work: Callable[[], None]) -> None:
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        work()
    finally:
        numba.set_num_threads(previous)


def chunk_bounds(n: int, largest: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]``: the chunks of ``n`` samples that :func:`map_chunks` runs.

    On one thread, chunks of ``largest`` samples. On ``t > 1`` threads the first chunk is
    one sample, which :func:`map_chunks` runs before the others: on first use it compiles
    every kernel the model needs, on one thread, before several threads would each wait
    for the compiler (the kernels specialise on types, never on the number of samples), and
    once they are compiled it costs a tenth of a millisecond while the other threads wait. The
    rest are about ``CHUNKS_PER_THREAD`` chunks per thread (multiples of ``BLOCK``, between
    ``MIN_CHUNK`` and ``largest`` samples).
    """
    n_threads = numba.get_num_threads()
    if n_threads <= 1 or n <= 1 + MIN_CHUNK:
        return [(a, min(a + largest, n)) for a in range(0, n, largest)] or [(0, 0)]
    rest = n - 1
    size = -(-rest // (n_threads * CHUNKS_PER_THREAD))
    size = min(largest, max(MIN_CHUNK, -(-size // BLOCK) * BLOCK))
    return [(0, 1)] + [(a, min(a + size, n)) for a in range(1, n, size)]


def map_chunks(fn: Callable[[int, int], T], bounds: list[tuple[int, int]]) -> list[T]:
    """``[fn(start, stop) for (start, stop) in bounds]``, the chunks after the first on several threads.

    Parameters
    ----------
    fn : runs one chunk; its kernels release the GIL. It must write nothing another chunk reads.
    bounds : the chunks (:func:`chunk_bounds`).

    The first chunk runs in the calling thread (with the caller's thread count for its
    kernels), then the others on :func:`numba.get_num_threads` threads, the calling thread
    one of them, each free thread taking the next chunk; numba's thread count is 1 in each
    (it is per thread), so the kernels of a chunk run in that thread alone. Results are in
    the order of ``bounds``; an exception of any chunk is raised here.
    """
    n_threads = min(numba.get_num_threads(), len(bounds) - 1)
    if n_threads <= 1:
        return [fn(a, b) for a, b in bounds]
    out: list = [None] * len(bounds)
    out[0] = fn(*bounds[0])
    todo = iter(range(1, len(bounds)))  # next() on a range iterator is atomic under the GIL

    def work():
        for i in todo:
            out[i] = fn(*bounds[i])

    _on_threads(work, n_threads)
    return out
