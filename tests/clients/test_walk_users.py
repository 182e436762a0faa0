"""What helper `walk` found using the service as its three users would (seventh wave,
docs/notes/web.md), each kept as a test against a real client: Debian's Chromium at
1366x768 for the page, GDAL's OAPIF driver (`ogrinfo`) for a neighbourhood team's GIS, and
a comparison of roles for the one thing a non-analyst now sees that it did not before.

The demo-like store and live server are the session's (``tests/clients/conftest.py``); the
browser is the session's Chromium (``tests/api/test_browser.py``)."""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_browser import browser, wait_js  # noqa: F401  (the shared Chromium fixture)
from tests.api.test_gdal_client import ogrinfo

from .conftest import SCHOOL, DemoServer
from .test_web_roles import Session

#: A number as the page's tables must show it: whole, or with one decimal, thousands with
#: commas, or a dash for "not known".
READABLE = re.compile(r"^(\d{1,3}(,\d{3})*(\.\d)?|–)$")


def _get(server: DemoServer, role: str, path: str) -> dict[str, Any]:
    req = urllib.request.Request(
        server.base + path, headers={"Authorization": f"Bearer {server.tokens[role]}"}
    )
    with urllib.request.urlopen(req, timeout=300) as r:
        return dict(json.load(r))


@pytest.fixture(scope="module")
def analyst(browser: Any, demo_server: DemoServer) -> Iterator[Session]:  # noqa: F811
    s = Session(browser, demo_server, "analyst")
    yield s
    s.close()


def _apply(s: Session, method: str) -> None:
    n = s.state()["refreshes"]
    s.page.select_option('select[name="method"]', method)
    s.page.click("#apply")
    s.wait_refresh(n + 1)


def _readable(v: float) -> str:
    """How a person writes the count: whole numbers as they are, shares to one decimal
    (whole from 100 up), thousands with commas."""
    if float(v).is_integer():
        return f"{int(v):,}"
    if abs(v) >= 100:
        return f"{math.floor(v + 0.5):,}"
    return f"{math.floor(v * 10 + 0.5) / 10:g}"


def _column(s: Session, header: str) -> list[str]:
    heads = [h.strip() for h in s.page.locator("#places thead th").all_inner_texts()]
    i = heads.index(header)
    return [
        r.strip() for r in s.page.locator(f"#places tbody td:nth-child({i + 1})").all_inner_texts()
    ]


@pytest.mark.browser
def test_counts_in_the_places_list_are_readable_numbers(
    analyst: Session, demo_server: DemoServer, out_dir: Path
) -> None:
    """Seen: the analyst's Gi* list showed "98.937438" incidents (an incident along a bus
    route is shared between the cells it crosses). Now one decimal at most, and the same
    value the server sent, rounded (read from the network, not from the page)."""
    _apply(analyst, "h3-cells")
    analyst.page.screenshot(path=str(out_dir / "walk-analyst-gi-list.png"))
    shown = _column(analyst, "incidents")
    assert shown, "the Gi* view lists its densest cells"
    assert all(READABLE.match(v) for v in shown), shown
    sent = sorted(
        (f["properties"] for _, fc in analyst.answered("/h3-cells/items") for f in fc["features"]),
        key=lambda p: -(p.get("density") or 0),
    )
    assert shown == [_readable(p["count"]) for p in sent[: len(shown)]]
    if any("." in v for v in shown):  # the decimals are explained
        assert "shared between the cells" in analyst.page.inner_text("#places-note")


@pytest.mark.browser
def test_no_numbered_outlines_without_their_list(analyst: Session, out_dir: Path) -> None:
    """Seen: after the Gi* view, the emerging-hotspots view (no densities, so no list) kept
    the Gi* list's numbered outlines and its legend row "numbered outlines: the places
    listed", with no list on screen."""
    _apply(analyst, "h3-cells")
    assert analyst.page.locator(".place-no").count() > 0
    _apply(analyst, "emerging-cells")
    analyst.page.screenshot(path=str(out_dir / "walk-analyst-emerging.png"))
    assert analyst.page.locator("#places").is_hidden()
    assert analyst.page.locator(".place-no").count() == 0
    assert "numbered outlines" not in analyst.page.inner_text("#legend")
    assert analyst.state()["places"] == []


