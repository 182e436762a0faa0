"""Tokens and sessions: hashes only, expiry, revocation, scopes."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box, mapping

from geosafe._errors import AuthenticationError, NotFoundError, ValidationError
from geosafe.access.tokens import TokenStore, create_demo_tokens, read_area_file

from .conftest import SCHOOL_A, WARDS


def test_token_stored_only_as_sha256(tokens: TokenStore) -> None:
    issued = tokens.create("analyst", label="alice")
    raw = tokens.path.read_bytes() + (
        tokens.path.with_name(tokens.path.name + "-wal").read_bytes()
        if tokens.path.with_name(tokens.path.name + "-wal").exists()
        else b""
    )
    assert issued.token.encode() not in raw
    with sqlite3.connect(tokens.path) as con:
        (stored,) = con.execute("SELECT token_hash FROM tokens").fetchone()
    assert stored == hashlib.sha256(issued.token.encode()).hexdigest()
    assert len(issued.token) >= 40  # 32 random bytes, URL-safe base64


def test_authenticate_roles_and_scopes(demo_tokens: dict[str, str], tokens: TokenStore) -> None:
    analyst = tokens.authenticate(demo_tokens["analyst"])
    school = tokens.authenticate(demo_tokens["school"])
    hood = tokens.authenticate(demo_tokens["neighbourhood"])
    assert (analyst.role, analyst.school_urn, analyst.area) == ("analyst", None, None)
    assert (school.role, school.school_urn) == ("school", SCHOOL_A)
    assert hood.role == "neighbourhood" and hood.area_codes == WARDS


def test_neighbourhood_area_is_the_union_of_its_wards(
    tokens: TokenStore, data_dir: Path, demo_tokens: dict[str, str]
) -> None:
    hood = tokens.authenticate(demo_tokens["neighbourhood"])
    wards = gpd.read_file(data_dir / "boundaries" / "boundaries.gpkg", layer="wards_2018")
    wards = wards.to_crs(27700)
    expected = wards[wards["gss_code"].isin(WARDS)].dissolve().geometry.iloc[0]
    assert hood.area is not None
    assert hood.area.symmetric_difference(expected).area < 1.0  # m²
    assert hood.area.area > 1e6  # two London wards: several km²


def test_area_file(tmp_path: Path, tokens: TokenStore) -> None:
    poly = box(-0.13, 51.60, -0.11, 51.61)
    path = tmp_path / "area.geojson"
    gpd.GeoDataFrame(geometry=[poly], crs="EPSG:4326").to_file(path, driver="GeoJSON")
    area = read_area_file(path)
    issued = tokens.create("neighbourhood", area=area, label="patch")
    got = tokens.authenticate(issued.token).area
    ref = gpd.GeoSeries([poly], crs=4326).to_crs(27700).iloc[0]
    assert got is not None and got.symmetric_difference(ref).area < 1.0
    assert mapping(got)["type"] == "Polygon"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"role": "admin"}, "'admin' is not a role"),
        ({"role": "school"}, "6-digit DfE URN"),
        ({"role": "school", "school_urn": "12345"}, "'12345' is not a 6-digit"),
        ({"role": "neighbourhood"}, "needs `--area`"),
        ({"role": "neighbourhood", "area_codes": ["E05999999"]}, "E05999999"),
        ({"role": "neighbourhood", "area_codes": ["Bounds Green"]}, "not a GSS code"),
        ({"role": "analyst", "school_urn": SCHOOL_A}, "only for a school token"),
        ({"role": "school", "school_urn": SCHOOL_A, "area_codes": list(WARDS)}, "drop `--area`"),
        ({"role": "analyst", "expires_days": -1}, "positive number of days"),
    ],
)
def test_create_refuses_bad_scopes(tokens: TokenStore, kwargs: dict, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        tokens.create(**kwargs)


def test_unknown_school_warns(tokens: TokenStore) -> None:
    with pytest.warns(UserWarning, match="'999999' is not in the bundled school list"):
        tokens.create("school", school_urn="999999")


def test_revoked_and_expired_tokens_fail(tokens: TokenStore) -> None:
    a = tokens.create("analyst", label="bob")
    tokens.revoke("bob")
    with pytest.raises(AuthenticationError, match="'bob' was revoked"):
        tokens.authenticate(a.token)
    with pytest.raises(NotFoundError, match="'bob'"):
        tokens.revoke("bob")
    b = tokens.create("analyst", label="carol", expires_days=1)
    with sqlite3.connect(tokens.path) as con:
        past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds")
        con.execute("UPDATE tokens SET expires_at = ? WHERE label = 'carol'", (past,))
    with pytest.raises(AuthenticationError, match="'carol' expired"):
        tokens.authenticate(b.token)
    with pytest.raises(AuthenticationError, match="not valid"):
        tokens.authenticate(b.token + "x")
    with pytest.raises(AuthenticationError):
        tokens.authenticate("")


def test_sessions_end_with_their_token(tokens: TokenStore) -> None:
    a = tokens.create("analyst", label="dan")
    value, principal = tokens.open_session(a.token, hours=1)
    assert value != a.token
    assert tokens.authenticate_session(value) == principal
    with pytest.raises(AuthenticationError):
        tokens.authenticate_session(a.token)  # a token is not a session value
    tokens.revoke(principal.token_id)
    with pytest.raises(AuthenticationError):
        tokens.authenticate_session(value)
    b = tokens.create("analyst", label="erin")
    value, _ = tokens.open_session(b.token, hours=1)
    tokens.close_session(value)
    with pytest.raises(AuthenticationError, match="not valid"):
        tokens.authenticate_session(value)


def test_session_never_outlives_token(tokens: TokenStore) -> None:
    a = tokens.create("analyst", expires_days=0.5)
    tokens.open_session(a.token, hours=24 * 10)
    with sqlite3.connect(tokens.path) as con:
        (s_exp,) = con.execute("SELECT expires_at FROM sessions").fetchone()
        (t_exp,) = con.execute("SELECT expires_at FROM tokens").fetchone()
    assert s_exp <= t_exp


def test_tokens_are_unique(tokens: TokenStore) -> None:
    issued = [tokens.create("analyst").token for _ in range(50)]
    assert len(set(issued)) == 50
    assert len({t.token_id for t in tokens.list_tokens()}) == 50


def test_demo_tokens_default_scope(tokens: TokenStore) -> None:
    toks = create_demo_tokens(tokens)
    assert set(toks) == {"analyst", "school", "neighbourhood"}
    school = tokens.authenticate(toks["school"])
    hood = tokens.authenticate(toks["neighbourhood"])
    assert school.school_urn is not None and len(school.school_urn) == 6
    assert len(hood.area_codes) >= 1
