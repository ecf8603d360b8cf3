"""One pipeline from a Keras/QKeras model and a precision to what hls4ml builds, checked.

:func:`convert_checked` is the path every entry point takes (:func:`fxsim.emulate`,
:func:`fxsim.evaluate`, :func:`fxsim.doctor`, :class:`fxsim.analysis.study.Study`): the
precision is parsed once into a :class:`~fxsim.precision.PrecisionSpec`, the Keras rules
of the doctor look at the model, :func:`fxsim.frontends.keras.convert` (the one
converter, which :mod:`fxsim.csim` builds use too) converts it with hls4ml, the graph
rules look at the ``ModelGraph``, :func:`~fxsim.frontends.hls4ml.from_hls4ml` reads it into
the fxsim IR and, given data, the data rules look at the emulated value ranges.

Data flow: front-ends and doctor rules know nothing of each other; only this module
puts them together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from fxsim.doctor.data_rules import data_findings
from fxsim.doctor.findings import ConversionRefused, Diagnosis, Finding
from fxsim.doctor.graph_rules import conversion_findings
from fxsim.doctor.keras_rules import static_findings
from fxsim.frontends.keras import float_twin, input_shape, is_quantized, load_model
from fxsim.precision import PrecisionSpec, check_options, parse_precision

#: The Keras-side helpers analysis needs beside the pipeline (so it imports no front-end itself).
__all__ = ["Checked", "convert_checked", "float_twin", "input_shape", "is_quantized", "load_model", "snapshot"]


@dataclass
class Checked:
    """What :func:`convert_checked` found.

    Attributes
    ----------
    keras_model : Any
        the loaded Keras model.
    spec : PrecisionSpec
        the precision, parsed once.
    conversion : fxsim.frontends.keras.Conversion or None
        hls4ml's conversion (``ModelGraph``, resolved config); None when hls4ml refused
        the model or a Keras rule blocks the conversion.
    fx : fxsim.model.FxModel or None
        the fxsim IR of the ``ModelGraph``; None when fxsim does not emulate it or the
        doctor found an error first.
    diagnosis : Diagnosis
        the doctor's findings.
    """

    keras_model: Any
    spec: PrecisionSpec
    conversion: Any
    fx: Any
    diagnosis: Diagnosis

    def require(self) -> Checked:
        """``self`` when the design is well defined and emulated, else raise :class:`ConversionRefused`."""
        if self.diagnosis.errors or self.fx is None:
            raise ConversionRefused(self.diagnosis)
        return self


def snapshot(model: Any) -> Any:
    """What every conversion of ``model`` reads of it, read once, for a scan of one unchanging model.

    A :class:`fxsim.frontends.keras.Snapshot` of a live Keras 2 / QKeras model (its
    architecture JSON and weights digest), to pass to :func:`convert_checked`; ``None``
    for the other front-ends, whose conversions read the model each time.
    """
    from fxsim.compat import frontend_of

    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__") or frontend_of(model) != "keras2":
        return None
    from fxsim.frontends.keras import snapshot as keras_snapshot

    return keras_snapshot(model)


def convert_checked(model: Any, precision: Any = None, *, x: np.ndarray | None = None, rules: bool = True,
                    snapshot: Any = None, **options: Any) -> Checked:
    """Convert ``model`` at ``precision`` with hls4ml, read the fxsim IR, and diagnose it.

    Parameters
    ----------
    model : Any
        a live Keras/QKeras model or a ``.h5``/``.keras`` path.
    precision : Any
        a precision spec (see :mod:`fxsim.precision`) or an already parsed
        :class:`~fxsim.precision.PrecisionSpec`.
    x : ndarray, optional
        input data; adds the data rules' findings (overflows on these inputs).
    rules : bool
        run the Keras and graph rules of the doctor. ``False`` keeps only what makes a
        design unusable for fxsim (hls4ml refuses it, fxsim does not emulate it), for
        the hundreds of conversions of one model a precision scan makes.
    snapshot : fxsim.frontends.keras.Snapshot, optional
        :func:`snapshot` of ``model`` (a live Keras 2 / QKeras model), so a scan does not
        read the unchanged architecture and weights again at every conversion.
    **options : Any
        hls4ml options (see :data:`fxsim.precision.HLS4ML_OPTIONS`).

    Returns
    -------
    Checked
        ``require()`` it to get a refusal as an exception.

    Raises
    ------
    ValueError
        mistakes in the call: a malformed spec, unknown layer names or options, a model
        that cannot be loaded.
    """
    from fxsim.frontends.hls4ml import UnsupportedLayerError, from_hls4ml
    from fxsim.frontends.keras import HLS4MLError, convert

    from fxsim.compat import frontend_of

    spec = parse_precision(precision)
    shape = options.pop("input_shape", None)  # PyTorch modules only: (T, F)
    options = check_options(options)
    frontend = frontend_of(model)
    if snapshot is not None and frontend != "keras2":
        raise ValueError(f"a snapshot is for Keras 2 / QKeras models; this is a {frontend} model")
    if frontend == "torch":  # the Keras rules of the doctor do not apply; hls4ml's refusals name the module
        from fxsim.frontends import torch as torch_frontend

        keras_model = torch_frontend.load_module(model)
        torch_frontend.input_shapes(keras_model, shape)

        def convert(m, s, **o):
            return torch_frontend.convert(m, s, input_shape=shape, **o)
    elif frontend == "keras3":
        from fxsim.frontends.keras3 import convert, load_model as load_keras3

        keras_model = load_keras3(model)
    else:
        keras_model = load_model(model)
        if snapshot is not None:
            options["snap"] = snapshot  # convert refuses a snapshot of another model
    findings = static_findings(keras_model) if rules and frontend != "torch" else []

    def done(conversion: Any = None, fx: Any = None) -> Checked:
        return Checked(keras_model, spec, conversion, fx, Diagnosis(findings))

    if any(f.severity == "error" and f.details.get("blocks_conversion") for f in findings):
        return done()
    try:
        conversion = convert(keras_model, spec, **options)
    except HLS4MLError as err:
        named = [f"{f.layer}: {f.what}" for f in findings if f.severity == "error"]
        findings.append(Finding("conversion-failed", "error", "model",
                                f"{err}" + (f" ({'; '.join(named)})" if named else ""),
                                "see the other findings; simplify the model to the supported layers"))
        return done()
    if rules and frontend != "torch":
        findings += conversion_findings(conversion)
    elif rules:  # the rules reading the Keras model do not apply to a module; the ModelGraph-only ones do
        from fxsim.doctor.recurrent_rules import recurrent_rf_findings

        findings += recurrent_rf_findings(conversion)
    if any(f.severity == "error" for f in findings):
        return done(conversion)
    try:
        fx = from_hls4ml(conversion.hls_model)
    except UnsupportedLayerError as err:
        match = re.search(r"layer '([^']+)'", str(err))
        findings.append(Finding(
            "not-emulated", "error", match.group(1) if match else "model",
            f"hls4ml builds this, but fxsim does not emulate it: {err}",
            "change the setting named above to one fxsim emulates, or check this layer with hls4ml's C "
            "simulation (fxsim.csim)",
        ))
        return done(conversion)
    if x is not None:
        findings += data_findings(fx, x)
    return done(conversion, fx)
