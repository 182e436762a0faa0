"""Plain names for places on a map: "Albert Road by Alexandra Park School" rather than
``HS10``, "unnamed path near Rhodes Avenue" rather than ``(service)``.

A name is built from the bundled data only (no geocoding service): the named streets of the
OSM extract (:func:`geosafe.geocode.places.read_osm_streets`) and the gazetteer's stations,
parks, schools and bus stops (:class:`geosafe.geocode.places.Gazetteer`), with the registered
parks' outlines for "in <park>".

This is the one place naming of the package: the school report, the placement check, the place
report and the published hotspot and cluster layers (:func:`place_names`, through
:mod:`geosafe.publish.places`) all call it, so one hotspot has one name everywhere.

Rules (:meth:`PlaceNamer.name`): an area inside a park is "<park>"; otherwise the named street
running furthest through it (within ``street_m``, 60 m, of a line or a small area; for a point,
the nearest street within ``street_m``) or, failing that, the nearest within 150 m, followed by "by <landmark>" for the nearest station (within
500 m), else park, school or bus stop (within 250 m) whose name differs from the street's.
Without a street it is "near <landmark>"; with neither, "near <area>" from the gazetteer's
neighbourhoods. :meth:`PlaceNamer.unnamed` names a way that has no name of its own:
"unnamed path near <nearest named street or landmark>".
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .. import datasets
from ..geocode.places import Gazetteer, read_osm_streets

__all__ = ["PlaceNamer", "names_of_points", "place_namer", "place_names"]

#: How far to look for a landmark of each kind, metres, in order of preference.
_LANDMARKS: Final = (("station", 500.0), ("park", 250.0), ("school", 250.0), ("stop", 250.0))


@dataclass(frozen=True)
class _Named:
    names: tuple[str, ...]
    geoms: np.ndarray
    tree: shapely.STRtree

    @classmethod
    def of(cls, names: list[str], geoms: list[BaseGeometry]) -> _Named:
        arr = np.asarray(geoms, dtype=object)
        return cls(tuple(names), arr, shapely.STRtree(arr))

    def nearest(self, geom: BaseGeometry, within: float) -> tuple[str, float] | None:
        if not self.names:
            return None
        idx = self.tree.query(geom, predicate="dwithin", distance=within)
        if not len(idx):
            return None
        d = shapely.distance(self.geoms[idx], geom)
        k = int(idx[int(np.argmin(d))])
        return self.names[k], float(np.min(d))


class PlaceNamer:
    """Names places of the demo area (EPSG:27700 geometries) from the bundled data.

    Build with :func:`place_namer` (cached per data folder).
    """

    def __init__(self, data_dir: Path | str | None = None, *, street_m: float = 60.0) -> None:
        self.street_m = float(street_m)
        streets = read_osm_streets(datasets.osm_path(data_dir))
        names = [n for n, lines in streets.items() for _ in lines]
        lines = [g for lines in streets.values() for g in lines]
        self._streets = _Named.of(names, lines)
        places = Gazetteer.load(data_dir).places
        self._marks = {
            kind: _Named.of(
                [p.name for p in places if p.kind == kind],
                [p.point for p in places if p.kind == kind],
            )
            for kind in ("station", "park", "school", "stop", "area")
        }
        parks = datasets.parks(data_dir)
        self._parks = _Named.of(
            [str(n).title().replace("'S ", "'s ") for n in parks["name"]],
            list(parks.geometry),
        )

    # ------------------------------------------------------------------ parts
    def street(self, geom: BaseGeometry) -> str | None:
        """The named street running furthest through ``geom`` (buffered by ``street_m``), or
        the nearest within 150 m. A point is on its nearest street within ``street_m``."""
        if geom.geom_type == "Point":
            hit = self._streets.nearest(geom, self.street_m)
            if hit:
                return hit[0]
        zone = geom.buffer(self.street_m) if geom.geom_type != "Polygon" else geom
        idx = self._streets.tree.query(zone, predicate="intersects")
        if len(idx):
            lengths: dict[str, float] = {}
            for k in idx:
                name = self._streets.names[int(k)]
                piece = shapely.intersection(self._streets.geoms[int(k)], zone)
                lengths[name] = lengths.get(name, 0.0) + float(shapely.length(piece))
            best = max(sorted(lengths), key=lambda n: lengths[n])
            if lengths[best] > 0:
                return best
        hit = self._streets.nearest(geom.centroid, 150.0)
        return hit[0] if hit else None

    def landmark(self, geom: BaseGeometry, *, not_named: str | None = None) -> str | None:
        """The nearest station, else park, school or bus stop, within its search distance."""
        at = geom.centroid
        for kind, within in _LANDMARKS:
            hit = self._marks[kind].nearest(at, within)
            if hit and (not_named is None or hit[0].lower() not in not_named.lower()):
                return hit[0]
        return None

    def park(self, geom: BaseGeometry) -> str | None:
        """The registered park containing ``geom``'s representative point."""
        pt = geom.representative_point()
        idx = self._parks.tree.query(pt, predicate="within")
        return self._parks.names[int(idx[0])] if len(idx) else None

    def area(self, geom: BaseGeometry) -> str | None:
        """The nearest neighbourhood name (ward or station area) within 2 km."""
        hit = self._marks["area"].nearest(geom.centroid, 2000.0)
        return hit[0] if hit else None

    # ------------------------------------------------------------------ names
    def name(self, geom: BaseGeometry | None) -> str:
        """A plain name for an area or a line (see the module notes)."""
        if geom is None or geom.is_empty:
            return "unknown place"
        if geom.geom_type in ("Polygon", "MultiPolygon"):
            park = self.park(geom)
            if park is not None:
                return park
        street = self.street(geom)
        mark = self.landmark(geom, not_named=street)
        if street and mark:
            return f"{street} by {mark}"
        if street:
            return street
        if mark:
            return f"near {mark}"
        area = self.area(geom)
        return f"near {area}" if area else "unnamed place"

    def unnamed(self, geom: BaseGeometry | None) -> str:
        """A way without a name of its own: "unnamed path near <street or landmark>"."""
        if geom is None or geom.is_empty:
            return "unnamed path"
        hit = self._streets.nearest(geom, 200.0)
        near = hit[0] if hit else self.landmark(geom) or self.area(geom)
        return f"unnamed path near {near}" if near else "unnamed path"


