"""Doctor rule ``recurrent-resource-rf-abort`` on ``Bidirectional(LSTM|GRU)`` with Strategy Resource.

hls4ml 1.3.0's ``init_bidirectional`` clips the ReuseFactor per direction into
``<d>_reuse_factor`` / ``<d>_recurrent_reuse_factor`` against ``get_layer_mult_size``,
which sizes both dense kernels of a direction at ``3 * n_states`` outputs, LSTM included
(``backends/fpga/fpga_backend.py``: ``n_out = ... * 3``); ``recurrent_templates.py`` then
runs the input dense with the layer's unclipped ``reuse_factor``, the recurrent dense with
``<d>_recurrent_reuse_factor``, and picks both kernels with ``<d>_reuse_factor``.

``Bidirectional(LSTM(3))`` over 4 features, ReuseFactor 8: 8 is valid for the real input
dense 4x12 (8 % 4 == 0, 48 % 8 == 0) but not for the 4x9 hls4ml checks, so
``<d>_reuse_factor`` becomes 4, which picks ``rf_leq_nin`` for the input dense, run with 8
> n_in: its ``assert(multiplier_limit == block_factor)`` fails and the C simulation
aborts. The csim tests show the abort (in a child process) and that configurations the
doctor passes compile and match fxsim code for code.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.keras2

T_STEPS, N_FEATURES, N_STATE = 5, 4, 3
OPTIONS = {"strategy": "Resource", "default_precision": "ap_fixed<16,6>"}


def _model(cell: str):
    from tensorflow import keras

    keras.utils.set_random_seed(11)
    inp = keras.Input((T_STEPS, N_FEATURES), name="x")
    rnn = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell](N_STATE)
    h = keras.layers.Bidirectional(rnn, name="bi")(inp)
    return keras.Model(inp, keras.layers.Dense(2, name="fc")(h))


def _precision(rf: int) -> dict:
    return {"bi": {"ReuseFactor": rf}, "fc": {"ReuseFactor": 2}}


def _convert(cell: str, rf: int, out_dir=None):
    from fxsim.frontends.keras import convert

    return convert(_model(cell), _precision(rf), out_dir, **OPTIONS)


def project(out_dir: str, cell: str, rf: int):
    """The converted (not compiled) project, for :func:`tests.csim.abort.assert_csim_aborts`."""
    return _convert(cell, rf, out_dir).hls_model


def test_hls4ml_checks_a_bidirectional_lstm_at_3x_the_states():
    bi = _convert("lstm", 8).hls_model.graph["bi"]
    backend = bi.model.config.backend
    assert backend.get_layer_mult_size(bi) == [(N_FEATURES, 3 * N_STATE, N_STATE, 3 * N_STATE)] * 2
    assert bi.weights["forward_weight"].data.size == N_FEATURES * 4 * N_STATE  # the C++ dense: 4x12
    assert (bi.get_attr("reuse_factor"), bi.get_attr("forward_reuse_factor"),
            bi.get_attr("forward_recurrent_reuse_factor")) == (8, 4, 9)


@pytest.mark.parametrize("cell, rf, assert_text", [
    ("lstm", 8, "kernel rf_leq_nin picked with reuse factor 4, run with 8"),  # 4x9 instead of 4x12
    ("lstm", 4, "Resource dense 3x12: reuse_factor 3"),  # recurrent dense: picked with 4 > 3, run with 3
    ("gru", 5, "kernel rf_leq_nin picked with reuse factor 4, run with 5"),  # input dense runs unclipped
])
def test_doctor_reports_the_abort_with_working_rfs_per_direction(cell, rf, assert_text):
    from fxsim.doctor import doctor
    from fxsim.doctor.recurrent_rules import cell_kernels, working_reuse_factors

    diagnosis = doctor(_model(cell), _precision(rf), **OPTIONS)
    (f,) = diagnosis.by_code("recurrent-resource-rf-abort")
    assert f.severity == "error" and f.layer == "bi" and not diagnosis.ok
    assert diagnosis.by_code("not-emulated") == []  # the specific finding, not the generic one
    assert assert_text in f.what and "C simulation aborts" in f.what and "both directions" in f.what
    assert f.details["requested_reuse_factor"] == rf and rf not in f.details["valid"]
    assert set(f.details["directions"]) == {"forward", "backward"}
    for d in f.details["directions"].values():
        assert d["aborts"] and d["reuse_factor"] == rf and set(f.details["valid"]) <= set(d["valid"])
    assert f.details["suggested"] in f.details["valid"] and f"ReuseFactor {f.details['suggested']}" in f.fix
    # what the rule predicts hls4ml writes for a request is what the conversion wrote
    bi = _convert(cell, rf).hls_model.graph["bi"]
    assert cell_kernels(bi, rf) == cell_kernels(bi)
    for kernels in working_reuse_factors(bi).values():
        assert all(k.abort() is None for k in kernels)
    fixed = doctor(_model(cell), _precision(f.details["suggested"]), **OPTIONS)
    assert fixed.by_code("recurrent-resource-rf-abort") == [] and fixed.ok, str(fixed)


@pytest.mark.parametrize("cell, rf", [("lstm", 1), ("lstm", 2), ("lstm", 12), ("gru", 2), ("gru", 12)])
def test_doctor_accepts_working_rfs(cell, rf):
    from fxsim.doctor import doctor

    diagnosis = doctor(_model(cell), _precision(rf), **OPTIONS)
    assert diagnosis.by_code("recurrent-resource-rf-abort") == [] and diagnosis.ok, str(diagnosis)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_rule_and_the_emulator_agree_on_every_request(cell):
    """Requests 1-16: an abort the doctor finds the emulator refuses; one it passes, fxsim emulates
    (or refuses only a recurrent kernel picked and run with reuse factors on either side of n_state)."""
    from fxsim import UnsupportedLayerError, from_hls4ml
    from fxsim.doctor.recurrent_rules import recurrent_rf_findings

    seen = {"abort": 0, "emulated": 0}
    for rf in range(1, 17):
        conversion = _convert(cell, rf)
        found = recurrent_rf_findings(conversion)
        try:
            from_hls4ml(conversion.hls_model)
            refused = None
        except UnsupportedLayerError as err:
            refused = str(err)
        if found:
            assert refused is not None, rf
            seen["abort"] += 1
        else:
            assert refused is None or "pick different Resource kernels" in refused, (rf, refused)
            seen["emulated"] += refused is None
    assert seen["abort"] > 0 and seen["emulated"] > 0, seen


@pytest.mark.csim
@pytest.mark.parametrize("cell, rf, assertion", [
    ("lstm", 8, "This function is correct only for RF <= N_IN"),
    ("gru", 5, "This function is correct only for RF <= N_IN"),
])
def test_hls4ml_csim_aborts_where_the_doctor_says(tmp_path, cell, rf, assertion):
    from fxsim.doctor.recurrent_rules import recurrent_rf_findings
    from tests.csim.abort import assert_csim_aborts

    assert recurrent_rf_findings(_convert(cell, rf))
    assert_csim_aborts("tests.test_doctor_bidirectional_rf:project", tmp_path / "abort", assertion, cell, rf)


@pytest.mark.csim
@pytest.mark.parametrize("cell, rf, final", [("lstm", 12, (12, 12, 9)), ("gru", 2, (2, 2, 1))])
def test_working_rfs_compile_and_match_fxsim(tmp_path, record_property, cell, rf, final):
    from fxsim.csim import crosscheck
    from fxsim.doctor.recurrent_rules import recurrent_rf_findings

    conversion = _convert(cell, rf, tmp_path / "ok")
    assert recurrent_rf_findings(conversion) == []
    bi = conversion.hls_model.graph["bi"]
    for d in ("forward", "backward"):
        assert (bi.get_attr("reuse_factor"), bi.get_attr(f"{d}_reuse_factor"),
                bi.get_attr(f"{d}_recurrent_reuse_factor")) == final
    rng = np.random.default_rng(5)
    x = np.round(rng.normal(0.0, 3.0, (400, T_STEPS, N_FEATURES)) * 1024.0) / 1024.0
    rep = crosscheck(conversion.hls_model, x)
    compared = sum(c.compared for c in rep.layers) + rep.output.compared
    mismatches = sum(c.mismatches for c in rep.layers) + rep.output.mismatches
    record_property("codes", {"compared": compared, "mismatches": mismatches})
    print(f"{cell} ReuseFactor {rf}: {compared} codes compared, {mismatches} mismatches")
    assert compared > 0
    assert mismatches == 0, str(rep)
