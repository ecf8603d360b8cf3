"""The per-layer analytic model: how hls4ml 1.3.0's io_parallel templates map onto Vivado HLS.

Each layer spec of the IR becomes a :class:`LayerCost` (EBOPs, LUT, FF, DSP, BRAM_18K,
latency and interval in cycles). Every rule and constant comes from :mod:`fxsim.cost.rules`,
where its source is written down; this module only applies them:

* **Products** of a Latency-strategy kernel (reuse factor 1) are by constants: a zero weight
  removes the product, a power of two is a shift; the rest go to a DSP when both operands are
  at least ``DSP_MIN_WIDTH`` bits (the constant with its minimal signed width), otherwise to a
  shift-and-add network in LUTs over the constant's canonical signed digits. With a reuse
  factor above 1 (either strategy) ``ceil(n_in * n_out / R)`` general multipliers are shared
  and the weights sit in a ROM ``R`` words deep.
* **Adder trees**: each output sums its bias and its surviving products in ``accum_t``, pairwise
  in that order, each adder one carry bit over its wider operand, at most ``accum_t``
  (:data:`fxsim.cost.rules.ADDER_CARRY_BITS`, :data:`fxsim.cost.rules.ADDER_TREE_ORDER`).
* **Activation tables** (sigmoid, tanh, softmax): a ROM per two parallel lookups (dual port).
* **Schedule**: operations chain inside a clock period (less the clock uncertainty) and
  every value crossing a cycle boundary costs flip-flops; a static recurrent layer runs its
  one cell ``n_timesteps`` times in sequence, a non-static one instantiates it per step.
* **Wrappers**: a ``Bidirectional`` layer is its two recurrent layers side by side (one
  input sequence held for both); a ``TimeDistributed`` loop is its wrapped layers once per
  time step, as copies (the top-level pipeline unrolls the loop) or one copy run
  ``n_time_steps`` times (a DATAFLOW design): :data:`fxsim.cost.rules.TIME_DISTRIBUTED_LOOP`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from fxsim.cost import rules
from fxsim.cost.devices import Device
from fxsim.cost.ebops import effective_bits, signed_width
from fxsim.fixed import FixedType, Overflow, Rounding
from fxsim.ir import (
    ActivationSpec,
    BidirectionalSpec,
    Conv1DSpec,
    DenseSpec,
    InputSpec,
    LayerSpec,
    Pooling1DSpec,
    RecurrentSpec,
    ReshapeSpec,
    ScaleSpec,
    SoftmaxSpec,
    TimeDistributedSpec,
    ZeroPadding1DSpec,
)


@dataclass(frozen=True)
class LayerCost:
    """The estimated cost of one layer (one row of :meth:`fxsim.cost.Estimate.table`).

    ``latency_cycles`` is the layer's share of the model's latency; ``interval_cycles`` the
    initiation interval it imposes; ``instances`` how many copies of its hardware exist (a
    non-static recurrent layer: one cell per time step). ``detail`` holds the counts behind
    the figures (products by kind, tables, ROMs).
    """

    name: str
    cls: str
    ebops: float
    lut: float
    ff: float
    dsp: int
    bram_18k: int
    latency_cycles: int
    interval_cycles: int
    instances: int = 1
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "class": self.cls, "ebops": float(self.ebops), "lut": float(self.lut),
                "ff": float(self.ff), "dsp": int(self.dsp), "bram_18k": int(self.bram_18k),
                "latency_cycles": int(self.latency_cycles), "interval_cycles": int(self.interval_cycles),
                "instances": int(self.instances), "detail": _jsonable(self.detail)}


def _jsonable(d):
    if isinstance(d, dict):
        return {k: _jsonable(v) for k, v in d.items()}
    if isinstance(d, (np.integer,)):
        return int(d)
    if isinstance(d, (np.floating,)):
        return float(d)
    return d


# --- resources accumulated while building one layer ----------------------------------------


@dataclass
class _Res:
    lut: float = 0.0
    ff: float = 0.0
    dsp: int = 0
    bram: int = 0
    ebops: float = 0.0
    detail: dict = field(default_factory=dict)

    def count(self, key: str, n: int | float) -> None:
        self.detail[key] = self.detail.get(key, 0) + n


class _Schedule:
    """Operations chained into clock cycles; FFs for whatever crosses a cycle boundary.

    ``budget`` is the usable part of a period (UG902: period less the clock uncertainty).
    """

    def __init__(self, clock_period: float):
        self.budget = clock_period * (1.0 - rules.CLOCK_UNCERTAINTY)
        self.t = 0.0
        self.cycles = 0

    def chain(self, delay: float, live_bits: float, res: _Res) -> None:
        """Append a combinational step of ``delay`` ns; ``live_bits`` are registered if a boundary falls before it."""
        if delay <= 0:
            return
        if self.t > 0 and self.t + delay > self.budget:
            self.boundary(live_bits, res)
        extra = max(0, math.ceil(delay / self.budget) - 1)  # an operation longer than a cycle is multi-cycled
        self.cycles += extra
        self.t += delay - extra * self.budget

    def boundary(self, live_bits: float, res: _Res) -> None:
        self.cycles += 1
        self.t = 0.0
        res.ff += live_bits

    def registered(self, cycles: int, carried_bits: float, res: _Res) -> None:
        """A step of ``cycles`` whose result is registered inside a hard block (a BRAM's output).

        Its own operands are registered inside the block; ``carried_bits`` of other values
        waiting alongside cross each of its boundaries in fabric FFs.
        """
        self.cycles += cycles
        res.ff += carried_bits * cycles
        self.t = 0.0

    def finish(self, live_bits: float, res: _Res) -> int:
        """Close the current cycle (register ``live_bits``); the number of cycles used."""
        if self.t > 0:
            self.boundary(live_bits, res)
        return self.cycles


# --- arithmetic building blocks -----------------------------------------------------------


def _dsp_tiles(a: int, b: int, device: Device) -> int:
    """DSP slices for an ``a x b`` product (wider operand on the wider port)."""
    pa, pb = rules.DSP_WIDTHS[device.dsp_slice]
    a, b = max(a, b), min(a, b)
    return math.ceil(a / pa) * math.ceil(b / pb)


def _uses_dsp(a: int, b: int) -> bool:
    return min(a, b) >= rules.DSP_MIN_WIDTH


def _csd_digits(codes: np.ndarray) -> np.ndarray:
    """Nonzero digits of each code's canonical signed-digit form (``|c| ^ 3|c|`` has two bits per digit)."""
    a = np.abs(np.asarray(codes, dtype=np.int64)).astype(np.uint64)
    x = a ^ (a * np.uint64(3))
    n = np.zeros(a.shape, dtype=np.int64)
    while np.any(x):
        n += (x & np.uint64(1)).astype(np.int64)
        x >>= np.uint64(1)
    return n // 2


def _cast_luts(src: FixedType, dst: FixedType) -> float:
    """LUTs of ``dst(src_value)``: a rounding adder, saturation comparators and multiplexers."""
    lut = 0.0
    if dst.rounding not in (Rounding.TRN,) and src.frac > dst.frac:
        lut += dst.width * rules.LUTS_PER_ADDER_BIT
    if dst.overflow != Overflow.WRAP and src.integer > dst.integer:
        lut += 2 * dst.width * rules.LUTS_PER_ADDER_BIT
    return lut


def _variable_product(a: int, b: int, n: int, res: _Res, device: Device) -> float:
    """``n`` products of two variables (element-wise cell products, shared multipliers); their delay."""
    if n <= 0:
        return 0.0
    if _uses_dsp(a, b):
        res.dsp += n * _dsp_tiles(a, b, device)
        res.count("dsp_products", n)
        return rules.DSP_NS
    res.lut += n * a * b * rules.LUTS_PER_VARIABLE_PRODUCT_BIT
    res.count("lut_products", n)
    return math.ceil(math.log2(max(2, min(a, b)))) * rules.ADD_NS


def _dense_kernel(weight: np.ndarray, bias: np.ndarray, input_t: FixedType, weight_t: FixedType, accum_t: FixedType,
                  reuse_factor: int, sched: _Schedule, res: _Res, device: Device) -> None:
    """One ``nnet::dense`` call (Latency or Resource kernel) on the schedule ``sched``."""
    n_in, n_out = weight.shape
    a = input_t.width
    res.ebops += int(effective_bits(weight).sum()) * a
    if reuse_factor <= 1:
        _constant_kernel(weight, bias, input_t, accum_t, sched, res, device)
    else:
        _shared_kernel(n_in, n_out, input_t, weight_t, accum_t, reuse_factor, sched, res, device)


def _constant_kernel(weight, bias, input_t, accum_t, sched, res, device) -> None:
    a = input_t.width
    eff = effective_bits(weight)
    width = signed_width(weight)
    zero = eff == 0
    shift = eff == 1
    general = ~zero & ~shift
    dsp = general & (np.minimum(width, a) >= rules.DSP_MIN_WIDTH)
    lut = general & ~dsp
    res.count("products", int(weight.size))
    res.count("zero_weights", int(zero.sum()))
    res.count("shift_products", int(shift.sum()))
    res.count("dsp_products", int(dsp.sum()))
    res.count("lut_products", int(lut.sum()))
    for w in np.unique(width[dsp]):
        res.dsp += int((width[dsp] == w).sum()) * _dsp_tiles(a, int(w), device)
    # shift-and-add over the canonical signed digits, each adder at most accum_t + 1 bits wide
    digits = _csd_digits(weight)
    adder_w = _adder_width(a + width - 1, accum_t.width + 1)
    res.lut += float(((digits - 1) * adder_w)[lut].sum()) * rules.LUTS_PER_ADDER_BIT
    t_mult = 0.0
    if dsp.any():
        t_mult = rules.DSP_NS
    if lut.any():
        t_mult = max(t_mult, math.ceil(math.log2(int(digits[lut].max()))) * rules.ADD_NS)
    # adder tree per output: surviving products + a nonzero bias (a zero bias is a constant 0)
    bias = np.asarray(bias).reshape(1, -1)
    operands = np.vstack([np.minimum(signed_width(bias), accum_t.width),
                          np.where(zero, 0, np.minimum(a + width, accum_t.width))])
    terms = (operands > 0).sum(axis=0)
    n_adders = int(np.maximum(terms - 1, 0).sum())
    tree_bits = _adder_tree_bits(operands, accum_t.width)
    res.lut += tree_bits * rules.LUTS_PER_ADDER_BIT
    res.count("adders", n_adders)
    res.count("adder_tree_bits", tree_bits)
    # The scheduler puts each boundary of the product/adder-tree network at its narrowest cut
    # (rules.REGISTERS_AT_NARROWEST_CUT): one partial sum per output.
    live = len(terms) * accum_t.width
    sched.chain(t_mult, live, res)
    depth = math.ceil(math.log2(max(1, int(terms.max()))))
    for _ in range(depth):
        sched.chain(rules.ADD_NS, live, res)


def _shared_kernel(n_in, n_out, input_t, weight_t, accum_t, rf, sched, res, device) -> None:
    a, b = input_t.width, weight_t.width
    n_mult = math.ceil(n_in * n_out / rf)
    res.count("products", n_in * n_out)
    res.count("multipliers", n_mult)
    t_mult = _variable_product(a, b, n_mult, res, device)
    _rom(rf, n_mult * b, res, "weight_rom")
    res.lut += n_mult * accum_t.width * rules.LUTS_PER_ADDER_BIT  # one accumulate per multiplier
    res.ff += n_out * accum_t.width  # accumulators held across the reuse loop
    res.count("adders", n_mult)
    sched.registered(rules.ROM_READ_CYCLES, 0.0, res)
    sched.chain(t_mult + rules.ADD_NS, 0.0, res)
    sched.cycles += rf - 1  # ReuseLoop: R iterations at II=1
    depth = math.ceil(math.log2(max(1, math.ceil(n_in / rf)))) if rf < n_in else 0
    for _ in range(depth):
        sched.chain(rules.ADD_NS, n_out * accum_t.width, res)


def _rom_in_bram(depth: int, width: int) -> bool:
    return depth >= rules.ROM_BRAM_MIN_DEPTH


def _rom(depth: int, width: int, res: _Res, key: str, copies: int = 1) -> None:
    """A ROM of ``depth`` words x ``width`` bits, ``copies`` times: BRAM when large, else LUT memory."""
    if _rom_in_bram(depth, width):
        per = max(math.ceil(depth * width / rules.BRAM_18K_BITS), math.ceil(width / 36))
        res.bram += copies * per
        res.count(f"{key}_bram_18k", copies * per)
    else:
        res.lut += copies * math.ceil(depth / rules.LUTROM_BITS_PER_LUT) * width
        res.count(f"{key}_lutrom", copies)


def _table_lookup(n: int, input_t: FixedType, table_t: FixedType, table_size: int, sched: _Schedule,
                  res: _Res, key: str, carried: float = 0.0) -> None:
    """``n`` parallel lookups into one activation table (``nnet_activation.h``)."""
    if n <= 0:
        return
    addr = max(1, math.ceil(math.log2(table_size)))
    copies = math.ceil(n / rules.BRAM_PORTS)
    _rom(table_size, table_t.width, res, key, copies)
    res.lut += n * 3 * max(addr, input_t.width) * rules.LUTS_PER_ADDER_BIT  # index: scale, offset, clamp
    res.count(f"{key}_lookups", n)
    sched.chain(2 * rules.ADD_NS, n * input_t.width + carried, res)
    if _rom_in_bram(table_size, table_t.width):
        sched.registered(rules.ROM_READ_CYCLES, carried, res)
    else:
        sched.chain(rules.ADD_NS, n * addr + carried, res)


def _adder_width(operand_bits, cap: int):
    """Bits of an adder over operands ``operand_bits`` wide whose result is cast to ``cap`` bits
    (:data:`fxsim.cost.rules.ADDER_CARRY_BITS`)."""
    return np.minimum(np.asarray(operand_bits) + rules.ADDER_CARRY_BITS, cap)


def _adder_tree_bits(operand_bits: np.ndarray, accum_width: int) -> int:
    """Adder bits of one tree per column of ``operand_bits`` ``[terms, n_out]`` (0: no operand).

    The present operands of each column are added pairwise in row order, level by level
    (:data:`fxsim.cost.rules.ADDER_TREE_ORDER`); each adder is :func:`_adder_width` of its
    wider operand, at most ``accum_width``.
    """
    present = operand_bits > 0
    rows = np.cumsum(present, axis=0) - 1  # present operands packed to the top, in row order
    cols = np.broadcast_to(np.arange(operand_bits.shape[1]), operand_bits.shape)
    w = np.zeros(operand_bits.shape, dtype=np.int64)
    w[rows[present], cols[present]] = operand_bits[present]
    total = 0
    while w.shape[0] > 1:
        if w.shape[0] % 2:
            w = np.vstack([w, np.zeros((1, w.shape[1]), dtype=np.int64)])
        lo, hi = w[0::2], w[1::2]  # packed: an absent lo has an absent hi
        both = hi > 0
        summed = np.where(both, _adder_width(np.maximum(lo, hi), accum_width), lo)
        total += int(summed[both].sum())
        w = summed
    return total


def _adders(n: int, width: int, sched: _Schedule, res: _Res, live_bits: float) -> None:
    res.lut += n * width * rules.LUTS_PER_ADDER_BIT
    res.count("adders", n)
    sched.chain(rules.ADD_NS, live_bits, res)


# --- layers -------------------------------------------------------------------------------


def layer_cost(spec: LayerSpec, sched: _Schedule, device: Device, n_outputs: int,
               in_shape: tuple[int, ...] | None = None, dataflow: bool = False) -> LayerCost:
    """The cost of one layer, appended to the model's schedule ``sched``.

    ``n_outputs`` is the number of values the layer produces (from the IR's shapes);
    ``in_shape`` the shape it reads (a ``TimeDistributed`` loop needs it); ``dataflow``
    whether hls4ml gives the design the DATAFLOW pipeline style (see
    :func:`pipeline_is_dataflow`).
    """
    start = sched.cycles
    res = _Res()
    interval = 1
    instances = 1
    if isinstance(spec, (InputSpec, ReshapeSpec, ZeroPadding1DSpec)):
        pass  # wiring (zero padding: constant zeros)
    elif isinstance(spec, DenseSpec):
        _check_reuse(spec.name, spec.n_in, spec.n_out, spec.reuse_factor, spec.strategy)
        n_rows = max(1, n_outputs // spec.n_out)
        sub = _Res()
        _dense_kernel(spec.weight, spec.bias, spec.input_t, spec.weight_t, spec.accum_t, spec.reuse_factor,
                      sched, sub, device)
        _merge(res, sub, n_rows)
        res.lut += n_rows * spec.n_out * _cast_luts(spec.accum_t, spec.result_t)
        interval = spec.reuse_factor
    elif isinstance(spec, ActivationSpec):
        _activation(spec, n_outputs, sched, res)
    elif isinstance(spec, SoftmaxSpec):
        _softmax(spec, sched, res, device)
    elif isinstance(spec, ScaleSpec):
        n = int(np.asarray(spec.scale).size)
        res.ebops += int(effective_bits(spec.scale).sum()) * spec.input_t.width
        sub = _Res()
        w = np.asarray(spec.scale, dtype=np.int64).reshape(1, -1)
        # a diagonal kernel: one product per element, one bias add
        bias = np.asarray(spec.bias).reshape(-1)
        for j in range(w.shape[1]):
            _constant_kernel(w[:, j:j + 1], bias[j:j + 1], spec.input_t, spec.result_t, _Schedule(1e9), sub, device)
        _merge(res, sub, 1)
        sched.chain(rules.DSP_NS if sub.dsp else 2 * rules.ADD_NS, n * spec.input_t.width, res)
    elif isinstance(spec, RecurrentSpec):
        return _recurrent(spec, sched, device)
    elif isinstance(spec, BidirectionalSpec):
        return _bidirectional(spec, sched, device)
    elif isinstance(spec, TimeDistributedSpec):
        return _time_distributed(spec, sched, device, in_shape, dataflow)
    elif isinstance(spec, Conv1DSpec):
        interval = _conv1d(spec, sched, res, device)
    elif isinstance(spec, Pooling1DSpec):
        _pooling1d(spec, sched, res)
    else:  # pragma: no cover - the IR has no other spec
        raise ValueError(f"fxsim.cost has no model for layer {getattr(spec, 'name', spec)!r} ({type(spec).__name__})")
    latency = sched.cycles - start
    return LayerCost(spec.name, type(spec).__name__.replace("Spec", ""), res.ebops, res.lut, res.ff, res.dsp,
                     res.bram, latency, interval, instances, res.detail)


def _conv1d(spec: Conv1DSpec, sched: _Schedule, res: _Res, device: Device) -> int:
    """``conv_1d_cl``: one pixel's dense kernel (``ParallelizationFactor`` 1, hls4ml's default,
    so ``n_pixels = 1``) run once per output position (``PartitionLoop``, II = reuse factor).

    EBOPs as HGQ counts a convolution: the kernel's product bits at every output position.
    Returns the initiation interval.
    """
    weight = spec.weight.reshape(-1, spec.n_filt)
    _check_reuse(spec.name, weight.shape[0], spec.n_filt, spec.reuse_factor, spec.strategy)
    sub = _Res()
    _dense_kernel(weight, spec.bias, spec.input_t, spec.weight_t, spec.accum_t, spec.reuse_factor, sched, sub, device)
    sub.ebops *= spec.out_width
    _merge(res, sub, 1)
    res.lut += spec.n_filt * _cast_luts(spec.accum_t, spec.result_t)
    res.ff += spec.filt_width * spec.n_chan * spec.input_t.width  # the im2col buffer of one pixel
    sched.cycles += (spec.out_width - 1) * spec.reuse_factor
    return spec.out_width * spec.reuse_factor


def _pooling1d(spec: Pooling1DSpec, sched: _Schedule, res: _Res) -> None:
    """``pooling1d_cl``: per output and channel a comparator (max) or adder (average) chain over the
    window; an average's division by a window size that is not a power of two is counted as one
    constant product of ``accum_t`` width per output (``constant_divisions``)."""
    width = spec.n_in if spec.is_global else spec.pool_width
    n_out = spec.n_filt * (1 if spec.is_global else spec.n_out)
    bits = spec.input_t.width if spec.op == "max" else spec.accum_t.width
    res.lut += n_out * (width - 1) * bits * rules.LUTS_PER_ADDER_BIT
    res.count("max_comparators" if spec.op == "max" else "adders", n_out * (width - 1))
    if spec.op == "average" and width & (width - 1):
        res.lut += n_out * spec.accum_t.width * spec.accum_t.width * rules.LUTS_PER_VARIABLE_PRODUCT_BIT / 2
        res.count("constant_divisions", n_out)
    res.lut += n_out * _cast_luts(spec.accum_t, spec.result_t)
    for _ in range(math.ceil(math.log2(max(2, width)))):
        sched.chain(rules.ADD_NS, n_out * bits, res)


def _add_cost(res: _Res, c: LayerCost, times: int = 1) -> None:
    """Add ``times`` copies of a finished layer's figures (and its numeric counts) to ``res``."""
    counts = {k: v for k, v in c.detail.items()
              if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)}
    _merge(res, _Res(c.lut, c.ff, c.dsp, c.bram_18k, c.ebops, counts), times)


def _bidirectional(spec: BidirectionalSpec, sched: _Schedule, device: Device) -> LayerCost:
    """``nnet::bidirectional_stack``: the forward and backward layers side by side
    (:data:`fxsim.cost.rules.BIDIRECTIONAL_HALVES`), each costed as its own recurrent layer.

    Resources and EBOPs are the two halves' sums, less the input sequence both read (held
    once); latency and interval are the slower half's.
    """
    runs = []
    for half in (spec.forward, spec.backward):
        s = copy.copy(sched)  # both halves start where the model's schedule stands
        runs.append((_recurrent(half, s, device), s))
    (fwd, s_f), (bwd, s_b) = runs
    last = max((s_f, s_b), key=lambda s: (s.cycles, s.t))
    start = sched.cycles
    sched.cycles, sched.t = last.cycles, last.t
    shared = _shared_sequence_bits(spec, fwd.detail["step_cycles"], bwd.detail["step_cycles"])
    res = _Res()
    _add_cost(res, fwd)
    _add_cost(res, bwd)
    res.ff -= shared
    cells = {spec.forward.cell.upper(), spec.backward.cell.upper()}
    detail = {"forward": fwd.detail, "backward": bwd.detail, "shared_input_ff": shared,
              "step_cycles": max(fwd.detail["step_cycles"], bwd.detail["step_cycles"])}
    return LayerCost(spec.name, f"Bidirectional({'|'.join(sorted(cells))})", res.ebops, res.lut, res.ff, res.dsp,
                     res.bram, sched.cycles - start, max(fwd.interval_cycles, bwd.interval_cycles),
                     fwd.instances + bwd.instances, detail)


def _shared_sequence_bits(spec: BidirectionalSpec, step_f: int, step_b: int) -> float:
    """FFs of the input sequence the two halves would each hold but share (``data`` is one array).

    Static: both hold the whole sequence while they step through it, so one copy is saved.
    Non-static: the forward half needs ``x[j]`` after ``j * step_f`` cycles, the backward
    half after ``(T - 1 - j) * step_b``; one delay line kept to the later of the two
    saves the shorter delay.
    """
    f = spec.forward
    T = f.n_timesteps
    seq_bits = f.n_in * f.input_t.width
    if f.static and spec.backward.static:
        return float(T * seq_bits)
    return float(seq_bits * sum(min(j * step_f, (T - 1 - j) * step_b) for j in range(T)))


def _time_distributed(spec: TimeDistributedSpec, sched: _Schedule, device: Device, in_shape, dataflow: bool
                      ) -> LayerCost:
    """hls4ml's ``TimeDistributed`` loop (``recurrent_templates.py``: a ``for (ts ...)`` in the
    top function around ``read_time_step``, the wrapped layers on one step, ``write_time_step``).

    Under the ``pipeline`` style the top-level ``PIPELINE`` unrolls the loop: ``n_time_steps``
    copies of the wrapped layers side by side (latency and interval of one copy). Under
    ``DATAFLOW`` with hls4ml's default ``TimeStepLoopParallelism: Off`` one copy runs the steps
    one after another: latency and interval ``n_time_steps`` x one step, plus a multiplexer
    reading each step and registers holding the output sequence. EBOPs count the wrapped
    products at every step either way (as a convolution's at every position).
    """
    if in_shape is None:
        raise ValueError(f"layer {spec.name!r} (TimeDistributed): its cost needs the input shape")
    T = spec.n_time_steps
    shapes = spec.step_shapes(tuple(int(d) for d in in_shape))
    # "pipeline" (a pipelined loop under DATAFLOW) is not modelled: the IR does not carry the mode
    unrolled = not dataflow or rules.TIME_DISTRIBUTED_LOOP == "unroll"
    start = sched.cycles
    step = sched if unrolled else _Schedule(sched.budget / (1.0 - rules.CLOCK_UNCERTAINTY))
    rows = [layer_cost(s, step, device, int(np.prod(shapes[i + 1])), in_shape=shapes[i], dataflow=dataflow)
            for i, s in enumerate(spec.layers)]
    res = _Res()
    copies = T if unrolled else 1
    for c in rows:
        _add_cost(res, c, copies)
        res.ebops += c.ebops * (T - copies)  # the products of every step
    if unrolled:
        interval = max(c.interval_cycles for c in rows)
    else:
        step_cycles = max(1, step.finish(0.0, res))
        n_step_in = int(np.prod(shapes[0]))
        n_step_out = int(np.prod(shapes[-1]))
        # read_time_step: data[ts * n_chan + i], a T:1 multiplexer per input bit; write_time_step: the
        # output array is filled one step per iteration and held until the loop ends
        res.lut += n_step_in * spec.input_t.width * math.ceil((T - 1) / (rules.MUX_INPUTS_PER_LUT - 1))
        res.ff += T * n_step_out * spec.result_t.width
        res.lut += 2 * math.ceil(math.log2(max(2, T))) * rules.LUTS_PER_ADDER_BIT  # the loop counter
        if sched.t > 0:
            sched.boundary(0.0, res)
        sched.cycles += T * step_cycles
        interval = T * step_cycles
        res.detail["step_cycles"] = step_cycles
    res.detail["time_step_loop"] = "unrolled" if unrolled else "rolled"
    return LayerCost(spec.name, "TimeDistributed(" + ",".join(c.cls for c in rows) + ")", res.ebops, res.lut, res.ff,
                     res.dsp, res.bram, sched.cycles - start, interval, copies, res.detail)


def pipeline_is_dataflow(specs) -> bool:
    """Whether hls4ml 1.3.0 gives an io_parallel design the DATAFLOW style
    (``backends/vivado/passes/pipeline_style.py``, ``PipelineStyle: auto``): when any layer uses
    the Resource strategy (``_maybe_set_dataflow_resource_strategy``); otherwise ``pipeline``.
    ``ParallelizationFactor`` > 1 on a convolution also selects DATAFLOW, but the IR does not
    carry it (it changes no number), so it is not seen here.
    """
    for s in specs:
        if isinstance(s, BidirectionalSpec):
            inner = (s.forward, s.backward)
        elif isinstance(s, TimeDistributedSpec):
            inner = s.layers
        else:
            inner = ()
        if str(getattr(s, "strategy", "latency")).lower() == "resource" or (inner and pipeline_is_dataflow(inner)):
            return True
    return False


def _merge(res: _Res, sub: _Res, times: int) -> None:
    res.lut += sub.lut * times
    res.ff += sub.ff * times
    res.dsp += sub.dsp * times
    res.bram += sub.bram * times
    res.ebops += sub.ebops * times
    for k, v in sub.detail.items():
        res.count(k, v * times)


def _activation(spec: ActivationSpec, n: int, sched: _Schedule, res: _Res) -> None:
    kind = spec.activation
    if kind == "linear":
        res.lut += n * _cast_luts(spec.input_t, spec.result_t)
        return
    if kind in ("sigmoid", "tanh"):
        _table_lookup(n, spec.input_t, spec.table_t or spec.result_t, spec.table_size, sched, res, kind)
        return
    # relu, leaky relu, hard sigmoid/tanh: a comparison and a multiplexer per element (leaky: a product)
    res.lut += n * spec.input_t.width * rules.LUTS_PER_ADDER_BIT + n * _cast_luts(spec.input_t, spec.result_t)
    res.count("comparators", n)
    if kind == "leaky_relu" and spec.param_t is not None:
        res.lut += n * spec.input_t.width * spec.param_t.width * rules.LUTS_PER_VARIABLE_PRODUCT_BIT
    sched.chain(rules.ADD_NS, n * spec.input_t.width, res)


def _softmax(spec: SoftmaxSpec, sched: _Schedule, res: _Res, device: Device) -> None:
    rows = spec.n_outer * spec.n_inner
    n = spec.n_slice
    if spec.implementation == "argmax":
        _adders(rows * (n - 1), spec.input_t.width, sched, res, rows * n * spec.input_t.width)
        return
    _table_lookup(rows * n, spec.input_t, spec.exp_table_t, spec.exp_table_size, sched, res, "exp")
    _adders(rows * (n - 1), spec.accum_t.width, sched, res, rows * n * spec.exp_table_t.width)
    _table_lookup(rows, spec.inv_inp_t, spec.inv_table_t, spec.inv_table_size, sched, res, "inv")
    t = _variable_product(spec.exp_table_t.width, spec.inv_table_t.width, rows * n, res, device)
    sched.chain(t, rows * n * spec.exp_table_t.width, res)


def _recurrent(spec: RecurrentSpec, sched: _Schedule, device: Device) -> LayerCost:
    """An LSTM/GRU layer: the cell per time step (``nnet_recurrent.h``), static or unrolled."""
    rf_in = spec.reuse_factor
    rf_rec = spec.recurrent_reuse_factor or spec.reuse_factor
    k, n = spec.n_gates, spec.n_state
    _check_reuse(spec.name, spec.n_in, k * n, rf_in, spec.strategy)
    _check_reuse(spec.name, n, k * n, rf_rec, spec.strategy, what="recurrent_reuse_factor")
    acc, res_t, tab = spec.accum_t, spec.result_t, spec.table_t
    cell = _Res()
    clock = sched.budget / (1.0 - rules.CLOCK_UNCERTAINTY)
    # the input and recurrent kernels run side by side (their FFs both go into ``cell``); the
    # step continues from the slower of the two
    s_in, s_rec = _Schedule(clock), _Schedule(clock)
    _dense_kernel(spec.weight, spec.bias, spec.input_t, spec.weight_t, acc, rf_in, s_in, cell, device)
    _dense_kernel(spec.recurrent_weight, spec.recurrent_bias, res_t, spec.recurrent_weight_t, acc, rf_rec, s_rec,
                  cell, device)
    step = max(s_in, s_rec, key=lambda s: (s.cycles, s.t))
    a, r = acc.width, res_t.width
    # ``carried``: bits of the values that wait alongside each stage (nnet_recurrent.h's order)
    if spec.cell == "lstm":
        _adders(k * n, a, step, cell, 2 * k * n * a)  # inputacc = tmpres + tmpres_state
        _table_lookup(3 * n, acc, tab, spec.table_size, step, cell, spec.recurrent_activation, carried=n * a)
        _table_lookup(n, acc, tab, spec.table_size, step, cell, spec.activation)
        # s = c*i + s*f
        t = max(_variable_product(a, a, n, cell, device), _variable_product(r, a, n, cell, device))
        step.chain(t, 4 * n * a, cell)
        _adders(n, a, step, cell, 3 * n * a)
        cell.lut += n * _cast_luts(acc, res_t)
        _table_lookup(n, res_t, tab, spec.table_size, step, cell, spec.activation, carried=n * a)
        t = _variable_product(a, a, n, cell, device)  # h = o * tanh(s)
        step.chain(t, 2 * n * a, cell)
        cell.ebops += n * (2 * a * a + r * a)
        state_bits = 2 * n * r
    else:
        _adders(2 * n, a, step, cell, 2 * k * n * a)  # inputacc_zr
        _table_lookup(2 * n, acc, tab, spec.table_size, step, cell, spec.recurrent_activation, carried=2 * n * a)
        t = _variable_product(a, a, n, cell, device)  # r * (W_h h)
        step.chain(t, 4 * n * a, cell)
        _adders(n, a, step, cell, 3 * n * a)  # inputacc_h
        _table_lookup(n, acc, tab, spec.table_size, step, cell, spec.activation, carried=n * a)
        _adders(n, a, step, cell, 2 * n * a)  # 1 - z
        t = max(_variable_product(a, a, n, cell, device), _variable_product(r, a, n, cell, device))
        step.chain(t, 3 * n * a, cell)
        _adders(n, a, step, cell, 2 * n * a)
        cell.lut += n * _cast_luts(acc, res_t)
        cell.ebops += n * (2 * a * a + r * a)
        state_bits = n * r
    step_cycles = max(1, step.finish(state_bits, cell))  # the new state is registered
    T = spec.n_timesteps
    layer = _Res()
    # The layer consumes time step t about t * step_cycles after the inputs arrive (the
    # io_parallel port is valid for one cycle): the sequence waits in registers.
    seq_bits = spec.n_in * spec.input_t.width
    if spec.static:
        instances = 1
        _merge(layer, cell, 1)
        layer.ff += T * seq_bits
        # data_in[j] = data[j + t*n_in]: a T:1 multiplexer per input bit
        layer.lut += spec.n_in * spec.input_t.width * math.ceil((T - 1) / (rules.MUX_INPUTS_PER_LUT - 1))
        layer.lut += 2 * math.ceil(math.log2(max(2, T))) * rules.LUTS_PER_ADDER_BIT  # time-loop counter
        interval = T * step_cycles
    else:
        instances = T
        _merge(layer, cell, T)
        layer.ff += seq_bits * step_cycles * T * (T - 1) // 2  # step t's inputs delayed t * step_cycles
        interval = 1
    if spec.return_sequences:
        layer.ff += T * n * res_t.width
    start = sched.cycles
    if sched.t > 0:
        sched.cycles += 1
        sched.t = 0.0
    sched.cycles += T * step_cycles
    latency = sched.cycles - start
    layer.detail["step_cycles"] = step_cycles
    return LayerCost(spec.name, spec.cell.upper(), layer.ebops, layer.lut, layer.ff, layer.dsp, layer.bram,
                     latency, interval, instances, layer.detail)


# --- hls4ml's validity rules ----------------------------------------------------------------


def valid_reuse_factors(n_in: int, n_out: int) -> list[int]:
    """hls4ml's valid reuse factors of an ``n_in x n_out`` kernel (``fpga_backend._validate_reuse_factor``)."""
    out = []
    for rf in range(1, n_in * n_out + 1):
        mult_limit = math.ceil(n_in * n_out / min(n_in, rf))
        ok = (mult_limit % n_out == 0) or rf >= n_in
        ok = ok and (rf % n_in == 0 or rf < n_in)
        ok = ok and (n_in * n_out) % rf == 0
        if ok:
            out.append(rf)
    return out


def _check_reuse(name: str, n_in: int, n_out: int, rf: int, strategy: str, what: str = "reuse_factor") -> None:
    if strategy not in ("latency", "resource"):
        raise ValueError(f"layer {name!r}: strategy {strategy!r} has no cost model "
                         "(fxsim models 'latency' and 'resource')")
    if isinstance(rf, bool) or not isinstance(rf, (int, np.integer)) or rf < 1:
        raise ValueError(f"layer {name!r}: {what} must be a positive integer, got {rf!r}")
    if rf == 1 or strategy == "latency":
        return  # hls4ml validates Resource reuse factors only (vivado_backend init_dense/init_lstm/init_gru)
    valid = valid_reuse_factors(n_in, n_out)
    if rf not in valid:
        raise ValueError(f"layer {name!r}: {what}={rf} is not valid for its {n_in}x{n_out} kernel under hls4ml's "
                         f"rules (fpga_backend._validate_reuse_factor); valid: {', '.join(map(str, valid))}")
