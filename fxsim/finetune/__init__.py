"""Hardware-aware fine-tuning: train through hls4ml's exact fixed-point arithmetic.

``import fxsim.finetune`` stays light; TensorFlow is imported when :func:`finetune`
runs or :mod:`fxsim.finetune.graph` is imported.

* :mod:`fxsim.finetune.ste` — exact ``ap_fixed`` casts on tensors, straight-through gradients;
* :mod:`fxsim.finetune.graph` — the training graph (:class:`~fxsim.finetune.graph.ExactGraph`);
* :mod:`fxsim.finetune.train` — the loop (:func:`finetune`);
* :mod:`fxsim.finetune.result` — :class:`FineTuned`.
"""

from __future__ import annotations

from typing import Any

from fxsim.finetune.result import FineTuned


def finetune(model: Any, precision: Any, x: Any, y: Any, **kwargs: Any) -> FineTuned:
    """Fine-tune ``model`` through the hardware arithmetic at ``precision``.

    See :func:`fxsim.finetune.train.finetune` for the parameters.
    """
    from fxsim.finetune.train import finetune as _finetune

    return _finetune(model, precision, x, y, **kwargs)


__all__ = ["FineTuned", "finetune"]
