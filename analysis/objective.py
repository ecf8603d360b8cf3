"""What the per-knob search minimises: total bits, or a figure of fxsim's hardware cost estimate.

:class:`CostModel` estimates the design hls4ml builds at a :class:`~fxsim.analysis.space.Point`
(:func:`fxsim.cost.estimate_ir` on the fxsim IR of that conversion, so the real weight
codes and types), cached by point. :func:`objective` turns a name into the callable
:func:`fxsim.analysis.select.greedy_search` minimises:

* ``ebops``: HGQ's effective bit operations (the field's resource proxy, ≈ LUT + 55·DSP);
* ``lut`` / ``dsp``: the estimated LUTs / DSPs;
* ``bits``: the sum of every type's width (no estimate needed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

from fxsim.analysis.space import Point

#: Objectives of ``fxsim scan --objective`` (the first is the default).
OBJECTIVES = ("ebops", "lut", "dsp", "bits")
#: Estimate attribute of each estimate-based objective.
ESTIMATED = {"ebops": "ebops", "lut": "lut", "dsp": "dsp"}
#: Axis labels of the selection plot.


class CostModel:
    """fxsim's estimate of the design at each point of a study, for one part and clock (cached).

    Parameters
    ----------
    study : fxsim.analysis.study.Study
        Gives the fxsim IR of the conversion at each point (``study.emulate``).
    part : str
        FPGA part (see :data:`fxsim.cost.PARTS`).
    clock_period : float
        Clock period in ns.
    device : fxsim.cost.Device, optional
        Resources of a part fxsim does not know.
    """

    def __init__(self, study: Any, part: str = "xcu250-figd2104-2L-e", clock_period: float = 5.0,
                 device: Any = None):
        from fxsim.cost import get_device

        get_device(part, device)  # an unknown part fails before any search
        self.study, self.part, self.clock_period, self.device = study, part, clock_period, device
        self._cache: dict[str, Any] = {}

    def estimate(self, point: Point):
        """The :class:`fxsim.cost.Estimate` of ``point``."""
        if point.key not in self._cache:
            from fxsim.cost import estimate_ir

            est = estimate_ir(self.study.emulate(point), part=self.part, clock_period=self.clock_period,
                              device=self.device)
            self._cache[point.key] = (point, est)
        return self._cache[point.key][1]

    def estimated(self) -> list[tuple[Point, Any]]:
        """Every point estimated so far, with its estimate."""
        return list(self._cache.values())

    def __contains__(self, point: Point) -> bool:
        return point.key in self._cache


@dataclass(frozen=True)
class Objective:
    """A named cost of a point; ``str()`` is the name (the reports print it)."""

    name: str
    cost: Callable[[Point], float] = field(compare=False)

    def __call__(self, point: Point) -> float:
        return self.cost(point)

    def __str__(self) -> str:
        return self.name


def objective(name: str, study: Any, costs: CostModel | None = None) -> Objective:
    """The objective ``name`` (see :data:`OBJECTIVES`) over the points of ``study``."""
    if name == "bits":
        return Objective(name, study.space.total_bits)
    if name not in ESTIMATED:
        raise ValueError(f"unknown objective {name!r}; valid: {', '.join(OBJECTIVES)}")
    if costs is None:
        raise ValueError(f"objective {name!r} needs a CostModel (the part and clock to estimate for)")
    attr = ESTIMATED[name]
    return Objective(name, lambda p: float(getattr(costs.estimate(p), attr)))
