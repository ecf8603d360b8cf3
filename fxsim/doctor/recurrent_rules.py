"""Doctor rule on the reuse factors of Resource LSTM/GRU layers in the converted ``ModelGraph``.

``recurrent-resource-rf-abort`` (error): hls4ml 1.3.0 accepts the layer, but one of its two
Resource dense kernels is instantiated with a reuse factor that fails an ``assert`` in
``nnet_dense_resource.h`` (the kernel is not correct for that reuse factor, the assert says),
so its own C simulation aborts the calling process. Two hls4ml behaviours lead there:

* ``init_lstm`` / ``init_gru`` (``backends/vivado/vivado_backend.py``) check the ReuseFactor
  with ``set_closest_reuse_factor`` against the layer's ``n_in`` *attribute*, but
  ``recurrent_templates.py`` writes the input dense with ``n_in`` of the input *variable*.
  For a PyTorch module the two differ: hls4ml's parser reads ``n_in`` from a shape whose
  axes the channels-last conversion swaps afterwards, so the attribute holds the time steps.
  A ReuseFactor valid for the real layer can then be "corrected" to one that is not.
* the template picks each kernel (``rf_leq_nin`` / ``rf_gt_nin_rem0``) by comparing the
  layer's ``reuse_factor`` with that dense's ``n_in``, but runs the recurrent dense with
  ``recurrent_reuse_factor``, which hls4ml clipped separately.

Which reuse factors abort is decided once, by the emulator's own kernels
(:func:`fxsim.kernels.recurrent.dense_orders` and :mod:`fxsim.kernels.dense_order`), and
which ones hls4ml keeps unchanged by hls4ml's own ``get_valid_reuse_factors``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fxsim.doctor.findings import Finding


def recurrent_rf_findings(conversion: Any) -> list[Finding]:
    """``recurrent-resource-rf-abort`` findings of a conversion's Resource LSTM/GRU layers."""
    out: list[Finding] = []
    for layer in conversion.hls_model.get_layers():
        if layer.class_name in ("LSTM", "GRU") and str(layer.get_attr("strategy", "")).lower() == "resource":
            out += _resource_rf(layer)
    return out


def _spec(layer: Any):
    from fxsim.frontends.hls4ml import _convert

    try:
        return _convert(layer)
    except ValueError:  # not emulated for another reason: the pipeline's not-emulated finding names it
        return None


def _aborts(spec: Any) -> str | None:
    """The emulator's refusal of ``spec``'s two dense kernels (hls4ml's asserts), or ``None``."""
    from fxsim.kernels.recurrent import dense_orders

    try:
        dense_orders(spec)
    except ValueError as err:
        return str(err)
    return None


def working_reuse_factors(layer: Any, spec: Any | None = None) -> dict[int, tuple[int, int]]:
    """ReuseFactors to request for this Resource LSTM/GRU whose written C++ does not abort.

    Parameters
    ----------
    layer : Any
        the converted hls4ml LSTM/GRU layer.
    spec : RecurrentSpec, optional
        its fxsim spec (read from ``layer`` when not given).

    Returns
    -------
    dict of int to (int, int)
        ``{requested: (reuse_factor, recurrent_reuse_factor)}``, ascending: each ReuseFactor
        hls4ml accepts for either dense (its ``get_valid_reuse_factors`` for the sizes it
        checks, the layer attributes), the two reuse factors hls4ml makes of it
        (``get_closest_reuse_factor``, as ``set_closest_reuse_factor`` does), kept only where
        the emulator's kernels (hls4ml's asserts) accept both dense kernels.
    """
    spec = spec if spec is not None else _spec(layer)
    if spec is None:
        return {}
    backend = layer.model.config.backend
    n_in_attr, n_state_attr = int(layer.get_attr("n_in")), int(layer.get_attr("n_out"))
    k = spec.n_gates
    valid_x = backend.get_valid_reuse_factors(n_in_attr, k * n_state_attr)
    valid_h = backend.get_valid_reuse_factors(n_state_attr, k * n_state_attr)

    def clipped(valid: list[int], rf: int) -> int:
        return rf if rf in valid else int(backend.get_closest_reuse_factor(valid, rf))

    out: dict[int, tuple[int, int]] = {}
    verdict: dict[tuple[int, int], bool] = {}
    for rf in sorted(set(valid_x) | set(valid_h)):
        pair = (clipped(valid_x, rf), clipped(valid_h, rf))
        if pair not in verdict:
            verdict[pair] = _aborts(dataclasses.replace(spec, reuse_factor=pair[0],
                                                        recurrent_reuse_factor=pair[1])) is None
        if verdict[pair]:
            out[rf] = pair
    return out


def _resource_rf(layer: Any) -> list[Finding]:
    spec = _spec(layer)
    if spec is None:
        return []
    err = _aborts(spec)
    if err is None:
        return []
    try:
        requested = int(layer.model.config.get_reuse_factor(layer))
    except Exception:  # no reuse factor in the config: hls4ml's default
        requested = None
    rf, rrf = int(spec.reuse_factor), int(spec.recurrent_reuse_factor or spec.reuse_factor)
    n_in_attr = int(layer.get_attr("n_in"))
    cell = spec.cell.upper()
    k = spec.n_gates
    why = ""
    if requested is not None and (requested, requested) != (rf, rrf):
        why = (f"hls4ml changed the requested ReuseFactor {requested} to reuse_factor {rf} / "
               f"recurrent_reuse_factor {rrf} (set_closest_reuse_factor")
        if n_in_attr != spec.n_in:
            holds = (f"the PyTorch parser's n_in holds the {n_in_attr} time steps" if layer.get_attr("pytorch", False)
                     else "it differs from the input variable's")
            why += (f", which checks the input dense as {n_in_attr}x{k * spec.n_state} from the layer's n_in "
                    f"attribute {n_in_attr}: {holds}, while the C++ input dense has n_in = {spec.n_in} features")
        why += "); "
    working = working_reuse_factors(layer, spec)
    valid = list(working)
    target = requested if requested is not None else rf
    best = min(valid, key=lambda r: (abs(r - target), r)) if valid else None
    above = [r for r in valid if r >= target]
    if best is None:
        fix = f"use Strategy 'Latency' for layer {layer.name!r}: no ReuseFactor works with Resource here"
    else:
        fix = f"set ReuseFactor {best} on layer {layer.name!r}"
        if above and above[0] != best:
            fix += f" (or {above[0]}, the smallest at or above {target})"
        changed = {r: p for r, p in working.items() if p != (r, r)}
        fix += f"; ReuseFactors whose kernels do not abort: {valid}"
        if changed:
            fix += " (hls4ml turns " + ", ".join(f"{r} into {a} / {b}" for r, (a, b) in changed.items()) + \
                " for the input / recurrent dense)"
    return [Finding(
        "recurrent-resource-rf-abort", "error", layer.name,
        f"Resource {cell} (input dense n_in={spec.n_in}, n_out={k * spec.n_state}; recurrent dense "
        f"n_in={spec.n_state}, n_out={k * spec.n_state}): {why}the written C++ fails an assert in "
        f"nnet_dense_resource.h that says the kernel is not correct for this reuse factor, so hls4ml 1.3.0's "
        f"C simulation aborts the process (a ctypes call Python cannot catch); fxsim refuses it: {err}",
        fix,
        {"requested_reuse_factor": requested, "reuse_factor": rf, "recurrent_reuse_factor": rrf,
         "n_in": spec.n_in, "n_in_attribute": n_in_attr, "n_state": spec.n_state, "n_out": k * spec.n_state,
         "valid": valid, "suggested": best},
    )]
