"""Blocks of samples, samples innermost: the memory layout every batched kernel computes in.

A batch is cut into blocks of :data:`BLOCK` samples; inside a block every quantity is
held as ``[rows, n_b]`` so that each step is a loop over the block that the compiler
vectorises. These helpers move data into and out of that layout and bound a block's values.
"""

from __future__ import annotations

import numpy as np

from fxsim._jit_cache import njit

#: Samples per block of the batched kernels (the vectorised axis).
BLOCK = 128


#: Samples per tile of :func:`load_block`'s transpose (8 int64 codes: one 64-byte line of a row of ``out``).
_TILE = 8


@njit(cache=True)
def load_block(x, s0, k0, out):
    """``out[k, b] = x[s0 + b, k0 + k]``: columns ``k0...`` of a block of samples, samples innermost.

    In tiles of ``_TILE`` samples: sample by sample, each write went to another row of
    ``out``, rows ``8 * n_b`` bytes apart, which map to the same few sets of the
    first-level cache and evicted each other (3.8 ns per value on a 128 x 120 block;
    1.0 ns in tiles; docs/model_threads.md).
    """
    n_k, n_b = out.shape
    for b0 in range(0, n_b, _TILE):
        b1 = min(b0 + _TILE, n_b)
        for k in range(n_k):
            for b in range(b0, b1):
                out[k, b] = x[s0 + b, k0 + k]


@njit(cache=True)
def store_block(src, dst, s0, k0):
    """``dst[s0 + b, k0 + k] = src[k, b]``: a block's rows (samples innermost) back per sample.

    The transpose of :func:`load_block`, in the same tiles of ``_TILE`` samples.
    """
    n_k, n_b = src.shape
    for b0 in range(0, n_b, _TILE):
        b1 = min(b0 + _TILE, n_b)
        for k in range(n_k):
            for b in range(b0, b1):
                dst[s0 + b, k0 + k] = src[k, b]


def n_blocks(n: int) -> int:
    """How many ``BLOCK``-sample blocks ``n`` samples make (rows of the kernels' ``counts``)."""
    return (int(n) + BLOCK - 1) // BLOCK


@njit(cache=True)
def store_rows(dst, s0, t, col, rows, n_b):
    """``dst[s0 + b, t, col + j] = rows[j * n_b + b]``: a block's values (samples innermost) back per sample."""
    for b in range(n_b):
        for j in range(rows.shape[0] // n_b):
            dst[s0 + b, t, col + j] = rows[j * n_b + b]


@njit(cache=True)
def row_max_abs(x):
    """``max_b |x[i, b]|`` for each row ``i`` of a block."""
    out = np.empty(x.shape[0], dtype=np.int64)
    for i in range(x.shape[0]):
        m = np.int64(0)
        for b in range(x.shape[1]):
            m = max(m, abs(x[i, b]))
        out[i] = m
    return out


@njit(cache=True)
def copy_into(src, dst):
    """``dst[:, :] = src`` for 2-D arrays of any integer types (a plain loop: ``astype`` is 3x slower)."""
    for r in range(src.shape[0]):
        for c in range(src.shape[1]):
            dst[r, c] = src[r, c]


@njit(cache=True, inline="always")
def copy_as(src, dtype):
    """A copy of the 2-D array ``src`` with elements of ``dtype`` (values must fit)."""
    out = np.empty(src.shape, dtype=dtype)
    copy_into(src, out)
    return out


#: Time steps of a recurrent layer's input loaded into a block at once.
STEPS_PER_LOAD = 32


@njit(cache=True, inline="always")
def step_input(x, s0, t, xs):
    """Time step ``t`` of the samples ``x[s0 : s0 + n_b]`` as ``[n_in, n_b]`` codes (a view of ``xs``).

    ``xs`` is the block's ``[min(STEPS_PER_LOAD, T), n_in, n_b]`` buffer, refilled every
    ``STEPS_PER_LOAD`` steps: reading whole samples takes half the time of reading one
    step (``8 * n_in`` bytes) of each sample at every step.
    """
    n_steps, n_in = x.shape[1], x.shape[2]
    if t % STEPS_PER_LOAD == 0:
        n_load = min(STEPS_PER_LOAD, n_steps - t)
        load_block(x.reshape(x.shape[0], n_steps * n_in), s0, t * n_in,
                   xs[:n_load].reshape(n_load * n_in, xs.shape[2]))
    return xs[t % STEPS_PER_LOAD]
