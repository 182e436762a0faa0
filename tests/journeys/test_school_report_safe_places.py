"""Safe places in the school report and the journeys' GeoJSON (issue 13 item 4): a place at
the school gate open 08:00-09:00 on weekdays is passed by every walk, open in the morning and
closed when the pupils leave at 15:15; a place 5 km away is passed by none."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from geosafe import datasets

from .test_journeys import HERE, SCHOOL, _build_store


def test_school_report_counts_safe_places_open_when_passed(
    tmp_path: Path, walk_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geosafe.cli import main

    monkeypatch.setenv("GEOSAFE_CACHE_DIR", str(walk_cache))
    db, _ = _build_store(tmp_path)
    gate = datasets.schools().set_index("urn").loc[SCHOOL].geometry
    lst = tmp_path / "safe.csv"
    lst.write_text(
        "name,kind,easting,northing,opening_hours\n"
        f"Gate <b>Club</b>,youth club,{gate.x:.1f},{gate.y:.1f},Mo-Fr 08:00-09:00\n"
        f"Far Club,youth club,{gate.x + 5000:.1f},{gate.y:.1f},24/7\n"
    )
    assert main(["safe-places", "import", "--db", str(db), "--csv", str(lst)]) == 0
    gtfs = ["--gtfs", str(HERE / "data" / "mini_gtfs")]
    out_a, out_s = tmp_path / "a", tmp_path / "s"
    try:
        argv = ["school-report", "--school", SCHOOL, "--db", str(db), *gtfs]
        assert main([*argv, "--out", str(out_a)]) == 0
        assert main([*argv, "--out", str(out_s), "--role", "school"]) == 0
    finally:
        logging.captureWarnings(False)
    page = (out_a / "report.html").read_text()
    section = page.split("<h2>Safe places along the routes</h2>", 1)[1].split("<h2>", 1)[0]
    assert "Gate &lt;b&gt;Club&lt;/b&gt;" in section and "Far Club" not in section  # escaped
    rows = [r for r in section.split("<tr>")[2:]]
    morning = next(r for r in rows if "<td>morning</td>" in r)
    afternoon = next(r for r in rows if "<td>afternoon</td>" in r)
    assert "<td>open</td>" in morning and "<td>closed</td>" in afternoon
    assert "a median of 1 safe place(s) open" in section  # morning: every walk passes it open
    assert "a median of 0 safe place(s) open" in section  # afternoon: closed at 15:15
    assert 'fill="#2e7d32"' in page  # drawn on the map
    # the school's view: pupil counts suppressed or rounded to 5, like every other count
    spage = (out_s / "report.html").read_text()
    ssec = spage.split("<h2>Safe places along the routes</h2>", 1)[1].split("<h2>", 1)[0]
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
