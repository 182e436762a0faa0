"""Fixtures for the geocode tests: one Geocoder over the bundled data."""

from __future__ import annotations

import pytest

from geosafe.geocode import Geocoder


@pytest.fixture(scope="session")
def geocoder(data_dir) -> Geocoder:
    return Geocoder(data_dir)
