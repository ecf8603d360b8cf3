"""Row operations of the LSTM and GRU cells (``nnet_recurrent.h``, ``nnet_recr_activations.h``).

Each takes rows of codes of one block (samples innermost, :mod:`fxsim.kernels.blocks`),
writes its result cast to the given type and returns how many values overflowed. They
are inlined into the cells, which then link :func:`~fxsim.fixed.requantize_row` once
(every compiled numba function is optimised and compiled to machine code again with all
it calls).
The activations are ``nnet::activation::{sigmoid,tanh,relu}``: lookup tables already cast
to ``accum_t`` (:func:`accum_table`), or relu.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from fxsim._jit_cache import njit
from fxsim.fixed import FixedType, cast_common, requantize_row, truncating_wrap, wrap_signed
from fxsim.kernels.blocks import STEPS_PER_LOAD, load_block, step_input
from fxsim.kernels.counters import RECURRENT_DENSE_COUNTERS, counter_index
from fxsim.kernels.dense import cast_with_flags, dense_accumulate_prepared, dense_scratch
from fxsim.kernels.dense_loops import accumulate_mod32
from fxsim.kernels.dense_plan import ROUND, ROUND_CONV
from fxsim.kernels.lut import lut_index, lut_index_pow2

#: How a recurrent layer's cell runs (:func:`fxsim.kernels.recurrent.fused_cell` decides it from the
#: types; a constant of the kernel): the row-by-row cell; fused, every cast a truncating WRAP; fused,
#: casts of the common modes (``fxsim.fixed.common_cast_rule``: TRN, RND, RND_CONV with WRAP or SAT)
#: with their modes read at run time; and, from ``FUSED_UNIFORM`` on, fused with every cast of the
#: cell in one rounding and one overflow mode, both constants of the kernel (:func:`uniform_form`).
NOT_FUSED, FUSED_TRUNCATING_WRAP, FUSED_COMMON, FUSED_UNIFORM = 0, 1, 2, 3


def uniform_form(rounding: int, sat: bool) -> int:
    """The fused form whose casts all round with ``rounding`` (``fxsim.kernels.dense_plan.FLOOR``,
    ``ROUND`` or ``ROUND_CONV``) and saturate (``sat``) or wrap; :func:`uniform_modes` reads it back."""
    return FUSED_UNIFORM + 2 * int(rounding) + int(bool(sat))


@njit(cache=True, inline="always")
def uniform_modes(form):
    """``(rounding, sat)`` of a :func:`uniform_form` (in the kernels, where ``form`` is a constant)."""
    return (form - FUSED_UNIFORM) // 2, (form - FUSED_UNIFORM) % 2 == 1


def runs_fused(form: int) -> bool:
    """Whether ``form`` is one of the fused cells' forms."""
    return form != NOT_FUSED


#: Activation codes the kernels take (``nnet::activation::<name>``).
SIGMOID = 0
TANH = 1
RELU = 2
ACTIVATIONS = {"sigmoid": SIGMOID, "tanh": TANH, "relu": RELU}

#: A recurrent layer's kernel arguments, as the cells take them.
#:
#: ``x_frac, w_frac, rw_frac``: fractional bits of the input, weight and recurrent weight
#: types; ``weight [n_in, k n]``, ``recurrent_weight [n, k n]``: codes (Keras layout, k
#: gates); ``bias_acc, recurrent_bias_acc [k n]``: biases already cast to ``accum_t``
#: (``fxsim.kernels.dense.bias_to_accum``); ``order_x, order_h``: accumulation orders of
#: the two dense products (``fxsim.kernels.dense_order``; ``[0, 4]`` for Latency);
#: ``accum, result``: ``FixedType.spec`` of ``accum_t`` and ``result_t``; ``recr_table,
#: act_table``: the recurrent activation's and the activation's tables (:func:`accum_table`,
#: empty for relu); ``recr_kind, act_kind``: ``SIGMOID``, ``TANH`` or ``RELU``;
#: ``weight_p, recurrent_weight_p``: ``(int32 codes, per-input-row max |w|)`` of the two
#: weight matrices (``fxsim.kernels.dense_loops.prepared_weight``, made once per layer).
CellArgs = namedtuple("CellArgs", (
    "x_frac", "weight", "w_frac", "recurrent_weight", "rw_frac", "bias_acc", "recurrent_bias_acc",
    "order_x", "order_h", "accum", "result", "recr_table", "act_table", "recr_kind", "act_kind",
    "weight_p", "recurrent_weight_p",
))

