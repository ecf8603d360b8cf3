"""Precision-space rules of the convolutional front-end layers: Conv1D, pooling, zero padding.

Registered on :mod:`fxsim.analysis.space`'s per-layer dispatchers (that module imports this
one), so that a Conv1D front-end before a recurrent layer (the QuickDraw ``cnnlstm``) has a
precision space for ``fxsim diagnose``/``fxsim scan``. The knobs are the ``Precision`` keys
hls4ml 1.3.0 gives these layers (``backends/fpga/fpga_backend.py``: ``accum`` for Conv1D and
(global) pooling; ``model/layers.py``: ``weight``/``bias`` type attributes of Conv1D):

* ``Conv1D`` / ``PointwiseConv1D`` (:class:`~fxsim.ir.Conv1DSpec`): ``weight``, ``bias``,
  ``accum``, ``result``; the multipliers are one output pixel's kernel,
  ``ceil(filt_width * n_chan * n_filt / reuse_factor)`` of them (hls4ml's ``conv_1d_cl``
  runs one pixel's dense per partition);
* ``Pooling1D`` / ``GlobalPooling1D`` (:class:`~fxsim.ir.Pooling1DSpec`): ``accum``, ``result``;
* ``ZeroPadding1D`` (:class:`~fxsim.ir.ZeroPadding1DSpec`): ``result``, tied to its input's
  type (``model/layers.py`` ``ZeroPadding1D.initialize`` gives the output the input's precision).
"""

from __future__ import annotations

from fxsim import ir
from fxsim.analysis.space import Multipliers, _per_reuse, layer_knobs, layer_multipliers, layer_ties


@layer_knobs.register
def _(spec: ir.Conv1DSpec):
    return ("weight", "bias", "accum", "result")


@layer_knobs.register
def _(spec: ir.Pooling1DSpec):
    return ("accum", "result")


@layer_knobs.register
def _(spec: ir.ZeroPadding1DSpec):
    return ("result",)


@layer_multipliers.register
def _(spec: ir.Conv1DSpec, source):
    n = _per_reuse(spec.filt_width * spec.n_chan * spec.n_filt, spec.reuse_factor)
    return (Multipliers(n, (source, "result"), (spec.name, "weight"), "x*W"),)


@layer_ties.register
def _(spec: ir.ZeroPadding1DSpec, source):
    return ((source, "result"), (spec.name, "result")) if source is not None else ()
