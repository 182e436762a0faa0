"""QGIS 3.22 (Debian's ``python3-qgis``) as the neighbourhood team's and the analyst's client.

The QGIS script (``qgis_client.py``) runs headless under the system ``python3`` against a real
server on loopback. It sets up a Basic auth configuration with the token as the password
through ``QgsApplication.authManager()`` (the README's QGIS steps), adds every OGC API -
Features collection the role may see and opens every GeoPackage download. Expectations come
from this file (geometry types by collection) and from the server's ``numberMatched``, not
from QGIS's own guesses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import DemoServer

pytestmark = pytest.mark.qgis

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("qgis_client.py")
ROLES = ("analyst", "neighbourhood")

#: The geometry type (QGIS's display name) each collection must load as, per role.
GEOMETRY = {
    "hotspots-kde": "Polygon",
    "clusters": "Polygon",
    "h3-cells": "Polygon",
    "emerging-cells": "Polygon",
    "schools": "Point",
    "bus-stops": "Point",
    "incidents": "Point",
    "referral-places": "Point",
}
#: Corridors are walked streets for the analyst, published H3 cells for everyone else.
CORRIDORS = {"analyst": "Line", "neighbourhood": "Polygon", "school": "Polygon"}
#: Collections whose GeoPackage carries classes (graduated or categorised default style).
CLASSED = ("hotspots-kde", "clusters", "h3-cells", "emerging-cells", "journey-corridors")
#: The Basic user name QGIS sends: for an analyst's incident-level read, its purpose.
PURPOSE = "qgis test"


def _expected_geometry(cid: str, role: str) -> str:
    if cid == "journey-corridors":
        return CORRIDORS[role]
    if cid in GEOMETRY:
        return GEOMETRY[cid]
    # incidents split by geometry type (points; route stretches as lines)
    return "Line" if "line" in cid or "route" in cid else "Point"


def _has_qgis() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, check=False
    )
    return probe.returncode == 0


def _collections(server: DemoServer, role: str) -> list[str]:
    r = httpx.get(
        f"{server.base}/ogc/collections",
        headers={"Authorization": f"Bearer {server.tokens[role]}"},
        timeout=120,
    )
    r.raise_for_status()
    return [c["id"] for c in r.json()["collections"]]


def _number_matched(server: DemoServer, role: str, cid: str) -> int | None:
    r = httpx.get(
        f"{server.base}/ogc/collections/{cid}/items",
        params={"limit": 1},
        headers={"Authorization": f"Bearer {server.tokens[role]}", "X-Purpose": "qgis test"},
        timeout=300,
    )
    return int(r.json()["numberMatched"]) if r.status_code == 200 else None


def _download(server: DemoServer, role: str, cid: str, folder: Path) -> Path | None:
    r = httpx.get(
        f"{server.base}/downloads/{cid}.gpkg",
        headers={"Authorization": f"Bearer {server.tokens[role]}", "X-Purpose": "qgis test"},
        timeout=300,
    )
    if r.status_code != 200:
        return None
    path = folder / f"{role}-{cid}.gpkg"
    path.write_bytes(r.content)
    return path


def _run_qgis(job: dict[str, Any], folder: Path) -> dict[str, Any] | None:
    """Run ``qgis_client.py`` on ``job``; its answer, or ``None`` when QGIS crashed."""
    Path(job["auth_dir"]).mkdir(mode=0o700)
    path = Path(job["auth_dir"]) / "job.json"
    path.write_text(json.dumps(job))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL"))}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=job["auth_dir"], HOME=str(folder))
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(SCRIPT), str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        timeout=900,
        check=False,
    )
    if proc.returncode < 0:  # killed by a signal
        return None
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def qgis_runs(
    demo_server: DemoServer, out_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    """What QGIS made of each role's collections and downloads (one QGIS run per role)."""
    if not _has_qgis():
        pytest.skip("Debian's python3-qgis is not installed; run scripts/setup.sh --test")
    runs: dict[str, dict[str, Any]] = {}
    for role in ROLES:
        folder = tmp_path_factory.mktemp(f"qgis-{role}")
        ids = _collections(demo_server, role)
        gpkgs = {cid: _download(demo_server, role, cid, folder) for cid in ids}
        hot = gpkgs.get("hotspots-kde")
        render = {"gpkg": str(hot), "png": str(out_dir / f"qgis-hotspots-{role}.png")}
        job = {
            "base": demo_server.base,
            "token": demo_server.tokens[role],
            "username": PURPOSE,  # the purpose of an incident-level read
            "geopackages": {k: str(v) for k, v in gpkgs.items() if v is not None},
            "render": render if hot is not None else None,
        }
        # QGIS 3.22 crashes (SIGSEGV) on an OAPIF collection whose items answer an error: the
        # incident layers (an error without a purpose) run in processes of their own, and if
        # the aggregated layers crash together, each is run alone to name the one that did
        incident_ids = [i for i in ids if i.startswith("incident")]
        together = [i for i in ids if i not in incident_ids]
        result: dict[str, Any] = {"collections": {}, "crashed": []}
        done = _run_qgis({**job, "collections": together, "auth_dir": str(folder / "a")}, folder)
        alone = incident_ids
        if done is None:
            done = _run_qgis({**job, "collections": [], "auth_dir": str(folder / "b")}, folder)
            assert done is not None, "QGIS crashed opening the GeoPackages"
            alone = together + incident_ids
        result["collections"].update(done.pop("collections"))
        result.update(done)
        for n, cid in enumerate(alone):
            one = {**job, "collections": [cid], "geopackages": {}, "render": None}
            got = _run_qgis({**one, "auth_dir": str(folder / f"c{n}")}, folder)
            if got is None:
                result["crashed"].append(cid)
            else:
                result["collections"].update(got["collections"])
        result["ids"] = ids
        result["matched"] = {cid: _number_matched(demo_server, role, cid) for cid in ids}
        result["downloaded"] = {k: v is not None for k, v in gpkgs.items()}
        runs[role] = result
        shutil.rmtree(folder, ignore_errors=True)
    return runs


