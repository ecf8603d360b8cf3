"""Precision specs: parsing, validation and merging into an hls4ml config (no TensorFlow)."""

from __future__ import annotations

import copy

import pytest

from fxsim.precision import check_options, merge_config, parse_precision

pytestmark = pytest.mark.core

GENERATED = {
    "Model": {"Precision": {"default": "fixed<16,6>"}, "ReuseFactor": 1, "Strategy": "Latency",
              "BramFactor": 1_000_000_000, "TraceOutput": False},
    "LayerName": {
        "inputs": {"Trace": False, "Precision": {"result": "auto"}},
        "gru": {"Trace": False, "ReuseFactor": 1, "RecurrentReuseFactor": 1, "Static": True, "TableSize": 1024,
                "Precision": {"result": "auto", "weight": "fixed<8,2,TRN,WRAP,0>", "accum": "auto",
                              "table": "fixed<18,8,TRN,WRAP,0>"}},
        "output": {"Trace": False, "ReuseFactor": 1, "Precision": {"result": "auto", "accum": "auto"}},
        "output_softmax": {"Trace": False, "ReuseFactor": 1, "Implementation": "stable",
                           "Precision": {"result": "auto"}},
    },
}
NAMES = list(GENERATED["LayerName"])


def test_none_and_type_string():
    assert parse_precision(None).kind == "quantizers"
    spec = parse_precision("ap_fixed<9,3>")
    assert (spec.kind, spec.default) == ("default", "ap_fixed<9,3>")
    assert parse_precision("fixed<16,6,RND_CONV,SAT,0>").default == "fixed<16,6,RND_CONV,SAT,0>"


@pytest.mark.parametrize("bad, words", [
    ("ap_fixed<9>", ["ap_fixed<9>", "2 to 5 arguments"]),
    ("ap_fixed<9,3", ["cannot parse", "ap_fixed<9,3"]),
    ("float", ["cannot parse", "float"]),
    ("ap_fixed<80,8>", ["80 bits", "62"]),
    ("ap_fixed<8,3,AP_ROUND>", ["unknown rounding mode", "AP_ROUND"]),
    ("auto", ["cannot parse", "auto"]),
    (3.5, ["got float"]),
])
def test_malformed_types_raise_naming_them(bad, words):
    with pytest.raises(ValueError) as err:
        parse_precision(bad)
    for w in words:
        assert w in str(err.value)


def test_per_layer_dict_flat_and_nested_forms_normalise_alike():
    flat = parse_precision({"gru": {"accum": "ap_fixed<18,8>", "result": "ap_fixed<16,6>",
                                    "table_t": "ap_fixed<12,2>", "TableSize": 512}})
    nested = parse_precision({"gru": {"Precision": {"accum": "ap_fixed<18,8>", "result": "ap_fixed<16,6>"},
                                      "table_t": "ap_fixed<12,2>", "TableSize": 512}})
    assert flat.layers == nested.layers == {"gru": {"Precision": {"accum": "ap_fixed<18,8>",
                                                                  "result": "ap_fixed<16,6>"},
                                                    "table_t": "ap_fixed<12,2>", "TableSize": 512}}


@pytest.mark.parametrize("spec, words", [
    ({"gru": {"acum": "ap_fixed<8,3>"}}, ["precision['gru']", "unknown setting 'acum'"]),
    ({"gru": {"accum": "ap_fixed<8"}}, ["precision['gru']['accum']", "cannot parse"]),
    ({"gru": {"table_t": "auto"}}, ["precision['gru']['table_t']", "cannot parse"]),
    ({"gru": {"TableSize": 0}}, ["TableSize", "positive integer"]),
    ({"gru": {"Static": "yes"}}, ["Static", "True or False"]),
    ({"gru": {"Strategy": "fast"}}, ["Strategy", "fast"]),
    ({"gru": {"Precision": {"tabel": "ap_fixed<8,3>"}}}, ["unknown precision name 'tabel'"]),
    ({"gru": 7}, ["precision['gru']", "got int"]),
    ({"LayerName": {}, "gru": {}}, ["mixes"]),
    ({"Model": {"Precision": {"default": "ap_fixed<8,3>"}, "Bogus": 1}}, ["unknown keys ['Bogus']"]),
    ({"Model": {"ReuseFactor": 1}}, ["needs Model Precision 'default'"]),
])
def test_bad_layer_entries_raise_naming_the_problem(spec, words):
    with pytest.raises(ValueError) as err:
        parse_precision(spec)
    for w in words:
        assert w in str(err.value), str(err.value)


def test_unknown_layer_names_raise_listing_the_real_ones():
    spec = parse_precision({"gru": {"accum": "ap_fixed<18,8>"}, "grux": {"result": "ap_fixed<8,3>"},
                            "dense": {"result": "ap_fixed<8,3>"}})
    with pytest.raises(ValueError) as err:
        merge_config(spec, GENERATED, NAMES)
    msg = str(err.value)
    assert "['grux', 'dense']" in msg and "inputs, gru, output, output_softmax" in msg


