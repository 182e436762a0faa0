"""Check on a demo store: the top hotspot's place report names the schools whose walking
corridors cross it, with the pupils of each school's report (`hotspots` table).

    python benchmarks/places_demo_check.py /tmp/places_demo/geosafe.db
"""

from __future__ import annotations

import sys
from pathlib import Path

from geosafe import datasets
from geosafe.publish.catalogue import AnalysisParams
from geosafe.publish.corridors import _report, exposure_model, school_journeys
from geosafe.publish.service import LayerService
from geosafe.risk.place_lookup import build_place_report
from geosafe.settings import default_data_dir
from geosafe.store import Store


def main(db: str) -> int:
    svc = LayerService(default_data_dir(), Store(Path(db)), store_path=Path(db))
    params = AnalysisParams()
    top = exposure_model(svc, params).hotspots[0].hotspot_id
    doc = build_place_report(svc, hotspot=top, modes=("walk",), windows=("morning",))
    got = {s["school_urn"]: s["pupils"] for s in doc["schools"]}
    want = {}
    for urn in sorted(datasets.schools(svc.data_dir, demo_only=True)["urn"].astype(str)):
        js = school_journeys(svc, urn, params)
        if not js:
            continue
        hs = _report(svc, urn, params, js, "analyst").hotspots
        row = hs[hs["hotspot_id"] == top]
        if len(row):
            want[urn] = int(row["pupils"].iloc[0])
    print(f"hotspot {top}")
    print(f"{'school':<8} {'place-report':>12} {'school report':>13}")
    for urn in sorted(set(got) | set(want)):
        print(f"{urn:<8} {got.get(urn, 0):>12} {want.get(urn, 0):>13}")
    same = got == want
    print("MATCH" if same else "MISMATCH")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
