#!/usr/bin/env python
"""Random differential campaign: fxsim against hls4ml's C simulation, code for code.

Each trial draws a random model (Dense stacks with every activation and softmax
implementation, or an LSTM/GRU front followed by Dense layers), a random hls4ml
configuration (widths 4..32, every rounding and overflow mode in accum/result,
odd table sizes, narrow table_t, Latency/Resource with valid reuse factors, static
or not, return_sequences) and inputs large enough to overflow; it compiles the
traced project, compares every layer's codes and prints one line. The summary
gives models tried / compiled / codes compared / mismatches. Mismatching trials
are saved (Keras model + config + inputs) under ``--out`` for replay.

    .venv/bin/python scripts/fuzz_csim.py --models 300 --seed 1
    .venv-keras3/bin/python scripts/fuzz_csim.py --frontend keras3 --models 100
    .venv-keras3/bin/python scripts/fuzz_csim.py --frontend torch --models 100

``--frontend`` picks who builds the model: ``keras2`` (tf.keras, the default, in
.venv), ``keras3`` (Keras 3 on the torch backend, hls4ml's keras-v3 parser) or
``torch`` (an ``nn.GRU``/``nn.LSTM`` module with Linear layers and activations,
hls4ml's pytorch converter through :func:`fxsim.frontends.torch.convert`).
"""

from __future__ import annotations

import argparse
import faulthandler
import functools
import json
import os
import pickle
import re
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROUNDING = ["TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_MIN_INF", "RND_CONV"]
OVERFLOW = ["WRAP", "SAT", "SAT_ZERO", "SAT_SYM"]


def rand_type(rng, lo=4, hi=32, int_lo=1, int_hi=10, modes=True, signed=True) -> str:
    width = int(rng.integers(lo, hi + 1))
    integer = int(rng.integers(int_lo, min(int_hi, width) + 1))
    kind = "ap_fixed" if signed else "ap_ufixed"
    if modes and rng.random() < 0.7:
        return f"{kind}<{width},{integer},AP_{rng.choice(ROUNDING)},AP_{rng.choice(OVERFLOW)}>"
    return f"{kind}<{width},{integer}>"


