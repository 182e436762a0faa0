"""The map page as each role sees it, in Debian's Chromium at 1366x768 (a common laptop
screen), on a demo-like store served by a real server on loopback.

Every request the page makes is gated: anything not for 127.0.0.1 is aborted and counted.
What the page drew is checked against the server's own GeoJSON answers (read from the network,
not from the page's state), and a screenshot per role goes to ``test-output/``.
"""

from __future__ import annotations

import contextlib
import json
import re
import urllib.parse as up
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_browser import browser, wait_js  # noqa: F401  (the shared Chromium fixture)

from .conftest import DemoServer

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1366, "height": 768}
ROLES = ("analyst", "school", "neighbourhood")
NUMBER = re.compile(r"[\d,]+(?:\.\d+)?")


class Session:
    """A logged-in page with every request recorded and outside requests refused."""

    def __init__(self, chromium: Any, server: DemoServer, role: str) -> None:
        # bypass_csp: wait_for_function evaluates strings, which the page's CSP (no eval) forbids;
        # tests/access/test_csp.py loads the page with the CSP enforced
        self.context = chromium.new_context(viewport=VIEWPORT, bypass_csp=True)
        self.requests: list[str] = []
        self.outside: list[str] = []
        self.responses: list[Any] = []  # answered items requests
        self.errors: list[str] = []
        self.context.route("**/*", self._gate)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response", self._record)
        self.page.goto(f"{server.base}/login")
        self.page.fill("#token", server.tokens[role])
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{server.base}/")
        self.wait_refresh(1)

    def _gate(self, route: Any) -> None:
        url = route.request.url
        self.requests.append(url)
        if url.startswith("data:") or up.urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def _record(self, response: Any) -> None:
        # keep the response only: reading its body here would race the test's own waits
        if "/items" in response.url and response.ok:
            self.responses.append(response)

    def answered(self, part: str) -> list[tuple[str, Any]]:
        """``(url, json)`` of the items responses whose URL contains ``part``, in order."""
        out = []
        for r in self.responses:
            if part in r.url:
                with contextlib.suppress(Exception):  # a body no longer available
                    out.append((r.url, r.json()))
        return out

    def wait_refresh(self, n: int) -> None:
        wait_js(self.page, f"window.geosafeState && window.geosafeState.refreshes >= {n}", 240)

    def state(self) -> dict[str, Any]:
        return dict(self.page.evaluate("window.geosafeState"))

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def sessions(browser: Any, demo_server: DemoServer) -> Iterator[dict[str, Session]]:  # noqa: F811
    made = {role: Session(browser, demo_server, role) for role in ROLES}
    yield made
    for s in made.values():
        s.close()


def _items_of(session: Session, collection: str) -> list[dict[str, Any]]:
    """Features of the latest answered items request of ``collection``."""
    answers = session.answered(f"/collections/{collection}/items")
    assert answers, f"no {collection} items request was answered"
    return list(answers[-1][1]["features"])


@pytest.mark.parametrize("role", ROLES)
def test_page_fits_1366x768_without_scrolling(
    sessions: dict[str, Session], role: str, out_dir: Path
) -> None:
    s = sessions[role]
    page = s.page
    st = s.state()
    assert st["error"] is None, st["error"]
    size = page.evaluate(
        "[document.documentElement.scrollHeight, document.documentElement.scrollWidth,"
        " window.innerHeight, window.innerWidth]"
    )
    assert size[0] <= size[2] and size[1] <= size[3], size
    # what must be reachable is inside the window: Apply, the scale bar, the legend, log out
    for sel in ("#apply", ".leaflet-control-scale", "#legend", "#logout"):
        box = page.locator(sel).bounding_box()
        assert box is not None, sel
        assert box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"], (sel, box)
        assert box["x"] + box["width"] <= VIEWPORT["width"], (sel, box)
    assert page.locator("#logout").is_visible()
    # street and place names drawn on the offline basemap
    assert st["labels"] > 5
    page.screenshot(path=str(out_dir / f"web-{role}.png"))
    assert not s.errors, s.errors
    assert s.outside == [], s.outside
    assert all(
        up.urlsplit(u).hostname == "127.0.0.1" for u in s.requests if not u.startswith("data:")
    )


