"""Browser login with Chromium: the page asks for a token once, the server exchanges it for
an HttpOnly, SameSite=Strict session cookie, and the API then answers the browser by cookie;
script on the page cannot read the cookie."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from geosafe.access.tokens import TokenStore

from .conftest import SCHOOL_A
from .loadtest import live_server

pytestmark = pytest.mark.browser


def test_login_page_sets_an_httponly_strict_cookie(
    browser: Any, demo_db: Path, tmp_path: Path
) -> None:
    db = tmp_path / "geosafe.db"
    src, dst = sqlite3.connect(demo_db), sqlite3.connect(db)
    src.backup(dst)
    src.close()
    dst.close()
    token = (
        TokenStore(Path(str(db) + ".auth.sqlite"))
        .create("school", school_urn=SCHOOL_A, label="browser school")
        .token
    )
    with live_server(db, tmp_path) as base:
        context = browser.new_context()
        page = context.new_page()
        # without a session the API refuses the browser
        assert page.goto(f"{base}/ogc/collections").status == 401
        page.goto(f"{base}/login")
        page.fill("#token", "not-a-token")
        page.click("button[type=submit]")
        page.wait_for_selector("#status:has-text('not valid')")
        assert not context.cookies()
        page.fill("#token", token)
        with page.expect_navigation():
            page.click("button[type=submit]")
        cookies = {c["name"]: c for c in context.cookies()}
        cookie = cookies["geosafe_session"]
        assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
        assert cookie["value"] != token
        assert "geosafe_session" not in page.evaluate("document.cookie")
        who = page.evaluate("fetch('/session').then(r => r.json())")
        assert who["role"] == "school" and who["school_urn"] == SCHOOL_A
        status = page.evaluate(
            "fetch('/ogc/collections/h3-cells/items?limit=5').then(r => r.status)"
        )
        assert status == 200
        other = page.evaluate("fetch('/maps/schools/137531').then(r => r.status)")
        assert other == 404
        # log out: the cookie no longer works
        assert page.evaluate("fetch('/session', {method: 'DELETE'}).then(r => r.status)") == 204
        assert page.evaluate("fetch('/ogc/collections').then(r => r.status)") == 401
        context.close()