@pytest.mark.browser
def test_analyst_school_list_says_what_its_numbers_are(
    analyst: Session, demo_server: DemoServer, out_dir: Path
) -> None:
    """Seen: the analyst's list for a school said "counts are rounded to 5" over exact
    counts with six decimals, and "pupils passing" was "–" on every row (the analyst's
    corridors are street stretches, not published cells)."""
    _apply(analyst, "hotspots-kde")
    loads = analyst.state().get("schoolLoads") or 0
    analyst.page.select_option("#school", SCHOOL)
    wait_js(analyst.page, f"(window.geosafeState.schoolLoads || 0) > {loads}", 300)
    analyst.page.screenshot(path=str(out_dir / "walk-analyst-school.png"))
    note = analyst.page.inner_text("#places-note")
    pupils = _column(analyst, "pupils passing")
    if not pupils:
        pytest.skip(f"no place listed on this store's walks: {note}")
    assert "rounded to 5" not in note and "exact counts" in note
    assert all(READABLE.match(v) for v in _column(analyst, "incidents"))
    assert all(READABLE.match(v) for v in pupils), pupils
    # the most pupils on one stretch: from the corridors the server sent
    lines = [f for _, fc in analyst.answered("/journey-corridors/items") for f in fc["features"]]
    most = max(float(f["properties"].get("pupils") or 0) for f in lines)
    numbers = [float(v.replace(",", "")) for v in pupils if v != "–"]
    assert numbers, "every listed place lies on a walk, so some pupils pass it"
    assert all(0 < v <= most for v in numbers)


@pytest.mark.browser
def test_page_asks_for_nothing_that_is_missing(browser: Any, demo_server: DemoServer) -> None:  # noqa: F811
    """Seen: every page load logged "Failed to load resource: 404" in the console (the
    browser's /favicon.ico)."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{demo_server.base}/login")
        page.fill("#token", demo_server.tokens["neighbourhood"])
        page.click("button[type=submit]")
        page.wait_for_url(f"{demo_server.base}/")
        wait_js(page, "window.geosafeState && window.geosafeState.refreshes >= 1", 240)
        r = page.request.get(f"{demo_server.base}/favicon.ico")
        assert r.status == 200 and r.headers["content-type"].startswith("image/svg+xml")
        assert errors == []
    finally:
        ctx.close()


def _ogrinfo(server: DemoServer, role: str, *args: str) -> str:
    """The README's way: Basic authentication, the token as the password."""
    auth = {"GDAL_HTTP_AUTH": "BASIC", "GDAL_HTTP_USERPWD": f"walk:{server.tokens[role]}"}
    return ogrinfo(server.base, auth, *args)


def test_neighbourhood_corridors_in_gdal_name_their_school(demo_server: DemoServer) -> None:
    """Seen in `ogrinfo OAPIF:` as a neighbourhood team: `journey-corridors` was up to six
    stacked polygons per cell with nothing but the cell and a street name (the school only in
    the feature id), under a description of "stretches with their exposure" and a schema
    saying LineString. Now each cell names its school, the documents say what it is."""
    out = _ogrinfo(demo_server, "neighbourhood", "-al", "-geom=NO", "journey-corridors")
    assert "Geometry: Polygon" in out
    feats = out.split("OGRFeature(")[1:]
    assert feats, out[:2000]
    for f in feats:
        assert re.search(r"school_name \(String\) = \S", f), f
        assert re.search(r"school_urn \(String\) = \d+", f), f
        assert "pupils" not in f and "journeys" not in f  # counts stay the school's own
    doc = _get(demo_server, "neighbourhood", "/ogc/collections/journey-corridors")
    assert doc["geosafe:geometryType"] == "Polygon"
    assert "H3 resolution-8 cells" in doc["description"] and "stretch" not in doc["description"]
    schema = _get(demo_server, "neighbourhood", "/ogc/collections/journey-corridors/schema")
    assert schema["properties"]["geometry"]["format"] == "geometry-polygon"
    assert "pupils" not in schema["properties"]
    analyst = _get(demo_server, "analyst", "/ogc/collections/journey-corridors/schema")
    assert analyst["properties"]["geometry"]["format"] == "geometry-linestring"


