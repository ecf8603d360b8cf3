"""hls4ml 1.3.0's io_parallel Dense, activations, GRU and LSTM, one scalar at a time.

Transcribed from ``templates/vivado/nnet_utils`` (``nnet_dense_latency.h``,
``nnet_dense_resource.h``, ``nnet_activation.h``, ``nnet_recurrent.h``) with
every C++ assignment written as :func:`tests.reference.apfixed.assign` of the
exact value (``ap_fixed`` expressions are exact; only assignments round and
overflow). Inputs are Python lists of codes and the fields of ``fxsim.ir`` specs;
outputs are lists of codes. No numpy arithmetic, no fxsim kernels.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
from fractions import Fraction

from tests.reference.apfixed import assign, from_double, trunc_int32, value, wrap_int32

# --- the float32 functions the C simulation calls (glibc expf / tanhf) -------------------

_LIBM = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
for _fn in ("expf", "tanhf"):
    getattr(_LIBM, _fn).restype = ctypes.c_float
    getattr(_LIBM, _fn).argtypes = [ctypes.c_float]


def f32(x: float) -> float:
    """``(float)x``: round a double to the nearest float32 (ties to even)."""
    return struct.unpack("f", struct.pack("f", x))[0]


def table_input(kind: str, ii: int, n: int) -> float:
    """``in_val`` of ``init_sigmoid_table`` / ``init_tanh_table``: a double expression stored in a float."""
    half_range = 8.0 if kind == "sigmoid" else 4.0
    return f32(2 * half_range * (ii - float(n) / 2.0) / float(n))


def table_float(kind: str, ii: int, n: int) -> float:
    """The float the table entry is built from."""
    x = table_input(kind, ii, n)
    if kind == "sigmoid":  # sigmoid_fcn_float: 1.0 / (1 + std::exp(-input)), returned as float
        denominator = f32(1.0 + _LIBM.expf(-x))  # int + float: a float addition (exact in double, rounded once)
        return f32(1.0 / denominator)
    return _LIBM.tanhf(x)  # the unqualified tanh(float) is the float overload


def table(kind: str, n: int, table_t) -> list[int]:
    """The ``table_t`` codes of the ``n``-entry sigmoid or tanh table."""
    return [from_double(table_float(kind, ii, n), table_t) for ii in range(n)]


def table_index(x: Fraction, kind: str, n: int) -> int:
    """``index`` of ``nnet::sigmoid`` / ``nnet::tanh`` for the exact input value ``x``.

    ``data_round = data * table_size / 16`` (``/ 8`` for tanh) is exact up to the
    division, which truncates toward zero, and ``(int)`` truncates toward zero too:
    together one truncation of the exact quotient, then the low 32 bits.
    ``index = data_round + 8 * table_size / 16`` adds an unsigned constant (C
    unsigned arithmetic, read back as an ``int``), then clamps to the table.
    """
    span = 16 if kind == "sigmoid" else 8
    data_round = trunc_int32(x * n / span)
    index = wrap_int32(data_round + (span // 2 * n) // span)
    return min(max(index, 0), n - 1)


class Activation:
    """``nnet::activation::<kind><data_T, res_T, CONFIG_T>`` with the layer's table (``relu`` has none)."""

    def __init__(self, kind: str, table_t=None, table_size: int = 1024):
        if kind not in ("sigmoid", "tanh", "relu", "linear"):
            raise ValueError(f"the reference has no activation {kind!r}")
        self.kind = kind
        self.n = table_size
        self.table_t = table_t
        self.codes = table(kind, table_size, table_t) if kind in ("sigmoid", "tanh") else None

    def __call__(self, code: int, data_t, res_t) -> int:
        x = value(code, data_t)
        if self.kind == "linear":
            return assign(x, res_t)[0]
        if self.kind == "relu":  # res = datareg > 0 ? datareg : 0
            return assign(x, res_t)[0] if x > 0 else 0
        entry = self.codes[table_index(x, self.kind, self.n)]
        return assign(value(entry, self.table_t), res_t)[0]  # res[ii] = (res_T) table[index]


# --- Dense -----------------------------------------------------------------------------


