"""Fixtures for the engine tests: one in-process dask cluster for the session, real data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest


@pytest.fixture(scope="session")
def client() -> Iterator[Any]:
    """A local cluster of 2 workers in threads of this process (fast to start)."""
    from geosafe.engines import dask as dask_engine

    with dask_engine.connect(n_workers=2, processes=False) as c:
        yield c


@pytest.fixture(scope="session")
def police(data_dir: Path) -> gpd.GeoDataFrame:
    """Two years (2022-2023) of the bundled real police.uk burglaries (demo area)."""
    from geosafe.ingest import read_incidents

    files = sorted((data_dir / "police").glob("202[23]-*-street.csv.gz"))
    return read_incidents("police_uk", files)
