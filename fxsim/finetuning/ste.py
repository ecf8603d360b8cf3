"""Exact ``ap_fixed`` casts on TensorFlow tensors, with straight-through gradients.

Every tensor of the training graph holds *values* (``code * 2**-F``) in float64.
A value of a type up to 53 bits wide is exact in float64, and so are the scalings by
powers of two that turn it into its code and back, the products of two such values
and exact sums of them while they need at most 53 significant bits (the graph checks
that statically, :mod:`fxsim.finetuning.graph`). So the forward pass computes the very
codes hls4ml's C simulation computes; the rounding and overflow rules are those of
``ap_fixed_base.h`` as :mod:`fxsim.fixed` states them (TRN floor, TRN_ZERO, RND,
RND_ZERO, RND_INF, RND_MIN_INF, RND_CONV; WRAP, SAT, SAT_ZERO, SAT_SYM) and are tested
against :func:`fxsim.fixed.cast` for every mode.

Backward choices (straight-through estimators)
---------------------------------------------
* A cast to a type: derivative 1 where the rounded value fit the type, 0 where it
  overflowed (wrapped or saturated): a wrapped value jumps by ``2**I`` and a saturated
  one is flat, so neither says which way to move. Rounding itself is passed through.
* ``relu``: 1 above zero, 0 below (times the cast's mask).
* Lookup-table activations: the derivative of the smooth function at the input value
  (``sigmoid(x)(1 - sigmoid(x))``, ``1 - tanh(x)**2``), also outside the table's range.
* Softmax (every implementation, argmax included): the Jacobian of the float softmax
  of the input values (times ``exp_scale``).
* Dense: the exact sum's ordinary derivative (``g @ w.T``, ``x.T @ g``), masked to 0 for
  outputs whose unclipped float sum ``x @ w + b`` lies outside ``accum_t``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from fxsim.fixed import FixedType, Overflow, Rounding

F64 = tf.float64

#: The widest exact value float64 holds: 53 significant bits.
EXACT_BITS = 53


def scale(frac: int) -> float:
    """``2**frac`` as a Python float (exact)."""
    return float(np.ldexp(1.0, int(frac)))


def round_scaled(m: tf.Tensor, rounding: Rounding) -> tf.Tensor:
    """``m`` (exact, any real) rounded to an integer with ap_q_mode ``rounding``."""
    q = tf.floor(m)
    if rounding == Rounding.TRN:
        return q
    r = m - q  # exact, in [0, 1)
    if rounding == Rounding.TRN_ZERO:
        up = (r > 0.0) & (m < 0.0)
    else:
        half = tf.equal(r, 0.5)
        above = r > 0.5
        if rounding == Rounding.RND:
            up = above | half
        elif rounding == Rounding.RND_ZERO:
            up = above | (half & (m < 0.0))
        elif rounding == Rounding.RND_INF:
            up = above | (half & (m > 0.0))
        elif rounding == Rounding.RND_MIN_INF:
            up = above
        elif rounding == Rounding.RND_CONV:
            up = above | (half & tf.equal(tf.math.floormod(q, 2.0), 1.0))
        else:  # pragma: no cover - Rounding has no other members
            raise ValueError(f"unknown rounding mode {rounding!r}")
    return q + tf.cast(up, F64)


def fit_codes(q: tf.Tensor, t: FixedType) -> tuple[tf.Tensor, tf.Tensor]:
    """Integer ``q`` fitted into ``t``'s codes with its ap_o_mode; returns ``(codes, overflowed)``."""
    lo, hi = float(t.min_code), float(t.max_code)
    over = (q < lo) | (q > hi)
    o = t.overflow
    if o == Overflow.WRAP:
        return tf.math.floormod(q - lo, scale(t.width)) + lo, over
    if o == Overflow.SAT or (o == Overflow.SAT_SYM and not t.signed):
        return tf.clip_by_value(q, lo, hi), over
    if o == Overflow.SAT_ZERO:
        return tf.where(over, tf.zeros_like(q), q), over
    if o == Overflow.SAT_SYM:
        over = over | tf.equal(q, lo)  # the asymmetric minimum counts as an underflow
        return tf.clip_by_value(q, -hi, hi), over
    raise ValueError(f"unknown overflow mode {o!r}")  # pragma: no cover


def exact_codes(v: tf.Tensor, t: FixedType) -> tuple[tf.Tensor, tf.Tensor]:
    """Codes of ``t`` for exact values ``v`` (as ``t(v)`` in C++) and the overflow mask."""
    return fit_codes(round_scaled(v * scale(t.frac), t.rounding), t)


def exact_cast(v: tf.Tensor, t: FixedType) -> tuple[tf.Tensor, tf.Tensor]:
    """``t(v)`` as values, and where it overflowed (no gradient defined)."""
    codes, over = exact_codes(v, t)
    return codes * scale(-t.frac), over


def cast(v: tf.Tensor, t: FixedType) -> tf.Tensor:
    """``t(v)`` with the straight-through gradient: 1 where it fit, 0 where it overflowed."""

    @tf.custom_gradient
    def _cast(x):
        y, over = exact_cast(x, t)

        def grad(g):
            return tf.where(over, tf.zeros_like(g), g)

        return y, grad

    return _cast(v)


def in_range(v: tf.Tensor, t: FixedType) -> tf.Tensor:
    """Float mask: 1 where the value lies within ``t``'s range, else 0."""
    return tf.cast((v >= t.min) & (v <= t.max), F64)
