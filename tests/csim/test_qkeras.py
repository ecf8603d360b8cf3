"""``fxsim.evaluate`` on real QKeras models against hls4ml's C simulation of the same conversion.

Each case builds a QKeras model (QGRU, QLSTM, QDense, QActivation with
quantized_bits / quantized_relu / quantized_tanh / quantized_sigmoid), evaluates
it with a precision spec, compiles the very configuration ``evaluate`` resolved
(``Evaluation.hls_config``) with hls4ml's own g++ build (cached by
``fxsim.csim``), and requires the hardware output codes of ``evaluate`` to equal
the C simulation's, code for code. A third of the inputs are scaled up so the
input conversion and the layers overflow too.
"""

from __future__ import annotations

import numpy as np
import pytest

from fxsim import csim
from fxsim.evaluate import evaluate
from fxsim.fixed import to_codes
from fxsim.frontends.keras import quantized_twin
from tests.frontends import qmodels

pytestmark = [pytest.mark.csim, pytest.mark.keras2]

N_SAMPLES = 1500


def _inputs(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    x = qmodels.inputs(seed, N_SAMPLES, shape)
    x[: N_SAMPLES // 3] *= 6.0  # beyond the input types' range: wrap/saturate paths
    return x


def _labels(seed: int, n_classes: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n_classes, N_SAMPLES)


def case_qgru_layer_spec():
    """QGRU(8-bit) → QDense → quantized_relu → QDense → sigmoid, per-layer accum/table/TableSize overrides."""
    model = qmodels.qgru(seed=41)
    spec = {"gru": {"accum": "ap_fixed<14,5>", "result": "ap_fixed<12,4,AP_RND,AP_SAT>",
                    "table_t": "ap_fixed<12,2>", "TableSize": 512}}
    return model, spec, {"default_precision": "ap_fixed<12,4>"}, (8, 4), 2


def case_qlstm_state_quantizer_fixed():
    """QLSTM with state_quantizer and quantized_tanh(use_real_tanh), built with the doctor's type fix."""
    qk = qmodels.qkeras()
    model = qmodels.qlstm(seed=42, state_quantizer=qk.quantized_bits(12, 3),
                          activation=qk.quantized_tanh(8, use_real_tanh=True),
                          recurrent_activation=qk.quantized_sigmoid(8, use_real_sigmoid=True))
    t = "fixed<12,4,RND_CONV,SAT>"
    spec = {"inputs": {"result": t}, "lstm": {"accum": t, "result": t}}
    return model, spec, {}, (6, 3), 3


def case_qdense_activations():
    """alpha='auto' QDense (ApplyAlpha), real quantized_tanh/sigmoid, quantized_relu, removed quantized_bits,
    softmax."""
    return qmodels.qdense_activations(seed=43), None, {}, (10,), 3


def case_seed_style_faithful():
    """The seed recipe with its blockers fixed: symmetric auto_po2 9-bit kernels, real tanh, 9-bit default."""
    qk = qmodels.qkeras()
    model = qmodels.qgru(seed=44, bits=9, integer=3, symmetric=1, alpha="auto_po2",
                         activation=qk.quantized_tanh(9, use_real_tanh=True), head="softmax")
    return model, "ap_fixed<9,3>", {}, (8, 4), 3


def case_quantized_twin():
    """The seed's workaround: float twin carrying model_save_quantized_weights values, converted."""
    return quantized_twin(qmodels.qgru(seed=45)), "ap_fixed<16,6>", {}, (8, 4), 2


CASES = {f.__name__.removeprefix("case_"): f for f in (
    case_qgru_layer_spec, case_qlstm_state_quantizer_fixed, case_qdense_activations, case_seed_style_faithful,
    case_quantized_twin)}


@pytest.mark.parametrize("name", list(CASES))
def test_evaluate_hardware_equals_csim(record, name):
    model, spec, options, shape, n_classes = CASES[name]()
    seed = 100 + list(CASES).index(name)
    x = _inputs(seed, shape)
    ev = evaluate(model, spec, x, _labels(seed, n_classes), progress=False, **options)
    build = csim.build(model, ev.hls_config, backend=ev.emulated.conversion.backend)
    theirs = to_codes(np.asarray(build.predict(x), dtype=np.float64).reshape(N_SAMPLES, -1), ev.output_t)
    bad = np.argwhere(theirs != ev.hardware_codes)
    record("evaluate vs C-sim (QKeras)", theirs.size, len(bad), "output codes")
    assert not len(bad), (
        f"{len(bad)} of {theirs.size} output codes differ; first: "
        + "; ".join(f"sample {s} out {i}: fxsim {ev.hardware_codes[s, i]} csim {theirs[s, i]}" for s, i in bad[:5])
    )
    # the metrics describe those same outputs
    assert ev.metrics["hardware"]["accuracy"] == pytest.approx(
        np.mean((ev.outputs["hardware"].argmax(1) if n_classes > 2 else ev.outputs["hardware"][:, 0] > 0.5)
                == _labels(seed, n_classes)))
    assert ev.n_samples == N_SAMPLES >= 1000
