"""Safe places and interventions on the map page, per role, in Chromium at 1366x768.

An analyst logs an intervention in one of the neighbourhood token's wards (free text with a
marker). The analyst's page draws its area and says what it was; the school's and the
neighbourhood's pages draw its published cells only, with the months and the evaluation from
published counts (or the reason it is not shown), and the marker never reaches them. The
demo store has no safe places: the legend says so and why. A screenshot per role goes to
``test-output/web-interventions-<role>.png`` (the page) and ``map-interventions-<role>.png``
(the printable Folium map).

This file runs after ``test_web_roles.py`` (alphabetical order), which shares the server and
must see no intervention.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from geosafe import datasets
from tests.access._demo import WARDS
from tests.api.test_browser import browser, wait_js  # noqa: F401  (the shared Chromium fixture)

from .conftest import SCHOOL, DemoServer
from .test_web_roles import ROLES, Session

pytestmark = pytest.mark.browser

MARKER = "INTERVENTION-MARKER detached youth work"


@pytest.fixture(scope="module")
def logged(demo_server: DemoServer) -> str:
    wards = datasets.wards()
    ward = str(wards[wards["gss_code"] == WARDS[0]]["name"].iloc[0])
    r = httpx.post(
        f"{demo_server.base}/interventions",
        json={
            "what": MARKER,
            "where": {"kind": "ward", "ref": ward},
            "start": "2025-03-10",
            "notes": f"{MARKER} notes",
        },
        headers={"Authorization": f"Bearer {demo_server.tokens['analyst']}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return ward


@pytest.mark.parametrize("role", ROLES)
def test_interventions_and_safe_places_per_role(
    browser: Any,  # noqa: F811
    demo_server: DemoServer,
    logged: str,
    role: str,
    out_dir: Path,
) -> None:
    s = Session(browser, demo_server, role)
    try:
        page = s.page
        st = s.state()
        assert st["interventions"] == 1, st.get("interventionsReason")
        legend = page.locator("#legend").inner_text()
        assert "interventions (1)" in legend
        # no safe places in the bundled data: said, with the command to import them
        assert st["safePlaces"] == 0
        assert "Safe places: none have been imported" in legend, legend
        assert "safe-places import" in page.locator("#legend-safe").get_attribute("title")
        # open the intervention's popup as a person would: click on its dashed outline
        page.evaluate(
            "(() => { const m = window.geosafeMap; let lay = null;"
            " m.eachLayer(l => { if (!lay && l.feature && l.options.dashArray === '6 4') lay = l; });"
            " m.fitBounds(lay.getBounds(), { animate: false, paddingTopLeft: [10, 10],"
            " paddingBottomRight: [410, 10] }); lay.openPopup(); })()"
        )
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=10_000)
        text = popup.inner_text()
        assert text.startswith("Intervention 1"), text
        assert "change after it" in text
        html = page.content()
        if role == "analyst":
            assert MARKER in text and logged in text
            assert "not evaluated yet" in text or "comparison" in text
        else:
            assert "published cell" in text and "Mar 2025" in text, text
            assert "not shown:" in text or "%" in text, text
            # nothing the analyst wrote reaches the page
            # (the ward's name is public geography: it is on the map's labels and in the list)
            assert MARKER not in html and f"{MARKER} notes" not in html
            body = page.evaluate("fetch('/interventions/published').then(r => r.text())")
            assert MARKER not in body and logged not in body and '"what"' not in body
            assert page.evaluate("fetch('/interventions/map').then(r => r.status)") == 403
        page.wait_for_timeout(400)  # the popup's fade-in
        page.screenshot(path=str(out_dir / f"web-interventions-{role}.png"))
        # the printable (Folium) map draws it too, with a legend row
        page.goto(f"{demo_server.base}/maps/hotspots")
        page.wait_for_selector(".geosafe-legend", timeout=120_000)
        assert "interventions (1)" in page.locator(".geosafe-legend").inner_text()
        assert (MARKER in page.content()) == (role == "analyst")
        page.screenshot(path=str(out_dir / f"map-interventions-{role}.png"))
        if role == "school":  # the school's printable map too
            page.goto(f"{demo_server.base}/maps/schools/{SCHOOL}")
            page.wait_for_selector(".geosafe-legend", timeout=120_000)
            assert "interventions (1)" in page.locator(".geosafe-legend").inner_text()
            page.screenshot(path=str(out_dir / "map-school-interventions.png"))
        assert not s.errors, s.errors
        assert s.outside == []
    finally:
        s.close()