def test_merge_overrides_only_the_named_keys_and_leaves_the_generated_config_alone():
    before = copy.deepcopy(GENERATED)
    spec = parse_precision({"gru": {"accum": "ap_fixed<18,8>", "table_t": "ap_fixed<12,2>", "TableSize": 512}})
    cfg = merge_config(spec, GENERATED, NAMES)
    assert GENERATED == before
    gru = cfg["LayerName"]["gru"]
    assert gru["Precision"] == {"result": "auto", "weight": "fixed<8,2,TRN,WRAP,0>", "accum": "ap_fixed<18,8>",
                                "table": "fixed<18,8,TRN,WRAP,0>"}
    assert gru["table_t"] == "ap_fixed<12,2>" and gru["TableSize"] == 512
    assert cfg["LayerName"]["output"] == GENERATED["LayerName"]["output"]


def test_layer_type_string_replaces_every_generated_precision_of_that_layer():
    # A layer default only takes effect when the per-name entries ('auto', quantizer types) are gone.
    cfg = merge_config(parse_precision({"gru": "ap_fixed<12,4>"}), GENERATED, NAMES)
    assert cfg["LayerName"]["gru"]["Precision"] == {"default": "ap_fixed<12,4>"}


def test_partial_config_and_layer_type_sections():
    spec = parse_precision({"LayerName": {"output": {"result": "ap_fixed<16,6>"}},
                            "LayerType": {"GRU": {"ReuseFactor": 2}}})
    cfg = merge_config(spec, GENERATED, NAMES, layer_classes=["GRU", "Dense"])
    assert cfg["LayerName"]["output"]["Precision"]["result"] == "ap_fixed<16,6>"
    assert cfg["LayerType"]["GRU"] == {"ReuseFactor": 2}
    with pytest.raises(ValueError, match="unknown layer type"):
        merge_config(parse_precision({"LayerType": {"LSTM": {"ReuseFactor": 2}}}), GENERATED, NAMES, ["GRU"])


def test_complete_config_is_used_as_given():
    full = {"Model": {"Precision": "ap_fixed<10,4>", "ReuseFactor": 1, "Strategy": "Latency"},
            "LayerName": {"gru": {"Precision": {"accum": "ap_fixed<20,8>"}}}}
    spec = parse_precision(full)
    assert spec.kind == "config" and spec.default == "ap_fixed<10,4>"
    cfg = merge_config(spec, GENERATED, NAMES)
    assert cfg["Model"]["Precision"] == "ap_fixed<10,4>"
    assert cfg["LayerName"] == {"gru": {"Precision": {"accum": "ap_fixed<20,8>"}}}


def test_options_strategy_and_reuse_factor_reach_every_layer():
    opts = check_options({"strategy": "Resource", "reuse_factor": 4})
    cfg = merge_config(parse_precision(None), GENERATED, NAMES, options=opts)
    assert cfg["Model"]["Strategy"] == "Resource" and cfg["Model"]["ReuseFactor"] == 4
    assert cfg["LayerName"]["gru"]["ReuseFactor"] == 4 and cfg["LayerName"]["gru"]["RecurrentReuseFactor"] == 4
    assert cfg["LayerName"]["output"]["ReuseFactor"] == 4


@pytest.mark.parametrize("opts, words", [
    ({"reuse": 2}, ["unknown hls4ml option(s) ['reuse']", "reuse_factor"]),
    ({"reuse_factor": 0}, ["reuse_factor must be a positive integer"]),
    ({"backend": "Quartus"}, ["'Vivado' or 'Vitis'"]),
    ({"default_precision": "ap_fixed<8"}, ["default_precision", "cannot parse"]),
    ({"strategy": "Fastest"}, ["Fastest"]),
])
def test_bad_options_raise(opts, words):
    with pytest.raises(ValueError) as err:
        check_options(opts)
    for w in words:
        assert w in str(err.value)


def test_the_callers_dict_is_never_modified():
    spec = {"LayerName": {"gru": {"Precision": {"accum": "ap_fixed<18,8>"}, "table_t": "ap_fixed<12,2>"},
                          "output": "ap_fixed<12,4>"}}
    full = {"Model": {"Precision": {"default": "ap_fixed<10,4>"}, "ReuseFactor": 1, "BitExact": None},
            "LayerName": copy.deepcopy(GENERATED["LayerName"])}
    for given in (spec, full):
        before = copy.deepcopy(given)
        cfg = merge_config(parse_precision(given), GENERATED, NAMES, options=check_options({"reuse_factor": 2}))
        cfg["LayerName"]["gru"]["Precision"]["accum"] = "changed"
        assert given == before


def test_every_key_config_from_keras_model_writes_is_accepted():
    """Model['BitExact'] (added by convert_from_keras_model), Skip, Direction, TableRangePower2 ..."""
    full = {"Model": {"Precision": {"default": "fixed<16,6>", "maximum": "fixed<24,8>"}, "ReuseFactor": 1,
                      "Strategy": "Latency", "BramFactor": 1_000_000_000, "TraceOutput": False, "BitExact": None},
            "LayerName": {"gru": {"Trace": False, "Direction": "forward", "table_size": 512, "Skip": False,
                                  "Precision": {"recurrent_bias": "auto"}}}}
    assert parse_precision(full).layers["gru"]["table_size"] == 512
    with pytest.raises(ValueError, match=r"precision\['gru'\]\['Direction'\] must be one of \['forward', 'backward'\]"):
        parse_precision({"gru": {"Direction": "sideways"}})
