"""Every collection of a geosafe service, per role, as GeoJSON bytes: to compare two
checkouts' outputs (a change that should keep every layer identical, e.g. drawing the KDE
polygons without GDAL).

``store``: builds a store of the last ``--months`` bundled police.uk months and demo tokens
under ``--folder`` (once; both checkouts then serve copies of the same store).
``dump``: serves a copy of that store in-process (FastAPI's ``TestClient``) with the
checkout this script lives in, and writes ``--out/<role>/<collection>[__<variant>].geojson``
(the HTTP status and body of ``/downloads/<id>.geojson``) for every collection each role
lists, plus the KDE hotspots under other parameters (cell, bandwidth, kernel, top %), and
``<role>/kde.tif`` (the density GeoTIFF: the surface and its study-area mask).
``compare``: byte-compares two dump folders and prints what differs.

Usage::

    .venv/bin/python benchmarks/server_layers_dump.py store --folder /tmp/x --months 2
    .venv/bin/python benchmarks/server_layers_dump.py dump --folder /tmp/x --out /tmp/x/after
    OTHER_CHECKOUT/benchmarks/server_layers_dump.py dump --folder /tmp/x --out /tmp/x/before
    .venv/bin/python benchmarks/server_layers_dump.py compare /tmp/x/before /tmp/x/after
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(Path(__file__).resolve().parent))  # after ROOT: benchmarks/api.py

#: KDE parameters besides the defaults: other grids, kernels and shares of the surface.
KDE_VARIANTS = {
    "cell10": "cell_m=10",
    "cell50_bw400": "cell_m=50&bandwidth_m=400",
    "gauss": "kernel=gaussian&bandwidth_m=150",
    "top20": "top_pct=20",
    "top10": "top_pct=10",
    "top1": "top_pct=1",
    "top1_cell5": "top_pct=1&cell_m=5&bandwidth_m=100",
}


def store(folder: Path, months: int) -> int:
    from ogc_collections import _geosafe_store

    folder.mkdir(parents=True, exist_ok=True)
    _db, tokens = _geosafe_store(folder, months)
    (folder / "tokens.json").write_text(json.dumps(tokens))
    print(f"store and tokens in {folder}")
    return 0


def dump(folder: Path, out: Path) -> int:
    work = Path(tempfile.mkdtemp(prefix="layers-dump-"))
    for p in folder.iterdir():
        if p.is_file() and p.name.startswith("geosafe.db"):
            shutil.copy2(p, work / p.name)
    os.environ.update(
        GEOSAFE_DB=str(work / "geosafe.db"),
        GEOSAFE_WORK_DIR=str(work / "work"),
        GEOSAFE_ACCESS_RATE_PER_MINUTE="100000000",
    )
    from fastapi.testclient import TestClient

    from api import create_app

    tokens = json.loads((folder / "tokens.json").read_text())
    n = 0
    with TestClient(create_app()) as client:
        for role, token in tokens.items():
            auth = {"Authorization": f"Bearer {token}", "X-Purpose": "layer comparison"}
            docs = client.get("/ogc/collections", headers=auth).json()["collections"]
            (out / role).mkdir(parents=True, exist_ok=True)
            for doc in docs:
                cid = doc["id"]
                queries = {"": "preset=all-day"}
                if cid == "hotspots-kde":
                    queries |= {f"__{k}": f"preset=all-day&{q}" for k, q in KDE_VARIANTS.items()}
                for suffix, query in queries.items():
                    r = client.get(f"/downloads/{cid}.geojson?{query}", headers=auth)
                    if r.status_code == 400 and not suffix:  # a layer without a preset
                        r = client.get(f"/downloads/{cid}.geojson", headers=auth)
                    body = f"{r.status_code}\n".encode() + r.content
                    (out / role / f"{cid}{suffix}.geojson").write_bytes(body)
                    n += 1
            # the density surface itself (its study-area mask), as the GeoTIFF download
            r = client.get("/rasters/kde.tif?preset=all-day", headers=auth)
            (out / role / "kde.tif").write_bytes(f"{r.status_code}\n".encode() + r.content)
            n += 1
    shutil.rmtree(work, ignore_errors=True)
    print(f"{n} downloads written under {out} by {ROOT}")
    return 0


def compare(a: Path, b: Path) -> int:
    names = sorted({p.relative_to(a) for p in a.rglob("*.*")})
    names_b = sorted({p.relative_to(b) for p in b.rglob("*.*")})
    if names != names_b:
        print(f"different files: {sorted(set(names) ^ set(names_b))}")
        return 1
    differ = [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()]
    for n in names:
        head = (a / n).read_bytes().split(b"\n", 1)
        ok = head[0] == b"200" and n.suffix == ".geojson"
        features = len(json.loads(head[1]).get("features", [])) if ok else 0
        print(f"  {n!s:55s} {head[0].decode()} {features:4d} features  "
              f"{'DIFFERENT' if n in differ else 'identical'}")  # fmt: skip
    print(f"{len(names) - len(differ)} of {len(names)} downloads byte-identical")
    return 1 if differ else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["store", "dump", "compare"])
    ap.add_argument("paths", nargs="*", type=Path)
    ap.add_argument("--folder", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--months", type=int, default=2)
    args = ap.parse_args()
    if args.mode == "store":
        return store(args.folder, args.months)
    if args.mode == "dump":
        return dump(args.folder, args.out)
    return compare(*args.paths)


if __name__ == "__main__":
    raise SystemExit(main())
