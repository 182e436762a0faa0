"""Readers for the public files an area is built from: schools, postcodes, boundaries.

Each reader detects the layout from the header as the files are published:

- schools: the DfE *Get Information About Schools* establishment CSV (``edubasealldata*.csv``,
  Windows-1252: ``URN``, ``EstablishmentName``, ``EstablishmentStatus (name)``,
  ``PhaseOfEducation (name)``, ``NumberOfPupils``, ``Easting``, ``Northing``, ...; open
  secondary, middle-deemed-secondary and all-through schools are kept); the north London
  list (``EstablishmentName``, ``URN``, ``Latitude``, ``Longitude``); the DfE KS4 school
  information (``school_urn``, ``full_address``, ``t_pupils``, ...: no coordinates, it
  restricts the lists without a status column to current URNs and adds address and pupils);
  and geosafe's own ``schools.csv``.
- postcodes: the ONS Postcode Directory and OS Code-Point Open as published, read by
  :func:`geosafe.geocode.postcodes.read_postcode_directory`, and the bundled table's own
  layout (``postcode,quality,easting,northing,district,ward``).
- boundaries: any vector file GDAL reads (ONS GeoPackage, shapefile, GeoJSON), optionally a
  layer and a feature selected by code or name.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from .._errors import ImportFileError
from ..incident import CRS_BNG

__all__ = [
    "SCHOOL_COLUMNS",
    "postcodes_layout",
    "read_boundary",
    "read_postcodes",
    "read_schools",
    "schools_layout",
]

log = logging.getLogger(__name__)

#: Columns of an area's ``schools/schools.csv`` (as the bundled file, plus ``phase``).
SCHOOL_COLUMNS: Final = (
    "urn",
    "name",
    "latitude",
    "longitude",
    "address",
    "postcode",
    "borough",
    "pupils",
    "age_range",
    "gender",
    "ofsted_rating",
    "phase",
    "in_demo_area",
)
#: GIAS phases kept (secondary-age pupils).
GIAS_PHASES: Final = frozenset({"secondary", "all-through", "middle deemed secondary"})
_POSTCODE_TAIL = re.compile(r"([A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})\s*$")


def _read_csv(path: Path, **kw: object) -> pd.DataFrame:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc, **kw)  # type: ignore[call-overload]
        except UnicodeDecodeError:
            continue
    msg = f"`schools` {str(path)!r} is neither UTF-8 nor Windows-1252 text; re-save it as CSV."
    raise ImportFileError(msg)


def schools_layout(columns: list[str]) -> str:
    """``"gias"``, ``"north_london"``, ``"ks4"`` or ``"geosafe"`` from a header."""
    cols = set(columns)
    if {"URN", "EstablishmentName", "PhaseOfEducation (name)", "Easting", "Northing"} <= cols:
        return "gias"
    if {"school_urn", "full_address", "t_pupils"} <= cols:
        return "ks4"
    if {"URN", "EstablishmentName", "Latitude", "Longitude"} <= cols:
        return "north_london"
    if {"urn", "name", "latitude", "longitude"} <= cols:
        return "geosafe"
    msg = (
        f"schools file with columns {sorted(cols)[:8]!r}... is not a known layout; pass the GIAS "
        "establishment CSV (edubasealldata*.csv), the KS4 school information CSV, or a CSV "
        "with urn,name,latitude,longitude."
    )
    raise ImportFileError(msg)


def _lonlat(e: pd.Series, n: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(
        pd.to_numeric(e, errors="coerce").to_numpy(), pd.to_numeric(n, errors="coerce").to_numpy()
    )
    return np.asarray(lon), np.asarray(lat)


def read_schools(paths: list[Path]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Schools from one or more files (see the module notes), one row per URN.

    Returns
    -------
    tuple
        The table (:data:`SCHOOL_COLUMNS` but ``in_demo_area``) and each file's layout.
    """
    frames: list[pd.DataFrame] = []
    ks4: pd.DataFrame | None = None
    layouts: dict[str, str] = {}
    for path in paths:
        df = _read_csv(path)
        layout = schools_layout(list(df.columns))
        layouts[str(path)] = layout
        if layout == "ks4":
            ks4 = df
            continue
        if layout == "gias":
            status = df["EstablishmentStatus (name)"].str.strip().str.lower()
            phase = df["PhaseOfEducation (name)"].str.strip().str.lower()
            keep = status.str.startswith("open") & phase.isin(GIAS_PHASES)
            g = df[keep]
            lon, lat = _lonlat(g["Easting"], g["Northing"])
            address = (
                g[["Street", "Locality", "Town", "Postcode"]].apply(
                    lambda r: ", ".join(v for v in r if v), axis=1
                )
                if {"Street", "Locality", "Town"} <= set(g.columns) and len(g)
                else g["Postcode"]
            )
            low, high = g.get("StatutoryLowAge", ""), g.get("StatutoryHighAge", "")
            out = pd.DataFrame(
                {
                    "urn": g["URN"].str.strip(),
                    "name": g["EstablishmentName"],
                    "latitude": lat,
                    "longitude": lon,
                    "address": address,
                    "postcode": g["Postcode"],
                    "borough": g.get("LA (name)", ""),
                    "pupils": g.get("NumberOfPupils", ""),
                    "age_range": (low + " to " + high) if len(g) else "",
                    "gender": g.get("Gender (name)", ""),
                    "ofsted_rating": g.get("OfstedRating (name)", ""),
                    "phase": g["PhaseOfEducation (name)"],
                    "_current": True,
                }
            )
            log.info(
                "%s: %d open secondary/all-through schools of %d rows", path, len(out), len(df)
            )
        elif layout == "north_london":
            out = pd.DataFrame(
                {
                    "urn": df["URN"].str.strip(),
                    "name": df["EstablishmentName"],
                    "latitude": pd.to_numeric(df["Latitude"], errors="coerce"),
                    "longitude": pd.to_numeric(df["Longitude"], errors="coerce"),
                    "ofsted_rating": df.get("Ofsted Rating", ""),
                    "phase": "Secondary",
                    "_current": False,
                }
            )
        else:
            out = df.copy()
            out["latitude"] = pd.to_numeric(out["latitude"], errors="coerce")
            out["longitude"] = pd.to_numeric(out["longitude"], errors="coerce")
            out["_current"] = True
        frames.append(out)
    if not frames:
        msg = (
            "no schools file with coordinates; pass the GIAS CSV or a list with latitude/longitude."
        )
        raise ImportFileError(msg)
    sch = pd.concat(frames, ignore_index=True)
    for col in SCHOOL_COLUMNS:
        if col not in sch.columns:
            sch[col] = ""
    if ks4 is not None:
        info = ks4.drop_duplicates("school_urn").set_index("school_urn")
        known = sch["urn"].isin(info.index)
        # lists without a status column keep current URNs only (those in the KS4 list)
        sch = sch[known | sch["_current"].astype(bool)].copy()
        hit = sch["urn"].isin(info.index)
        row = info.reindex(sch.loc[hit, "urn"])
        fill = {
            "address": row["full_address"].to_numpy(),
            "borough": row["la_name"].to_numpy(),
            "pupils": row["t_pupils"].to_numpy(),
            "age_range": row["agerange"].to_numpy(),
            "gender": row["egender"].to_numpy(),
        }
        for col, values in fill.items():
            cur = sch.loc[hit, col].fillna("").astype(str)
            sch.loc[hit, col] = np.where(cur == "", values, cur)
        pcs = sch["address"].fillna("").astype(str).str.extract(_POSTCODE_TAIL)[0]
        empty = sch["postcode"].fillna("").astype(str) == ""
        sch.loc[empty, "postcode"] = pcs[empty]
    sch = sch.drop_duplicates("urn")
    bad = ~(
        np.isfinite(sch["latitude"].astype(float)) & np.isfinite(sch["longitude"].astype(float))
    )
    if bad.any():
        log.warning(
            "%d schools without coordinates left out: %s",
            int(bad.sum()),
            list(sch.loc[bad, "urn"])[:10],
        )
        sch = sch[~bad]
    return sch[[c for c in SCHOOL_COLUMNS if c != "in_demo_area"]].reset_index(drop=True), layouts