def _layer_problems(role: str, run: dict[str, Any]) -> list[str]:
    """What is wrong with the layers QGIS loaded, one line each."""
    problems = []
    for cid in run["ids"]:
        if cid in run["crashed"]:
            problems.append(f"{cid}: QGIS crashed reading it (the server answered an error?)")
            continue
        rec = run["collections"][cid]
        want = _expected_geometry(cid, role)
        matched = run["matched"][cid]
        if not rec["valid"]:
            problems.append(f"{cid}: not a valid QGIS layer ({rec.get('error')})")
        elif matched == 0 and rec["geometry"] == "No geometry":
            # QGIS learns an OAPIF layer's geometry type and CRS from its features: an empty
            # collection (e.g. safe-places before any import) loads without them
            if rec["feature_count"] != 0:
                problems.append(f"{cid}: empty by numberMatched, {rec['feature_count']} in QGIS")
        elif rec["geometry"] != want:
            problems.append(
                f"{cid}: geometry {rec['geometry']!r} ({rec['wkb']}), expected {want!r}"
            )
        elif rec["crs"] not in ("EPSG:4326", "OGC:CRS84"):
            problems.append(f"{cid}: CRS {rec['crs']!r}, expected WGS84 lon/lat")
        elif matched is None or rec["feature_count"] != matched or rec["iterated"] != matched:
            problems.append(
                f"{cid}: featureCount {rec['feature_count']} / {rec['iterated']} read, "
                f"numberMatched {matched}"
            )
    return problems


@pytest.mark.parametrize("role", ROLES)
def test_every_collection_loads_in_qgis_with_basic_auth(
    qgis_runs: dict[str, dict[str, Any]], role: str, demo_server: DemoServer
) -> None:
    run = qgis_runs[role]
    assert run["qgis"].startswith("3."), run["qgis"]
    assert run["authcfg_stored"]
    ids = run["ids"]
    # the analyst sees incidents as points and as route stretches; nobody else sees them
    assert {i for i in ids if i.startswith("incident")} == (
        {"incidents", "incident-routes"} if role == "analyst" else set()
    )
    assert {"hotspots-kde", "h3-cells", "emerging-cells", "schools", "journey-corridors"} <= set(
        ids
    )
    problems = _layer_problems(role, run)
    assert not problems, problems
    assert run["collections"]["schools"]["feature_count"] > 0
    assert run["collections"]["h3-cells"]["feature_count"] > 0
    # numbers are numbers (not text) where QGIS reads a schema
    assert run["collections"]["schools"]["fields"]["pupils"] in ("Integer", "Integer64", "Real")
    if role == "analyst":
        assert run["collections"]["incidents"]["feature_count"] > 0
        assert run["collections"]["incident-routes"]["feature_count"] > 0
        # QGIS's incident reads were audited with the Basic user name as their purpose
        from geosafe.access.audit import AuditLog

        audit = AuditLog(Path(str(demo_server.folder / "geosafe.db") + ".audit.sqlite"))
        reads = [e for e in audit.entries() if "incident" in e.endpoint and e.purpose == PURPOSE]
        assert reads, [(e.endpoint, e.purpose) for e in audit.entries()][-5:]


@pytest.mark.parametrize("role", ROLES)
def test_geopackage_default_styles_are_classed(
    qgis_runs: dict[str, dict[str, Any]], role: str
) -> None:
    run = qgis_runs[role]
    gp = run["geopackages"]
    assert set(gp) == {k for k, ok in run["downloaded"].items() if ok}
    for cid, rec in gp.items():
        assert rec["valid"], cid
        assert rec["crs"] == "EPSG:27700", (cid, rec["crs"])
    for cid in CLASSED:
        rec = gp[cid]
        assert rec["renderer"] in ("graduatedSymbol", "categorizedSymbol"), (cid, rec)
        assert rec["attribute"], (cid, rec)
        if rec["feature_count"]:
            assert rec["classes"] >= 2, (cid, rec)


@pytest.mark.parametrize("role", ROLES)
def test_qgis_renders_the_hotspot_geopackage(
    qgis_runs: dict[str, dict[str, Any]], role: str, out_dir: Path
) -> None:
    run = qgis_runs[role]
    assert run["geopackages"]["hotspots-kde"]["feature_count"] > 0
    render = run["render"]
    assert render["saved"] and render["size"] == [800, 600]
    assert render["non_white"] > 100  # the hotspot polygons were drawn
    assert (out_dir / f"qgis-hotspots-{role}.png").stat().st_size > 1000