_DENSE = counter_index("RecurrentDenseCounter", RECURRENT_DENSE_COUNTERS)  # each cell's first counters


@njit(cache=True, inline="always")
def block_buffers(x, state, s0, args, n_gates, n_b):
    """The arrays of a cell's block of the ``n_b`` samples from ``s0``, with ``n_gates`` gates.

    Every quantity is held as ``[rows, n_b]`` (samples innermost), so each step of the
    cell is a vectorised loop over the block. Returns ``n_state``, the input buffer ``xs``
    (:func:`~fxsim.kernels.blocks.step_input`), the two projections ``zx, zh [n_gates *
    n_state, n_b]``, the hidden state ``h [n_state, n_b]`` (``state[0]``'s rows of the
    block when ``state`` holds initial states, else zeros), ``zx, zh, h`` as flat views, and
    the two dense products' buffers (:func:`~fxsim.kernels.dense_loops.dense_scratch`), made
    here once for every time step.
    """
    n_state = args.recurrent_weight.shape[0]
    n_rows = n_gates * n_state
    xs = np.empty((min(STEPS_PER_LOAD, x.shape[1]), x.shape[2], n_b), dtype=np.int64)
    zx = np.empty((n_rows, n_b), dtype=np.int64)
    zh = np.empty((n_rows, n_b), dtype=np.int64)
    h = start_state(state, 0, s0, n_state, n_b)
    scratch = (dense_scratch(x.shape[2], n_rows, n_b), dense_scratch(n_state, n_rows, n_b))
    return (n_state, xs, zx, zh, h, zx.reshape(n_rows * n_b), zh.reshape(n_rows * n_b), h.reshape(n_state * n_b),
            scratch)


@njit(cache=True, inline="always")
def start_state(state, k, s0, n_state, n_b):
    """``[n_state, n_b]``: initial state ``k`` of the block's samples (``state [k, n, n_state]``), or zeros.

    ``state`` holds the initial states (``h0`` or ``h0, c0``: PyTorch ``GRU(x, h0)``,
    hls4ml's ``*_stack`` overloads with initial-state inputs) of every sample, or no rows
    (``shape[0] == 0``): the state then starts at 0, as ``nnet::gru_stack`` /
    ``lstm_stack`` without them do.
    """
    out = np.zeros((n_state, n_b), dtype=np.int64)
    if state.shape[0] > k:
        load_block(state[k], s0, 0, out)
    return out


@njit(cache=True, inline="always")
def project_step(x, s0, t, xs, h, args, zx, zh, counts, plan_x, plan_h, scratch):
    """Both dense products of time step ``t``: ``zx = dense_A(x_t, W, b)``, ``zh = dense_A(h, U, br)``.

    ``counts`` is the block's row of a cell's counters (the first four are
    ``RECURRENT_DENSE_COUNTERS``); ``plan_x``, ``plan_h`` the accumulation plans of the
    two products (:func:`~fxsim.kernels.dense.dense_accumulate`), constants of the kernel;
    ``scratch`` the block's buffers of the two (:func:`block_buffers`).
    """
    xt = step_input(x, s0, t, xs)
    dense_accumulate_prepared(xt, args.x_frac, args.weight, args.w_frac, args.bias_acc, args.order_x, args.accum, zx,
                              counts[_DENSE.input_product:_DENSE.input_accumulator + 1], plan_x, args.weight_p,
                              scratch[0])
    dense_accumulate_prepared(h, args.result[1], args.recurrent_weight, args.rw_frac, args.recurrent_bias_acc,
                              args.order_h, args.accum, zh,
                              counts[_DENSE.recurrent_product:_DENSE.recurrent_accumulator + 1], plan_h,
                              args.recurrent_weight_p, scratch[1])


