"""precision="spread" when every record is coarser than the bandwidth (no sharp point left)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from shapely.geometry import Point

from geosafe.hotspots.kde import kde_surface


def test_all_points_spread_keep_their_weight() -> None:
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 2000, (50, 2)) + np.array([530_000, 190_000])
    points = gpd.GeoDataFrame(
        {"precision_m": [300.0] * 50}, geometry=[Point(x, y) for x, y in xy], crs=27700
    )
    result = kde_surface(
        points,
        bandwidth=200,
        cell=50,
        precision="spread",
        bounds=(527_000, 187_000, 535_000, 195_000),
    )
    assert result.counts["spread_precision"] == 50
    # incidents per km² over 50 m cells: the surface integrates to the 50 records
    total = np.nansum(result.grid) * (50 / 1000) ** 2
    assert abs(total - 50) < 0.5
