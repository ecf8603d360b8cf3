"""Every rule and constant of fxsim's hardware-cost model, written down once with its source.

The model (:mod:`fxsim.cost.model`) reads nothing but these names. Three kinds of entry:

* **rules read from hls4ml 1.3.0's templates** (``templates/vivado/nnet_utils/...``): what is
  instantiated, what is constant, what is pipelined. These are facts of the generated C++.
* **rules of Vivado/Vitis HLS and of the devices**, from the vendors' documents
  (UG902 *Vivado HLS User Guide* v2019.2, UG1399 *Vitis HLS User Guide*, UG579 *UltraScale
  DSP Slice*, UG479 *7 Series DSP48E1 Slice*, UG573 *UltraScale Memory Resources*, UG574
  *UltraScale CLB*).
* **calibrated constants** (marked ``CALIBRATED``): the few numbers no document gives — the
  delay of a fabric adder and of a DSP multiply, how many LUTs a bit of a general fabric
  product costs — set once from the physics of the fabric and checked against the two
  synthesis anchors (:data:`ANCHORS`), not fitted to them. One structural rule was revised
  after the first comparison: the first model registered every product and overcounted FFs
  x3; the FF rules below (narrowest cut, carried values, held input sequence) replaced it.
"""

from __future__ import annotations

# --- HGQ: EBOPs --------------------------------------------------------------------------

#: EBOPs (HGQ: Sun et al., "Gradient-based automatic mixed precision quantization for neural
#: networks on-chip", arXiv:2405.00645; code: github.com/calad0i/HGQ, ``src/HGQ/layers/base.py``
#: ``kernel_bw_exact`` and ``src/HGQ/utils`` ``get_arr_bits``; ``HDense.compute_exact_bops``):
#: for every multiplication by a constant weight, (bits between the highest and the lowest set
#: bit of |code|, inclusive; 0 for a zero weight; the sign is not counted) x (bit width of the
#: other operand, sign included). HGQ2's recurrent cells (github.com/calad0i/HGQ2,
#: ``src/hgq/layers/rnn/gru.py`` ``_compute_ebops``) add the element-wise products of two
#: variables as (width x width). HGQ reports EBOPs ~ LUT + 55 * DSP after place and route.
EBOPS_DSP_EQUIVALENT_LUTS = 55

# --- hls4ml templates --------------------------------------------------------------------

#: ``nnet_dense_latency.h``: ``#pragma HLS function_instantiate variable=weights,biases`` — each
#: Latency-strategy dense instance sees its weights as constants, so a product by a constant
#: is specialised: a zero weight removes the product and its adder input, a power of two
#: becomes a wire shift (no multiplier). ``nnet_dense_resource.h`` reads weights from an
#: array indexed by the reuse loop: products are general (variable x variable) multipliers.
LATENCY_WEIGHTS_ARE_CONSTANT = True

#: ``nnet_dense_latency.h``: ``#pragma HLS PIPELINE II=CONFIG_T::reuse_factor`` and
#: ``ALLOCATION operation instances=mul limit=multiplier_limit`` with
#: ``multiplier_limit = ceil(n_in * n_out / reuse_factor)`` (``backends/vivado/passes/core_templates.py``).
#: ``nnet_dense_resource.h``: ``block_factor = ceil(n_in * n_out / reuse_factor)`` multipliers,
#: ``ReuseLoop`` of ``reuse_factor`` iterations pipelined at II=1.

#: ``nnet_recurrent.h``: ``lstm_static``/``gru_static`` keep ``h_state``/``s_state`` as
#: ``static`` variables: one cell instance serves every time step, the time loop of
#: ``lstm_stack``/``gru_stack`` runs the steps one after another (each needs the previous
#: ``h_state``), so the layer's interval and latency are ``n_timesteps`` x the cell's latency.
#: ``static: false`` calls the stateless ``lstm``/``gru``: the top-level ``#pragma HLS PIPELINE``
#: of io_parallel unrolls the time loop into ``n_timesteps`` cell instances (hls4ml's own
#: description of ``static``, ``utils/attribute_descriptions.py``: "reuse the same recurrent
#: block ... lower resource usage at the expense of serialized computation and higher latency/II").

#: ``nnet_activation.h`` ``sigmoid``/``tanh``: a ``table_size``-entry ROM of ``table_t``, index
#: ``data * table_size / 16 (/8 for tanh) + offset``, clamped; the loop over ``n_in`` is
#: unrolled under ``#pragma HLS PIPELINE``: ``n_in`` lookups per cycle.

#: ``backends/fpga/fpga_backend.py`` ``_validate_reuse_factor``: a reuse factor R is valid for an
#: ``n_in x n_out`` kernel when ``n_in*n_out % R == 0``, ``R % n_in == 0 or R < n_in``, and
#: ``ceil(n_in*n_out/min(n_in,R)) % n_out == 0 or R >= n_in`` (hls4ml moves an invalid R to the
#: closest valid one with a warning; fxsim refuses it for a hand-made IR).

