"""Bind each layer spec to its kernel: prepared arrays (tables, orders, recast biases) and a call.

A runner is built once per layer (tables and orders are computed then) and called
per batch as ``runner(codes[n, *in_shape], want_trace, want_counts) -> (codes[n, *out_shape],
{quantity: (overflowed, total)}, internals | None)``. Without ``want_counts`` the
dense and recurrent kernels skip counting their products' and accumulators' overflows
(those counts read 0), which lets the common accumulator types take faster loops. ``runner.types`` names the
type each counted quantity was cast to.
"""

from __future__ import annotations

import functools

import numpy as np

from fxsim._jit_cache import compile_notice
from fxsim._threads import run_blocks
from fxsim.fixed import MAX_WIDTH, FixedType
from fxsim.ir import (
    ActivationSpec,
    BidirectionalSpec,
    DenseSpec,
    LayerSpec,
    RecurrentSpec,
    ReshapeSpec,
    ScaleSpec,
    SoftmaxSpec,
    TimeDistributedSpec,
)
from fxsim.kernels import activations as act
from fxsim.kernels import dense as dk
from fxsim.kernels import lut, recurrent
from fxsim.kernels.blocks import n_blocks
from fxsim.kernels.dense import DENSE, DENSE_COUNTERS
from fxsim.kernels.dense_exact import dense_exact_batch, exact_weights
from fxsim.kernels.dense_loops import prepared_weight
from fxsim.kernels.dense_order import LATENCY_ORDER, dense_order
from fxsim.kernels.scale import scale_batch
from fxsim.runners_wrappers import BidirectionalRunner, TimeDistributedRunner


def make_runner(spec: LayerSpec):
    """The runner of one layer spec."""
    for kind, factory in _FACTORIES:
        if isinstance(spec, kind):
            # building a runner casts its biases and tables with the core's kernels: the first time, a compile
            with compile_notice(getattr(spec, "cell", "").upper() or type(spec).__name__.removesuffix("Spec")):
                return factory(spec)
    raise ValueError(f"layer {spec.name!r}: no kernel for {type(spec).__name__}")


def _check_width(layer: str, what: str, bits: int) -> None:
    if bits > MAX_WIDTH:
        raise ValueError(
            f"layer {layer!r}: {what} needs {bits} bits; fxsim represents at most {MAX_WIDTH} "
            "(narrow the types involved)"
        )


class _Runner:
    #: what the compile notice calls this runner's kernels ("GRU", "Dense", ...)
    kind = "layers"

    def __init__(self, spec):
        self.spec = spec
        self.name = spec.name
        self.types: dict[str, FixedType] = {}


def _announce_compiles(call):
    """Wrap a runner's ``__call__``: while it runs, a kernel compilation says so once on stderr."""

    @functools.wraps(call)
    def wrapper(self, *args, **kwargs):
        with compile_notice(self.kind):
            return call(self, *args, **kwargs)

    return wrapper


