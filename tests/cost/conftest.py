"""Zoo models converted once per session (real hls4ml conversions through fxsim.emulate)."""

from __future__ import annotations

import pytest

ZOO = ("toptag_gru_float", "toptag_lstm_float")


@pytest.fixture(scope="session")
def zoo_emulated():
    """``{(name, precision): EmulatedModel}`` converted on first use."""
    from fxsim import emulate
    from fxsim.models import zoo

    cache: dict = {}

    def get(name: str, precision: str, **options):
        key = (name, precision, tuple(sorted(options.items())))
        if key not in cache:
            cache[key] = emulate(zoo.load(name), precision, **options)
        return cache[key]

    return get
