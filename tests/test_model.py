"""FxModel without hls4ml: predict/predict_codes/trace semantics, overflow report, save/load, bad input."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from fxsim.fixed import FixedType, to_codes
from fxsim.ir import ActivationSpec, DenseSpec, InputSpec, ReshapeSpec, SoftmaxSpec
from fxsim.model import FxModel

pytestmark = pytest.mark.core

T16 = FixedType(16, 6)


def _model() -> FxModel:
    rng = np.random.default_rng(0)
    w_t = FixedType(8, 2)
    acc = FixedType(20, 8, True, "TRN", "SAT")
    return FxModel([
        InputSpec("x", (2, 3), T16),
        ReshapeSpec("flat", T16, (6,)),
        DenseSpec("fc", T16, rng.integers(-128, 128, (6, 4)), rng.integers(-128, 128, 4), w_t, w_t, acc,
                  FixedType(12, 4, True, "RND", "SAT")),
        ActivationSpec("sig", "sigmoid", FixedType(12, 4, True, "RND", "SAT"), FixedType(10, 1),
                       table_t=FixedType(18, 8), table_size=1000),
        SoftmaxSpec("sm", "stable", FixedType(10, 1), FixedType(16, 6), n_slice=4,
                    exp_table_t=FixedType(18, 8, True, "RND", "SAT"), inv_table_t=FixedType(18, 8, True, "RND", "SAT"),
                    accum_t=FixedType(18, 8, True, "RND", "SAT"), inv_inp_t=FixedType(18, 8, True, "RND", "SAT"),
                    exp_table_size=512, inv_table_size=1024, table_t=FixedType(18, 8),
                    inp_norm_t=FixedType(9, 0, False)),
    ], name="toy")


def _x(n=50, dtype=np.float32):
    return np.random.default_rng(1).normal(0, 16, (n, 2, 3)).astype(dtype)


def test_predict_dtype_and_shape_follow_hls4ml():
    m = _model()
    y32 = m.predict(_x())
    assert y32.dtype == np.float32 and y32.shape == (50, 4)
    y64 = m.predict(_x(dtype=np.float64))
    assert y64.dtype == np.float64 and y64.shape == (50, 4)
    assert m.predict(_x(1)).shape == (4,)  # one sample: hls4ml returns the bare output vector
    assert m.predict(_x(1)[0]).shape == (4,)
    assert m.predict(_x().reshape(50, 6)).shape == (50, 4)  # flattened samples are accepted


def test_predict_codes_are_the_outputs_codes():
    m = _model()
    x = _x(dtype=np.float64)
    np.testing.assert_array_equal(to_codes(m.predict(x), m.output_t), m.predict_codes(x))


def test_trace_has_every_layer_with_its_shape():
    m = _model()
    y, tr = m.trace(_x())
    assert list(tr) == ["flat", "fc", "sig", "sm"]
    assert tr["flat"].shape == (50, 6) and tr["sm"].shape == (50, 4)
    assert tr["fc"].dtype == np.float32
    np.testing.assert_array_equal(tr["sm"], y)
    assert tr.types["sig"] == FixedType(10, 1)


def test_overflow_report_counts_saturation():
    m = _model()
    x = _x()
    rep = m.overflow_report(x)
    fc = rep["fc"]
    assert set(fc) == {"bias", "product", "accumulator", "result"}
    rows = {(r.layer, r.quantity): r for r in rep.rows}
    assert rows[("fc", "product")].total == 50 * 24
    # ap_fixed<16,6> holds [-32, 32): every larger input wrapped
    assert rows[("x", "input")].overflowed == int(np.sum(np.abs(x.astype(np.float64)) >= 32)) > 0
    # the saturating result <12,4> clips often on these inputs
    assert rep.total >= rows[("fc", "result")].overflowed > 0
    assert "fc" in str(rep)


def test_save_load_roundtrip(tmp_path):
    m = _model()
    path = m.save(tmp_path / "toy")
    assert path.suffix == ".json" and (tmp_path / "toy.npz").exists()
    loaded = FxModel.load(tmp_path / "toy.json")
    assert loaded.name == "toy" and [type(s) for s in loaded.layers] == [type(s) for s in m.layers]
    assert loaded.layers[2].accum_t == m.layers[2].accum_t
    x = _x(dtype=np.float64)
    np.testing.assert_array_equal(loaded.predict_codes(x), m.predict_codes(x))


def test_load_does_not_need_tensorflow_or_hls4ml(tmp_path):
    import subprocess

    path = _model().save(tmp_path / "toy")
    code = (
        "import sys, numpy as np; import fxsim; m = fxsim.FxModel.load(sys.argv[1]); "
        "m.predict(np.zeros((3, 2, 3), np.float32)); "
        "bad = [k for k in sys.modules if k.split('.')[0] in ('tensorflow', 'hls4ml', 'keras', 'qkeras')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)


@pytest.mark.parametrize(
    "x, message",
    [
        (np.zeros((5, 7), np.float32), "does not match the model input"),
        (np.zeros((5, 2, 3), np.int32), "float32 or float64"),
        (np.full((2, 2, 3), np.nan, np.float32), "NaN"),
        ([[0.0] * 6], "numpy array"),
    ],
)
def test_bad_input_raises(x, message):
    with pytest.raises(ValueError, match=message):
        _model().predict(x)


def test_width_beyond_int64_raises():
    big = FixedType(40, 10)
    m = FxModel([InputSpec("x", (2,), big),
                 DenseSpec("fc", big, np.ones((2, 1), np.int64), np.zeros(1, np.int64), FixedType(30, 2),
                           FixedType(8, 2), FixedType(62, 20), FixedType(62, 20))])
    with pytest.raises(ValueError, match="fxsim represents at most 62"):
        m.predict(np.zeros((1, 2), np.float64))


def _gru_model() -> FxModel:
    from fxsim.ir import RecurrentSpec

    rng = np.random.default_rng(3)
    t = FixedType(16, 6)
    gru = RecurrentSpec(
        name="gru", cell="gru", input_t=t, n_timesteps=5, weight=rng.integers(-512, 512, (3, 12)),
        recurrent_weight=rng.integers(-512, 512, (4, 12)), bias=rng.integers(-512, 512, 12),
        recurrent_bias=rng.integers(-512, 512, 12), weight_t=t, recurrent_weight_t=t, bias_t=t, recurrent_bias_t=t,
        accum_t=t, result_t=t, table_t=FixedType(18, 8), table_size=1024, activation="tanh",
        recurrent_activation="sigmoid", return_sequences=True,
    )
    return FxModel([InputSpec("x", (5, 3), t), gru, ReshapeSpec("flat", t, (20,))])


def test_trace_shows_recurrent_internals_per_step():
    m = _gru_model()
    y, tr = m.trace(np.random.default_rng(4).normal(0, 2, (7, 5, 3)).astype(np.float32))
    assert y.shape == (7, 20) and tr["gru"].shape == (7, 5, 4)
    internals = [k for k in tr if k.startswith("gru/")]
    assert internals, "the GRU's per-step internals are missing from the trace"
    for key in internals:
        assert tr[key].shape[:2] == (7, 5)
    np.testing.assert_array_equal(tr["flat"], y)
    rep = m.overflow_report(np.full((2, 5, 3), 100.0))
    assert sum(v for q, v in rep["gru"].items()) > 0  # saturating inputs overflow inside the GRU


def test_recurrent_model_save_load(tmp_path):
    m = _gru_model()
    loaded = FxModel.load(m.save(tmp_path / "gru"))
    x = np.random.default_rng(5).normal(0, 2, (9, 5, 3))
    np.testing.assert_array_equal(loaded.predict_codes(x), m.predict_codes(x))
