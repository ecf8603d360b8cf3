"""LSTM layer: ``nnet::lstm_stack`` / ``lstm_static`` (``nnet_recurrent.h``, io_parallel) on raw codes.

Keras gate order ``[i|f|c|o]``. One step, with A = ``accum_t``, R = ``result_t`` (the
type of both the hidden state ``h`` and the cell state ``c``) and Q_X a cast to X::

    zx  = dense_A(x_t, W, b)          [4n]  every product and sum cast to A (fxsim.kernels.dense)
    zh  = dense_A(h, U, br)           [4n]  (hls4ml's br is zeros for Keras LSTMs)
    pre = Q_A(zx + zh)                        gate pre-activations i|f|c|o
    i, f, o = recurrent_activation(pre) -> A  (table_t entry cast to A)
    g   = activation(pre[c])          -> A    the candidate
    c   = Q_R(g * i + c * f)                  exact expression, one cast
    s   = activation(c)               -> A    indexed from the R value
    h   = Q_R(o * s)

``h`` and ``c`` start at 0 for every sample, or at the layer's initial states ``h0, c0``
(hls4ml's ``lstm_stack`` overload with initial-state inputs). hls4ml 1.3.0 only compiles an LSTM whose
input type, ``accum_t`` and ``result_t`` are identical (``check_recurrent_supported``);
``lstm`` (non-static) and ``lstm_static`` then compute the same numbers.

Trace columns (per time step, ``LSTM_TRACE``) and overflow counters (``LSTM_COUNTED``,
columns ``LSTM``) are named below. :mod:`fxsim.kernels.recurrent` drives the cell over
a batch.
"""

from __future__ import annotations

import numpy as np

from fxsim._jit_cache import njit
from fxsim.fixed import cast_params, wrap_signed
from fxsim.kernels.blocks import store_rows
from fxsim.kernels.counters import Counted, recurrent_counters
from fxsim.kernels.lut import lut_index_pow2
from fxsim.kernels.recurrent_rows import (
    activate_row,
    add_products_row,
    block_buffers,
    cell_cast,
    gather_row,
    lut_shift,
    product_row,
    project_step,
    project_step_mod32,
    start_state,
    sum_row,
)

#: ``(name, width in units of n_state, "accum" | "result")`` of each traced internal.
LSTM_TRACE = (
    ("input_projection", 4, "accum"),  # zx = W x_t + b, [i|f|c|o]
    ("recurrent_projection", 4, "accum"),  # zh = U h_{t-1} + br, [i|f|c|o]
    ("gate_preactivation", 4, "accum"),  # [i|f|c|o] before the activations
    ("i", 1, "accum"),
    ("f", 1, "accum"),
    ("o", 1, "accum"),
    ("candidate", 1, "accum"),  # g = activation(pre[c])
    ("c", 1, "result"),
    ("c_activation", 1, "accum"),  # activation(c)
    ("h", 1, "result"),
)

#: The cell's own overflow counters, after the two dense products'.
LSTM_COUNTED = (
    Counted("gate_preactivation", 4),
    Counted("gate_table_index_clip", 3, table="recurrent_activation"),
    Counted("gate", 3),
    Counted("candidate_table_index_clip", 1, table="activation"),
    Counted("candidate", 1),
    Counted("c", 1, kind="result"),
    Counted("c_table_index_clip", 1, table="activation"),
    Counted("c_activation", 1),
    Counted("h", 1, kind="result"),
)
LSTM_COUNTERS, LSTM = recurrent_counters("LstmCounter", LSTM_COUNTED)


@njit(cache=True, inline="always")
def lstm_block(x, state, s0, n_b, args, return_sequences, trace, plan_x, plan_h, out, internals, counts):
    """``nnet::lstm_stack`` on samples ``x[s0 : s0 + n_b]`` (see :func:`fxsim.kernels.recurrent.recurrent_forward`)."""
    n, xs, zx, zh, h, zxf, zhf, hf, scratch = block_buffers(x, state, s0, args, 4, n_b)
    af, rf, nb_ = args.accum[1], args.result[1], n * n_b
    c = start_state(state, 1, s0, n, n_b).reshape(nb_)  # the cell state: state[1] or zeros
    pre = np.empty(4 * nb_, dtype=np.int64)
    act = np.empty(4 * nb_, dtype=np.int64)  # i | f | g | o in accum_t
    s = np.empty(nb_, dtype=np.int64)
    for t in range(x.shape[1]):
        project_step(x, s0, t, xs, h, args, zx, zh, counts, plan_x, plan_h, scratch)
        counts[LSTM.gate_preactivation] += sum_row(zxf, zhf, af, args.accum, pre)
        o1, clip1 = activate_row(pre[:2 * nb_], af, args.recr_kind, args.recr_table, args.accum, act[:2 * nb_])
        o2, clip2 = activate_row(pre[3 * nb_:], af, args.recr_kind, args.recr_table, args.accum, act[3 * nb_:])
        counts[LSTM.gate_table_index_clip] += clip1 + clip2
        counts[LSTM.gate] += o1 + o2
        g = act[2 * nb_:3 * nb_]  # the candidate
        o, clip = activate_row(pre[2 * nb_:3 * nb_], af, args.act_kind, args.act_table, args.accum, g)
        counts[LSTM.candidate_table_index_clip] += clip
        counts[LSTM.candidate] += o
        # c = g * i + c * f
        counts[LSTM.c] += add_products_row(g, act[:nb_], 2 * af, c, act[nb_:2 * nb_], rf + af, args.result, c)
        o, clip = activate_row(c, rf, args.act_kind, args.act_table, args.accum, s)
        counts[LSTM.c_table_index_clip] += clip
        counts[LSTM.c_activation] += o
        counts[LSTM.h] += product_row(act[3 * nb_:], s, 2 * af, args.result, hf)  # h = o * activation(c)
        if trace:
            store_rows(internals, s0, t, 0, zxf, n_b)
            store_rows(internals, s0, t, 4 * n, zhf, n_b)
            store_rows(internals, s0, t, 8 * n, pre, n_b)
            store_rows(internals, s0, t, 12 * n, act[:2 * nb_], n_b)  # i, f
            store_rows(internals, s0, t, 14 * n, act[3 * nb_:], n_b)  # o
            store_rows(internals, s0, t, 15 * n, act[2 * nb_:3 * nb_], n_b)  # candidate
            store_rows(internals, s0, t, 16 * n, c, n_b)
            store_rows(internals, s0, t, 17 * n, s, n_b)
            store_rows(internals, s0, t, 18 * n, hf, n_b)
        if return_sequences:
            store_rows(out, s0, t, 0, hf, n_b)
    if not return_sequences:
        store_rows(out, s0, 0, 0, hf, n_b)


