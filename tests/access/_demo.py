"""A small, seeded demo store for the end-to-end access tests.

Real police.uk burglaries (the last 12 bundled months) plus hand-made DIR and CRIS files:
incidents on school-run times at real demo-area bus stops, clustered so aggregated cells
pass suppression. Every free-text, ref and address field carries the marker ``CANARY`` so a
test can prove none of them ever reaches a non-analyst response.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np

from geosafe import datasets
from geosafe.ingest import import_file
from geosafe.store import Store

CANARY = "CANARY"
WARDS = ("E05000267", "E05000266")

#: Term-time school weeks of 2025 (Mondays) used for the synthetic rows.
_WEEKS = (
    [dt.date(2025, 1, 13) + dt.timedelta(weeks=w) for w in range(5)]
    + [dt.date(2025, 3, 3) + dt.timedelta(weeks=w) for w in range(3)]
    + [dt.date(2025, 9, 8) + dt.timedelta(weeks=w) for w in range(6)]
    + [dt.date(2025, 11, 3) + dt.timedelta(weeks=w) for w in range(5)]
)


def _stops_in_wards(data_dir: Path | None, wards_in: tuple[str, ...] = WARDS) -> gpd.GeoDataFrame:
    stops = datasets.bus_stops(data_dir)
    stops = stops[stops["in_demo_area"]]
    gdf = gpd.GeoDataFrame(
        stops,
        geometry=gpd.points_from_xy(stops["Location_Easting"], stops["Location_Northing"]),
        crs=27700,
    )
    wards = datasets.wards(data_dir)
    area = wards[wards["gss_code"].isin(wards_in)].union_all()
    return gdf[gdf.within(area)].sort_values("Naptan_Atco")


def write_dir_csv(
    path: Path,
    *,
    n: int = 360,
    seed: int = 11,
    data_dir: Path | None = None,
    wards: tuple[str, ...] = WARDS,
) -> Path:
    """DIR rows at six real stops of ``wards``, on school-run times of 2025 term weeks."""
    rng = np.random.default_rng(seed)
    stops = _stops_in_wards(data_dir, wards).iloc[::7].head(6)
    weights = np.array([0.3, 0.25, 0.2, 0.12, 0.08, 0.05])
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "dir_ref", "reported_at", "route", "direction", "operator", "stop_code",
                "latitude", "longitude", "cause_code", "youth_flag", "vulnerability_flag",
                "description",
            ]
        )  # fmt: skip
        for i in range(n):
            stop = stops.iloc[
                int(rng.choice(len(stops), p=weights[: len(stops)] / weights[: len(stops)].sum()))
            ]
            day = _WEEKS[int(rng.integers(len(_WEEKS)))] + dt.timedelta(days=int(rng.integers(5)))
            minute = int(
                rng.choice([rng.integers(8 * 60, 9 * 60), rng.integers(15 * 60, 17 * 60 + 30)])
            )
            when = dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
            w.writerow(
                [
                    f"{CANARY}-DIR-{i:04d}", when.strftime("%Y-%m-%d %H:%M"), "184", "1",
                    "Arriva London", stop["Naptan_Atco"], "", "", "ASB",
                    "Y", "N", f"{CANARY} pupil named in free text {i}",
                ]
            )  # fmt: skip
    return path


def write_cris_csv(
    path: Path, *, n: int = 60, seed: int = 12, data_dir: Path | None = None
) -> Path:
    """CRIS rows with exact BNG points, addresses, ages (all personal)."""
    rng = np.random.default_rng(seed)
    stops = _stops_in_wards(data_dir)
    centre = stops.geometry.iloc[len(stops) // 2]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "crn", "offence_code", "offence", "committed_from", "committed_to", "address",
                "postcode", "easting", "northing", "victim_age", "suspect_age", "flags",
            ]
        )  # fmt: skip
        for i in range(n):
            day = _WEEKS[int(rng.integers(len(_WEEKS)))] + dt.timedelta(days=int(rng.integers(5)))
            t0 = dt.datetime.combine(day, dt.time(15, int(rng.integers(0, 50))))
            w.writerow(
                [
                    f"{CANARY}{i:06d}", "ROB", f"{CANARY} robbery of phone",
                    t0.strftime("%Y-%m-%d %H:%M"), (t0 + dt.timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M"),
                    f"{i} {CANARY} Road", "", f"{centre.x + rng.normal(0, 60):.0f}",
                    f"{centre.y + rng.normal(0, 60):.0f}", "14", "15", "youth",
                ]
            )  # fmt: skip
    return path


#: Text, ref and personal fields of the synthetic ASIF and FAP rows marked with CANARY.
_MARK = {
    "asif": ("asif_ref", "description"),
    "fap": (
        "referral_id",
        "notes_peer_group",
        "notes_school",
        "notes_neighbourhood",
        "school_response",
    ),
}


def write_synth_csvs(
    folder: Path, *, seed: int = 5, data_dir: Path | None = None
) -> dict[str, Path]:
    """ASIF and FAP rows from :mod:`geosafe.synth` (clean, 12 months to 2025-11) with every
    ref and free-text field marked CANARY; FAP home postcodes listed in
    ``fap_home_postcodes.txt`` so tests can look for them in responses."""
    from geosafe.synth import COLUMNS, generate

    rows, _ = generate(seed=seed, months=12, end="2025-11", data_dir=data_dir, dirty=False)
    out = {}
    for source in ("asif", "fap"):
        path = folder / f"synth-{source}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(COLUMNS[source]), lineterminator="\n")
            w.writeheader()
            for rec in rows[source]:
                rec = dict(rec)
                for col in _MARK[source]:
                    rec[col] = (
                        f"{CANARY}-{rec[col]}"
                        if col.endswith(("_ref", "_id"))
                        else f"{rec[col]} ({CANARY})"
                    )
                w.writerow(rec)
        out[source] = path
    postcodes = sorted({r["home_postcode"] for r in rows["fap"] if r["home_postcode"]})
    (folder / "fap_home_postcodes.txt").write_text("\n".join(postcodes))
    return out


def build_store(folder: Path, *, data_dir: Path | None = None, police_months: int = 12) -> Path:
    """A store at ``folder/geosafe.db`` with police.uk, DIR, CRIS, ASIF and FAP incidents."""
    db = folder / "geosafe.db"
    store = Store(db)
    try:
        for f in datasets.police_files(data_dir)[-police_months:]:
            import_file(store, "police_uk", f)
        import_file(store, "dir", write_dir_csv(folder / "dir.csv", data_dir=data_dir))
        import_file(store, "cris", write_cris_csv(folder / "cris.csv", data_dir=data_dir))
        for source, path in write_synth_csvs(folder, data_dir=data_dir).items():
            import_file(store, source, path)
    finally:
        store.close()
    return db