def accumulation_order(n_in: int, n_out: int, strategy: str, reuse_factor: int,
                       kernel: str | None = None) -> list[tuple[int, int, int, int]]:
    """``(input, weight row, weight column, accumulator)`` of every ``acc += (accum_t)(x * w)``, in loop order.

    Latency: ``for ii: for jj`` (``nnet_dense_latency.h``). Resource: the loops of
    ``dense_resource_rf_leq_nin`` / ``dense_resource_rf_gt_nin_rem0`` over the
    transposed weights ``w_t[out * n_in + in]`` (``nnet_dense_resource.h``).
    """
    if strategy.lower() == "latency":
        return [(ii, ii, jj, jj) for ii in range(n_in) for jj in range(n_out)]
    kernel = kernel or ("rf_leq_nin" if reuse_factor <= n_in else "rf_gt_nin_rem0")
    pairs = []
    if kernel == "rf_leq_nin":
        rufactor = reuse_factor
        multfactor = min(n_in, reuse_factor)
        multiplier_limit = -(-(n_in * n_out) // multfactor)
        block_factor = -(-(n_in * n_out) // reuse_factor)
        multscale = multiplier_limit // n_out
        assert multiplier_limit % n_out == 0 or rufactor >= n_in, "The current Reuse Factor is not allowed"
        assert multiplier_limit == block_factor, "This function is correct only for RF <= N_IN"
        for ir in range(rufactor):
            w_index, in_index, out_index, acc_step = ir, ir, 0, 0
            for _ in range(block_factor):
                pairs.append((in_index, out_index, w_index))
                w_index += rufactor
                in_index += rufactor
                if in_index >= n_in:
                    in_index = ir
                if acc_step + 1 >= multscale:
                    acc_step = 0
                    out_index += 1
                else:
                    acc_step += 1
    else:
        rufactor = min(reuse_factor, n_in * n_out)
        multfactor = min(n_in, reuse_factor)
        multiplier_limit = -(-(n_in * n_out) // multfactor)
        block_factor = -(-(n_in * n_out) // reuse_factor)
        assert multiplier_limit % n_out == 0 or rufactor >= n_in, "The current Reuse Factor is not allowed"
        assert rufactor > n_in and rufactor % n_in == 0, "only for RF > N_IN && RF % N_IN == 0"
        outscale = rufactor // n_in
        outidx, outstep = [], 0
        for ir in range(rufactor):
            outidx.append(outstep)
            if (ir + 1) % n_in == 0:
                outstep += 1
        in_index = 0
        for ir in range(rufactor):
            w_index, out_index = ir, outidx[ir]
            for _ in range(block_factor):
                pairs.append((in_index, out_index, w_index))
                w_index += rufactor
                if w_index >= n_in * n_out:
                    break
                out_index += outscale
            in_index += 1
            if in_index >= n_in:
                in_index = 0
    # acc[out_index] += data[in_index] * w_t[w_index], w_t[out * n_in + in] = W[in][out]
    return [(i_in, w % n_in, w // n_in, j_acc) for i_in, j_acc, w in pairs]


def dense(x: list[int], x_t, weight: list[list[int]], weight_t, bias: list[int], bias_t, accum_t, result_t,
          order: list[tuple[int, int, int, int]]) -> list[int]:
    """``nnet::dense``: each product cast to ``accum_t``, the bias cast to ``accum_t``, every
    ``+=`` an assignment to ``accum_t``, then ``res = (res_T)acc`` (``nnet::cast``)."""
    acc = [assign(value(b, bias_t), accum_t)[0] for b in bias]
    for i, wi, wj, j in order:
        product = assign(value(x[i], x_t) * value(weight[wi][wj], weight_t), accum_t)[0]
        acc[j] = assign(value(acc[j], accum_t) + value(product, accum_t), accum_t)[0]
    return [assign(value(a, accum_t), result_t)[0] for a in acc]


def dense_layer(spec, x: list[int]) -> list[int]:
    """A ``fxsim.ir.DenseSpec`` applied to one sample's codes."""
    order = accumulation_order(spec.n_in, spec.n_out, spec.strategy, spec.reuse_factor)
    return dense(x, spec.input_t, _rows(spec.weight), spec.weight_t, _flat(spec.bias), spec.bias_t,
                 spec.accum_t, spec.result_t, order)


# --- GRU and LSTM ----------------------------------------------------------------------


def _rows(a) -> list[list[int]]:
    return [[int(v) for v in row] for row in a]


def _flat(a) -> list[int]:
    return [int(v) for v in a]


def _add(a: int, b: int, t, dst) -> int:
    return assign(value(a, t) + value(b, t), dst)[0]


def recurrent_layer(spec, x: list[list[int]]) -> tuple[list[list[int]], list[dict[str, list[int]]]]:
    """``nnet::gru_stack`` / ``nnet::lstm_stack`` on one sample ``x[t][j]`` (codes of ``input_t``).

    Returns ``(outputs, steps)``: the layer's output rows (every ``h_t`` with
    ``return_sequences``, else only the last) and, per time step, the named
    quantities of the cell (the names fxsim's trace uses). The state starts at zero
    (``reset_state`` at the first step of every call); ``static`` only moves where
    the state lives (``h_state`` vs the caller's array), not what is computed.
    """
    n, k = spec.n_state, spec.n_gates
    A, R = spec.accum_t, spec.result_t
    recr = Activation(spec.recurrent_activation, spec.table_t, spec.table_size)
    act = Activation(spec.activation, spec.table_t, spec.table_size)
    w, u = _rows(spec.weight), _rows(spec.recurrent_weight)
    b, br = _flat(spec.bias), _flat(spec.recurrent_bias)
    rf = spec.reuse_factor
    order_x = accumulation_order(spec.n_in, k * n, spec.strategy, rf)
    # the recurrent kernel is picked with the layer's reuse factor and runs with the recurrent one
    kernel_h = None if spec.strategy.lower() == "latency" else ("rf_leq_nin" if rf <= n else "rf_gt_nin_rem0")
    order_h = accumulation_order(n, k * n, spec.strategy, spec.recurrent_reuse_factor or rf, kernel_h)
    h = [0] * n
    c = [0] * n
    steps = []
    for x_t in x:
        # nnet::dense<data_T, accum_t> and nnet::dense<res_T, accum_t>: the results stay in accum_t
        zx = dense(x_t, spec.input_t, w, spec.weight_t, b, spec.bias_t, A, A, order_x)
        zh = dense(h, R, u, spec.recurrent_weight_t, br, spec.recurrent_bias_t, A, A, order_h)
        step = {"input_projection": zx, "recurrent_projection": zh}
        if spec.cell == "gru":
            pre = [_add(zx[j], zh[j], A, A) for j in range(2 * n)]  # inputacc_zr
            zr = [recr(p, A, A) for p in pre]  # activation_recr<accum_t, accum_t>
            z, r = zr[:n], zr[n:]
            rh = [assign(value(r[j], A) * value(zh[2 * n + j], A), A)[0] for j in range(n)]  # tmpres_state_h
            hin = [_add(zx[2 * n + j], rh[j], A, A) for j in range(n)]  # inputacc_h
            hc = [act(v, A, A) for v in hin]  # tmpres_h
            # h = (res_T)(hc * (1 - z) + h * z): exact, one cast
            h = [assign(value(hc[j], A) * (1 - value(z[j], A)) + value(h[j], R) * value(z[j], A), R)[0]
                 for j in range(n)]
            step.update(gate_preactivation=pre, z=z, r=r, reset_hidden=rh, candidate_preactivation=hin,
                        candidate=hc, h=h)
        else:
            pre = [_add(zx[j], zh[j], A, A) for j in range(4 * n)]  # inputacc_ifo and inputacc_c
            i_g = [recr(p, A, A) for p in pre[:n]]
            f_g = [recr(p, A, A) for p in pre[n:2 * n]]
            o_g = [recr(p, A, A) for p in pre[3 * n:]]
            g = [act(p, A, A) for p in pre[2 * n:3 * n]]  # tmpres_c
            # s = g * i + s_old * f: exact, one cast to the state type res_T
            c = [assign(value(g[j], A) * value(i_g[j], A) + value(c[j], R) * value(f_g[j], A), R)[0]
                 for j in range(n)]
            s = [act(v, R, A) for v in c]  # activation<res_T, accum_t>
            h = [assign(value(o_g[j], A) * value(s[j], A), R)[0] for j in range(n)]
            step.update(gate_preactivation=pre, i=i_g, f=f_g, o=o_g, candidate=g, c=c, c_activation=s, h=h)
        steps.append(step)
    outputs = [st["h"] for st in steps] if spec.return_sequences else [steps[-1]["h"]]
    return outputs, steps
