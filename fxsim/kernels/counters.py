"""Overflow counters by name, shared by a kernel and its runner.

Each kernel declares its counters as a tuple of names; :func:`counter_index` turns it
into a named tuple of column numbers, so a kernel writes ``counts[C.h]`` and its runner
reads ``totals[C.h]`` (numba folds the fields to constants).
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass


def counter_index(typename: str, names: tuple[str, ...]):
    """``namedtuple(typename, names)(0, 1, ...)``: each counter's column."""
    return namedtuple(typename, names)(*range(len(names)))


@dataclass(frozen=True)
class Counted:
    """A quantity a recurrent cell counts overflows of, each time step.

    Attributes
    ----------
    name : str
        The counter's (and the overflow report's) name.
    per_state : int
        Values per sample and time step, in units of ``n_state``.
    table : str | None
        ``"recurrent_activation"`` or ``"activation"`` for a count of lookup-table indices
        clamped by that activation (type ``table_t``; absent when it is relu).
    kind : str
        ``"accum"`` or ``"result"``: the type the values are cast to.
    """

    name: str
    per_state: int
    table: str | None = None
    kind: str = "accum"


#: The counters of a recurrent cell's two dense products, ahead of the cell's own (:class:`Counted`).
RECURRENT_DENSE_COUNTERS = ("input_product", "input_accumulator", "recurrent_product", "recurrent_accumulator")


def recurrent_counters(typename: str, counted: tuple[Counted, ...]):
    """``(names, index)`` of a cell: :data:`RECURRENT_DENSE_COUNTERS`, then ``counted`` in order."""
    names = RECURRENT_DENSE_COUNTERS + tuple(q.name for q in counted)
    return names, counter_index(typename, names)
