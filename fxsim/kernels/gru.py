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

from fxsim.fixed import requantize
from fxsim.kernels.dense import dense_accumulate
from fxsim.kernels.recurrent import activate, add_products

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
def gru_sample(x, x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc,
               order_x, order_h, accum, result, table_recr, table_act, table_frac, recr_kind, act_kind,
               return_sequences, trace, out, internals, counts):
    """One sample of ``nnet::gru_stack``.

    ``x [T, n_in]`` input codes; writes ``out [T or 1, n]`` state codes, ``internals
    [T, 14n]`` (when ``trace``; columns as ``GRU_TRACE``) and adds to ``counts``
    (``GRU_COUNTERS``). Other arguments as :func:`gru_forward`.
    """
    aw, af, asg, ar, ao = accum
    rw_, rf, rs, rr, ro = result
    n_steps = x.shape[0]
    n = recurrent_weight.shape[0]
    zx = np.empty(3 * n, dtype=np.int64)
    zh = np.empty(3 * n, dtype=np.int64)
    gate = np.empty(2 * n, dtype=np.int64)
    h = np.zeros(n, dtype=np.int64)
    fz = af if af > 0 else 0  # (1 - z) is formed exactly with max(F_A, 0) fractional bits
    one = np.int64(1) << fz
    c_pre = 0
    c_gclip = 0
    c_gate = 0
    c_rh = 0
    c_hin = 0
    c_cclip = 0
    c_cand = 0
    c_h = 0
    for t in range(n_steps):
        dense_accumulate(x[t], x_frac, weight, w_frac, bias_acc, order_x, accum, zx, counts[0:2])
        dense_accumulate(h, rf, recurrent_weight, rw_frac, recurrent_bias_acc, order_h, accum, zh, counts[2:4])
        if trace:
            internals[t, 0:3 * n] = zx
            internals[t, 3 * n:6 * n] = zh
        for j in range(2 * n):
            v, o = requantize(zx[j] + zh[j], af, af, aw, asg, ar, ao)
            c_pre += o
            g, o2, clip = activate(v, af, recr_kind, table_recr, table_frac, accum)
            gate[j] = g
            c_gate += o2
            c_gclip += clip
            if trace:
                internals[t, 6 * n + j] = v
                internals[t, 8 * n + j] = g
        for j in range(n):
            z = gate[j]
            rh, o1 = requantize(gate[n + j] * zh[2 * n + j], 2 * af, af, aw, asg, ar, ao)
            hin, o2 = requantize(zx[2 * n + j] + rh, af, af, aw, asg, ar, ao)
            hc, o3, clip = activate(hin, af, act_kind, table_act, table_frac, accum)
            omz = one - (z << (fz - af))
            hn, o4 = add_products(hc, omz, af + fz, h[j], z, rf + af, result)
            h[j] = hn
            c_rh += o1
            c_hin += o2
            c_cand += o3
            c_cclip += clip
            c_h += o4
            if trace:
                internals[t, 10 * n + j] = rh
                internals[t, 11 * n + j] = hin
                internals[t, 12 * n + j] = hc
                internals[t, 13 * n + j] = hn
        if return_sequences:
            out[t] = h
    if not return_sequences:
        out[0] = h
    counts[4] += c_pre
    counts[5] += c_gclip
    counts[6] += c_gate
    counts[7] += c_rh
    counts[8] += c_hin
    counts[9] += c_cclip
    counts[10] += c_cand
    counts[11] += c_h


@nb.njit(cache=True, parallel=True)
def gru_forward(x, x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc,
                order_x, order_h, accum, result, table_recr, table_act, table_frac, recr_kind, act_kind,
                return_sequences, trace, out, internals, counts):
    """``nnet::gru_stack`` for a batch, parallel over samples.

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
    table_recr, table_act : ``table_t`` codes of the recurrent activation's and the
        activation's table (``fxsim.kernels.lut.build_table``; empty for relu), with
        ``table_frac`` fractional bits.
    recr_kind, act_kind : ``SIGMOID``, ``TANH`` or ``RELU`` (``fxsim.kernels.recurrent``).
    return_sequences : write every step's state, else only the last.
    trace : fill ``internals``.
    out : int64 ``[n, T or 1, n_state]`` output codes of ``result_t``.
    internals : int64 ``[n, T, 14 n_state]`` (columns as ``GRU_TRACE``) when ``trace``,
        else any ``[n, ...]`` array (untouched).
    counts : int64 ``[n, len(GRU_COUNTERS)]``, per-sample overflow counts (added to).
    """
    for s in nb.prange(x.shape[0]):
        gru_sample(x[s], x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc,
                   order_x, order_h, accum, result, table_recr, table_act, table_frac, recr_kind, act_kind,
                   return_sequences, trace, out[s], internals[s], counts[s])


def run(spec, prepared, x: np.ndarray, trace: bool):
    """Run a prepared GRU spec on ``x [n, T, n_in]`` codes (see ``fxsim.kernels.recurrent.run_recurrent``)."""
    from fxsim.kernels.recurrent import RecurrentResult

    n, steps, n_in = x.shape
    m = spec.n_state
    p = prepared
    out = np.empty((n, steps if spec.return_sequences else 1, m), dtype=np.int64)
    internals = np.empty((n, steps, _TRACE_WIDTH * m) if trace else (n, 1, 1), dtype=np.int64)
    counts = np.zeros((n, len(GRU_COUNTERS)), dtype=np.int64)
    gru_forward(x, spec.input_t.frac, p.weight, spec.weight_t.frac, p.recurrent_weight,
                spec.recurrent_weight_t.frac, p.bias_acc, p.recurrent_bias_acc, p.order_x, p.order_h,
                spec.accum_t.spec, spec.result_t.spec, p.table_recr, p.table_act, spec.table_t.frac,
                p.recr_kind, p.act_kind, bool(spec.return_sequences), bool(trace), out, internals, counts)
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
