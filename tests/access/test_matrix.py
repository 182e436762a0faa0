"""Role × endpoint matrix over every route of the real app (``api.create_app``).

Routes are enumerated from ``app.routes`` (effective routes, included routers expanded), so a
new route cannot slip through: it must either be in :data:`PUBLIC` or depend on
``api.security.require``. Then, per route and role: no token 401, wrong role 403, another
school's object 404, own data 200; analysts' incident-level reads need ``X-Purpose`` and
write exactly one audit row each.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from geosafe.publish import catalogue as gl

from .conftest import SCHOOL_A, SCHOOL_B

#: Routes that need no token: liveness, the login page and session exchange, the web page
#: (which is where the browser asks for the token), and the API documentation (no data).
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/login"),
    ("POST", "/session"),
    ("GET", "/"),
    ("GET", "/api"),
    ("GET", "/favicon.ico"),  # the site's icon (a map pin), asked for by every page
    ("GET", "/api/openapi.json"),
    ("HEAD", "/api/openapi.json"),
}
ROLES = ("analyst", "school", "neighbourhood")
PURPOSE = {"X-Purpose": "access matrix test"}


@dataclass(frozen=True)
class Call:
    method: str
    template: str
    url: str
    roles: tuple[str, ...]  # roles that may use it
    incident_level: bool = False
    other_school: bool = False  # names a school other than the school token's
    json: dict | None = None


def _require_roles(route) -> tuple[str, ...] | None:  # type: ignore[no-untyped-def]
    """Roles named by the route's ``require_*`` dependency (None when it has none)."""
    found: list[tuple[str, ...]] = []

    def walk(dep) -> None:  # type: ignore[no-untyped-def]
        for sub in dep.dependencies:
            name = getattr(sub.call, "__name__", "")
            if name.startswith("require_"):
                found.append(tuple(name.removeprefix("require_").split("_")))
            walk(sub)

    dependant = getattr(route, "dependant", None)
    if dependant is not None:
        walk(dependant)
    return found[0] if found else None


def _routes(app) -> Iterator[tuple[str, str, tuple[str, ...] | None]]:  # type: ignore[no-untyped-def]
    for ctx in iter_route_contexts(app.routes):
        path = ctx.path
        methods = ctx.methods
        if not methods or path is None or path.startswith("/static"):
            continue  # mounts: static assets
        for method in sorted(methods):
            yield method, path, _require_roles(ctx)


def test_every_route_is_public_by_name_or_guarded(service) -> None:
    app, _ = service
    unguarded = [(m, p) for m, p, roles in _routes(app) if roles is None and (m, p) not in PUBLIC]
    assert unguarded == [], f"routes without api.security.require: {unguarded}"


def names_or_items(path: str) -> str:
    """The part of an OGC path that says whether it serves features (``items``)."""
    return "items" if "/items" in path else ""


def _calls(app) -> list[Call]:  # type: ignore[no-untyped-def]
    calls: list[Call] = []
    for method, path, roles in _routes(app):
        if roles is None:
            continue
        names = re.findall(r"{(\w+)(?::\w+)?}", path)
        if not names:
            body = None
            if method == "POST" and path.startswith("/journeys"):
                body = {"school": SCHOOL_A, "origins": ["N22 7AY"], "arrive_by": "08:40"}
            profile = path == "/reports/profile"  # the analyst version is record-level
            calls.append(Call(method, path, path, roles, incident_level=profile, json=body))
            continue
        if names == ["urn"]:
            calls.append(Call(method, path, path.replace("{urn}", SCHOOL_A), roles))
            calls.append(
                Call(method, path, path.replace("{urn}", SCHOOL_B), roles, other_school=True)
            )
        elif names[0] == "collection_id":
            for sp in gl.COLLECTIONS.values():
                allowed = tuple(r for r in roles if r in sp.roles)
                url = path.replace("{collection_id}", sp.id)
                if "feature_id" in names:
                    url = url.replace("{feature_id}", "__first__")
                level = sp.incident_level and "items" in names_or_items(path)
                calls.append(Call(method, path, url, allowed, incident_level=level))
        elif names == ["filename"]:
            for sp in gl.COLLECTIONS.values():
                for ext in ("csv", "geojson", "gpkg"):
                    allowed = tuple(r for r in roles if r in sp.roles)
                    url = path.replace("{filename}", f"{sp.id}.{ext}")
                    calls.append(Call(method, path, url, allowed, incident_level=sp.incident_level))
        elif names == ["job_id"]:
            calls.append(Call(method, path, path.replace("{job_id}", "no-such-job"), roles))
        else:  # pragma: no cover - a new kind of path parameter: extend this test
            pytest.fail(f"route {path} has path parameters {names}; teach the matrix test them")
    return calls


