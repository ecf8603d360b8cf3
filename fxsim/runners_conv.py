"""Runners of the convolutional layers: Conv1D (and pointwise), Pooling1D (and global), ZeroPadding1D.

Same protocol as :mod:`fxsim.runners`: ``runner(codes[n, *in_shape], want_trace,
want_counts) -> (codes[n, *out_shape], {quantity: (overflowed, total)}, None)``.
"""

from __future__ import annotations

import numpy as np

from fxsim.fixed import MAX_WIDTH
from fxsim.ir import Conv1DSpec, Pooling1DSpec, ZeroPadding1DSpec
from fxsim.kernels import dense as dk
from fxsim.kernels.blocks import n_blocks
from fxsim.kernels.conv1d import conv1d_batch
from fxsim.kernels.dense import DENSE, DENSE_COUNTERS
from fxsim.kernels.dense_order import LATENCY_ORDER, dense_order
from fxsim.kernels.pooling import POOL_COUNTERS, pool1d_batch, zeropad1d_batch


class _Runner:
    # the runner attributes fxsim.model reads (fxsim.runners' base; not imported from there,
    # which imports this module)
    def __init__(self, spec):
        self.spec = spec
        self.name = spec.name
        self.types: dict = {}


def _check_width(layer: str, what: str, bits: int) -> None:
    if bits > MAX_WIDTH:
        raise ValueError(f"layer {layer!r}: {what} needs {bits} bits; fxsim represents at most {MAX_WIDTH} "
                         "(narrow the types involved)")


def conv_order(spec: Conv1DSpec) -> np.ndarray:
    """The accumulation order of one pixel's dense product (``conv_1d_latency_cl`` / ``_resource_cl``).

    Resource runs ``dense_resource_rf_leq_nin``'s loops over ``filt_width * n_chan``
    inputs; hls4ml 1.3.0's ``conv_1d_resource_cl`` asserts ``RF <= filt_width * n_chan``,
    so a larger reuse factor (which hls4ml's ``set_closest_reuse_factor`` accepts) aborts
    the C simulation and is refused here.
    """
    s = spec
    n_in = s.filt_width * s.n_chan
    if s.strategy.lower() == "latency":
        return LATENCY_ORDER
    if s.strategy.lower() != "resource":
        raise ValueError(f"layer {s.name!r} (Conv1D): Strategy {s.strategy!r} is not emulated (Latency, Resource are)")
    if s.reuse_factor > n_in:
        raise ValueError(
            f"layer {s.name!r} (Conv1D): Resource with ReuseFactor {s.reuse_factor} > filt_width * n_chan = {n_in} "
            "trips hls4ml 1.3.0's assert 'This function is correct only for RF <= FILT_WIDTH * N_CHAN' in "
            "conv_1d_resource_cl (the C simulation aborts); use a ReuseFactor that divides into "
            f"filt_width * n_chan * n_filt and is at most {n_in}"
        )
    return dense_order(n_in, s.n_filt, "resource", s.reuse_factor, kernel="rf_leq_nin")


class Conv1DRunner(_Runner):
    def __init__(self, spec: Conv1DSpec):
        super().__init__(spec)
        s = spec
        _check_width(s.name, f"the product {s.input_t} * {s.weight_t}", s.input_t.width + s.weight_t.width)
        if s.stride < 1 or s.out_width < 1:
            raise ValueError(f"layer {s.name!r} (Conv1D): stride {s.stride} / output width {s.out_width} is not valid")
        self.weight = np.ascontiguousarray(s.weight.reshape(s.filt_width * s.n_chan, s.n_filt), dtype=np.int64)
        self.bias_acc, self.bias_over = dk.bias_to_accum(s.bias, s.bias_t, s.accum_t)
        self.order = conv_order(s)
        self.types = {"bias": s.accum_t, "product": s.accum_t, "accumulator": s.accum_t, "result": s.result_t}

    def __call__(self, x, want_trace, want_counts=True):
        s = self.spec
        n = x.shape[0]
        ow, nf = s.out_width, s.n_filt
        x3 = np.ascontiguousarray(x.reshape(n, s.in_width, s.n_chan), dtype=np.int64)
        out = np.empty((n, ow, nf), dtype=np.int64)
        counts = np.zeros((n_blocks(n), len(DENSE_COUNTERS)), dtype=np.int64)
        conv1d_batch(x3, s.filt_width, s.stride, s.pad_left, s.input_t.frac, self.weight, s.weight_t.frac,
                     self.bias_acc, self.order, s.accum_t.spec, s.result_t.spec, out, counts, bool(want_counts))
        c = counts.sum(axis=0)
        pixels = n * ow
        terms = pixels * self.weight.size
        return out, {
            "bias": (self.bias_over * pixels, pixels * nf),
            "product": (c[DENSE.product], terms),
            "accumulator": (c[DENSE.accumulator], terms),
            "result": (c[DENSE.result], pixels * nf),
        }, None


