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
}
#: Corridors are walked streets for the analyst, published H3 cells for everyone else.
CORRIDORS = {"analyst": "Line", "neighbourhood": "Polygon", "school": "Polygon"}
#: Collections whose GeoPackage carries classes (graduated or categorised default style).
CLASSED = ("hotspots-kde", "clusters", "h3-cells", "emerging-cells", "journey-corridors")
#: What helpers still to be merged deliver; the dependent checks xfail until then.
PENDING_PUBLISH = (
    "helper `publish`: declared geometry type of empty collections, incidents split by "
    "geometry type, classed GeoPackage styles"
)
PENDING_ACCESS = "helper `access`: the purpose of an incident-level read from the Basic user name"


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
            "username": "qgis test",  # the purpose of an incident-level read
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


def _layer_problems(role: str, run: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(problems, of which pending on other helpers' work)."""
    problems, pending = [], []
    for cid in run["ids"]:
        if cid in run["crashed"]:
            problems.append(f"{cid}: QGIS crashed reading it (the server answered an error?)")
            if cid.startswith("incident"):
                pending.append(problems[-1])
            continue
        rec = run["collections"][cid]
        want = _expected_geometry(cid, role)
        matched = run["matched"][cid]
        issue = None
        if not rec["valid"]:
            issue = f"{cid}: not a valid QGIS layer ({rec.get('error')})"
        elif rec["geometry"] != want:
            issue = f"{cid}: geometry {rec['geometry']!r} ({rec['wkb']}), expected {want!r}"
        elif rec["crs"] not in ("EPSG:4326", "OGC:CRS84"):
            issue = f"{cid}: CRS {rec['crs']!r}, expected WGS84 lon/lat"
        elif matched is None or rec["feature_count"] != matched or rec["iterated"] != matched:
            issue = (
                f"{cid}: featureCount {rec['feature_count']} / {rec['iterated']} read, "
                f"numberMatched {matched}"
            )
        if issue:
            problems.append(issue)
            if cid.startswith("incident") or matched in (0, None):
                pending.append(issue)
    return problems, pending


@pytest.mark.parametrize("role", ROLES)
def test_every_collection_loads_in_qgis_with_basic_auth(
    qgis_runs: dict[str, dict[str, Any]], role: str
) -> None:
    run = qgis_runs[role]
    assert run["qgis"].startswith("3."), run["qgis"]
    assert run["authcfg_stored"]
    ids = run["ids"]
    assert any(i.startswith("incident") for i in ids) == (role == "analyst")
    assert {"hotspots-kde", "h3-cells", "schools"} <= set(ids)
    problems, pending = _layer_problems(role, run)
    # the layers that do not depend on other helpers' work load exactly
    firm = [p for p in problems if p not in pending]
    assert not firm, firm
    # populated aggregated layers: at least the H3 cells and the schools have features
    assert run["collections"]["schools"]["feature_count"] > 0
    assert run["collections"]["h3-cells"]["feature_count"] > 0
    if pending:
        pytest.xfail(f"{PENDING_PUBLISH}; {PENDING_ACCESS}: {pending}")


@pytest.mark.parametrize("role", ROLES)
def test_geopackage_default_styles_are_classed(
    qgis_runs: dict[str, dict[str, Any]], role: str
) -> None:
    run = qgis_runs[role]
    gp = run["geopackages"]
    for cid, rec in gp.items():
        assert rec["valid"], cid
        assert rec["crs"] == "EPSG:27700", (cid, rec["crs"])
    flat = {
        cid: gp[cid]["renderer"]
        for cid in CLASSED
        if cid in gp and gp[cid]["renderer"] not in ("graduatedSymbol", "categorizedSymbol")
    }
    if flat:
        pytest.xfail(f"{PENDING_PUBLISH}: default styles not classed: {flat}")
    for cid in CLASSED:
        if cid in gp and gp[cid]["feature_count"]:
            assert gp[cid]["classes"] >= 2, (cid, gp[cid])


@pytest.mark.parametrize("role", ROLES)
def test_qgis_renders_the_hotspot_geopackage(
    qgis_runs: dict[str, dict[str, Any]], role: str, out_dir: Path
) -> None:
    run = qgis_runs[role]
    if run["geopackages"]["hotspots-kde"]["feature_count"] == 0:
        pytest.xfail(f"{PENDING_PUBLISH}: {role} hotspots-kde is empty")
    render = run["render"]
    assert render["saved"] and render["size"] == [800, 600]
    assert render["non_white"] > 100  # the hotspot polygons were drawn
    assert (out_dir / f"qgis-hotspots-{role}.png").stat().st_size > 1000
