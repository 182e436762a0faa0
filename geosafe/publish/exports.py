"""Exports of published layers: GeoPackage 1.2 (EPSG:27700) with a default QGIS style in
``layer_styles``, RFC 7946 GeoJSON, and CSV with a WKT geometry column and the CRS named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._validate import csv_escape
from ..incident import CRS_BNG
from ..periods import LONDON
from . import styles
from .catalogue import COLLECTIONS
from .layer import Layer, geojson_text, jsonable

__all__ = [
    "csv_text",
    "geojson_text",
    "integer_counts",
    "local_clock_columns",
    "neutralise_formulas",
    "qgis_style",
    "write_geopackage",
]


_QML_SYMBOL: Final = {
    "Point": (
        "marker",
        "SimpleMarker",
        {"name": "circle", "color": "215,48,31,220", "outline_color": "80,0,0,255", "size": "2.4"},
    ),
    "LineString": (
        "line",
        "SimpleLine",
        {"line_color": "49,54,149,230", "line_width": "0.8", "capstyle": "round"},
    ),
    "Polygon": (
        "fill",
        "SimpleFill",
        {
            "color": "215,48,31,140",
            "outline_color": "127,0,0,255",
            "outline_width": "0.4",
            "style": "solid",
        },
    ),
}


def qgis_style(geometry: str) -> str:
    """A default QGIS style (QML, single symbol) for a layer of ``geometry`` type."""
    kind = geometry.removeprefix("Multi")
    sym_type, cls, options = _QML_SYMBOL.get(kind, _QML_SYMBOL["Polygon"])
    opts = "".join(f'<Option type="QString" name="{k}" value="{v}"/>' for k, v in options.items())
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
        '<qgis version="3.28.0" styleCategories="Symbology">'
        '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
        f'<symbols><symbol type="{sym_type}" name="0" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="{cls}" enabled="1" locked="0" pass="0"><Option type="Map">{opts}</Option>'
        "</layer></symbol></symbols></renderer-v2></qgis>"
    )


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every text cell that a spreadsheet would run as a formula prefixed
    with ``'`` (:func:`geosafe._validate.csv_escape`), for every CSV or XLSX written; numbers,
    and text that is a plain signed number (``-0.12``), are left as they are."""
    out = table.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = out[col].map(csv_escape)
    return out


def integer_counts(frame: gpd.GeoDataFrame, collection: str) -> gpd.GeoDataFrame:
    """``frame`` with every property its collection declares ``integer`` (counts, pupils,
    journeys, ranks, resolutions) as a nullable integer column (pandas ``Int64``), so GeoJSON
    gives ``20``, not ``20.0``, a GeoPackage types the field Integer64 and a CSV writes
    ``20``; a missing (suppressed) value stays missing (``null``, empty).

    Values are never changed: a column holding any fraction (an analyst's exact count that
    shares an incident known along a bus route between cells) is left as it is."""
    spec = COLLECTIONS.get(collection)
    if spec is None or not len(frame):
        return frame
    out = frame
    for name, kind in spec.schema:
        if kind != "integer" or name not in frame.columns:
            continue
        s = frame[name]
        if isinstance(s.dtype, pd.Int64Dtype) or pd.api.types.is_bool_dtype(s.dtype):
            continue
        values = pd.to_numeric(s, errors="coerce")
        if bool((values.isna() & s.notna()).any()):  # text: not a count
            continue
        v = values.to_numpy(dtype=float, na_value=np.nan)
        known = v[~np.isnan(v)]
        if not np.all(np.isfinite(known)) or not np.array_equal(known, np.round(known)):
            continue
        if out is frame:
            out = frame.copy()
        out[name] = pd.array([None if np.isnan(x) else int(x) for x in v], dtype="Int64")
    return out


def _download_frame(layer: Layer) -> gpd.GeoDataFrame:
    frame = integer_counts(layer.frame, layer.collection).copy()
    for col in frame.columns:
        if col == frame.geometry.name:
            continue
        s = frame[col]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            frame[col] = s.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
        elif s.dtype == object:
            frame[col] = s.map(
                lambda v: json.dumps(jsonable(v)) if isinstance(v, dict | list | tuple) else v
            )
    frame = frame.reset_index(names="id")
    return frame


