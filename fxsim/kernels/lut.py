"""Sigmoid and tanh lookup tables exactly as hls4ml 1.3.0 builds and indexes them.

Emulates ``init_sigmoid_table`` / ``init_tanh_table`` and the index arithmetic of
``nnet::sigmoid`` / ``nnet::tanh`` (``nnet_activation.h``), which LSTM/GRU layers
reuse through ``nnet_recr_activations.h``.

Tables (Python, built once per ``(kind, table_size, table_t)``):

* grid ``in_val = float(R * (ii - N/2.0) / N)`` evaluated in double and stored in a
  float, with ``R = 16`` (sigmoid, [-8, 8)) or ``R = 8`` (tanh, [-4, 4));
* sigmoid entry ``float(1.0 / (double)(1.0f + expf(-in_val)))``, tanh entry
  ``tanhf(in_val)``: glibc's float functions through ctypes, because numpy's
  float32 ``exp``/``tanh`` differ from glibc by an ulp at many grid points;
* each entry converted to ``table_t`` with :func:`fxsim.fixed.to_codes`.

Index (numba, per value): ``trunc0(x * N / R)`` (C's ``(int)``: toward zero, low
32 bits), plus ``N // 2`` in 32-bit arithmetic, clamped to ``[0, N - 1]``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

import numpy as np

from fxsim._jit_cache import njit
from fxsim.fixed import FixedType, to_codes, trunc_toward_zero, wrap_signed

#: ``log2(R)`` of the table range ``R`` each LUT activation divides by.
RANGE_SHIFT = {"sigmoid": 4, "tanh": 3}


@lru_cache(maxsize=1)
def _libm() -> ctypes.CDLL:
    name = ctypes.util.find_library("m") or "libm.so.6"
    lib = ctypes.CDLL(name)
    for fn in ("expf", "tanhf"):
        getattr(lib, fn).restype = ctypes.c_float
        getattr(lib, fn).argtypes = [ctypes.c_float]
    return lib


def expf(x: float) -> np.float32:
    """glibc ``expf`` (float32 in, float32 out), as the C simulation calls it."""
    return np.float32(_libm().expf(float(np.float32(x))))


def tanhf(x: float) -> np.float32:
    """glibc ``tanhf`` (float32 in, float32 out)."""
    return np.float32(_libm().tanhf(float(np.float32(x))))


def table_grid(kind: str, table_size: int) -> np.ndarray:
    """The float32 inputs ``in_val`` of each table entry (``init_*_table``)."""
    n = _check_size(table_size)
    span = float(1 << RANGE_SHIFT[_check_kind(kind)])
    # 2 * 8.0 * (ii - float(N) / 2.0) / float(N): double arithmetic, stored in a float
    return np.array([np.float32(span * (ii - n / 2.0) / n) for ii in range(n)], dtype=np.float32)


def table_values(kind: str, table_size: int) -> np.ndarray:
    """The float32 entries before conversion to ``table_t``."""
    grid = table_grid(kind, table_size)
    if kind == "sigmoid":
        # 1.0 / (1 + std::exp(-input)): float sum, double division, returned as float
        denom = [np.float32(np.float32(1.0) + expf(-v)) for v in grid]
        return np.array([np.float32(1.0 / float(d)) for d in denom], dtype=np.float32)
    return np.array([tanhf(v) for v in grid], dtype=np.float32)


def build_table(kind: str, table_size: int, table_t: FixedType | str) -> np.ndarray:
    """Raw ``table_t`` codes (int64, length ``table_size``) of hls4ml's sigmoid/tanh table.

    Parameters
    ----------
    kind : ``"sigmoid"`` or ``"tanh"``.
    table_size : number of entries ``N`` (any positive integer, e.g. 1024, 1000, 333).
    table_t : the layer's ``table_t``.
    """
    t = FixedType.parse(table_t)
    return _build_table_cached(_check_kind(kind), _check_size(table_size), t).copy()


@lru_cache(maxsize=256)
def _build_table_cached(kind: str, table_size: int, table_t: FixedType) -> np.ndarray:
    return to_codes(table_values(kind, table_size).astype(np.float64), table_t)


def _check_kind(kind: str) -> str:
    if kind not in RANGE_SHIFT:
        raise ValueError(f"no hls4ml lookup table for activation {kind!r}; tables exist for sigmoid and tanh")
    return kind


def _check_size(table_size: int) -> int:
    n = int(table_size)
    if n < 1 or n != table_size:
        raise ValueError(f"table_size must be a positive integer, got {table_size!r}")
    if n >= 2**31:
        raise ValueError(f"table_size {n} does not fit hls4ml's 32-bit index arithmetic")
    return n


def check_index_width(input_t: FixedType, table_size: int, what: str = "LUT input") -> None:
    """Raise if ``x * table_size`` of ``input_t`` codes would not fit an int64.

    The index kernels compute the exact product ``code * N``; fxsim refuses the
    (unusual) types where that needs more than 62 bits instead of answering wrong.
    """
    t = FixedType.parse(input_t)
    bits = t.width + int(table_size).bit_length()
    if bits > 62:
        raise ValueError(
            f"{what} type {t} with table_size {table_size}: the index product x*N needs {bits} bits; "
            "fxsim represents at most 62 (narrow the input type or the table)"
        )


@njit(cache=True)
def lut_index(code, frac, table_size, range_shift):
    """Table index of one fixed value, as ``nnet::sigmoid``/``nnet::tanh`` compute it.

    Parameters
    ----------
    code : raw code of the input value (its type has ``frac`` fractional bits).
    frac : fractional bits of the input type.
    table_size : ``N``.
    range_shift : 4 for sigmoid (``x*N/16``), 3 for tanh (``x*N/8``); see ``RANGE_SHIFT``.

    Returns
    -------
    (index, clipped) : the clamped index in ``[0, N-1]`` and whether clamping
        changed it (the input lay outside the table's range).
    """
    # (int)(x * N / 16): the exact product, truncated toward zero, low 32 bits
    return _clamp_index(trunc_toward_zero(code * table_size, frac + range_shift), table_size)


@njit(cache=True)
def _clamp_index(data_round, table_size):
    # + 8*N/16 in unsigned 32-bit arithmetic, read back as int: C's two 32-bit wraps (of the
    # (int) conversion and of the sum) are one, wrap(wrap(q) + c) == wrap(q + c); clamped
    # without branches
    index = wrap_signed(data_round + table_size // 2, 32)
    top = table_size - 1
    return min(max(index, 0), top), (index < 0) | (index > top)


@njit(cache=True)
def lut_index_pow2(code, frac_less_log2n, table_size):
    """:func:`lut_index` for ``N = 2**k``: ``frac_less_log2n = frac + range_shift - k``, so
    ``x * N / R`` truncated toward zero is ``code`` shifted (the same exact value, no multiply)."""
    return _clamp_index(trunc_toward_zero(code, frac_less_log2n), table_size)


@njit(cache=True)
def sigmoid_index(code, frac, table_size):
    """:func:`lut_index` for the sigmoid table (range [-8, 8))."""
    return lut_index(code, frac, table_size, 4)


@njit(cache=True)
def tanh_index(code, frac, table_size):
    """:func:`lut_index` for the tanh table (range [-4, 4))."""
    return lut_index(code, frac, table_size, 3)


# --- softmax tables (nnet_activation.h: init_exp_table, init_invert_table, *_legacy) ------


def _ceillog2(n: int) -> int:
    return max(0, (int(n) - 1).bit_length())


def softmax_addr_bits(table_size: int, index_t: FixedType, what: str = "softmax table") -> int:
    """``N = ceillog2(table_size)``: how many top bits of ``index_t`` address the table.

    Raises when the C++ slice would read outside the table or the type
    (``table_size`` not a power of two, or more address bits than ``index_t`` has).
    """
    n = _check_size(table_size)
    bits = _ceillog2(n)
    if n != 1 << bits:
        raise ValueError(
            f"{what} size {n} is not a power of two: hls4ml indexes it with the top {bits} bits of "
            f"the value and would read past the table's end; use a power-of-two size"
        )
    if bits > index_t.width:
        raise ValueError(
            f"{what} size {n} needs {bits} address bits but its index type {index_t} has only "
            f"{index_t.width}; hls4ml's bit slice is undefined there"
        )
    return bits


def softmax_real_vals(table_size: int, index_t: FixedType) -> np.ndarray:
    """``softmax_real_val_from_idx<index_t, N>(i)``: the float32 lower bin edge of every index."""
    t = FixedType.parse(index_t)
    bits = softmax_addr_bits(table_size, t)
    shift = t.width - bits
    idx = np.arange(table_size, dtype=np.int64)
    codes = idx << shift
    if t.signed:
        codes = np.where(codes >= (1 << (t.width - 1)), codes - (1 << t.width), codes)
    return np.ldexp(codes.astype(np.float64), -t.frac).astype(np.float32)


def _float_to_codes(values: np.ndarray, t: FixedType) -> np.ndarray:
    # ap_fixed(inf) sees exponent 1024 and mantissa 1.0: the same result as 2**1023
    # for every width fxsim supports (saturates, or wraps to 0).
    v = np.asarray(values, dtype=np.float64).copy()
    v[np.isposinf(v)] = np.ldexp(1.0, 1023)
    v[np.isneginf(v)] = -np.ldexp(1.0, 1023)
    return to_codes(v, t)


def softmax_exp_table(table_size: int, index_t: FixedType, exp_table_t: FixedType,
                      exp_scale: float = 1.0, negative: bool = False) -> np.ndarray:
    """``init_exp_table<index_t>``: ``exp_table_t(expf(±real_val(i) * exp_scale))`` codes.

    ``negative`` is the stable implementation's table over ``x_max - x``.
    """
    scale = np.float32(exp_scale)
    xs = softmax_real_vals(table_size, index_t) * scale  # float * float
    if negative:
        xs = -xs
    return _float_to_codes(np.array([expf(v) for v in xs], dtype=np.float32), FixedType.parse(exp_table_t))


def softmax_inv_table(table_size: int, inv_inp_t: FixedType, inv_table_t: FixedType) -> np.ndarray:
    """``init_invert_table<inv_inp_t>``: ``inv_table_t(1 / real_val(i))`` in float32 (inf at 0)."""
    xs = softmax_real_vals(table_size, inv_inp_t)
    with np.errstate(divide="ignore"):
        inv = np.float32(1.0) / xs  # int / float: a float division
    return _float_to_codes(inv, FixedType.parse(inv_table_t))


def softmax_legacy_tables(exp_table_size: int, inv_table_size: int,
                          table_t: FixedType) -> tuple[np.ndarray, np.ndarray]:
    """``init_exp_table_legacy`` and ``init_invert_table_legacy`` codes of ``table_t``."""
    t = FixedType.parse(table_t)
    grid = table_grid("sigmoid", exp_table_size)  # the same [-8, 8) grid
    exp_codes = _float_to_codes(np.array([expf(v) for v in grid], dtype=np.float32), t)
    n = _check_size(inv_table_size)
    inv_vals = np.zeros(n, dtype=np.float64)
    for ii in range(n):
        in_val = np.float32(64.0 * ii / n)
        if in_val > 0.0:
            inv_vals[ii] = 1.0 / float(in_val)  # double division, converted straight from double
    return exp_codes, _float_to_codes(inv_vals, t)
