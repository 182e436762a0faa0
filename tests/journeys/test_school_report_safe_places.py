"""Safe places in the school report and the journeys' GeoJSON (issue 13 item 4): a place at
the school gate open 08:00-09:00 on weekdays is passed by every walk, open in the morning and
closed when the pupils leave at 15:15; a place 5 km away is passed by none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ._fixtures import SCHOOL, school_reports, section


def test_school_report_counts_safe_places_open_when_passed(
    tmp_path: Path, report_store: tuple[Path, Any]
) -> None:
    from geosafe.cli import main

    db, gate = report_store
    lst = tmp_path / "safe.csv"
    lst.write_text(
        "name,kind,easting,northing,opening_hours\n"
        f"Gate <b>Club</b>,youth club,{gate.x:.1f},{gate.y:.1f},Mo-Fr 08:00-09:00\n"
        f"Far Club,youth club,{gate.x + 5000:.1f},{gate.y:.1f},24/7\n"
    )
    assert main(["safe-places", "import", "--db", str(db), "--csv", str(lst)]) == 0
    page, spage = school_reports(db, tmp_path)
    ours = section(page, "Safe places along the routes")
    assert "Gate &lt;b&gt;Club&lt;/b&gt;" in ours and "Far Club" not in ours  # escaped
    rows = [r for r in ours.split("<tr>")[2:]]
    morning = next(r for r in rows if "<td>morning</td>" in r)
    afternoon = next(r for r in rows if "<td>afternoon</td>" in r)
    assert "<td>open</td>" in morning and "<td>closed</td>" in afternoon
    assert "a median of 1 safe place(s) open" in ours  # morning: every walk passes it open
    assert "a median of 0 safe place(s) open" in ours  # afternoon: closed at 15:15
    assert 'fill="#2e7d32"' in page  # drawn on the map
    # the school's view: pupil counts suppressed or rounded to 5, like every other count
    ssec = section(spage, "Safe places along the routes")
    cells = [c.split("</td>")[0] for c in ssec.split("<td>")[1:]]
    numbers = [c.replace(",", "") for c in cells if c.replace(",", "").isdigit()]
    assert numbers and all(int(n) == 0 or (int(n) % 5 == 0 and int(n) >= 10) for n in numbers)
    # a journey's own report says how many it passes
    out = tmp_path / "j.geojson"
    assert (
        main(
            [
                "journeys",
                "--mode",
                "walk",
                "--school",
                SCHOOL,
                "--db",
                str(db),
                "--from-store",
                "--arrive-by",
                "08:45",
                "--date",
                "2025-03-04",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    feats = [f for f in json.loads(out.read_text())["features"] if f["geometry"]]
    assert feats and all(f["properties"]["passes_safe_places"] == 1 for f in feats)
    assert feats[0]["properties"]["safe_places"][0]["name"] == "Gate <b>Club</b>"
