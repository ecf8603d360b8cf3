"""Runners of hls4ml's wrapper layers: ``Bidirectional`` on the recurrent kernels.

:class:`BidirectionalRunner` runs ``nnet::bidirectional_stack`` as two recurrent layers
(:mod:`fxsim.kernels.recurrent`, each prepared once): the forward one on the input
codes, the backward one on the time-reversed codes, then writes them out as hls4ml
does. Both directions run from a zero state for every sample; each keeps its own
state (hls4ml's ``static`` copies are separate per direction), so they are
independent and the order of the two calls within a time step does not matter.
"""

from __future__ import annotations


import numpy as np

from fxsim.fixed import FixedType
from fxsim.ir import BidirectionalSpec, RecurrentSpec
from fxsim.kernels import recurrent

DIRECTIONS = ("forward", "backward")


def static_only(spec: RecurrentSpec) -> bool:
    """Whether a ``bidirectional_stack`` direction is instantiated only as ``nnet::lstm_static``.

    ``lstm_stack`` instantiates both ``nnet::lstm`` (which only compiles when input,
    ``accum_t`` and ``result_t`` are one type) and ``lstm_static``; ``bidirectional_stack``
    instantiates only the one its ``static`` setting picks, and ``lstm_static`` compiles
    with three different types (verified with hls4ml 1.3.0). The kernel computes
    ``lstm_static`` for any types, so such a direction skips the one-type check
    (``static_only`` of :func:`fxsim.kernels.recurrent.check_recurrent_supported`).
    """
    return spec.cell == "lstm" and bool(spec.static)


def prepare_direction(spec: RecurrentSpec) -> recurrent.Prepared:
    """:func:`fxsim.kernels.recurrent.prepare` of one direction, under :func:`static_only`'s rule."""
    return recurrent.prepare(spec, static_only=static_only(spec))


class BidirectionalRunner:
    """``runner(codes[n, T, n_in], want_trace, want_counts)`` for a :class:`~fxsim.ir.BidirectionalSpec`.

    Overflow quantities and traced internals are those of the recurrent layers,
    named ``"forward/<quantity>"`` and ``"backward/<quantity>"``. The backward
    internals are indexed by input time step (step ``t`` is the state after reading
    ``x[T-1..t]``), like the layer's output.
    """

    def __init__(self, spec: BidirectionalSpec):
        if spec.merge_mode != "concat":
            raise ValueError(
                f"layer {spec.name!r} (Bidirectional): merge_mode {spec.merge_mode!r} is not emulated; "
                "hls4ml 1.3.0's bidirectional_stack always concatenates"
            )
        fwd, bwd = spec.forward, spec.backward
        if (fwd.input_t, fwd.result_t, fwd.n_timesteps, fwd.n_in, fwd.return_sequences) != \
                (bwd.input_t, bwd.result_t, bwd.n_timesteps, bwd.n_in, bwd.return_sequences):
            raise ValueError(
                f"layer {spec.name!r} (Bidirectional): the forward and backward layers must share the input "
                "type, result type, sequence and return_sequences (one bidirectional_stack call)"
            )
        self.spec = spec
        self.name = spec.name
        self.prepared = {d: prepare_direction(getattr(spec, d)) for d in DIRECTIONS}
        self.types: dict[str, FixedType] = {
            f"{d}/{q}": t for d in DIRECTIONS for q, t in recurrent.overflow_types(getattr(spec, d)).items()
        }

    def __call__(self, x: np.ndarray, want_trace: bool, want_counts: bool = True):
        s = self.spec
        n = x.shape[0]
        x3 = np.ascontiguousarray(x.reshape(n, s.forward.n_timesteps, s.forward.n_in))
        fwd = recurrent.run(s.forward, self.prepared["forward"], x3, want_trace, want_counts)
        bwd = recurrent.run(s.backward, self.prepared["backward"], np.ascontiguousarray(x3[:, ::-1]), want_trace,
                            want_counts)
        if s.return_sequences:
            # bidirectional_stack writes the backward state of loop step i at time T-1-i
            out = np.concatenate([fwd.out, bwd.out[:, ::-1]], axis=2)
        else:
            out = np.concatenate([fwd.out, bwd.out], axis=1)
        overflows = {f"{d}/{q}": v for d, r in zip(DIRECTIONS, (fwd, bwd)) for q, v in r.overflows.items()}
        internals = None
        if want_trace:
            internals = {f"forward/{k}": v for k, v in fwd.internals.items()}
            internals.update({f"backward/{k}": (np.ascontiguousarray(c[:, ::-1]), t)
                              for k, (c, t) in bwd.internals.items()})
        return np.ascontiguousarray(out), overflows, internals


class TimeDistributedRunner:
    """``runner(codes[n, T, ...], ...)`` for a :class:`~fxsim.ir.TimeDistributedSpec`.

    hls4ml's loop runs the wrapped layers once per time step; every step of every
    sample is independent, so they run once on the ``n * T`` steps as a batch. Overflow
    quantities and internals are the wrapped layers', named ``"<wrapped layer>/<quantity>"``.
    """

    def __init__(self, spec):
        from fxsim.runners import make_runner

        self.spec = spec
        self.name = spec.name
        self.runners = [make_runner(s) for s in spec.layers]
        self.types: dict[str, FixedType] = {f"{r.name}/{q}": t for r in self.runners for q, t in r.types.items()}

    def __call__(self, x: np.ndarray, want_trace: bool, want_counts: bool = True):
        s = self.spec
        n = x.shape[0]
        shapes = s.step_shapes(tuple(x.shape[1:]))
        codes = np.ascontiguousarray(x.reshape(n * s.n_time_steps, *shapes[0]))
        overflows: dict[str, tuple[int, int]] = {}
        internals = {} if want_trace else None
        for runner, shape in zip(self.runners, shapes[1:]):
            codes, counts, inner = runner(codes, want_trace, want_counts)
            codes = codes.reshape(n * s.n_time_steps, *shape)
            overflows.update({f"{runner.name}/{q}": v for q, v in counts.items()})
            if want_trace:
                internals[runner.name] = (codes.reshape(n, s.n_time_steps, *shape), runner.spec.result_t)
                for key, (c, t) in (inner or {}).items():
                    internals[f"{runner.name}/{key}"] = (c.reshape(n, s.n_time_steps, *c.shape[1:]), t)
        return np.ascontiguousarray(codes.reshape(n, s.n_time_steps, *shapes[-1])), overflows, internals
