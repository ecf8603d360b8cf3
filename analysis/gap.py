"""Where the accuracy goes: the metric drop float → QKeras → hardware, by layer and by source.

For a precision point P the hardware metric is compared with two counterfactuals
per layer (and per source):

* **recovered**: everything at P except this layer's types, which are made
  generous (:data:`~fxsim.analysis.space.GENEROUS`, tables at a generous type and size);
  the metric that comes back is what this layer costs in the presence of the others;
* **alone**: everything generous except this layer, which stays at P; the metric
  lost is what this layer costs on its own.

Sources are groups of knobs across layers: input quantization, weights (and
biases), accumulators, results/states, lookup tables (type and size); the
*overflow* source widens (recovered) or keeps (alone) only the integer bits of
every type, with the fractional bits at P (recovered) or generous (alone).

Knobs hls4ml ties together (an LSTM's input, accumulator and result types) always
move together; a row that touches one of them touches all, and says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from fxsim.analysis.space import GENEROUS_TABLE_SIZE, SOURCES, Key, Point, Space, source_knobs


@dataclass(frozen=True)
class GapRow:
    """One layer or source: the metric with it generous (rest at P) and with only it at P (rest generous)."""

    name: str
    kind: str
    knobs: tuple[str, ...]
    recovered_metric: float
    alone_metric: float
    hardware_metric: float
    generous_metric: float
    tied: tuple[str, ...] = ()

    @property
    def recovered(self) -> float:
        """Metric gained when this layer/source is made generous."""
        return self.recovered_metric - self.hardware_metric

    @property
    def alone(self) -> float:
        """Metric lost when only this layer/source is at P."""
        return self.generous_metric - self.alone_metric


@dataclass
class Gap:
    """The decomposition of one point's gap (see the module docstring)."""

    metric: str
    point: Point
    float_metric: float
    qkeras_metric: float | None
    hardware_metric: float
    generous_metric: float
    layers: list[GapRow]
    sources: list[GapRow]
    overflows: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def stages(self) -> list[tuple[str, float, float | None]]:
        """``(stage, metric, change from the previous stage)`` for float, QKeras, hardware."""
        rows: list[tuple[str, float, float | None]] = [("float (Keras)", self.float_metric, None)]
        prev = self.float_metric
        if self.qkeras_metric is not None:
            rows.append(("QKeras", self.qkeras_metric, self.qkeras_metric - prev))
            prev = self.qkeras_metric
        rows.append(("hardware (fxsim)", self.hardware_metric, self.hardware_metric - prev))
        rows.append(("hardware, all types generous", self.generous_metric, None))
        return rows


def _closure(space: Space, keys: Iterable[Key]) -> list[Key]:
    out: dict[Key, None] = {}
    for k in keys:
        for m in space.tied(k):
            out[m] = None
    return list(out)


def _recover_point(space: Space, point: Point, keys: list[Key]) -> Point:
    return space.generous(keys, point)


def _alone_point(space: Space, point: Point, keys: list[Key]) -> Point:
    keep = set(keys)
    others = [k for k in space.keys if k not in keep]
    p = space.generous(others, point)
    # a table's size belongs to its layer: grown only when its table_t is generous
    return space.with_tables(p, {l: point.table_sizes[l] for (l, q) in keys if q == "table_t"})


def _tied_note(space: Space, keys: list[Key], own: list[Key]) -> tuple[str, ...]:
    extra = [k for k in keys if k not in own]
    return tuple(f"{l}.{q}" for l, q in extra)


def decompose(study, point: Point | None = None, desc: str = "gap") -> Gap:
    """Decompose the gap of ``point`` (default: the study's base precision).

    Parameters
    ----------
    study : an :class:`fxsim.analysis.study.Study`.
    point : the precision to explain.
    """
    space: Space = study.space
    point = point or space.base
    generous = space.generous(None, point)
    plans: list[tuple[str, str, list[Key], list[Key], Point, Point]] = []
    for info in space.layers:
        own = [(info.name, q) for q in info.knobs if (info.name, q) not in space.pinned]
        if not own:
            continue
        keys = _closure(space, own)
        plans.append(
            (info.name, info.kind, own, keys, _recover_point(space, point, keys), _alone_point(space, point, keys))
        )
    for source in SOURCES:
        if source == "overflow":
            recover = space.widen_integers(point)
            alone = space.widen_fractions(point)
            alone = space.with_tables(alone, {l: max(GENEROUS_TABLE_SIZE, n) for l, n in point.table_sizes.items()})
            plans.append((source, "source", [], [], recover, alone))
            continue
        own = source_knobs(space, source)
        if not own:
            continue
        keys = _closure(space, own)
        plans.append(
            (source, "source", own, keys, _recover_point(space, point, keys), _alone_point(space, point, keys))
        )
    points = [point, generous] + [p for plan in plans for p in plan[4:]]
    metrics = study.evaluate(points, desc)
    hw, gen = metrics[0], metrics[1]
    rows = []
    for k, (name, kind, own, keys, _, _) in enumerate(plans):
        rec, alone = metrics[2 + 2 * k], metrics[3 + 2 * k]
        rows.append(GapRow(name, kind, tuple(f"{l}.{q}" if kind == "source" else q for l, q in own),
                           rec, alone, hw, gen, _tied_note(space, keys, own)))
    notes = []
    for group in space.groups():
        if len(group) > 1:
            notes.append("hls4ml 1.3.0 compiles an LSTM only when these types are identical, so they move together: "
                         + ", ".join(f"{l}.{q}" for l, q in group))
    overflows = _overflow_counts(study, point)
    return Gap(
        metric=study.metric,
        point=point,
        float_metric=study.float_metric(),
        qkeras_metric=study.qkeras_metric(),
        hardware_metric=hw,
        generous_metric=gen,
        layers=[r for r in rows if r.kind != "source"],
        sources=[r for r in rows if r.kind == "source"],
        overflows=overflows,
        notes=notes,
    )


def _overflow_counts(study, point: Point) -> dict[str, dict[str, int]]:
    report = study.emulate(point).overflow_report(study.x)
    out: dict[str, dict[str, int]] = {}
    for row in report.rows:
        out.setdefault(row.layer, {})[row.quantity] = int(row.overflowed)
    return out
