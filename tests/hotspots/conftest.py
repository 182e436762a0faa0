"""Fixtures for the hotspot tests: incident frames built by hand with ``FRAME_COLUMNS``."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from geosafe.incident import CRS_BNG, FRAME_COLUMNS


def make_frame(
    geoms: Sequence[BaseGeometry | None],
    *,
    times: Sequence[str] | None = None,
    time_precision: str | Sequence[str] = "minute",
    source: str | Sequence[str] = "dir",
    category: str | Sequence[str] = "ASB",
    flags: Sequence[tuple[str, ...]] | None = None,
    precision_m: float | Sequence[float] = 10.0,
    weight: float | Sequence[float] = 1.0,
) -> gpd.GeoDataFrame:
    """An incident frame with exactly FRAME_COLUMNS (geometry EPSG:27700)."""
    n = len(geoms)

    def col(v: object) -> list[object]:
        if isinstance(v, str) or not isinstance(v, Sequence):
            return [v] * n
        return list(v)

    ts = pd.to_datetime(list(times) if times is not None else ["2024-01-08 08:15"] * n)
    ts = ts.tz_localize("Europe/London")
    srcs = col(source)
    df = pd.DataFrame(
        {
            "incident_id": [f"{s}:{i}" for i, s in enumerate(srcs)],
            "source": srcs,
            "source_ref": [str(i) for i in range(n)],
            "batch_id": 1,
            "occurred_from": ts,
            "occurred_to": ts,
            "time_precision": col(time_precision),
            "category": col(category),
            "flags": list(flags) if flags is not None else [()] * n,
            "route": None,
            "stop_code": None,
            "school_urn": None,
            "precision_m": np.asarray(col(precision_m), dtype=float),
            "geocode_method": "coordinates",
            "location_text": None,
            "h3_cell": None,
            "lon": np.nan,
            "lat": np.nan,
            "weight": np.asarray(col(weight), dtype=float),
            "detail": [{} for _ in range(n)],
        }
    )
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(list(geoms), crs=CRS_BNG))
    return gdf[list(FRAME_COLUMNS)]


def random_points(
    n: int, *, seed: int = 0, centre: tuple[float, float] = (530000.0, 190000.0)
) -> gpd.GeoDataFrame:
    """``n`` points in a few Gaussian blobs around ``centre`` (EPSG:27700)."""
    rng = np.random.default_rng(seed)
    k = 4
    centres = np.asarray(centre) + rng.uniform(-1500, 1500, size=(k, 2))
    lab = rng.integers(0, k, size=n)
    xy = centres[lab] + rng.normal(0, 250, size=(n, 2))
    return make_frame([Point(x, y) for x, y in xy])


@pytest.fixture
def frame_factory():  # type: ignore[no-untyped-def]
    return make_frame
