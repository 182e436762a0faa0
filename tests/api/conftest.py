"""Fixtures of the service tests: a small real store, tokens per role, an app built by the
factory from test settings, and a live uvicorn server on a random loopback port.

Every service test runs on both store backends: :func:`service_db` is a package fixture
parametrised over SQLite and PostGIS (the same hand-made rows in each), and the settings,
app, client and live server follow it (pytest runs the tests of one backend, then the other;
package scope, so the PostGIS instance and its environment end with this package).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from api import create_app
from api.settings import ServiceSettings
from geosafe import datasets
from geosafe.access.tokens import AccessSettings, TokenStore
from geosafe.settings import StoreSettings
from geosafe.store import ROW_COLUMNS, Store, open_store
from tests._live import serve_app
from tests.conftest import BACKENDS

ROOT = Path(__file__).resolve().parents[2]
N_INCIDENTS = 240


@dataclass(frozen=True)
class Tokens:
    analyst: str
    school: str
    neighbourhood: str
    school_urn: str


def _epoch_s(t: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray((t - pd.Timestamp("1970-01-01", tz="UTC")) / pd.Timedelta(seconds=1))


def _incident_rows(seed: int = 7) -> pd.DataFrame:
    """Hand-made incidents: clustered points near two demo-area schools, school-run times on
    term-time weekdays of 2024, plus police.uk-like month records."""
    rng = np.random.default_rng(seed)
    schools = datasets.schools(demo_only=True).sort_values("urn")
    centres = np.array([(g.x, g.y) for g in schools.geometry.iloc[:2]])
    n = N_INCIDENTS
    which = rng.integers(0, 2, n)
    xy = centres[which] + rng.normal(0, 120, (n, 2))
    days = pd.bdate_range("2024-01-08", "2024-03-28")
    day = days[rng.integers(0, len(days), n)]
    minutes = rng.choice([8 * 60 + 15, 15 * 60 + 30, 16 * 60 + 5, 21 * 60], n)
    t_local = pd.DatetimeIndex(day) + pd.to_timedelta(minutes, unit="min")
    t_local = t_local.tz_localize("Europe/London")
    source = np.where(np.arange(n) % 4 == 0, "police_uk", "dir")
    precision = np.where(source == "police_uk", "month", "minute")
    t_from = t_local.where(
        source == "dir",
        t_local.tz_localize(None).to_period("M").to_timestamp().tz_localize("Europe/London"),
    )
    t_to = t_from.where(source == "dir", t_from + pd.offsets.MonthBegin(1))
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700)
    wgs = pts.to_crs(4326)
    refs = [f"T{i:04d}" for i in range(n)]
    rows = pd.DataFrame(
        {
            "incident_id": [f"{s}:{r}" for s, r in zip(source, refs, strict=True)],
            "source": source,
            "source_ref": refs,
            "row_no": np.arange(1, n + 1),
            "occurred_from": _epoch_s(t_from),
            "occurred_to": _epoch_s(pd.DatetimeIndex(t_to)),
            "time_precision": precision,
            "category": np.where(source == "dir", "ASB", "Burglary"),
            "flags": np.where(np.arange(n) % 3 == 0, "youth", ""),
            "route": np.where(source == "dir", "221", None),
            "stop_code": None,
            "school_urn": None,
            "precision_m": np.where(source == "dir", 10.0, 100.0),
            "geocode_method": np.where(source == "dir", "coordinates", "police_uk"),
            "location_text": None,
            "h3_cell": [h3.latlng_to_cell(y, x, 11) for x, y in zip(wgs.x, wgs.y, strict=True)],
            "lon": wgs.x.to_numpy(),
            "lat": wgs.y.to_numpy(),
            "minx": xy[:, 0],
            "miny": xy[:, 1],
            "maxx": xy[:, 0],
            "maxy": xy[:, 1],
            "geom_wkb": None,
            "weight": 1.0,
            "detail": [json.dumps({"description": f"test {i}"}) for i in range(n)],
            "row_hash": [_hash64(r) for r in refs],
            "current": 1,
        }
    )
    # one incident along a stretch of bus route (a LineString)
    line = shapely.LineString([centres[0], centres[0] + (400, 300)])
    rows.loc[1, ["geom_wkb"]] = [shapely.to_wkb(line)]
    b = line.bounds
    rows.loc[1, ["minx", "miny", "maxx", "maxy", "geocode_method", "precision_m"]] = [
        *b,
        "route",
        250.0,
    ]
    return pd.concat([rows, _fap_rows(centres[0])], ignore_index=True)[list(ROW_COLUMNS)]


N_FAP = 30


def _fap_rows(school_xy: np.ndarray) -> pd.DataFrame:
    """FAP referrals to the first demo school (by URN): no location of their own, home
    postcodes (three, ten referrals each) 600-1500 m from the school."""
    urn = str(datasets.schools(demo_only=True).sort_values("urn")["urn"].iloc[0])
    pc = datasets.postcodes()
    d = np.hypot(pc["easting"] - school_xy[0], pc["northing"] - school_xy[1])
    near = pc[(d > 600) & (d < 1500)].sort_index()
    homes = [near["postcode"].iloc[i] for i in (0, len(near) // 2, len(near) - 1)]
    n = N_FAP
    refs = [f"F{i:03d}" for i in range(n)]
    t = pd.Timestamp("2024-02-05", tz="Europe/London")
    return pd.DataFrame(
        {
            "incident_id": [f"fap:{r}" for r in refs],
            "source": "fap",
            "source_ref": refs,
            "row_no": np.arange(1, n + 1) + 10_000,
            "occurred_from": _epoch_s(pd.DatetimeIndex([t] * n)),
            "occurred_to": _epoch_s(pd.DatetimeIndex([t] * n)),
            "time_precision": "day",
            "category": "referral",
            "flags": "gangs",
            "route": None,
            "stop_code": None,
            "school_urn": urn,
            "precision_m": np.nan,
            "geocode_method": "none",
            "location_text": None,
            "h3_cell": None,
            "lon": np.nan,
            "lat": np.nan,
            "minx": np.nan,
            "miny": np.nan,
            "maxx": np.nan,
            "maxy": np.nan,
            "geom_wkb": None,
            "weight": 1.0,
            "detail": [json.dumps({"home_postcode": homes[i % 3]}) for i in range(n)],
            "row_hash": [_hash64(r) for r in refs],
            "current": 1,
        }
    )


def _hash64(ref: str) -> int:
    """A row hash as the importer makes them (a signed 64-bit integer)."""
    return int.from_bytes(hashlib.sha256(ref.encode()).digest()[:8], "big", signed=True)


def _fill(store: Any, rows: pd.DataFrame | None = None) -> None:
    """Import ``rows`` (default: :func:`_incident_rows`) into ``store`` as one batch and
    close it (the published tables are written by the commit)."""
    batch = store.begin_batch("dir", "0" * 64, file_name="hand-made")
    rows = _incident_rows() if rows is None else rows
    store.stage(batch, rows)
    store.commit_batch(batch, {"rows": len(rows), "accepted": len(rows)}, {})
    store.close()


@pytest.fixture(scope="session")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real SQLite store with :data:`N_INCIDENTS` hand-made incidents."""
    path = tmp_path_factory.mktemp("store") / "geosafe.db"
    _fill(Store(path))
    return path


