"""A real police.uk month the product has not seen, of another area (City of London, from
``../shared/data``), imported and served without an area folder for it, as an analyst who
skipped `geosafe area build` would (helper `walk`, seventh wave).

Seen: the all-day density map was empty "because" of "time too coarse for window" with
`outside_time_window: -1895` (a negative count), the page added "try another time of day",
and the Gi* list called ten empty cells the "Densest places on this map" (0 per km²). Now
the answer names the cause (none of the incidents lies in the mapped area) and the fix
(`geosafe area build`, `geosafe serve --area`), every count is a count, and the page shows
that reason alone and lists no empty cell. Real Chromium at 1366x768 for the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api import create_app
from tests._live import serve_app
from tests.api.conftest import make_settings, make_tokens
from tests.api.test_browser import browser, wait_js  # noqa: F401  (the shared Chromium)

MONTH = "city_of_london/2018-01-city-of-london-street.csv"


@pytest.fixture(scope="module")
def city(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A live server on a store holding one real City of London month; its analyst token."""
    from geosafe.ingest import import_file
    from geosafe.store import Store

    folder = tmp_path_factory.mktemp("city")
    db = folder / "city.db"
    store = Store(db)
    r = import_file(store, "police_uk", shared_data / "police" / MONTH)
    store.close()
    assert r.accepted > 600  # by hand: 698 rows, all accepted (the default area is London)
    token = make_tokens(db).analyst
    with serve_app(create_app(make_settings(db, folder))) as base:
        yield base, token


def _items(base: str, token: str, query: str) -> dict[str, Any]:
    import httpx

    r = httpx.get(
        f"{base}/ogc/collections/hotspots-kde/items?{query}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=300,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_empty_map_names_the_area_and_counts_add_up(city: tuple[str, str]) -> None:
    base, token = city
    doc = _items(base, token, "preset=all-day")
    assert doc["features"] == []
    ex = doc["geosafe:excluded"]
    assert all(v >= 0 for v in ex.values()), ex
    assert ex["time_too_coarse_for_window"] == 0  # all day is no time window
    located = ex["outside_study_area"]
    assert located > 600, ex
    assert "lies in the area this service maps" in doc["geosafe:reason"]
    assert "geosafe area build" in doc["geosafe:reason"]
    # in the school run the month-dated records are the reason, and still counted once
    run = _items(base, token, "preset=school-run")["geosafe:excluded"]
    assert run["time_too_coarse_for_window"] == located and run["outside_time_window"] == 0


@pytest.mark.browser
def test_page_shows_the_reason_alone_and_lists_no_empty_cell(
    browser: Any,  # noqa: F811
    city: tuple[str, str],
    tmp_path: Path,
) -> None:
    base, token = city
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = ctx.new_page()
        page.goto(f"{base}/login")
        page.fill("#token", token)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        wait_js(page, "window.geosafeState && window.geosafeState.refreshes >= 1", 240)
        n = page.evaluate("window.geosafeState.refreshes")
        page.select_option('select[name="preset"]', "all-day")
        page.click("#apply")
        wait_js(page, f"window.geosafeState.refreshes >= {n + 1}", 240)
        text = page.inner_text("#status")
        assert "lies in the area this service maps" in text, text
        assert "try another time of day" not in text, text
        page.select_option('select[name="method"]', "h3-cells")
        page.click("#apply")
        wait_js(page, f"window.geosafeState.refreshes >= {n + 2}", 240)
        out = Path(__file__).resolve().parents[2] / "test-output"
        out.mkdir(exist_ok=True)
        page.screenshot(path=str(out / "walk-analyst-elsewhere-gi.png"))
        assert "None of them holds an incident" in page.inner_text("#status")
        assert page.locator("#places").is_hidden()
        assert page.locator(".place-no").count() == 0
    finally:
        ctx.close()
