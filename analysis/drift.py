"""Per-time-step drift of LSTM/GRU states between float and hardware.

The hardware side is fxsim's trace (``"<layer>/<quantity>"`` entries, shape
``(n, T, n_state)``), which hls4ml's own ``trace()`` cannot show. The float side
is :func:`float_states`: the Keras recurrence in float64 numpy with the layer's
float weights and exact activations (Keras gate order; GRU ``reset_after``), fed
with the float input the layer sees in the float model. Drift is reported per
step in absolute units and in LSBs of the state's hardware type, so one can see
whether the error grows along the sequence (accumulating through the recurrence)
or stays at the quantization floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fxsim.fixed import FixedType

#: Trace quantities holding the states, per cell (the names fxsim's recurrent kernels use).
STATE_NAMES = {"gru": ("h",), "lstm": ("h", "c")}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _hard_sigmoid(x):  # Keras 2: clip(0.2 x + 0.5, 0, 1)
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "hard_sigmoid": _hard_sigmoid,
    "linear": lambda x: x,
}
#: QKeras activation quantizers and the float function behind them.
_QKERAS_FLOAT = {
    "quantized_tanh": "tanh",
    "quantized_sigmoid": "sigmoid",
    "quantized_relu": "relu",
    "quantized_bits": "linear",
}


def activation_name(act: Any) -> str:
    """The float activation behind a Keras activation name or a QKeras activation quantizer."""
    if act is None:
        return "linear"
    if isinstance(act, dict):
        name = act.get("class_name", "")
    elif isinstance(act, str):
        name = act.split("(")[0].strip()
    else:  # a function or a quantizer object
        name = getattr(act, "__name__", type(act).__name__)
    name = _QKERAS_FLOAT.get(name, name)
    if name not in ACTIVATIONS:
        raise ValueError(f"no float reference for activation {act!r}; known: {', '.join(ACTIVATIONS)}")
    return name


def float_states(x: np.ndarray, kernel: np.ndarray, recurrent_kernel: np.ndarray, bias: np.ndarray | None,
                 cell: str, activation: str = "tanh", recurrent_activation: str = "sigmoid") -> dict[str, np.ndarray]:
    """Float64 states of a Keras GRU (``reset_after=True``) or LSTM at every time step.

    Parameters
    ----------
    x : ``(n, T, n_in)`` float input.
    kernel, recurrent_kernel : Keras layouts ``(n_in, k*n)`` and ``(n, k*n)``; gate order
        GRU ``[z|r|h]``, LSTM ``[i|f|c|o]``.
    bias : GRU ``(2, 3n)`` (input and recurrent bias), LSTM ``(4n,)``, or None.

    Returns
    -------
    ``{"h": (n, T, n_state)}`` and, for an LSTM, ``"c"`` too.
    """
    x = np.asarray(x, dtype=np.float64)
    W = np.asarray(kernel, dtype=np.float64)
    U = np.asarray(recurrent_kernel, dtype=np.float64)
    n_state = U.shape[0]
    act, rec = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    n, steps, _ = x.shape
    h = np.zeros((n, n_state))
    hs = np.empty((n, steps, n_state))
    if cell == "gru":
        b = np.zeros((2, 3 * n_state)) if bias is None else np.asarray(bias, dtype=np.float64).reshape(2, 3 * n_state)
        for t in range(steps):
            zx = x[:, t] @ W + b[0]
            zh = h @ U + b[1]
            z = rec(zx[:, :n_state] + zh[:, :n_state])
            r = rec(zx[:, n_state:2 * n_state] + zh[:, n_state:2 * n_state])
            hc = act(zx[:, 2 * n_state:] + r * zh[:, 2 * n_state:])
            h = z * h + (1.0 - z) * hc
            hs[:, t] = h
        return {"h": hs}
    if cell == "lstm":
        b = np.zeros(4 * n_state) if bias is None else np.asarray(bias, dtype=np.float64).reshape(4 * n_state)
        c = np.zeros((n, n_state))
        cs = np.empty((n, steps, n_state))
        for t in range(steps):
            pre = x[:, t] @ W + h @ U + b
            i = rec(pre[:, :n_state])
            f = rec(pre[:, n_state:2 * n_state])
            g = act(pre[:, 2 * n_state:3 * n_state])
            o = rec(pre[:, 3 * n_state:])
            c = f * c + i * g
            h = o * act(c)
            hs[:, t], cs[:, t] = h, c
        return {"h": hs, "c": cs}
    raise ValueError(f"unknown recurrent cell {cell!r}; expected 'gru' or 'lstm'")


def keras_float_states(model: Any, layer_name: str, x: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`float_states` of one GRU/LSTM layer of a Keras model, from its float twin.

    The layer's input is what the float model computes up to that layer; the
    weights are the layer's raw (float) weights, QKeras quantizers left out.
    """
    import tensorflow as tf

    from fxsim.pipeline import float_twin

    twin = float_twin(model)
    layer = twin.get_layer(layer_name)
    cls = type(layer).__name__.lower()
    if cls not in ("gru", "lstm"):
        raise ValueError(f"layer {layer_name!r} is a {type(layer).__name__}, not a GRU or LSTM")
    cfg = layer.get_config()
    if cls == "gru" and not cfg.get("reset_after", True):
        raise ValueError(f"GRU {layer_name!r} has reset_after=False, which hls4ml 1.3.0 does not build correctly")
    if layer.input is twin.input:
        x_in = np.asarray(x, dtype=np.float64)
    else:
        sub = tf.keras.Model(twin.input, layer.input)
        x_in = np.asarray(sub.predict(x, batch_size=2048, verbose=0), dtype=np.float64)
    weights = layer.get_weights()
    bias = weights[2] if len(weights) > 2 else None
    return float_states(x_in, weights[0], weights[1], bias, cls, activation_name(cfg.get("activation")),
                        activation_name(cfg.get("recurrent_activation")))


