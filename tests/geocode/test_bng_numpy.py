"""WGS84 -> British National Grid in numpy (:mod:`geosafe.geocode._bng`) against pyproj
running the same pipeline (the independent reference): Great Britain and its seas, the real
police.uk points bundled, the whole world (where PROJ answers infinities, so does it), NaN and
infinite input; and the check that keeps pyproj whenever the OSTN15 grid may be installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest

from geosafe import datasets
from geosafe.geocode import _bng, points

PIPELINE = pyproj.Transformer.from_pipeline(points.BNG_PIPELINE)


def _reference(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = PIPELINE.transform(lon, lat)
    return np.asarray(x), np.asarray(y)


def _gap(lon: np.ndarray, lat: np.ndarray) -> float:
    x1, y1 = _reference(lon, lat)
    x2, y2 = _bng.lonlat_to_bng(lon, lat)
    assert np.array_equal(np.isfinite(x1), np.isfinite(x2))
    assert np.array_equal(np.isnan(x1), np.isnan(x2))
    ok = np.isfinite(x1)
    return float(np.hypot(x1[ok] - x2[ok], y1[ok] - y2[ok]).max()) if ok.any() else 0.0


def test_great_britain_and_its_seas_within_a_tenth_of_a_micrometre() -> None:
    rng = np.random.default_rng(27700)
    lon, lat = rng.uniform(-9.0, 3.0, 200_000), rng.uniform(49.0, 61.0, 200_000)
    assert _gap(lon, lat) < 1e-7


def test_the_real_police_points() -> None:
    frames = [pd.read_csv(p, usecols=["Longitude", "Latitude"]) for p in datasets.police_files()]
    pts = pd.concat(frames).dropna()
    assert len(pts) > 10_000  # every bundled month
    assert _gap(pts["Longitude"].to_numpy(float), pts["Latitude"].to_numpy(float)) < 1e-7


def test_the_world_including_where_proj_refuses() -> None:
    rng = np.random.default_rng(4326)
    lon, lat = rng.uniform(-180, 180, 100_000), rng.uniform(-89.9, 89.9, 100_000)
    x, _ = _reference(lon, lat)
    assert 0 < np.isinf(x).sum() < len(x)  # PROJ refuses some: the same ones here
    assert _gap(lon, lat) < 1e-5


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        ([np.nan, -0.1, np.inf, -np.inf, 0.0, 1.0], [51.5, np.nan, 51.5, 51.5, 0.0, np.inf]),
        ([], []),
        ([-0.1276], [51.5072]),
    ],
)
def test_special_values_as_proj(lon: list[float], lat: list[float]) -> None:
    a, b = np.asarray(lon, float), np.asarray(lat, float)
    x1, y1 = _reference(a, b)
    x2, y2 = _bng.lonlat_to_bng(a, b)
    np.testing.assert_allclose(x2, x1, rtol=0, atol=1e-7)
    np.testing.assert_allclose(y2, y1, rtol=0, atol=1e-7)


def test_lonlat_to_bng_takes_numpy_unless_ostn15_may_be_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    points._ostn15_possible.cache_clear()
    try:
        if not points._ostn15_installed():
            assert not points._ostn15_possible()
        for variable in ("PROJ_DATA", "PROJ_USER_WRITABLE_DIRECTORY", "XDG_DATA_HOME"):
            folder = tmp_path / variable
            target = folder / "proj" if variable == "XDG_DATA_HOME" else folder
            target.mkdir(parents=True)
            (target / points._OSTN15).write_bytes(b"")
            monkeypatch.setenv(variable, str(folder))
            points._ostn15_possible.cache_clear()
            assert points._ostn15_possible(), variable
            monkeypatch.delenv(variable)
        monkeypatch.setenv("PROJ_NETWORK", "ON")
        points._ostn15_possible.cache_clear()
        assert points._ostn15_possible()
    finally:
        points._ostn15_possible.cache_clear()
