"""QKeras's own view of a precision: the model with every quantizer set to one width.

The seed study's figure puts the QKeras metric beside the hardware metric at each
``(integer, fractional)`` width. :func:`requantized` gives the QKeras side for a
trained QKeras model: the same weights, every ``quantized_bits`` /
``quantized_relu`` quantizer set to ``I+F+1`` bits with ``I`` integer bits
(``quantized_tanh``/``quantized_sigmoid`` to ``I+F+1`` bits), other quantizer
settings (``alpha``, ``symmetric`` ...) kept. QKeras then computes everything
else in float, which is exactly what the hardware does not.
"""

from __future__ import annotations

import copy
from typing import Any

#: quantizer classes whose ``bits`` (and, where present, ``integer``) this module sets
_SETTABLE = {"quantized_bits": True, "quantized_relu": True, "quantized_tanh": False, "quantized_sigmoid": False}


def _set(q: Any, bits: int, integer: int, where: str) -> Any:
    if not isinstance(q, dict) or "class_name" not in q:
        return q  # a plain activation name ('tanh') or None: not a quantizer
    name = q["class_name"]
    if name not in _SETTABLE:
        raise ValueError(f"{where}: cannot set the width of QKeras quantizer {name!r}; "
                         f"supported: {', '.join(_SETTABLE)}")
    q = copy.deepcopy(q)
    q["config"]["bits"] = int(bits)
    if _SETTABLE[name]:
        q["config"]["integer"] = int(integer)
    return q


def requantized(model: Any, bits: int, integer: int):
    """A copy of the QKeras ``model`` with every quantizer at ``bits`` total and ``integer`` integer bits.

    Raises
    ------
    ValueError : the model has no QKeras quantizer, or one whose width cannot be set.
    """
    import tensorflow as tf

    from fxsim.compat import import_qkeras

    qkeras = import_qkeras()
    if integer < 0 or bits < integer + 1:
        raise ValueError(f"need bits >= integer + 1 and integer >= 0, got bits={bits}, integer={integer}")
    cfg = copy.deepcopy(model.get_config())
    changed = 0
    for layer in cfg.get("layers", []):
        conf = layer["config"]
        for key in list(conf):
            is_quantizer = "quantizer" in key or (layer["class_name"] == "QActivation" and key == "activation")
            if is_quantizer and isinstance(conf[key], dict):
                conf[key] = _set(conf[key], bits, integer, f"layer {conf.get('name')!r} {key}")
                if layer["class_name"] == "QActivation":
                    # QActivation.from_config does not deserialize a quantizer dict; give it the object
                    q = conf[key]
                    conf[key] = getattr(qkeras, q["class_name"])(**q["config"])
                changed += 1
    if not changed:
        raise ValueError("the model has no QKeras quantizers to set")
    custom: dict[str, Any] = {}
    qkeras.utils._add_supported_quantized_objects(custom)
    cls = tf.keras.Sequential if isinstance(model, tf.keras.Sequential) else tf.keras.Model
    with tf.keras.utils.custom_object_scope(custom):
        clone = cls.from_config(cfg)
    clone.set_weights(model.get_weights())
    return clone
