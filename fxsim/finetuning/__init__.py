"""Hardware-aware fine-tuning: train through hls4ml's exact fixed-point arithmetic.

``import fxsim.finetuning`` stays light; TensorFlow is imported when :func:`finetune`
runs or :mod:`fxsim.finetuning.graph` is imported.

* :mod:`fxsim.finetuning.ste` — exact ``ap_fixed`` casts on tensors, straight-through gradients;
* :mod:`fxsim.finetuning.graph` — the training graph (:class:`~fxsim.finetuning.graph.ExactGraph`);
* :mod:`fxsim.finetuning.train` — the loop (:func:`finetune`);
* :mod:`fxsim.finetuning.result` — :class:`FineTuned`.
"""

from __future__ import annotations

from typing import Any

from fxsim.finetuning.result import FineTuned


def finetune(model: Any, precision: Any, x: Any, y: Any, **kwargs: Any) -> FineTuned:
    """Fine-tune ``model`` through the hardware arithmetic at ``precision``.

    See :func:`fxsim.finetuning.train.finetune` for the parameters.
    """
    from fxsim.finetuning.train import finetune as _finetune

    return _finetune(model, precision, x, y, **kwargs)


__all__ = ["FineTuned", "finetune"]