# ---------------------------------------------------------------------- postcodes
def postcodes_layout(path: Path) -> str:
    """``"onspd"``, ``"codepoint"`` or ``"geosafe"`` (the bundled table's own layout, with
    a header ``postcode,quality,easting,northing,...``): which directory a file is, for the
    manifest's licence line."""
    if path.is_file() and path.suffix.lower() in (".csv", ".gz"):
        head = pd.read_csv(path, nrows=0, encoding="utf-8-sig")
        cols = [str(c).strip().lower() for c in head.columns]
        if cols[:4] == ["postcode", "quality", "easting", "northing"]:
            return "geosafe"
        if {"oseast1m", "east1m"} & set(cols):
            return "onspd"
    return "onspd" if "onspd" in path.name.lower() else "codepoint"


def read_postcodes(path: Path, *, within: BaseGeometry | None = None) -> tuple[pd.DataFrame, str]:
    """Postcode centroids in the bundled table's layout (``postcode``, ``quality``,
    ``easting``, ``northing``, ``district``, ``ward``), only those inside ``within``
    (EPSG:27700) when given. ONSPD and Code-Point Open are read by
    :func:`geosafe.geocode.postcodes.read_postcode_directory`; a table already in the
    bundled layout is read as it is.

    Returns
    -------
    tuple
        The table and the layout (:func:`postcodes_layout`).
    """
    from ..geocode.postcodes import TABLE_COLUMNS, read_postcode_directory

    layout = postcodes_layout(path)
    if layout == "geosafe":
        table = pd.read_csv(path, dtype=str, encoding="utf-8-sig")[list(TABLE_COLUMNS)]
        for col in ("easting", "northing"):
            table[col] = pd.to_numeric(table[col], errors="coerce")
    else:
        table = read_postcode_directory(path).reset_index(drop=True)
    table = table[np.isfinite(table["easting"]) & np.isfinite(table["northing"])]
    if within is not None:
        import shapely

        inside = shapely.contains_xy(
            within, table["easting"].to_numpy(), table["northing"].to_numpy()
        )
        table = table[inside]
    return table.reset_index(drop=True), layout