def max_pad_code(t) -> int:
    """``pad_val<T, Max>()``: ``T x = 0; x[W-1] = 1`` -- the code with only the top bit set."""
    return -(1 << (t.width - 1)) if t.signed else 1 << (t.width - 1)


class Pooling1DRunner(_Runner):
    def __init__(self, spec: Pooling1DSpec):
        super().__init__(spec)
        s = spec
        if s.op not in ("max", "average"):
            raise ValueError(f"layer {s.name!r} (Pooling1D): pooling {s.op!r} is not emulated (max, average are)")
        if s.op == "average":
            f = max(s.accum_t.frac, s.input_t.frac)
            _check_width(s.name, "the average's sum", max(s.accum_t.width - s.accum_t.frac,
                                                          s.input_t.width - s.input_t.frac) + f + 1)
            if not s.is_global and not s.count_pad:
                for o in range(s.n_out):
                    lo, hi = o * s.stride - s.pad_left, o * s.stride - s.pad_left + s.pool_width
                    if min(hi, s.n_in) - max(lo, 0) < 1:
                        raise ValueError(f"layer {s.name!r} (AveragePooling1D): window {o} lies in the padding "
                                         "(hls4ml would divide by zero)")
        self.types = {"accumulator": s.accum_t, "result": s.result_t}

    def __call__(self, x, want_trace, want_counts=True):
        s = self.spec
        n = x.shape[0]
        x3 = np.ascontiguousarray(x.reshape(n, s.n_in, s.n_filt))
        if s.is_global:
            width, stride, pad_left, n_out = s.n_in, s.n_in, 0, 1
        else:
            width, stride, pad_left, n_out = s.pool_width, s.stride, s.pad_left, s.n_out
        out = np.empty((n, n_out, s.n_filt), dtype=np.int64)
        counts = np.zeros((n, len(POOL_COUNTERS)), dtype=np.int64)
        pool1d_batch(x3, s.input_t.frac, s.op == "max", np.int64(max_pad_code(s.input_t)), width, stride, pad_left,
                     n_out, bool(s.count_pad), s.accum_t.spec, s.result_t.spec, out, counts)
        c = counts.sum(axis=0)
        n_vals = n * n_out * s.n_filt
        steps = n_vals if s.op == "max" else n * s.n_filt * (s.n_in if s.is_global else _inside_cells(s))
        res = {"accumulator": (c[0], steps), "result": (c[1], n_vals)}
        return (out.reshape(n, s.n_filt) if s.is_global else out), res, None


def _inside_cells(s: Pooling1DSpec) -> int:
    # window cells inside the input, summed over the windows (the average's accumulations per channel)
    return sum(min(o * s.stride - s.pad_left + s.pool_width, s.n_in) - max(o * s.stride - s.pad_left, 0)
               for o in range(s.n_out))


class ZeroPadding1DRunner(_Runner):
    def __init__(self, spec: ZeroPadding1DSpec):
        super().__init__(spec)
        self.types = {"result": spec.result_t}

    def __call__(self, x, want_trace, want_counts=True):
        s = self.spec
        n = x.shape[0]
        x3 = np.ascontiguousarray(x.reshape(n, x.shape[1], -1))
        out = np.empty((n, x3.shape[1] + s.pad_left + s.pad_right, x3.shape[2]), dtype=np.int64)
        counts = np.zeros((n, 1), dtype=np.int64)
        zeropad1d_batch(x3, s.input_t.frac, s.pad_left, s.result_t.spec, out, counts)
        return out, {"result": (counts.sum(), x3.size)}, None
