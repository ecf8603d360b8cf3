"""The precision space of one model: which types can be changed, tied, and what they cost.

A *knob* is one type of one layer, named as in hls4ml's configuration:
``(layer, quantity)`` with quantity ``result``, ``accum``, ``weight``, ``bias``,
``recurrent_weight``, ``recurrent_bias`` (``Precision`` keys) or ``table_t`` (a
direct layer key). A layer's ``TableSize`` is kept beside the types.

A :class:`Point` assigns a :class:`~fxsim.fixed.FixedType` to every knob and a size
to every table; :meth:`Space.overrides` turns it into hls4ml per-layer settings,
so the hardware at a point is always what hls4ml converts from that config.

hls4ml 1.3.0 compiles an LSTM only when its input, accumulator and result types
are the same C++ type, so those knobs are *tied*: changing one changes all three
(:meth:`Space.with_types`).

The space is read from fxsim's IR (the converted model's layer specs); per-layer
rules are dispatched on the spec class.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import singledispatch

from fxsim import ir
from fxsim.fixed import FixedType

#: Knob quantities that live under hls4ml's ``Precision`` layer key.
PRECISION_QUANTITIES = ("result", "accum", "weight", "bias", "recurrent_weight", "recurrent_bias")
#: Everything a knob can be (``table_t`` is a direct layer key in hls4ml).
QUANTITIES = PRECISION_QUANTITIES + ("table_t",)

#: Sources of the accuracy gap and the knobs that carry them (see :func:`source_knobs`).
SOURCES = ("input", "weights", "accumulators", "results/states", "lookup tables", "overflow")

#: A type wide enough that its rounding is negligible next to float, yet narrow
#: enough that every exact product of two such values fits fxsim's 62 bits.
GENEROUS = FixedType(28, 10)
#: Lookup tables at a generous size and type.
GENEROUS_TABLE = FixedType(24, 4)
GENEROUS_TABLE_SIZE = 4096

Key = tuple[str, str]


@dataclass(frozen=True)
class Multipliers:
    """``count`` multipliers whose operands are the types of knobs ``a`` and ``b``."""

    count: int
    a: Key
    b: Key
    what: str


@dataclass(frozen=True)
class LayerInfo:
    """What the space needs to know about one layer of the IR."""

    name: str
    kind: str
    knobs: tuple[str, ...]
    source: str | None
    table: bool
    multipliers: tuple[Multipliers, ...] = ()
    ties: tuple[Key, ...] = ()


# --- per-layer rules (dispatched on the IR spec class) ----------------------------------


@singledispatch
def layer_knobs(spec) -> tuple[str, ...]:
    """The knob quantities of one layer spec (none for layers without arithmetic)."""
    return ()


@layer_knobs.register
def _(spec: ir.InputSpec):
    return ("result",)


@layer_knobs.register
def _(spec: ir.DenseSpec):
    return ("weight", "bias", "accum", "result")


@layer_knobs.register
def _(spec: ir.RecurrentSpec):
    knobs = ["weight", "recurrent_weight", "bias"]
    if spec.cell == "gru":  # hls4ml's LSTM recurrent bias is all zeros: its type changes nothing
        knobs.append("recurrent_bias")
    return tuple(knobs + ["accum", "result", "table_t"])


@layer_knobs.register
def _(spec: ir.ActivationSpec):
    return ("result", "table_t") if _has_table(spec) else ("result",)


@layer_knobs.register
def _(spec: ir.SoftmaxSpec):
    return ("result",)


def _has_table(spec) -> bool:
    if isinstance(spec, ir.RecurrentSpec):
        return True
    return isinstance(spec, ir.ActivationSpec) and spec.table_t is not None and spec.activation in ("sigmoid", "tanh")


@singledispatch
def layer_multipliers(spec, source: str | None) -> tuple[Multipliers, ...]:
    """The multipliers one layer instantiates, with the knobs giving their operand widths."""
    return ()


def _per_reuse(n: int, reuse_factor: int) -> int:
    return -(-n // max(1, int(reuse_factor)))


@layer_multipliers.register
def _(spec: ir.DenseSpec, source):
    n = _per_reuse(spec.n_in * spec.n_out, spec.reuse_factor)
    return (Multipliers(n, (source, "result"), (spec.name, "weight"), "x*W"),)


@layer_multipliers.register
def _(spec: ir.RecurrentSpec, source):
    k = 4 if spec.cell == "lstm" else 3
    n, name, rf = spec.n_state, spec.name, spec.reuse_factor
    acc, res = (name, "accum"), (name, "result")
    out = [
        Multipliers(_per_reuse(spec.n_in * k * n, rf), (source, "result"), (name, "weight"), "x*W"),
        Multipliers(_per_reuse(n * k * n, rf), res, (name, "recurrent_weight"), "h*U"),
    ]
    if spec.cell == "lstm":  # c = g*i + c*f; h = o*tanh(c)
        out += [Multipliers(n, acc, acc, "g*i"), Multipliers(n, res, acc, "c*f"), Multipliers(n, acc, acc, "o*tanh(c)")]
    else:  # r*(U_h h); h = hc*(1-z) + h*z
        out += [Multipliers(n, acc, acc, "r*(Uh)"), Multipliers(n, acc, acc, "hc*(1-z)"),
                Multipliers(n, res, acc, "h*z")]
    return tuple(out)


@singledispatch
def layer_ties(spec, source: str | None) -> tuple[Key, ...]:
    """Knobs hls4ml requires to be the identical type (empty: no constraint)."""
    return ()


@layer_ties.register
def _(spec: ir.RecurrentSpec, source):
    if spec.cell == "lstm" and source is not None:
        return ((source, "result"), (spec.name, "accum"), (spec.name, "result"))
    return ()


def layer_types(spec) -> dict[str, FixedType]:
    """The current type of each knob of a layer spec (field ``<quantity>_t``, or ``table_t``)."""
    return {q: getattr(spec, q if q == "table_t" else f"{q}_t") for q in layer_knobs(spec)}


def _kind(spec) -> str:
    if isinstance(spec, ir.RecurrentSpec):
        return spec.cell
    if isinstance(spec, ir.ActivationSpec):
        return spec.activation
    if isinstance(spec, ir.SoftmaxSpec):
        return "softmax"
    return type(spec).__name__.removesuffix("Spec").lower()


# --- points ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One precision configuration: a type per knob and a size per lookup table."""

    types: Mapping[Key, FixedType]
    table_sizes: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "types", dict(sorted(self.types.items())))
        object.__setattr__(self, "table_sizes", dict(sorted(self.table_sizes.items())))

    @property
    def key(self) -> str:
        """A canonical string naming the point (cache key)."""
        return json.dumps(
            [[f"{l}.{q}", t.hls4ml_str()] for (l, q), t in self.types.items()]
            + [[f"{l}.TableSize", n] for l, n in self.table_sizes.items()]
        )

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, Point) and self.key == other.key

    def type(self, layer: str, quantity: str) -> FixedType:
        return self.types[(layer, quantity)]


