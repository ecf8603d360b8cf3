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

from fxsim.fixed import requantize
from fxsim.kernels.dense import dense_accumulate
from fxsim.kernels.recurrent import activate, add_products

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
def lstm_sample(x, x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc,
                order_x, order_h, accum, result, table_recr, table_act, table_frac, recr_kind, act_kind,
                return_sequences, trace, out, internals, counts):
    """One sample of ``nnet::lstm_stack``.

    ``x [T, n_in]`` input codes; writes ``out [T or 1, n]`` hidden-state codes,
    ``internals [T, 19n]`` (when ``trace``; columns as ``LSTM_TRACE``) and adds to
    ``counts`` (``LSTM_COUNTERS``). Other arguments as :func:`lstm_forward`.
    """
    aw, af, asg, ar, ao = accum
    rw_, rf, rs, rr, ro = result
    n_steps = x.shape[0]
    n = recurrent_weight.shape[0]
    zx = np.empty(4 * n, dtype=np.int64)
    zh = np.empty(4 * n, dtype=np.int64)
    act = np.empty(4 * n, dtype=np.int64)  # i | f | g | o in accum_t
    h = np.zeros(n, dtype=np.int64)
    c = np.zeros(n, dtype=np.int64)
    c_pre = 0
    c_gclip = 0
    c_gate = 0
    c_cclip = 0
    c_cand = 0
    c_c = 0
    c_sclip = 0
    c_s = 0
    c_h = 0
    for t in range(n_steps):
        dense_accumulate(x[t], x_frac, weight, w_frac, bias_acc, order_x, accum, zx, counts[0:2])
        dense_accumulate(h, rf, recurrent_weight, rw_frac, recurrent_bias_acc, order_h, accum, zh, counts[2:4])
        if trace:
            internals[t, 0:4 * n] = zx
            internals[t, 4 * n:8 * n] = zh
        for j in range(4 * n):
            v, o = requantize(zx[j] + zh[j], af, af, aw, asg, ar, ao)
            c_pre += o
            if 2 * n <= j < 3 * n:
                g, o2, clip = activate(v, af, act_kind, table_act, table_frac, accum)
                c_cand += o2
                c_cclip += clip
            else:
                g, o2, clip = activate(v, af, recr_kind, table_recr, table_frac, accum)
                c_gate += o2
                c_gclip += clip
            act[j] = g
            if trace:
                internals[t, 8 * n + j] = v
        for j in range(n):
            gi = act[j]
            gf = act[n + j]
            gg = act[2 * n + j]
            go = act[3 * n + j]
            cn, o1 = add_products(gg, gi, 2 * af, c[j], gf, rf + af, result)
            c[j] = cn
            s, o2, clip = activate(cn, rf, act_kind, table_act, table_frac, accum)
            hn, o3 = requantize(go * s, 2 * af, rf, rw_, rs, rr, ro)
            h[j] = hn
            c_c += o1
            c_s += o2
            c_sclip += clip
            c_h += o3
            if trace:
                internals[t, 12 * n + j] = gi
                internals[t, 13 * n + j] = gf
                internals[t, 14 * n + j] = go
                internals[t, 15 * n + j] = gg
                internals[t, 16 * n + j] = cn
                internals[t, 17 * n + j] = s
                internals[t, 18 * n + j] = hn
        if return_sequences:
            out[t] = h
    if not return_sequences:
        out[0] = h
    counts[4] += c_pre
    counts[5] += c_gclip
    counts[6] += c_gate
    counts[7] += c_cclip
    counts[8] += c_cand
    counts[9] += c_c
    counts[10] += c_sclip
    counts[11] += c_s
    counts[12] += c_h


@nb.njit(cache=True, parallel=True)
def lstm_forward(x, x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc,
                 order_x, order_h, accum, result, table_recr, table_act, table_frac, recr_kind, act_kind,
                 return_sequences, trace, out, internals, counts):
    """``nnet::lstm_stack`` for a batch, parallel over samples.

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
    table_recr, table_act : ``table_t`` codes of the recurrent activation's and the
        activation's table (``fxsim.kernels.lut.build_table``; empty for relu), with
        ``table_frac`` fractional bits.
    recr_kind, act_kind : ``SIGMOID``, ``TANH`` or ``RELU`` (``fxsim.kernels.recurrent``).
    return_sequences : write every step's hidden state, else only the last.
    trace : fill ``internals``.
    out : int64 ``[n, T or 1, n_state]`` output codes of ``result_t``.
    internals : int64 ``[n, T, 19 n_state]`` (columns as ``LSTM_TRACE``) when ``trace``,
        else any ``[n, ...]`` array (untouched).
    counts : int64 ``[n, len(LSTM_COUNTERS)]``, per-sample overflow counts (added to).
    """
    for s in nb.prange(x.shape[0]):
        lstm_sample(x[s], x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc,
                    order_x, order_h, accum, result, table_recr, table_act, table_frac, recr_kind, act_kind,
                    return_sequences, trace, out[s], internals[s], counts[s])


def run(spec, prepared, x: np.ndarray, trace: bool):
    """Run a prepared LSTM spec on ``x [n, T, n_in]`` codes (see ``fxsim.kernels.recurrent.run_recurrent``)."""
    from fxsim.kernels.recurrent import RecurrentResult

    n, steps, n_in = x.shape
    m = spec.n_state
    p = prepared
    out = np.empty((n, steps if spec.return_sequences else 1, m), dtype=np.int64)
    internals = np.empty((n, steps, _TRACE_WIDTH * m) if trace else (n, 1, 1), dtype=np.int64)
    counts = np.zeros((n, len(LSTM_COUNTERS)), dtype=np.int64)
    lstm_forward(x, spec.input_t.frac, p.weight, spec.weight_t.frac, p.recurrent_weight,
                 spec.recurrent_weight_t.frac, p.bias_acc, p.recurrent_bias_acc, p.order_x, p.order_h,
                 spec.accum_t.spec, spec.result_t.spec, p.table_recr, p.table_act, spec.table_t.frac,
                 p.recr_kind, p.act_kind, bool(spec.return_sequences), bool(trace), out, internals, counts)
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