@pytest.mark.parametrize("role", ROLES)
def test_legend_classes_span_the_values_drawn(sessions: dict[str, Session], role: str) -> None:
    s = sessions[role]
    feats = _items_of(s, "hotspots-kde")
    values = [f["properties"]["density"] for f in feats if f["properties"].get("density")]
    legend = s.page.locator("#legend").inner_text()
    assert "incidents per km²" in legend
    # the period drawn is in the legend, in words
    period = feats[0]["properties"]["period"] if feats else None
    if period:
        year = period.split("/")[-1][:4]
        assert year in legend
    assert "school run" in legend
    if not values:
        return
    # the legend lists the classes of the hotspots in the map's view only (found here from
    # the server's GeoJSON and the map's bounds), and says how many lie outside it
    w, so, e, n = (
        float(v) for v in s.page.evaluate("geosafeMap.getBounds().toBBoxString()").split(",")
    )
    in_view = [
        f["properties"]["density"]
        for f in feats
        if f["properties"].get("density") and _bbox_meets(f["geometry"], (w, so, e, n))
    ]
    outside = len(values) - len(in_view)
    rows = [
        [float(x.replace(",", "")) for x in NUMBER.findall(line)]
        for line in legend.splitlines()
        if "–" in line  # the en dash of a class range
    ]
    rows = [r for r in rows if len(r) == 2]
    if not in_view:
        assert not rows and "No hotspot in this view" in legend, legend
        assert f"{outside} hotspot" in legend, legend
        return
    assert rows, legend
    assert rows[0][0] <= min(in_view) and rows[-1][1] >= max(in_view), (rows, in_view)
    for lo, hi in rows:  # no class without a hotspot in view
        assert lo < hi and any(lo <= v <= hi for v in in_view), (lo, hi, in_view)
    assert all(any(lo <= v <= hi for lo, hi in rows) for v in in_view), (rows, in_view)
    if outside:
        assert "outside this view" in legend, legend
    # every drawn polygon is filled with one of the layer's class colours, and the legend's
    # swatches are among them
    classes = s.state()["legend"]["classes"]
    layer_colours = {c["colour"].lower() for c in classes}
    swatches = {
        _rgb(c)
        for c in s.page.eval_on_selector_all(
            "#legend i", "els => els.map(e => getComputedStyle(e).backgroundColor)"
        )
    }
    fills = s.page.eval_on_selector_all(
        ".leaflet-hotspots-pane path", "els => els.map(e => e.getAttribute('fill'))"
    )
    assert len(fills) >= len(feats)
    assert {f.lower() for f in fills} <= layer_colours, (fills, layer_colours)
    assert len(swatches & layer_colours) == len(rows), (swatches, rows)