#: ``nnet_recurrent.h`` ``bidirectional_stack``: each iteration of its time loop reads
#: ``data_in[j] = data[j + t*n_in]`` and ``data_in_back[j] = data[j + (T-1-t)*n_in]`` from one
#: input array and calls ``RNNfunc_forward`` and ``RNNfunc_backward`` (``lstm_class``/``gru_class``,
#: or their ``_static`` versions, ``recurrent_templates.py``) on them; the two calls share no
#: value, so HLS schedules them side by side. fxsim costs each half as its own recurrent layer
#: (same rules), sums the resources, holds the input sequence once, and takes the slower
#: half's latency and interval.
BIDIRECTIONAL_HALVES = "side by side"

#: ``backends/vivado/passes/recurrent_templates.py``: ``TimeDistributed(X)`` is written into the
#: top function as ``for (int ts = 0; ts < n_time_steps; ts++) { read_time_step; X; write_time_step }``
#: with ``#pragma HLS UNROLL`` / ``PIPELINE`` / nothing for ``TimeStepLoopParallelism`` Unroll /
#: Pipeline / Off (default Off, ``vivado_backend.py``). ``pipeline_style.py`` gives an io_parallel
#: design the ``pipeline`` style unless a layer uses the Resource strategy (then ``DATAFLOW``);
#: under the top function's ``#pragma HLS PIPELINE`` every loop in it is unrolled (UG902
#: "pipeline": loops inside a pipelined region are fully unrolled), so the wrapped layers exist
#: ``n_time_steps`` times. In a DATAFLOW design the loop stays as the loop mode says; the IR
#: does not carry the mode, and fxsim assumes hls4ml's default ``"off"``: one copy, run once per step.
TIME_DISTRIBUTED_LOOP = "off"

# --- Vivado / Vitis HLS ------------------------------------------------------------------

#: UG902 (v2019.2) ch. 1 "Clock, Reset, and RTL Output": the default clock uncertainty is 12.5%
#: of the clock period; the scheduler fills ``period * (1 - 0.125)`` per cycle.
CLOCK_UNCERTAINTY = 0.125

#: Vivado HLS binds a multiplication to a DSP slice only when both operands are wide enough to
#: pay for it; narrower products go to fabric LUTs. hls4ml's first paper (Duarte et al., JINST 13
#: P07027 (2018), arXiv:1804.06913, resource usage versus precision) observes the DSP count
#: collapse below about 10-bit precision. fxsim uses: both operands at least 10 bits wide.
#: A constant operand counts with its minimal two's-complement width (HLS's bit-width analysis
#: narrows constants to the bits they need).
DSP_MIN_WIDTH = 10

#: UG579 (UltraScale DSP48E2): a 27 x 18 two's-complement multiplier; UG479 (7 series DSP48E1):
#: 25 x 18. Wider products tile several slices: ``ceil(a / A) * ceil(b / B)`` with the wider
#: operand on the A port.
DSP_WIDTHS = {"DSP48E2": (27, 18), "DSP48E1": (25, 18)}

#: UG573 (UltraScale memory resources) / UG473 (7 series): one BRAM_18K holds 18 Kib
#: (1024 x 18, 2048 x 9, 512 x 36) and has two ports: two reads per cycle.
BRAM_18K_BITS = 18 * 1024
BRAM_PORTS = 2
#: UG574 (UltraScale CLB): a LUT6 is a 64 x 1 ROM (distributed memory), or a 4:1 multiplexer.
LUTROM_BITS_PER_LUT = 64
MUX_INPUTS_PER_LUT = 4
#: Vivado HLS implements a ROM (an activation table, a reshaped weight array) in distributed
#: LUT memory when it is shallow and in block RAM otherwise; the exact switch is the tool's
#: heuristic (UG902 "Arrays": the ``RESOURCE``/``BIND_STORAGE`` directive overrides it). fxsim
#: places ROMs of at least this many words in BRAM. MODELLING ASSUMPTION (not documented).
ROM_BRAM_MIN_DEPTH = 512

# --- fabric costs and delays (CALIBRATED) -------------------------------------------------

#: UG574: an UltraScale CLB adds one bit per LUT on its carry chain (CARRY8): a W-bit adder or
#: comparator costs W LUTs.
LUTS_PER_ADDER_BIT = 1.0

#: An adder is as wide as its result: its widest operand plus this many carry bits, trimmed
#: to the type the result is cast to (HLS's bit-width analysis drops the bits that cannot reach
#: the cast result; UG902 "Arbitrary Precision Data Types"). The one width rule for every adder
#: whose operands are narrower than its type: the shift-and-add products and the Latency adder
#: trees below. Adders of two full-width operands (the recurrent cells' sums, the Resource
#: accumulators, pooling) are as wide as their type.
ADDER_CARRY_BITS = 1

