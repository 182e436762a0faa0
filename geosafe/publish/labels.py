"""Map labels drawn offline by the web page: street names along the bundled OSM streets and
the names of stations, bus stops, parks, schools and neighbourhoods (the gazetteer's places).

No tile server is reachable, so the page places these labels itself (``web/static/app.js``
draws them on a canvas, biggest first, skipping any that would overlap). The same names let
the page call a hotspot "Bounds Green Road by Bounds Green Station" when the layer carries no
place name of its own.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import shapely

from .. import datasets
from ..geocode.places import Gazetteer, read_osm_streets
from ..incident import CRS_BNG, CRS_WGS84

__all__ = ["PLACE_RANK", "map_labels"]

log = logging.getLogger(__name__)

#: Label priority of a place kind (0 first): what a reader looks for to know where they are.
PLACE_RANK: Final = {"station": 0, "area": 1, "park": 2, "school": 3, "stop": 4}


def map_labels(data_dir: Path | str | None = None) -> dict[str, Any]:
    """Street and place labels of the demo area (WGS84 GeoJSON, built once per folder).

    Returns
    -------
    dict
        ``streets``: a FeatureCollection of (Multi)LineStrings, one per street name, with
        ``name`` and ``length_m`` (the longest first); ``places``: Points with ``name``,
        ``kind`` (station, area, park, school, stop) and ``rank`` (:data:`PLACE_RANK`).
    """
    return _labels(Path(data_dir) if data_dir is not None else datasets.default_data_dir())


def _feature(geometry: Any, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": props}


@functools.cache
def _labels(data_dir: Path) -> dict[str, Any]:
    frame = datasets.demo_area(data_dir).buffer(500)
    names, lines = [], []
    for name, parts in read_osm_streets(datasets.osm_path(data_dir)).items():
        merged = shapely.line_merge(shapely.union_all(parts))
        merged = merged.intersection(frame)
        if not merged.is_empty and merged.length > 0:
            names.append(name)
            lines.append(merged)
    streets = gpd.GeoDataFrame({"name": names}, geometry=lines, crs=CRS_BNG)
    streets["length_m"] = streets.length.round(0)
    streets = streets.sort_values(["length_m", "name"], ascending=[False, True])
    wgs = shapely.simplify(
        np.asarray(streets.geometry.to_crs(CRS_WGS84).array, dtype=object), 0.00003
    )
    wgs = shapely.transform(wgs, lambda xy: np.round(xy, 5))
    street_feats = [
        _feature(json.loads(shapely.to_geojson(g)), {"name": n, "length_m": float(length)})
        for g, n, length in zip(wgs, streets["name"], streets["length_m"], strict=True)
    ]
    seen: set[tuple[str, int, int]] = set()
    place_feats = []
    places = sorted(
        (p for p in Gazetteer.load(data_dir).places if p.kind in PLACE_RANK),
        key=lambda p: (PLACE_RANK[p.kind], -len(p.name), p.name),
    )
    pts = gpd.GeoSeries([p.point for p in places], crs=CRS_BNG)
    inside = pts.within(frame).to_numpy()
    lonlat = pts.to_crs(CRS_WGS84)
    stations: list[Any] = []
    areas: set[str] = set()
    for p, ok, ll in zip(places, inside, lonlat, strict=True):
        # one label per spot: an alias ("Ally Pally") or a shortened school name at the same
        # point as a fuller name is not drawn twice, nor an area named after a station there
        key = (p.kind, round(p.point.x / 50), round(p.point.y / 50))
        if not ok or key in seen:
            continue
        if p.kind == "area" and (
            p.name in areas or any(p.point.distance(s) < 300 for s in stations)
        ):
            continue
        seen.add(key)
        if p.kind == "station":
            stations.append(p.point)
        elif p.kind == "area":
            areas.add(p.name)
        place_feats.append(
            _feature(
                {"type": "Point", "coordinates": [round(ll.x, 5), round(ll.y, 5)]},
                {"name": p.name, "kind": p.kind, "rank": PLACE_RANK[p.kind]},
            )
        )
    log.info("map labels: %d streets, %d places", len(street_feats), len(place_feats))
    return {
        "streets": {"type": "FeatureCollection", "features": street_feats},
        "places": {"type": "FeatureCollection", "features": place_feats},
    }
