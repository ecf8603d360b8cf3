"""LSTM and GRU against hls4ml's C simulation, code for code.

The cases (``tests/csim/recurrent_base.py``) cover static and non-static state,
``return_sequences`` (through Flatten), every rounding and overflow mode in
accum/result, widths from 6 to 30 bits, every type of a GRU different from the
others, odd table sizes and narrow ``table_t``, sigmoid/tanh/relu as activation or
recurrent activation, Latency and Resource with reuse factor > 1, and inputs large
enough to overflow the input type and the state. Each case is one compiled, traced
model (built once per module, cached by ``fxsim.csim``); every check below runs on
every case, with test ids named after the case's modes.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.csim.helpers import compare_float32_predict, compare_layers
from tests.csim.recurrent_base import CASES, recurrent_cases

pytestmark = [pytest.mark.csim, pytest.mark.keras2]

N_REFERENCE = 8  # samples the plain-Python reference runs (it is slow on purpose)


@pytest.fixture(scope="module", **recurrent_cases())
def case(request):
    """``(case, keras model, hls4ml config, inputs)`` of one recurrent case."""
    c = request.param
    model = c.model()
    return c, model, c.config(model), c.inputs(model)


def test_the_cases_run_every_form_of_the_cells(tmp_path):
    """Each cell's fused forms and its row-by-row form run in some case's ``predict`` (checked above).

    An LSTM compiles only with one type for input, ``accum_t`` and ``result_t``, so its fused
    casts always share their modes (a uniform form); a GRU's may differ (``FUSED_COMMON``).
    """
    from fxsim import csim, from_hls4ml
    from fxsim.kernels import recurrent

    forms = set()
    for c in CASES:
        model = c.model()
        graph = csim.convert(model, c.config(model), tmp_path / c.name)
        spec = next(s for s in from_hls4ml(graph).layers if s.name == "rnn")
        form = recurrent.fused_cell(spec)
        forms.add((c.cell, "uniform" if form >= recurrent.FUSED_UNIFORM else form))
    every = {recurrent.NOT_FUSED, recurrent.FUSED_TRUNCATING_WRAP, "uniform"}
    assert forms == {(cell, f) for cell in ("gru", "lstm") for f in every} | {("gru", recurrent.FUSED_COMMON)}


def test_every_traced_layer_matches_csim(case, record):
    """The recurrent layer's output (sequence or final state), every later layer and the output."""
    c, model, cfg, x = case
    compared, bad, failure = compare_layers(model, cfg, x)
    record(c.section, compared, bad, "codes")
    assert bad == 0, failure


def test_float32_predict_matches_csim(case, record):
    c, model, cfg, x = case
    compared, bad = compare_float32_predict(model, cfg, x)
    record(c.section, compared, bad, "codes")
    assert bad == 0, f"float32 predict differs in {bad} of {compared} outputs"


def test_the_plain_reference_matches_csim_on_the_converted_layer(case, record):
    """``tests/reference/nnet.py`` on the converted layer's own spec, against the C simulation's trace.

    Ties the g++-free reference (which the property tests hold fxsim's kernels to) to
    the oracle on every case, on samples from both halves (plain and doubled inputs).
    """
    from fxsim import csim, from_hls4ml
    from tests.reference import nnet
    from tests.reference.apfixed import from_double

    c, model, cfg, x = case
    b = csim.build(model, cfg, trace=True)
    spec = next(s for s in from_hls4ml(b.hls_model).layers if s.name == "rnn")
    half = N_REFERENCE // 2
    xs = np.ascontiguousarray(np.concatenate([x[:half], x[-half:]]), dtype=np.float64)
    _, traced = b.trace(xs)
    want = np.asarray(traced["rnn"], dtype=np.float64).reshape(len(xs), -1)
    csim_codes = np.ldexp(want, spec.result_t.frac)
    assert np.array_equal(csim_codes, np.round(csim_codes)), "traced values are not on the result grid"
    ours = []
    for sample in xs:
        codes = [[from_double(float(v), spec.input_t) for v in step] for step in sample]
        outputs, _ = nnet.recurrent_layer(spec, codes)
        ours.append([v for row in outputs for v in row])
    ours = np.array(ours, dtype=np.int64)
    bad = int(np.sum(ours != csim_codes.astype(np.int64)))
    record(f"reference vs {c.section}", ours.size, bad, "codes")
    assert bad == 0, f"{c.id}: the reference differs from the C simulation in {bad} of {ours.size} codes"