#: A product by a constant in fabric is a shift-and-add network over the constant's nonzero
#: digits in canonical signed-digit form: (digits - 1) adders building the product of
#: ``input_t.width + signed width`` bits (:data:`ADDER_CARRY_BITS` over operands one bit
#: narrower). Vivado truncates the product to ``accum_t`` (``nnet_dense_latency.h`` casts each
#: product to ``accum_t``), so bits below its LSB and above its MSB are trimmed: an adder spans
#: at most ``accum_t.width + 1`` bits. CALIBRATED (shape from UG574; nothing fitted).

#: ``nnet_dense_latency.h``: each output starts from its bias and adds its products in input
#: order (``acc[jj] = biases[jj]; acc[jj] += mult[ii]``, unrolled, all ``accum_t``); a zero weight's
#: product is a constant 0 and drops out, and HLS rebalances the chain into a tree of pairs taken
#: in that order (EXPRESSION_BALANCE). The operands are the products trimmed to ``accum_t``
#: (``min(input_t.width + signed width, accum_t.width)`` bits, as for the shift-and-add products)
#: and a nonzero bias (its signed width); each adder is :data:`ADDER_CARRY_BITS` wider than its
#: wider operand and at most ``accum_t.width`` bits (the sum is ``accum_t``), so products narrower
#: than ``accum_t`` give narrower leaves and the widths grow by a bit per level up to ``accum_t``.
ADDER_TREE_ORDER = "bias, then products by input index"

#: A general (variable x variable) multiplier in fabric: a Baugh-Wooley/Booth array, about
#: half a LUT per partial-product bit with the carry chains (Xilinx PG108 LogiCORE Multiplier,
#: LUT-based resource figures). CALIBRATED.
LUTS_PER_VARIABLE_PRODUCT_BIT = 0.5

#: Delays at the anchors' speed grade (UltraScale+ -2), as Vivado HLS 2019.2 characterises them:
#: a fabric adder of ~16 bits, a DSP multiply (combinational through M, registered at P),
#: a ROM read (synchronous: the data come one cycle after the address). CALIBRATED: set from
#: typical HLS-report operator delays at this speed grade, not fitted; the LSTM anchor's 8-cycle
#: time step (0.830 us, interval 160 = 20 x 8 at 5 ns) checks them (the model gives 8).
ADD_NS = 1.25
DSP_NS = 3.0
ROM_READ_CYCLES = 1

#: FFs: HLS registers every value that crosses a clock-cycle boundary of the schedule (UG902
#: "Scheduling"); a DSP's internal pipeline registers (MREG/PREG) are not fabric FFs.
#: The output port of io_parallel is registered once.
#: Inside a kernel (products feeding adder trees) the scheduler places each boundary at the
#: narrowest cut, one partial sum per output: Vivado HLS descends from AutoPilot's SDC
#: scheduler (Cong & Zhang, "An efficient and versatile scheduling algorithm based on SDC
#: formulation", DAC 2006), which minimises register lifetimes, and an adder tree can be
#: rebalanced freely (integer additions; UG902 EXPRESSION_BALANCE, on by default).
REGISTERS_AT_NARROWEST_CUT = True

# --- calibration anchors -----------------------------------------------------------------

#: The seed's Vivado HLS 2019.2 synthesis (Latency strategy, static, every type
#: ap_fixed<16,6>, xcu250-figd2104-2L-e, 5 ns): the C-synthesis report figures. Each estimate
#: lands within x1.5 of each (BRAM within x2): see tests/cost/test_anchors.py.
ANCHORS = {
    "toptag_gru_float": {"dsp": 887, "lut": 94_353, "ff": 16_949, "bram_18k": 33},
    "toptag_lstm_float": {"dsp": 1_101, "lut": 105_948, "ff": 19_129, "bram_18k": 43,
                          "latency_cycles": 166, "interval_cycles": 160},
}
ANCHOR_PRECISION = "ap_fixed<16,6>"
ANCHOR_PART = "xcu250-figd2104-2L-e"
ANCHOR_CLOCK_NS = 5.0

#: Measured estimate/anchor ratios (tests/cost/test_anchors.py prints them; the test fails if
#: these drift): {resource: (min ratio, max ratio)} over the anchors above. Reported as the
#: estimate's uncertainty.
ANCHOR_RATIOS: dict[str, tuple[float, float]] = {
    "dsp": (0.73, 0.95),
    "lut": (0.88, 0.89),
    "ff": (0.73, 0.81),
    "bram_18k": (0.94, 1.19),
    "latency_cycles": (1.01, 1.01),
    "interval_cycles": (1.0, 1.0),
}
