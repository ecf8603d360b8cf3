"""The fixed-point core: ``FixedType`` and exact ``ap_fixed`` arithmetic on raw integer codes.

* :mod:`fxsim.fixed.types`: ``FixedType``, ``Rounding``, ``Overflow``, parsing, exact result types;
* :mod:`fxsim.fixed.scalar`: the numba scalar code every kernel inlines (``requantize``,
  ``requantize_row``, rounding and overflow helpers);
* :mod:`fxsim.fixed.arrays`: the array API (``to_codes``, ``from_codes``, ``cast`` ...).

Every name is importable from ``fxsim.fixed`` itself.
"""

from fxsim.fixed.arrays import (
    cast,
    count_overflows,
    from_codes,
    quantize,
    to_codes,
    to_int,
    weight_codes,
)
from fxsim.fixed.scalar import (
    cast_common,
    cast_params,
    code_range,
    common_cast_rule,
    narrow_like,
    requantize,
    requantize_row,
    round_shift_branchless,
    saturate,
    shift_right,
    trunc_to_int32,
    truncating_wrap,
    truncating_wrap_rule,
    trunc_toward_zero,
    wrap_signed,
)
from fxsim.fixed.types import MAX_WIDTH, FixedType, Overflow, Rounding, product_type, sum_type

__all__ = [
    "MAX_WIDTH", "FixedType", "Overflow", "Rounding", "cast", "cast_common", "cast_params", "code_range",
    "common_cast_rule", "count_overflows",
    "from_codes", "narrow_like", "product_type", "quantize", "requantize", "requantize_row",
    "round_shift_branchless", "saturate", "shift_right", "sum_type", "to_codes", "to_int",
    "trunc_to_int32", "trunc_toward_zero", "truncating_wrap", "truncating_wrap_rule", "weight_codes", "wrap_signed",
]
