"""``estimate`` / ``estimate_ir``: hardware cost before synthesis, as an :class:`Estimate`.

:func:`estimate` converts a Keras/QKeras model through :func:`fxsim.emulate` (the same
conversion as everything else in fxsim) and costs the resulting IR; :func:`estimate_ir`
costs an :class:`~fxsim.model.FxModel` directly. The figures are an analytic model
(:mod:`fxsim.cost.model`, rules and sources in :mod:`fxsim.cost.rules`), not a synthesis:
``uncertainty`` gives the measured estimate/synthesis ratio range on the calibration anchors.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fxsim.cost import rules
from fxsim.cost.devices import Device, get_device
from fxsim.cost.model import LayerCost, _Schedule, layer_cost, pipeline_is_dataflow

RESOURCES = ("lut", "ff", "dsp", "bram_18k")


@dataclass(frozen=True)
class Estimate:
    """Estimated cost of one hls4ml io_parallel design (Vivado/Vitis HLS, before synthesis).

    Attributes
    ----------
    ebops : float
        HGQ's effective bit operations (see :mod:`fxsim.cost.ebops`).
    lut, ff, dsp, bram_18k : float, float, int, int
        Estimated resources (LUT and FF rounded to whole numbers).
    latency_cycles, interval_cycles : int
        Latency and initiation interval in clock cycles.
    latency_ns : float
        ``latency_cycles * clock_period``.
    layers : list of LayerCost
        Per-layer rows with the same fields plus ``name``/``cls``.
    part : str
        The part the estimate is for; ``device`` its resources.
    clock_period : float
        Clock period in ns.
    uncertainty : dict
        ``{resource: (min, max)}``: the estimate/synthesis ratios measured on the anchors
        (``fxsim.cost.rules.ANCHORS``); the true figure of a design like the anchors lies
        about within ``estimate / max .. estimate / min``.
    """

    ebops: float
    lut: float
    ff: float
    dsp: int
    bram_18k: int
    latency_cycles: int
    interval_cycles: int
    latency_ns: float
    layers: list[LayerCost]
    part: str
    device: Device
    clock_period: float
    model_name: str = "model"
    uncertainty: dict = field(default_factory=dict)

    def utilization(self) -> dict[str, float]:
        """Fraction of the device's LUT, FF, DSP and BRAM_18K the design uses."""
        return {r: (getattr(self, r) / getattr(self.device, r) if getattr(self.device, r) else math.inf)
                for r in RESOURCES}

    def fits(self) -> bool:
        """Whether every resource is within the device (utilization at most 100%)."""
        return all(u <= 1.0 for u in self.utilization().values())

    def table(self) -> str:
        """Per-layer rows, the total, and the device utilization, as text."""
        head = ("layer", "class", "EBOPs", "LUT", "FF", "DSP", "BRAM_18K", "latency", "II")
        rows = [(c.name, c.cls + (f" x{c.instances}" if c.instances > 1 else ""), f"{c.ebops:,.0f}", f"{c.lut:,.0f}",
                 f"{c.ff:,.0f}", f"{c.dsp:,}", f"{c.bram_18k:,}", f"{c.latency_cycles:,}", f"{c.interval_cycles:,}")
                for c in self.layers if not _empty(c)]
        rows.append(("total", "", f"{self.ebops:,.0f}", f"{self.lut:,.0f}", f"{self.ff:,.0f}", f"{self.dsp:,}",
                     f"{self.bram_18k:,}", f"{self.latency_cycles:,}", f"{self.interval_cycles:,}"))
        util = self.utilization()
        rows.append((f"% of {self.device.name}", "", "", f"{100 * util['lut']:.1f}%", f"{100 * util['ff']:.1f}%",
                     f"{100 * util['dsp']:.1f}%", f"{100 * util['bram_18k']:.1f}%", "", ""))
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = [f"fxsim estimate: {self.model_name} on {self.part} at {self.clock_period:g} ns "
                 f"(analytic model of hls4ml io_parallel + Vivado HLS; not a synthesis)"]
        for r in [head, *rows]:
            lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        lines.append(f"latency {self.latency_cycles:,} cycles = {self.latency_ns / 1000:.3f} us, "
                     f"interval {self.interval_cycles:,} cycles; fits: {'yes' if self.fits() else 'NO'}")
        if self.uncertainty:
            spread = ", ".join(f"{k} x{lo:.2f}-x{hi:.2f}" for k, (lo, hi) in self.uncertainty.items())
            lines.append(f"estimate/synthesis on the calibration anchors: {spread}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def to_dict(self) -> dict:
        """Everything as JSON-able Python values."""
        return {
            "model": self.model_name, "part": self.part, "device": self.device.to_dict(),
            "clock_period": self.clock_period, "ebops": float(self.ebops), "lut": float(self.lut),
            "ff": float(self.ff), "dsp": int(self.dsp), "bram_18k": int(self.bram_18k),
            "latency_cycles": int(self.latency_cycles), "interval_cycles": int(self.interval_cycles),
            "latency_ns": float(self.latency_ns), "utilization": self.utilization(), "fits": self.fits(),
            "uncertainty": {k: list(v) for k, v in self.uncertainty.items()},
            "layers": [c.to_dict() for c in self.layers],
            "note": "analytic estimate before synthesis (fxsim.cost), not a vendor report",
        }

    def to_json(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_dict` to ``path`` atomically."""
        from fxsim.jsonio import write_json

        return write_json(path, self.to_dict())


def _empty(c: LayerCost) -> bool:
    return not (c.ebops or c.lut or c.ff or c.dsp or c.bram_18k or c.latency_cycles)


def _check_clock(clock_period: Any) -> float:
    if isinstance(clock_period, bool) or not isinstance(clock_period, (int, float)):
        raise ValueError(f"clock_period must be a number of ns, got {clock_period!r}")
    if not math.isfinite(clock_period) or clock_period <= 0:
        raise ValueError(f"clock_period must be a positive number of ns, got {clock_period!r}")
    return float(clock_period)


def estimate_ir(fx_model: Any, *, part: str = rules.ANCHOR_PART, clock_period: float = rules.ANCHOR_CLOCK_NS,
                device: Device | dict | None = None) -> Estimate:
    """The estimate of an :class:`~fxsim.model.FxModel` (io_parallel), from its IR alone.

    Parameters
    ----------
    fx_model : FxModel
        Layers as fxsim IR specs (strategy, reuse factors and ``static`` are read from them).
    part : str
        FPGA part (see :data:`fxsim.cost.devices.PARTS`); ignored when ``device`` is given.
    clock_period : float
        Clock period in ns (> 0).
    device : Device or dict, optional
        The device's resources, for a part fxsim does not know.

    Returns
    -------
    Estimate

    Raises
    ------
    ValueError : unknown part, clock period not positive, a reuse factor hls4ml rejects, a
        strategy without a model.
    """
    from fxsim.model import FxModel

    if not isinstance(fx_model, FxModel):
        raise ValueError(f"estimate_ir wants an fxsim FxModel, got {type(fx_model).__name__}")
    clock = _check_clock(clock_period)
    dev = get_device(part, device)
    _check_io_type(fx_model)
    sched = _Schedule(clock)
    costs = []
    dataflow = pipeline_is_dataflow(fx_model.layers)
    in_shape = None
    for spec, shape in zip(fx_model.layers, fx_model.shapes):
        n_out = 1
        for d in shape:
            n_out *= int(d)
        costs.append(layer_cost(spec, sched, dev, n_out, in_shape=in_shape or tuple(shape), dataflow=dataflow))
        in_shape = tuple(shape)
    # the result is registered at the output port
    from fxsim.cost.model import _Res

    tail = _Res()
    sched.finish(0.0, tail)
    latency = max(1, sched.cycles)
    interval = max(c.interval_cycles for c in costs)
    interval = max(interval, 1)
    tot = {r: sum(getattr(c, r) for c in costs) for r in ("ebops", "lut", "ff", "dsp", "bram_18k")}
    tot["ff"] += fx_model.shapes[-1][-1] * fx_model.output_t.width if fx_model.shapes[-1] else 0
    return Estimate(
        ebops=float(tot["ebops"]), lut=float(round(tot["lut"])), ff=float(round(tot["ff"])), dsp=int(tot["dsp"]),
        bram_18k=int(tot["bram_18k"]), latency_cycles=int(latency), interval_cycles=int(interval),
        latency_ns=float(latency * clock), layers=costs, part=dev.name if device is not None else part,
        device=dev, clock_period=clock, model_name=getattr(fx_model, "name", "model"),
        uncertainty={k: tuple(v) for k, v in rules.ANCHOR_RATIOS.items()},
    )


def _check_io_type(fx_model: Any) -> None:
    """fxsim models io_parallel; an EmulatedModel says what hls4ml was configured with."""
    config = getattr(fx_model, "hls_config", None) or {}
    io_type = None
    if isinstance(config, dict):
        io_type = config.get("IOType") or (config.get("Model") or {}).get("IOType")
    if io_type is not None and str(io_type) != "io_parallel":
        raise ValueError(f"fxsim.cost models io_parallel designs; this model was converted with IOType {io_type!r}")


def estimate(model: Any, precision: Any = None, *, part: str = rules.ANCHOR_PART,
             clock_period: float = rules.ANCHOR_CLOCK_NS, device: Device | dict | None = None,
             **hls4ml_options: Any) -> Estimate:
    """Hardware cost of ``model`` at ``precision`` before synthesis.

    Parameters
    ----------
    model : Keras/QKeras model, path to ``.h5``/``.keras``, or an :class:`~fxsim.model.FxModel`
        A Keras model is converted with :func:`fxsim.emulate` (``precision`` and
        ``hls4ml_options`` as there); an FxModel is costed as it is (``precision`` must be None).
    precision : optional
        Precision spec, as :func:`fxsim.emulate` takes it.
    part : str
        FPGA part, default the anchors' ``xcu250-figd2104-2L-e``.
    clock_period : float
        Clock period in ns, default 5.
    device : Device or dict, optional
        Resources of a part fxsim does not know.
    **hls4ml_options
        ``strategy``, ``reuse_factor``, ``backend``, ... (see :func:`fxsim.emulate`).

    Returns
    -------
    Estimate

    Raises
    ------
    ValueError : bad part/clock/options; precision given with an FxModel.
    ConversionRefused : hls4ml or the doctor refuses the conversion.
    """
    from fxsim.model import FxModel

    clock = _check_clock(clock_period)
    get_device(part, device)  # fail on a bad part before converting
    if isinstance(model, FxModel):
        if precision is not None or hls4ml_options:
            raise ValueError("estimate of an FxModel takes no precision or hls4ml options: they are already in its IR")
        fx = model
    else:
        from fxsim.evaluate import emulate

        fx = emulate(model, precision, **hls4ml_options)
    return estimate_ir(fx, part=part, clock_period=clock, device=device)
