"""EBOPs as HGQ defines them: effective bits of each weight code x the other operand's width."""

from __future__ import annotations

import numpy as np
import pytest

from fxsim.cost import effective_bits, estimate_ir
from fxsim.cost.ebops import signed_width
from fxsim.fixed import FixedType
from fxsim.ir import DenseSpec, InputSpec
from fxsim.model import FxModel

pytestmark = pytest.mark.core


@pytest.mark.parametrize("code, bits", [(0, 0), (1, 1), (-1, 1), (2, 1), (3, 2), (5, 3), (-6, 2), (0b1011000, 4),
                                        (-(2**40), 1), (2**40 + 1, 41)])
def test_effective_bits_is_highest_minus_lowest_set_bit(code, bits):
    assert int(effective_bits(np.array([code]))[0]) == bits


def test_effective_bits_matches_python_bit_arithmetic():
    rng = np.random.default_rng(0)
    codes = rng.integers(-(2**30), 2**30, size=2000)
    for c, e in zip(codes, effective_bits(codes)):
        a = abs(int(c))
        expect = 0 if a == 0 else a.bit_length() - ((a & -a).bit_length() - 1)
        assert e == expect


@pytest.mark.parametrize("code, width", [(0, 0), (1, 2), (-1, 1), (-2, 2), (3, 3), (-4, 3), (127, 8), (-128, 8)])
def test_signed_width_is_minimal_twos_complement(code, width):
    assert int(signed_width(np.array([code]))[0]) == width


def tiny_model() -> FxModel:
    """2 inputs of ap_fixed<6,2> into 3 outputs; weights in ap_fixed<8,3> (5 fractional bits)."""
    x_t, w_t, acc_t = FixedType(6, 2), FixedType(8, 3), FixedType(16, 6)
    # codes: 0b0110 (eff 2), 0 (free), -0b10101 (eff 5) / 0b1000 (eff 1), 0b111 (eff 3), -1 (eff 1)
    weight = np.array([[6, 0, -21], [8, 7, -1]], dtype=np.int64)
    dense = DenseSpec("d", x_t, weight, np.zeros(3, dtype=np.int64), w_t, w_t, acc_t, acc_t)
    return FxModel([InputSpec("x", (2,), x_t), dense], name="tiny")


def test_ebops_hand_count_on_a_tiny_model():
    # effective bits: 2 + 0 + 5 + 1 + 3 + 1 = 12, times the input width 6
    est = estimate_ir(tiny_model())
    assert est.ebops == 12 * 6
    assert est.layers[1].ebops == 72


@pytest.mark.keras2
def test_ebops_hand_count_on_a_converted_keras_model():
    """A real Keras Dense converted by hls4ml: EBOPs counted by hand from the quantized weights."""
    keras = pytest.importorskip("tensorflow").keras
    from fxsim import emulate

    inp = keras.Input((3,), name="x")
    out = keras.layers.Dense(2, name="d")(inp)
    model = keras.Model(inp, out)
    # exact in ap_fixed<8,3> (5 fractional bits): codes 0.75*32=24 (11000b: 2 bits), 0, -0.5*32=-16 (1),
    # 0.40625*32=13 (1101b: 4), 1.0*32=32 (1), -0.15625*32=-5 (101b: 3)
    model.get_layer("d").set_weights([np.array([[0.75, 0.0], [-0.5, 0.40625], [1.0, -0.15625]]), np.zeros(2)])
    fx = emulate(model, "ap_fixed<8,3>")
    dense = [s for s in fx.layers if isinstance(s, DenseSpec)][0]
    assert sorted(np.abs(dense.weight).ravel().tolist()) == [0, 5, 13, 16, 24, 32]
    est = estimate_ir(fx)
    assert est.ebops == (2 + 0 + 1 + 4 + 1 + 3) * dense.input_t.width