def _request(client: TestClient, call: Call, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    url = call.url
    if "__first__" in url:
        items = url.split("/items/")[0] + "/items?limit=1"
        r = client.get(items, headers=headers)
        feats = r.json().get("features", []) if r.status_code == 200 else []
        # an empty collection has no object to name: the request must then answer 404
        url = url.replace("__first__", str(feats[0]["id"]) if feats else "none")
    return client.request(call.method, url, headers=headers, json=call.json), url


def test_no_token_is_401_everywhere(service) -> None:
    app, _ = service
    client = TestClient(app)
    for call in _calls(app):
        r = client.request(call.method, call.url.replace("__first__", "x"), json=call.json)
        assert r.status_code == 401, (call.method, call.url, r.status_code)
        r = client.request(
            call.method, call.url.replace("__first__", "x"), headers={"Authorization": "Bearer x"}
        )
        assert r.status_code == 401, (call.method, call.url, r.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(service, role: str) -> None:
    app, toks = service
    client = TestClient(app, raise_server_exceptions=False)
    headers = {"Authorization": f"Bearer {toks[role]}", **PURPOSE}
    problems = []
    for call in _calls(app):
        r, url = _request(client, call, headers)
        if role not in call.roles:
            expected = {403}
        elif (call.other_school and role == "school") or url.endswith(
            ("no-such-job", "/items/none")
        ):
            expected = {404}
        elif call.method == "POST" and call.json is None:
            # a POST this test has no valid body for (an upload): past authentication and
            # authorisation, the route validates it (400/422) or accepts it
            expected = {200, 201, 202, 400, 422}
        elif call.method == "POST":
            expected = {200, 202}
        elif call.method == "DELETE":
            expected = {204}
        else:
            expected = {200}
        if r.status_code not in expected:
            problems.append((call.method, call.url, r.status_code, sorted(expected), r.text[:160]))
    assert problems == [], "\n".join(map(str, problems))


def test_incident_level_reads_need_a_purpose_and_are_audited_once(service) -> None:
    app, toks = service
    client = TestClient(app)
    audit = app.state.access.audit
    headers = {"Authorization": f"Bearer {toks['analyst']}"}
    calls = [c for c in _calls(app) if c.incident_level and c.method == "GET"]
    assert calls, "no incident-level routes found"
    for call in calls:
        url = call.url
        if "__first__" in url:
            collection = url.split("/collections/")[1].split("/")[0]
            first = client.get(
                f"/ogc/collections/{collection}/items?limit=1&preset=all-day",
                headers={**headers, **PURPOSE},
            ).json()["features"]
            url = url.replace("__first__", str(first[0]["id"])) + "?preset=all-day"
        before = audit.count()
        r = client.get(url, headers=headers)
        assert r.status_code == 400 and "X-Purpose" in r.json()["detail"], url
        assert audit.count() == before, f"refused read of {url} was audited"
        r = client.get(url, headers={**headers, **PURPOSE})
        assert r.status_code == 200, (url, r.text[:200])
        rows = audit.entries()[before:]
        assert len(rows) == 1, (url, rows)
        row = rows[0]
        assert (row.label, row.role, row.purpose) == (
            "demo-analyst",
            "analyst",
            PURPOSE["X-Purpose"],
        )
        assert row.endpoint == url.split("?")[0]
        assert row.records is not None and row.records >= 0


def test_no_route_changes_audit_rows(service) -> None:
    """No route writes to the audit log other than by appending, and none names it."""
    app, toks = service
    for method, path, _ in _routes(app):
        assert "audit" not in path.lower(), (method, path)
    audit = app.state.access.audit
    client = TestClient(app, raise_server_exceptions=False)
    before = audit.entries()
    for call in _calls(app):
        if call.method in ("PUT", "PATCH", "DELETE", "POST"):
            _request(client, call, {"Authorization": f"Bearer {toks['analyst']}", **PURPOSE})
    after = audit.entries()
    assert after[: len(before)] == before  # old rows unchanged, new ones only appended
    assert audit.verify() == []


def test_school_urn_in_a_body_is_checked(service) -> None:
    app, toks = service
    client = TestClient(app)
    h = {"Authorization": f"Bearer {toks['school']}"}
    body = {"school": SCHOOL_B, "origins": ["N22 7AY"]}
    assert client.post("/journeys", json=body, headers=h).status_code == 404
    assert client.post("/journeys/report", json={"school": SCHOOL_B}, headers=h).status_code == 404
    r = client.get(f"/ogc/collections/journey-corridors/items?school={SCHOOL_B}", headers=h)
    assert r.status_code == 404