class DenseRunner(_Runner):
    def __init__(self, spec: DenseSpec):
        super().__init__(spec)
        s = spec
        _check_width(s.name, f"the product {s.input_t} * {s.weight_t}", s.input_t.width + s.weight_t.width)
        self.weight = np.ascontiguousarray(s.weight, dtype=np.int64)
        self.bias_acc, self.bias_over = dk.bias_to_accum(s.bias, s.bias_t, s.accum_t)
        latency = s.strategy.lower() == "latency"
        self.order = LATENCY_ORDER if latency else dense_order(s.n_in, s.n_out, s.strategy, s.reuse_factor)
        self.types = {"bias": s.accum_t, "product": s.accum_t, "accumulator": s.accum_t, "result": s.result_t}
        # where no cast before result_t can change a value (hls4ml's automatic accum_t), the exact sums in float64
        self.exact = exact_weights(s.input_t, s.weight_t, s.accum_t, self.weight, self.bias_acc, latency)
        # the block loops' int32 weights, once per layer, not per call (a model's chunks call it often)
        self.prepared = prepared_weight(self.weight) if self.exact is None else None

    kind = "Dense"

    @_announce_compiles
    def __call__(self, x, want_trace, want_counts=True):
        s = self.spec
        n = x.shape[0]
        x2 = np.ascontiguousarray(x.reshape(n, -1))
        out = np.empty((n, s.n_out), dtype=np.int64)
        counts = np.zeros((n_blocks(n), len(DENSE_COUNTERS)), dtype=np.int64)
        if self.exact is not None:
            run_blocks(dense_exact_batch, n_blocks(n), x2, *self.exact, s.accum_t.frac, s.result_t.spec,
                       out.reshape(-1), counts)
        else:
            dk.dense_batch(x2, s.input_t.frac, self.weight, s.weight_t.frac, self.bias_acc, self.order,
                           s.accum_t.spec, s.result_t.spec, out, counts, bool(want_counts), self.prepared)
        c = counts.sum(axis=0)
        terms = n * s.n_in * s.n_out
        return out, {
            "bias": (self.bias_over * n, n * s.n_out),
            "product": (c[DENSE.product], terms),
            "accumulator": (c[DENSE.accumulator], terms),
            "result": (c[DENSE.result], n * s.n_out),
        }, None


class ActivationRunner(_Runner):
    def __init__(self, spec: ActivationSpec):
        super().__init__(spec)
        s = spec
        kind = s.activation
        self.types = {"result": s.result_t}
        if kind in ("sigmoid", "tanh"):
            if s.table_t is None:
                raise ValueError(f"layer {s.name!r} ({kind}) has no table_t")
            lut.check_index_width(s.input_t, s.table_size, f"layer {s.name!r} input")
            self.table = lut.build_table(kind, s.table_size, s.table_t)
            self.types = {"table_index_clip": s.table_t, "result": s.result_t}
        elif kind == "leaky_relu":
            if s.param is None or s.param_t is None:
                raise ValueError(f"layer {s.name!r} (leaky_relu) has no alpha")
            _check_width(s.name, "alpha * x", s.input_t.width + s.param_t.width)
        elif kind in ("hard_sigmoid", "hard_tanh"):
            if None in (s.slope, s.slope_t, s.shift, s.shift_t):
                raise ValueError(f"layer {s.name!r} ({kind}) has no slope/shift")
            f = max(s.slope_t.frac + s.input_t.frac, s.shift_t.frac)
            bits = s.input_t.width + s.slope_t.width + (f - s.slope_t.frac - s.input_t.frac) + 2
            _check_width(s.name, "slope * x + shift", bits)
        elif kind not in ("linear", "relu"):
            raise ValueError(f"layer {s.name!r}: activation {kind!r} is not emulated")
        self.kind = f"Activation ({kind})"

    @_announce_compiles
    def __call__(self, x, want_trace, want_counts=True):
        s = self.spec
        n = x.shape[0]
        x2 = np.ascontiguousarray(x.reshape(n, -1))
        m = x2.shape[1]
        out = np.empty_like(x2)
        kind = s.activation
        fx = s.input_t.frac
        r = s.result_t.spec
        if kind in ("sigmoid", "tanh"):
            counts = np.zeros((n, 2), dtype=np.int64)
            act.lut_batch(x2, fx, self.table, s.table_t.frac, lut.RANGE_SHIFT[kind], r, out, counts)
            c = counts.sum(axis=0)
            res = {"table_index_clip": (c[0], n * m), "result": (c[1], n * m)}
        else:
            counts = np.zeros((n, 1), dtype=np.int64)
            if kind == "linear":
                act.linear_batch(x2, fx, r, out, counts)
            elif kind == "relu":
                act.relu_batch(x2, fx, r, out, counts)
            elif kind == "leaky_relu":
                act.leaky_relu_batch(x2, fx, np.int64(s.param), s.param_t.frac, r, out, counts)
            else:
                act.hard_activation_batch(x2, fx, np.int64(s.slope), s.slope_t.frac, np.int64(s.shift),
                                          s.shift_t.frac, kind == "hard_tanh", r, out, counts)
            res = {"result": (counts.sum(), n * m)}
        return out.reshape(x.shape), res, None


