"""LSTM and GRU layers (``nnet::lstm_stack`` / ``nnet::gru_stack``): shared step pieces and the entry point.

The per-cell kernels live in :mod:`fxsim.kernels.lstm` and :mod:`fxsim.kernels.gru`;
this module holds what both use (the ``nnet::activation::{sigmoid,tanh,relu}``
wrappers of ``nnet_recr_activations.h``, the checks of what hls4ml 1.3.0 can
compile) and :func:`run_recurrent`, which unpacks a :class:`~fxsim.ir.RecurrentSpec`
into kernel arguments. ``fxsim.runners`` calls :func:`run_layer`.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numba as nb
import numpy as np

from fxsim.fixed import MAX_WIDTH, FixedType, requantize, requantize_row
from fxsim.ir import RecurrentSpec
from fxsim.kernels import dense as dk
from fxsim.kernels import lut
from fxsim.kernels.lut import lut_index

#: Activation codes the kernels take (``nnet::activation::<name>``).
SIGMOID = 0
TANH = 1
RELU = 2
ACTIVATIONS = {"sigmoid": SIGMOID, "tanh": TANH, "relu": RELU}

# What hls4ml 1.3.0 does with the settings it cannot run, for the error messages.
_NO_TEMPLATE = (
    "hls4ml 1.3.0 has no nnet::activation::{name} template for recurrent layers (only sigmoid, tanh "
    "and relu exist in nnet_recr_activations.h), so the C simulation does not compile"
)


# --- shared njit pieces ---------------------------------------------------------------------


def accum_table(table: np.ndarray, table_t: FixedType, accum_t: FixedType) -> np.ndarray:
    """A lookup table's entries cast to ``accum_t`` (``nnet::activation`` returns ``accum_t(table[i])``).

    Each entry is packed as ``2 * code + overflowed`` (``overflowed`` 1 where the cast
    overflowed), so the kernels read code and flag with one load instead of casting
    per value.
    """
    t = np.ascontiguousarray(table, dtype=np.int64)
    packed = np.empty_like(t)
    _cast_packed(t, table_t.frac, accum_t.spec, packed)
    return packed


@nb.njit(cache=True)
def _cast_packed(src, src_frac, dst, out):
    width, frac, signed, rmode, omode = dst
    for k in range(src.shape[0]):
        c, o = requantize(src[k], src_frac, frac, width, signed, rmode, omode)
        out[k] = 2 * c + o  # |c| < 2**61, so this fits


@nb.njit(cache=True)
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
    shift = 4 if kind == SIGMOID else 3
    n_over = 0
    n_clip = 0
    # indices first (a vectorised loop), then the table reads (a gather, which stays scalar)
    for k in range(v.shape[0]):
        idx, clipped = lut_index(v[k], v_frac, n_table, shift)
        out[k] = idx
        n_clip += clipped
    for k in range(v.shape[0]):
        entry = table[np.uint64(out[k])]  # index in [0, N): unsigned, so no negative-index wraparound
        out[k] = entry >> 1
        n_over += entry & 1
    return n_over, n_clip


@nb.njit(cache=True)
def add_products_row(a1, b1, f1, a2, b2, f2, result, out):
    """``out = result_t(a1*b1 + a2*b2)`` per element, the sum exact (C++ evaluates the expression exactly).

    ``f1``/``f2`` are the fractional bits of the two exact products. Returns the overflow count.
    """
    f = f1 if f1 > f2 else f2
    s1 = f - f1
    s2 = f - f2
    if a2.ctypes.data == out.ctypes.data:  # the state updated in place (h, c): read it as out,
        # so the compiler does not see two names for one array and fall back to a scalar loop
        for k in range(out.shape[0]):
            out[k] = ((a1[k] * b1[k]) << s1) + ((out[k] * b2[k]) << s2)
    else:
        for k in range(out.shape[0]):
            out[k] = ((a1[k] * b1[k]) << s1) + ((a2[k] * b2[k]) << s2)
    return requantize_row(out, f, result, out)


@nb.njit(cache=True)
def sum_row(a, b, frac, t, out):
    """``out = t(a + b)`` per element for codes with ``frac`` fractional bits; returns the overflow count."""
    for k in range(out.shape[0]):
        out[k] = a[k] + b[k]
    return requantize_row(out, frac, t, out)


@nb.njit(cache=True)
def product_row(a, b, frac, t, out):
    """``out = t(a * b)`` per element, the product having ``frac`` fractional bits; returns the overflow count."""
    for k in range(out.shape[0]):
        out[k] = a[k] * b[k]
    return requantize_row(out, frac, t, out)


#: Time steps of a recurrent layer's input loaded into a block at once.
STEPS_PER_LOAD = 32


@nb.njit(cache=True, inline="always")
def step_input(x, s0, t, xs):
    """Time step ``t`` of the samples ``x[s0 : s0 + n_b]`` as ``[n_in, n_b]`` codes (a view of ``xs``).

    ``xs`` is the block's ``[min(STEPS_PER_LOAD, T), n_in, n_b]`` buffer, refilled every
    ``STEPS_PER_LOAD`` steps: reading whole samples takes half the time of reading one
    step (``8 * n_in`` bytes) of each sample at every step.
    """
    n_steps, n_in = x.shape[1], x.shape[2]
    if t % STEPS_PER_LOAD == 0:
        n_load = min(STEPS_PER_LOAD, n_steps - t)
        dk.load_block(x.reshape(x.shape[0], n_steps * n_in), s0, t * n_in,
                      xs[:n_load].reshape(n_load * n_in, xs.shape[2]))
    return xs[t % STEPS_PER_LOAD]


@nb.njit(cache=True)
def store_rows(dst, s0, t, col, rows, n_b):
    """``dst[s0 + b, t, col + j] = rows[j * n_b + b]``: a block's values (samples innermost) back per sample."""
    for b in range(n_b):
        for j in range(rows.shape[0] // n_b):
            dst[s0 + b, t, col + j] = rows[j * n_b + b]


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


# --- running a layer ----------------------------------------------------------------------------


@dataclass
class _Prepared:
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


_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_EMPTY = np.zeros(0, dtype=np.int64)


def dense_orders(spec: RecurrentSpec) -> tuple[np.ndarray, np.ndarray]:
    """Accumulation orders of the input and the recurrent dense (``mult_config1`` / ``mult_config2``).

    hls4ml's ``recurrent_templates.py`` picks each Resource kernel by comparing the
    layer's ``reuse_factor`` with that dense's ``n_in``, but instantiates the recurrent
    one with ``recurrent_reuse_factor``; an RF whose C++ ``assert`` would abort the C
    simulation raises ``ValueError``.
    """
    strategy = spec.strategy.lower()
    if strategy == "latency":
        return dk.LATENCY_ORDER, dk.LATENCY_ORDER
    if strategy != "resource":
        raise ValueError(
            f"layer {spec.name!r} ({spec.cell.upper()}): strategy {spec.strategy!r} is not emulated "
            "(Latency and Resource are)"
        )
    k = spec.n_gates
    rf = int(spec.reuse_factor)
    rrf = int(spec.recurrent_reuse_factor or rf)
    try:
        order_x = dk.dense_order(spec.n_in, k * spec.n_state, "resource", rf,
                                 kernel="rf_leq_nin" if rf <= spec.n_in else "rf_gt_nin_rem0")
        order_h = dk.dense_order(spec.n_state, k * spec.n_state, "resource", rrf,
                                 kernel="rf_leq_nin" if rf <= spec.n_state else "rf_gt_nin_rem0")
    except ValueError as err:
        raise ValueError(f"layer {spec.name!r} ({spec.cell.upper()}): {err}") from None
    return order_x, order_h


def _prepare(spec: RecurrentSpec) -> _Prepared:
    prepared = _PREPARED.get(spec)
    if prepared is not None:
        return prepared
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

    prepared = _Prepared(
        weight=np.ascontiguousarray(spec.weight, dtype=np.int64),
        recurrent_weight=np.ascontiguousarray(spec.recurrent_weight, dtype=np.int64),
        bias_acc=bias_acc, bias_over=int(bias_over),
        recurrent_bias_acc=rbias_acc, recurrent_bias_over=int(rbias_over),
        order_x=order_x, order_h=order_h,
        table_recr=table(spec.recurrent_activation), table_act=table(spec.activation),
        recr_kind=ACTIVATIONS[spec.recurrent_activation], act_kind=ACTIVATIONS[spec.activation],
    )
    _PREPARED[spec] = prepared
    return prepared


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


def run_recurrent(spec: RecurrentSpec, x_codes: np.ndarray, trace: bool = False,
                  count: bool = True) -> RecurrentResult:
    """Run an LSTM or GRU layer on a batch of input codes, as hls4ml's C simulation does.

    This is the integration point for ``fxsim.model`` (through :func:`run_layer`).

    Parameters
    ----------
    spec : the layer (types, weight codes, tables, strategy), from ``from_hls4ml``.
    x_codes : int64 ``input_t`` codes, ``[n, T, n_in]`` (or ``[n, T*n_in]``).
    trace : also return every internal per time step (see :mod:`fxsim.kernels.gru`
        and :mod:`fxsim.kernels.lstm` for the names).
    count : count the dense products' and accumulators' overflows; without, those
        counts are 0 and the common accumulator types take faster loops.

    Returns
    -------
    RecurrentResult
    """
    from fxsim.kernels import gru, lstm

    prepared = _prepare(spec)
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
    x = np.ascontiguousarray(x.reshape(n, *expected))
    module = lstm if spec.cell == "lstm" else gru
    return module.run(spec, prepared, x, trace, count)


def run_layer(spec: RecurrentSpec, x_codes: np.ndarray, want_trace: bool, types: dict,
              want_counts: bool = True) -> tuple:
    """The ``fxsim.runners`` protocol: ``(out codes, {quantity: (overflowed, total)}, internals | None)``.

    ``types`` is filled with the type of each counted quantity.
    """
    res = run_recurrent(spec, x_codes, trace=want_trace, count=want_counts)
    types.update(res.types)
    return res.out, res.overflows, res.internals