def _empty_frame(layer: Layer) -> gpd.GeoDataFrame:
    """An empty layer with the collection's declared columns and types (so a GIS sees the
    schema even when there is nothing to show)."""
    kinds: dict[str, Any] = {"number": "float64", "integer": "Int64"}
    cols = {
        name: pd.Series([], dtype=kinds.get(kind, "object"))
        for name, kind in COLLECTIONS[layer.collection].schema
    }
    return gpd.GeoDataFrame({"id": pd.Series([], dtype=object), **cols}, geometry=[], crs=CRS_BNG)


def write_geopackage(layer: Layer, path: Path) -> Path:
    """Write ``layer`` as a GeoPackage 1.2 (EPSG:27700) with its default QGIS style in
    ``layer_styles`` (QML and SLD: graduated or categorised with the classes of
    :func:`geosafe.publish.styles.legend_for`, the web map's classes); returns ``path``."""
    import pyogrio

    path = Path(path)
    path.unlink(missing_ok=True)
    frame = _download_frame(layer) if len(layer.frame) else _empty_frame(layer)
    name = layer.collection.replace("-", "_")
    geom_type = COLLECTIONS[layer.collection].geometry
    if len(frame):
        geom_type = str(frame.geometry.iloc[0].geom_type)
    multi = geom_type.startswith("Multi") or geom_type in ("Polygon", "LineString")
    pyogrio.write_dataframe(
        frame,
        path,
        layer=name,
        driver="GPKG",
        dataset_options={"VERSION": "1.2"},
        promote_to_multi=multi,
        geometry_type=None if len(frame) else ("Multi" + geom_type if multi else geom_type),
    )
    legend = styles.legend_for(layer.collection, layer.frame)
    styles_table = pd.DataFrame(
        {
            "f_table_catalog": [""],
            "f_table_schema": [""],
            "f_table_name": [name],
            "f_geometry_column": ["geom"],
            "styleName": [f"{name} default"],
            "styleQML": [styles.qml(legend, geom_type)],
            "styleSLD": [styles.sld(legend, geom_type, name)],
            "useAsDefault": [True],
            "description": [f"geosafe default style of {layer.collection} ({legend.kind})"],
            "owner": ["geosafe"],
            "ui": [""],
            "update_time": [pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")],
        }
    )
    pyogrio.write_dataframe(
        styles_table,
        path,
        layer="layer_styles",
        driver="GPKG",
        append=True,
        layer_options={"FID": "id"},
    )
    return path


#: The clock the ``*_local`` CSV columns read (:data:`geosafe.periods.LONDON`).
LOCAL_TZ: Final = LONDON


def local_clock_columns(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """``{column}_local`` for every time column of ``frame``: the Europe/London clock time
    as ``YYYY-MM-DD HH:MM:SS`` (no ``T``, no offset), the form Excel and LibreOffice read as
    a date and time in any locale, so it sorts and filters as one. Missing times stay empty.
    In the hour repeated when the clocks go back (01:00-02:00 on the last Sunday of
    October) two instants read alike; the UTC column beside them tells them apart."""
    out: dict[str, pd.Series] = {}
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            out[f"{col}_local"] = s.dt.tz_convert(LOCAL_TZ).dt.strftime("%Y-%m-%d %H:%M:%S")
    return out


def csv_text(layer: Layer) -> str:
    """The layer as CSV: properties, ``wkt`` (EPSG:27700 geometry) and ``crs`` columns, then
    for each time (UTC, ISO 8601 with its offset) its Europe/London clock time,
    ``occurred_from_local`` and ``occurred_to_local`` (:func:`local_clock_columns`; added
    last so every earlier column keeps its place).

    Text cells a spreadsheet would evaluate as a formula (starting with ``=``, ``+``, ``-``,
    ``@``, tab or carriage return; OWASP's rule) are prefixed with ``'``
    (:func:`neutralise_formulas`); the GeoPackage and GeoJSON downloads keep the originals.
    """
    frame = _download_frame(layer)
    geom = frame.geometry
    table = neutralise_formulas(pd.DataFrame(frame.drop(columns=geom.name)))
    table["wkt"] = shapely.to_wkt(np.asarray(geom.array, dtype=object), rounding_precision=2)
    table["crs"] = CRS_BNG
    for name, values in local_clock_columns(layer.frame).items():
        table[name] = values.to_numpy()
    # CRLF line ends (RFC 4180): a value holding a bare CR or LF is then quoted, never split
    return table.to_csv(index=False, lineterminator="\r\n")
