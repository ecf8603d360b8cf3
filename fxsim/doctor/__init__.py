"""The conversion doctor: what hls4ml 1.3.0 will really build from a Keras/QKeras model.

hls4ml rejects some settings, cannot compile others and silently changes a few
(``shared/docs/hls4ml-arithmetic.md`` §4.1, §5, §7). :func:`doctor` looks at the
Keras model, at the converted ``ModelGraph`` and, given data, at the emulated
value ranges, and returns one :class:`Finding` per problem: its severity, the
layer, what the hardware will do, and the fix. The rules live by source:
:mod:`~fxsim.doctor.keras_rules` (the Keras/QKeras model), :mod:`~fxsim.doctor.graph_rules`
(the converted ``ModelGraph``, with :mod:`~fxsim.doctor.conv_rules` and
:mod:`~fxsim.doctor.recurrent_rules`: Resource LSTM/GRU reuse factors whose C simulation
aborts, also for PyTorch modules) and :mod:`~fxsim.doctor.data_rules` (value ranges on data);
:func:`fxsim.pipeline.convert_checked` runs them.

Severities:

* ``error``: hls4ml rejects the model, the project does not compile, or the
  hardware reads undefined memory. :func:`fxsim.evaluate` refuses such a model
  with the finding's explanation (:class:`ConversionRefused`).
* ``warning``: the hardware is well defined but is not what the model says
  (QKeras trained something else, a setting is ignored, values overflow).
  fxsim emulates what is really built and reports the deviation.
* ``info``: worth knowing, changes nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fxsim.doctor.data_rules import data_findings
from fxsim.doctor.findings import SEVERITIES, ConversionRefused, Diagnosis, Finding
from fxsim.doctor.graph_rules import SOFTMAX_BIN_LIMIT, conversion_findings
from fxsim.doctor.keras_rules import RNN_ACTIVATIONS, UNBUILDABLE_LAYERS, static_findings

__all__ = [
    "RNN_ACTIVATIONS", "SEVERITIES", "SOFTMAX_BIN_LIMIT", "UNBUILDABLE_LAYERS", "ConversionRefused", "Diagnosis",
    "Finding", "conversion_findings", "data_findings", "doctor", "static_findings",
]


def doctor(model: Any, precision: Any = None, x: np.ndarray | None = None, **options: Any) -> Diagnosis:
    """Diagnose what hls4ml 1.3.0 builds from ``model`` at ``precision``.

    Parameters
    ----------
    model : Any
        Keras/QKeras model or ``.h5``/``.keras`` path.
    precision : Any
        precision spec (see :mod:`fxsim.precision`).
    x : ndarray, optional
        input data; adds the value-range findings (overflows) measured by emulating
        the converted model on it.
    **options : Any
        hls4ml options, as for :func:`fxsim.emulate`.

    Returns
    -------
    Diagnosis
        the findings, errors first. Malformed specs and bad data still raise
        ``ValueError`` (they are mistakes in the call, not in the model).
    """
    from fxsim.pipeline import convert_checked  # the pipeline runs these rules: import it when called

    return convert_checked(model, precision, x=x, **options).diagnosis
