"""What the journeys tests share: the school, the folder of their data, a small store
imported through the CLI, and the two school reports (analyst and school) over it."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pyproj import Transformer

from geosafe import datasets
from geosafe.sources.fap import FLAG_COLUMNS

HERE = Path(__file__).resolve().parent
SCHOOL = "137531"  # Alexandra Park School
MINI_GTFS = ["--gtfs", str(HERE / "data" / "mini_gtfs")]


def build_store(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """A small store imported through the ingest CLI: 12 FAP referrals and 40 DIR reports."""
    from geosafe.cli import main

    school = datasets.schools().set_index("urn").loc[SCHOOL].geometry
    pcs = datasets.postcodes()
    d = np.hypot(pcs["easting"] - school.x, pcs["northing"] - school.y)
    near = pcs[(d > 300) & (d < 1200)].sort_values("postcode")["postcode"].head(4).tolist()
    flags = ["flag_cse", "flag_serious_youth_violence", "flag_gangs", "flag_missing_home"]
    fap = [
        "referral_id,referral_date,school_urn,year_group,gender,ethnicity,home_postcode,ward,"
        + ",".join(FLAG_COLUMNS)
        + ",notes_peer_group,notes_school,notes_neighbourhood,school_response"
    ]
    expected = dict.fromkeys(["cse", "serious_youth_violence", "gangs", "missing_home"], 0)
    for i in range(12):
        on = {flags[i % 4], flags[(i + 1) % 4]} if i < 8 else {flags[0]}
        for f in on:
            expected[f.removeprefix("flag_")] += 1
        cells = ["Y" if c in on else "N" for c in FLAG_COLUMNS]
        fap.append(
            f"T-FAP-{i:03d},2025-02-{i + 3:02d},{SCHOOL},9,F,WBRI,{near[i % 4]},,"
            + ",".join(cells)
            + ",,,,"
        )
    (tmp_path / "fap.csv").write_text("\n".join(fap) + "\n")
    tr = Transformer.from_crs(27700, 4326, always_xy=True)
    rng = np.random.default_rng(0)
    rows = [
        "dir_ref,reported_at,route,direction,operator,stop_code,latitude,longitude,cause_code,"
        "youth_flag,vulnerability_flag,description"
    ]
    for i in range(40):
        lon, lat = tr.transform(school.x + rng.normal(0, 120), school.y + rng.normal(0, 120))
        day = 3 + (i % 5)
        rows.append(
            f"T-DIR-{i:03d},2025-03-{day:02d} 08:{10 + i % 40:02d},W3,1,Arriva,,"
            f"{lat:.6f},{lon:.6f},ASB,Y,N,test"
        )
    (tmp_path / "dir.csv").write_text("\n".join(rows) + "\n")
    db = tmp_path / "store.db"
    for source in ("fap", "dir"):
        assert main(["import", source, str(tmp_path / f"{source}.csv"), "--db", str(db)]) == 0
    expected["all_referrals"] = 12
    return db, expected


def school_reports(db: Path, out: Path, *extra: str) -> tuple[str, str]:
    """``geosafe school-report`` of :data:`SCHOOL` over ``db`` (the mini GTFS feed) for the
    analyst (``out/a``) and the school (``out/s``): the two pages."""
    from geosafe.cli import main

    argv = ["school-report", "--school", SCHOOL, "--db", str(db), *MINI_GTFS, *extra]
    try:
        assert main([*argv, "--out", str(out / "a")]) == 0
        assert main([*argv, "--out", str(out / "s"), "--role", "school"]) == 0
    finally:
        logging.captureWarnings(False)  # main() routes warnings to logging
    return (out / "a" / "report.html").read_text(), (out / "s" / "report.html").read_text()


def section(page: str, title: str) -> str:
    """The part of a report page under the heading ``title``, up to the next heading."""
    return page.split(f"<h2>{title}</h2>", 1)[1].split("<h2>", 1)[0]