@pytest.fixture(scope="package", params=BACKENDS)
def service_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path | str]:
    """The store the service tests' app serves: the SQLite :func:`store_path`, or a PostGIS
    database holding the same rows (its token database, audit log and rolls in a temporary
    folder, through their settings)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("store_path")
        return
    url = request.getfixturevalue("pg_database")()
    _fill(open_store(url))
    side = tmp_path_factory.mktemp("pg-side")
    mp = pytest.MonkeyPatch()
    mp.setenv("GEOSAFE_ACCESS_TOKEN_DB", str(side / "geosafe.auth.sqlite"))
    mp.setenv("GEOSAFE_AUDIT_DB", str(side / "geosafe.audit.sqlite"))
    mp.setenv("GEOSAFE_ROLLS_DIR", str(side / "rolls"))
    yield url
    mp.undo()


def token_store(db: Path | str) -> TokenStore:
    """The token database the app on store ``db`` uses."""
    return TokenStore(AccessSettings().token_path(StoreSettings(db=db)))


@pytest.fixture(scope="package")
def tokens(service_db: Path | str) -> Tokens:
    return make_tokens(service_db)


def make_tokens(db: Path | str) -> Tokens:
    """An analyst's, a school's (the first demo school) and a neighbourhood's (the ward at
    the demo area's centre) tokens in the token database of the app on store ``db``."""
    ts = token_store(db)
    urn = str(datasets.schools(demo_only=True).sort_values("urn")["urn"].iloc[0])
    wards = datasets.wards()
    ward = wards[wards.intersects(datasets.demo_area().centroid)]["gss_code"].iloc[0]
    return Tokens(
        analyst=ts.create("analyst", label="test analyst").token,
        school=ts.create("school", school_urn=urn, label="test school").token,
        neighbourhood=ts.create("neighbourhood", area_codes=[ward], label="test nbh").token,
        school_urn=urn,
    )


@pytest.fixture(scope="session", autouse=True)
def _access_limits() -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("GEOSAFE_ACCESS_RATE_PER_MINUTE", "1000000")
    yield
    mp.undo()


def make_settings(store_path: Path | str, tmp: Path, **changes: Any) -> ServiceSettings:
    return ServiceSettings(
        db=store_path,
        data_dir=ROOT / "data",
        web_dir=ROOT / "web",
        work_dir=tmp,
        **{"max_page_size": 50, "default_page_size": 20, **changes},
    )


@pytest.fixture(scope="package")
def settings(service_db: Path | str, tmp_path_factory: pytest.TempPathFactory) -> ServiceSettings:
    return make_settings(service_db, tmp_path_factory.mktemp("work"))


@pytest.fixture(scope="package")
def app(settings: ServiceSettings, tokens: Tokens) -> Any:
    return create_app(settings)


@pytest.fixture(scope="package")
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


@pytest.fixture(scope="package")
def live_server(app: Any) -> Iterator[str]:
    """The test app served by uvicorn on a random loopback port (a thread)."""
    with serve_app(app, lifespan="off") as base:
        yield base


def today() -> dt.date:
    return dt.date.today()