@njit(cache=True, inline="always")
def project_step_mod32(x, s0, t, xs, h, args, zx, zh, plan_x, plan_h, scratch):
    """:func:`project_step` for the fused cells: both products' accumulators left in int32
    (``scratch[0][1]``, ``scratch[1][1]``, ``[n_gates * n_state, n_b]``), congruent modulo
    ``2**32`` to the exact sums (:func:`~fxsim.kernels.dense_loops.accumulate_mod32`); the
    cell casts each to ``accum_t`` as it reads it. ``zx``, ``zh`` are the int64 fallbacks'
    buffers. Both plans count nothing, so there is no counter to add to.
    """
    xt = step_input(x, s0, t, xs)
    accumulate_mod32(plan_x, xt, args.x_frac, args.weight, args.w_frac, args.bias_acc, args.accum, args.weight_p,
                     scratch[0], zx)
    accumulate_mod32(plan_h, h, args.result[1], args.recurrent_weight, args.rw_frac, args.recurrent_bias_acc,
                     args.accum, args.recurrent_weight_p, scratch[1], zh)


@njit(cache=True, inline="always")
def cell_cast(v, p, form):
    """A fused cell's cast ``t(v * 2**-d)``; ``p``: :func:`~fxsim.fixed.cast_params` of it.

    ``form`` (a constant of the kernel) is the cell's fused form: ``FUSED_TRUNCATING_WRAP``
    the truncating WRAP ``wrap_signed(v >> d, sh)`` of the casts
    :func:`~fxsim.fixed.truncating_wrap_rule` admits (all that ap_fixed's default modes need);
    ``FUSED_COMMON`` any cast :func:`~fxsim.fixed.common_cast_rule` admits
    (:func:`~fxsim.fixed.cast_common`: TRN, RND or RND_CONV, WRAP or SAT, read from ``p``);
    a :func:`uniform_form` the same casts with its rounding and overflow mode as constants,
    so the compiler drops the other modes' arithmetic (the shift and the code range stay in
    ``p``; a cast that drops no bit rounds nothing, whatever the mode). Returns ``(code, overflowed)``.
    """
    if form == FUSED_COMMON:
        return cast_common(v, p)
    if form >= FUSED_UNIFORM:
        rounding, sat = uniform_modes(form)
        # cast_params' own RND_CONV flag (0 where no bit is dropped, as round_shift_branchless needs),
        # zero unless the form rounds RND_CONV, so the other forms drop the tie fix at compile time
        return cast_common(v, (p[0], np.int64(rounding == ROUND), np.int64(rounding == ROUND_CONV) * p[2],
                               sat, p[4], p[5], p[6]))
    q = v >> p[0]
    c = wrap_signed(q, p[4])
    return c, c != q


def accum_table(table: np.ndarray, table_t: FixedType, accum_t: FixedType) -> np.ndarray:
    """A lookup table's entries cast to ``accum_t`` (``nnet::activation`` returns ``accum_t(table[i])``).

    Each entry is packed as ``2 * code + overflowed`` (``overflowed`` 1 where the cast
    overflowed), so the kernels read code and flag with one load instead of casting
    per value.
    """
    codes, over = cast_with_flags(table, table_t, accum_t)
    return 2 * codes + over  # |code| < 2**61, so this fits


@njit(cache=True, inline="always")
def activate_row(v, v_frac, kind, table, accum, out):
    """``nnet::activation::<kind><data_T, accum_t>`` on a row of codes, into ``out``.

    Parameters
    ----------
    v, v_frac : the input codes and their type's fractional bits.
    kind : ``SIGMOID``, ``TANH`` (``table``: the lookup table already cast to
        ``accum_t``, packed by :func:`accum_table`) or ``RELU``
        (``v > 0 ? accum_t(v) : 0``; no table).
    accum : ``accum_t.spec``, the output type.

    Returns
    -------
    (overflowed, clipped) : how many casts to ``accum_t`` overflowed, how many table
        indices were clamped (inputs outside the table range).
    """
    if kind == RELU:
        for k in range(v.shape[0]):
            out[k] = max(v[k], 0)  # accum_t(0) is 0 in every type
        return requantize_row(out, v_frac, accum, out), 0
    n_table = table.shape[0]
    n_clip = 0
    # indices first (a vectorised loop), then the table reads (a gather, which stays scalar)
    if n_table & (n_table - 1) == 0:  # N = 2**k (hls4ml's default 1024): x * N / R is a shift
        eff = lut_shift(kind, v_frac, n_table)
        for k in range(v.shape[0]):
            idx, clipped = lut_index_pow2(v[k], eff, n_table)
            out[k] = idx
            n_clip += clipped
    else:
        shift = 4 if kind == SIGMOID else 3
        for k in range(v.shape[0]):
            idx, clipped = lut_index(v[k], v_frac, n_table, shift)
            out[k] = idx
            n_clip += clipped
    return gather_row(table, out.reshape(1, out.shape[0]), 0), n_clip