def make_type(width: int, integer: int, like: FixedType) -> FixedType:
    """``like`` with a new width and integer bits (signedness and modes kept)."""
    return FixedType(width, integer, like.signed, like.rounding, like.overflow)


# --- the space ---------------------------------------------------------------------------------


class Space:
    """The knobs of one model, their ties and costs, read from its IR.

    Parameters
    ----------
    specs : the converted model's layer specs in order (``FxModel`` layers).
    """

    def __init__(self, specs: Sequence):
        self.layers: list[LayerInfo] = []
        base_types: dict[Key, FixedType] = {}
        sizes: dict[str, int] = {}
        previous: str | None = None
        for spec in specs:
            if isinstance(spec, ir.ReshapeSpec):
                continue  # Flatten/Reshape pass their input's codes and type through
            knobs = layer_knobs(spec)
            if not knobs:
                raise ValueError(
                    f"layer {spec.name!r} ({type(spec).__name__}) is not supported by the precision analysis; "
                    "it handles Input, Dense, activations, Softmax, LSTM, GRU and Flatten/Reshape"
                )
            source = None if isinstance(spec, ir.InputSpec) else previous
            info = LayerInfo(
                name=spec.name,
                kind=_kind(spec),
                knobs=knobs,
                source=source,
                table=_has_table(spec),
                multipliers=layer_multipliers(spec, source),
                ties=layer_ties(spec, source),
            )
            self.layers.append(info)
            for q, t in layer_types(spec).items():
                base_types[(spec.name, q)] = t
            if info.table:
                sizes[spec.name] = int(spec.table_size)
            previous = spec.name
        self.base = Point(base_types, sizes)
        self.pinned: dict[Key, str] = {}
        self._tie = self._build_ties()

    # -- structure --
    @property
    def keys(self) -> list[Key]:
        """Every knob the configuration can change, in layer order (pinned types excluded)."""
        return [k for k in self.all_keys if k not in self.pinned]

    @property
    def all_keys(self) -> list[Key]:
        """Every type of the model, pinned ones included."""
        return [(l.name, q) for l in self.layers for q in l.knobs]

    def pin(self, keys: Mapping[Key, str]) -> None:
        """Mark types the hls4ml configuration cannot change (``{key: why}``); they keep their base type.

        hls4ml takes a QKeras ``QDense`` weight's type from its quantizer, whatever the
        configuration says; :class:`fxsim.analysis.study.Study` finds such types by converting once.
        """
        for key in keys:
            if key not in self.base.types:
                raise ValueError(f"no type {key} to pin")
            if len(self.tied(key)) > 1:
                raise ValueError(f"{key} is tied to {self.tied(key)} and cannot be pinned alone")
        self.pinned.update(keys)

    def layer(self, name: str) -> LayerInfo:
        for info in self.layers:
            if info.name == name:
                return info
        raise ValueError(f"no layer {name!r}; layers: {', '.join(l.name for l in self.layers)}")

    def _build_ties(self) -> dict[Key, tuple[Key, ...]]:
        parent: dict[Key, Key] = {k: k for k in self.all_keys}

        def find(k):
            while parent[k] != k:
                parent[k] = parent[parent[k]]
                k = parent[k]
            return k

        for info in self.layers:
            members = [m for m in info.ties if m in parent]
            for m in members[1:]:
                parent[find(m)] = find(members[0])
        groups: dict[Key, list[Key]] = {}
        for k in self.all_keys:
            groups.setdefault(find(k), []).append(k)
        return {k: tuple(groups[find(k)]) for k in self.all_keys}

    def tied(self, key: Key) -> tuple[Key, ...]:
        """The knobs that must always carry the same type as ``key`` (itself included)."""
        return self._tie[key]

    def groups(self, keys: Iterable[Key] | None = None) -> list[tuple[Key, ...]]:
        """Independent knob groups (tied knobs form one group), in layer order."""
        seen: set[Key] = set()
        out = []
        for k in self.keys if keys is None else keys:
            if k in seen:
                continue
            group = self.tied(k)
            seen.update(group)
            out.append(group)
        return out

    def table_layers(self) -> list[str]:
        return [l.name for l in self.layers if l.table]

    # -- building points --
    def with_types(self, point: Point, changes: Mapping[Key, FixedType]) -> Point:
        """``point`` with some knobs changed; tied knobs follow (the last change to a group wins)."""
        types = dict(point.types)
        for key, t in changes.items():
            if key not in self._tie:
                raise ValueError(f"{key[0]!r} has no knob {key[1]!r}; knobs: {self.keys}")
            if key in self.pinned:
                raise ValueError(
                    f"{key[0]}.{key[1]} cannot be changed through the hls4ml configuration: {self.pinned[key]}"
                )
            for member in self._tie[key]:
                types[member] = t
        return Point(types, point.table_sizes)

    def with_tables(self, point: Point, sizes: Mapping[str, int]) -> Point:
        """``point`` with some lookup-table sizes changed."""
        new = dict(point.table_sizes)
        for layer, n in sizes.items():
            if layer not in new:
                raise ValueError(f"layer {layer!r} has no lookup table; tables: {list(new)}")
            if int(n) < 1:
                raise ValueError(f"table size must be positive, got {n}")
            new[layer] = int(n)
        return Point(point.types, new)

    def uniform(self, integer: int, fractional: int, rounding="TRN", overflow="WRAP",
                base: Point | None = None) -> Point:
        """Every type except the lookup tables set to ``ap_fixed<I+F+1, I+1>``.

        ``integer`` counts the bits above the binary point without the sign bit,
        as QKeras's ``quantized_bits(I+F+1, I)`` does; tables keep ``base``'s type
        and size (the model default precision does not reach them in hls4ml).
        """
        if integer < 0 or fractional < 0:
            raise ValueError(f"uniform precision needs integer >= 0 and fractional >= 0, got {integer}, {fractional}")
        t = FixedType(integer + fractional + 1, integer + 1, True, rounding, overflow)
        base = base or self.base
        return self.with_types(base, {k: t for k in self.keys if k[1] != "table_t"})

    def generous(self, keys: Iterable[Key] | None = None, point: Point | None = None, tables: bool = True) -> Point:
        """``point`` (default: the base) with ``keys`` (default: all) at :data:`GENEROUS` types.

        Lookup-table knobs get :data:`GENEROUS_TABLE` and, with ``tables``, their
        layer's table grows to :data:`GENEROUS_TABLE_SIZE` entries.
        """
        point = point or self.base
        keys = list(self.keys if keys is None else keys)
        changes = {k: GENEROUS_TABLE if k[1] == "table_t" else _generous_like(point.types[k]) for k in keys}
        new = self.with_types(point, changes)
        if tables:
            grow = {k[0]: max(GENEROUS_TABLE_SIZE, point.table_sizes[k[0]]) for k in keys if k[1] == "table_t"}
            new = self.with_tables(new, grow)
        return new

    def widen_integers(self, point: Point, integer: int = GENEROUS.integer) -> Point:
        """Every type with at least ``integer`` integer bits, fractional bits kept: no overflow left."""
        changes = {}
        for k in self.keys:
            t = point.types[k]
            i = max(t.integer, integer if k[1] != "table_t" else max(t.integer, 2))
            changes[k] = make_type(t.frac + i, i, t)
        return self.with_types(point, changes)

    def widen_fractions(self, point: Point, frac: int = GENEROUS.frac) -> Point:
        """Every type with at least ``frac`` fractional bits, integer bits kept: only range limits left."""
        changes = {k: make_type(point.types[k].integer + max(point.types[k].frac, frac), point.types[k].integer,
                                point.types[k]) for k in self.keys}
        return self.with_types(point, changes)

    # -- hls4ml settings --
    def overrides(self, point: Point) -> dict[str, dict]:
        """Per-layer hls4ml settings for ``point``: ``{layer: {"Precision": {...}, "table_t": ..., "TableSize": n}}``.

        Pinned types are left out (hls4ml would not honour them).
        """
        out: dict[str, dict] = {}
        for (layer, q), t in point.types.items():
            if (layer, q) in self.pinned:
                continue
            entry = out.setdefault(layer, {})
            if q == "table_t":
                entry["table_t"] = t.hls4ml_str()
            else:
                entry.setdefault("Precision", {})[q] = t.hls4ml_str()
        for layer, n in point.table_sizes.items():
            out.setdefault(layer, {})["TableSize"] = int(n)
        return out

    def apply(self, config: Mapping, point: Point) -> dict:
        """A complete hls4ml config: ``config`` with every knob of ``point`` written in."""
        config = json.loads(json.dumps(config))  # deep copy of plain data
        layers = config.setdefault("LayerName", {})
        for layer, entry in self.overrides(point).items():
            target = layers.setdefault(layer, {})
            prec = target.get("Precision")
            if not isinstance(prec, dict):
                prec = {} if prec is None else {"default": prec}
                target["Precision"] = prec
            prec.update(entry.get("Precision", {}))
            for key in ("table_t", "TableSize"):
                if key in entry:
                    target[key] = entry[key]
        # hls4ml splits a Dense's (linear) activation into "<dense>_linear" and drops it only
        # when its result type equals the Dense's (EliminateLinearActivation); keep it an
        # identity so the graph at every point is the base graph
        names = {l.name for l in self.layers}
        for name, target in layers.items():
            parent = name.removesuffix("_linear")
            if name in names or parent == name or (parent, "result") not in point.types:
                continue
            prec = target.get("Precision")
            prec = {} if prec is None else ({"default": prec} if not isinstance(prec, dict) else prec)
            prec["result"] = point.types[(parent, "result")].hls4ml_str()
            target["Precision"] = prec
        return config

    # -- costs --
    def total_bits(self, point: Point) -> int:
        """Sum of the widths of every knob (each layer's types, tables' entry type included)."""
        return int(sum(t.width for t in point.types.values()))

    def multiplier_cost(self, point: Point) -> int:
        """Multiplier-cost proxy: sum over multipliers of the two operand widths."""
        cost = 0
        for info in self.layers:
            for m in info.multipliers:
                cost += m.count * (point.types[m.a].width + point.types[m.b].width)
        return int(cost)

    def table_bits(self, point: Point) -> int:
        """Lookup-table memory: entries times entry width, over every table."""
        return int(sum(point.table_sizes[l] * point.types[(l, "table_t")].width for l in point.table_sizes))

    def costs(self, point: Point) -> dict[str, int]:
        return {"total_bits": self.total_bits(point), "multiplier_cost": self.multiplier_cost(point),
                "table_bits": self.table_bits(point)}

    def describe(self, point: Point) -> list[dict]:
        """One row per layer: its types and table size."""
        rows = []
        for info in self.layers:
            row = {"layer": info.name, "kind": info.kind}
            for q in info.knobs:
                row[q] = str(point.types[(info.name, q)])
            if info.table:
                row["TableSize"] = point.table_sizes[info.name]
            rows.append(row)
        return rows


