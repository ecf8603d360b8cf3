"""``fxsim data`` end to end on tiny runs."""

import numpy as np
import pytest

from fxsim.cli import main
from fxsim.models.datasets.common import Dataset

pytestmark = pytest.mark.data


def test_data_command_writes_npz(tmp_path, capsys):
    rc = main(["data", "toptag", "--n", "40", "--fast", "--seed", "1", "--workers", "1", "--quiet",
               "--out", str(tmp_path), "--cache-dir", str(tmp_path / "cache")])
    assert rc == 0
    path = tmp_path / "toptag-hls4ml-n40-seed1-fast.npz"
    data = Dataset.load(path)
    assert data.x_train.shape == (30, 20, 6)
    with np.load(path) as z:
        assert {"x_train", "y_train", "x_test", "y_test", "feature_names", "settings", "scale_mean"} <= set(z.files)
    assert "wrote" in capsys.readouterr().out


def test_data_command_rejects_bad_input(capsys):
    assert main(["data", "toptag", "--preset", "cms"]) == 2
    assert "valid presets: hls4ml, kasieczka" in capsys.readouterr().err
    assert main(["data", "btag", "--n", "0"]) == 2
    assert "--n must be positive" in capsys.readouterr().err
    assert main(["data", "quickdraw", "--fast"]) == 2
    assert "--fast only applies" in capsys.readouterr().err