class SoftmaxRunner(_Runner):
    def __init__(self, spec: SoftmaxSpec):
        super().__init__(spec)
        s = spec
        impl = s.implementation
        self.types = {"result": s.result_t}
        if impl in ("stable", "latency"):
            if impl == "stable":
                if s.inp_norm_t is None:
                    raise ValueError(f"layer {s.name!r} (stable softmax) has no inp_norm_t")
                index_t = s.inp_norm_t
                _check_width(s.name, "x_max - x", s.input_t.width + 1)
            else:
                index_t = s.input_t
            self.exp_bits = lut.softmax_addr_bits(s.exp_table_size, index_t, f"layer {s.name!r} exp table")
            self.inv_bits = lut.softmax_addr_bits(s.inv_table_size, s.inv_inp_t, f"layer {s.name!r} inverse table")
            self.exp_table = lut.softmax_exp_table(s.exp_table_size, index_t, s.exp_table_t, s.exp_scale,
                                                   negative=impl == "stable")
            self.inv_table = lut.softmax_inv_table(s.inv_table_size, s.inv_inp_t, s.inv_table_t)
            self.plan = act.reduce_plan(s.n_slice)
            _check_width(s.name, "exp * inverse", s.accum_t.width + s.inv_table_t.width)
            self.types = {"norm": s.inp_norm_t or s.input_t, "exp_accum": s.accum_t, "sum": s.accum_t,
                          "inv_inp": s.inv_inp_t, "result": s.result_t}
        elif impl == "legacy":
            _check_width(s.name, "the legacy index (x_j - x_i) * N",
                         s.input_t.width + 1 + int(s.exp_table_size).bit_length())
            lut.check_index_width(s.table_t, s.inv_table_size, f"layer {s.name!r} exp sum")
            self.exp_table, self.inv_table = lut.softmax_legacy_tables(s.exp_table_size, s.inv_table_size, s.table_t)
            self.types = {"table_index_clip": s.table_t, "exp_sum": s.table_t, "inv_index_clip": s.table_t,
                          "result": s.result_t}
        elif impl != "argmax":
            raise ValueError(f"layer {s.name!r}: softmax implementation {impl!r} is not emulated")

    kind = "Softmax"

    @_announce_compiles
    def __call__(self, x, want_trace, want_counts=True):
        s = self.spec
        n = x.shape[0]
        # [n, n_outer, n_slice, n_inner] -> rows of n_slice values (softmax_multidim)
        rows = np.ascontiguousarray(x.reshape(n, s.n_outer, s.n_slice, s.n_inner).transpose(0, 1, 3, 2)
                                    .reshape(-1, s.n_slice))
        out = np.empty_like(rows)
        impl = s.implementation
        r = s.result_t.spec
        n_rows, m = rows.shape
        if impl in ("stable", "latency"):
            counts = np.zeros((n_rows, 5), dtype=np.int64)
            act.softmax_table_batch(rows, s.input_t.width, s.input_t.frac, impl == "stable",
                                    (s.inp_norm_t or s.input_t).spec, self.exp_table, s.exp_table_t.frac,
                                    self.exp_bits, s.accum_t.spec, s.inv_inp_t.spec, self.inv_table,
                                    s.inv_table_t.frac, self.inv_bits, self.plan, r, out, counts)
            c = counts.sum(axis=0)
            res = {"norm": (c[0], n_rows * m if impl == "stable" else 0), "exp_accum": (c[1], n_rows * m),
                   "sum": (c[2], n_rows * (m - 1)), "inv_inp": (c[3], n_rows), "result": (c[4], n_rows * m)}
            if impl == "latency":
                del res["norm"]
        elif impl == "legacy":
            counts = np.zeros((n_rows, 4), dtype=np.int64)
            act.softmax_legacy_batch(rows, s.input_t.frac, s.table_t.spec, self.exp_table, self.inv_table, r,
                                     out, counts)
            c = counts.sum(axis=0)
            res = {"table_index_clip": (c[0], n_rows * m * (m - 1)), "exp_sum": (c[1], n_rows * m * m),
                   "inv_index_clip": (c[2], n_rows * m), "result": (c[3], n_rows * m)}
        else:
            counts = np.zeros((n_rows, 1), dtype=np.int64)
            act.softmax_argmax_batch(rows, r, out, counts)
            res = {"result": (counts.sum(), n_rows)}
        back = out.reshape(n, s.n_outer, s.n_inner, s.n_slice).transpose(0, 1, 3, 2).reshape(x.shape)
        return np.ascontiguousarray(back), res, None


