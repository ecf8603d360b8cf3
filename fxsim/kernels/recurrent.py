"""LSTM and GRU layers (``nnet::lstm_stack`` / ``nnet::gru_stack``, io_parallel): the one driver.

The cells live in :mod:`fxsim.kernels.lstm` and :mod:`fxsim.kernels.gru` (one block of
samples, every time step) on the row operations of :mod:`fxsim.kernels.recurrent_rows`.
This module holds what both share: the checks of what hls4ml 1.3.0 can compile,
:func:`prepare` (weights, biases cast to ``accum_t``, accumulation orders and tables,
built once per layer and owned by its runner), the parallel driver
:func:`recurrent_forward` and :func:`run`, which turns its counters into the overflow
report's quantities and its trace columns into named internals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from fxsim._jit_cache import njit
from fxsim.fixed import MAX_WIDTH, FixedType
from fxsim.ir import RecurrentSpec
from fxsim.kernels import dense as dk
from fxsim.kernels import lut
from fxsim.kernels.blocks import BLOCK, n_blocks
from fxsim.kernels.dense_order import LATENCY_ORDER, dense_order
from fxsim.kernels.gru import GRU_COUNTED, GRU_COUNTERS, GRU_TRACE, gru_block
from fxsim.kernels.lstm import LSTM_COUNTED, LSTM_COUNTERS, LSTM_TRACE, lstm_block
from fxsim.kernels.recurrent_rows import ACTIVATIONS, CellArgs, accum_table

# What hls4ml 1.3.0 does with the settings it cannot run, for the error messages.
_NO_TEMPLATE = (
    "hls4ml 1.3.0 has no nnet::activation::{name} template for recurrent layers (only sigmoid, tanh "
    "and relu exist in nnet_recr_activations.h), so the C simulation does not compile"
)


@dataclass(frozen=True)
class Cell:
    """What the driver needs to know of a cell: its trace columns and its counters."""

    trace: tuple[tuple[str, int, str], ...]  # (name, width in units of n_state, "accum" | "result")
    counted: tuple  # the cell's own Counted quantities, after the dense counters
    counters: tuple[str, ...]  # every column of the kernel's counts

    @property
    def trace_width(self) -> int:
        return sum(w for _, w, _ in self.trace)


CELLS = {
    "gru": Cell(GRU_TRACE, GRU_COUNTED, GRU_COUNTERS),
    "lstm": Cell(LSTM_TRACE, LSTM_COUNTED, LSTM_COUNTERS),
}


# --- what hls4ml 1.3.0 can run ----------------------------------------------------------------


def check_recurrent_supported(spec: RecurrentSpec, *, reset_after: bool = True) -> None:
    """Raise ``ValueError`` for a recurrent layer hls4ml 1.3.0 cannot compile or computes wrong.

    Parameters
    ----------
    spec : the layer.
    reset_after : Keras ``GRU(reset_after=...)`` (hls4ml's ``apply_reset_gate == 'after'``).

    Raises
    ------
    ValueError
        Naming the layer, its class, the setting and what hls4ml does with it:
        an activation without an ``nnet::activation`` template (``hard_sigmoid``,
        ``linear``: compile error), an LSTM whose input, ``accum_t`` and ``result_t``
        differ (compile error), ``GRU(reset_after=False)`` (compiles, computes
        garbage), or a cell other than LSTM/GRU.
    """
    where = f"layer {spec.name!r} ({spec.cell.upper()})"
    if spec.cell not in ("lstm", "gru"):
        raise ValueError(f"layer {spec.name!r}: recurrent cell {spec.cell!r} is not emulated (LSTM and GRU are)")
    for key in ("recurrent_activation", "activation"):
        name = str(getattr(spec, key)).lower()
        if name not in ACTIVATIONS:
            raise ValueError(f"{where}: {key}={name!r}: " + _NO_TEMPLATE.format(name=name))
    if spec.cell == "gru" and not reset_after:
        raise ValueError(
            f"{where}: reset_after=False: hls4ml 1.3.0 compiles it but computes garbage (it reads the "
            "(3n,) Keras bias as two scalars and indexes past them); only reset_after=True is emulated"
        )
    if spec.cell == "lstm" and not (spec.input_t == spec.accum_t == spec.result_t):
        raise ValueError(
            f"{where}: input type {spec.input_t}, accum_t {spec.accum_t} and result_t {spec.result_t} "
            "differ; hls4ml 1.3.0's LSTM only compiles when the three are the same type "
            "(nnet::lstm calls dense<data_T, res_T> on accum_t arrays), so there is no C simulation to match"
        )


def _check_widths(spec: RecurrentSpec) -> None:
    """Refuse types whose exact intermediates would not fit the int64 kernels."""
    a, r = spec.accum_t, spec.result_t
    where = f"layer {spec.name!r} ({spec.cell.upper()})"

    def need(what: str, bits: int) -> None:
        if bits > MAX_WIDTH:
            raise ValueError(
                f"{where}: {what} needs {bits} bits exactly; fxsim represents at most {MAX_WIDTH} "
                "(narrow the types involved)"
            )

    need(f"the product input {spec.input_t} * weight {spec.weight_t}", spec.input_t.width + spec.weight_t.width)
    need(f"the product state {r} * recurrent weight {spec.recurrent_weight_t}",
         r.width + spec.recurrent_weight_t.width)
    need(f"a product of two accum_t {a} values", 2 * a.width)
    # gate * other + gate * state, aligned to the finer of the two products
    fz = max(a.frac, 0)
    f1, f2 = a.frac + (fz if spec.cell == "gru" else a.frac), r.frac + a.frac
    f = max(f1, f2)
    bits1 = a.width + (max(a.integer, 1) + fz + 1 if spec.cell == "gru" else a.width) + (f - f1)
    bits2 = r.width + a.width + (f - f2)
    need("the state update (two products summed exactly)", max(bits1, bits2) + 1)
    if spec.recurrent_activation != "relu" or spec.activation != "relu":
        lut.check_index_width(a, spec.table_size, f"{where} accum_t")
        if spec.cell == "lstm":
            lut.check_index_width(r, spec.table_size, f"{where} cell state")



# --- prepared arguments -------------------------------------------------------------------------


def dense_orders(spec: RecurrentSpec) -> tuple[np.ndarray, np.ndarray]:
    """Accumulation orders of the input and the recurrent dense (``mult_config1`` / ``mult_config2``).

    hls4ml's ``recurrent_templates.py`` picks each Resource kernel by comparing the
    layer's ``reuse_factor`` with that dense's ``n_in``, but instantiates the recurrent
    one with ``recurrent_reuse_factor``; an RF whose C++ ``assert`` would abort the C
    simulation raises ``ValueError``.
    """
    strategy = spec.strategy.lower()
    if strategy == "latency":
        return LATENCY_ORDER, LATENCY_ORDER
    if strategy != "resource":
        raise ValueError(
            f"layer {spec.name!r} ({spec.cell.upper()}): strategy {spec.strategy!r} is not emulated "
            "(Latency and Resource are)"
        )
    k = spec.n_gates
    rf = int(spec.reuse_factor)
    rrf = int(spec.recurrent_reuse_factor or rf)
    try:
        order_x = dense_order(spec.n_in, k * spec.n_state, "resource", rf,
                                 kernel="rf_leq_nin" if rf <= spec.n_in else "rf_gt_nin_rem0")
        order_h = dense_order(spec.n_state, k * spec.n_state, "resource", rrf,
                                 kernel="rf_leq_nin" if rf <= spec.n_state else "rf_gt_nin_rem0")
    except ValueError as err:
        raise ValueError(f"layer {spec.name!r} ({spec.cell.upper()}): {err}") from None
    return order_x, order_h


@dataclass
class Prepared:
    """A recurrent layer's kernel arguments built once from its spec (:func:`prepare`)."""

    weight: np.ndarray
    recurrent_weight: np.ndarray
    bias_acc: np.ndarray
    bias_over: int
    recurrent_bias_acc: np.ndarray
    recurrent_bias_over: int
    order_x: np.ndarray
    order_h: np.ndarray
    table_recr: np.ndarray  # entries in accum_t with their overflow flags, accum_table
    table_act: np.ndarray
    recr_kind: int
    act_kind: int


_EMPTY = np.zeros(0, dtype=np.int64)


def prepare(spec: RecurrentSpec) -> Prepared:
    """Check a recurrent layer and build its kernel arguments (done once, by its runner).

    Raises
    ------
    ValueError
        For a layer hls4ml 1.3.0 cannot run (:func:`check_recurrent_supported`), types
        too wide for the int64 kernels, or weights that do not fit the layer's sizes.
    """
    check_recurrent_supported(spec)
    _check_widths(spec)
    k, n = spec.n_gates, spec.n_state
    if spec.weight.shape != (spec.n_in, k * n) or spec.recurrent_weight.shape != (n, k * n):
        raise ValueError(
            f"layer {spec.name!r} ({spec.cell.upper()}): weights {spec.weight.shape} / recurrent weights "
            f"{spec.recurrent_weight.shape} do not fit n_in={spec.n_in}, n_state={n}, {k} gates"
        )
    if np.shape(spec.bias) != (k * n,) or np.shape(spec.recurrent_bias) != (k * n,):
        raise ValueError(
            f"layer {spec.name!r} ({spec.cell.upper()}): biases {np.shape(spec.bias)} / "
            f"{np.shape(spec.recurrent_bias)}, expected ({k * n},)"
        )
    bias_acc, bias_over = dk.bias_to_accum(spec.bias, spec.bias_t, spec.accum_t)
    rbias_acc, rbias_over = dk.bias_to_accum(spec.recurrent_bias, spec.recurrent_bias_t, spec.accum_t)
    order_x, order_h = dense_orders(spec)

    def table(name: str) -> np.ndarray:
        if name == "relu":
            return _EMPTY
        return accum_table(lut.build_table(name, spec.table_size, spec.table_t), spec.table_t, spec.accum_t)

    return Prepared(
        weight=np.ascontiguousarray(spec.weight, dtype=np.int64),
        recurrent_weight=np.ascontiguousarray(spec.recurrent_weight, dtype=np.int64),
        bias_acc=bias_acc, bias_over=int(bias_over),
        recurrent_bias_acc=rbias_acc, recurrent_bias_over=int(rbias_over),
        order_x=order_x, order_h=order_h,
        table_recr=table(spec.recurrent_activation), table_act=table(spec.activation),
        recr_kind=ACTIVATIONS[spec.recurrent_activation], act_kind=ACTIVATIONS[spec.activation],
    )


# --- running a layer ----------------------------------------------------------------------------


def recurrent_forward(lstm, x, x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc,
                      order_x, order_h, accum, result, recr_table, act_table, recr_kind, act_kind,
                      return_sequences, trace, count, out, internals, counts):
    """``nnet::lstm_stack`` (``lstm``) or ``nnet::gru_stack`` for a batch, parallel over blocks of ``BLOCK`` samples.

    Parameters
    ----------
    x : int64 ``[n, T, n_in]`` input codes.
    x_frac ... act_kind : the layer's arguments, as the fields of
        :data:`~fxsim.kernels.recurrent_rows.CellArgs` (passed one by one: a parallel loop
        takes arrays and scalars, not a tuple holding arrays).
    return_sequences : write every step's hidden state, else only the last.
    trace : fill ``internals``.
    count : count the input and recurrent products' and accumulators' overflows (else
        those counters stay 0 and the common accumulator types run faster).
    out : int64 ``[n, T or 1, n_state]`` output codes of ``result_t``.
    internals : int64 ``[n, T, trace width]`` (columns as the cell's trace) when ``trace``,
        else any ``[n, ...]`` array (untouched).
    counts : int64 ``[n_blocks(n), n counters]``, overflow counts per block (added to;
        columns as the cell's counters).

    Dispatches to the cell's own parallel kernel (:func:`_gru_forward`, :func:`_lstm_forward`),
    so a model compiles only the cell it uses.
    """
    kernel = _lstm_forward if lstm else _gru_forward
    kernel(x, x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc, order_x, order_h,
           accum, result, recr_table, act_table, recr_kind, act_kind, return_sequences, trace, count, out,
           internals, counts)


@njit(cache=True, parallel=True)
def _gru_forward(x, x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc,
                 order_x, order_h, accum, result, recr_table, act_table, recr_kind, act_kind,
                 return_sequences, trace, count, out, internals, counts):
    n = x.shape[0]
    for blk in nb.prange((n + BLOCK - 1) // BLOCK):
        s0 = blk * BLOCK
        n_b = min(BLOCK, n - s0)
        args = CellArgs(x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc,
                        order_x, order_h, accum, result, recr_table, act_table, recr_kind, act_kind)
        gru_block(x, s0, n_b, args, return_sequences, trace, count, out, internals, counts[blk])


@njit(cache=True, parallel=True)
def _lstm_forward(x, x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc,
                  order_x, order_h, accum, result, recr_table, act_table, recr_kind, act_kind,
                  return_sequences, trace, count, out, internals, counts):
    n = x.shape[0]
    for blk in nb.prange((n + BLOCK - 1) // BLOCK):
        s0 = blk * BLOCK
        n_b = min(BLOCK, n - s0)
        args = CellArgs(x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc,
                        order_x, order_h, accum, result, recr_table, act_table, recr_kind, act_kind)
        lstm_block(x, s0, n_b, args, return_sequences, trace, count, out, internals, counts[blk])


@dataclass
class RecurrentResult:
    """What :func:`run_recurrent` returns.

    Attributes
    ----------
    out : int64 ``result_t`` codes, ``[n, n_state]`` or ``[n, T, n_state]`` (``return_sequences``).
    internals : ``{name: (codes [n, T, m], FixedType)}`` per time step (with ``trace``), else ``None``.
    overflows : ``{quantity: (overflowed, total)}`` over the batch.
    types : ``{quantity: FixedType}`` the type each counted quantity was cast to.
    """

    out: np.ndarray
    internals: dict[str, tuple[np.ndarray, FixedType]] | None
    overflows: dict[str, tuple[int, int]]
    types: dict[str, FixedType]


def overflow_types(spec: RecurrentSpec) -> dict[str, FixedType]:
    """``{quantity: type}``: the type each quantity a recurrent layer counts is cast to."""
    types = {}
    for name in ("input_bias", "input_product", "input_accumulator",
                 "recurrent_bias", "recurrent_product", "recurrent_accumulator"):
        types[name] = spec.accum_t
    for q in CELLS[spec.cell].counted:
        if q.table is not None:
            if getattr(spec, q.table) != "relu":
                types[q.name] = spec.table_t
        else:
            types[q.name] = spec.result_t if q.kind == "result" else spec.accum_t
    return types


def run(spec: RecurrentSpec, prepared: Prepared, x: np.ndarray, trace: bool = False,
        count: bool = True, initial_state: tuple[np.ndarray, ...] | None = None) -> RecurrentResult:
    """Run a recurrent layer on ``x [n, T, n_in]`` (contiguous int64 codes) with the arguments :func:`prepare` built.

    ``initial_state``: ``(h0,)`` / ``(h0, c0)`` int64 ``result_t`` codes ``[n, n_state]``
    the state starts from (``None``: 0, the numba cells).
    """
    cell = CELLS[spec.cell]
    n, steps, n_in = x.shape
    m, k = spec.n_state, spec.n_gates
    p = prepared
    out = np.empty((n, steps if spec.return_sequences else 1, m), dtype=np.int64)
    internals = np.empty((n, steps, cell.trace_width * m) if trace else (n, 1, 1), dtype=np.int64)
    counts = np.zeros((n_blocks(n), len(cell.counters)), dtype=np.int64)
    args = CellArgs(spec.input_t.frac, p.weight, spec.weight_t.frac, p.recurrent_weight, spec.recurrent_weight_t.frac,
                    p.bias_acc, p.recurrent_bias_acc, p.order_x, p.order_h, spec.accum_t.spec, spec.result_t.spec,
                    p.table_recr, p.table_act, p.recr_kind, p.act_kind)
    if initial_state is None:
        recurrent_forward(spec.cell == "lstm", x, *args, bool(spec.return_sequences), bool(trace), bool(count), out,
                          internals, counts)
    else:
        counts = np.zeros((1, len(cell.counters)), dtype=np.int64)
        forward_from_state(spec.cell == "lstm", x, args, initial_state, bool(spec.return_sequences), bool(trace),
                           bool(count), out, internals, counts[0])
    totals = dict(zip(cell.counters, counts.sum(axis=0)))
    per_step = n * steps
    overflows = {
        "input_bias": (p.bias_over * per_step, k * m * per_step),
        "input_product": (totals["input_product"], n_in * k * m * per_step),
        "input_accumulator": (totals["input_accumulator"], n_in * k * m * per_step),
        "recurrent_bias": (p.recurrent_bias_over * per_step, k * m * per_step),
        "recurrent_product": (totals["recurrent_product"], m * k * m * per_step),
        "recurrent_accumulator": (totals["recurrent_accumulator"], m * k * m * per_step),
    }
    types = overflow_types(spec)
    for q in cell.counted:
        if q.name in types:  # a table index clip of a relu activation is not counted
            overflows[q.name] = (totals[q.name], q.per_state * m * per_step)
    internals_out = None
    if trace:
        internals_out = {}
        col = 0
        for name, width, kind in cell.trace:
            internals_out[name] = (np.ascontiguousarray(internals[:, :, col * m:(col + width) * m]),
                                   spec.accum_t if kind == "accum" else spec.result_t)
            col += width
    return RecurrentResult(out if spec.return_sequences else out[:, 0], internals_out, overflows, types)


def run_recurrent(spec: RecurrentSpec, x_codes: np.ndarray, trace: bool = False, count: bool = True,
                  prepared: Prepared | None = None,
                  initial_state: tuple[np.ndarray, ...] | None = None) -> RecurrentResult:
    """Run an LSTM or GRU layer on a batch of input codes, as hls4ml's C simulation does.

    Parameters
    ----------
    spec : the layer (types, weight codes, tables, strategy), from ``from_hls4ml``.
    x_codes : int64 ``input_t`` codes, ``[n, T, n_in]`` (or ``[n, T*n_in]``).
    trace : also return every internal per time step (see :mod:`fxsim.kernels.gru`
        and :mod:`fxsim.kernels.lstm` for the names).
    count : count the dense products' and accumulators' overflows; without, those
        counts are 0 and the common accumulator types take faster loops.
    prepared : what :func:`prepare` built for the layer (built here when not given).
    initial_state : ``(h0,)`` for a GRU, ``(h0, c0)`` for an LSTM: int64 ``result_t`` codes
        ``[n, n_state]`` the state starts from (hls4ml's initial-state inputs); ``None``: 0.

    Returns
    -------
    RecurrentResult
    """
    if prepared is None:
        prepared = prepare(spec)
    x = np.asarray(x_codes)
    if x.dtype != np.int64:
        raise ValueError(f"layer {spec.name!r}: input codes must be int64, got {x.dtype}")
    n = x.shape[0] if x.ndim else 0
    expected = (spec.n_timesteps, spec.n_in)
    if x.ndim < 2 or (x.shape[1:] != expected and x.shape[1:] != (spec.n_timesteps * spec.n_in,)):
        raise ValueError(
            f"layer {spec.name!r} ({spec.cell.upper()}): input shape {x.shape}, expected (n, "
            f"{spec.n_timesteps}, {spec.n_in})"
        )
    if initial_state is not None:
        initial_state = tuple(_state_codes(spec, s, n) for s in initial_state)
        if len(initial_state) != (2 if spec.cell == "lstm" else 1):
            raise ValueError(f"layer {spec.name!r} ({spec.cell.upper()}): {len(initial_state)} initial states, "
                             f"expected {'h0 and c0' if spec.cell == 'lstm' else 'h0'}")
    return run(spec, prepared, np.ascontiguousarray(x.reshape(n, *expected)), trace, count, initial_state)


def _state_codes(spec: RecurrentSpec, s: np.ndarray, n: int) -> np.ndarray:
    s = np.asarray(s)
    if s.dtype != np.int64 or s.shape != (n, spec.n_state):
        raise ValueError(f"layer {spec.name!r} ({spec.cell.upper()}): an initial state must be int64 codes "
                         f"({n}, {spec.n_state}), got {s.dtype} {s.shape}")
    return np.ascontiguousarray(s)


# --- initial states (PyTorch GRU(x, h0) / LSTM(x, (h0, c0))) ----------------------------------
# hls4ml's ``gru_stack`` / ``lstm_stack`` overloads with initial states run the same cell
# (``nnet::gru`` / ``nnet::lstm``) with the state starting at the given codes instead of 0.
# The numba cells (gru_block / lstm_block) start at 0, so until they take a starting state
# this Python driver runs the same row operations, in the same order, step by step over
# blocks of samples; only models with initial-state inputs take it.

#: Samples per block of the initial-state driver (one numba call per row operation and step).
STATE_BLOCK = 4096


def _gru_steps(x, s0, n_b, args, h, ret_seq, trace, count, out, internals, counts):
    """:func:`fxsim.kernels.gru.gru_block` with ``h [n_state, n_b]`` holding the starting state."""
    from fxsim.kernels.gru import GRU
    from fxsim.kernels.recurrent_rows import (activate_row, add_products_row, product_row, project_step,
                                              sum_row)
    from fxsim.kernels.blocks import STEPS_PER_LOAD, store_rows

    m = h.shape[0]
    nb_ = m * n_b
    af, rf = args.accum[1], args.result[1]
    xs = np.empty((min(STEPS_PER_LOAD, x.shape[1]), x.shape[2], n_b), dtype=np.int64)
    zx = np.empty((3 * m, n_b), dtype=np.int64)
    zh = np.empty((3 * m, n_b), dtype=np.int64)
    zxf, zhf, hf = zx.reshape(-1), zh.reshape(-1), h.reshape(-1)
    pre, gate = np.empty(2 * nb_, dtype=np.int64), np.empty(2 * nb_, dtype=np.int64)
    rh, hin, hc = (np.empty(nb_, dtype=np.int64) for _ in range(3))
    fz = af if af > 0 else 0
    for t in range(x.shape[1]):
        project_step(x, s0, t, xs, h, args, zx, zh, counts, count)
        counts[GRU.gate_preactivation] += sum_row(zxf[:2 * nb_], zhf[:2 * nb_], af, args.accum, pre)
        o, clip = activate_row(pre, af, args.recr_kind, args.recr_table, args.accum, gate)
        counts[GRU.gate_table_index_clip] += clip
        counts[GRU.gate] += o
        counts[GRU.reset_hidden] += product_row(gate[nb_:], zhf[2 * nb_:], 2 * af, args.accum, rh)
        counts[GRU.candidate_preactivation] += sum_row(zxf[2 * nb_:], rh, af, args.accum, hin)
        o, clip = activate_row(hin, af, args.act_kind, args.act_table, args.accum, hc)
        counts[GRU.candidate_table_index_clip] += clip
        counts[GRU.candidate] += o
        omz = (np.int64(1) << fz) - (gate[:nb_] << (fz - af))
        counts[GRU.h] += add_products_row(hc, omz, af + fz, hf, gate[:nb_], rf + af, args.result, hf)
        if trace:
            for col, rows in ((0, zxf), (3 * m, zhf), (6 * m, pre), (8 * m, gate), (10 * m, rh), (11 * m, hin),
                              (12 * m, hc), (13 * m, hf)):
                store_rows(internals, s0, t, col, rows, n_b)
        if ret_seq:
            store_rows(out, s0, t, 0, hf, n_b)
    if not ret_seq:
        store_rows(out, s0, 0, 0, hf, n_b)


def _lstm_steps(x, s0, n_b, args, h, c, ret_seq, trace, count, out, internals, counts):
    """:func:`fxsim.kernels.lstm.lstm_block` with ``h``, ``c [n_state, n_b]`` holding the starting states."""
    from fxsim.kernels.lstm import LSTM
    from fxsim.kernels.recurrent_rows import (activate_row, add_products_row, product_row, project_step,
                                              sum_row)
    from fxsim.kernels.blocks import STEPS_PER_LOAD, store_rows

    m = h.shape[0]
    nb_ = m * n_b
    af, rf = args.accum[1], args.result[1]
    xs = np.empty((min(STEPS_PER_LOAD, x.shape[1]), x.shape[2], n_b), dtype=np.int64)
    zx = np.empty((4 * m, n_b), dtype=np.int64)
    zh = np.empty((4 * m, n_b), dtype=np.int64)
    zxf, zhf, hf, cf = zx.reshape(-1), zh.reshape(-1), h.reshape(-1), c.reshape(-1)
    pre, act = np.empty(4 * nb_, dtype=np.int64), np.empty(4 * nb_, dtype=np.int64)
    s = np.empty(nb_, dtype=np.int64)
    for t in range(x.shape[1]):
        project_step(x, s0, t, xs, h, args, zx, zh, counts, count)
        counts[LSTM.gate_preactivation] += sum_row(zxf, zhf, af, args.accum, pre)
        o1, clip1 = activate_row(pre[:2 * nb_], af, args.recr_kind, args.recr_table, args.accum, act[:2 * nb_])
        o2, clip2 = activate_row(pre[3 * nb_:], af, args.recr_kind, args.recr_table, args.accum, act[3 * nb_:])
        counts[LSTM.gate_table_index_clip] += clip1 + clip2
        counts[LSTM.gate] += o1 + o2
        g = act[2 * nb_:3 * nb_]
        o, clip = activate_row(pre[2 * nb_:3 * nb_], af, args.act_kind, args.act_table, args.accum, g)
        counts[LSTM.candidate_table_index_clip] += clip
        counts[LSTM.candidate] += o
        counts[LSTM.c] += add_products_row(g, act[:nb_], 2 * af, cf, act[nb_:2 * nb_], rf + af, args.result, cf)
        o, clip = activate_row(cf, rf, args.act_kind, args.act_table, args.accum, s)
        counts[LSTM.c_table_index_clip] += clip
        counts[LSTM.c_activation] += o
        counts[LSTM.h] += product_row(act[3 * nb_:], s, 2 * af, args.result, hf)
        if trace:
            for col, rows in ((0, zxf), (4 * m, zhf), (8 * m, pre), (12 * m, act[:2 * nb_]), (14 * m, act[3 * nb_:]),
                              (15 * m, g), (16 * m, cf), (17 * m, s), (18 * m, hf)):
                store_rows(internals, s0, t, col, rows, n_b)
        if ret_seq:
            store_rows(out, s0, t, 0, hf, n_b)
    if not ret_seq:
        store_rows(out, s0, 0, 0, hf, n_b)


def forward_from_state(lstm, x, args, initial_state, return_sequences, trace, count, out, internals, counts):
    """:func:`recurrent_forward` with the state starting at ``initial_state`` instead of 0.

    ``initial_state`` : ``(h0,)`` (GRU) or ``(h0, c0)`` (LSTM), int64 ``result_t`` codes
    ``[n, n_state]``; ``counts`` a 1-D array of the cell's counters (added to).
    """
    n = x.shape[0]
    for s0 in range(0, n, STATE_BLOCK):
        n_b = min(STATE_BLOCK, n - s0)
        states = [np.ascontiguousarray(s[s0:s0 + n_b].T) for s in initial_state]  # [n_state, n_b]
        if lstm:
            _lstm_steps(x, s0, n_b, args, states[0], states[1], return_sequences, trace, count, out, internals,
                        counts)
        else:
            _gru_steps(x, s0, n_b, args, states[0], return_sequences, trace, count, out, internals, counts)
