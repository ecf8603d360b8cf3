"""EBOPs exactly as HGQ defines them, from fxsim's IR (the real weight codes and types).

For every multiplication by a constant weight: the weight code's effective bit width — the
bits from the highest to the lowest set bit of ``|code|``, inclusive, the sign not counted,
zero for a zero weight — times the width of the other operand (its type's width, sign
included). HGQ: ``kernel_bw_exact`` / ``get_arr_bits`` and ``HDense.compute_exact_bops``
(github.com/calad0i/HGQ); HGQ2's recurrent cells (``hgq/layers/rnn/gru.py``
``_compute_ebops``) add each element-wise product of two variables as width x width. Biases
are additions, not multiplications: not counted (as HGQ's ``compute_exact_bops``).

fxsim takes the other operand's width from its declared type (HGQ, which owns its quantizers,
can use the calibrated per-element widths instead); a cell that hls4ml instantiates once per
time step (``static: false``) counts once per instance, a static cell once.
"""

from __future__ import annotations

import numpy as np


def effective_bits(codes: np.ndarray) -> np.ndarray:
    """Per element: bits between the highest and lowest set bit of ``|code|`` (0 for 0).

    ``5 (101b) -> 3``, ``4 (100b) -> 1``, ``-6 (|110b|) -> 2``, ``0 -> 0``.
    """
    a = np.abs(np.asarray(codes, dtype=np.int64)).astype(np.uint64)
    out = np.zeros(a.shape, dtype=np.int64)
    nz = a != 0
    if not nz.any():
        return out
    v = a[nz]
    low = v & (~v + np.uint64(1))  # lowest set bit as a power of two
    hi = _bit_length(v)
    lo = _bit_length(low)
    out[nz] = hi - lo + 1
    return out


def _bit_length(v: np.ndarray) -> np.ndarray:
    """``int.bit_length`` element-wise for uint64 (exact: no float rounding)."""
    n = np.zeros(v.shape, dtype=np.int64)
    v = v.copy()
    for shift in (32, 16, 8, 4, 2, 1):
        big = v >= (np.uint64(1) << np.uint64(shift))
        n[big] += shift
        v[big] >>= np.uint64(shift)
    return n + (v > 0)


def signed_width(codes: np.ndarray) -> np.ndarray:
    """Minimal two's-complement width of each code (``0 -> 0``, ``1 -> 2``, ``-1 -> 1``, ``-2 -> 2``).

    The width HLS's bit-width analysis narrows a constant operand to.
    """
    c = np.asarray(codes, dtype=np.int64)
    mag = np.where(c < 0, ~c, c).astype(np.uint64)  # ~c = -c - 1: bits a negative value needs
    out = _bit_length(mag) + 1
    return np.where(c == 0, 0, out)


def constant_product_ebops(weight: np.ndarray, other_width: int) -> int:
    """EBOPs of multiplying one operand of ``other_width`` bits by each weight code."""
    return int(effective_bits(weight).sum()) * int(other_width)
