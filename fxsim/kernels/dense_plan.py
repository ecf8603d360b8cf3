"""Which accumulation loop a dense product runs, chosen in Python from the layer's static types.

The multiply-accumulate loop of ``nnet::dense`` exists in many variants (three roundings
of the products, WRAP or SAT, 32- or 64-bit lanes, overflows counted or not, and the
general path for every other mode), and LLVM needs seconds per variant. Which one a layer
runs follows from its types alone, so its caller picks it here and passes the choice down
as an integer *plan*, a constant of the compiled code: numba compiles
:func:`fxsim.kernels.dense.dense_accumulate` once per plan, and that plan's compilation
holds only its own loops (:func:`fxsim.kernels.dense_loops.accumulate`). A model thus
compiles the loops its layers use, not all of them (docs/benchmarks.md, "Cold start").

Only the decisions that depend on the data stay in the loops: which groups of outputs
cannot overflow (summed without casts), and whether a block's products fit int32.
"""

from __future__ import annotations

from dataclasses import dataclass

from fxsim.fixed.types import Overflow, Rounding

#: Every type and mode, products taken in the Latency order, each cast with ``requantize``.
EXACT = 0
#: As :data:`EXACT`, in the order of an accumulation-order array (Resource).
ORDERED = 1
_FAST = 2  # the first fast plan; fast plans encode their fields above it

#: Rounding of the products in a fast plan: floor (also a shift of 0 bits), RND, RND_CONV.
FLOOR, ROUND, ROUND_CONV = 0, 1, 2
_ROUNDINGS = {Rounding.TRN: FLOOR, Rounding.RND: ROUND, Rounding.RND_CONV: ROUND_CONV}


@dataclass(frozen=True)
class FastPlan:
    """A fast plan's fields (branch-free loops the compiler vectorises).

    Attributes
    ----------
    rounding : ``FLOOR``, ``ROUND`` or ``ROUND_CONV``, the products' rounding to ``accum_t``.
    sat : ``accum_t`` saturates (else it wraps).
    count : the loops count overflowing products and partial sums.
    lanes32 : ``accum_t`` has at most 32 bits and products drop at most 31, so a block whose
        products fit int32 may be summed in 32-bit lanes.
    """

    rounding: int
    sat: bool
    count: bool
    lanes32: bool

    @property
    def wrap32(self) -> bool:
        """WRAP in 32-bit lanes without counting: the plan that
        :func:`~fxsim.kernels.dense_loops.accumulate_prepared` runs on prepared int32 weights."""
        return self.lanes32 and not self.sat and not self.count

    @property
    def code(self) -> int:
        """The plan's integer, as the kernels take it."""
        return _FAST + self.rounding + 3 * (self.sat + 2 * (self.count + 2 * self.lanes32))


def accumulation_plan(x_frac: int, w_frac: int, accum: tuple, latency: bool, count: bool) -> int:
    """The plan of a dense product: inputs with ``x_frac`` and weights with ``w_frac`` fractional bits.

    Parameters
    ----------
    x_frac, w_frac : fractional bits of the input and weight types.
    accum : ``accum_t.spec``, ``(W, F, signed, rounding, overflow)``.
    latency : the products are added in the Latency order (``LATENCY_ORDER``), else in
        an order array's.
    count : overflows are counted (the fast loops skip counting otherwise).

    Returns
    -------
    plan : :data:`EXACT`, :data:`ORDERED` or a :class:`FastPlan`'s ``code``.
    """
    width, frac, signed, rounding, overflow = (int(v) for v in accum)
    d = int(x_frac) + int(w_frac) - frac  # bits each exact product drops
    if not latency:
        return ORDERED
    fast_rounding = FLOOR if d == 0 else rounding_of(rounding)
    if (not signed or width < 2 or overflow not in (Overflow.WRAP, Overflow.SAT) or not 0 <= d <= 62
            or fast_rounding is None):
        return EXACT
    return FastPlan(fast_rounding, overflow == Overflow.SAT, bool(count), width <= 32 and d <= 31).code


def rounding_of(mode: Rounding) -> int | None:
    """``FLOOR``, ``ROUND`` or ``ROUND_CONV`` for TRN, RND and RND_CONV; ``None`` for the other modes."""
    return _ROUNDINGS.get(Rounding(mode))


def fast_plan(plan: int) -> FastPlan | None:
    """The fields of a fast plan's integer; ``None`` for :data:`EXACT` and :data:`ORDERED`."""
    if plan < _FAST:
        return None
    k = int(plan) - _FAST
    rounding, k = k % 3, k // 3
    sat, k = k % 2, k // 2
    count, lanes32 = k % 2, k // 2
    if lanes32 > 1:
        raise ValueError(f"{plan} is not an accumulation plan")
    return FastPlan(rounding, bool(sat), bool(count), bool(lanes32))


def sums_in_int32(plan: int) -> bool:
    """Whether ``plan`` is a fast plan in 32-bit lanes that counts nothing, WRAP or SAT: the plans
    :func:`~fxsim.kernels.dense_loops.accumulate_mod32` runs (the fused recurrent cells' products)."""
    p = fast_plan(plan)
    return p is not None and p.lanes32 and not p.count


def runs_prepared(plan: int) -> bool:
    """Whether ``plan`` is a :attr:`FastPlan.wrap32` plan, whose loops take prepared weights and buffers."""
    p = fast_plan(plan)
    return p is not None and p.wrap32
