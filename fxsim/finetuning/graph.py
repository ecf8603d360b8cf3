"""The training graph: hls4ml's fixed-point arithmetic as TensorFlow operations.

:class:`ExactGraph` is built from an :class:`~fxsim.evaluate.EmulatedModel` (the IR
specs of :mod:`fxsim.ir`, the emulator's truth: every type, table size, strategy and
weight code as the converted hls4ml model has them) and the Keras/QKeras model whose
float weights are trained. Its forward pass computes, on float64 tensors holding
exact fixed-point values, the very codes of hls4ml's C simulation:

* the input converted as ``input_t(float)`` (:func:`fxsim.fixed.to_codes`, in numpy:
  data need no gradient);
* weights and biases as hls4ml writes them: the raw float (QDense: its quantizer's
  output) printed with ``F`` decimals and converted with the weight type's modes
  (:func:`fxsim.fixed.weight_codes`; for QGRU/QLSTM the raw float, floored), recomputed
  from the Keras variables at every step and checked once against the IR's codes;
* ``nnet::dense``: every product cast to ``accum_t``, the bias cast to ``accum_t``, the
  running sums in ``accum_t`` (wrapping sums are summed modulo ``2**W``, which equals the
  step-by-step wrap; saturating sums run step by step in the kernel's order), one cast
  to ``result_t``;
* sigmoid/tanh through hls4ml's tables with its index arithmetic, softmax (stable,
  latency, legacy, argmax) through its exp and inverse tables and ``nnet::reduce``
  tree, relu / leaky relu / hard activations / linear;
* LSTM and GRU steps as ``nnet_recurrent.h`` (gates and candidate in ``accum_t``, the
  states in ``result_t``, GRU reset-after).

The tables come from :mod:`fxsim.kernels.lut` (built once, as the emulator builds
them). The backward pass uses the straight-through estimators of
:mod:`fxsim.finetuning.ste`. A layer or setting the graph cannot express exactly raises
:class:`GraphError` naming it; there is no float fall-back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from fxsim.finetuning import ste
from fxsim.finetuning.ste import EXACT_BITS, F64, exact_cast, scale
from fxsim.fixed import FixedType, Rounding, cast as np_cast, from_codes, to_codes, weight_codes
from fxsim.ir import (
    ActivationSpec,
    DenseSpec,
    InputSpec,
    RecurrentSpec,
    ReshapeSpec,
    ScaleSpec,
    SoftmaxSpec,
)


class GraphError(ValueError):
    """A layer or setting the exact training graph cannot express."""


def _need(layer: str, what: str, bits: int) -> None:
    if bits > EXACT_BITS:
        raise GraphError(
            f"layer {layer!r}: {what} needs {bits} significant bits; the exact training graph holds at most "
            f"{EXACT_BITS} (float64) — narrow the types involved"
        )


def _log2ceil(n: int) -> int:
    return max(0, int(n - 1).bit_length())


# --- weights ------------------------------------------------------------------------------


@dataclass
class WeightParam:
    """One weight array of one IR layer and the Keras variable it comes from.

    ``index`` selects a row of the variable (a GRU's ``(2, 3n)`` bias); ``quantizer``
    is the QKeras quantizer hls4ml applies before writing (QDense), else ``None``.
    ``variable`` is ``None`` for an array hls4ml fills with zeros (no bias).
    """

    layer: str
    role: str
    t: FixedType
    variable: Any
    index: int | None
    quantizer: Any
    codes: np.ndarray  # the IR's codes (shape of the IR array)

    def raw(self) -> np.ndarray:
        v = np.asarray(self.variable.numpy(), dtype=np.float32)
        return v[self.index] if self.index is not None else v

    def current_codes(self) -> np.ndarray:
        """The codes hls4ml writes for the variable's current value."""
        if self.variable is None:
            return np.zeros_like(self.codes)
        data = self.raw()
        if self.quantizer is not None:
            data = np.asarray(self.quantizer(tf.constant(data, dtype=tf.float32)).numpy())
        return weight_codes(data, self.t).reshape(self.codes.shape)

    def feed(self) -> tuple[np.ndarray, np.ndarray]:
        """``(values, mask)``: exact float64 values, and 1 where the raw weight lies within ``t``."""
        codes = self.current_codes()
        values = from_codes(codes, self.t)
        if self.variable is None:
            return values, np.zeros_like(values)
        raw = self.raw().reshape(self.codes.shape).astype(np.float64)
        mask = ((raw >= self.t.min) & (raw <= self.t.max)).astype(np.float64)
        return values, mask

    def tensor(self, values: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        """The exact values, carrying the gradient to the variable (straight through, masked)."""
        if self.variable is None:
            return values
        v = tf.cast(self.variable, F64)
        if self.index is not None:
            v = v[self.index]
        v = tf.reshape(v, self.codes.shape)
        return values + (v - tf.stop_gradient(v)) * mask  # v - v is exactly 0: the values stay exact


def _keras_layer(model: Any, name: str, spec: Any):
    try:
        return model.get_layer(name)
    except ValueError:
        raise GraphError(
            f"layer {name!r} ({type(spec).__name__.removesuffix('Spec')}): no Keras layer of that name to train"
        ) from None


def _quantizer(layer: Any, attr: str):
    q = getattr(layer, f"{attr}_quantizer_internal", None)
    return q if callable(q) else None


def _dense_params(spec: DenseSpec, model: Any) -> list[WeightParam]:
    layer = _keras_layer(model, spec.name, spec)
    kernel = getattr(layer, "kernel", None)
    if kernel is None:
        raise GraphError(f"layer {spec.name!r} ({type(layer).__name__}): no kernel to train")
    bias = getattr(layer, "bias", None) if getattr(layer, "use_bias", True) else None
    return [
        WeightParam(spec.name, "weight", spec.weight_t, kernel, None, _quantizer(layer, "kernel"), spec.weight),
        WeightParam(spec.name, "bias", spec.bias_t, bias, None, _quantizer(layer, "bias") if bias is not None else None,
                    spec.bias),
    ]


def _recurrent_params(spec: RecurrentSpec, model: Any) -> list[WeightParam]:
    layer = _keras_layer(model, spec.name, spec)
    cell = getattr(layer, "cell", layer)
    bias = getattr(cell, "bias", None) if getattr(cell, "use_bias", True) else None
    # hls4ml writes recurrent weights from the raw floats, never through a quantizer (§7.2)
    params = [
        WeightParam(spec.name, "weight", spec.weight_t, cell.kernel, None, None, spec.weight),
        WeightParam(spec.name, "recurrent_weight", spec.recurrent_weight_t, cell.recurrent_kernel, None, None,
                    spec.recurrent_weight),
    ]
    if spec.cell == "gru":
        two_rows = bias is not None and len(bias.shape) == 2
        if bias is not None and not two_rows:
            raise GraphError(f"layer {spec.name!r} (GRU): reset_after=False is not emulated")
        params += [WeightParam(spec.name, "bias", spec.bias_t, bias, 0 if bias is not None else None, None, spec.bias),
                   WeightParam(spec.name, "recurrent_bias", spec.recurrent_bias_t, bias,
                               1 if bias is not None else None,
                               None, spec.recurrent_bias)]
    else:
        params += [WeightParam(spec.name, "bias", spec.bias_t, bias, None, None, spec.bias),
                   WeightParam(spec.name, "recurrent_bias", spec.recurrent_bias_t, None, None, None,
                               spec.recurrent_bias)]
    return params


# --- dense ----------------------------------------------------------------------------------


def _accumulation_sequence(n_in: int, n_out: int, strategy: str, reuse_factor: int,
                           kernel: str | None = None) -> np.ndarray | None:
    """Per accumulator, the input indices in the order the C++ adds them: ``[n_in, n_out]``.

    ``None`` for the Latency order (input ``k`` at step ``k`` for every output).
    """
    if strategy.lower() == "latency":
        return None
    from fxsim.kernels.dense import dense_order

    order = dense_order(n_in, n_out, strategy, reuse_factor, kernel=kernel)
    seq = [[] for _ in range(n_out)]
    for i_in, w_row, w_col, acc in order.tolist():
        if i_in != w_row or w_col != acc:
            raise GraphError(f"dense {n_in}x{n_out} {strategy} RF {reuse_factor}: unexpected accumulation order")
        seq[acc].append(i_in)
    return np.array(seq, dtype=np.int64).T


def check_dense(name: str, x_t: FixedType, w_t: FixedType, accum_t: FixedType, n_in: int) -> None:
    """Refuse a dense whose exact intermediates exceed float64's 53 bits."""
    _need(name, f"the product {x_t} * {w_t}", x_t.width + w_t.width)
    d = x_t.frac + w_t.frac - accum_t.frac
    prod_bits = x_t.width + w_t.width + max(0, -d) - max(0, d) + 1
    _need(name, f"the sum of {n_in} products in {accum_t}", max(prod_bits, accum_t.width) + _log2ceil(n_in + 2))


def _shift_dtype(x_t: FixedType, w_t: FixedType, accum_t: FixedType, n_in: int) -> tf.DType | None:
    """The integer dtype of :func:`_shifted_product_sum` for these types, or ``None`` where it does not apply.

    It applies to the rounding modes that are a shift of the integer product (TRN: floor;
    RND: floor after adding one half) when the product codes, plus one half, and the sum
    of ``n_in`` shifted products fit the dtype.
    """
    if accum_t.rounding not in (Rounding.TRN, Rounding.RND):
        return None
    bits = x_t.width + w_t.width + 1 + _log2ceil(n_in + 1)  # |code x code| + half, summed n_in times, signed
    if bits <= 31:
        return tf.int32
    return tf.int64 if bits <= 63 else None


def _shifted_product_sum(xv: tf.Tensor, wv: tf.Tensor, x_t: FixedType, w_t: FixedType, d: int,
                         rounding: Rounding, dtype: tf.DType) -> tf.Tensor:
    """``sum_i round(x_i * w_ij * 2**F_a)`` for TRN/RND: an arithmetic right shift of the integer products.

    ``x_i * w_ij * 2**F_a`` is the integer code product ``X_i * W_ij`` over ``2**d``
    (``d = F_x + F_w - F_a > 0``); its floor is ``X_i * W_ij >> d`` and RND's
    ``floor(m + 1/2)`` is ``(X_i * W_ij + 2**(d-1)) >> d``. The same codes as casting every
    product to ``accum_t``, in integer arithmetic on a tensor a quarter (int32) the size
    of the float64 one (measured 1.7x faster for ``[256, 20, 60]`` on one thread).
    """
    xc = tf.cast(xv * scale(x_t.frac), dtype)  # exact: values on the type's grid
    wc = tf.cast(wv * scale(w_t.frac), dtype)
    p = xc[:, :, None] * wc[None, :, :]
    if rounding == Rounding.RND:
        p = p + tf.constant(1 << (d - 1), dtype)
    return tf.cast(tf.reduce_sum(tf.bitwise.right_shift(p, tf.constant(d, dtype)), axis=1), F64)


def dense_accum(x: tf.Tensor, w: tf.Tensor, b_acc: tf.Tensor, x_t: FixedType, w_t: FixedType,
                accum_t: FixedType, sequence: np.ndarray | None = None) -> tf.Tensor:
    """``nnet::dense`` up to the accumulators: ``accum_t`` values ``[B, n_out]``.

    ``b_acc`` is the bias already in ``accum_t``. Every product ``x_i * w_ij`` is cast to
    ``accum_t`` and every partial sum too. With WRAP the casts are done modulo ``2**W``
    once on the exact sum of the rounded products (the same code); the SAT modes run the
    sums step by step in the kernel's order (``sequence`` from
    :func:`_accumulation_sequence`, ``None`` = Latency).
    """
    d = x_t.frac + w_t.frac - accum_t.frac
    fa = accum_t.frac
    shift_dtype = _shift_dtype(x_t, w_t, accum_t, int(w.shape[0])) if d > 0 else None

    @tf.custom_gradient
    def _dense(xv, wv, bv):
        b_codes = bv * scale(fa)
        if accum_t.overflow.name == "WRAP":
            if d <= 0:  # every product is exact in accum_t: one matrix product
                s = tf.matmul(xv, wv) * scale(fa)
            elif shift_dtype is not None:
                s = _shifted_product_sum(xv, wv, x_t, w_t, d, accum_t.rounding, shift_dtype)
            else:
                # x * (w * 2**F_a): the scaling of the small weight matrix is exact and saves a pass
                p = xv[:, :, None] * (wv * scale(fa))[None, :, :]
                s = tf.reduce_sum(ste.round_scaled(p, accum_t.rounding), axis=1)
            acc, _ = ste.fit_codes(s + b_codes, accum_t)
        else:
            n_in = wv.shape[0]
            acc = tf.broadcast_to(b_codes[None, :], [tf.shape(xv)[0], wv.shape[1]])
            for k in range(n_in):
                if sequence is None:
                    p = xv[:, k:k + 1] * wv[k][None, :]
                else:
                    cols = np.arange(wv.shape[1])
                    p = tf.gather(xv, sequence[k], axis=1) * tf.gather_nd(wv, np.stack([sequence[k], cols], 1))[None, :]
                pc, _ = ste.exact_codes(p, accum_t)
                acc, _ = ste.fit_codes(acc + pc, accum_t)
        out = acc * scale(-fa)

        def grad(g):
            plain = tf.matmul(xv, wv) + bv[None, :]
            g = g * ste.in_range(plain, accum_t)
            return tf.matmul(g, wv, transpose_b=True), tf.matmul(xv, g, transpose_a=True), tf.reduce_sum(g, axis=0)

        return out, grad

    return _dense(x, w, b_acc)


# --- activations ------------------------------------------------------------------------------

_RANGE_SHIFT = {"sigmoid": 4, "tanh": 3}


def _wrap32(v: tf.Tensor) -> tf.Tensor:
    return tf.math.floormod(v + 2.0**31, 2.0**32) - 2.0**31


def lut_activation(x: tf.Tensor, kind: str, table_values: np.ndarray) -> tf.Tensor:
    """``table[index(x)]`` as ``nnet::sigmoid``/``nnet::tanh`` index it; ``table_values`` already
    in the output type (float64 values). Gradient: the smooth function's derivative."""
    n = int(table_values.shape[0])
    factor = n / float(1 << _RANGE_SHIFT[kind])  # N / 16 or N / 8: x * that is exact (checked)
    table = tf.constant(table_values, dtype=F64)

    @tf.custom_gradient
    def _lut(v):
        y = v * factor
        tr = _wrap32(tf.sign(y) * tf.floor(tf.abs(y)))  # C's (int): toward zero, low 32 bits
        idx = tf.clip_by_value(_wrap32(tr + float(n // 2)), 0.0, float(n - 1))
        out = tf.gather(table, tf.cast(idx, tf.int32))

        def grad(g):
            if kind == "sigmoid":
                s = tf.sigmoid(v)
                return g * s * (1.0 - s)
            t = tf.tanh(v)
            return g * (1.0 - t * t)

        return out, grad

    return _lut(x)


def relu(x: tf.Tensor, t: FixedType) -> tf.Tensor:
    """``x > 0 ? t(x) : 0``; gradient 1 where positive and in range."""

    @tf.custom_gradient
    def _relu(v):
        y, over = exact_cast(v, t)
        pos = v > 0.0
        out = tf.where(pos, y, tf.zeros_like(y))

        def grad(g):
            return tf.where(pos & ~over, g, tf.zeros_like(g))

        return out, grad

    return _relu(x)


def leaky_relu(x: tf.Tensor, alpha: float, t: FixedType) -> tf.Tensor:
    """``x > 0 ? t(x) : t(alpha * x)`` (exact product); gradient 1 or ``alpha`` where in range."""

    @tf.custom_gradient
    def _leaky(v):
        pos = v > 0.0
        yp, op = exact_cast(v, t)
        yn, on = exact_cast(v * alpha, t)
        out = tf.where(pos, yp, yn)

        def grad(g):
            return tf.where(pos, tf.where(op, tf.zeros_like(g), g), tf.where(on, tf.zeros_like(g), g * alpha))

        return out, grad

    return _leaky(x)


def hard_activation(x: tf.Tensor, slope: float, shift: float, is_tanh: bool, t: FixedType) -> tf.Tensor:
    """``t(clip(slope*x + shift, 0, 1))`` (hard_tanh: ``t(2*clip(...) - 1)``), exact inside."""

    @tf.custom_gradient
    def _hard(v):
        u = v * slope + shift
        c = tf.clip_by_value(u, 0.0, 1.0)
        if is_tanh:
            c = 2.0 * c - 1.0
        y, over = exact_cast(c, t)

        def grad(g):
            inside = (u > 0.0) & (u < 1.0) & ~over
            return tf.where(inside, g * slope * (2.0 if is_tanh else 1.0), tf.zeros_like(g))

        return y, grad

    return _hard(x)


def _top_bits(v: tf.Tensor, t: FixedType, bits: int) -> tf.Tensor:
    """``softmax_idx_from_real_val``: the top ``bits`` bits of ``t``'s ``W``-bit pattern of ``v``."""
    codes = v * scale(t.frac)
    u = tf.math.floormod(codes, scale(t.width))
    return tf.cast(tf.floor(u * scale(bits - t.width)), tf.int32)


def softmax(x: tf.Tensor, spec: SoftmaxSpec) -> tf.Tensor:
    """``nnet::softmax`` (stable, latency, legacy, argmax) over the last axis, exactly.

    Gradient: the Jacobian of the float softmax of ``x * exp_scale``.
    """
    from fxsim.kernels import lut
    from fxsim.kernels.activations import reduce_plan

    impl = spec.implementation
    m = spec.n_slice
    res_t = spec.result_t
    if impl in ("stable", "latency"):
        index_t = spec.inp_norm_t if impl == "stable" else spec.input_t
        exp_bits = lut.softmax_addr_bits(spec.exp_table_size, index_t, f"layer {spec.name!r} exp table")
        inv_bits = lut.softmax_addr_bits(spec.inv_table_size, spec.inv_inp_t, f"layer {spec.name!r} inverse table")
        exp_codes = lut.softmax_exp_table(spec.exp_table_size, index_t, spec.exp_table_t, spec.exp_scale,
                                          negative=impl == "stable")
        exp_acc = tf.constant(from_codes(np_cast(exp_codes, spec.exp_table_t, spec.accum_t), spec.accum_t), F64)
        inv_codes = lut.softmax_inv_table(spec.inv_table_size, spec.inv_inp_t, spec.inv_table_t)
        inv_vals = tf.constant(from_codes(inv_codes, spec.inv_table_t), F64)
        plan = reduce_plan(m).tolist()

        def forward(v):
            if impl == "stable":
                dn, _ = exact_cast(tf.reduce_max(v, axis=-1, keepdims=True) - v, index_t)
                idx = _top_bits(dn, index_t, exp_bits)
            else:
                idx = _top_bits(v, index_t, exp_bits)
            e = tf.gather(exp_acc, idx)
            nodes = [e[:, k] for k in range(m)]
            for a, b in plan:
                nodes.append(exact_cast(nodes[a] + nodes[b], spec.accum_t)[0])
            total, _ = exact_cast(nodes[-1], spec.inv_inp_t)
            inv = tf.gather(inv_vals, _top_bits(total, spec.inv_inp_t, inv_bits))
            return exact_cast(e * inv[:, None], res_t)[0]
    elif impl == "legacy":
        exp_codes, inv_codes = lut.softmax_legacy_tables(spec.exp_table_size, spec.inv_table_size, spec.table_t)
        exp_vals = tf.constant(from_codes(exp_codes, spec.table_t), F64)
        inv_vals = tf.constant(from_codes(inv_codes, spec.table_t), F64)
        one = float(from_codes(to_codes(np.array([1.0]), spec.table_t), spec.table_t)[0])
        n_exp, n_inv = spec.exp_table_size, spec.inv_table_size

        def forward(v):
            outs = []
            for i in range(m):
                acc = tf.zeros_like(v[:, 0])
                for j in range(m):
                    if i == j:
                        term = tf.ones_like(acc) * one
                    else:
                        y = (v[:, j] - v[:, i]) * (n_exp / 16.0)
                        tr = _wrap32(tf.sign(y) * tf.floor(tf.abs(y)))
                        idx = tf.clip_by_value(_wrap32(tr + float(n_exp // 2)), 0.0, float(n_exp - 1))
                        term = tf.gather(exp_vals, tf.cast(idx, tf.int32))
                    acc = exact_cast(acc + term, spec.table_t)[0]
                y = acc * (n_inv / 64.0)
                idx = tf.clip_by_value(_wrap32(tf.sign(y) * tf.floor(tf.abs(y))), 0.0, float(n_inv - 1))
                outs.append(exact_cast(tf.gather(inv_vals, tf.cast(idx, tf.int32)), res_t)[0])
            return tf.stack(outs, axis=1)
    elif impl == "argmax":
        one = float(from_codes(to_codes(np.array([1.0]), res_t), res_t)[0])

        def forward(v):
            first = tf.reduce_min(tf.where(tf.equal(v, tf.reduce_max(v, axis=1, keepdims=True)),
                                           tf.range(m)[None, :], m), axis=1)
            return tf.one_hot(first, m, on_value=one, off_value=0.0, dtype=F64)
    else:
        raise GraphError(f"layer {spec.name!r}: softmax implementation {impl!r} is not expressible")
    exp_scale = float(spec.exp_scale)

    @tf.custom_gradient
    def _softmax(v):
        out = forward(v)

        def grad(g):
            s = tf.nn.softmax(v * exp_scale, axis=-1)
            return exp_scale * s * (g - tf.reduce_sum(g * s, axis=-1, keepdims=True))

        return out, grad

    return _softmax(x)


# --- layers -------------------------------------------------------------------------------


def _activation_values(kind: str, table_size: int, table_t: FixedType, out_t: FixedType) -> np.ndarray:
    from fxsim.kernels import lut

    codes = lut.build_table(kind, table_size, table_t)
    return from_codes(np_cast(codes, table_t, out_t), out_t)


def _activation_op(spec: ActivationSpec) -> Callable[[tf.Tensor], tf.Tensor]:
    kind = spec.activation
    r = spec.result_t
    if kind == "linear":
        return lambda v: ste.cast(v, r)
    if kind == "relu":
        return lambda v: relu(v, r)
    if kind in ("sigmoid", "tanh"):
        _need(spec.name, f"the table index x*N of {spec.input_t}",
              spec.input_t.width + int(spec.table_size).bit_length())
        table = _activation_values(kind, spec.table_size, spec.table_t, r)
        return lambda v: lut_activation(v, kind, table)
    if kind == "leaky_relu":
        _need(spec.name, "alpha * x", spec.input_t.width + spec.param_t.width)
        alpha = float(from_codes(np.array([spec.param]), spec.param_t)[0])
        return lambda v: leaky_relu(v, alpha, r)
    if kind in ("hard_sigmoid", "hard_tanh"):
        slope = float(from_codes(np.array([spec.slope]), spec.slope_t)[0])
        shift = float(from_codes(np.array([spec.shift]), spec.shift_t)[0])
        f = max(spec.slope_t.frac + spec.input_t.frac, spec.shift_t.frac)
        _need(spec.name, "slope * x + shift",
              spec.input_t.width + spec.slope_t.width + (f - spec.slope_t.frac - spec.input_t.frac) + 2)
        return lambda v: hard_activation(v, slope, shift, kind == "hard_tanh", r)
    raise GraphError(f"layer {spec.name!r}: activation {kind!r} is not expressible in the exact training graph")


def _recurrent_activation(kind: str, spec: RecurrentSpec, input_t: FixedType) -> Callable[[tf.Tensor], tf.Tensor]:
    """``nnet::activation::<kind><data_T, accum_t>``: outputs in ``accum_t``."""
    a = spec.accum_t
    if kind == "relu":
        return lambda v: relu(v, a)
    if kind in ("sigmoid", "tanh"):
        _need(spec.name, f"the table index x*N of {input_t}", input_t.width + int(spec.table_size).bit_length())
        table = _activation_values(kind, spec.table_size, spec.table_t, a)
        return lambda v: lut_activation(v, kind, table)
    raise GraphError(f"layer {spec.name!r} ({spec.cell.upper()}): activation {kind!r} has no hls4ml template")


def _check_recurrent(spec: RecurrentSpec) -> None:
    a, r = spec.accum_t, spec.result_t
    k = spec.n_gates
    check_dense(spec.name, spec.input_t, spec.weight_t, a, spec.n_in)
    check_dense(spec.name, r, spec.recurrent_weight_t, a, spec.n_state)
    _need(spec.name, f"a product of two accum_t {a} values", 2 * a.width)
    _need(spec.name, f"the sum of two {a} values", a.width + 1)
    if spec.cell == "gru":
        # hc * (1 - z) + h * z: (1 - z) needs one more integer bit than z
        bits = max(a.width + a.width + 1 + max(0, r.frac - a.frac), r.width + a.width + max(0, a.frac - r.frac)) + 1
    else:
        bits = max(2 * a.width + max(0, r.frac - a.frac), r.width + a.width + max(0, a.frac - r.frac)) + 1
    _need(spec.name, "the state update (two products summed exactly)", bits)
    if spec.weight.shape != (spec.n_in, k * spec.n_state):
        raise GraphError(f"layer {spec.name!r}: weight shape {spec.weight.shape} does not fit {k} gates")


def _recurrent_op(spec: RecurrentSpec) -> Callable:
    from fxsim.kernels.recurrent import check_recurrent_supported

    try:
        check_recurrent_supported(spec)
    except ValueError as err:
        raise GraphError(str(err)) from None
    _check_recurrent(spec)
    a, r = spec.accum_t, spec.result_t
    n, steps = spec.n_state, spec.n_timesteps
    rf = int(spec.reuse_factor)
    rrf = int(spec.recurrent_reuse_factor or rf)
    seq_x = _accumulation_sequence(spec.n_in, spec.n_gates * n, spec.strategy, rf,
                                   kernel="rf_leq_nin" if rf <= spec.n_in else "rf_gt_nin_rem0")
    seq_h = _accumulation_sequence(n, spec.n_gates * n, spec.strategy, rrf,
                                   kernel="rf_leq_nin" if rf <= n else "rf_gt_nin_rem0")
    recr = _recurrent_activation(spec.recurrent_activation, spec, a)
    act = _recurrent_activation(spec.activation, spec, a)
    act_c = _recurrent_activation(spec.activation, spec, r) if spec.cell == "lstm" else None

    def op(x: tf.Tensor, w: dict[str, tf.Tensor]) -> tf.Tensor:
        b_acc = ste.cast(w["bias"], a)
        br_acc = ste.cast(w["recurrent_bias"], a)
        batch = tf.shape(x)[0]
        zx_all = dense_accum(tf.reshape(x, [-1, spec.n_in]), w["weight"], b_acc, spec.input_t, spec.weight_t, a, seq_x)
        zx_all = tf.reshape(zx_all, [batch, steps, spec.n_gates * n])
        h = tf.zeros([batch, n], dtype=F64)
        c = tf.zeros([batch, n], dtype=F64)
        outs = []
        for t in range(steps):
            zx = zx_all[:, t]
            zh = dense_accum(h, w["recurrent_weight"], br_acc, r, spec.recurrent_weight_t, a, seq_h)
            if spec.cell == "gru":
                pre = ste.cast(zx[:, :2 * n] + zh[:, :2 * n], a)
                gates = recr(pre)
                z, rg = gates[:, :n], gates[:, n:]
                rh = ste.cast(rg * zh[:, 2 * n:], a)
                hc = act(ste.cast(zx[:, 2 * n:] + rh, a))
                h = ste.cast(hc * (1.0 - z) + h * z, r)
            else:
                pre = ste.cast(zx + zh, a)
                i_g, f_g = recr(pre[:, :n]), recr(pre[:, n:2 * n])
                g_c, o_g = act(pre[:, 2 * n:3 * n]), recr(pre[:, 3 * n:])
                c = ste.cast(g_c * i_g + c * f_g, r)
                h = ste.cast(o_g * act_c(c), r)
            if spec.return_sequences:
                outs.append(h)
        return tf.stack(outs, axis=1) if spec.return_sequences else h

    return op


def _dense_op(spec: DenseSpec) -> Callable:
    check_dense(spec.name, spec.input_t, spec.weight_t, spec.accum_t, spec.n_in)
    seq = _accumulation_sequence(spec.n_in, spec.n_out, spec.strategy, spec.reuse_factor)

    def op(x: tf.Tensor, w: dict[str, tf.Tensor]) -> tf.Tensor:
        b_acc = ste.cast(w["bias"], spec.accum_t)
        x2 = tf.reshape(x, [-1, spec.n_in])
        acc = dense_accum(x2, w["weight"], b_acc, spec.input_t, spec.weight_t, spec.accum_t, seq)
        return ste.cast(acc, spec.result_t)

    return op


@dataclass
class _Layer:
    spec: Any
    op: Callable
    params: list[WeightParam]


class ExactGraph:
    """hls4ml's arithmetic for one converted model, trainable through a Keras model's variables.

    Parameters
    ----------
    emulated : the :class:`~fxsim.model.FxModel` (usually ``fxsim.emulate(model, precision)``)
        whose specs define every type, table and weight code.
    keras_model : the Keras/QKeras model (same architecture) whose variables are trained;
        its current weights must give exactly the IR's weight codes.

    Raises
    ------
    GraphError : a layer or setting the graph cannot express exactly (named), or
        weights of ``keras_model`` that do not reproduce the IR's codes.
    """

    def __init__(self, emulated: Any, keras_model: Any):
        specs = list(emulated.layers)
        if not specs or not isinstance(specs[0], InputSpec):
            raise GraphError("the model does not start with an input layer")
        self.input_spec: InputSpec = specs[0]
        self.input_t = self.input_spec.result_t
        self.output_t: FixedType = specs[-1].result_t
        self.layers: list[_Layer] = []
        for spec in specs[1:]:
            self.layers.append(self._layer(spec, keras_model))
        self.params = [p for layer in self.layers for p in layer.params]
        self._compiled = None
        self.check_weights()
        last = specs[-1]
        #: the last layer squashes (sigmoid / softmax): the loss can use its exact input as logits
        self.logit_kind = None
        if isinstance(last, ActivationSpec) and last.activation == "sigmoid":
            self.logit_kind = "sigmoid"
        elif isinstance(last, SoftmaxSpec):
            self.logit_kind = "softmax"

    @staticmethod
    def _layer(spec: Any, keras_model: Any) -> _Layer:
        if isinstance(spec, DenseSpec):
            return _Layer(spec, _dense_op(spec), _dense_params(spec, keras_model))
        if isinstance(spec, RecurrentSpec):
            return _Layer(spec, _recurrent_op(spec), _recurrent_params(spec, keras_model))
        if isinstance(spec, ActivationSpec):
            f = _activation_op(spec)
            return _Layer(spec, lambda x, w: f(x), [])
        if isinstance(spec, SoftmaxSpec):
            if spec.n_outer != 1 or spec.n_inner != 1:
                raise GraphError(f"layer {spec.name!r}: multi-dimensional softmax is not expressible")
            return _Layer(spec, lambda x, w: softmax(tf.reshape(x, [-1, spec.n_slice]), spec), [])
        if isinstance(spec, ReshapeSpec):
            shape = [-1, *spec.target_shape]
            return _Layer(spec, lambda x, w: tf.reshape(x, shape), [])
        if isinstance(spec, ScaleSpec):
            raise GraphError(
                f"layer {spec.name!r} (ApplyAlpha / BatchNormalization scale): not expressible in the exact "
                "training graph (its scale and bias are derived from other layers' weights by hls4ml); use "
                "QKeras quantizers with alpha=1 and no BatchNormalization"
            )
        raise GraphError(f"layer {getattr(spec, 'name', '?')!r} ({type(spec).__name__}): not expressible "
                         "in the exact training graph")

    # --- weights ----------------------------------------------------------------------
    def check_weights(self) -> None:
        """Raise unless the Keras variables give exactly the IR's weight codes."""
        for p in self.params:
            codes = p.current_codes()
            if codes.shape != p.codes.shape or not np.array_equal(codes, p.codes):
                bad = int(np.sum(codes != p.codes)) if codes.shape == p.codes.shape else codes.size
                raise GraphError(
                    f"layer {p.layer!r}: the {p.role} codes hls4ml wrote ({bad} of {p.codes.size} differ) cannot "
                    "be reproduced from the Keras variables; the exact training graph does not express this layer"
                )

    @property
    def variables(self) -> list[Any]:
        """The distinct Keras variables the graph trains."""
        seen: dict[int, Any] = {}
        for p in self.params:
            if p.variable is not None and getattr(p.variable, "trainable", True):
                seen.setdefault(id(p.variable), p.variable)
        return list(seen.values())

    def feeds(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per weight array, its exact values and straight-through mask for the current variables."""
        return [p.feed() for p in self.params]

    # --- running ----------------------------------------------------------------------
    def input_values(self, x: np.ndarray) -> np.ndarray:
        """``input_t(x)`` as float64 values (``x`` as given: float32 or float64, like ``predict``)."""
        x = np.asarray(x)
        if x.dtype not in (np.float32, np.float64):
            x = x.astype(np.float64)
        return from_codes(to_codes(x, self.input_t), self.input_t).reshape(x.shape[0], *self.input_spec.shape)

    def forward(self, x: tf.Tensor, feeds: list[tuple[tf.Tensor, tf.Tensor]]) -> tuple[tf.Tensor, tf.Tensor | None]:
        """``(output values [B, n_out], logits or None)`` for input values ``x``.

        The logits are the exact input of a final sigmoid/softmax (:attr:`logit_kind`).
        """
        h = x
        k = 0
        logits = None
        for i, layer in enumerate(self.layers):
            w = {}
            for p in layer.params:
                values, mask = feeds[k]
                w[p.role] = p.tensor(values, mask)
                k += 1
            if i == len(self.layers) - 1 and self.logit_kind is not None:
                logits = tf.reshape(h, [tf.shape(h)[0], -1])
            h = layer.op(h, w)
        return tf.reshape(h, [tf.shape(h)[0], -1]), logits

    def compiled_forward(self) -> Callable:
        """:meth:`forward` as one ``tf.function`` (traced once per input shape)."""
        if self._compiled is None:
            self._compiled = tf.function(self.forward, reduce_retracing=True)
        return self._compiled

    def predict_codes(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """The output codes (int64 ``[n, n_out]``) of the graph for the current variables."""
        feeds = [(tf.constant(v, F64), tf.constant(m, F64)) for v, m in self.feeds()]
        outs = []
        run = self.compiled_forward()
        chunk = min(batch_size, len(x))
        for s in range(0, len(x), chunk):
            xv = self.input_values(x[s:s + chunk])
            k = xv.shape[0]
            if k < chunk:  # pad the last chunk: one traced shape
                xv = np.concatenate([xv, np.zeros((chunk - k, *xv.shape[1:]))])
            outs.append(run(tf.constant(xv, F64), feeds)[0].numpy()[:k])
        y = np.concatenate(outs)
        codes = np.ldexp(y, self.output_t.frac)
        if not np.all(codes == np.round(codes)):  # pragma: no cover - would be a bug in the graph
            raise AssertionError("the training graph produced values off the output type's grid")
        return codes.astype(np.int64)