def _bbox_meets(geometry: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    """Whether a GeoJSON geometry's bounding box meets ``(west, south, east, north)``."""
    import shapely.geometry

    x0, y0, x1, y1 = shapely.geometry.shape(geometry).bounds
    return x0 <= box[2] and x1 >= box[0] and y0 <= box[3] and y1 >= box[1]


def _rgb(css: str) -> str:
    r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


@pytest.mark.parametrize("role", ["school", "neighbourhood"])
def test_default_view_shows_places_or_a_visible_reason(
    sessions: dict[str, Session], role: str
) -> None:
    s = sessions[role]
    st = s.state()
    drawn = st["hotspots"] + st["corridors"] + len(st["places"])
    if drawn == 0:
        reason = (
            s.page.locator("#places-note").inner_text() + s.page.locator("#status").inner_text()
        )
        assert "no " in reason.lower() and len(reason) > 40, reason
        return
    assert st["places"], "a school or neighbourhood always gets its ranked list of places"
    rows = s.page.locator("#places-table tbody tr")
    assert rows.count() == len(st["places"]) >= 1
    assert s.page.locator("#places").is_visible()
    # rounded counts, named places (no HS01-style ids), times of day and a trend per row
    for place in st["places"]:
        assert place["count"] % 5 == 0 and place["count"] >= 10, place
        assert place["name"] and not re.fullmatch(r"HS\d+", place["name"]), place
        assert place["times"] and place["trend"], place
    # the names are the server's (the library's one naming rule), not the page's own
    names = {
        f["properties"]["place_name"]
        for u, fc in s.answered("/h3-cells/items")
        for f in fc["features"]
        if f["properties"].get("place_name")
    }
    assert {p["name"] for p in st["places"]} <= names, (st["places"], names)
    # the counts are the published H3 res-8 cells' counts of the same time window, busiest first
    published = {
        f["properties"]["count"]
        for u, fc in s.answered("/h3-cells/items")
        if "preset=school-run" in u and "resolution=8" in u
        for f in fc["features"]
    }
    counts = [p["count"] for p in st["places"]]
    assert set(counts) <= published, (counts, published)
    assert counts == sorted(counts, reverse=True)
    # the map is zoomed onto the listed places: the first one is inside the view
    inside = s.page.evaluate(
        "(() => { const m = document.querySelector('.place-no'); if (!m) return false;"
        " const r = m.getBoundingClientRect(); const map = document.getElementById('map')"
        ".getBoundingClientRect(); return r.left >= map.left && r.right <= map.right &&"
        " r.top >= map.top && r.bottom <= map.bottom; })()"
    )
    assert inside
    if role == "school":
        assert st["corridors"] >= 1
        assert "pupils passing" in s.page.locator("#places-table thead").inner_text()


def _control_requests(s: Session, action: Any) -> set[str]:
    """Items requests (path and sorted query) the page makes after ``action`` + Apply."""
    before = len(s.requests)
    n = s.state().get("refreshes", 0)
    action()
    s.page.click("#apply")
    s.wait_refresh(n + 1)
    out = set()
    for u in s.requests[before:]:
        parts = up.urlsplit(u)
        if "/items" in parts.path:
            q = sorted(up.parse_qsl(parts.query))
            out.add(f"{parts.path}?{up.urlencode(q)}")
    return out


@pytest.mark.parametrize("role", ROLES)
def test_every_control_changes_the_request_or_is_disabled_with_a_reason(
    browser: Any,  # noqa: F811
    demo_server: DemoServer,
    role: str,
) -> None:
    s = Session(browser, demo_server, role)
    page = s.page
    # answer every layer request with an empty collection: this test is about what is asked
    empty = json.dumps({"type": "FeatureCollection", "features": [], "numberMatched": 0})

    def fake(route: Any) -> None:
        s.requests.append(route.request.url)
        route.fulfill(status=200, content_type="application/geo+json", body=empty)

    page.route(re.compile(r".*/ogc/collections/[^/]+/items.*"), fake)
    try:
        checked = 0
        baseline = _control_requests(s, lambda: None)
        controls = page.eval_on_selector_all(
            "#filters input, #filters select",
            "els => els.map(e => ({name: e.name, type: e.type, value: e.value, disabled:"
            " e.disabled, title: e.title || (e.closest('label') || {}).title || ''}))",
        )
        names = [c for c in controls if c["name"] and c["name"] != "method"]
        assert len(names) >= 15
        disabled: set[str] = set()
        for c in names:
            if c["disabled"]:
                assert role != "analyst", c
                assert len(c["title"]) > 20, c  # the reason, in words
                disabled.add(c["name"])
                continue
            sel = f'#filters [name="{c["name"]}"]'
            if c["name"] in ("resolution",):
                method = "h3-cells"
            elif c["name"] in ("eps_m", "min_samples"):
                method = "clusters"
            elif c["name"] in ("bandwidth_m", "cell_m", "kernel", "top_pct"):
                method = "hotspots-kde"
            else:
                method = None
            if method and page.input_value('select[name="method"]') != method:
                now = _control_requests(
                    s, lambda m=method: page.select_option('select[name="method"]', m)
                )
                assert now != baseline, method
                baseline = now
            if c["type"] == "checkbox":
                if c["value"] != "dir":
                    continue  # one source is enough to prove the boxes are sent
                act = lambda sel=sel: page.click(f'{sel}[value="dir"]')  # noqa: E731
            elif c["type"] == "select-one":
                options = page.eval_on_selector_all(
                    f"{sel} option", "os => os.filter(o => !o.disabled).map(o => o.value)"
                )
                other = next(o for o in options if o != page.input_value(sel))
                act = lambda sel=sel, o=other: page.select_option(sel, o)  # noqa: E731
            else:
                value = {
                    "categories": "ASB",
                    "flags": "youth",
                    "period": "2025",
                    "compare_period": "2024",
                    "start": "2025-01-01",
                    "end": "2025-06-30",
                }.get(c["name"])
                if value is None:  # a number
                    value = str(float(c["value"]) + 1).removesuffix(".0")
                act = lambda sel=sel, v=value: page.fill(sel, v)  # noqa: E731
            now = _control_requests(s, act)
            assert now and now != baseline, (c["name"], now)
            baseline = now
            checked += 1
        assert checked >= (14 if role == "analyst" else 9)
        if role != "analyst":  # analyst-only filters: offered, disabled, with the reason
            assert {"categories", "flags", "start", "end", "eps_m", "min_samples"} <= disabled
        if role != "analyst":
            # H3 resolution 9 and 10 are offered but disabled, with the reason
            page.select_option('select[name="method"]', "h3-cells")
            fine = page.eval_on_selector_all(
                'select[name="resolution"] option',
                "os => os.filter(o => +o.value > 8).map(o => [o.disabled, o.textContent])",
            )
            assert fine and all(d and "analysts only" in t for d, t in fine), fine
            assert page.locator("#method-reason").is_visible()
            assert page.locator("#dates-reason").is_visible()
            # categories and flags: the published counts hold neither (the server refuses them)
            assert page.locator("#filters-reason").is_visible()
        # a refused request removes the old layer and says why; it is not shown under the new name
        page.unroute(re.compile(r".*/ogc/collections/[^/]+/items.*"))
        page.route(
            re.compile(r".*/ogc/collections/[^/]+/items.*"),
            lambda route: route.fulfill(
                status=400,
                content_type="application/json",
                body=json.dumps({"code": 400, "detail": "`eps_m` 1 is out of range"}),
            ),
        )
        _control_requests(s, lambda: page.select_option('select[name="method"]', "clusters"))
        st = s.state()
        assert st["hotspots"] == 0 and st["error"] and "eps_m" in st["error"]
        assert page.locator(".leaflet-hotspots-pane path").count() == 0
        assert "Layer not shown" in page.locator("#legend").inner_text()
        assert not s.errors, s.errors
        assert s.outside == []
    finally:
        s.close()


def test_analyst_gi_star_layer_shows_significant_cells(sessions: dict[str, Session]) -> None:
    s = sessions["analyst"]
    n = s.state()["refreshes"]
    s.page.select_option('select[name="method"]', "h3-cells")
    s.page.click("#apply")
    s.wait_refresh(n + 1)
    feats = _items_of(s, "h3-cells")
    hot = [f for f in feats if str(f["properties"].get("hotspot", "")).startswith("hot")]
    assert hot, "no significant hot cell on the demo store"
    legend = s.page.locator("#legend").inner_text()
    assert "hot spot" in legend
    # significant where z is high: every hot cell's z-score beats every non-significant one's
    z_hot = min(f["properties"]["gi_z"] for f in hot)
    z_top = max(f["properties"]["gi_z"] for f in feats)
    assert z_top in [f["properties"]["gi_z"] for f in hot] and z_hot > 1.0


@pytest.mark.parametrize("role", ["school", "analyst"])
def test_a_click_on_a_hotspot_opens_the_hotspots_popup(
    sessions: dict[str, Session], role: str
) -> None:
    s = sessions[role]
    page = s.page
    n = s.state()["refreshes"]
    page.select_option('select[name="method"]', "hotspots-kde")
    page.click("#apply")
    s.wait_refresh(n + 1)
    if not s.state()["hotspots"]:
        pytest.skip("no hotspot drawn for this role")
    # bring the first hotspot into view, then click where it is drawn, as a person would
    page.evaluate(
        "(() => { const m = window.geosafeMap; let b = null;"
        " m.eachLayer(l => { if (!b && l.feature && l.options.pane === 'hotspots') b = l.getBounds(); });"
        " m.fitBounds(b, { maxZoom: 17, animate: false, paddingTopLeft: [10, 10], paddingBottomRight: [410, 10] }); })()"
    )
    page.wait_for_timeout(300)
    box = page.locator(".leaflet-hotspots-pane path").first.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=10_000)
    text = popup.inner_text()
    assert text.startswith("Hotspot:"), text
    assert "incidents per km² (smoothed)" in text
    assert "pupils" not in text  # not the corridor's popup underneath
    assert not re.search(r"\bHS\d+\b", text)
    page.keyboard.press("Escape")