@njit(cache=True, inline="always")
def lut_shift(kind, v_frac, n_table):
    """``frac + range_shift - log2(N)``: the shift :func:`~fxsim.kernels.lut.lut_index_pow2` takes for
    codes with ``v_frac`` fractional bits and a table of ``N = 2**k`` entries (``kind``: ``SIGMOID``
    or ``TANH``)."""
    k2 = 0
    while (1 << k2) < n_table:
        k2 += 1
    return v_frac + (4 if kind == SIGMOID else 3) - k2


@njit(cache=True, inline="always")
def gather_row(table, rows, k):
    """``rows[k, b] = table[rows[k, b]]``'s code for indices into a table packed by :func:`accum_table`;
    returns how many entries overflowed ``accum_t``.

    Row ``k`` of a 2-D buffer rather than a row view: a view costs two atomic reference
    count updates, which in the fused cells' loops over the state came to several
    percent of a GRU(20) (``perf``, 2026-12-02) and stall the vector loops around them.
    """
    n_over = 0
    for b in range(rows.shape[1]):
        e = table[np.uint64(rows[k, b])]  # index in [0, N): unsigned, so no negative-index wraparound
        rows[k, b] = e >> 1
        n_over += e & 1
    return n_over


@njit(cache=True, inline="always")
def add_products_row(a1, b1, f1, a2, b2, f2, result, out):
    """``out = result_t(a1*b1 + a2*b2)`` per element, the sum exact (C++ evaluates the expression exactly).

    ``f1``/``f2`` are the fractional bits of the two exact products. Returns the overflow count.
    """
    f = f1 if f1 > f2 else f2
    s1 = f - f1
    s2 = f - f2
    fast, d, sh = truncating_wrap(f, result)
    if fast:  # the common types: sum and cast in one pass
        n_over = 0
        if a2.ctypes.data == out.ctypes.data:  # in place: read it as out (see below)
            for k in range(out.shape[0]):
                q = (((a1[k] * b1[k]) << s1) + ((out[k] * b2[k]) << s2)) >> d
                c = wrap_signed(q, sh)
                out[k] = c
                n_over += c != q
        else:
            for k in range(out.shape[0]):
                q = (((a1[k] * b1[k]) << s1) + ((a2[k] * b2[k]) << s2)) >> d
                c = wrap_signed(q, sh)
                out[k] = c
                n_over += c != q
        return n_over
    if a2.ctypes.data == out.ctypes.data:  # the state updated in place (h, c): read it as out,
        # so the compiler does not see two names for one array and fall back to a scalar loop
        for k in range(out.shape[0]):
            out[k] = ((a1[k] * b1[k]) << s1) + ((out[k] * b2[k]) << s2)
    else:
        for k in range(out.shape[0]):
            out[k] = ((a1[k] * b1[k]) << s1) + ((a2[k] * b2[k]) << s2)
    return requantize_row(out, f, result, out)


@njit(cache=True, inline="always")
def sum_row(a, b, frac, t, out):
    """``out = t(a + b)`` per element for codes with ``frac`` fractional bits; returns the overflow count."""
    fast, d, sh = truncating_wrap(frac, t)
    if fast:
        n_over = 0
        for k in range(out.shape[0]):
            q = (a[k] + b[k]) >> d
            c = wrap_signed(q, sh)
            out[k] = c
            n_over += c != q
        return n_over
    for k in range(out.shape[0]):
        out[k] = a[k] + b[k]
    return requantize_row(out, frac, t, out)


@njit(cache=True, inline="always")
def product_row(a, b, frac, t, out):
    """``out = t(a * b)`` per element, the product having ``frac`` fractional bits; returns the overflow count."""
    fast, d, sh = truncating_wrap(frac, t)
    if fast:
        n_over = 0
        for k in range(out.shape[0]):
            q = (a[k] * b[k]) >> d
            c = wrap_signed(q, sh)
            out[k] = c
            n_over += c != q
        return n_over
    for k in range(out.shape[0]):
        out[k] = a[k] * b[k]
    return requantize_row(out, frac, t, out)
