"""Doctor rules on data: the emulator's overflow report on the user's inputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from fxsim.doctor.findings import Finding
from fxsim.fixed import FixedType


def data_findings(fx_model: Any, x: np.ndarray, report: Any = None) -> list[Finding]:
    """Findings from the emulator's per-layer overflow report on ``x``.

    Values that do not fit their type become one ``overflow`` warning per layer
    (each quantity with its own wrap/saturate mode); lookup-table indices that fall
    outside a table (``*index_clip``) are clamped to its end entries, which is the
    intended saturation of sigmoid/tanh, and become an ``info`` finding.
    """
    if report is None:
        report = fx_model.overflow_report(x)
    out: list[Finding] = []
    by_layer: dict[str, list] = {}
    for row in report.rows:
        if row.overflowed:
            by_layer.setdefault(row.layer, []).append(row)
    for layer, rows in by_layer.items():
        clipped = [r for r in rows if r.quantity.endswith("index_clip")]
        over = [r for r in rows if r not in clipped]
        if over:
            parts = [f"{r.quantity} {r.overflowed:,} of {r.total:,} {'wrap' if _wraps(r.type) else 'saturate'} "
                     f"in {r.type}" for r in over]
            wraps = any(_wraps(r.type) for r in over)
            out.append(Finding(
                "overflow", "warning", layer,
                f"on the given {report.n_samples:,} samples, values do not fit their types"
                + (" (wrapping flips signs)" if wraps else "") + ": " + "; ".join(parts),
                "add integer bits to the overflowing types (the layer's result/accum, or the input type for "
                "'input')" + (", or give them AP_SAT so overflows saturate instead of wrapping" if wraps else
                              " if the saturated values matter"),
                {r.quantity: {"type": r.type, "overflowed": r.overflowed, "total": r.total} for r in over},
            ))
        if clipped:
            parts = [f"{r.quantity} {r.overflowed:,} of {r.total:,}" for r in clipped]
            out.append(Finding(
                "table-range-clipped", "info", layer,
                "lookup-table inputs outside the table's range are clamped to its end entries "
                "(sigmoid beyond ±8, tanh beyond ±4): " + "; ".join(parts),
                "none needed unless those inputs matter; the table range is fixed by hls4ml",
                {r.quantity: {"type": r.type, "clipped": r.overflowed, "total": r.total} for r in clipped},
            ))
    return out


def _wraps(type_str: str) -> bool:
    try:
        return FixedType.parse(type_str).overflow.name == "WRAP"
    except ValueError:
        return True
