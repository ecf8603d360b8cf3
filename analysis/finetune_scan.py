"""Bit selection alternated with hardware-aware fine-tuning (``fxsim scan --finetune``).

Round 0 is the ordinary selection (:func:`fxsim.analysis.pipeline.select_bits`) of the
model. Each further round

1. **proposes** a narrower point: by default the uniform ``ap_fixed`` one fractional bit
   below the best uniform precision of the last kept round (the first width that missed
   the target); ``proposals`` gives the uniform ``ap_fixed<W,I>`` of each round instead
   (e.g. the model's trained width, where fine-tuning recovers most);
2. **fine-tunes** the last kept model at that point through hls4ml's exact arithmetic
   (:func:`fxsim.finetune`) on the *search* samples only — the selection's hold-out
   split is never trained on; the last ``validation`` share of the search samples picks
   the best epoch;
3. **selects** again on the fine-tuned model, with the same samples and the same
   hold-out split (same seed), and keeps the round when its selection costs less and
   still reaches ``target`` times the *original* model's float metric on the held-out
   samples (the fine-tuned model's own float metric is not the reference: it could
   fall with the hardware metric).

The alternation stops at the first round that is not kept, or after ``rounds``
(explicit ``proposals`` are each tried, every one from the last kept model). The
kept selection is compiled with hls4ml and run in C simulation on the held-out samples
(:meth:`fxsim.analysis.study.Study.verify`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Round:
    """One round: the proposal it fine-tuned at (``None`` for round 0) and its selection."""

    index: int
    proposed: str | None
    selection: Any
    total_bits: int | None
    cost: float | None
    kept: bool
    history: list[dict] = field(default_factory=list)
    metric_holdout: float | None = None
    reason: str = ""
    seconds: float = 0.0
    model: Any = None  # the fine-tuned model (round 0: the original), kept or not

    def to_dict(self) -> dict:
        sel = self.selection
        u = sel.uniform
        return {"round": self.index, "finetuned_at": self.proposed, "kept": self.kept, "reason": self.reason,
                "total_bits": self.total_bits, "cost": self.cost, "metric": sel.metric,
                "metric_holdout": self.metric_holdout,
                "best_uniform": None if u is None else f"ap_fixed<{u.width},{u.integer + 1}>",
                "history": self.history, "seconds": self.seconds}


@dataclass
class FinetuneScan:
    """Outcome of :func:`finetune_scan`: the rounds, the kept model, study and selection."""

    rounds: list[Round]
    model: Any
    study: Any
    selection: Any
    objective: str
    target: float
    float_holdout: float | None
    verification: Any = None

    @property
    def kept(self) -> Round:
        return [r for r in self.rounds if r.kept][-1]

    def summary_lines(self) -> list[str]:
        ref = "n/a" if self.float_holdout is None else f"{self.float_holdout:.4f}"
        lines = [f"selection alternated with fine-tuning ({self.objective}; target {self.target:g} x the original "
                 f"model's held-out float metric {ref})"]
        for r in self.rounds:
            where = "original model" if r.proposed is None else f"fine-tuned at {r.proposed}"
            mh = "n/a" if r.metric_holdout is None else f"{r.metric_holdout:.4f}"
            lines.append(f"  round {r.index}: {where}: total bits {r.total_bits}, {self.objective} "
                         f"{'n/a' if r.cost is None else f'{r.cost:,.0f}'}, held-out metric {mh}"
                         f" -> {'kept' if r.kept else 'not kept'}{f' ({r.reason})' if r.reason else ''}")
        v = self.verification
        if v is not None:
            lines.append(f"  C simulation of the kept selection: metric {v.metric_csim:.4f} "
                         f"(fxsim {v.metric_fxsim:.4f}) on {v.n_samples:,} {'held-out ' if v.held_out else ''}"
                         f"samples; {v.mismatches} of "
                         f"{v.compared:,} output codes differ")
        return lines

    def to_dict(self) -> dict:
        v = self.verification
        return {"objective": self.objective, "target": self.target, "float_holdout": self.float_holdout,
                "rounds": [r.to_dict() for r in self.rounds], "kept_round": self.kept.index,
                "verification": None if v is None else {
                    "metric_csim": v.metric_csim, "metric_fxsim": v.metric_fxsim, "compared": v.compared,
                    "mismatches": v.mismatches, "n_samples": v.n_samples, "held_out": v.held_out}}


def _select(study: Any, target: float, objective_name: str, select_options: dict):
    from fxsim.analysis.objective import CostModel, objective
    from fxsim.analysis.pipeline import select_bits

    costs = CostModel(study)
    obj = objective(objective_name, study, costs)
    sel = select_bits(study, target, obj, verify=False, **select_options)
    cost = None if sel.point is None else float(obj(sel.point))
    bits = None if sel.point is None else study.space.total_bits(sel.point)
    return sel, cost, bits


def _holdout_metric(study: Any, sel: Any) -> float | None:
    if sel.point is None:
        return None
    if sel.metric_holdout is not None:
        return float(sel.metric_holdout)
    return float(study.holdout_metric(sel.point)) if study.x_holdout is not None else float(sel.metric)


def uniform_spec(spec: str) -> tuple[int, int]:
    """``"ap_fixed<W,I>"`` as the space's ``(integer bits without sign, fractional bits)``."""
    import re

    m = re.fullmatch(r"\s*ap_fixed<\s*(\d+)\s*,\s*(-?\d+)\s*>\s*", str(spec))
    if m is None or int(m.group(2)) < 1 or int(m.group(1)) <= int(m.group(2)):
        raise ValueError(f"a proposal is a uniform 'ap_fixed<W,I>' with W > I >= 1, got {spec!r}")
    width, integer = int(m.group(1)), int(m.group(2))
    return integer - 1, width - integer


