"""Hotspots named by place: "Bounds Green Road by Bounds Green Station" rather than HS01.

A name is the named street nearest to the feature's representative point (from the bundled
OSM streets) and, when one lies within :data:`NEAR_M`, the nearest station, park, area or bus
stop of the gazetteer (:class:`geosafe.geocode.places.Gazetteer`), stations first. Names are
computed from the published geometry itself, so a non-analyst's name says nothing its shape
does not.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import shapely

from .. import datasets

__all__ = ["NEAR_M", "place_names"]

#: How far a landmark may be from the feature to be named with it, metres.
NEAR_M: Final = 400.0
#: Landmark kinds, the first preferred when several are near.
_KINDS: Final = ("station", "park", "area", "stop")


@functools.cache
def _index(data_dir: Path) -> tuple[Any, list[str], dict[str, tuple[Any, list[str]]]]:
    from ..geocode.places import Gazetteer, read_osm_streets

    names: list[str] = []
    lines: list[Any] = []
    for name, parts in read_osm_streets(datasets.osm_path(data_dir)).items():
        for part in parts:
            names.append(name)
            lines.append(part)
    streets = shapely.STRtree(np.asarray(lines, dtype=object))
    marks: dict[str, tuple[Any, list[str]]] = {}
    places = Gazetteer.load(data_dir).places
    for kind in _KINDS:
        chosen = [p for p in places if p.kind == kind]
        if chosen:
            tree = shapely.STRtree(np.asarray([p.point for p in chosen], dtype=object))
            marks[kind] = (tree, [p.name for p in chosen])
    return streets, names, marks


def place_names(geometries: Sequence[Any] | np.ndarray, data_dir: Path | str | None) -> list[str]:
    """A place name per geometry (EPSG:27700): ``"<street> by <landmark>"``, the street
    alone when no landmark is near, ``""`` for an empty geometry."""
    folder = Path(data_dir) if data_dir is not None else datasets.default_data_dir()
    streets, street_names, marks = _index(folder)
    out: list[str] = []
    for geom in geometries:
        if geom is None or geom.is_empty:
            out.append("")
            continue
        at = geom.representative_point() if geom.geom_type != "Point" else geom
        street = street_names[int(streets.nearest(at))] if street_names else ""
        landmark = ""
        for kind in _KINDS:
            if kind not in marks:
                continue
            tree, names = marks[kind]
            i = int(tree.nearest(at))
            if tree.geometries[i].distance(at) <= NEAR_M:
                landmark = names[i]
                break
        if street and landmark and landmark.lower() != street.lower():
            out.append(f"{street} by {landmark}")
        else:
            out.append(street or landmark)
    return out
