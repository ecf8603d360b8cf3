"""Fuzz draws of hls4ml's wrapper layers for ``scripts/fuzz_csim.py --wrappers P --stacked Q``.

:func:`with_wrappers` turns ``fuzz_csim.build_trial`` into a builder that, with
probability ``P`` each (drawn from its own stream, so every other draw stays as
without it), rebuilds a recurrent trial with its ``rnn`` inside ``Bidirectional``
(merge_mode='concat', the one hls4ml builds) and, after ``return_sequences``, a
``TimeDistributed(Dense)`` before the Flatten; with probability ``Q`` it puts a
second recurrent layer ``rnn0`` of the same kind (``return_sequences=True``, as many
units as ``rnn`` has inputs, so ``rnn``'s reuse factor stays valid) in front of
``rnn``: stacked LSTM → LSTM or GRU → GRU. ``rnn0`` takes ``rnn``'s hls4ml settings
(types, table, Static; reuse factor 1 under Resource), which also keeps hls4ml 1.3.0's
LSTM rule input == accum == result. The rebuilt layers keep their configs (seeded
initializers), so the draw is reproducible.
"""

from __future__ import annotations

import copy

import numpy as np


def with_wrappers(build_trial, p: float, seed: int, stacked: float = 0.0):
    """``build_trial(rng, keras, ...)`` with the wrapper and stacking draws added (see the module)."""
    if p <= 0 and stacked <= 0:
        return build_trial

    def build(rng, keras, *args):
        model, cfg, scale = build_trial(rng, keras, *args)
        wrng = np.random.default_rng([seed, int(rng.integers(2**31)), 11])
        names = [layer.name for layer in model.layers]
        if "rnn" not in names:
            return model, cfg, scale
        bidir = bool(wrng.random() < p)
        td = "flat" in names and bool(wrng.random() < p)
        # its own stream again: the Bidirectional/TimeDistributed draws stay as without --stacked
        srng = np.random.default_rng([seed, int(rng.integers(2**31)), 17]) if stacked > 0 else None
        stack = srng is not None and bool(srng.random() < stacked)
        if not (bidir or td or stack):
            return model, cfg, scale
        return _rebuild(keras, model, cfg, wrng, bidir, td, stack), cfg, scale

    return build


def _fresh(keras, layer):
    return type(layer).from_config(layer.get_config())


def _stacked_first(layer, names: dict):
    """``rnn0``: a copy of ``layer``'s kind returning sequences, ``units`` = ``layer``'s input features."""
    config = layer.get_config()
    config.update(name="rnn0", units=int(layer.input_shape[-1]), return_sequences=True)
    entry = copy.deepcopy(names["rnn"])
    if entry.get("Strategy") == "Resource":
        entry["ReuseFactor"] = 1  # valid for every kernel size
    names["rnn0"] = entry
    return type(layer).from_config(config)


def _rebuild(keras, model, cfg: dict, wrng, bidir: bool, td: bool, stack: bool = False):
    k = keras
    h = inp = k.Input(model.input_shape[1:], name="x")
    names = cfg["LayerName"]
    for layer in model.layers[1:]:
        if layer.name == "rnn" and stack:
            h = _stacked_first(layer, names)(h)  # before the Bidirectional renaming of rnn's keys
        if layer.name == "rnn" and bidir:
            h = k.layers.Bidirectional(_fresh(k, layer), name="rnn")(h)
            prec = names["rnn"].get("Precision", {})
            for key in ("weight", "bias", "recurrent_weight", "recurrent_bias"):
                if key in prec:
                    value = prec.pop(key)
                    for d in ("forward", "backward"):
                        prec[f"{d}_{key}"] = value
            continue
        if layer.name == "flat" and td:
            n_out = int(wrng.integers(2, 6))
            init = k.initializers.RandomNormal(stddev=0.5, seed=int(wrng.integers(2**31)))
            h = k.layers.TimeDistributed(k.layers.Dense(n_out, kernel_initializer=init, name="tdd"), name="td")(h)
            entry = names.setdefault("tdd", {})
            entry.setdefault("Precision", {})["weight"] = f"fixed<{int(wrng.integers(6, 14))},2>"
            # hls4ml 1.3.0 copies the step with read_time_step_2d<input type> into the loop start's array,
            # which gets the model default type unless configured: give it the recurrent output's type
            # (else the C++ does not compile; docs/wrappers.md, quirk 6)
            rnn_result = names["rnn"].get("Precision", {}).get("result")
            if rnn_result is not None:
                names.setdefault("td", {}).setdefault("Precision", {})["result"] = rnn_result
            if names.get("fc0", {}).get("Strategy") == "Resource":
                entry["Strategy"] = "Resource"
                entry["ReuseFactor"] = 1
        h = _fresh(k, layer)(h)
    fc = [name for name in names if name.startswith("fc")]
    for name in fc:  # the first Dense's input size changed: a reuse factor valid for any size
        if names[name].get("Strategy") == "Resource":
            names[name]["ReuseFactor"] = 1
    return k.Model(inp, h)
