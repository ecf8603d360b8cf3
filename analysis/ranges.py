"""The value range each knob has to hold, and the integer bits that range needs.

Ranges are read from one fxsim trace at a generous precision (no overflow, fine
resolution): a layer's result type holds its output (an LSTM/GRU's states ``h`` and
``c`` at every step), an LSTM/GRU accumulator every internal hls4ml keeps in
``accum_t`` (projections, pre-activations, gates, candidate), a Dense accumulator
the final sum (with wrapping accumulation only the final sum has to fit), weights
their values, and lookup-table entries [-1, 1]. The bit selection starts from the
best uniform precision with integer bits trimmed to these ranges
(:func:`trim_integers`), which saves the search a step per surplus bit.
"""

from __future__ import annotations

import math

import numpy as np

from fxsim.analysis.space import Key, Point, Space, make_type
from fxsim import ir
from fxsim.fixed import FixedType, from_codes
from fxsim.kernels.gru import GRU_TRACE
from fxsim.kernels.lstm import LSTM_TRACE

_TRACE_ROLES = {
    "gru": {name: role for name, _, role in GRU_TRACE},
    "lstm": {name: role for name, _, role in LSTM_TRACE},
}


def _span(values: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return lo, hi
    return min(lo, float(v.min())), max(hi, float(v.max()))


def knob_ranges(study, n_samples: int = 2000) -> dict[Key, tuple[float, float]]:
    """``{knob: (min, max)}`` of the values each knob's type must hold, from a generous trace."""
    space: Space = study.space
    x = study.x[:n_samples]
    fx = study.emulate(space.generous())
    _, tr = fx.trace(x)
    out: dict[Key, tuple[float, float]] = {}

    def add(key: Key, values) -> None:
        if key in space.base.types:
            out[key] = _span(values, *out.get(key, (math.inf, -math.inf)))

    for spec in fx.layers:
        name = spec.name
        if isinstance(spec, ir.InputSpec):
            add((name, "result"), x)
            continue
        if isinstance(spec, (ir.DenseSpec, ir.RecurrentSpec)):
            for w in ("weight", "recurrent_weight", "bias", "recurrent_bias"):
                if hasattr(spec, w):
                    add((name, w), from_codes(getattr(spec, w), getattr(spec, f"{w}_t")))
        if isinstance(spec, ir.RecurrentSpec):
            roles = _TRACE_ROLES[spec.cell]
            for key in tr.types:
                if key.startswith(f"{name}/"):
                    role = roles.get(key.split("/", 1)[1])
                    if role in ("accum", "result"):
                        add((name, role), tr[key])
        elif name in tr:
            add((name, "result"), tr[name])
            if isinstance(spec, ir.DenseSpec):
                add((name, "accum"), tr[name])
        if (name, "table_t") in space.base.types:
            add((name, "table_t"), np.array([-1.0, 1.0]))
    return out


def integer_bits_needed(lo: float, hi: float, t: FixedType) -> int:
    """The fewest integer bits (hls4ml's ``I``, sign included) of ``t``'s kind holding ``[lo, hi]``."""
    lsb = t.lsb
    if t.signed:
        top = max(hi + lsb, -lo)  # max code is 2**(I-1) - lsb
        return max(0, math.ceil(math.log2(top)) + 1) if top > 0 else 0
    top = hi + lsb
    return max(0, math.ceil(math.log2(top))) if top > 0 else 0


def trim_integers(space: Space, point: Point, ranges: dict[Key, tuple[float, float]]) -> Point:
    """``point`` with every knob's integer bits lowered (never raised) to what its range needs; fractional bits kept."""
    changes = {}
    for group in space.groups():
        t = point.types[group[0]]
        measured = [k for k in group if k in ranges]
        if not measured:
            continue
        need = max(integer_bits_needed(*ranges[k], t) for k in measured)
        if need < t.integer:
            changes[group[0]] = make_type(t.width - (t.integer - need), need, t)
    return space.with_types(point, changes)
