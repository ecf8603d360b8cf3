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

``h`` and ``c`` start at 0 for every sample. hls4ml 1.3.0 only compiles an LSTM whose
input type, ``accum_t`` and ``result_t`` are identical (``check_recurrent_supported``);
``lstm`` (non-static) and ``lstm_static`` then compute the same numbers.

Trace columns (per time step, ``LSTM_TRACE``) and overflow counters
(``LSTM_COUNTERS``) are named below.
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

#: Overflow counters filled by :func:`lstm_forward` (columns of ``counts``).
LSTM_COUNTERS = (
    "input_product", "input_accumulator", "recurrent_product", "recurrent_accumulator",
    "gate_preactivation", "gate_table_index_clip", "gate", "candidate_table_index_clip", "candidate",
    "c", "c_table_index_clip", "c_activation", "h",
)

_TRACE_WIDTH = sum(w for _, w, _ in LSTM_TRACE)


@nb.njit(cache=True)
def lstm_block(x, s0, n_b, x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc,
               order_x, order_h, accum, result, recr_table, act_table, recr_kind, act_kind,
               return_sequences, trace, count, out, internals, counts):
    """``nnet::lstm_stack`` on the ``n_b`` samples ``x[s0 : s0 + n_b]``.

    Every quantity is held as ``[rows, n_b]`` (samples innermost) so each step of the
    cell is a vectorised loop over the block. Writes ``out[s0 + b]`` and, with
    ``trace``, ``internals[s0 + b]``; adds the block's overflow counts to ``counts``
    (``LSTM_COUNTERS``). Other arguments as :func:`lstm_forward`.
    """
    af = accum[1]
    rf = result[1]
    n_steps = x.shape[1]
    n_in = x.shape[2]
    n = recurrent_weight.shape[0]
    nb_ = n * n_b
    xs = np.empty((min(STEPS_PER_LOAD, n_steps), n_in, n_b), dtype=np.int64)  # see step_input
    zx = np.empty((4 * n, n_b), dtype=np.int64)
    zh = np.empty((4 * n, n_b), dtype=np.int64)
    h = np.zeros((n, n_b), dtype=np.int64)
    zxf = zx.reshape(4 * nb_)
    zhf = zh.reshape(4 * nb_)
    hf = h.reshape(nb_)
    c = np.zeros(nb_, dtype=np.int64)
    pre = np.empty(4 * nb_, dtype=np.int64)
    act = np.empty(4 * nb_, dtype=np.int64)  # i | f | g | o in accum_t
    s = np.empty(nb_, dtype=np.int64)
    for t in range(n_steps):
        xt = step_input(x, s0, t, xs)
        dense_accumulate(xt, x_frac, weight, w_frac, bias_acc, order_x, accum, zx, counts[0:2], count)
        dense_accumulate(h, rf, recurrent_weight, rw_frac, recurrent_bias_acc, order_h, accum, zh, counts[2:4], count)
        counts[4] += sum_row(zxf, zhf, af, accum, pre)
        o1, clip1 = activate_row(pre[:2 * nb_], af, recr_kind, recr_table, accum, act[:2 * nb_])
        o2, clip2 = activate_row(pre[3 * nb_:], af, recr_kind, recr_table, accum, act[3 * nb_:])
        counts[5] += clip1 + clip2
        counts[6] += o1 + o2
        o, clip = activate_row(pre[2 * nb_:3 * nb_], af, act_kind, act_table, accum, act[2 * nb_:3 * nb_])
        counts[7] += clip
        counts[8] += o
        # c = g * i + c * f
        counts[9] += add_products_row(act[2 * nb_:3 * nb_], act[:nb_], 2 * af, c, act[nb_:2 * nb_], rf + af,
                                      result, c)
        o, clip = activate_row(c, rf, act_kind, act_table, accum, s)
        counts[10] += clip
        counts[11] += o
        counts[12] += product_row(act[3 * nb_:], s, 2 * af, result, hf)  # h = o * activation(c)
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


