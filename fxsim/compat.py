"""Compatibility aliases QKeras 0.9.0 needs on TensorFlow 2.15.

QKeras still calls two TensorFlow internals that were renamed:
``nest.is_sequence`` (now ``is_nested``) and ``array_ops.unstack`` (used by
QGRU with ``reset_after=True``). Import this module, never ``qkeras``
directly, so the aliases are in place before QKeras loads.
"""

from __future__ import annotations


def import_qkeras():
    """Apply the aliases once and return the imported ``qkeras`` module."""
    import tensorflow as tf
    from tensorflow.python.ops import array_ops
    from tensorflow.python.util import nest

    if not hasattr(nest, "is_sequence"):
        nest.is_sequence = nest.is_nested
    if not hasattr(array_ops, "unstack"):
        array_ops.unstack = tf.unstack
    import qkeras

    return qkeras
