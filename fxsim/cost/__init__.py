"""Hardware cost before synthesis: EBOPs, LUT/FF/DSP/BRAM, latency and interval of hls4ml designs.

``fxsim.cost.estimate(model, precision)`` / ``estimate_ir(fx_model)`` return an
:class:`Estimate`. The model is analytic (:mod:`fxsim.cost.model`); every rule and constant,
with its source, is in :mod:`fxsim.cost.rules`; see ``fxsim/cost/README.md``.
"""

from fxsim.cost.devices import PARTS, Device, get_device, parse_resources
from fxsim.cost.ebops import effective_bits
from fxsim.cost.estimate import Estimate, estimate, estimate_ir
from fxsim.cost.model import LayerCost, valid_reuse_factors

__all__ = ["PARTS", "Device", "Estimate", "LayerCost", "effective_bits", "estimate", "estimate_ir", "get_device",
           "parse_resources", "valid_reuse_factors"]
