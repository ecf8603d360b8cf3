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

``h`` starts at 0 for every sample. ``gru`` (non-static) and ``gru_static`` compute
the same numbers; only where the state is stored differs.

Trace columns (per time step, ``GRU_TRACE``) and overflow counters (``GRU_COUNTERS``)
are named below; the counter for each quantity counts the values that did not fit
their type (wrapped or saturated), and ``*_table_index_clip`` counts lookup-table
inputs outside the table's range.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from fxsim.kernels.dense import BLOCK, dense_accumulate, n_blocks
from fxsim.kernels.recurrent import (
    STEPS_PER_LOAD,
    activate_row,
    add_products_row,
    product_row,
    step_input,
    store_rows,
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

#: Overflow counters filled by :func:`gru_forward` (columns of ``counts``).
GRU_COUNTERS = (
    "input_product", "input_accumulator", "recurrent_product", "recurrent_accumulator",
    "gate_preactivation", "gate_table_index_clip", "gate", "reset_hidden",
    "candidate_preactivation", "candidate_table_index_clip", "candidate", "h",
)

_TRACE_WIDTH = sum(w for _, w, _ in GRU_TRACE)


@nb.njit(cache=True)
def gru_block(x, s0, n_b, x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc,
              order_x, order_h, accum, result, recr_table, act_table, recr_kind, act_kind,
              return_sequences, trace, count, out, internals, counts):
    """``nnet::gru_stack`` on the ``n_b`` samples ``x[s0 : s0 + n_b]``.

    Every quantity is held as ``[rows, n_b]`` (samples innermost) so each step of the
    cell is a vectorised loop over the block. Writes ``out[s0 + b]`` and, with
    ``trace``, ``internals[s0 + b]``; adds the block's overflow counts to ``counts``
    (``GRU_COUNTERS``). Other arguments as :func:`gru_forward`.
    """
    af = accum[1]
    rf = result[1]
    n_steps = x.shape[1]
    n_in = x.shape[2]
    n = recurrent_weight.shape[0]
    nb_ = n * n_b
    xs = np.empty((min(STEPS_PER_LOAD, n_steps), n_in, n_b), dtype=np.int64)  # see step_input
    zx = np.empty((3 * n, n_b), dtype=np.int64)
    zh = np.empty((3 * n, n_b), dtype=np.int64)
    h = np.zeros((n, n_b), dtype=np.int64)
    zxf = zx.reshape(3 * nb_)
    zhf = zh.reshape(3 * nb_)
    hf = h.reshape(nb_)
    pre = np.empty(2 * nb_, dtype=np.int64)  # [z|r] gate pre-activations
    gate = np.empty(2 * nb_, dtype=np.int64)  # z | r
    rh = np.empty(nb_, dtype=np.int64)
    hin = np.empty(nb_, dtype=np.int64)
    hc = np.empty(nb_, dtype=np.int64)
    omz = np.empty(nb_, dtype=np.int64)
    fz = af if af > 0 else 0  # (1 - z) is formed exactly with max(F_A, 0) fractional bits
    one = np.int64(1) << fz
    for t in range(n_steps):
        xt = step_input(x, s0, t, xs)
        dense_accumulate(xt, x_frac, weight, w_frac, bias_acc, order_x, accum, zx, counts[0:2], count)
        dense_accumulate(h, rf, recurrent_weight, rw_frac, recurrent_bias_acc, order_h, accum, zh, counts[2:4], count)
        counts[4] += sum_row(zxf[:2 * nb_], zhf[:2 * nb_], af, accum, pre)
        o, clip = activate_row(pre, af, recr_kind, recr_table, accum, gate)
        counts[5] += clip
        counts[6] += o
        counts[7] += product_row(gate[nb_:], zhf[2 * nb_:], 2 * af, accum, rh)  # r * zh[h]
        counts[8] += sum_row(zxf[2 * nb_:], rh, af, accum, hin)
        o, clip = activate_row(hin, af, act_kind, act_table, accum, hc)
        counts[9] += clip
        counts[10] += o
        for k in range(nb_):
            omz[k] = one - (gate[k] << (fz - af))
        counts[11] += add_products_row(hc, omz, af + fz, hf, gate[:nb_], rf + af, result, hf)
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


@nb.njit(cache=True, parallel=True)
def gru_forward(x, x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc,
                order_x, order_h, accum, result, recr_table, act_table, recr_kind, act_kind,
                return_sequences, trace, count, out, internals, counts):
    """``nnet::gru_stack`` for a batch, parallel over blocks of ``BLOCK`` samples.

    Parameters
    ----------
    x : int64 ``[n, T, n_in]`` input codes (``x_frac`` fractional bits).
    weight, recurrent_weight : int64 ``[n_in, 3n]`` / ``[n, 3n]`` codes (Keras layout),
        with ``w_frac`` / ``rw_frac`` fractional bits.
    bias_acc, recurrent_bias_acc : int64 ``[3n]`` biases already cast to ``accum_t``
        (``fxsim.kernels.dense.bias_to_accum``).
    order_x, order_h : accumulation orders of the two dense products
        (``fxsim.kernels.dense.dense_order``; ``[0, 4]`` for Latency).
    accum, result : ``FixedType.spec`` tuples of ``accum_t`` and ``result_t``.
    recr_table, act_table : the recurrent activation's and the activation's lookup
        tables cast to ``accum_t``, each entry with its overflow flag
        (``fxsim.kernels.recurrent.accum_table``; empty for relu).
    recr_kind, act_kind : ``SIGMOID``, ``TANH`` or ``RELU`` (``fxsim.kernels.recurrent``).
    return_sequences : write every step's state, else only the last.
    trace : fill ``internals``.
    count : count the input and recurrent products' and accumulators' overflows (else
        those counters stay 0 and the common accumulator types run faster).
    out : int64 ``[n, T or 1, n_state]`` output codes of ``result_t``.
    internals : int64 ``[n, T, 14 n_state]`` (columns as ``GRU_TRACE``) when ``trace``,
        else any ``[n, ...]`` array (untouched).
    counts : int64 ``[n_blocks(n), len(GRU_COUNTERS)]``, overflow counts per block (added to).
    """
    n = x.shape[0]
    for blk in nb.prange((n + BLOCK - 1) // BLOCK):
        s0 = blk * BLOCK
        gru_block(x, s0, min(BLOCK, n - s0), x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc,
                  recurrent_bias_acc, order_x, order_h, accum, result, recr_table, act_table,
                  recr_kind, act_kind, return_sequences, trace, count, out, internals, counts[blk])


def run(spec, prepared, x: np.ndarray, trace: bool, count: bool = True):
    """Run a prepared GRU spec on ``x [n, T, n_in]`` codes (see ``fxsim.kernels.recurrent.run_recurrent``)."""
    from fxsim.kernels.recurrent import RecurrentResult

    n, steps, n_in = x.shape
    m = spec.n_state
    p = prepared
    out = np.empty((n, steps if spec.return_sequences else 1, m), dtype=np.int64)
    internals = np.empty((n, steps, _TRACE_WIDTH * m) if trace else (n, 1, 1), dtype=np.int64)
    counts = np.zeros((n_blocks(n), len(GRU_COUNTERS)), dtype=np.int64)
    gru_forward(x, spec.input_t.frac, p.weight, spec.weight_t.frac, p.recurrent_weight,
                spec.recurrent_weight_t.frac, p.bias_acc, p.recurrent_bias_acc, p.order_x, p.order_h,
                spec.accum_t.spec, spec.result_t.spec, p.table_recr, p.table_act,
                p.recr_kind, p.act_kind, bool(spec.return_sequences), bool(trace), bool(count), out, internals, counts)
    c = counts.sum(axis=0)
    per_step = n * steps
    luts_recr = p.recr_kind != 2
    luts_act = p.act_kind != 2
    overflows = {
        "input_bias": (p.bias_over * per_step, 3 * m * per_step),
        "input_product": (c[0], n_in * 3 * m * per_step),
        "input_accumulator": (c[1], n_in * 3 * m * per_step),
        "recurrent_bias": (p.recurrent_bias_over * per_step, 3 * m * per_step),
        "recurrent_product": (c[2], m * 3 * m * per_step),
        "recurrent_accumulator": (c[3], m * 3 * m * per_step),
        "gate_preactivation": (c[4], 2 * m * per_step),
        "gate_table_index_clip": (c[5], 2 * m * per_step if luts_recr else 0),
        "gate": (c[6], 2 * m * per_step),
        "reset_hidden": (c[7], m * per_step),
        "candidate_preactivation": (c[8], m * per_step),
        "candidate_table_index_clip": (c[9], m * per_step if luts_act else 0),
        "candidate": (c[10], m * per_step),
        "h": (c[11], m * per_step),
    }
    if not luts_recr:
        del overflows["gate_table_index_clip"]
    if not luts_act:
        del overflows["candidate_table_index_clip"]
    a, r = spec.accum_t, spec.result_t
    types = {q: a for q in overflows}
    types["h"] = r
    for q in ("gate_table_index_clip", "candidate_table_index_clip"):
        if q in types:
            types[q] = spec.table_t
    internals_out = None
    if trace:
        internals_out = {}
        col = 0
        for name, width, kind in GRU_TRACE:
            internals_out[name] = (np.ascontiguousarray(internals[:, :, col * m:(col + width) * m]),
                                   a if kind == "accum" else r)
            col += width
    return RecurrentResult(out if spec.return_sequences else out[:, 0], internals_out, overflows, types)
