"""What a school and a neighbourhood team see of a school's journeys when its FAP referrals'
homes are the published H3 resolution-8 cells (``published_referrals``, read over the reader
connection: the code as it is) against the same outputs with the homes' postcodes (how the
code read them before the fifth wave), in one process on one store.

    python benchmarks/public_origins.py --db out/demo/geosafe.db --school 137531
    python benchmarks/public_origins.py --db out/demo/geosafe.db --school 137531 --no-roll

``--no-roll`` works on a copy of the store without the schools' rolls (FAP referrals only).
Prints, per variant, the published corridor cells (school role), the report's summary, its
street corridors and hotspots and the need matrix, and what differs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geosafe.access.tokens import Principal  # noqa: E402


def _viewer(role: str, school_urn: str | None = None) -> Principal:
    """A school's or neighbourhood team's principal, as a token gives it."""
    return Principal(token_id="t", label=role, role=role, school_urn=school_urn)


def _outputs(db: str, urn: str, *, postcodes: bool) -> dict[str, Any]:
    from geosafe.network import origins as og
    from geosafe.publish import corridors
    from geosafe.publish.catalogue import AnalysisParams
    from geosafe.publish.service import LayerService
    from geosafe.store import open_store

    store = open_store(db)
    svc = LayerService(ROOT / "data", store, store_path=db)
    real = corridors.published_fap_origins
    if postcodes:  # the earlier reading: one origin per home postcode
        corridors.published_fap_origins = lambda s, u: og.origins_from_postcodes(  # type: ignore[assignment]
            og.fap_home_postcodes(store, u), data_dir=s.data_dir, kind="fap"
        )
    try:
        t = time.process_time()
        layer = svc.layer(
            "journey-corridors", AnalysisParams(school=urn), principal=_viewer("school", urn)
        )
        props = [json.loads(f)["properties"] for f in layer.features]
        rep = corridors.school_report(svc, school=urn, role="school")
        cpu = time.process_time() - t
    finally:
        corridors.published_fap_origins = real  # type: ignore[assignment]
        svc.published.close()
        store.close()
    return {
        "cells": sorted((p["cell"], p["pupils"]) for p in props),
        "summary": {k: rep["summary"][k] for k in ("pupils", "routed", "unroutable")},
        "streets": sorted(
            (f["properties"]["name"], f["properties"]["pupils"])
            for f in rep["corridors"]["features"]
        ),
        "hotspots": sorted(
            (f["properties"]["hotspot_id"], f["properties"]["pupils"])
            for f in rep["hotspots"]["features"]
        ),
        "need_matrix": rep["need_matrix"],
        "cpu_s": round(cpu, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="a SQLite store (e.g. geosafe demo's)")
    ap.add_argument("--school", default="137531")
    ap.add_argument("--no-roll", action="store_true", help="drop the rolls (a copy)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for name, postcodes in (("postcodes (before)", True), ("published cells (now)", False)):
            db = Path(tmp) / f"{len(runs)}.db"  # a copy each: nothing cached between them
            shutil.copy(args.db, db)
            if args.no_roll:
                with sqlite3.connect(db) as conn:
                    conn.execute("DELETE FROM school_rolls")
            runs[name] = _outputs(str(db), args.school, postcodes=postcodes)
    (a_name, a), (b_name, b) = runs.items()
    for key in ("cells", "summary", "streets", "hotspots", "need_matrix"):
        same = a[key] == b[key]
        print(f"{key}: {'same' if same else 'differs'}")
        if not same:
            print(f"  {a_name}: {a[key]}")
            print(f"  {b_name}: {b[key]}")
    streets_a, streets_b = {s for s, _ in a["streets"]}, {s for s, _ in b["streets"]}
    print(
        f"street rows {len(a['streets'])} -> {len(b['streets'])}, names in both "
        f"{len(streets_a & streets_b)} of {len(streets_a)} / {len(streets_b)}; "
        f"CPU {a['cpu_s']} s -> {b['cpu_s']} s"
    )


if __name__ == "__main__":
    main()
