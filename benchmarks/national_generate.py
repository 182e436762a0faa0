"""Generate a national-size police.uk data set in the bulk download's archive layout.

What it is
----------
The real North London police.uk months in ``../shared/data/police/met_burglary_north_london``
(Metropolitan Police burglaries in Barnet, Camden, Enfield, Haringey, Hackney and Islington,
2010-12 to 2024-02: 159 months, 219,552 rows) **replicated onto the areas of the 43 police
forces of England and Wales**. Each force gets ``copies`` copies of every month (2, and 3
for the six largest forces, so 92 copies: 20.2 million rows); copy ``k`` of force ``f`` is
the original rows with

- longitude and latitude shifted by a fixed offset that moves the six boroughs' centre
  (51.58 N, 0.12 W) onto the force's approximate centre (:data:`FORCES`), the copies of one
  force side by side 0.32° of longitude apart (the boroughs span about 0.3°);
- fresh Crime IDs: SHA-256 of ``force:copy:original id`` (64 hex digits, like police.uk's);
  blank ids (none in this file) stay blank;
- ``Reported by`` / ``Falls within`` set to the force's name; everything else (month,
  location text, LSOA, crime type, outcome) as published.

So within a force the crimes keep the real data's spatial pattern, month-to-month
recurrence of map points and outcome updates; the counts per force are not the forces' real
counts. Output: ``OUT/YYYY-MM/YYYY-MM-<force>-street.csv``, plus an area of interest covering
England and Wales (``OUT/england_and_wales.geojson``, a generous box: pass it as ``--aoi``).

Usage::

    python benchmarks/national_generate.py OUT [--copies-scale 1.0] [--months 2023-01,...]

``--copies-scale 0.05`` keeps one copy for a few forces only (development sizes);
``--last-months N`` keeps the last N months.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import shared_data

log = logging.getLogger("national_generate")

#: The 43 territorial forces of England and Wales (file-name slug, name, approximate centre
#: latitude, longitude).
FORCES: tuple[tuple[str, str, float, float], ...] = (
    ("avon-and-somerset", "Avon and Somerset Constabulary", 51.35, -2.75),
    ("bedfordshire", "Bedfordshire Police", 52.05, -0.45),
    ("cambridgeshire", "Cambridgeshire Constabulary", 52.35, 0.05),
    ("cheshire", "Cheshire Constabulary", 53.20, -2.55),
    ("city-of-london", "City of London Police", 51.515, -0.09),
    ("cleveland", "Cleveland Police", 54.57, -1.20),
    ("cumbria", "Cumbria Constabulary", 54.55, -3.00),
    ("derbyshire", "Derbyshire Constabulary", 53.05, -1.55),
    ("devon-and-cornwall", "Devon & Cornwall Police", 50.55, -4.20),
    ("dorset", "Dorset Police", 50.80, -2.30),
    ("durham", "Durham Constabulary", 54.70, -1.75),
    ("dyfed-powys", "Dyfed-Powys Police", 52.20, -3.90),
    ("essex", "Essex Police", 51.80, 0.55),
    ("gloucestershire", "Gloucestershire Constabulary", 51.85, -2.20),
    ("greater-manchester", "Greater Manchester Police", 53.50, -2.30),
    ("gwent", "Gwent Police", 51.70, -3.05),
    ("hampshire", "Hampshire Constabulary", 51.00, -1.30),
    ("hertfordshire", "Hertfordshire Constabulary", 51.80, -0.25),
    ("humberside", "Humberside Police", 53.75, -0.50),
    ("kent", "Kent Police", 51.20, 0.75),
    ("lancashire", "Lancashire Constabulary", 53.85, -2.60),
    ("leicestershire", "Leicestershire Police", 52.65, -1.10),
    ("lincolnshire", "Lincolnshire Police", 53.10, -0.25),
    ("merseyside", "Merseyside Police", 53.42, -2.95),
    ("metropolitan", "Metropolitan Police Service", 51.50, -0.12),
    ("norfolk", "Norfolk Constabulary", 52.65, 1.00),
    ("north-wales", "North Wales Police", 53.05, -3.60),
    ("north-yorkshire", "North Yorkshire Police", 54.15, -1.30),
    ("northamptonshire", "Northamptonshire Police", 52.30, -0.90),
    ("northumbria", "Northumbria Police", 55.05, -1.70),
    ("nottinghamshire", "Nottinghamshire Police", 53.10, -1.00),
    ("south-wales", "South Wales Police", 51.60, -3.50),
    ("south-yorkshire", "South Yorkshire Police", 53.45, -1.35),
    ("staffordshire", "Staffordshire Police", 52.85, -2.05),
    ("suffolk", "Suffolk Constabulary", 52.20, 1.00),
    ("surrey", "Surrey Police", 51.25, -0.40),
    ("sussex", "Sussex Police", 50.95, -0.30),
    ("thames-valley", "Thames Valley Police", 51.70, -1.10),
    ("warwickshire", "Warwickshire Police", 52.30, -1.55),
    ("west-mercia", "West Mercia Police", 52.40, -2.60),
    ("west-midlands", "West Midlands Police", 52.48, -1.90),
    ("west-yorkshire", "West Yorkshire Police", 53.75, -1.60),
    ("wiltshire", "Wiltshire Police", 51.30, -1.90),
)
#: Forces given a third copy (the largest by recorded crime).
LARGE = (
    "metropolitan",
    "greater-manchester",
    "west-midlands",
    "west-yorkshire",
    "thames-valley",
    "merseyside",
)
#: Centre of the six boroughs of the source data.
SOURCE_CENTRE = (51.58, -0.12)
COPY_STEP_LON = 0.32
#: England and Wales with a margin, WGS84 (lon_min, lat_min, lon_max, lat_max).
EW_BOX = (-6.6, 49.8, 2.1, 56.0)


def _copies(scale: float) -> dict[str, int]:
    full = {slug: (3 if slug in LARGE else 2) for slug, *_ in FORCES}
    if scale >= 1:
        return full
    keep = max(1, math.ceil(len(FORCES) * scale))
    return {slug: 1 for slug, *_ in FORCES[:keep]}


def _fresh_ids(ids: np.ndarray, force: str, copy: int) -> np.ndarray:
    prefix = f"{force}:{copy}:"
    return np.array(
        [hashlib.sha256((prefix + i).encode()).hexdigest() if i else "" for i in ids], dtype=object
    )


def generate(
    out: Path, *, scale: float = 1.0, months: list[str] | None = None, last: int | None = None
) -> dict[str, object]:
    """Write the archive under ``out``; return a summary (rows, files, forces, months)."""
    src_dir = shared_data() / "police" / "met_burglary_north_london"
    files = sorted(src_dir.glob("*-metropolitan-street.csv.gz"))
    if not files:
        raise SystemExit(f"no source files in {src_dir}; see shared/data/README.md")
    if months:
        files = [f for f in files if f.name[:7] in set(months)]
    if last:
        files = files[-last:]
    copies = _copies(scale)
    names = {slug: (name, lat, lon) for slug, name, lat, lon in FORCES}
    out.mkdir(parents=True, exist_ok=True)
    rows = nfiles = 0
    t0 = time.perf_counter()
    for f in files:
        month = f.name[:7]
        src = pd.read_csv(f, dtype=str, keep_default_na=False)
        lon = src["Longitude"].to_numpy()
        lat = src["Latitude"].to_numpy()
        located = (lon != "") & (lat != "")
        lonf = np.where(located, lon, "nan").astype(float)
        latf = np.where(located, lat, "nan").astype(float)
        mdir = out / month
        mdir.mkdir(exist_ok=True)
        for slug, n in copies.items():
            name, clat, clon = names[slug]
            parts = []
            for k in range(n):
                df = src.copy()
                dlon = clon - SOURCE_CENTRE[1] + (k - (n - 1) / 2) * COPY_STEP_LON
                dlat = clat - SOURCE_CENTRE[0]
                df["Crime ID"] = _fresh_ids(src["Crime ID"].to_numpy(), slug, k)
                df["Longitude"] = np.where(located, np.char.mod("%.6f", lonf + dlon), "")
                df["Latitude"] = np.where(located, np.char.mod("%.6f", latf + dlat), "")
                df["Reported by"] = name
                df["Falls within"] = name
                parts.append(df)
            frame = pd.concat(parts, ignore_index=True)
            frame.to_csv(mdir / f"{month}-{slug}-street.csv", index=False)
            rows += len(frame)
            nfiles += 1
        log.info("%s: %d rows so far (%.0f s)", month, rows, time.perf_counter() - t0)
    x0, y0, x1, y1 = EW_BOX
    aoi = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "England and Wales (box with a margin)"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
                },
            }
        ],
    }
    (out / "england_and_wales.geojson").write_text(json.dumps(aoi))
    summary = {
        "rows": rows,
        "files": nfiles,
        "forces": len(copies),
        "copies": sum(copies.values()),
        "months": len(files),
        "seconds": round(time.perf_counter() - t0, 1),
        "out": str(out),
    }
    (out / "GENERATED.json").write_text(json.dumps(summary, indent=2))
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--copies-scale", type=float, default=1.0)
    ap.add_argument("--months", type=lambda s: s.split(","), default=None)
    ap.add_argument("--last-months", type=int, default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    print(
        json.dumps(
            generate(args.out, scale=args.copies_scale, months=args.months, last=args.last_months),
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
