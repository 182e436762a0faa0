"""Build the bundled North London dataset in ``data/`` from ``../shared/data``.

Run once by the maintainers (the result is committed); kept so the bundle can be rebuilt:

    python scripts/bundle_data.py [--shared ../shared/data] [--out data]

The demo area is the extent of the shared OSM extract (lat 51.598-51.632, lon -0.158 to
-0.095): Bounds Green, Wood Green, New Southgate, Arnos Grove.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import logging
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from geosafe.area.inputs import SCHOOL_COLUMNS

log = logging.getLogger("bundle_data")

DEMO_BBOX_WGS84 = (-0.158, 51.598, -0.095, 51.632)  # lon_min, lat_min, lon_max, lat_max


def write_greater_london(gpkg: Path, boroughs: gpd.GeoDataFrame) -> None:
    """Add the union of the boroughs as its own layer (the default area of interest an
    import loads on every run: :func:`geosafe.datasets.greater_london`)."""
    from geosafe.datasets import GREATER_LONDON_LAYER

    whole = gpd.GeoDataFrame(
        {"name": ["Greater London"]},
        geometry=[boroughs.to_crs(27700).geometry.union_all()],
        crs=27700,
    )
    whole.to_file(gpkg, layer=GREATER_LONDON_LAYER, driver="GPKG")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--shared", type=Path, default=root.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=root / "data")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    src: Path = args.shared
    out: Path = args.out

    demo = gpd.GeoDataFrame(
        {"name": ["Bounds Green demo area"]}, geometry=[box(*DEMO_BBOX_WGS84)], crs=4326
    )
    demo_bng = demo.to_crs(27700)
    demo_poly = demo_bng.geometry.iloc[0]

    # Boundaries: one GeoPackage, several layers, EPSG:27700.
    bdir = out / "boundaries"
    bdir.mkdir(parents=True, exist_ok=True)
    gpkg = bdir / "boundaries.gpkg"
    gpkg.unlink(missing_ok=True)
    boroughs = gpd.read_file(src / "boundaries/london-2021-lad22-gen20.shp").rename(
        columns={"LAD22NM": "name", "LAD22CD": "gss_code"}
    )
    boroughs.to_file(gpkg, layer="boroughs", driver="GPKG")
    write_greater_london(gpkg, boroughs)
    wards = gpd.read_file(src / "boundaries/london_wards_2018.gpkg").rename(
        columns={
            "NAME": "name",
            "GSS_CODE": "gss_code",
            "DISTRICT": "borough",
            "LAGSSCODE": "borough_code",
        }
    )[["name", "gss_code", "borough", "borough_code", "geometry"]]
    wards["geometry"] = wards.geometry.simplify(5.0)
    wards.to_file(gpkg, layer="wards_2018", driver="GPKG")
    lsoa = gpd.read_file(src / "boundaries/london-2021-lsoa-gen20.shp")
    near = demo_poly.buffer(3000)
    lsoa = lsoa[lsoa.intersects(near)].rename(
        columns={
            "LSOA21CD": "lsoa_code",
            "LSOA21NM": "name",
            "LAD22CD": "borough_code",
            "LAD22NM": "borough",
        }
    )[["lsoa_code", "name", "borough_code", "borough", "geometry"]]
    lsoa.to_file(gpkg, layer="lsoa_2021", driver="GPKG")
    demo_bng.to_file(gpkg, layer="demo_area", driver="GPKG")
    log.info("boundaries: %d boroughs, %d wards, %d LSOAs", len(boroughs), len(wards), len(lsoa))

    # Parks (Historic England registered parks and gardens) near the demo area.
    parks = gpd.read_file(src / "parks/london_registered_parks_gardens.geojson")
    parks = parks.set_crs(27700, allow_override=True)
    parks = parks[parks.intersects(demo_poly.buffer(2000))][
        ["Name", "Grade", "AREA_HA", "geometry"]
    ]
    parks = parks.rename(columns={"Name": "name", "Grade": "grade", "AREA_HA": "area_ha"})
    (out / "parks").mkdir(exist_ok=True)
    parks.to_file(out / "parks/parks.gpkg", layer="parks", driver="GPKG")
    log.info("parks: %s", list(parks["name"]))

    # OSM: the demo extract, bz2-compressed (osmnx reads .osm.bz2 directly).
    (out / "osm").mkdir(exist_ok=True)
    with (
        open(src / "osm/bounds_green_highways.osm", "rb") as fin,
        bz2.open(out / "osm/bounds_green_highways.osm.bz2", "wb") as fout,
    ):
        shutil.copyfileobj(fin, fout)

    # TfL bus stops: all London stops (stop codes anywhere in London geocode), gzip.
    (out / "tfl").mkdir(exist_ok=True)
    stops = pd.read_csv(src / "tfl/bus-stops-2025.csv", dtype=str, encoding="utf-8-sig")
    e = pd.to_numeric(stops["Location_Easting"], errors="coerce")
    n = pd.to_numeric(stops["Location_Northing"], errors="coerce")
    minx, miny, maxx, maxy = demo_poly.buffer(500).bounds
    stops["in_demo_area"] = ((e >= minx) & (e <= maxx) & (n >= miny) & (n <= maxy)).astype(int)
    stops.to_csv(out / "tfl/bus_stops.csv.gz", index=False, compression="gzip")
    log.info("stops: %d (demo area %d)", len(stops), int(stops["in_demo_area"].sum()))

    # Route sequences of every route with a stop in the demo area.
    seq = pd.read_csv(src / "tfl/bus-sequences-2019.csv", dtype=str, encoding="utf-8-sig")
    seq["Naptan_Atco"] = seq["Naptan_Atco"].str.replace(r"\s+", "", regex=True)
    se = pd.to_numeric(seq["Location_Easting"], errors="coerce")
    sn = pd.to_numeric(seq["Location_Northing"], errors="coerce")
    bx = demo_poly.bounds
    inside = (se >= bx[0]) & (se <= bx[2]) & (sn >= bx[1]) & (sn <= bx[3])
    routes = sorted(seq.loc[inside, "Route"].unique())
    seq = seq[seq["Route"].isin(routes)]
    seq.to_csv(out / "tfl/bus_sequences.csv", index=False)
    log.info(
        "routes serving the demo area: %d (%s), %d sequence rows", len(routes), routes, len(seq)
    )

    # Schools: the north London secondary list, current URNs only (those in the KS4 list).
    (out / "schools").mkdir(exist_ok=True)
    sch = pd.read_csv(src / "schools/secondary_schools_north_london.csv", dtype={"URN": str})
    ks4 = pd.read_csv(src / "schools/ks4_school_info_2024.csv", dtype=str)
    ks4 = ks4[["school_urn", "full_address", "la_name", "t_pupils", "agerange", "egender"]]
    sch = sch.merge(ks4, left_on="URN", right_on="school_urn", how="inner").drop(
        columns="school_urn"
    )
    sch = sch.drop_duplicates("URN")
    sch["postcode"] = sch["full_address"].str.extract(r"([A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})\s*$")[0]
    lon_min, lat_min, lon_max, lat_max = DEMO_BBOX_WGS84
    sch["in_demo_area"] = (
        sch["Longitude"].between(lon_min, lon_max) & sch["Latitude"].between(lat_min, lat_max)
    ).astype(int)
    sch = sch.rename(
        columns={
            "EstablishmentName": "name",
            "URN": "urn",
            "Latitude": "latitude",
            "Longitude": "longitude",
            "Ofsted Rating": "ofsted_rating",
            "full_address": "address",
            "la_name": "borough",
            "t_pupils": "pupils",
            "agerange": "age_range",
            "egender": "gender",
        }
    )[[c for c in SCHOOL_COLUMNS if c != "phase"]]  # the bundle predates `phase`
    sch.to_csv(out / "schools/schools.csv", index=False)
    log.info(
        "schools: %d with current URNs, %d in the demo area: %s",
        len(sch),
        int(sch["in_demo_area"].sum()),
        list(sch.loc[sch["in_demo_area"] == 1, "name"]),
    )

    # Postcodes: Code-Point Open (2014) areas N and EN, with a header row.
    (out / "postcodes").mkdir(exist_ok=True)
    cols = [
        "postcode",
        "quality",
        "easting",
        "northing",
        "country",
        "nhs_region",
        "nhs_ha",
        "county",
        "district",
        "ward",
    ]
    pcs = pd.concat(
        [
            pd.read_csv(src / f"postcodes/{a}.csv", header=None, names=cols, dtype=str)
            for a in ("n", "en")
        ]
    )
    pcs = pcs[["postcode", "quality", "easting", "northing", "district", "ward"]]
    pcs.to_csv(out / "postcodes/codepoint_n_en.csv.gz", index=False, compression="gzip")
    log.info("postcodes: %d", len(pcs))

    # police.uk burglary: every month, rows inside the demo area, plus the rows with no
    # location whose LSOA lies in the demo area; original columns, one file per month.
    pdir = out / "police"
    pdir.mkdir(exist_ok=True)
    demo_lsoas = set(lsoa.loc[lsoa.intersects(demo_poly), "lsoa_code"])
    total = 0
    for f in sorted((src / "police/met_burglary_north_london").glob("*.csv.gz")):
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        lon = pd.to_numeric(df["Longitude"], errors="coerce")
        lat = pd.to_numeric(df["Latitude"], errors="coerce")
        keep = (lon.between(lon_min, lon_max) & lat.between(lat_min, lat_max)) | (
            lon.isna() & df["LSOA code"].isin(demo_lsoas)
        )
        with gzip.open(pdir / f.name, "wt", encoding="utf-8", newline="") as fh:
            df[keep].to_csv(fh, index=False)
        total += int(keep.sum())
    log.info("police.uk: %d rows over the demo area", total)


if __name__ == "__main__":
    main()
