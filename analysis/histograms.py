"""Value ranges against each type's representable range, in the spirit of hls4ml's profiling.

For every traced quantity (each layer's output, every LSTM/GRU internal per time
step, Dense accumulators) and every weight array, two distributions of
``log2 |value|`` are collected:

* the **hardware** values at the point P, from fxsim's trace (what the FPGA holds,
  after every cast, wrap and saturation);
* the **reference** values, the same quantity from fxsim at a generous precision
  (what the value would be without range or resolution limits).

Beside them sit the type's range at P (from its LSB to its largest magnitude), the
number of reference values that overflow it (they wrap or saturate at P), the
number of non-zero reference values below one LSB (lost to resolution), and
the overflow count fxsim measured for that quantity at P where it keeps one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fxsim import ir
from fxsim.fixed import FixedType, count_overflows, from_codes, to_codes

#: ``log2 |x|`` bin edges: one bin per binade from 2**-24 to 2**24.
EDGES = np.arange(-24, 25, dtype=np.float64)

#: Overflow-report quantity behind each traced recurrent internal.
_TRACE_TO_REPORT = {
    "gate_preactivation": "gate_preactivation", "z": "gate", "r": "gate", "i": "gate", "f": "gate", "o": "gate",
    "reset_hidden": "reset_hidden", "candidate_preactivation": "candidate_preactivation",
    "candidate": "candidate", "h": "h", "c": "c", "c_activation": "c_activation",
    "input_projection": "input_accumulator", "recurrent_projection": "recurrent_accumulator",
}


@dataclass
class Histogram:
    """``log2|x|`` histograms of one quantity at P (hardware) and at a generous precision (reference)."""

    layer: str
    quantity: str
    type: FixedType
    hardware: np.ndarray  # counts per EDGES bin (zeros excluded); all zero when not traced
    reference: np.ndarray
    n_values: int
    hardware_zeros: int
    reference_zeros: int
    out_of_range: int  # reference values that overflow the type (after its rounding)
    below_lsb: int  # non-zero reference values smaller than one LSB
    overflow: int | None  # fxsim's overflow count for this quantity at P (None: not counted separately)
    ref_min: float
    ref_max: float

    @property
    def label(self) -> str:
        return f"{self.layer}.{self.quantity}"

    @property
    def range_log2(self) -> tuple[float, float]:
        """``(log2 lsb, log2 max|value|)`` of the type."""
        top = max(abs(self.type.min), abs(self.type.max))
        return -float(self.type.frac), math.log2(top) if top > 0 else -float(self.type.frac)


def _log_hist(values: np.ndarray) -> tuple[np.ndarray, int]:
    a = np.abs(np.asarray(values, dtype=np.float64).ravel())
    nz = a[a > 0]
    counts, _ = np.histogram(np.clip(np.log2(nz), EDGES[0], EDGES[-1] - 1e-9), bins=EDGES)
    return counts, int(a.size - nz.size)


_WIDE = FixedType(60, 24)


def _outside(ref: np.ndarray, t: FixedType) -> int:
    """How many values overflow ``t`` when converted with its rounding mode (exactly, via the fixed core)."""
    huge = np.abs(ref) >= 2.0 ** (_WIDE.integer - 2)
    codes = to_codes(ref[~huge], _WIDE)
    return int(np.count_nonzero(huge)) + count_overflows(codes, _WIDE, t)


def histogram(layer: str, quantity: str, t: FixedType, hardware: np.ndarray, reference: np.ndarray,
              overflow: int | None = None) -> Histogram:
    """One :class:`Histogram` from hardware values at type ``t`` and reference values."""
    ref = np.asarray(reference, dtype=np.float64).ravel()
    hw_counts, hw_zeros = _log_hist(hardware)
    ref_counts, ref_zeros = _log_hist(ref)
    outside = _outside(ref, t)
    tiny = int(np.count_nonzero((ref != 0) & (np.abs(ref) < t.lsb)))
    return Histogram(layer, quantity, t, hw_counts, ref_counts, int(ref.size), hw_zeros, ref_zeros, outside, tiny,
                     overflow, float(ref.min()) if ref.size else 0.0, float(ref.max()) if ref.size else 0.0)


def _report_count(report: dict, layer: str, quantity: str) -> int | None:
    counts = report.get(layer, {})
    if "/" in quantity:
        name = _TRACE_TO_REPORT.get(quantity.split("/", 1)[1])
        return counts.get(name) if name else None
    return counts.get(quantity)


def value_histograms(study, point=None, n_samples: int = 1000) -> list[Histogram]:
    """Histograms of every traced quantity and weight array at ``point`` (default: base).

    Uses the first ``n_samples`` inputs (LSTM/GRU internals are ``n x T x k n_state``).
    """
    space = study.space
    point = point or space.base
    x = study.x[:n_samples]
    fx = study.emulate(point)
    ref_fx = study.emulate(space.generous(None, point))
    _, tr = fx.trace(x)
    _, ref = ref_fx.trace(x)
    report: dict[str, dict[str, int]] = {}
    for row in fx.overflow_report(x).rows:
        report.setdefault(row.layer, {})[row.quantity] = int(row.overflowed)
    out: list[Histogram] = []
    ref_specs = {s.name: s for s in ref_fx.layers}
    for spec in fx.layers:
        r = ref_specs[spec.name]
        for wname in ("weight", "recurrent_weight", "bias", "recurrent_bias"):
            if isinstance(spec, (ir.DenseSpec, ir.RecurrentSpec)) and hasattr(spec, wname):
                if isinstance(spec, ir.RecurrentSpec) and spec.cell == "lstm" and wname == "recurrent_bias":
                    continue
                t, rt = getattr(spec, f"{wname}_t"), getattr(r, f"{wname}_t")
                out.append(histogram(spec.name, wname, t, from_codes(getattr(spec, wname), t),
                                     from_codes(getattr(r, wname), rt)))
        internals = sorted(k for k in tr.types if k.startswith(f"{spec.name}/"))
        # a recurrent layer's output is its last (or every) h, already among its internals
        keys = internals if internals else [spec.name]
        if isinstance(spec, ir.InputSpec):
            codes = to_codes(x, spec.result_t)
            out.append(histogram(spec.name, "result", spec.result_t, from_codes(codes, spec.result_t), x,
                                 report.get(spec.name, {}).get("input")))
            continue
        for key in keys:
            if key not in tr.types or key not in ref:
                continue
            quantity = "result" if key == spec.name else key
            t = tr.types[key]
            if isinstance(spec, ir.DenseSpec) and key == spec.name:
                # the accumulator's final value is the output before its cast to result_t
                # (the trace holds outputs, not accumulators: no hardware values for this row)
                out.append(histogram(spec.name, "accum", spec.accum_t, np.zeros(0), ref[key],
                                     report.get(spec.name, {}).get("accumulator")))
            out.append(histogram(spec.name, quantity if "/" not in quantity else quantity.split("/", 1)[1], t,
                                 tr[key], ref[key], _report_count(report, spec.name, quantity)))
    return out
