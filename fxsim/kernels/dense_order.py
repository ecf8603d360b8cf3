"""Accumulation orders of hls4ml's dense kernels (``nnet_dense_latency.h``, ``nnet_dense_resource.h``).

An *order* is an int64 array ``[n_terms, 4]`` with columns ``(input index, weight
row, weight column, accumulator index)``, one row per product in the order the C++
loops add them (:func:`dense_order`). An order with zero rows
(:data:`LATENCY_ORDER`) means the Latency order (``ii`` outer, ``jj`` inner), which
the kernels run with faster loops. Weights are in Keras layout ``[n_in, n_out]``
(hls4ml transposes them for the Resource strategy; the order accounts for that).
"""

from __future__ import annotations

import numpy as np

LATENCY_ORDER = np.zeros((0, 4), dtype=np.int64)


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