@njit(cache=True, inline="always")
def lstm_block_fused(x, state, s0, n_b, args, return_sequences, plan_x, plan_h, form, out, counts):
    """:func:`lstm_block` without its trace, one state row at a time, on int32 accumulators.

    For the layers :func:`fxsim.kernels.recurrent.fused_cell` admits and dense plans
    :func:`~fxsim.kernels.dense_plan.sums_in_int32` admits (``form`` as there), as
    :func:`fxsim.kernels.gru.gru_block_fused`:
    per row of the state (``n_b`` samples), the four pre-activations with their table
    indices, the four table reads, the cell state with its index, its table read and the
    hidden state, in loops over buffers of ``n_b`` values. The same codes and counts as
    :func:`lstm_block`.
    """
    n, xs, zx, zh, h, zxf, zhf, hf, scratch = block_buffers(x, state, s0, args, 4, n_b)
    af, rf, nb_ = args.accum[1], args.result[1], n * n_b
    ax, ah = scratch[0][1], scratch[1][1]  # [4n, n_b] int32 accumulators of W x_t + b and U h + br
    c = start_state(state, 1, s0, n, n_b).reshape(nb_)  # the cell state: state[1] or zeros
    sha = 64 - args.accum[0]
    t_r, t_a = args.recr_table, args.act_table
    n_r, n_a = t_r.shape[0], t_a.shape[0]
    eff_r = lut_shift(args.recr_kind, af, n_r)
    eff_a = lut_shift(args.act_kind, af, n_a)
    eff_c = lut_shift(args.act_kind, rf, n_a)  # activation(c) is indexed from the result_t code
    f = 2 * af if 2 * af > rf + af else rf + af  # c = g * i + c * f, aligned to the finer product
    s1, s2, dc = f - 2 * af, f - (rf + af), f - rf
    dh = 2 * af - rf  # h = o * activation(c)
    # the cell's casts: accum_t(a + b), result_t(c), result_t(h)
    p_sum, p_c, p_h = cast_params(0, args.accum), cast_params(dc, args.result), cast_params(dh, args.result)
    g = np.empty((5, n_b), dtype=np.int64)  # i | f | candidate | o | activation(c): table index, then value
    for t in range(x.shape[1]):
        project_step_mod32(x, s0, t, xs, h, args, zx, zh, plan_x, plan_h, scratch)
        o_pre = o_gate = c_gate = o_cand = c_cand = o_c = o_s = c_s = o_h = 0
        # 2-D indexing throughout (no row views: each costs atomic reference counting)
        for j in range(n):
            o = j * n_b
            for k in range(4):  # pre-activations i, f, c, o and their table indices
                r = k * n + j
                eff = eff_a if k == 2 else eff_r
                n_t = n_a if k == 2 else n_r
                n_clip = 0
                for b in range(n_b):
                    v, ov = cell_cast(wrap_signed(np.int64(ax[r, b]), sha) + wrap_signed(np.int64(ah[r, b]), sha),
                                      p_sum, form)
                    o_pre += ov
                    idx, cl = lut_index_pow2(v, eff, n_t)
                    g[k, b] = idx
                    n_clip += cl
                if k == 2:
                    c_cand += n_clip
                else:
                    c_gate += n_clip
            o_gate += gather_row(t_r, g, 0) + gather_row(t_r, g, 1) + gather_row(t_r, g, 3)
            o_cand += gather_row(t_a, g, 2)
            for b in range(n_b):  # c = g * i + c * f, and the index of activation(c)
                v, ov = cell_cast(((g[2, b] * g[0, b]) << s1) + ((c[o + b] * g[1, b]) << s2), p_c, form)
                o_c += ov
                c[o + b] = v
                idx, cl = lut_index_pow2(v, eff_c, n_a)
                g[4, b] = idx
                c_s += cl
            o_s += gather_row(t_a, g, 4)
            for b in range(n_b):  # h = o * activation(c)
                v, ov = cell_cast(g[3, b] * g[4, b], p_h, form)
                o_h += ov
                hf[o + b] = v
        counts[LSTM.gate_preactivation] += o_pre
        counts[LSTM.gate_table_index_clip] += c_gate
        counts[LSTM.gate] += o_gate
        counts[LSTM.candidate_table_index_clip] += c_cand
        counts[LSTM.candidate] += o_cand
        counts[LSTM.c] += o_c
        counts[LSTM.c_table_index_clip] += c_s
        counts[LSTM.c_activation] += o_s
        counts[LSTM.h] += o_h
        if return_sequences:
            store_rows(out, s0, t, 0, hf, n_b)
    if not return_sequences:
        store_rows(out, s0, 0, 0, hf, n_b)
