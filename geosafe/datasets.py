"""Loaders for the bundled North London dataset in ``data/`` (see ``data/README.md``).

Every loader takes ``data_dir`` (default: the bundled ``data/``) and caches its result, so
repeated calls are cheap. Geometries are EPSG:27700 unless a name says ``wgs84``.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from shapely.geometry.base import BaseGeometry

from ._errors import ConfigurationError
from ._paths import default_data_dir
from .incident import CRS_BNG

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

log = logging.getLogger(__name__)

#: The layer of ``boundaries.gpkg`` holding the union of the boroughs (one feature).
GREATER_LONDON_LAYER = "greater_london"

__all__ = [
    "boroughs",
    "bus_sequences",
    "bus_stops",
    "demo_area",
    "greater_london",
    "gtfs_dir",
    "lsoas",
    "osm_path",
    "parks",
    "police_files",
    "postcodes",
    "schools",
    "wards",
]


def _dir(data_dir: Path | str | None) -> Path:
    return Path(data_dir) if data_dir is not None else default_data_dir()


def _need(path: Path) -> Path:
    if not path.exists():
        # an area folder (``geosafe area build``) without this file: the bundled one
        for parent in path.parents:
            if (parent / "area.json").is_file():
                bundled = Path(__file__).resolve().parent.parent / "data" / path.relative_to(parent)
                if bundled.exists():
                    log.info("area %s has no %s; using the bundled file", parent, bundled.name)
                    return bundled
                break
        msg = (
            f"bundled data file {str(path)!r} is missing; restore `data/` from the repository "
            "or rebuild it with `python scripts/bundle_data.py`."
        )
        raise ConfigurationError(msg)
    return path


@functools.cache
def _layer(data_dir: Path, layer: str) -> gpd.GeoDataFrame:
    return _read_gpkg(_need(data_dir / "boundaries" / "boundaries.gpkg"), layer)


def _read_gpkg(path: Path, layer: str) -> gpd.GeoDataFrame:
    """A GeoPackage layer in EPSG:27700: read with sqlite3 and shapely when it is stored in
    EPSG:27700 (GDAL, ~50 MB resident in a server, is then never loaded), else by GDAL."""
    import geopandas as gpd

    frame = _gpkg_frame(path, layer)
    if frame is None:
        return gpd.read_file(path, layer=layer).to_crs(CRS_BNG)
    return frame


def _gpkg_frame(path: Path, layer: str) -> gpd.GeoDataFrame | None:
    """The features of a GeoPackage layer stored in EPSG:27700 as GDAL reads them (fid
    order; the attribute columns in table order, the geometry as ``geometry``); ``None``
    when it is stored in another CRS."""
    import sqlite3

    import geopandas as gpd
    import pandas as pd

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = con.execute(
            "SELECT srs_id, column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
        ).fetchone()
        if row is None or row[0] != 27700:
            return None
        column = row[1]
        info = con.execute(f'PRAGMA table_info("{layer}")').fetchall()
        key = next((c[1] for c in info if c[5]), None)  # the fid
        fields = [(c[1], c[2].upper()) for c in info if c[1] not in (key, column)]
        names = ", ".join(f'"{name}"' for name, _ in [(column, ""), *fields])
        order = f' ORDER BY "{key}"' if key else ""
        rows = con.execute(f'SELECT {names} FROM "{layer}"{order}').fetchall()
    finally:
        con.close()
    geoms = []
    for blob, *_ in rows:
        geom = None if blob is None else _gpkg_geometry(bytes(blob))
        if geom is False:
            return None
        geoms.append(geom)
    data = {}
    for k, (name, kind) in enumerate(fields, start=1):
        real = kind in ("REAL", "DOUBLE", "FLOAT")
        data[name] = pd.Series([r[k] for r in rows], dtype="float64" if real else None)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=CRS_BNG), crs=CRS_BNG)


def _gpkg_geometry(blob: bytes) -> BaseGeometry | bool | None:
    """A GeoPackage geometry blob as a shapely geometry (``False``: not in EPSG:27700)."""
    import struct

    import shapely

    # b"GP", version, flags (bit 0: little-endian; bits 1-3: envelope kind), srs_id, envelope
    flags = blob[3]
    envelope = (0, 32, 48, 48, 64)[(flags >> 1) & 0b111]
    (srs_id,) = struct.unpack("<i" if flags & 1 else ">i", blob[4:8])
    if srs_id != 27700:
        return False
    return shapely.from_wkb(blob[8 + envelope :])


def boroughs(data_dir: Path | str | None = None) -> gpd.GeoDataFrame:
    """The 33 London boroughs (2021, generalised): ``name``, ``gss_code``."""
    return _layer(_dir(data_dir), "boroughs").copy()


def wards(data_dir: Path | str | None = None) -> gpd.GeoDataFrame:
    """The 657 London wards of 2018 (GLA): ``name``, ``gss_code``, ``borough``, ``borough_code``."""
    return _layer(_dir(data_dir), "wards_2018").copy()


def lsoas(data_dir: Path | str | None = None) -> gpd.GeoDataFrame:
    """2021 LSOAs within 3 km of the demo area: ``lsoa_code``, ``name``, ``borough``."""
    return _layer(_dir(data_dir), "lsoa_2021").copy()


def demo_area(data_dir: Path | str | None = None) -> BaseGeometry:
    """The demo area polygon (EPSG:27700)."""
    return _layer(_dir(data_dir), "demo_area").geometry.iloc[0]


@functools.cache
def _greater_london(data_dir: Path) -> BaseGeometry:
    import shapely

    path = _need(data_dir / "boundaries" / "boundaries.gpkg")
    # the union stored beside the boroughs (scripts/bundle_data.py): an import's default area
    # without a union of 33 outlines on every run (~20 ms)
    whole = _gpkg_geometries(path, GREATER_LONDON_LAYER)
    if whole is not None and len(whole) == 1:
        return whole[0]
    geoms = _gpkg_geometries(path, "boroughs")
    if geoms is None:  # not stored in EPSG:27700: let GDAL reproject
        return _layer(data_dir, "boroughs").geometry.union_all()
    return shapely.union_all(geoms)


def _gpkg_geometries(path: Path, layer: str) -> list[BaseGeometry] | None:
    """The geometries of a GeoPackage layer stored in EPSG:27700, read with sqlite3 alone
    (no GDAL, no geopandas: an import's area of interest loads in milliseconds); ``None``
    when the layer is stored in another CRS or missing."""
    import sqlite3

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        found = con.execute(
            "SELECT srs_id, column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
        ).fetchone()
        if found is None:  # no such layer
            return None
        srs, column = found
        if srs != 27700:
            return None
        blobs = [r[0] for r in con.execute(f'SELECT "{column}" FROM "{layer}"')]
    finally:
        con.close()
    out = []
    for blob in blobs:
        geom = _gpkg_geometry(bytes(blob))
        if geom is False or geom is None:
            return None
        out.append(geom)
    return out


def greater_london(data_dir: Path | str | None = None) -> BaseGeometry:
    """Union of the borough boundaries (EPSG:27700): the default area of interest."""
    return _greater_london(_dir(data_dir))


@functools.cache
def _parks(data_dir: Path) -> gpd.GeoDataFrame:
    return _read_gpkg(_need(data_dir / "parks" / "parks.gpkg"), "parks")


def parks(data_dir: Path | str | None = None) -> gpd.GeoDataFrame:
    """Registered parks and gardens near the demo area: ``name``, ``grade``, ``area_ha``."""
    return _parks(_dir(data_dir)).copy()


def _read_bus_stops(data_dir: Path) -> pd.DataFrame:
    import pandas as pd

    df = pd.read_csv(_need(data_dir / "tfl" / "bus_stops.csv.gz"), dtype=str, keep_default_na=False)
    for col in ("Location_Easting", "Location_Northing"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    df["in_demo_area"] = df["in_demo_area"] == "1"
    return df


@functools.cache
def _bus_stops(data_dir: Path, demo_only: bool) -> pd.DataFrame:
    if demo_only:  # the full London list (20,000 stops, ~11 MB) is not kept for 345 rows
        df = _read_bus_stops(data_dir)
        return df[df["in_demo_area"]].copy()
    return _read_bus_stops(data_dir)


def bus_stops(data_dir: Path | str | None = None, *, demo_only: bool = False) -> pd.DataFrame:
    """TfL bus stops (2025): ``Stop_Code_LBSL``, ``Naptan_Atco``, ``Stop_Name``,
    ``Location_Easting``/``Location_Northing`` (BNG metres; some are 0,0 in TfL's own list),
    ``Heading``, ``in_demo_area``; ``demo_only``: the rows with ``in_demo_area`` (their index
    kept), all a server reads."""
    return _bus_stops(_dir(data_dir), demo_only).copy()


@functools.cache
def _bus_sequences(data_dir: Path) -> pd.DataFrame:
    import pandas as pd

    df = pd.read_csv(
        _need(data_dir / "tfl" / "bus_sequences.csv"), dtype=str, keep_default_na=False
    )
    for col in ("Run", "Sequence", "Location_Easting", "Location_Northing"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    return df


def bus_sequences(data_dir: Path | str | None = None) -> pd.DataFrame:
    """TfL stop sequences (2019) of the routes serving the demo area: ``Route``, ``Run``
    (direction 1 or 2), ``Sequence``, stop codes, name and BNG position."""
    return _bus_sequences(_dir(data_dir)).copy()


@functools.cache
def _schools(data_dir: Path) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import pandas as pd

    df = pd.read_csv(_need(data_dir / "schools" / "schools.csv"), dtype={"urn": str, "pupils": str})
    df["in_demo_area"] = df["in_demo_area"] == 1
    gdf = gpd.GeoDataFrame(
        df, geometry=gpd.points_from_xy(df["longitude"], df["latitude"]), crs=4326
    )
    return gdf.to_crs(CRS_BNG)


def schools(data_dir: Path | str | None = None, *, demo_only: bool = False) -> gpd.GeoDataFrame:
    """Secondary schools of north London under their current URNs: ``urn`` (text),
    ``name``, ``latitude``, ``longitude``, ``address``, ``postcode``, ``in_demo_area``."""
    gdf = _schools(_dir(data_dir))
    return (gdf[gdf["in_demo_area"]] if demo_only else gdf).copy()


@functools.cache
def _postcodes(data_dir: Path) -> pd.DataFrame:
    # the bundled Code-Point extract, or an area's table (from ONSPD or Code-Point)
    import pandas as pd

    found = sorted((data_dir / "postcodes").glob("*.csv.gz"))
    src = found[0] if found else data_dir / "postcodes" / "codepoint_n_en.csv.gz"
    df = pd.read_csv(_need(src), dtype=str)
    df["easting"] = df["easting"].astype(float)
    df["northing"] = df["northing"].astype(float)
    df["key"] = df["postcode"].str.replace(" ", "", regex=False).str.upper()
    return df.set_index("key")


def postcodes(data_dir: Path | str | None = None) -> pd.DataFrame:
    """Code-Point Open (2014) centroids for postcode areas N and EN, indexed by the postcode
    without spaces (``"N227AY"``): ``postcode``, ``quality``, ``easting``, ``northing``,
    ``district``, ``ward`` (GSS codes)."""
    return _postcodes(_dir(data_dir))


def osm_path(data_dir: Path | str | None = None) -> Path:
    """The OSM XML extract (highways): an area's ``osm/streets.osm.bz2``, else the bundled
    demo-area extract (bz2-compressed)."""
    streets = _dir(data_dir) / "osm" / "streets.osm.bz2"
    if streets.exists():
        return streets
    return _need(_dir(data_dir) / "osm" / "bounds_green_highways.osm.bz2")


def police_files(data_dir: Path | str | None = None) -> list[Path]:
    """The monthly police.uk burglary files of the demo area, oldest first (an area folder
    without its own ``police/`` uses the bundled ones)."""
    folder = _dir(data_dir) / "police"
    if not folder.is_dir() and (_dir(data_dir) / "area.json").is_file():
        folder = Path(__file__).resolve().parent.parent / "data" / "police"
    return sorted(folder.glob("*-street.csv.gz"))


def gtfs_dir(data_dir: Path | str | None = None) -> Path:
    """An area's GTFS feed (``gtfs/feed``), else the estimated demo-area feed built from TfL
    route sequences."""
    feed = _dir(data_dir) / "gtfs" / "feed"
    if feed.is_dir():
        return feed
    return _dir(data_dir) / "gtfs" / "demo_area_estimated"
