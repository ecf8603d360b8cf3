"""fxsim: bit-accurate ap_fixed emulation of hls4ml RNN/Dense models.

``import fxsim`` stays light: TensorFlow and hls4ml are imported only inside the
functions that need them (:func:`from_hls4ml` reads a converted model, :mod:`fxsim.csim`
compiles and runs hls4ml's C simulation).
"""

from fxsim import csim
from fxsim.cost import Estimate, estimate
from fxsim.csim import crosscheck
from fxsim.doctor import ConversionRefused, Diagnosis, Finding, doctor
from fxsim.evaluate import EmulatedModel, Evaluation, emulate, evaluate
from fxsim.fixed import (
    FixedType,
    Overflow,
    Rounding,
    cast,
    count_overflows,
    from_codes,
    product_type,
    quantize,
    sum_type,
    to_codes,
    to_int,
    weight_codes,
)
from fxsim.frontends.hls4ml import UnsupportedLayerError, from_hls4ml
from fxsim.model import FxModel, FxTrace, OverflowReport
from fxsim.pipeline import Checked, convert_checked
from fxsim.project import BuildResult, SynthesisUnavailable, build

__all__ = [
    "BuildResult",
    "SynthesisUnavailable",
    "Checked",
    "ConversionRefused",
    "Diagnosis",
    "EmulatedModel",
    "Estimate",
    "Evaluation",
    "Finding",
    "FixedType",
    "FxModel",
    "FxTrace",
    "Overflow",
    "OverflowReport",
    "Rounding",
    "UnsupportedLayerError",
    "cast",
    "convert_checked",
    "count_overflows",
    "crosscheck",
    "csim",
    "doctor",
    "emulate",
    "build",
    "estimate",
    "evaluate",
    "from_codes",
    "from_hls4ml",
    "product_type",
    "quantize",
    "sum_type",
    "to_codes",
    "to_int",
    "weight_codes",
]

from fxsim.finetuning import FineTuned, finetune  # noqa: E402  (light: TensorFlow loads only when finetune runs)
__all__ += ["FineTuned", "finetune"]