def finetune_scan(model: Any, x: np.ndarray, y: np.ndarray, *, precision: Any = None, target: float = 0.99,
                  objective: str = "ebops", holdout: float = 0.5, seed: int = 0, rounds: int = 2, epochs: int = 3,
                  batch_size: int = 256, learning_rate: float = 1e-3, validation: float = 0.2,
                  verify: bool = True, verify_samples: int | None = None, progress: bool = True,
                  select_options: dict | None = None, proposals: list[str] | None = None, metric: str | None = None,
                  requantize: bool = False, **hls4ml_options: Any) -> FinetuneScan:
    """Alternate bit selection and fine-tuning (see the module docstring).

    Parameters
    ----------
    model : Keras/QKeras model or path.
    x, y : all samples; the study splits off ``holdout`` of them (seeded by ``seed``) and
        only the rest is ever trained on.
    precision : the base precision of the studies (``None``: QKeras quantizers, hls4ml defaults).
    target : fraction of the original model's float metric every kept selection keeps, held out.
    objective : cost minimised by each selection (``"ebops"``, ``"lut"``, ``"dsp"``, ``"bits"``).
    rounds : fine-tuning rounds after the first selection (at most).
    epochs, batch_size, learning_rate : each fine-tuning.
    validation : share of the search samples that picks each fine-tuning's best epoch.
    verify : C simulation of the kept selection on the held-out samples (``verify_samples`` of them).
    select_options : more keyword arguments of :func:`~fxsim.analysis.pipeline.select_bits`.
    proposals : per round, the uniform ``"ap_fixed<W,I>"`` to fine-tune at (every type but the
        lookup tables, as :meth:`Space.uniform`); ``None``: one fractional bit below the last
        kept round's best uniform width. Their number bounds the rounds.
    requantize : before each fine-tuning, set a QKeras model's quantizers to the proposal's width
        (``quantized_bits(W, I-1)``, :func:`~fxsim.analysis.requantize.requantized`): hls4ml takes
        the weight types from the quantizers, so without it they keep the trained width.
    metric : the study's metric (``"auc"``, ``"accuracy"``; default by the number of outputs),
        also the one that picks each fine-tuning's best epoch.

    Returns
    -------
    FinetuneScan
    """
    from fxsim.analysis.study import Study
    from fxsim.finetuning import finetune
    from fxsim.finetuning.graph import GraphError

    if not 0.0 < holdout < 1.0:
        raise ValueError(f"fine-tuning with selection needs a hold-out split in (0, 1), got {holdout}")
    if not 0.0 < validation < 1.0:
        raise ValueError(f"validation must be a share in (0, 1), got {validation}")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be a positive integer, got {rounds!r}")
    select_options = dict(select_options or {})
    planned = [uniform_spec(p) for p in proposals] if proposals is not None else None
    if planned is not None:
        rounds = min(rounds, len(planned))

    def study_of(m):
        return Study(m, x, y, precision, metric=metric, holdout=holdout, seed=seed, progress=progress,
                     **hls4ml_options)

    t = time.perf_counter()
    study = study_of(model)
    float_holdout = float(study.float_metric(holdout=True))
    sel, cost, bits = _select(study, target, objective, select_options)
    first = Round(0, None, sel, bits, cost, kept=sel.point is not None, metric_holdout=_holdout_metric(study, sel),
                  model=study.model,
                  reason="" if sel.point is not None else "no selection reaches the target",
                  seconds=time.perf_counter() - t)
    out = FinetuneScan([first], study.model, study, sel, objective, target, float_holdout)
    if sel.point is None:
        return out
    n_val = max(1, int(round(len(study.x) * validation)))
    x_tr, y_tr = study.x[:-n_val], study.y[:-n_val]  # the search samples only: never the hold-out split
    x_val, y_val = study.x[-n_val:], study.y[-n_val:]
    for k in range(1, rounds + 1):
        t = time.perf_counter()
        kept = out.kept
        if planned is not None:
            integer, fractional = planned[k - 1]
        else:
            u = kept.selection.uniform
            if u is None or u.fractional <= 1:
                break
            integer, fractional = u.integer, u.fractional - 1
        proposal = study.space.uniform(integer, fractional)
        label = f"ap_fixed<{integer + fractional + 1},{integer + 1}>"
        start = out.model
        if requantize and study.quantized:
            from fxsim.analysis.requantize import requantized

            start = requantized(out.model, integer + fractional + 1, integer)
        try:
            ft = finetune(start, study.config(proposal), x_tr, y_tr, validation=(x_val, y_val), epochs=epochs,
                          batch_size=batch_size, learning_rate=learning_rate, progress=progress, seed=seed + k,
                          metric=study.metric, evaluate_before_after=False, **hls4ml_options)
        except GraphError as err:
            out.rounds.append(Round(k, label, kept.selection, None, None, False, reason=f"not fine-tunable: {err}",
                                    seconds=time.perf_counter() - t))
            break
        new_study = study_of(ft.model)
        new_sel, new_cost, new_bits = _select(new_study, target, objective, select_options)
        mh = _holdout_metric(new_study, new_sel)
        r = Round(k, label, new_sel, new_bits, new_cost, False, history=ft.history, metric_holdout=mh, model=ft.model)
        if new_sel.point is None:
            r.reason = "no selection of the fine-tuned model reaches the target"
        elif mh is None or mh < target * float_holdout:
            r.reason = f"held-out metric below {target:g} x the original float metric ({target * float_holdout:.4f})"
        elif kept.cost is not None and new_cost >= kept.cost:
            r.reason = f"{objective} not lower than round {kept.index}'s"
        else:
            r.kept = True
            out.model, out.study, out.selection = ft.model, new_study, new_sel
        r.seconds = time.perf_counter() - t
        out.rounds.append(r)
        if not r.kept and planned is None:  # explicit proposals are each tried, from the last kept model
            break
    if verify:
        out.verification = out.study.verify(out.selection.point, n_samples=verify_samples)
    return out


def write(result: FinetuneScan, directory: Any) -> list[Any]:
    """``results.json``, the kept model (``model.h5``) and its selected hls4ml configuration (``hls_config.json``)."""
    from pathlib import Path

    from fxsim.jsonio import write_json

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "finetune_scan.json", out / "model.h5", out / "hls_config.json"]
    write_json(paths[0], result.to_dict())
    result.model.save(paths[1])
    write_json(paths[2], result.study.config(result.selection.point))
    return paths
