"""fxsim: bit-accurate ap_fixed emulation of hls4ml RNN/Dense models.

``import fxsim`` stays light: TensorFlow and hls4ml are imported only inside the
functions that need them (:func:`from_hls4ml` reads a converted model, :mod:`fxsim.csim`
compiles and runs hls4ml's C simulation).
"""

from fxsim import _jit_cache

_jit_cache.configure()  # before any kernel module defines its numba functions

from fxsim import csim  # noqa: E402
from fxsim.csim import crosscheck  # noqa: E402
from fxsim.doctor import ConversionRefused, Diagnosis, Finding, doctor  # noqa: E402
from fxsim.evaluate import EmulatedModel, Evaluation, emulate, evaluate  # noqa: E402
from fxsim.fixed import (  # noqa: E402
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
from fxsim.frontends.hls4ml import UnsupportedLayerError, from_hls4ml  # noqa: E402
from fxsim.model import FxModel, FxTrace, OverflowReport  # noqa: E402

__all__ = [
    "ConversionRefused",
    "Diagnosis",
    "EmulatedModel",
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
    "count_overflows",
    "crosscheck",
    "csim",
    "doctor",
    "emulate",
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
