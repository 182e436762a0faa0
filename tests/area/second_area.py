"""A second area, different from the demo, built with ``geosafe area build`` from files made
from the bundled data (shared by the service tests and the browser test).

- boundary: three Enfield wards (Bowes, Southgate Green, Palmers Green) written as an ONS-style
  GeoJSON (``WD18CD``, ``WD18NM``) from the bundled 2018 wards; margin 300 m, so the street
  network is a clipped part of the demo extract and the school list is another one;
- streets: the bundled OSM XML converted to PBF with pyosmium;
- schools: the DfE GIAS establishment layout made from the bundled school list, plus one
  hand-written establishment (URN :data:`NEW_URN`) at a real Bowes postcode: the bundled list
  has no secondary school inside the street extract other than the seven demo schools, so a
  school that is not a demo school has to be written by hand;
- postcodes, GTFS, stops: the bundled Code-Point, estimated feed and TfL stop list.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd

from geosafe import datasets

#: The three Enfield wards of the second area (2018 GSS codes).
WARDS = {"E05000193": "Bowes", "E05000209": "Southgate Green", "E05000205": "Palmers Green"}
#: The hand-written school (not in the bundled list): at postcode N13 6JU, Bowes.
NEW_URN = "900101"
NEW_NAME = "Hand-made Bowes Secondary School"
NEW_EN = (531020, 191976)
MARGIN_M = 300.0

GIAS_HEADER = (
    "URN", "LA (code)", "LA (name)", "EstablishmentNumber", "EstablishmentName",
    "TypeOfEstablishment (name)", "EstablishmentStatus (name)", "PhaseOfEducation (name)",
    "StatutoryLowAge", "StatutoryHighAge", "Gender (name)", "NumberOfPupils", "Street",
    "Locality", "Town", "Postcode", "Easting", "Northing", "OfstedRating (name)",
)  # fmt: skip


def write_pbf(data_dir: Path, out: Path) -> Path:
    """The bundled OSM XML converted to PBF, object by object."""
    writer = osmium.SimpleWriter(str(out))
    try:
        for obj in osmium.FileProcessor(str(datasets.osm_path(data_dir))):
            writer.add(obj)
    finally:
        writer.close()
    return out


def write_boundary(data_dir: Path, out: Path) -> Path:
    """The three wards as ONS publishes ward boundaries (``WD18CD``, ``WD18NM``)."""
    wards = datasets.wards(data_dir)
    sel = wards[wards["gss_code"].isin(WARDS)]
    gdf = gpd.GeoDataFrame(
        {"WD18CD": sel["gss_code"].to_numpy(), "WD18NM": sel["name"].to_numpy()},
        geometry=sel.geometry.to_numpy(),
        crs=sel.crs,
    )
    gdf.to_file(out, driver="GeoJSON")
    return out


def write_gias(data_dir: Path, out: Path) -> Path:
    """The bundled schools in the GIAS establishment layout (Windows-1252, as published),
    plus the hand-written school :data:`NEW_URN`."""
    from pyproj import Transformer

    sch = pd.read_csv(data_dir / "schools" / "schools.csv", dtype=str, keep_default_na=False)
    e, n = Transformer.from_crs(4326, 27700, always_xy=True).transform(
        sch["longitude"].astype(float).to_numpy(), sch["latitude"].astype(float).to_numpy()
    )
    rows = []
    for (_, r), x, y in zip(sch.iterrows(), e, n, strict=True):
        low, _, high = r["age_range"].partition(" to ")
        rows.append(
            [
                r["urn"], "", r["borough"], "", r["name"], "Academy converter", "Open",
                "Secondary", low, high, r["gender"], r["pupils"], r["address"], "", "London",
                r["postcode"], f"{x:.0f}", f"{y:.0f}", r["ofsted_rating"],
            ]
        )  # fmt: skip
    rows.append(
        [
            NEW_URN, "308", "Enfield", "4999", NEW_NAME, "Free schools", "Open", "Secondary",
            "11", "18", "Mixed", "900", "1 Test Road", "Bowes Park", "London", "N13 6JU",
            str(NEW_EN[0]), str(NEW_EN[1]), "",
        ]
    )  # fmt: skip
    with out.open("w", newline="", encoding="cp1252") as fh:
        w = csv.writer(fh)
        w.writerow(GIAS_HEADER)
        w.writerows(rows)
    return out


def build(data_dir: Path, folder: Path) -> tuple[Path, dict[str, object]]:
    """Make the input files in ``folder/inputs`` and run ``geosafe area build`` into
    ``folder/area``; returns the area and the command's JSON line."""
    from geosafe.cli import main

    src = folder / "inputs"
    src.mkdir(parents=True, exist_ok=True)
    pbf = write_pbf(data_dir, src / "enfield-wards.osm.pbf")
    boundary = write_boundary(data_dir, src / "Wards_December_2018_Enfield_three.geojson")
    gias = write_gias(data_dir, src / "edubasealldata20250301.csv")
    gpkg = data_dir / "boundaries" / "boundaries.gpkg"
    area = folder / "area"
    argv = [
        "area", "build", "--out", str(area), "--osm", str(pbf), "--boundary", str(boundary),
        "--margin", str(MARGIN_M), "--schools", str(gias),
        "--postcodes", str(data_dir / "postcodes" / "codepoint_n_en.csv.gz"),
        "--gtfs", str(data_dir / "gtfs" / "demo_area_estimated"),
        "--stops", str(data_dir / "tfl" / "bus_stops.csv.gz"),
        "--wards", f"{gpkg}:wards_2018", "--lsoa", f"{gpkg}:lsoa_2021",
        "--lad", f"{gpkg}:boroughs", "--name", "Enfield: Bowes, Southgate Green, Palmers Green",
    ]  # fmt: skip
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(argv)
    if code != 0:
        raise RuntimeError(f"geosafe area build exited with {code}")
    return area, json.loads(buf.getvalue().strip().splitlines()[-1])


def roll_csv(area: Path, *, every: int = 3, radius_m: float = 1500.0) -> tuple[bytes, int]:
    """A roll for the hand-written school: every ``every``-th real Code-Point postcode of the
    area (inside the wards) within ``radius_m`` of it, 1-3 pupils each (seeded); returns the CSV and the pupils."""
    import shapely

    pcs = datasets.postcodes(area)
    d = np.hypot(pcs["easting"] - NEW_EN[0], pcs["northing"] - NEW_EN[1])
    inside = shapely.contains_xy(datasets.demo_area(area), pcs["easting"], pcs["northing"])
    chosen = pcs[(d <= radius_m) & inside].sort_index().iloc[::every]
    rng = np.random.default_rng(7)
    pupils = rng.integers(1, 4, len(chosen))
    lines = ["postcode,pupils"] + [
        f"{pc},{n}" for pc, n in zip(chosen["postcode"], pupils, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode(), int(pupils.sum())


def write_dir(area: Path, out: Path) -> Path:
    """Hand-made DIR rows at real bus stops inside the three wards, on school-run times of
    2025 term weeks (so the school-run exposure has incidents)."""
    from tests.access._demo import write_dir_csv

    return write_dir_csv(out, n=240, seed=3, data_dir=area, wards=tuple(WARDS))