def valid_rfs(n_in: int, n_out: int) -> list[int]:
    """hls4ml's ``_validate_reuse_factor`` over 1..n_in*n_out."""
    out = []
    for rf in range(1, n_in * n_out + 1):
        mult = -(-(n_in * n_out) // min(n_in, rf))
        ok = (mult % n_out == 0 or rf >= n_in) and (rf % n_in == 0 or rf < n_in) and (n_in * n_out) % rf == 0
        if ok:
            out.append(rf)
    return out


def conv_front(crng, k, h, t_steps: int, n_in: int) -> tuple:
    """A random Conv1D front-end (+ optional ZeroPadding1D / pooling) drawn from ``crng`` only.

    Returns ``(h, layers_info)``; the recurrent layer's own draws are untouched.
    """
    def init(std):
        return k.initializers.RandomNormal(stddev=std, seed=int(crng.integers(2**31)))

    info = []
    steps = t_steps
    if crng.random() < 0.3:
        left, right = int(crng.integers(0, 3)), int(crng.integers(0, 3))
        h = k.layers.ZeroPadding1D((left, right), name="zp")(h)
        steps += left + right
        info.append(("zp", "zeropad", {}))
    kernel = int(crng.integers(1, 5))
    stride = int(crng.integers(1, 3))
    padding = str(crng.choice(["valid", "same", "causal"])) if steps >= kernel else "same"
    if padding == "causal" and stride > 1:
        padding = "same"
    filters = int(crng.integers(2, 7))
    act = str(crng.choice(["relu", "relu", "linear"]))
    h = k.layers.Conv1D(filters, kernel, strides=stride, padding=padding, activation=act, name="conv",
                        kernel_initializer=init(float(crng.choice([0.3, 1.0]))), bias_initializer=init(0.5))(h)
    steps = -(-steps // stride) if padding != "valid" else (steps - kernel) // stride + 1  # the output steps
    info.append(("conv", "conv", {"n_in": kernel * n_in, "n_out": filters}))
    if act == "relu":
        info.append(("conv_relu", "relu", {}))
    if crng.random() < 0.4 and steps >= 2:
        cls = k.layers.MaxPooling1D if crng.random() < 0.5 else k.layers.AveragePooling1D
        pad = str(crng.choice(["valid", "same"]))
        h = cls(2, strides=int(crng.integers(1, 3)), padding=pad, name="pool")(h)
        info.append(("pool", "pool", {}))
    return h, info


def build_trial(rng, keras, conv_rng=None, conv_p: float = 0.0, kind_rng=None, recurrent_p: float = 0.0):
    """A random Keras model, its hls4ml config and the input scale.

    With ``conv_rng`` and probability ``conv_p``, a recurrent model gets a Conv1D front-end
    (:func:`conv_front`, drawn from ``conv_rng`` so every other draw stays as without it).
    With ``kind_rng`` and probability ``recurrent_p``, a draw of a Dense-only model becomes
    an LSTM or GRU model instead (``--recurrent``: more of the campaign on the recurrent
    layers and their front-ends and wrappers).
    """
    import hls4ml

    k = keras
    std = float(rng.choice([0.3, 1.0, 2.0]))

    def init():
        return k.initializers.RandomNormal(stddev=std, seed=int(rng.integers(2**31)))

    def binit():
        return k.initializers.RandomNormal(stddev=0.5, seed=int(rng.integers(2**31)))

    kind = rng.choice(["dense", "dense", "lstm", "gru"])
    if kind == "dense" and kind_rng is not None and kind_rng.random() < recurrent_p:
        kind = str(kind_rng.choice(["lstm", "gru"]))
    layers_info = []  # (name, kind, extra)
    front = []  # the Conv1D front-end's layers_info
    if kind == "dense":
        n_in = int(rng.integers(2, 12))
        inp = k.Input((n_in,), name="x")
        h = inp
    else:
        t_steps, n_in = int(rng.integers(3, 10)), int(rng.integers(2, 6))
        inp = k.Input((t_steps, n_in), name="x")
        front = []
        h = inp
        if conv_rng is not None and conv_rng.random() < conv_p:
            h, front = conv_front(conv_rng, k, inp, t_steps, n_in)
        n_state = int(rng.integers(2, 12))
        ret_seq = bool(rng.random() < 0.4)
        cls = k.layers.LSTM if kind == "lstm" else k.layers.GRU
        act = str(rng.choice(["tanh", "tanh", "sigmoid", "relu"]))
        recr = str(rng.choice(["sigmoid", "sigmoid", "tanh"]))
        h = cls(n_state, activation=act, recurrent_activation=recr, return_sequences=ret_seq, name="rnn",
                kernel_initializer=init(), recurrent_initializer=init(), bias_initializer=binit())(h)
        layers_info.append(("rnn", kind, {}))
        if ret_seq:
            h = k.layers.Flatten(name="flat")(h)
    n_dense = int(rng.integers(1, 4))
    for i in range(n_dense):
        n_out = int(rng.integers(2, 12))
        h = k.layers.Dense(n_out, name=f"fc{i}", kernel_initializer=init(), bias_initializer=binit())(h)
        layers_info.append((f"fc{i}", "dense", {}))
        last = i == n_dense - 1
        # Keras 3's hard_sigmoid is relu6(x + 3) / 6, not Keras 2's 0.2 x + 0.5 that hls4ml implements
        hard = ["hard_sigmoid"] if int(getattr(k, "__version__", "2").split(".")[0]) < 3 else []  # tf.keras has none
        choice = str(rng.choice(["none", "relu", "leaky", "sigmoid", "tanh", "linear", *hard]
                                + (["softmax"] * 2 if last else [])))
        if choice == "leaky":
            h = k.layers.LeakyReLU(float(rng.choice([0.05, 0.1, 0.3])), name=f"act{i}")(h)
        elif choice != "none":
            h = k.layers.Activation(choice, name=f"act{i}")(h)
        if choice != "none":
            layers_info.append((f"act{i}", choice, {}))
    model = k.Model(inp, h)

    default = rand_type(rng, 8, 20, 3, 8, modes=False)
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado", default_precision=default)
    names = cfg["LayerName"]
    if rng.random() < 0.7:
        names["x"]["Precision"]["result"] = rand_type(rng, 6, 20, 2, 8)
    strategy_resource = rng.random() < 0.35
    for name, lkind, _ in layers_info:
        prec = names[name].setdefault("Precision", {})
        if lkind in ("dense", "lstm", "gru"):
            if rng.random() < 0.8:
                prec["weight"] = rand_type(rng, 4, 16, 1, 4, modes=rng.random() < 0.2)
                prec["bias"] = rand_type(rng, 4, 16, 1, 6, modes=rng.random() < 0.2)
            if rng.random() < 0.8:
                # recurrent kernels multiply two accum_t values exactly in int64: keep them <= 28 bits
                prec["accum"] = rand_type(rng, 6, 32 if lkind == "dense" else 28, 3, 12)
            if rng.random() < 0.8:
                prec["result"] = rand_type(rng, 4, 24, 2, 10)
        if lkind in ("lstm", "gru"):
            if rng.random() < 0.5:
                prec["recurrent_weight"] = rand_type(rng, 4, 16, 1, 4, modes=False)
            if rng.random() < 0.6:
                names[name]["table_t"] = rand_type(rng, 6, 20, 1, 3)
            if rng.random() < 0.6:
                names[name]["TableSize"] = int(rng.choice([64, 128, 333, 500, 1000, 1024, 2048]))
            names[name]["Static"] = bool(rng.random() < 0.7)
            if lkind == "lstm":
                # hls4ml 1.3.0's LSTM compiles only with input == accum == result
                t = prec.get("result", default)
                prec["accum"] = prec["result"] = t
                names["x"]["Precision"]["result"] = t
                if front:  # the LSTM's input is the front-end's last result
                    names[front[-1][0]].setdefault("Precision", {})["result"] = t
        if lkind in ("sigmoid", "tanh"):
            if rng.random() < 0.6:
                names[name]["table_t"] = rand_type(rng, 6, 24, 1, 3)
            if rng.random() < 0.6:
                names[name]["TableSize"] = int(rng.choice([50, 128, 333, 1000, 1024, 4096]))
            if rng.random() < 0.7:
                prec["result"] = rand_type(rng, 4, 18, 1, 4)
        elif lkind in ("relu", "leaky", "hard_sigmoid", "linear"):
            if rng.random() < 0.7:
                prec["result"] = rand_type(rng, 4, 18, 1, 6, signed=lkind != "leaky" and rng.random() < 0.3)
        elif lkind == "softmax":
            impl = str(rng.choice(["stable", "latency", "legacy", "argmax"]))
            names[name]["Implementation"] = impl
            if impl in ("stable", "latency"):
                names[name]["TableSize"] = int(rng.choice([64, 256, 1024]))
                if rng.random() < 0.5:
                    names[name]["exp_table_t"] = rand_type(rng, 10, 18, 4, 8)
                    names[name]["inv_table_t"] = rand_type(rng, 10, 18, 4, 8)
                if rng.random() < 0.5:
                    prec["accum"] = rand_type(rng, 10, 20, 4, 8)
            if rng.random() < 0.7:
                prec["result"] = rand_type(rng, 6, 18, 1, 4)
        if strategy_resource and lkind in ("dense", "lstm", "gru"):
            names[name]["Strategy"] = "Resource"
    if strategy_resource:
        cfg["Model"]["Strategy"] = "Resource"
        for name, lkind, _ in layers_info:
            if lkind == "dense":
                layer = model.get_layer(name)
                n_in_l, n_out_l = layer.kernel.shape
                names[name]["ReuseFactor"] = int(rng.choice(valid_rfs(int(n_in_l), int(n_out_l))))
            elif lkind in ("lstm", "gru"):
                layer = model.get_layer(name)
                n_in_l, n_out_l = layer.cell.kernel.shape
                n_st = int(layer.cell.units)
                common = sorted(set(valid_rfs(int(n_in_l), int(n_out_l))) & set(valid_rfs(n_st, int(n_out_l))))
                names[name]["ReuseFactor"] = int(rng.choice(common))
    if front:
        _configure_front(conv_rng, names, front, strategy_resource,
                         names["rnn"]["Precision"].get("result", default) if kind == "lstm" else None)
    scale = float(rng.choice([0.5, 2.0, 8.0, 40.0]))
    return model, cfg, scale


def _configure_front(crng, names: dict, front: list, resource: bool, lstm_t: str | None) -> None:
    """Random types (and Resource reuse factors) for the Conv1D front-end's layers, from ``crng``."""
    for name, lkind, extra in front:
        prec = names[name].setdefault("Precision", {})
        if lkind == "conv":
            if crng.random() < 0.8:
                prec["weight"] = rand_type(crng, 4, 16, 1, 4, modes=crng.random() < 0.2)
                prec["bias"] = rand_type(crng, 4, 16, 1, 6, modes=crng.random() < 0.2)
            if crng.random() < 0.8:
                prec["accum"] = rand_type(crng, 6, 32, 3, 12)
            if crng.random() < 0.8:
                prec["result"] = rand_type(crng, 4, 24, 2, 10)
            if resource:
                names[name]["Strategy"] = "Resource"
                rfs = [r for r in valid_rfs(extra["n_in"], extra["n_out"]) if r <= extra["n_in"]]
                names[name]["ReuseFactor"] = int(crng.choice(rfs))
        elif lkind == "pool" and crng.random() < 0.7:
            prec["accum"] = rand_type(crng, 6, 24, 2, 10)
            prec["result"] = rand_type(crng, 4, 24, 2, 10)
        elif lkind == "relu" and crng.random() < 0.7:
            prec["result"] = rand_type(crng, 4, 18, 1, 6, signed=crng.random() < 0.7)
    if lstm_t is not None:
        names[front[-1][0]]["Precision"]["result"] = lstm_t


def build_torch_trial(rng):
    """A random PyTorch module (GRU/LSTM, batch_first, then Linear layers and activations),
    a per-layer precision spec (fxsim.precision: the keys hls4ml reads), the input scale,
    the input shape (T, F) and the hls4ml options."""
    import torch
    from torch import nn

    torch.manual_seed(int(rng.integers(2**31)))
    cell = str(rng.choice(["gru", "lstm"]))
    t_steps, n_in, n_state = int(rng.integers(3, 10)), int(rng.integers(2, 6)), int(rng.integers(2, 12))
    std = float(rng.choice([0.3, 1.0, 2.0]))
    layers = {"rnn": (nn.GRU if cell == "gru" else nn.LSTM)(n_in, n_state, batch_first=True)}
    n_dense, width, acts = int(rng.integers(1, 4)), n_state, {}
    for i in range(n_dense):
        n_out = int(rng.integers(2, 12))
        layers[f"fc{i}"] = nn.Linear(width, n_out)
        width = n_out
        act = str(rng.choice(["none", "relu", "sigmoid", "tanh"]))
        if act != "none":
            layers[f"act{i}"] = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[act]()
            acts[f"act{i}"] = act

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            for name, layer in layers.items():
                setattr(self, name, layer)

        def head(self, out):
            h = out[:, -1, :]
            for name in list(layers)[1:]:
                h = getattr(self, name)(h)
            return h

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out)

    class NetH0(Net):  # initial-state inputs: hls4ml's GRU(x, h0)
        def forward(self, x, h0):
            out, _ = self.rnn(x, h0)
            return self.head(out)

    class NetH0C0(Net):  # LSTM(x, (h0, c0))
        def forward(self, x, h0, c0):
            out, _ = self.rnn(x, (h0, c0))
            return self.head(out)

    states = rng.random() < 0.3
    net = (NetH0C0 if cell == "lstm" else NetH0)().eval() if states else Net().eval()
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.normal_(0.0, 0.5 if "bias" in name else std)
    default = rand_type(rng, 8, 20, 3, 8, modes=False)
    spec = {"x": {"result": rand_type(rng, 6, 20, 2, 8)}} if rng.random() < 0.7 else {}
    resource = rng.random() < 0.35
    for name in layers:
        entry = spec.setdefault(name, {})
        if name == "rnn" or name.startswith("fc"):
            if rng.random() < 0.8:
                entry["weight"] = rand_type(rng, 4, 16, 1, 4, modes=rng.random() < 0.2)
                entry["bias"] = rand_type(rng, 4, 16, 1, 6, modes=rng.random() < 0.2)
            if rng.random() < 0.8:
                entry["accum"] = rand_type(rng, 6, 28 if name == "rnn" else 32, 3, 12)
            if rng.random() < 0.8:
                entry["result"] = rand_type(rng, 4, 24, 2, 10)
        if name == "rnn":
            if rng.random() < 0.5:
                entry["recurrent_weight"] = rand_type(rng, 4, 16, 1, 4, modes=False)
            if rng.random() < 0.5:
                entry["recurrent_bias"] = rand_type(rng, 4, 16, 1, 6)
            if rng.random() < 0.6:
                entry["table_t"] = rand_type(rng, 6, 20, 1, 3)
            if rng.random() < 0.6:
                entry["TableSize"] = int(rng.choice([64, 128, 333, 500, 1000, 1024, 2048]))
            if cell == "lstm":  # hls4ml 1.3.0's LSTM compiles only with input == accum == result
                t = entry.get("result", default)
                entry["accum"] = entry["result"] = t
                spec.setdefault("x", {})["result"] = t
            if resource:
                common = sorted(set(valid_rfs(n_in, (3 if cell == "gru" else 4) * n_state))
                                & set(valid_rfs(n_state, (3 if cell == "gru" else 4) * n_state)))
                entry["ReuseFactor"] = int(rng.choice(common))
                if cell == "gru":  # fxsim refuses PyTorch GRU + Resource with a saturating accum_t
                    entry["accum"] = re.sub(r",AP_(SAT_ZERO|SAT_SYM|SAT)\b", ",AP_WRAP", entry.get("accum", default))
        elif name.startswith("fc") and resource:
            layer = layers[name]
            entry["ReuseFactor"] = int(rng.choice(valid_rfs(layer.in_features, layer.out_features)))
        elif name in acts:
            if acts[name] in ("sigmoid", "tanh") and rng.random() < 0.6:
                entry["table_t"] = rand_type(rng, 6, 24, 1, 3)
            if rng.random() < 0.7:
                entry["result"] = rand_type(rng, 4, 18, 1, 4)
    shape = (t_steps, n_in)
    if states:  # hls4ml's *_stack with initial states compiles only with these types equal
        rnn = spec.setdefault("rnn", {})
        for a, b in (("weight", "recurrent_weight"), ("bias", "recurrent_bias")):
            if a in rnn:
                rnn[b] = rnn[a]
            else:
                rnn.pop(b, None)
        names = ["h0", "c0"] if cell == "lstm" else ["h0"]
        for name in names:
            spec[name] = {"result": rnn.get("result", default)}
        shape = [shape] + [(n_state,)] * len(names)
    spec = {k: v for k, v in spec.items() if v}
    options = {"default_precision": default, **({"strategy": "Resource"} if resource else {})}
    return net, spec, float(rng.choice([0.5, 2.0, 8.0, 40.0])), shape, options


def csim_trace(hls_model, x: np.ndarray):
    """hls4ml's own ``ModelGraph.trace(x)`` (g++ build with every layer traced, then the C simulation).

    Only hls4ml and ctypes run here (no numba, TensorFlow or torch), so :func:`run_guarded`
    can run it in a forked child.
    """
    from fxsim.frontends.keras import quiet_stdout

    for layer in hls_model.get_layers():
        layer.set_attr("trace", True)
    with quiet_stdout():
        return hls_model.trace(np.ascontiguousarray(np.asarray(x, dtype=np.float64)))


def csim_predict(hls_model, xs) -> np.ndarray:
    """hls4ml's ``compile()`` and ``predict([x, h0, ...])`` (a model with initial-state inputs, not traced)."""
    from fxsim.frontends.keras import quiet_stdout

    with quiet_stdout():
        hls_model.compile()
        return np.asarray(hls_model.predict([np.ascontiguousarray(a) for a in xs]))


def check_states(hls_model, xs, y: np.ndarray):
    """``(codes compared, mismatches)`` of the output for a model with initial-state inputs.

    :func:`fxsim.csim.crosscheck` traces single-input models; here the compiled model's
    ``predict([x, h0, ...])`` output ``y`` (:func:`csim_predict`) is compared with fxsim's.
    """
    from fxsim import from_hls4ml
    from fxsim.fixed import to_codes

    fx = from_hls4ml(hls_model)
    ours = fx.predict_codes(xs)
    return int(ours.size), int(np.sum(ours != to_codes(y.reshape(ours.shape), fx.output_t)))


def layer_family(model, name: str) -> str:
    """The layer family a traced hls4ml layer of a fuzz model belongs to (by the names the draws give)."""
    layers = {layer.name: layer for layer in model.layers}
    if name.startswith("conv"):
        return "Conv1D"
    if name == "pool":
        return type(layers["pool"]).__name__
    if name == "zp":
        return "ZeroPadding1D"
    if name in ("rnn", "rnn0"):
        layer = layers[name]
        inner = layer.layer if type(layer).__name__ == "Bidirectional" else layer
        cell = type(inner).__name__
        if name == "rnn0":
            return f"stacked {cell} -> {cell}"
        return f"Bidirectional({cell})" if inner is not layer else cell
    if name.startswith("td"):
        return "TimeDistributed(Dense)"
    if name in ("output", "x"):
        return {"x": "input", "output": "output"}[name]
    return "Dense/activation/softmax"


def family_counts(model, rep) -> dict[str, tuple[int, int]]:
    """``{family: (codes compared, mismatches)}`` over a crosscheck report's traced layers and its output."""
    out: dict[str, list[int]] = {}
    for c in [*rep.layers, rep.output]:
        fam = layer_family(model, c.layer) if c is not rep.output else "output"
        e = out.setdefault(fam, [0, 0])
        e[0] += c.compared
        e[1] += c.mismatches
    return {k: (v[0], v[1]) for k, v in out.items()}


def run_guarded(fn, timeout: float) -> dict:
    """``fn()`` in a forked child, so that an abort inside hls4ml's compiled C simulation
    (an ``assert`` in a ctypes call: SIGABRT, which Python cannot catch) ends the child,
    not the campaign.

    Returns ``{"ok": result}``, ``{"error": exception}`` (raised in the child, pickled back)
    or ``{"died": reason}`` (killed by a signal, exited without a result, or over ``timeout``
    seconds), with ``"stderr"``: the tail of what the child wrote there (the assert's message).
    ``fn`` must not run fxsim's numba kernels, TensorFlow or torch: their thread pools do not
    survive a fork (a child running fxsim after the parent had run it was terminated by
    GNU OpenMP, or returned wrong codes). The campaign forks only :func:`csim_trace` /
    :func:`csim_predict` and compares in the parent.
    """
    err_file = tempfile.TemporaryFile()
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    with warnings.catch_warnings():  # "multi-threaded, use of fork() may lead to deadlocks": see above
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: run, send the pickled outcome, leave without cleanup handlers
        os.close(read_fd)
        os.dup2(err_file.fileno(), 2)
        faulthandler.disable()  # an abort is reported by the parent, from the stderr kept here
        try:
            outcome = {"ok": fn()}
        except BaseException as exc:  # noqa: BLE001 -- every failure goes back to the parent
            outcome = {"error": exc, "traceback": traceback.format_exc()}
        try:
            data = pickle.dumps(outcome)
        except Exception as exc:  # an unpicklable result or exception: its text
            data = pickle.dumps({"error": RuntimeError(f"{type(exc).__name__}: {exc}")})
        with os.fdopen(write_fd, "wb") as fh:
            fh.write(data)
        os._exit(0)
    os.close(write_fd)
    chunks, deadline, timed_out = [], time.time() + timeout, False
    with os.fdopen(read_fd, "rb") as fh:
        while True:
            ready, _, _ = select.select([fh], [], [], max(0.0, deadline - time.time()))
            if not ready:
                timed_out = True
                os.kill(pid, signal.SIGKILL)
                break
            chunk = os.read(fh.fileno(), 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    err_file.seek(0)
    stderr = err_file.read().decode(errors="replace")[-2000:]
    err_file.close()
    if chunks and not timed_out:
        out = pickle.loads(b"".join(chunks))
    elif timed_out:
        out = {"died": f"no result after {timeout:.0f} s (killed)"}
    elif os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        out = {"died": f"killed by signal {sig} ({signal.Signals(sig).name})"}
    else:
        out = {"died": f"exited with status {os.WEXITSTATUS(status)} and no result"}
    out["stderr"] = stderr
    return out


def abort_reason(stderr: str) -> str:
    """The C++ ``assert`` line of a dead child's stderr (what hls4ml's C simulation said), or its last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    asserts = [line for line in lines if "Assertion" in line or "assert" in line]
    return (asserts or lines or ["(nothing on stderr)"])[-1][:400]


def fxsim_precheck(hls_model, x):
    """fxsim's refusal of a converted model, before anything is compiled: ``None`` or ``(reason, fixes)``.

    A model fxsim accepts is emulated on ``x`` (two samples) here, so the kernels are loaded in this
    process and a forked C-simulation child (:func:`run_guarded`) starts with them.
    """
    from types import SimpleNamespace

    from fxsim import UnsupportedLayerError, from_hls4ml
    from fxsim.doctor.recurrent_rules import recurrent_rf_findings

    try:
        fx = from_hls4ml(hls_model)
    except UnsupportedLayerError as err:
        findings = recurrent_rf_findings(SimpleNamespace(hls_model=hls_model))
        return str(err), [{"code": f.code, "layer": f.layer, "fix": f.fix, "details": f.details} for f in findings]
    fx.predict_codes(x)
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=300)
    ap.add_argument("--start", type=int, default=0, help="first trial index (trials are seeded by (seed, index))")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--wrappers", type=float, default=0.0,
                    help="probability of wrapping a recurrent layer in Bidirectional and of adding "
                         "TimeDistributed(Dense) after return_sequences (scripts/fuzz_wrappers.py)")
    ap.add_argument("--stacked", type=float, default=0.0,
                    help="probability of a second recurrent layer of the same kind (return_sequences) in front "
                         "of the recurrent layer: stacked LSTM -> LSTM / GRU -> GRU (scripts/fuzz_wrappers.py)")
    ap.add_argument("--recurrent", type=float, default=0.0,
                    help="probability that a Dense-only draw becomes a recurrent model instead (own stream; "
                         "0, the default, gives the same models as before)")
    ap.add_argument("--out", type=Path, default=Path("runs/fuzz_csim"))
    ap.add_argument("--frontend", choices=["keras2", "keras3", "torch"], default="keras2")
    ap.add_argument("--trial-timeout", type=float, default=1800.0,
                    help="seconds a trial's build + C simulation (in a forked child) may take before it is killed")
    ap.add_argument("--conv", type=float, default=0.0,
                    help="probability that a recurrent model gets a Conv1D (+ padding / pooling) front-end "
                         "(drawn from its own stream: 0, the default, gives the same models as before)")
    args = ap.parse_args(argv)

    if args.frontend == "keras2":
        from tensorflow import keras
    elif args.frontend == "keras3":
        os.environ.setdefault("KERAS_BACKEND", "torch")
        from fxsim.frontends.keras3 import import_keras3

        keras = import_keras3()
    else:
        keras = None

    from fxsim import UnsupportedLayerError, crosscheck

    from fuzz_wrappers import with_wrappers

    build_trial = with_wrappers(globals()["build_trial"], args.wrappers, args.seed, args.stacked)
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="fxsim-fuzz-"))
    tried = compiled = refused = failed_build = aborted = 0
    aborted_trials: list[int] = []
    refusals: dict[str, int] = {}  # first line of fxsim's refusal -> trials
    codes = bad = 0
    bad_models: list[int] = []
    kinds: dict[str, int] = {}
    families: dict[str, dict[str, int]] = {}  # family -> trials / codes / mismatches (see layer_family)
    log = (args.out / f"trials-seed{args.seed}.jsonl").open("a")
    start = time.time()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))  # finish the trial, then print the summary
    for trial in range(args.start, args.start + args.models):
        if stop:
            print("stopped early (SIGTERM)")
            break
        rng = np.random.default_rng([args.seed, trial])
        if keras is not None:
            keras.backend.clear_session()
            keras.utils.set_random_seed(int(rng.integers(2**31)))
        tried += 1
        try:
            if keras is None:
                model, cfg, scale, shape, options = build_torch_trial(rng)
            else:
                model, cfg, scale = build_trial(rng, keras, np.random.default_rng([args.seed, trial, 7]), args.conv,
                                                np.random.default_rng([args.seed, trial, 13]), args.recurrent)
                shape = model.input_shape[1:]
        except Exception as err:  # a draw Keras/hls4ml cannot even configure
            print(f"[{trial:4d}] skipped draw: {err}")
            continue
        shapes = shape if isinstance(shape, list) else [shape]  # [x, h0, c0] with initial states
        xs = []
        for i, s in enumerate(shapes):
            a = rng.normal(0.0, scale if i == 0 else 0.7, (args.samples, *s))
            a[args.samples // 2:] *= 2.0
            xs.append(np.round(a * 4096.0) / 4096.0)
        x = xs[0]
        layers = model.layers if keras is not None else [m for m in model.modules() if m is not model]
        kind = "+".join(sorted({type(layer).__name__ for layer in layers} - {"InputLayer"}))
        directory = work / f"t{trial}"
        refusal = None
        try:
            # convert here (TensorFlow / torch stay in this process), let fxsim refuse before anything
            # is compiled, then build and run the C simulation in a child an abort cannot take down
            if keras is None:
                from fxsim.frontends.torch import convert as convert_torch

                hls_model = convert_torch(model, cfg, input_shape=shape, output_dir=directory, **options).hls_model
            else:
                from fxsim.csim import convert as convert_keras

                hls_model = convert_keras(model, cfg, directory, trace=True)
            refusal = fxsim_precheck(hls_model, [a[:2] for a in xs] if len(xs) > 1 else x[:2])
            if refusal is not None:
                raise UnsupportedLayerError(refusal[0])
            outcome = run_guarded(
                functools.partial(csim_predict, hls_model, xs) if len(xs) > 1 else
                functools.partial(csim_trace, hls_model, x),
                args.trial_timeout)
            if "died" in outcome:
                aborted += 1
                aborted_trials.append(trial)
                reason = abort_reason(outcome["stderr"])
                print(f"[{trial:4d}] C SIMULATION DIED ({kind}): {outcome['died']}: {reason}")
                log.write(json.dumps({"seed": args.seed, "trial": trial, "kind": kind, "status": "csim-died",
                                      "reason": f"{outcome['died']}: {reason}",
                                      "seconds": round(time.time() - start, 1)}) + "\n")
                log.flush()
                continue
            if "error" in outcome:
                raise outcome["error"]
            rep = check_states(hls_model, xs, outcome["ok"]) if len(xs) > 1 else \
                crosscheck(hls_model, x, traced=outcome["ok"])
        except UnsupportedLayerError as err:
            refused += 1
            first = str(err).splitlines()[0]
            refusals[first] = refusals.get(first, 0) + 1
            fixes = refusal[1] if refusal is not None else []
            print(f"[{trial:4d}] refused by fxsim ({kind}): {err}")
            for f in fixes:
                print(f"       doctor {f['code']} ({f['layer']}): fix: {f['fix']}")
            log.write(json.dumps({"seed": args.seed, "trial": trial, "kind": kind, "status": "refused",
                                  "reason": str(err), "doctor": fixes,
                                  "seconds": round(time.time() - start, 1)}, default=str) + "\n")
            log.flush()
            continue
        except Exception as err:
            failed_build += 1
            print(f"[{trial:4d}] hls4ml could not build ({kind}): {type(err).__name__}: {str(err)[:200]}")
            if "Failed to compile" not in str(err):
                traceback.print_exc()
            continue
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        compiled += 1
        kinds[kind] = kinds.get(kind, 0) + 1
        if isinstance(rep, tuple):
            n_codes, n_bad = rep
            kind += "+h0"
        else:
            n_codes = sum(c.compared for c in rep.layers) + rep.output.compared
            n_bad = sum(c.mismatches for c in rep.layers) + rep.output.mismatches
        codes += n_codes
        bad += n_bad
        per_family = family_counts(model, rep) if keras is not None and not isinstance(rep, tuple) else {}
        for fam, (n_c, n_b) in per_family.items():
            entry = families.setdefault(fam, {"trials": 0, "codes": 0, "mismatches": 0})
            entry["trials"] += 1
            entry["codes"] += n_c
            entry["mismatches"] += n_b
        log.write(json.dumps({"seed": args.seed, "trial": trial, "kind": kind, "codes": n_codes, "mismatches": n_bad,
                              "families": per_family, "seconds": round(time.time() - start, 1)}) + "\n")
        log.flush()
        status = "ok" if n_bad == 0 else "MISMATCH"
        print(f"[{trial:4d}] {status:8s} {kind:40s} {n_codes:>9,} codes {n_bad:>6,} mismatches "
              f"({time.time() - start:7.0f} s)", flush=True)
        if n_bad:
            bad_models.append(trial)
            case = args.out / f"mismatch-seed{args.seed}-trial{trial}"
            case.mkdir(parents=True, exist_ok=True)
            if keras is None:
                import torch

                # the module's class is local to build_torch_trial (not picklable): its weights and
                # structure; the trial itself replays with --seed/--start
                torch.save(model.state_dict(), case / "state_dict.pt")
                (case / "module.txt").write_text(repr(model) + "\n")
            else:
                model.save(case / ("model.h5" if args.frontend == "keras2" else "model.keras"))
            (case / "config.json").write_text(json.dumps(cfg, indent=1, default=str))
            np.save(case / "x.npy", x)
            (case / "report.txt").write_text(str(rep))
            print(rep)
    shutil.rmtree(work, ignore_errors=True)
    print()
    print("fuzz_csim summary")
    print(f"  front-end            {args.frontend}")
    print(f"  seed                 {args.seed}")
    print(f"  models tried         {tried}")
    print(f"  compiled and compared {compiled}")
    print(f"  refused by fxsim     {refused}")
    print(f"  hls4ml build failed  {failed_build}")
    print(f"  C simulation died    {aborted}" + (f" (trials {aborted_trials})" if aborted_trials else ""))
    for reason, n in sorted(refusals.items()):
        print(f"  refused ({n}x): {reason[:160]}")
    print(f"  codes compared       {codes:,}")
    print(f"  mismatching codes    {bad:,}" + (f" (trials {bad_models})" if bad_models else ""))
    print(f"  wall time            {time.time() - start:.0f} s")
    print("  model kinds          " + ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items())))
    if families:
        print("  per layer family (trials with it; codes of its layers' traces; mismatches):")
        for fam, e in sorted(families.items()):
            print(f"    {fam:28s} {e['trials']:4d} trials {e['codes']:>11,} codes {e['mismatches']:>6,} mismatches")
    log.close()
    summary = {"frontend": args.frontend, "seed": args.seed, "start": args.start, "models": args.models,
               "samples": args.samples, "conv": args.conv, "wrappers": args.wrappers, "stacked": args.stacked,
               "recurrent": args.recurrent, "tried": tried, "compiled": compiled, "refused": refused,
               "build_failed": failed_build, "csim_died": aborted,
               "csim_died_trials": aborted_trials, "refusals": refusals, "codes": codes, "mismatches": bad,
               "mismatch_trials": bad_models,
               "seconds": round(time.time() - start, 1), "kinds": kinds, "families": families,
               "stopped_early": bool(stop)}
    (args.out / f"summary-seed{args.seed}-start{args.start}.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
