"""A server that has drawn the KDE hotspots, for every role, holds no GDAL (issue 16 item 1,
server memory: rasterio/GDAL cost ~45 MB of a server on its first density layer; only the
GeoTIFF download needs it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from geosafe import datasets
from geosafe.access.tokens import TokenStore, create_demo_tokens
from geosafe.ingest import import_file
from geosafe.store import Store

ROOT = Path(__file__).resolve().parents[2]

SERVE = """
import json, os, sys
from pathlib import Path
from fastapi.testclient import TestClient
from api import create_app

tokens = json.loads(os.environ["TOKENS"])
counts = {}
with TestClient(create_app()) as client:
    for role, token in tokens.items():
        auth = {"Authorization": f"Bearer {token}", "X-Purpose": "test"}
        r = client.get("/ogc/collections/hotspots-kde/items?preset=all-day", headers=auth)
        counts[role] = (r.status_code, len(r.json().get("features", [])))
    before_tif = sorted(m for m in ("rasterio", "pyogrio", "fiona", "osgeo") if m in sys.modules)
    gdal_mapped = "libgdal" in Path("/proc/self/maps").read_text()
    auth = {"Authorization": f"Bearer {tokens['analyst']}", "X-Purpose": "test"}
    tif = client.get("/rasters/kde.tif?preset=all-day", headers=auth)
print(json.dumps({"counts": counts, "modules": before_tif, "gdal_mapped": gdal_mapped,
                  "tif": [tif.status_code, tif.content[:4].hex(), "rasterio" in sys.modules]}))
"""


def test_kde_hotspots_for_every_role_load_no_gdal(tmp_path: Path) -> None:
    db = tmp_path / "geosafe.db"
    store = Store(db)
    try:
        for f in datasets.police_files()[-3:]:
            import_file(store, "police_uk", f)
    finally:
        store.close()
    tokens = create_demo_tokens(TokenStore(Path(f"{db}.auth.sqlite")), school_urn="102053")
    env = {
        "GEOSAFE_DB": str(db),
        "GEOSAFE_WORK_DIR": str(tmp_path / "work"),
        "GEOSAFE_ACCESS_RATE_PER_MINUTE": "1000000",
        "TOKENS": json.dumps(tokens),
    }
    import os

    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", SERVE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["counts"]["analyst"][0] == 200 and got["counts"]["analyst"][1] > 0
    for role in ("school", "neighbourhood"):
        assert got["counts"][role][0] == 200, got["counts"]
    assert got["modules"] == [] and got["gdal_mapped"] is False
    # the GeoTIFF download still works, and is what brings GDAL in
    status, magic, rasterio_loaded = got["tif"]
    assert status == 200 and magic in ("49492a00", "49492b00") and rasterio_loaded
