"""The quick-start notebook, executed by a real Jupyter kernel (nbclient), and what its cells show.

nbclient runs the cells in order in an ipykernel started from this environment,
in ``notebooks/`` as Jupyter would; a cell that raises fails the test. The checks
then read the outputs a reader sees: the data set's shape, the three accuracy
tables, the inline figure and the overflow table, and the C-simulation cross-check.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"

pytestmark = [pytest.mark.csim, pytest.mark.keras2, pytest.mark.data]


@pytest.fixture(scope="module")
def executed():
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    # the kernelspec runs "python": make that this environment's interpreter
    env_path = os.environ.get("PATH", "")
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env_path
    try:
        NotebookClient(nb, timeout=1800, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        os.environ["PATH"] = env_path
    return nb


def _cell(nb, needle: str):
    cells = [c for c in nb.cells if c.cell_type == "code" and needle in c.source]
    assert len(cells) == 1, f"expected one code cell containing {needle!r}"
    return cells[0]


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def test_the_data_cell_shows_2000_balanced_jets(executed):
    cell = _cell(executed, "toptag.generate(")
    result = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert result, "the data cell shows no result"
    text = result[0].data["text/plain"]
    m = re.fullmatch(r"\(\((\d+), (\d+), (\d+)\), array\(\[(\d+), (\d+)\]\)\)", text)
    assert m, text
    n, _, _, n0, n1 = map(int, m.groups())
    assert n == 2000 and n0 + n1 == n and min(n0, n1) > 0


def test_the_accuracy_tables_rank_the_precisions(executed):
    text = _stdout(_cell(executed, "fxsim.evaluate("))
    tables = re.findall(r"fxsim evaluate: toptag_gru_q8i2 at precision (.+?) on 2,000 samples.*?\n"
                        r".*?\nROC AUC\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", text, flags=re.S)
    assert [t[0].split(" ")[0] for t in tables] == ["None", "'ap_fixed<9,3>'", "'ap_fixed<14,6>'"], text
    auc = {t[0].split(" ")[0]: tuple(map(float, t[1:])) for t in tables}
    floats = {a[:2] for a in auc.values()}
    assert len(floats) == 1, "float and QKeras AUC must not depend on the hardware precision"
    float_auc, qkeras_auc = floats.pop()
    assert float_auc > 0.9 and qkeras_auc > 0.9
    hw = {k: a[2] for k, a in auc.items()}
    # 9 bits with wrapping inputs lose accuracy; 14 bits nearly match QKeras
    assert 0.5 < hw["'ap_fixed<9,3>'"] < hw["'ap_fixed<14,6>'"] <= 1.0
    assert abs(hw["'ap_fixed<14,6>'"] - qkeras_auc) < 0.02


def test_the_trace_cell_draws_the_state_and_prints_overflows(executed):
    cell = _cell(executed, "hw.trace(")
    assert any("image/png" in o.get("data", {}) for o in cell.outputs), "no inline figure"
    text = _stdout(cell)
    assert text.startswith("overflows on 500 samples"), text
    rows = {tuple(line.split()[:2]): line.split() for line in text.splitlines()[2:]}
    assert ("gru", "h") in rows and rows[("inputs", "input")][2] == "ap_fixed<9,3>"
    assert int(rows[("inputs", "input")][3].replace(",", "")) > 0  # the 9-bit input type wraps


def test_the_c_simulation_agrees_code_for_code(executed, record):
    text = _stdout(_cell(executed, "fxsim.crosscheck("))
    assert re.match(r"crosscheck on 300 samples: OK \(0 of 300 output codes differ\)", text), text
    layers = re.findall(r"^\s+(\S+)\s+\S+\s+([\d,]+) compared\s+(\d+) mismatches$", text, flags=re.M)
    assert [name for name, *_ in layers][:2] == ["gru", "dense_1"], text
    compared = sum(int(c.replace(",", "")) for _, c, _ in layers)
    record("csim notebook", compared, sum(int(b) for *_, b in layers), "codes")
    assert compared > 40_000 and all(b == "0" for *_, b in layers)