def test_neighbourhood_trend_is_against_the_previous_published_period(
    sessions: dict[str, Session],
) -> None:
    s = sessions["neighbourhood"]
    n = s.state()["refreshes"]
    s.page.fill('input[name="period"]', "2025")
    s.page.click("#apply")
    s.wait_refresh(n + 1)
    places = s.state()["places"]
    assert places, s.state()["placesReason"]
    # the previous year's published counts were asked for and each row compares with them
    assert any("/h3-cells/items" in u and "datetime=2024" in u for u in s.requests)
    for p in places:
        assert "2024" in p["trend"], p
    s.page.fill('input[name="period"]', "")


def test_an_empty_answer_says_why_and_offers_all_times_of_day(
    browser: Any,  # noqa: F811
    demo_server: DemoServer,
) -> None:
    # police.uk is dated to the month: nothing of it can fall in the school-run window
    s = Session(browser, demo_server, "analyst")
    try:
        page = s.page
        for src in ("dir", "asif", "cris"):
            page.uncheck(f'#sources input[value="{src}"]')
        n = s.state()["refreshes"]
        page.click("#apply")
        s.wait_refresh(n + 1)
        st = s.state()
        assert st["hotspots"] == 0
        text = page.locator("#status").inner_text()
        assert "No kernel density hotspots for school run" in text
        assert "month" in text and "left out" in text, text
        assert re.search(r"\d+ left out: time too coarse", text), text
        # the fallback: a labelled all-times view, one click away
        link = page.locator("#all-day")
        assert link.is_visible()
        link.click()
        s.wait_refresh(n + 2)
        assert page.input_value('select[name="preset"]') == "all-day"
        assert s.state()["hotspots"] > 0
        assert "all day" in page.locator("#legend").inner_text()
        assert not s.errors and s.outside == []
    finally:
        s.close()


def test_analyst_sees_places_named_in_referrals(sessions: dict[str, Session]) -> None:
    s = sessions["analyst"]
    feats = _items_of(s, "referral-places")
    st = s.state()
    assert feats, "the demo-like store's FAP notes name places"
    assert st["referralPlaces"] == len(feats)
    markers = s.page.eval_on_selector_all(
        ".leaflet-schools-pane path[fill='#f16913']", "els => els.length"
    )
    assert markers == len(feats)
    assert f"places named in referrals ({len(feats)})" in s.page.locator("#legend").inner_text()
    layers = s.page.locator(".leaflet-control-layers-overlays").inner_text()
    assert "Places named in referrals (analyst)" in layers
    # other roles never ask for them
    for role in ("school", "neighbourhood"):
        assert not [u for u in sessions[role].requests if "referral-places" in u], role