@nb.njit(cache=True, parallel=True)
def lstm_forward(x, x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc,
                 order_x, order_h, accum, result, recr_table, act_table, recr_kind, act_kind,
                 return_sequences, trace, count, out, internals, counts):
    """``nnet::lstm_stack`` for a batch, parallel over blocks of ``BLOCK`` samples.

    Parameters
    ----------
    x : int64 ``[n, T, n_in]`` input codes (``x_frac`` fractional bits).
    weight, recurrent_weight : int64 ``[n_in, 4n]`` / ``[n, 4n]`` codes (Keras layout),
        with ``w_frac`` / ``rw_frac`` fractional bits.
    bias_acc, recurrent_bias_acc : int64 ``[4n]`` biases already cast to ``accum_t``
        (``fxsim.kernels.dense.bias_to_accum``).
    order_x, order_h : accumulation orders of the two dense products
        (``fxsim.kernels.dense.dense_order``; ``[0, 4]`` for Latency).
    accum, result : ``FixedType.spec`` tuples of ``accum_t`` and ``result_t``.
    recr_table, act_table : the recurrent activation's and the activation's lookup
        tables cast to ``accum_t``, each entry with its overflow flag
        (``fxsim.kernels.recurrent.accum_table``; empty for relu).
    recr_kind, act_kind : ``SIGMOID``, ``TANH`` or ``RELU`` (``fxsim.kernels.recurrent``).
    return_sequences : write every step's hidden state, else only the last.
    trace : fill ``internals``.
    count : count the input and recurrent products' and accumulators' overflows (else
        those counters stay 0 and the common accumulator types run faster).
    out : int64 ``[n, T or 1, n_state]`` output codes of ``result_t``.
    internals : int64 ``[n, T, 19 n_state]`` (columns as ``LSTM_TRACE``) when ``trace``,
        else any ``[n, ...]`` array (untouched).
    counts : int64 ``[n_blocks(n), len(LSTM_COUNTERS)]``, overflow counts per block (added to).
    """
    n = x.shape[0]
    for blk in nb.prange((n + BLOCK - 1) // BLOCK):
        s0 = blk * BLOCK
        lstm_block(x, s0, min(BLOCK, n - s0), x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc,
                   recurrent_bias_acc, order_x, order_h, accum, result, recr_table, act_table,
                   recr_kind, act_kind, return_sequences, trace, count, out, internals, counts[blk])


def run(spec, prepared, x: np.ndarray, trace: bool, count: bool = True):
    """Run a prepared LSTM spec on ``x [n, T, n_in]`` codes (see ``fxsim.kernels.recurrent.run_recurrent``)."""
    from fxsim.kernels.recurrent import RecurrentResult

    n, steps, n_in = x.shape
    m = spec.n_state
    p = prepared
    out = np.empty((n, steps if spec.return_sequences else 1, m), dtype=np.int64)
    internals = np.empty((n, steps, _TRACE_WIDTH * m) if trace else (n, 1, 1), dtype=np.int64)
    counts = np.zeros((n_blocks(n), len(LSTM_COUNTERS)), dtype=np.int64)
    lstm_forward(x, spec.input_t.frac, p.weight, spec.weight_t.frac, p.recurrent_weight,
                 spec.recurrent_weight_t.frac, p.bias_acc, p.recurrent_bias_acc, p.order_x, p.order_h,
                 spec.accum_t.spec, spec.result_t.spec, p.table_recr, p.table_act,
                 p.recr_kind, p.act_kind, bool(spec.return_sequences), bool(trace), bool(count), out, internals, counts)
    c = counts.sum(axis=0)
    per_step = n * steps
    luts_recr = p.recr_kind != 2
    luts_act = p.act_kind != 2
    overflows = {
        "input_bias": (p.bias_over * per_step, 4 * m * per_step),
        "input_product": (c[0], n_in * 4 * m * per_step),
        "input_accumulator": (c[1], n_in * 4 * m * per_step),
        "recurrent_bias": (p.recurrent_bias_over * per_step, 4 * m * per_step),
        "recurrent_product": (c[2], m * 4 * m * per_step),
        "recurrent_accumulator": (c[3], m * 4 * m * per_step),
        "gate_preactivation": (c[4], 4 * m * per_step),
        "gate_table_index_clip": (c[5], 3 * m * per_step),
        "gate": (c[6], 3 * m * per_step),
        "candidate_table_index_clip": (c[7], m * per_step),
        "candidate": (c[8], m * per_step),
        "c": (c[9], m * per_step),
        "c_table_index_clip": (c[10], m * per_step),
        "c_activation": (c[11], m * per_step),
        "h": (c[12], m * per_step),
    }
    if not luts_recr:
        del overflows["gate_table_index_clip"]
    if not luts_act:
        del overflows["candidate_table_index_clip"], overflows["c_table_index_clip"]
    a, r = spec.accum_t, spec.result_t
    types = {q: a for q in overflows}
    types["c"] = r
    types["h"] = r
    for q in ("gate_table_index_clip", "candidate_table_index_clip", "c_table_index_clip"):
        if q in types:
            types[q] = spec.table_t
    internals_out = None
    if trace:
        internals_out = {}
        col = 0
        for name, width, kind in LSTM_TRACE:
            internals_out[name] = (np.ascontiguousarray(internals[:, :, col * m:(col + width) * m]),
                                   a if kind == "accum" else r)
            col += width
    return RecurrentResult(out if spec.return_sequences else out[:, 0], internals_out, overflows, types)
