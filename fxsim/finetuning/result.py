"""``FineTuned``: what :func:`fxsim.finetune` returns (no TensorFlow needed to read it)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(eq=False, repr=False)
class FineTuned:
    """A model fine-tuned through the hardware's arithmetic.

    Attributes
    ----------
    model : the Keras/QKeras model (same architecture and quantizers as the original,
        trained weights); hls4ml converts it exactly like the original.
    hls_config : the hls4ml configuration to convert it with (the precision, resolved).
    history : per epoch ``{"epoch", "loss", "val_metric", "seconds"}`` (``val_metric``:
        the hardware metric of the exact graph on the validation data, if given).
    before, after : hardware (and float/QKeras) metrics on the validation data from
        :func:`fxsim.evaluate` before and after fine-tuning (``{}`` without validation).
    metric : the name of the metric in ``history`` / ``before`` / ``after`` (``"auc"`` or ``"accuracy"``).
    best_epoch : the epoch whose weights were kept (best validation metric; the last without validation).
    seconds : wall time per stage.
    label_smoothing : the label smoothing the loss used (``logit_margin``; 0: none).
    """

    model: Any
    hls_config: dict
    history: list[dict]
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    metric: str = "auc"
    best_epoch: int = 0
    seconds: dict = field(default_factory=dict)
    label_smoothing: float = 0.0

    def summary(self) -> str:
        """A few lines: the hardware metric before and after, and the training curve."""
        lines = [f"fxsim finetune: {getattr(self.model, 'name', 'model')} ({len(self.history)} epochs, "
                 f"kept epoch {self.best_epoch})"]
        for label, d in (("before", self.before), ("after", self.after)):
            if d:
                parts = [f"{k} {v[self.metric]:.4f}" for k, v in d.items() if isinstance(v, dict) and self.metric in v]
                lines.append(f"  {label:6s} " + ", ".join(parts))
        for h in self.history:
            val = h.get("val_metric")
            lines.append(f"  epoch {h['epoch']:3d}  loss {h['loss']:.4f}"
                         + (f"  hardware {self.metric} {val:.4f}" if val is not None else "")
                         + f"  ({h['seconds']:.1f} s)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        hw = self.after.get("hardware", {}).get(self.metric)
        return f"FineTuned({getattr(self.model, 'name', 'model')!r}, {len(self.history)} epochs, " \
               f"hardware {self.metric} after {'n/a' if hw is None else f'{hw:.4f}'})"

    def to_dict(self) -> dict:
        return {"model": getattr(self.model, "name", "model"), "hls_config": self.hls_config,
                "history": self.history, "before": self.before, "after": self.after, "metric": self.metric,
                "best_epoch": self.best_epoch, "seconds": self.seconds, "label_smoothing": self.label_smoothing}

    def save(self, directory: str | os.PathLike) -> dict[str, Path]:
        """Write ``model.h5``, ``hls_config.json``, ``report.json`` and the training curve (PNG, PDF)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"model": out / "model.h5", "hls_config": out / "hls_config.json", "report": out / "report.json"}
        self.model.save(paths["model"])
        paths["hls_config"].write_text(json.dumps(self.hls_config, indent=1, default=str))
        paths["report"].write_text(json.dumps(self.to_dict(), indent=1, default=str))
        paths.update(self.plot(out / "training_curve"))
        return paths

    def plot(self, stem: str | os.PathLike) -> dict[str, Path]:
        """The training curve (loss; hardware validation metric) as ``<stem>.png`` and ``.pdf``."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker

        epochs = [h["epoch"] for h in self.history]
        fig, ax = plt.subplots(figsize=(6, 3.6))
        ax.plot(epochs, [h["loss"] for h in self.history], "o-", color="C0", label="training loss (hardware graph)")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_ylabel("loss", color="C0")
        vals = [h.get("val_metric") for h in self.history]
        if any(v is not None for v in vals):
            ax2 = ax.twinx()
            ax2.plot(epochs, vals, "s-", color="C1", label=f"hardware {self.metric} (validation)")
            base = self.before.get("hardware", {}).get(self.metric)
            if base is not None:
                ax2.axhline(base, color="C1", ls=":", label="before fine-tuning")
            ref = self.before.get("float", {}).get(self.metric)
            if ref is not None:
                ax2.axhline(ref, color="C2", ls="--", label="float model")
            ax2.set_ylabel(f"hardware {self.metric}", color="C1")
            ax2.legend(loc="lower right", fontsize=8)
        ax.set_title(f"fine-tuning {getattr(self.model, 'name', 'model')} through hls4ml arithmetic", fontsize=10)
        fig.tight_layout()
        stem = Path(stem)
        paths = {"curve_png": stem.with_suffix(".png"), "curve_pdf": stem.with_suffix(".pdf")}
        fig.savefig(paths["curve_png"], dpi=120)
        fig.savefig(paths["curve_pdf"])
        plt.close(fig)
        return paths
