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

import functools
from dataclasses import dataclass

import numpy as np

from fxsim._jit_cache import njit
from fxsim.fixed import MAX_WIDTH, FixedType, Overflow, common_cast_rule, truncating_wrap_rule
from fxsim.ir import RecurrentSpec
from fxsim.kernels import dense as dk
from fxsim.kernels import lut
from fxsim.kernels.blocks import BLOCK, n_blocks
from fxsim.kernels.dense_order import LATENCY_ORDER, dense_order
from fxsim.kernels.dense_plan import FLOOR, accumulation_plan, rounding_of, sums_in_int32
from fxsim.kernels.gru import GRU_COUNTED, GRU_COUNTERS, GRU_TRACE, gru_block, gru_block_fused
from fxsim.kernels.lstm import LSTM_COUNTED, LSTM_COUNTERS, LSTM_TRACE, lstm_block, lstm_block_fused
from fxsim.kernels.recurrent_rows import (  # noqa: F401 (the forms are fused_cell's answers, named here too)
    ACTIVATIONS,
    FUSED_COMMON,
    FUSED_TRUNCATING_WRAP,
    FUSED_UNIFORM,
    NOT_FUSED,
    CellArgs,
    accum_table,
    runs_fused,
    uniform_form,
)
from fxsim._threads import run_blocks

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