def test_neighbourhood_learns_no_more_of_a_school_than_the_school_itself(
    demo_server: DemoServer,
) -> None:
    """Disclosure, comparing roles: naming the school on a neighbourhood's corridor cells
    must not tell the neighbourhood anything that school's own token does not show. For
    every school with cells in the neighbourhood's wards, with a token of that school: each
    cell the neighbourhood sees for it is one of the school's own published cells (10 or more
    pupils), and the neighbourhood gets no count to difference against another role's."""
    from geosafe.access.tokens import TokenStore

    nb = _get(demo_server, "neighbourhood", "/ogc/collections/journey-corridors/items?limit=1000")
    seen: dict[str, set[str]] = {}
    for f in nb["features"]:
        p = f["properties"]
        assert not {"pupils", "journeys", "count"} & set(p), p
        assert f["id"] == f"{p['school_urn']}-{p['cell']}"  # the id said it before
        seen.setdefault(p["school_urn"], set()).add(p["cell"])
    assert seen, "pupils of the demo schools walk through the neighbourhood's wards"
    tokens = TokenStore(demo_server.folder / "geosafe.db.auth.sqlite")
    for urn, cells in seen.items():
        token = tokens.create("school", school_urn=urn, label=f"walk {urn}").token
        server = DemoServer(demo_server.base, {"school": token}, demo_server.folder)
        own = _get(server, "school", "/ogc/collections/journey-corridors/items?limit=1000")
        assert {f["properties"]["school_urn"] for f in own["features"]} == {urn}
        assert all(f["properties"]["pupils"] >= 10 for f in own["features"])
        assert cells <= {f["properties"]["cell"] for f in own["features"]}, urn


def _recorded(server: DemoServer, role: str, query: str) -> list[str] | None:
    doc = _get(server, role, f"/ogc/collections/h3-cells/items?resolution=8&limit=1000&{query}")
    return doc.get("geosafe:sourcesRecorded")


def _years(server: DemoServer) -> dict[str, list[str]]:
    """Year -> the sources recorded in it, as the neighbourhood is told."""
    out = {}
    for year in range(2022, 2027):
        try:
            rec = _recorded(server, "neighbourhood", f"datetime={year}&preset=all-day")
        except urllib.error.HTTPError as exc:  # a year not ended, or before the store
            assert exc.code == 400, exc
            continue
        if rec:
            out[str(year)] = rec
    return out


def test_sources_recorded_tell_no_more_than_the_published_counts(demo_server: DemoServer) -> None:
    """Disclosure of the key added to every items answer (`geosafe:sourcesRecorded`), by
    differencing sources and periods: for a neighbourhood, a source is listed for a period
    exactly when the published cells of that source alone in its wards show something there
    (a count or a suppressed 1-9), so the list adds nothing to what its published counts per
    source say. The analyst's list covers at least those sources over the same period."""
    years = _years(demo_server)
    assert years, "the store has published incidents"
    for year, recorded in years.items():
        shown = []
        for source in ("dir", "asif", "cris", "police_uk"):
            q = f"datetime={year}&preset=all-day&sources={source}&resolution=8&limit=1000"
            fc = _get(demo_server, "neighbourhood", f"/ogc/collections/h3-cells/items?{q}")
            # every cell of the wards is listed; one with incidents shows a count or is
            # suppressed (1-9)
            if any(
                f["properties"]["suppressed"] or f["properties"]["count"] for f in fc["features"]
            ):
                shown.append(source)
        assert set(recorded) - {"fap"} == set(shown), (year, recorded, shown)
        analyst = _recorded(demo_server, "analyst", f"datetime={year}")
        assert set(shown) <= set(analyst or ()), (year, analyst)


@pytest.mark.browser
def test_comparing_periods_says_when_sources_differ(
    browser: Any,  # noqa: F811
    demo_server: DemoServer,
    out_dir: Path,
) -> None:
    """Seen on the demo: "Compare with 2024-Q1" on 2025-Q1 read "up from under 10 in
    2024-Q1" on every place a school lists, though DIR, ASIF and CRIS have no record at all
    in 2024-Q1 (and police.uk none in 2025-Q1): a user reads a tenfold rise. Now the list says
    the comparison is not like for like and names the sources missing from each period; two
    periods with the same sources get no such words."""
    years = _years(demo_server)
    pairs = [(a, b) for a in years for b in years if a > b]
    unlike = [(a, b) for a, b in pairs if set(years[a]) - {"fap"} != set(years[b]) - {"fap"}]
    alike = [(a, b) for a, b in pairs if set(years[a]) - {"fap"} == set(years[b]) - {"fap"}]
    if not unlike:
        pytest.skip(f"every year of this store records the same sources: {years}")
    s = Session(browser, demo_server, "neighbourhood")
    try:
        for (now, then), want in [(unlike[0], True), *[(p, False) for p in alike[:1]]]:
            n = s.state()["refreshes"]
            s.page.select_option('select[name="preset"]', "all-day")
            s.page.fill('input[name="period"]', now)
            s.page.fill('input[name="compare_period"]', then)
            s.page.click("#apply")
            s.wait_refresh(n + 1)
            note = s.page.inner_text("#places-note")
            trends = _column(s, "trend") if s.page.locator("#places tbody tr").count() else []
            if want:
                s.page.screenshot(path=str(out_dir / "walk-neighbourhood-compare.png"))
                missing = sorted(set(years[now]) - set(years[then]) - {"fap"})
                assert "Not like for like" in note, note
                names = {"dir": "DIR", "asif": "ASIF", "cris": "CRIS", "police_uk": "police.uk"}
                assert all(names[m] in note for m in missing), (missing, note)
                assert all("not like for like" in t for t in trends), trends
            else:
                assert "like for like" not in note.lower(), note
                assert not any("like for like" in t for t in trends), trends
    finally:
        s.close()


