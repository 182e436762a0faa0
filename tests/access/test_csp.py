"""The pages work under their own Content-Security-Policy (issue 9 item 9): Chromium loads
the login page, logs in, draws the map page and a Folium map with the CSP enforced, and
reports no CSP violation and no page error. (The other browser tests bypass the CSP because
Playwright's ``wait_for_function`` evaluates strings.)"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from geosafe.access.tokens import TokenStore

from .loadtest import live_server

pytestmark = pytest.mark.browser


def test_pages_run_under_their_csp(browser: Any, demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "geosafe.db"
    src, dst = sqlite3.connect(demo_db), sqlite3.connect(db)
    src.backup(dst)
    src.close()
    dst.close()
    token = TokenStore(Path(str(db) + ".auth.sqlite")).create("analyst", label="csp").token
    problems: list[str] = []
    with live_server(db, tmp_path) as base:
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
        page.on(
            "console",
            lambda m: (
                problems.append(f"console: {m.text}")
                if "Content Security Policy" in m.text or "Refused to" in m.text
                else None
            ),
        )
        r = page.goto(f"{base}/login")
        assert r is not None and "frame-ancestors 'none'" in r.headers["content-security-policy"]
        page.fill("#token", token)
        with page.expect_navigation():
            page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.locator(".leaflet-container").count() >= 1
        r = page.goto(f"{base}/maps/hotspots")
        assert r is not None and r.status == 200
        page.wait_for_load_state("networkidle")
        assert page.locator(".leaflet-container").count() >= 1
        context.close()
    assert problems == []
