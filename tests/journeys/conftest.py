"""Fixtures for the journeys tests: the bundled walking network and hand-made inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from geosafe import datasets
from geosafe.network.walk import WalkNetwork

from ._fixtures import SCHOOL, build_store

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def osm_fixture() -> Path:
    """A hand-made OSM file: one way of each pedestrian-filter case around node 1."""
    return HERE / "data" / "pedestrian_filter.osm"


@pytest.fixture(scope="session")
def walk_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache directory shared by the session's walk networks."""
    return tmp_path_factory.mktemp("walk-cache")


@pytest.fixture(scope="session")
def bundled_net(walk_cache: Path) -> WalkNetwork:
    """The walking network of the bundled demo-area OSM extract."""
    return WalkNetwork.from_osm(datasets.osm_path(), cache_dir=walk_cache)


@pytest.fixture()
def report_store(
    tmp_path: Path, walk_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Any]:
    """The small store of :func:`build_store` (walk networks cached for the session) and the
    school's position (EPSG:27700): what the school-report tests start from."""
    monkeypatch.setenv("GEOSAFE_CACHE_DIR", str(walk_cache))
    db, _ = build_store(tmp_path)
    return db, datasets.schools().set_index("urn").loc[SCHOOL].geometry