def test_a_schools_journeys_name_the_hotspots_they_cross(demo_server: DemoServer) -> None:
    """Seen as a school posting its pupils' postcodes to `POST /journeys`: the hotspots a
    route crosses came as `{"id": "HS10", "peak_density_km2": 536.5}`, an id the school has
    nowhere to look up. Each now carries the `place` the reports use for it (the naming
    function of `geosafe.risk.naming`), the same for the same hotspot on every route."""
    import numpy as np

    from geosafe import datasets

    school = datasets.schools(demo_only=True).set_index("urn").loc[SCHOOL]
    pc = datasets.postcodes()
    d = np.hypot(pc["easting"] - school.geometry.x, pc["northing"] - school.geometry.y)
    near = pc[(d > 700) & (d < 2000)].sort_values("postcode")["postcode"].tolist()[::40][:25]
    body = json.dumps({"school": SCHOOL, "origins": near, "mode": "walk"}).encode()
    req = urllib.request.Request(
        f"{demo_server.base}/journeys",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {demo_server.tokens['school']}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(req, timeout=300) as r:
        fc = json.load(r)
    crossed = [h for f in fc["features"] for h in f["properties"].get("hotspots_crossed") or ()]
    if not crossed:
        pytest.skip("no route of these postcodes crosses a published hotspot")
    names: dict[str, str] = {}
    for h in crossed:
        place = h.get("place")
        assert isinstance(place, str) and place.strip(), h
        assert not re.fullmatch(r"HS\d+", place), h
        assert names.setdefault(h["id"], place) == place, (h, names)


def test_the_service_report_names_ways_and_hotspots_as_the_cli_does(
    demo_server: DemoServer,
) -> None:
    """Seen in a school's report from `POST /journeys/report`: corridors named "(primary)"
    and "(footway)" (OSM highway classes; every unnamed footway of the school merged into one
    "(footway)" line) and hotspots by id only, where `geosafe school-report` names them
    ("unnamed path near North Circular Road", "Woodfield Way by Bounds Green Station"). The
    service's report now uses the same naming."""
    import time

    headers = {
        "Authorization": f"Bearer {demo_server.tokens['school']}",
        "Content-Type": "application/json",
    }
    req = urllib.request.Request(
        f"{demo_server.base}/journeys/report",
        data=json.dumps({"school": SCHOOL}).encode(),
        method="POST",
        headers=headers,
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        job = r.headers["Location"]
    for _ in range(600):  # a bounded poll, not a timing
        req = urllib.request.Request(job, headers=headers)
        with urllib.request.urlopen(req, timeout=60) as r:
            doc = json.load(r)
        if doc["state"] not in ("queued", "running"):
            break
        time.sleep(0.5)
    assert doc["state"] == "done", doc
    result = doc["result"]
    names = [f["properties"]["name"] for f in result["corridors"]["features"]]
    assert names, "the school's pupils walk somewhere"
    assert not [n for n in names if re.fullmatch(r"\(\w+\)", n)], names
    for f in result["hotspots"]["features"]:
        assert f["properties"]["place"].strip(), f["properties"]


def test_printable_school_map_legend_matches_what_is_drawn(demo_server: DemoServer) -> None:
    """Seen on `/maps/schools/{urn}` as a school: published H3 cells drawn, a legend row
    "walking corridor (line width not to scale)". The row now says what is drawn: cells for
    a school (its corridors are H3 cells), walking lines for the analyst."""

    def page(role: str) -> str:
        req = urllib.request.Request(
            f"{demo_server.base}/maps/schools/{SCHOOL}",
            headers={"Authorization": f"Bearer {demo_server.tokens[role]}", "X-Purpose": "walk"},
        )
        with urllib.request.urlopen(req, timeout=300) as r:
            return str(r.read().decode())

    school = page("school")
    assert "areas on pupils&#x27; walks (10 or more pupils)" in school
    assert "line width not to scale" not in school
    assert "line width not to scale" in page("analyst")
