"""The thread scheduling of ``fxsim._threads``: every chunk and block once, results in order, errors raised.

``map_chunks`` and ``run_blocks`` run work on pool threads and on the calling thread; these
tests hold them to the serial answer on 2 numba threads, check that the caller's
numba thread count comes back, and that an exception from any chunk, including the ones the
calling thread runs, reaches the caller.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
import pytest

from fxsim import _threads
from fxsim.kernels.blocks import BLOCK

pytestmark = pytest.mark.core


@pytest.fixture
def threads():
    if numba.config.NUMBA_NUM_THREADS < 2:  # numba's pool is sized at start-up (the CPUs; CI has 2)
        pytest.skip(f"numba was started with {numba.config.NUMBA_NUM_THREADS} thread")
    before = numba.get_num_threads()
    numba.set_num_threads(2)
    yield 2
    numba.set_num_threads(before)


@pytest.mark.parametrize("n", [1, 2, BLOCK, 8 * BLOCK + 1, 8 * BLOCK + 2, 20_000, 70_001])
def test_chunk_bounds_cover_every_sample_once(threads, n):
    bounds = _threads.chunk_bounds(n, 1 << 16)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a < b for a, b in bounds)
    assert all(b == a2 for (_, b), (a2, _) in zip(bounds, bounds[1:]))
    if n > 1 + _threads.MIN_CHUNK:  # on several threads: one sample first (compiles), then the chunks
        assert bounds[0] == (0, 1) and len(bounds) > 2


def test_map_chunks_in_order_on_several_threads(threads):
    bounds = _threads.chunk_bounds(20_000, 1 << 16)
    seen = []
    # the second and third chunks wait for each other: two threads must run chunks at once (a
    # chunk this cheap would otherwise let the calling thread finish them all before the pool
    # thread starts, which is allowed); a scheduler that ran them in one thread fails here
    both = threading.Barrier(2, timeout=30)

    def fn(a, b):
        seen.append((threading.get_ident(), numba.get_num_threads()))
        if (a, b) in bounds[1:3]:
            both.wait()
        return np.arange(a, b)

    out = _threads.map_chunks(fn, bounds)
    np.testing.assert_array_equal(np.concatenate(out), np.arange(20_000))
    assert numba.get_num_threads() == threads  # the caller's count is back
    # the first chunk with the caller's count; every other chunk on one numba thread
    assert seen[0][1] == threads and all(k == 1 for _, k in seen[1:])
    assert len({ident for ident, _ in seen[1:3]}) == 2  # the pool ran chunks too


@pytest.mark.parametrize("failing", [0, 1, -1])
def test_map_chunks_raises_any_chunks_error(threads, failing):
    bounds = _threads.chunk_bounds(20_000, 1 << 16)
    bad = bounds[failing]

    def fn(a, b):
        if (a, b) == bad:
            raise RuntimeError(f"chunk {a}:{b}")
        return b - a

    with pytest.raises(RuntimeError, match=f"chunk {bad[0]}:{bad[1]}"):
        _threads.map_chunks(fn, bounds)
    assert numba.get_num_threads() == threads


def test_run_blocks_runs_every_block_once(threads):
    n_blocks = 37
    hits = np.zeros(n_blocks, dtype=np.int64)
    lock = threading.Lock()

    def kernel(b0, b1, out):
        with lock:
            out[b0:b1] += 1

    _threads.run_blocks(kernel, n_blocks, hits)
    np.testing.assert_array_equal(hits, 1)
    assert numba.get_num_threads() == threads


def test_predict_is_the_same_on_one_and_several_threads(threads):
    from fxsim.fixed import FixedType
    from fxsim.ir import DenseSpec, InputSpec
    from fxsim.model import FxModel

    rng = np.random.default_rng(3)
    t = FixedType.parse("ap_fixed<12,4,AP_RND,AP_SAT>")
    w_t = FixedType.parse("ap_fixed<8,2>")
    dense = DenseSpec(name="fc", input_t=t, weight=rng.integers(-100, 100, (6, 4)), bias=rng.integers(-100, 100, 4),
                      weight_t=w_t, bias_t=w_t, accum_t=t, result_t=t)
    model = FxModel([InputSpec(name="x", result_t=t, shape=(6,)), dense])
    x = rng.normal(0.0, 3.0, (5_000, 6))
    several = model.predict_codes(x)
    numba.set_num_threads(1)
    np.testing.assert_array_equal(model.predict_codes(x), several)