@dataclass
class Drift:
    """Per-step statistics of ``hardware - float`` for one state of one layer.

    Arrays have one entry per time step; ``lsb`` is the state type's LSB, so
    ``mean_abs / lsb`` is the drift in hardware LSBs.
    """

    layer: str
    state: str
    type: FixedType
    mean_abs: np.ndarray
    rms: np.ndarray
    p99: np.ndarray
    max_abs: np.ndarray
    mean: np.ndarray

    @property
    def lsb(self) -> float:
        return self.type.lsb

    @property
    def steps(self) -> int:
        return len(self.mean_abs)

    def growth(self) -> float:
        """Mean |drift| at the last step over that at the first (how much the recurrence amplifies it)."""
        first = self.mean_abs[0]
        return float(self.mean_abs[-1] / first) if first > 0 else float("inf") if self.mean_abs[-1] > 0 else 1.0


def drift(layer: str, state: str, hardware: np.ndarray, reference: np.ndarray, t: FixedType) -> Drift:
    """Statistics of ``hardware - reference`` per time step (arrays ``(n, T, n_state)``)."""
    hardware = np.asarray(hardware, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if hardware.shape != reference.shape:
        raise ValueError(
            f"{layer}/{state}: hardware states {hardware.shape} and float states {reference.shape} differ in shape"
        )
    d = (hardware - reference).reshape(hardware.shape[0], hardware.shape[1], -1)
    a = np.abs(d)
    per_step = a.transpose(1, 0, 2).reshape(a.shape[1], -1)
    return Drift(
        layer=layer, state=state, type=t,
        mean_abs=per_step.mean(axis=1),
        rms=np.sqrt((d.transpose(1, 0, 2).reshape(a.shape[1], -1) ** 2).mean(axis=1)),
        p99=np.percentile(per_step, 99, axis=1),
        max_abs=per_step.max(axis=1),
        mean=d.transpose(1, 0, 2).reshape(a.shape[1], -1).mean(axis=1),
    )


def recurrent_drift(study, point=None, n_samples: int = 2000) -> list[Drift]:
    """Drift of every LSTM/GRU state of the study's model at ``point`` (default: base).

    Uses the first ``n_samples`` inputs; the hardware states come from fxsim's trace.
    """
    from fxsim.analysis.space import Point  # noqa: F401  (type of ``point``)

    point = point or study.space.base
    x = study.x[:n_samples]
    fx = study.emulate(point)
    _, trace = fx.trace(x)
    out = []
    for spec in fx.layers:
        cell = getattr(spec, "cell", None)
        if cell not in STATE_NAMES:
            continue
        ref = keras_float_states(study.model, spec.name, x)
        for state in STATE_NAMES[cell]:
            key = f"{spec.name}/{state}"
            if key not in trace:
                raise ValueError(f"fxsim's trace has no {key!r}; it has {sorted(k for k in trace if '/' in k)}")
            out.append(drift(spec.name, state, trace[key], ref[state], trace.types[key]))
    return out