def _generous_like(t: FixedType) -> FixedType:
    # keep the signedness (an unsigned relu output stays unsigned) and the modes
    return make_type(GENEROUS.width, GENEROUS.integer, t)


def source_knobs(space: Space, source: str) -> list[Key]:
    """The knobs that carry one source of the gap (see :data:`SOURCES`; ``overflow`` has none)."""
    first = space.layers[0].name if space.layers and space.layers[0].kind == "input" else None
    if source == "input":
        return [(first, "result")] if first else []
    if source == "weights":
        return [k for k in space.keys if k[1] in ("weight", "bias", "recurrent_weight", "recurrent_bias")]
    if source == "accumulators":
        return [k for k in space.keys if k[1] == "accum"]
    if source == "results/states":
        return [k for k in space.keys if k[1] == "result" and k[0] != first]
    if source == "lookup tables":
        return [k for k in space.keys if k[1] == "table_t"]
    if source == "overflow":
        return []
    raise ValueError(f"unknown source {source!r}; sources: {', '.join(SOURCES)}")


def bits_label(t: FixedType) -> str:
    """Short spelling for tables: ``<W,I>`` plus modes when not TRN/WRAP, ``u`` for unsigned."""
    modes = "" if (t.rounding.name, t.overflow.name) == ("TRN", "WRAP") else f",{t.rounding.name},{t.overflow.name}"
    return f"{'' if t.signed else 'u'}<{t.width},{t.integer}{modes}>"


def log2_size(n: int) -> float:
    return math.log2(n) if n > 0 else float("nan")


# the Conv1D / pooling / zero-padding rules, registered on the dispatchers above
from fxsim.analysis import space_conv as _space_conv  # noqa: E402,F401
