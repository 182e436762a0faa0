"""A real browser: Playwright driving Debian's Chromium loads the page from a live server,
logs in with a token, and checks what is drawn; every request is intercepted and counted, and
none may leave 127.0.0.1."""

from __future__ import annotations

import os
import time
import urllib.parse as up
from pathlib import Path
from typing import Any

import pytest

from .conftest import Tokens

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
OUT = Path(__file__).resolve().parents[2] / "test-output"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Any:
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed; run scripts/setup.sh --test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def wait_js(page: Any, expression: str, timeout_s: float = 120.0) -> None:
    """Wait until ``expression`` is true on the page. Polls with ``page.evaluate`` rather than
    ``wait_for_function``, whose string predicates Playwright runs through ``eval``, which the
    page's Content-Security-Policy rightly forbids (the tests run under the real CSP)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(f"!!({expression})"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{expression!r} did not become true in {timeout_s:.0f} s")
        page.wait_for_timeout(100)


def _paths(page: Any, pane: str) -> list[str]:
    return list(
        page.eval_on_selector_all(
            f".leaflet-{pane}-pane path", "els => els.map(e => e.getAttribute('d'))"
        )
    )


def test_map_page_draws_filters_and_school_offline(
    browser: Any, live_server: str, tokens: Tokens
) -> None:
    seen: list[str] = []
    outside: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 900})

    def gate(route: Any) -> None:
        url = route.request.url
        seen.append(url)
        host = up.urlsplit(url).hostname
        if url.startswith("data:") or host == "127.0.0.1":
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", gate)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{live_server}/login")
    page.fill("#token", tokens.analyst)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    wait_js(page, "window.geosafeState && window.geosafeState.loads >= 1")
    state = page.evaluate("window.geosafeState")
    assert state["error"] is None, state
    assert state["basemap"] > 1000  # streets, parks and wards drawn on the basemap canvas
    assert page.locator(".leaflet-basemap-pane canvas").count() >= 1
    first = _paths(page, "hotspots")
    assert state["hotspots"] > 0 and len(first) >= state["hotspots"]
    assert page.locator("#banner").inner_text().lower().startswith("synthetic data")
    assert "incidents per km²" in page.locator("#legend").inner_text()

    # a filter change (the time window) changes what is drawn
    page.select_option("select[name=preset]", "all-day")
    page.click("#apply")
    wait_js(page, "window.geosafeState.loads >= 2")
    second = _paths(page, "hotspots")
    assert second and second != first

    # comparison of two periods: the other period's hotspots drawn as outlines
    page.fill("input[name=compare_period]", "2024-02")
    page.click("#apply")
    wait_js(page, "window.geosafeState.loads >= 3")
    assert page.evaluate("window.geosafeState.compare") > 0
    assert _paths(page, "compare")

    # the school view shows its corridors
    page.select_option("#school", tokens.school_urn)
    wait_js(page, "window.geosafeState.schoolLoads >= 1")
    assert page.evaluate("window.geosafeState.corridors") > 0
    corridors = _paths(page, "corridors")
    assert len(corridors) >= page.evaluate("window.geosafeState.corridors")
    # the test incidents cluster around this school: places with incidents lie along its walks
    assert page.evaluate("window.geosafeState.alongHotspots") >= 1
    assert page.locator("#places-table tbody tr").count() >= 1

    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / "map-page.png"))

    # the OGC API's HTML encoding draws the page of features on a map too
    page.goto(f"{live_server}/ogc/collections/schools/items?f=html&limit=50")
    page.wait_for_selector(".leaflet-interactive")
    n = page.evaluate(
        "document.querySelectorAll('.leaflet-overlay-pane .leaflet-interactive').length"
    )
    assert n == page.evaluate("data.features.length") > 0
    context.close()
    assert not errors, errors
    assert seen and all(
        up.urlsplit(u).hostname == "127.0.0.1" for u in seen if not u.startswith("data:")
    )
    assert outside == [], outside
