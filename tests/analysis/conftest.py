"""Shared small models and studies for the analysis tests (built once per session)."""

from __future__ import annotations

import pytest

from tests.analysis.helpers import labelled_data, small_qkeras


@pytest.fixture(scope="session")
def gru_model():
    return small_qkeras("gru")


@pytest.fixture(scope="session")
def gru_data(gru_model):
    return labelled_data(gru_model, 2400)


@pytest.fixture(scope="session")
def gru_study(gru_model, gru_data):
    from fxsim.analysis.study import Study

    x, y = gru_data
    return Study(gru_model, x, y, holdout=0.5, progress=False)


@pytest.fixture(scope="session")
def lstm_study():
    from fxsim.analysis.study import Study

    model = small_qkeras("lstm", seed=1)
    x, y = labelled_data(model, 1000, seed=1)
    return Study(model, x, y, progress=False)
