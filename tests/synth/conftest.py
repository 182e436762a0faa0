"""Fixtures for the synthetic-data tests: one 12-month run written once per session."""

from __future__ import annotations

import pytest

from geosafe import synth


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("synth")
    result = synth.write_synthetic(out, seed=20240901, months=12, end="2025-07", data_dir=data_dir)
    return result