# ---------------------------------------------------------------------- boundaries
def _split_layer(spec: str | Path) -> tuple[Path, str | None]:
    text = str(spec)
    if ":" in text and not Path(text).exists():
        path, layer = text.rsplit(":", 1)
        return Path(path), layer
    return Path(text), None


def _pick(columns: list[str], pattern: str) -> str | None:
    for c in columns:
        if re.fullmatch(pattern, c, flags=re.IGNORECASE):
            return c
    return None


def read_boundary(
    spec: str | Path, *, select: list[str] | None = None, kind: str = "boundary"
) -> gpd.GeoDataFrame:
    """Features of a boundary file (``FILE`` or ``FILE:LAYER``) in EPSG:27700, with
    ``gss_code`` and ``name`` columns taken from the ONS ``..CD``/``..NM`` columns (or
    ``gss_code``/``name``/``code``); ``select`` keeps the features whose code or name is
    listed."""
    path, layer = _split_layer(spec)
    if not path.exists():
        msg = f"`{kind}` {str(path)!r} does not exist; pass a boundary file (GeoPackage, shapefile, GeoJSON)."
        raise ImportFileError(msg)
    gdf = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    if gdf.crs is None:
        msg = f"`{kind}` {str(path)!r} has no CRS; pass a file with one (ONS files are EPSG:27700)."
        raise ImportFileError(msg)
    gdf = gdf.to_crs(CRS_BNG)
    cols = [c for c in gdf.columns if c != "geometry"]
    code = _pick(cols, r"gss_code|[A-Z]{2,6}\d{2}CD|code")
    name = _pick(cols, r"name|[A-Z]{2,6}\d{2}NM")
    gdf["gss_code"] = gdf[code].astype(str) if code else ""
    gdf["name"] = gdf[name].astype(str) if name else ""
    if select:
        wanted = {s.strip().lower() for s in select}
        keep = gdf["gss_code"].str.lower().isin(wanted) | gdf["name"].str.lower().isin(wanted)
        if not keep.any():
            msg = (
                f"`{kind}` {str(path)!r} has no feature named or coded {select!r}; pass one of "
                f"{sorted(gdf['name'])[:10]!r}..."
            )
            raise ImportFileError(msg)
        gdf = gdf[keep]
    return gdf
