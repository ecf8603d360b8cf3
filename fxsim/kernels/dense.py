"""``nnet::dense`` (io_parallel) on raw codes: per-product casts, exact accumulation order.

Emulates ``nnet_dense_latency.h`` (``dense_latency``) and ``nnet_dense_resource.h``
(``dense_resource_rf_leq_nin``, ``dense_resource_rf_gt_nin_rem0``), with the
default ``nnet::product::mult``::

    acc[j] = accum_t(bias[j])
    for each term (i, j) in the kernel's order:
        acc[j] = accum_t(acc[j] + accum_t(x[i] * w[i, j]))    # every product cast, every sum cast
    res[j] = res_t(acc[j])

Weights are always in Keras layout ``[n_in, n_out]`` here (hls4ml transposes them for
the Resource strategy; the order array accounts for that). The order only changes
results when ``accum_t`` saturates, but it always decides which steps overflow.

An *order* is an int64 array ``[n_terms, 4]`` with columns ``(input index, weight
row, weight column, accumulator index)``, one row per product in the order the C++
loops add them (:func:`dense_order`). An order with zero rows means the Latency
order (``ii`` outer, ``jj`` inner) and takes a faster loop.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from fxsim.fixed import (
    FixedType,
    Overflow,
    Rounding,
    cast,
    count_overflows,
    requantize,
    round_shift_branchless,
    saturate,
    wrap_signed,
)

#: Columns of the per-sample overflow counters filled by :func:`dense_batch`.
DENSE_COUNTERS = ("product", "accumulator", "result")

LATENCY_ORDER = np.zeros((0, 4), dtype=np.int64)

# Rounding and overflow mode numbers (``FixedType.spec``) the fast accumulation loop handles.
TRN = int(Rounding.TRN)
RND = int(Rounding.RND)
RND_CONV = int(Rounding.RND_CONV)
WRAP = int(Overflow.WRAP)
SAT = int(Overflow.SAT)


def dense_order(n_in: int, n_out: int, strategy: str = "latency", reuse_factor: int = 1,
                kernel: str | None = None) -> np.ndarray:
    """The accumulation order of hls4ml's dense kernel for ``(n_in, n_out, strategy, RF)``.

    Parameters
    ----------
    n_in, n_out : layer size.
    strategy : ``"latency"`` or ``"resource"`` (case-insensitive).
    reuse_factor : the layer's final ``reuse_factor`` (after hls4ml's
        ``set_closest_reuse_factor``).
    kernel : force ``"rf_leq_nin"`` or ``"rf_gt_nin_rem0"`` (hls4ml's recurrent templates
        pick the recurrent kernel with the layer's ``reuse_factor`` but run it with
        ``recurrent_reuse_factor``); by default chosen from ``reuse_factor <= n_in``.

    Returns
    -------
    order : int64 ``[n_in * n_out, 4]``, rows ``(in_index, w_row, w_col, acc_index)``.

    The kernel is picked as ``core_templates.py`` does: Resource with ``RF <= n_in``
    runs ``dense_resource_rf_leq_nin``, otherwise ``dense_resource_rf_gt_nin_rem0``.
    Settings whose C++ ``assert`` would abort the C simulation raise ``ValueError``.
    """
    n_in, n_out, rf = int(n_in), int(n_out), int(reuse_factor)
    if n_in < 1 or n_out < 1:
        raise ValueError(f"dense layer size must be positive, got n_in={n_in}, n_out={n_out}")
    if rf < 1:
        raise ValueError(f"reuse_factor must be >= 1, got {reuse_factor!r}")
    kind = str(strategy).lower()
    if kind == "latency":
        rows = [(ii, ii, jj, jj) for ii in range(n_in) for jj in range(n_out)]
    elif kind == "resource":
        kernel = kernel or ("rf_leq_nin" if rf <= n_in else "rf_gt_nin_rem0")
        if kernel == "rf_leq_nin":
            triples = _resource_leq_nin(n_in, n_out, rf)
        elif kernel == "rf_gt_nin_rem0":
            triples = _resource_gt_nin_rem0(n_in, n_out, rf)
        else:
            raise ValueError(f"unknown dense resource kernel {kernel!r}; expected 'rf_leq_nin' or 'rf_gt_nin_rem0'")
        # hls4ml transposed the weights to [n_out][n_in]; map back to Keras [n_in][n_out]
        rows = [(i_in, w % n_in, w // n_in, j_acc) for i_in, w, j_acc in triples]
    else:
        raise ValueError(
            f"dense strategy {strategy!r} is not emulated; fxsim supports 'latency' and 'resource'"
        )
    order = np.array(rows, dtype=np.int64).reshape(-1, 4)
    if order.shape[0] != n_in * n_out or len({(r[1], r[2]) for r in rows}) != n_in * n_out:
        raise ValueError(
            f"Resource dense {n_in}x{n_out} with reuse_factor {rf} does not use every weight once in "
            "hls4ml's loops; this reuse factor is not valid for the layer"
        )
    return order


def _div_roundup(a: int, b: int) -> int:
    return (a + b - 1) // b


def _resource_leq_nin(nin: int, nout: int, rf: int) -> list[tuple[int, int, int]]:
    # dense_resource_rf_leq_nin, nnet_dense_resource.h:12-84
    multfactor = min(nin, rf)
    multiplier_limit = _div_roundup(nin * nout, multfactor)
    block_factor = _div_roundup(nin * nout, rf)
    multscale = multiplier_limit // nout
    if not (multiplier_limit % nout == 0 or rf >= nin) or multiplier_limit != block_factor:
        raise ValueError(
            f"Resource dense {nin}x{nout}: reuse_factor {rf} trips hls4ml's assert "
            "'The current Reuse Factor is not allowed' (the C simulation would abort)"
        )
    out = []
    for ir in range(rf):
        w_index, in_index, out_index, acc_step = ir, ir, 0, 0
        for _ in range(block_factor):
            out.append((in_index, w_index, out_index))
            w_index += rf
            in_index += rf
            if in_index >= nin:
                in_index = ir
            if acc_step + 1 >= multscale:
                acc_step = 0
                out_index += 1
            else:
                acc_step += 1
    return out


def _resource_gt_nin_rem0(nin: int, nout: int, rf: int) -> list[tuple[int, int, int]]:
    # dense_resource_rf_gt_nin_rem0, nnet_dense_resource.h:86-166
    rufactor = min(rf, nin * nout)
    multfactor = min(nin, rf)
    multiplier_limit = _div_roundup(nin * nout, multfactor)
    block_factor = _div_roundup(nin * nout, rf)
    if not (multiplier_limit % nout == 0 or rufactor >= nin) or not (rufactor > nin and rufactor % nin == 0):
        raise ValueError(
            f"Resource dense {nin}x{nout}: reuse_factor {rf} trips hls4ml's assert 'This function is "
            "correct only for RF > N_IN && RF % N_IN == 0' (the C simulation would abort)"
        )
    outscale = rufactor // nin
    outidx, outstep = [], 0
    for ir in range(rufactor):
        outidx.append(outstep)
        if (ir + 1) % nin == 0:
            outstep += 1
    out = []
    in_index = 0
    for ir in range(rufactor):
        w_index, out_index = ir, outidx[ir]
        for _ in range(block_factor):
            out.append((in_index, w_index, out_index))
            w_index += rufactor
            if w_index >= nin * nout:
                break
            out_index += outscale
        in_index += 1
        if in_index >= nin:
            in_index = 0
    return out


def bias_to_accum(bias: np.ndarray, bias_t: FixedType, accum_t: FixedType) -> tuple[np.ndarray, int]:
    """``(accum_t)biases[j]``: bias codes recast to ``accum_t``, and how many overflowed."""
    b = np.ascontiguousarray(np.asarray(bias, dtype=np.int64))
    return cast(b, bias_t, accum_t), count_overflows(b, bias_t, accum_t)


@nb.njit(cache=True, inline="always")
def _mac_row(acc, xi, w_row, d, rnd, conv, wrap, sh, lo, hi):
    """``acc[j] = accum_t(acc[j] + accum_t(xi * w_row[j]))`` for every ``j`` of one input.

    For a signed ``accum_t`` of ``64 - sh`` bits (codes ``[lo, hi]``) that wraps (``wrap``)
    or saturates, products rounded by :func:`~fxsim.fixed.round_shift_branchless`.
    Returns the product and accumulator overflow counts.
    """
    n_prod = 0
    n_acc = 0
    if wrap:
        for j in range(acc.shape[0]):
            p = round_shift_branchless(xi * w_row[j], d, rnd, conv)
            pc = wrap_signed(p, sh)
            s = acc[j] + pc
            sc = wrap_signed(s, sh)
            n_prod += pc != p
            n_acc += sc != s
            acc[j] = sc
    else:
        for j in range(acc.shape[0]):
            p = round_shift_branchless(xi * w_row[j], d, rnd, conv)
            pc = saturate(p, lo, hi)
            s = acc[j] + pc
            sc = saturate(s, lo, hi)
            n_prod += pc != p
            n_acc += sc != s
            acc[j] = sc
    return n_prod, n_acc


@nb.njit(cache=True)
def dense_accumulate(x, x_frac, weight, w_frac, bias_acc, order, accum, acc, counts):
    """One sample of ``nnet::dense`` up to (not including) the final cast.

    Parameters
    ----------
    x : int64 ``[n_in]`` input codes (``x_frac`` fractional bits).
    x_frac : fractional bits of the input type.
    weight : int64 ``[n_in, n_out]`` weight codes, Keras layout.
    w_frac : fractional bits of ``weight_t``.
    bias_acc : int64 ``[n_out]`` biases already in ``accum_t`` (:func:`bias_to_accum`).
    order : int64 ``[n_terms, 4]`` from :func:`dense_order`, or ``[0, 4]`` for the Latency order.
    accum : ``accum_t.spec`` tuple ``(W, F, signed, rounding, overflow)``.
    acc : int64 ``[n_out]`` output: the accumulators, ``accum_t`` codes.
    counts : int64 array; ``counts[0] +=`` products that overflowed ``accum_t``,
        ``counts[1] +=`` accumulations that overflowed it.
    """
    aw, af, asg, ar, ao = accum
    pf = x_frac + w_frac  # fractional bits of the exact product
    n_in, n_out = weight.shape
    for j in range(n_out):
        acc[j] = bias_acc[j]
    n_prod = 0
    n_acc = 0
    d = pf - af
    rnd = np.int64(ar == RND)
    conv = np.int64(ar == RND_CONV)
    if (order.shape[0] == 0 and asg and aw > 1 and (ao == WRAP or ao == SAT)
            and (d == 0 or (0 < d <= 62 and (ar == TRN or rnd or conv)))):
        # The common types (signed accum_t, TRN/RND/RND_CONV or exact products, WRAP or SAT) as
        # loops without branches on the data, which the compiler vectorises; the core's casts.
        sh = 64 - aw
        hi = (np.int64(1) << (aw - 1)) - 1
        lo = -hi - 1
        wrap = ao == WRAP
        for i in range(n_in):
            if d == 0 or ar == TRN:  # literal zeros: the rounding terms fold away
                o1, o2 = _mac_row(acc, x[i], weight[i], d, 0, 0, wrap, sh, lo, hi)
            else:
                o1, o2 = _mac_row(acc, x[i], weight[i], d, rnd, conv, wrap, sh, lo, hi)
            n_prod += o1
            n_acc += o2
    elif order.shape[0] == 0:
        for i in range(n_in):
            xi = x[i]
            for j in range(n_out):
                p, o1 = requantize(xi * weight[i, j], pf, af, aw, asg, ar, ao)
                s, o2 = requantize(acc[j] + p, af, af, aw, asg, ar, ao)
                acc[j] = s
                n_prod += o1
                n_acc += o2
    else:
        for t in range(order.shape[0]):
            j = order[t, 3]
            p, o1 = requantize(x[order[t, 0]] * weight[order[t, 1], order[t, 2]], pf, af, aw, asg, ar, ao)
            s, o2 = requantize(acc[j] + p, af, af, aw, asg, ar, ao)
            acc[j] = s
            n_prod += o1
            n_acc += o2
    counts[0] += n_prod
    counts[1] += n_acc


@nb.njit(cache=True)
def cast_vector(src, src_frac, dst, out):
    """``out[k] = dst(src[k])`` for codes with ``src_frac`` fractional bits; returns the overflow count.

    ``dst`` is a ``FixedType.spec`` tuple.
    """
    dw, df, ds, dr, do = dst
    n_over = 0
    for k in range(src.shape[0]):
        c, o = requantize(src[k], src_frac, df, dw, ds, dr, do)
        out[k] = c
        n_over += o
    return n_over


@nb.njit(cache=True, parallel=True)
def dense_batch(x, x_frac, weight, w_frac, bias_acc, order, accum, result, out, counts):
    """``nnet::dense`` for a batch: ``out[n, n_out] = result_t(dense(x[n, n_in]))``.

    ``accum``/``result`` are ``FixedType.spec`` tuples; ``counts[n, 3]`` receives per
    sample the overflow counts named in ``DENSE_COUNTERS`` (product, accumulator, result).
    Parallel over samples.
    """
    n = x.shape[0]
    n_out = weight.shape[1]
    for s in nb.prange(n):
        acc = np.empty(n_out, dtype=np.int64)
        dense_accumulate(x[s], x_frac, weight, w_frac, bias_acc, order, accum, acc, counts[s])
        counts[s, 2] += cast_vector(acc, accum[1], result, out[s])


@nb.njit(cache=True, parallel=True)
def scale_batch(x, x_frac, scale, scale_frac, bias, bias_frac, result, out, counts):
    """``nnet::normalize`` (hls4ml's ``ApplyAlpha``): ``out = result_t(x * scale + bias)`` per element.

    The product and the sum are exact (C++ expression types); one cast at the end.
    ``counts[n, 1]`` receives the result overflows per sample.
    """
    rw, rf, rs, rr, ro = result
    pf = x_frac + scale_frac
    f = pf if pf > bias_frac else bias_frac
    for s in nb.prange(x.shape[0]):
        n_over = 0
        for k in range(x.shape[1]):
            v = ((x[s, k] * scale[k]) << (f - pf)) + (bias[k] << (f - bias_frac))
            c, o = requantize(v, f, rf, rw, rs, rr, ro)
            out[s, k] = c
            n_over += o
        counts[s, 0] += n_over