@functools.cache
def _namer(data_dir: Path) -> PlaceNamer:
    return PlaceNamer(data_dir)


def place_namer(data_dir: Path | str | None = None) -> PlaceNamer:
    """The :class:`PlaceNamer` of a data folder (built once per folder)."""
    return _namer(Path(data_dir) if data_dir is not None else datasets.default_data_dir())


def place_names(
    geometries: Iterable[BaseGeometry | None], data_dir: Path | str | None = None
) -> list[str]:
    """A plain name per EPSG:27700 geometry (:meth:`PlaceNamer.name`); ``""`` for a missing or
    empty one. The one naming function of the package (reports, layers, the web page through
    ``GET /places/names``)."""
    namer = place_namer(data_dir)
    return ["" if g is None or g.is_empty else namer.name(g) for g in geometries]


def names_of_points(
    points: Iterable[str], *, radius_m: float = 0.0, data_dir: Path | str | None = None
) -> list[str]:
    """:func:`place_names` of ``"LON,LAT"`` texts (WGS84), or of circles of ``radius_m``
    around them (the web page's names; ``GET /places/names``)."""
    from pyproj import Transformer

    from .._errors import ValidationError

    to_bng = Transformer.from_crs("OGC:CRS84", "EPSG:27700", always_xy=True)
    geoms: list[BaseGeometry] = []
    for text in points:
        try:
            lon, lat = (float(v) for v in str(text).split(","))
        except ValueError:
            msg = f"`at` {text!r} is not LON,LAT; e.g. at=-0.1118,51.6215"
            raise ValidationError(msg) from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValidationError(f"`at` {text!r} is not WGS84 degrees (LON,LAT).")
        x, y = to_bng.transform(lon, lat)
        pt = shapely.Point(x, y)
        geoms.append(pt.buffer(radius_m) if radius_m > 0 else pt)
    return place_names(geoms, data_dir)