class ReshapeRunner(_Runner):
    def __init__(self, spec: ReshapeSpec):
        super().__init__(spec)

    def __call__(self, x, want_trace, want_counts=True):
        return x.reshape(x.shape[0], *self.spec.target_shape), {}, None


class ScaleRunner(_Runner):
    def __init__(self, spec: ScaleSpec):
        super().__init__(spec)
        s = spec
        _check_width(s.name, "x * scale + bias", s.input_t.width + s.scale_t.width + 2
                     + max(0, s.bias_t.frac - s.input_t.frac - s.scale_t.frac))
        self.scale = np.ascontiguousarray(s.scale.ravel(), dtype=np.int64)
        self.bias = np.ascontiguousarray(s.bias.ravel(), dtype=np.int64)
        self.types = {"result": s.result_t}

    kind = "Scale"

    @_announce_compiles
    def __call__(self, x, want_trace, want_counts=True):
        s = self.spec
        n = x.shape[0]
        x2 = np.ascontiguousarray(x.reshape(n, -1))
        out = np.empty_like(x2)
        counts = np.zeros((n, 1), dtype=np.int64)
        scale_batch(x2, s.input_t.frac, self.scale, s.scale_t.frac, self.bias, s.bias_t.frac,
                       s.result_t.spec, out, counts)
        return out.reshape(x.shape), {"result": (counts.sum(), x2.size)}, None


class RecurrentRunner(_Runner):
    def __init__(self, spec: RecurrentSpec):
        super().__init__(spec)
        self.prepared = recurrent.prepare(spec)  # checks the layer, builds tables, orders and biases once
        self.types = recurrent.overflow_types(spec)
        self.kind = spec.cell.upper()

    @_announce_compiles
    def __call__(self, x, want_trace, want_counts=True):
        res = recurrent.run_recurrent(self.spec, x, want_trace, want_counts, prepared=self.prepared)
        return res.out, res.overflows, res.internals


from fxsim.ir import Conv1DSpec, Pooling1DSpec, ZeroPadding1DSpec  # noqa: E402
from fxsim.runners_conv import Conv1DRunner, Pooling1DRunner, ZeroPadding1DRunner  # noqa: E402

_FACTORIES = (
    (DenseSpec, DenseRunner),
    (ActivationSpec, ActivationRunner),
    (SoftmaxSpec, SoftmaxRunner),
    (ReshapeSpec, ReshapeRunner),
    (ScaleSpec, ScaleRunner),
    (RecurrentSpec, RecurrentRunner),
    (Conv1DSpec, Conv1DRunner),
    (Pooling1DSpec, Pooling1DRunner),
    (ZeroPadding1DSpec, ZeroPadding1DRunner),
    (BidirectionalSpec, BidirectionalRunner),
    (TimeDistributedSpec, TimeDistributedRunner),
)
