"""GRU layer: ``nnet::gru_stack`` / ``gru_static`` (``nnet_recurrent.h``, io_parallel) on raw codes.

Keras gate order ``[z|r|h]``, always reset-after (``pytorch_order=false``). One step,
with A = ``accum_t``, R = ``result_t`` (the state's type) and Q_X a cast to X::

    zx  = dense_A(x_t, W, b)          [3n]  every product and sum cast to A (fxsim.kernels.dense)
    zh  = dense_A(h, U, br)           [3n]
    pre = Q_A(zx[:2n] + zh[:2n])                  gate pre-activations z|r
    z, r = recurrent_activation(pre)  -> A        (table_t entry cast to A)
    rh  = Q_A(r * zh[2n:])                        reset after the recurrent product
    hin = Q_A(zx[2n:] + rh)                       candidate pre-activation
    hc  = activation(hin)             -> A
    h   = Q_R(hc * (1 - z) + h * z)               exact expression, one cast

``h`` starts at 0 for every sample, or at the layer's initial state ``h0`` (hls4ml's
``gru_stack`` overload with an initial-state input). ``gru`` (non-static) and ``gru_static`` compute
the same numbers; only where the state is stored differs.

Trace columns (per time step, ``GRU_TRACE``) and overflow counters (``GRU_COUNTED``,
columns ``GRU``) are named below; the counter for each quantity counts the values that
did not fit their type (wrapped or saturated), and ``*_table_index_clip`` counts
lookup-table inputs outside the table's range. :mod:`fxsim.kernels.recurrent` drives the
cell over a batch.
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
    sum_row,
)

#: ``(name, width in units of n_state, "accum" | "result")`` of each traced internal.
GRU_TRACE = (
    ("input_projection", 3, "accum"),  # zx = W x_t + b, [z|r|h]
    ("recurrent_projection", 3, "accum"),  # zh = U h_{t-1} + br, [z|r|h]
    ("gate_preactivation", 2, "accum"),  # [z|r] before the recurrent activation
    ("z", 1, "accum"),
    ("r", 1, "accum"),
    ("reset_hidden", 1, "accum"),  # r * zh[h]
    ("candidate_preactivation", 1, "accum"),
    ("candidate", 1, "accum"),
    ("h", 1, "result"),
)

#: The cell's own overflow counters, after the two dense products'.
GRU_COUNTED = (
    Counted("gate_preactivation", 2),
    Counted("gate_table_index_clip", 2, table="recurrent_activation"),
    Counted("gate", 2),
    Counted("reset_hidden", 1),
    Counted("candidate_preactivation", 1),
    Counted("candidate_table_index_clip", 1, table="activation"),
    Counted("candidate", 1),
    Counted("h", 1, kind="result"),
)
GRU_COUNTERS, GRU = recurrent_counters("GruCounter", GRU_COUNTED)


@njit(cache=True, inline="always")
def gru_block(x, state, s0, n_b, args, return_sequences, trace, plan_x, plan_h, out, internals, counts):
    """``nnet::gru_stack`` on samples ``x[s0 : s0 + n_b]`` (see :func:`fxsim.kernels.recurrent.recurrent_forward`)."""
    n, xs, zx, zh, h, zxf, zhf, hf, scratch = block_buffers(x, state, s0, args, 3, n_b)
    af, rf, nb_ = args.accum[1], args.result[1], n * n_b
    pre = np.empty(2 * nb_, dtype=np.int64)  # [z|r] gate pre-activations
    gate = np.empty(2 * nb_, dtype=np.int64)  # z | r
    rh = np.empty(nb_, dtype=np.int64)
    hin = np.empty(nb_, dtype=np.int64)
    hc = np.empty(nb_, dtype=np.int64)
    omz = np.empty(nb_, dtype=np.int64)
    fz = af if af > 0 else 0  # (1 - z) is formed exactly with max(F_A, 0) fractional bits
    one = np.int64(1) << fz
    for t in range(x.shape[1]):
        project_step(x, s0, t, xs, h, args, zx, zh, counts, plan_x, plan_h, scratch)
        counts[GRU.gate_preactivation] += sum_row(zxf[:2 * nb_], zhf[:2 * nb_], af, args.accum, pre)
        o, clip = activate_row(pre, af, args.recr_kind, args.recr_table, args.accum, gate)
        counts[GRU.gate_table_index_clip] += clip
        counts[GRU.gate] += o
        counts[GRU.reset_hidden] += product_row(gate[nb_:], zhf[2 * nb_:], 2 * af, args.accum, rh)  # r * zh[h]
        counts[GRU.candidate_preactivation] += sum_row(zxf[2 * nb_:], rh, af, args.accum, hin)
        o, clip = activate_row(hin, af, args.act_kind, args.act_table, args.accum, hc)
        counts[GRU.candidate_table_index_clip] += clip
        counts[GRU.candidate] += o
        for k in range(nb_):
            omz[k] = one - (gate[k] << (fz - af))
        counts[GRU.h] += add_products_row(hc, omz, af + fz, hf, gate[:nb_], rf + af, args.result, hf)
        if trace:
            store_rows(internals, s0, t, 0, zxf, n_b)
            store_rows(internals, s0, t, 3 * n, zhf, n_b)
            store_rows(internals, s0, t, 6 * n, pre, n_b)
            store_rows(internals, s0, t, 8 * n, gate, n_b)
            store_rows(internals, s0, t, 10 * n, rh, n_b)
            store_rows(internals, s0, t, 11 * n, hin, n_b)
            store_rows(internals, s0, t, 12 * n, hc, n_b)
            store_rows(internals, s0, t, 13 * n, hf, n_b)
        if return_sequences:
            store_rows(out, s0, t, 0, hf, n_b)
    if not return_sequences:
        store_rows(out, s0, 0, 0, hf, n_b)


@njit(cache=True, inline="always")
def gru_block_fused(x, state, s0, n_b, args, return_sequences, plan_x, plan_h, form, out, counts):
    """:func:`gru_block` without its trace, one state row at a time, on int32 accumulators.

    For the layers :func:`fxsim.kernels.recurrent.fused_cell` admits (every cast of the cell
    a WRAP or SAT with TRN, RND or RND_CONV, both tables of ``2**k`` entries) and dense
    plans :func:`~fxsim.kernels.dense_plan.sums_in_int32` admits; ``form`` (a constant of
    the kernel) is the layer's fused form, which says how each cast is computed
    (:func:`~fxsim.kernels.recurrent_rows.cell_cast`). Both products leave
    their sums in int32 (:func:`~fxsim.kernels.recurrent_rows.project_step_mod32`); each
    row of the state (``n_b`` samples) then goes through the whole cell in five loops over
    buffers of ``n_b`` values that stay in the first-level cache (z and r pre-activations
    with their table indices, the two table reads, the reset product with the candidate's
    pre-activation and index, the candidate's table read, the state update), each
    accumulator cast to ``accum_t`` as it is read. The row-by-row cell makes a dozen passes
    over rows of the whole block instead. The same codes and counts as :func:`gru_block`.
    """
    n, xs, zx, zh, h, zxf, zhf, hf, scratch = block_buffers(x, state, s0, args, 3, n_b)
    af, rf = args.accum[1], args.result[1]
    ax, ah = scratch[0][1], scratch[1][1]  # [3n, n_b] int32 accumulators of W x_t + b and U h + br
    sha = 64 - args.accum[0]
    t_r, t_a = args.recr_table, args.act_table
    n_r, n_a = t_r.shape[0], t_a.shape[0]
    eff_r = lut_shift(args.recr_kind, af, n_r)
    eff_a = lut_shift(args.act_kind, af, n_a)
    fz = af if af > 0 else 0  # (1 - z) is formed exactly with max(F_A, 0) fractional bits
    one = np.int64(1) << fz
    f1, f2 = af + fz, rf + af  # the two products of the state update
    f = f1 if f1 > f2 else f2
    s1, s2 = f - f1, f - f2
    # the cell's casts: accum_t(a + b), accum_t(r * zh[h]), result_t(the state update)
    p_sum, p_rh, p_h = cast_params(0, args.accum), cast_params(af, args.accum), cast_params(f - rf, args.result)
    g = np.empty((3, n_b), dtype=np.int64)  # z | r | candidate: table index, then value
    for t in range(x.shape[1]):
        project_step_mod32(x, s0, t, xs, h, args, zx, zh, plan_x, plan_h, scratch)
        o_pre = o_gate = c_gate = o_rh = o_hin = o_cand = c_cand = o_h = 0
        # 2-D indexing throughout (no row views: each costs atomic reference counting)
        for j in range(n):
            o = j * n_b
            for b in range(n_b):  # z, r pre-activations and their table indices
                c, ov = cell_cast(wrap_signed(np.int64(ax[j, b]), sha) + wrap_signed(np.int64(ah[j, b]), sha),
                                  p_sum, form)
                o_pre += ov
                iz, cz = lut_index_pow2(c, eff_r, n_r)
                c, ov = cell_cast(wrap_signed(np.int64(ax[n + j, b]), sha) + wrap_signed(np.int64(ah[n + j, b]), sha),
                                  p_sum, form)
                o_pre += ov
                ir, cr = lut_index_pow2(c, eff_r, n_r)
                g[0, b] = iz
                g[1, b] = ir
                c_gate += cz + cr
            o_gate += gather_row(t_r, g, 0) + gather_row(t_r, g, 1)
            for b in range(n_b):  # r * zh[h], the candidate pre-activation and its index
                c, ov = cell_cast(g[1, b] * wrap_signed(np.int64(ah[2 * n + j, b]), sha), p_rh, form)
                o_rh += ov
                c, ov = cell_cast(wrap_signed(np.int64(ax[2 * n + j, b]), sha) + c, p_sum, form)
                o_hin += ov
                ih, ch = lut_index_pow2(c, eff_a, n_a)
                g[2, b] = ih
                c_cand += ch
            o_cand += gather_row(t_a, g, 2)
            for b in range(n_b):  # h = hc * (1 - z) + h * z
                gz = g[0, b]
                v = ((g[2, b] * (one - (gz << (fz - af)))) << s1) + ((hf[o + b] * gz) << s2)
                c, ov = cell_cast(v, p_h, form)
                o_h += ov
                hf[o + b] = c
        counts[GRU.gate_preactivation] += o_pre
        counts[GRU.gate_table_index_clip] += c_gate
        counts[GRU.gate] += o_gate
        counts[GRU.reset_hidden] += o_rh
        counts[GRU.candidate_preactivation] += o_hin
        counts[GRU.candidate_table_index_clip] += c_cand
        counts[GRU.candidate] += o_cand
        counts[GRU.h] += o_h
        if return_sequences:
            store_rows(out, s0, t, 0, hf, n_b)
    if not return_sequences:
        store_rows(out, s0, 0, 0, hf, n_b)