def check_recurrent_supported(spec: RecurrentSpec, *, reset_after: bool = True, static_only: bool = False) -> None:
    """Raise ``ValueError`` for a recurrent layer hls4ml 1.3.0 cannot compile or computes wrong.

    Parameters
    ----------
    spec : the layer.
    reset_after : Keras ``GRU(reset_after=...)`` (hls4ml's ``apply_reset_gate == 'after'``).
    static_only : the layer is instantiated only as ``nnet::lstm_static`` (a direction of
        ``bidirectional_stack`` with ``static``), which compiles whatever its input,
        ``accum_t`` and ``result_t`` (``lstm_stack`` also instantiates ``nnet::lstm``,
        which needs the three to be one type); the other checks still apply.

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
    if spec.cell == "lstm" and not static_only and not (spec.input_t == spec.accum_t == spec.result_t):
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
    weight_p: tuple  # (int32 codes, max |w| per input row) of weight and recurrent_weight, prepared_weight
    recurrent_weight_p: tuple
    fused: int = NOT_FUSED  # how the cell may run fused (fused_cell)


_EMPTY = np.zeros(0, dtype=np.int64)
_NO_STATE = np.zeros((0, 0, 0), dtype=np.int64)  # no initial states: the cells start at 0


def prepare(spec: RecurrentSpec, *, static_only: bool = False) -> Prepared:
    """Check a recurrent layer and build its kernel arguments (done once, by its runner).

    Parameters
    ----------
    spec : the layer.
    static_only : as :func:`check_recurrent_supported` (a ``bidirectional_stack``
        direction instantiated only as ``nnet::lstm_static``).

    Raises
    ------
    ValueError
        For a layer hls4ml 1.3.0 cannot run (:func:`check_recurrent_supported`), types
        too wide for the int64 kernels, or weights that do not fit the layer's sizes.
    """
    check_recurrent_supported(spec, static_only=static_only)
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

    weight = np.ascontiguousarray(spec.weight, dtype=np.int64)
    recurrent_weight = np.ascontiguousarray(spec.recurrent_weight, dtype=np.int64)
    return Prepared(
        weight=weight, recurrent_weight=recurrent_weight,
        bias_acc=bias_acc, bias_over=int(bias_over),
        recurrent_bias_acc=rbias_acc, recurrent_bias_over=int(rbias_over),
        order_x=order_x, order_h=order_h,
        table_recr=table(spec.recurrent_activation), table_act=table(spec.activation),
        recr_kind=ACTIVATIONS[spec.recurrent_activation], act_kind=ACTIVATIONS[spec.activation],
        weight_p=dk.prepared_weight(weight), recurrent_weight_p=dk.prepared_weight(recurrent_weight),
        fused=fused_cell(spec),
    )


def fused_cell(spec: RecurrentSpec) -> int:
    """How the layer's cell may run fused (``gru_block_fused`` / ``lstm_block_fused``).

    Decided from the types alone, once per layer: both activations must be sigmoid or tanh
    tables of ``2**k`` entries and every cast of the cell after the two dense products one
    the fused loops compute without a branch on the value. ``FUSED_TRUNCATING_WRAP`` where
    each is a truncating WRAP (:func:`~fxsim.fixed.truncating_wrap_rule`: ap_fixed's
    default modes, the shortest loops); where each is a TRN, RND or RND_CONV with WRAP or SAT
    (:func:`~fxsim.fixed.common_cast_rule`), the :func:`~fxsim.kernels.recurrent_rows.uniform_form`
    of their modes when the casts that drop bits all round alike and all casts overflow alike
    (a scan's ``ap_fixed<W,I,AP_RND,AP_SAT>`` everywhere), else ``FUSED_COMMON``, which reads
    each cast's modes at run time; else ``NOT_FUSED``: the row-by-row cells, which handle every mode.
    """
    a, r = spec.accum_t, spec.result_t
    n = int(spec.table_size)
    if spec.recurrent_activation == "relu" or spec.activation == "relu" or n & (n - 1):
        return NOT_FUSED
    if spec.cell == "gru":
        fz = max(a.frac, 0)
        f = max(a.frac + fz, r.frac + a.frac)
        # accum_t(a + b); r * zh[h]; the new state
        casts = ((a, a.frac), (a, 2 * a.frac), (r, f))
    else:
        f = max(2 * a.frac, r.frac + a.frac)
        casts = ((a, a.frac), (r, f), (r, 2 * a.frac))  # accum_t(a + b); c; h = o * s(c)
    if all(truncating_wrap_rule(src, t.spec)[0] for t, src in casts):
        return FUSED_TRUNCATING_WRAP
    if not all(common_cast_rule(src, t.spec) for t, src in casts):
        return NOT_FUSED
    roundings = {rounding_of(t.rounding) for t, src in casts if src > t.frac}  # a cast dropping no bit rounds nothing
    saturates = {t.overflow == Overflow.SAT for t, _ in casts}
    if len(roundings) <= 1 and len(saturates) == 1:
        return uniform_form(roundings.pop() if roundings else FLOOR, saturates.pop())
    return FUSED_COMMON


# --- running a layer ----------------------------------------------------------------------------


def recurrent_forward(lstm, x, state, x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc,
                      recurrent_bias_acc, order_x, order_h, accum, result, recr_table, act_table, recr_kind, act_kind,
                      weight_p, recurrent_weight_p, return_sequences, trace, count, out, internals, counts,
                      fused=NOT_FUSED):
    """``nnet::lstm_stack`` (``lstm``) or ``nnet::gru_stack`` for a batch, blocks of ``BLOCK`` samples in parallel.

    Parameters
    ----------
    x : int64 ``[n, T, n_in]`` input codes.
    state : int64 ``[k, n, n_state]``: the ``result_t`` codes the state starts from (``k = 1``:
        ``h0`` of a GRU; ``k = 2``: ``h0, c0`` of an LSTM), or ``[0, 0, 0]``: 0.
    x_frac ... recurrent_weight_p : the layer's arguments, as the fields of
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
    fused : :func:`fused_cell`'s answer for the layer's types; a fused cell runs where
        nothing is traced and both dense plans sum in int32 without counting
        (:func:`~fxsim.kernels.dense_plan.sums_in_int32`), else the row-by-row cell.

    Runs the cell's kernel for the accumulation plans of its two dense products
    (:func:`forward_kernel`), so a model compiles only its own cell and loops, over the
    blocks in parallel threads (:func:`~fxsim._threads.run_blocks`).
    """
    plan_x = accumulation_plan(x_frac, w_frac, accum, order_x.shape[0] == 0, count)
    plan_h = accumulation_plan(result[1], rw_frac, accum, order_h.shape[0] == 0, count)
    # the fused cells keep no trace and take the dense sums in int32 (dense_plan.sums_in_int32)
    if trace or not (sums_in_int32(plan_x) and sums_in_int32(plan_h)):
        fused = NOT_FUSED
    kernel = forward_kernel("lstm" if lstm else "gru", plan_x, plan_h, int(fused))
    run_blocks(kernel, n_blocks(x.shape[0]), x, state, x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc,
               recurrent_bias_acc, order_x, order_h, accum, result, recr_table, act_table, recr_kind, act_kind,
               weight_p, recurrent_weight_p, return_sequences, trace, out, internals, counts)


@functools.cache
def forward_kernel(cell: str, plan_x: int, plan_h: int, fused: int = NOT_FUSED):
    """The kernel of one cell (``"gru"``, ``"lstm"``) with the given dense accumulation plans.

    ``fused``: :func:`fused_cell`'s form of the cell (``NOT_FUSED``: row by row); a
    constant of the kernel like the plans, so only one form is compiled.

    ``kernel(b0, b1, x, state, ...)`` runs the blocks ``b0 .. b1 - 1`` of the batch
    (arguments as :func:`recurrent_forward`'s) and releases the GIL. The plans
    (:mod:`fxsim.kernels.dense_plan`) are constants of the kernel, so it compiles only the
    accumulation loops they name; it is compiled on its first call and kept in fxsim's
    on-disk cache (one entry per plan pair). The cell is inlined into it: each compiled
    numba function is optimised and compiled to machine code again with all it calls.
    """
    if cell not in CELLS:
        raise ValueError(f"recurrent cell {cell!r} is not emulated (LSTM and GRU are)")
    lstm = cell == "lstm"
    form = int(fused)
    fused = runs_fused(form)

    @njit(cache=True, nogil=True)
    def recurrent_blocks(b0, b1, x, state, x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc,
                         recurrent_bias_acc, order_x, order_h, accum, result, recr_table, act_table, recr_kind,
                         act_kind, weight_p, recurrent_weight_p, return_sequences, trace, out, internals, counts):
        n = x.shape[0]
        for blk in range(b0, b1):
            s0 = blk * BLOCK
            n_b = min(BLOCK, n - s0)
            args = CellArgs(x_frac, weight, w_frac, recurrent_weight, rw_frac, bias_acc, recurrent_bias_acc,
                            order_x, order_h, accum, result, recr_table, act_table, recr_kind, act_kind,
                            weight_p, recurrent_weight_p)
            # lstm and fused are constants of the kernel: numba removes the other branches before compiling
            if lstm and fused:
                lstm_block_fused(x, state, s0, n_b, args, return_sequences, plan_x, plan_h, form, out,
                                 counts[blk])
            elif lstm:
                lstm_block(x, state, s0, n_b, args, return_sequences, trace, plan_x, plan_h, out, internals,
                           counts[blk])
            elif fused:
                gru_block_fused(x, state, s0, n_b, args, return_sequences, plan_x, plan_h, form, out,
                                counts[blk])
            else:
                gru_block(x, state, s0, n_b, args, return_sequences, trace, plan_x, plan_h, out, internals,
                          counts[blk])

    return recurrent_blocks


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
    the state starts from (``None``: 0); the same kernels run either way.
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
                    p.table_recr, p.table_act, p.recr_kind, p.act_kind, p.weight_p, p.recurrent_weight_p)
    state = _NO_STATE if initial_state is None else np.ascontiguousarray(np.stack(initial_state))
    recurrent_forward(spec.cell == "lstm", x, state, *args, bool(spec.return_sequences), bool(trace), bool(count),
                      out, internals, counts, p.fused)
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
