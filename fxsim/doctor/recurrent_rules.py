"""Doctor rule on the reuse factors of Resource LSTM/GRU layers in the converted ``ModelGraph``.

``recurrent-resource-rf-abort`` (error): hls4ml 1.3.0 accepts the layer, but one of its
Resource dense kernels is instantiated with a reuse factor that fails an ``assert`` in
``nnet_dense_resource.h`` (the kernel is not correct for that reuse factor, the assert says),
so its own C simulation aborts the calling process. Each recurrent cell has an input dense
(``n_in x k*n_state``) and a recurrent dense (``n_state x k*n_state``); hls4ml checks the
requested ReuseFactor against sizes of its own (``get_layer_mult_size``) and the templates
(``backends/vivado/passes/recurrent_templates.py``) pick each kernel (``rf_leq_nin`` /
``rf_gt_nin_rem0``) with one reuse factor and run it with another:

* ``LSTM`` / ``GRU`` (``init_lstm`` / ``init_gru``): the input dense runs with
  ``reuse_factor``, the recurrent one with ``recurrent_reuse_factor`` (clipped separately by
  ``set_closest_reuse_factor``), both kernels picked with ``reuse_factor``. The check uses
  the layer's ``n_in`` *attribute*, the C++ the input *variable*; for a PyTorch module the
  attribute holds the time steps (the parser reads the shape before the channels-last swap).
* ``Bidirectional`` (``init_bidirectional``): each direction ``d`` clips the request into
  ``<d>_reuse_factor`` and ``<d>_recurrent_reuse_factor`` against ``n_in x 3*n_states`` and
  ``n_states x 3*n_states`` (``get_layer_mult_size`` multiplies by 3 for LSTM too, not 4);
  the input dense then runs with the layer's *unclipped* ``reuse_factor``, the recurrent one
  with ``<d>_recurrent_reuse_factor``, both kernels picked with ``<d>_reuse_factor``.

Everything here is read from the converted layer and from hls4ml's own functions
(``get_layer_mult_size``, ``get_valid_reuse_factors``, ``get_closest_reuse_factor``); whether
a dense kernel's ``assert`` fails is decided once, by the emulator's
:func:`fxsim.kernels.dense_order.dense_order` for the kernel the template picks. No fxsim
spec is built, so a layer the emulator refuses for this reason (including a Bidirectional
direction whose two reuse factors pick different kernels) still gets this finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fxsim.doctor.findings import Finding

DIRECTIONS = ("forward", "backward")


@dataclass(frozen=True)
class CellKernels:
    """One recurrent cell's two Resource dense kernels as ``recurrent_templates.py`` writes them.

    Attributes
    ----------
    label : str
        the layer name, with ``/forward`` or ``/backward`` for a Bidirectional direction.
    cell : str
        ``"lstm"`` or ``"gru"``.
    n_in, n_state : int
        the C++ sizes: features of the input variable, state size.
    reuse_factor : int
        the reuse factor the input dense runs with.
    recurrent_reuse_factor : int
        the reuse factor the recurrent dense runs with.
    kernel_reuse_factor : int
        the reuse factor each kernel is picked with (``<= n_in``: ``rf_leq_nin``).
    """

    label: str
    cell: str
    n_in: int
    n_state: int
    reuse_factor: int
    recurrent_reuse_factor: int
    kernel_reuse_factor: int

    @property
    def direction(self) -> str:
        """``"forward"`` / ``"backward"`` for a Bidirectional direction, else ``""``."""
        return self.label.rsplit("/", 1)[1] if "/" in self.label else ""

    @property
    def n_out(self) -> int:
        return (4 if self.cell == "lstm" else 3) * self.n_state

    def abort(self) -> str | None:
        """The failing ``assert`` of either dense (the emulator's refusal), or ``None``."""
        from fxsim.kernels.dense_order import dense_order

        pick = self.kernel_reuse_factor
        for n_in, rf in ((self.n_in, self.reuse_factor), (self.n_state, self.recurrent_reuse_factor)):
            kernel = "rf_leq_nin" if pick <= n_in else "rf_gt_nin_rem0"
            try:
                dense_order(n_in, self.n_out, "resource", rf, kernel=kernel)
            except ValueError as err:
                picked = "" if (pick <= n_in) == (rf <= n_in) else \
                    f" (kernel {kernel} picked with reuse factor {pick}, run with {rf})"
                return f"layer {self.label!r} ({self.cell.upper()}): {err}{picked}"
        return None


def recurrent_rf_findings(conversion: Any) -> list[Finding]:
    """``recurrent-resource-rf-abort`` findings of a conversion's Resource LSTM/GRU/Bidirectional layers."""
    out: list[Finding] = []
    for layer in conversion.hls_model.get_layers():
        if _is_resource_recurrent(layer):
            out += _resource_rf(layer)
    return out


def _is_resource_recurrent(layer: Any) -> bool:
    if str(layer.get_attr("strategy", "")).lower() != "resource":
        return False
    if layer.class_name == "Bidirectional":
        return all(str(layer.get_attr(f"{d}_class_name", "")).upper() in ("LSTM", "GRU") for d in DIRECTIONS)
    return layer.class_name in ("LSTM", "GRU")


def cell_kernels(layer: Any, requested: int | None = None) -> tuple[CellKernels, ...]:
    """The Resource dense kernels of a converted LSTM/GRU/Bidirectional layer, one entry per cell.

    Parameters
    ----------
    layer : Any
        the converted hls4ml layer (Strategy Resource).
    requested : int, optional
        a ReuseFactor to request instead: the kernels are those hls4ml would write for it
        (``get_closest_reuse_factor`` against the sizes of ``get_layer_mult_size``, as
        ``set_closest_reuse_factor`` does); by default those of the layer as converted.

    Returns
    -------
    tuple of CellKernels
        one for an LSTM/GRU, ``(forward, backward)`` for a Bidirectional layer.
    """
    n_in = int(layer.get_input_variable().shape[1])  # recurrent_templates.py: the input variable
    if layer.class_name != "Bidirectional":
        n_state = int(layer.get_output_variable().shape[-1])
        cell = layer.class_name.lower()
        if requested is None:
            rf = int(layer.get_attr("reuse_factor"))
            rrf = int(layer.get_attr("recurrent_reuse_factor", rf))
        else:
            (valid_x, valid_h), = _valid(layer)
            rf, rrf = _clipped(layer, valid_x, requested), _clipped(layer, valid_h, requested)
        return (CellKernels(layer.name, cell, n_in, n_state, rf, rrf, rf),)
    out = []
    for d, (valid_x, valid_h) in zip(DIRECTIONS, _valid(layer)):
        cell = str(layer.get_attr(f"{d}_class_name")).lower()
        n_state = int(layer.get_attr(f"{d}_n_states"))
        if requested is None:
            rf = int(layer.get_attr("reuse_factor"))
            d_rf = int(layer.get_attr(f"{d}_reuse_factor", rf))
            d_rrf = int(layer.get_attr(f"{d}_recurrent_reuse_factor", d_rf))
        else:
            rf = requested
            d_rf, d_rrf = _clipped(layer, valid_x, requested), _clipped(layer, valid_h, requested)
        out.append(CellKernels(f"{layer.name}/{d}", cell, n_in, n_state, rf, d_rrf, d_rf))
    return tuple(out)


def _checked_sizes(layer: Any) -> list[tuple[int, int, int, int]]:
    """``(n_in, n_out, n_in_recr, n_out_recr)`` per cell: the sizes hls4ml checks the ReuseFactor against."""
    sizes = layer.model.config.backend.get_layer_mult_size(layer)
    return [tuple(int(v) for v in s) for s in (sizes if layer.class_name == "Bidirectional" else [sizes])]


def _valid(layer: Any) -> list[tuple[list[int], list[int]]]:
    """hls4ml's valid reuse factors for each cell's input and recurrent dense, at the sizes it checks."""
    backend = layer.model.config.backend
    return [(backend.get_valid_reuse_factors(n_in, n_out), backend.get_valid_reuse_factors(n_recr, n_out_recr))
            for n_in, n_out, n_recr, n_out_recr in _checked_sizes(layer)]


def _clipped(layer: Any, valid: list[int], rf: int) -> int:
    return rf if rf in valid else int(layer.model.config.backend.get_closest_reuse_factor(valid, rf))


def _candidates(layer: Any) -> list[int]:
    """Every ReuseFactor hls4ml accepts for one of the layer's dense kernels, ascending.

    Its ``get_valid_reuse_factors`` for the sizes it checks, and for each C++ input dense
    (a Bidirectional layer runs it with the request itself).
    """
    backend = layer.model.config.backend
    out = {rf for pair in _valid(layer) for valid in pair for rf in valid}
    for cell in cell_kernels(layer):
        out |= set(backend.get_valid_reuse_factors(cell.n_in, cell.n_out))
    return sorted(out)


def working_reuse_factors(layer: Any, direction: str | None = None) -> dict[int, tuple[CellKernels, ...]]:
    """ReuseFactors to request for this Resource LSTM/GRU/Bidirectional whose written C++ does not abort.

    Parameters
    ----------
    layer : Any
        the converted hls4ml layer.
    direction : str, optional
        ``"forward"`` or ``"backward"``: judge only that direction of a Bidirectional layer
        (the layer has one ReuseFactor for both; by default both must work).

    Returns
    -------
    dict of int to tuple of CellKernels
        ``{requested: kernels}``, ascending over :func:`_candidates`, with the kernels
        hls4ml writes for each request (:func:`cell_kernels`), kept only where no
        kernel's ``assert`` fails.
    """
    out: dict[int, tuple[CellKernels, ...]] = {}
    for rf in _candidates(layer):
        kernels = cell_kernels(layer, rf)
        judged = [c for c in kernels if direction in (None, c.direction)]
        if all(cell.abort() is None for cell in judged):
            out[rf] = kernels
    return out


def _requested(layer: Any) -> int | None:
    try:
        return int(layer.model.config.get_reuse_factor(layer))
    except Exception:  # no reuse factor in the config: hls4ml's default
        return None


def _joined(cells: tuple[CellKernels, ...], texts: list[str | None]) -> str:
    """One text per cell, said once when a Bidirectional layer's two directions share it."""
    named = [(cell, text) for cell, text in zip(cells, texts) if text]
    if len(cells) > 1 and len(named) == len(cells) and len(set(texts)) == 1:
        return f"both directions: {texts[0]}"
    return "; ".join(f"{cell.direction}: {text}" if cell.direction else text for cell, text in named)


def _why_changed(layer: Any, cells: tuple[CellKernels, ...], requested: int | None) -> str:
    """How hls4ml turned the requested ReuseFactor into the ones the kernels get (or ``""``)."""
    if requested is None:
        return ""
    texts: list[str | None] = []
    for cell, (n_in_chk, n_out_chk, n_recr, n_out_recr) in zip(cells, _checked_sizes(layer)):
        if (cell.reuse_factor, cell.recurrent_reuse_factor, cell.kernel_reuse_factor) == (requested,) * 3:
            texts.append(None)
            continue
        text = (f"the input dense runs with {cell.reuse_factor}, the recurrent dense with "
                f"{cell.recurrent_reuse_factor}, both kernels picked with {cell.kernel_reuse_factor} "
                f"(set_closest_reuse_factor against {n_in_chk}x{n_out_chk} and {n_recr}x{n_out_recr}")
        if n_out_chk != cell.n_out:
            text += (f": hls4ml's get_layer_mult_size sizes a Bidirectional {cell.cell.upper()}'s dense at "
                     f"3x{cell.n_state} outputs, the C++ dense has {cell.n_out}")
        if n_in_chk != cell.n_in:
            holds = (f"the PyTorch parser's n_in holds the {n_in_chk} time steps" if layer.get_attr("pytorch", False)
                     else "it differs from the input variable's")
            text += (f"; it checks the input dense from the layer's n_in attribute {n_in_chk}: {holds}, "
                     f"while the C++ input dense has n_in = {cell.n_in} features")
        if cell.direction:
            text += "; the input dense runs with the layer's reuse_factor, which hls4ml does not clip"
        texts.append(text + ")")
    said = _joined(cells, texts)
    return f"hls4ml turned the requested ReuseFactor {requested} into: {said}; " if said else ""


def _fix(layer: Any, working: dict[int, tuple[CellKernels, ...]], target: int) -> str:
    valid = list(working)
    if not valid:
        return f"use Strategy 'Latency' for layer {layer.name!r}: no ReuseFactor works with Resource here"
    best = min(valid, key=lambda r: (abs(r - target), r))
    above = [r for r in valid if r >= target]
    fix = f"set ReuseFactor {best} on layer {layer.name!r}"
    if above and above[0] != best:
        fix += f" (or {above[0]}, the smallest at or above {target})"
    fix += f"; ReuseFactors whose kernels do not abort: {valid}"
    changed = []
    for rf, cells in working.items():
        texts = [None if (c.reuse_factor, c.recurrent_reuse_factor) == (rf, rf)
                 else f"{c.reuse_factor} / {c.recurrent_reuse_factor}" for c in cells]
        said = _joined(cells, texts)
        if said:
            what = said.removeprefix("both directions: ") if "; " not in said else f"({said})"
            changed.append(f"{rf} into {what}")
    if changed:
        fix += " (hls4ml turns " + ", ".join(changed) + " for the input / recurrent dense)"
    return fix


def _resource_rf(layer: Any) -> list[Finding]:
    cells = cell_kernels(layer)
    errors = [cell.abort() for cell in cells]
    if not any(errors):
        return []
    requested = _requested(layer)
    working = working_reuse_factors(layer)
    target = requested if requested is not None else cells[0].reuse_factor
    valid = list(working)
    best = min(valid, key=lambda r: (abs(r - target), r)) if valid else None
    shapes = _joined(cells, [f"{cell.cell.upper()} input dense n_in={cell.n_in}, n_out={cell.n_out}; recurrent "
                             f"dense n_in={cell.n_state}, n_out={cell.n_out}" for cell in cells])
    details: dict[str, Any] = {
        "requested_reuse_factor": requested, "n_in": cells[0].n_in, "n_in_attribute": int(layer.get_attr("n_in")),
        "valid": valid, "suggested": best,
    }
    if len(cells) > 1:
        details["directions"] = {
            cell.direction: {
                "cell": cell.cell, "n_state": cell.n_state, "n_out": cell.n_out, "reuse_factor": cell.reuse_factor,
                "kernel_reuse_factor": cell.kernel_reuse_factor,
                "recurrent_reuse_factor": cell.recurrent_reuse_factor, "aborts": err is not None,
                # the requests this direction alone survives (the layer has one ReuseFactor for both)
                "valid": list(working_reuse_factors(layer, cell.direction)),
            } for cell, err in zip(cells, errors)}
    else:
        (cell,) = cells
        details.update(reuse_factor=cell.reuse_factor, recurrent_reuse_factor=cell.recurrent_reuse_factor,
                       n_state=cell.n_state, n_out=cell.n_out)
    refusal = _joined(cells, [err.split(": ", 1)[1] if err else None for err in errors])
    return [Finding(
        "recurrent-resource-rf-abort", "error", layer.name,
        f"Resource {layer.class_name} ({shapes}): {_why_changed(layer, cells, requested)}the written C++ fails an "
        f"assert in nnet_dense_resource.h that says the kernel is not correct for this reuse factor, so hls4ml "
        f"1.3.0's C simulation aborts the process (a ctypes call Python cannot catch); fxsim refuses it: {refusal}",
        _fix(layer, working, target),
        details,
    )]
