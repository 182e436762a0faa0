"""One-record geocoding: :class:`Geocoder` turns one location field into a
:class:`~geosafe.geocode.result.GeocodeResult`.

Bulk imports use the vectorised functions of :mod:`~geosafe.geocode.points`,
:mod:`~geosafe.geocode.postcodes`, :mod:`~geosafe.geocode.stops` and
:mod:`~geosafe.geocode.h3cells` directly; this class is for single records, the API and
free text (FAP notes, ASIF station names) through the gazetteer (:mod:`.places`).
Reference data are loaded on first use and cached, never at import.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from ..incident import PRECISION_M
from . import h3cells, points
from .result import GeocodeResult, failed, unplaced
from .routes import RouteIndex
from .stops import StopIndex, normalise_stop_code
from .wards import DEMO_BOROUGHS, WardIndex

if TYPE_CHECKING:
    from .places import Gazetteer

from .places import canonical

__all__ = ["Geocoder", "located"]


def located(
    geometry: BaseGeometry,
    *,
    method: str,
    precision_m: float,
    matched_text: str | None = None,
    place: str | None = None,
) -> GeocodeResult:
    """A placed result: WGS84 representative point and H3 cell computed from ``geometry``.

    The representative point is the point itself, or the midpoint along a line.
    """
    rep = geometry if isinstance(geometry, Point) else geometry.interpolate(0.5, normalized=True)
    lon, lat = points.bng_to_lonlat([rep.x], [rep.y])
    cell = h3cells.cells_for_points(lon, lat, precision_m)[0]
    return GeocodeResult(
        geometry=geometry,
        lon=round(float(lon[0]), 7),
        lat=round(float(lat[0]), 7),
        precision_m=float(precision_m),
        method=method,
        h3_cell=cell,
        matched_text=matched_text,
        place=place,
    )


class Geocoder:
    """Geocode single location fields against the bundled reference data.

    Parameters
    ----------
    data_dir
        Bundled data directory (default: the package's ``data/``).
    aoi
        Area of interest (EPSG:27700) for coordinates; default Greater London.
    aoi_margin_m
        Coordinates up to this far outside the area (metres) are accepted.
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        aoi: BaseGeometry | None = None,
        aoi_margin_m: float = 0.0,
    ):
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.aoi = aoi
        self.aoi_margin_m = aoi_margin_m
        self._gazetteer: Gazetteer | None = None

    # -- coordinates ---------------------------------------------------------------------
    def from_coordinates(
        self,
        *,
        latitude: object = None,
        longitude: object = None,
        easting: object = None,
        northing: object = None,
    ) -> GeocodeResult:
        """Check and place given coordinates (WGS84 degrees or BNG metres), 10 m precision.

        The lat/lon pair is used when either of its values is given, else easting/northing.
        Problems are reported with the codes of :mod:`~geosafe.geocode.points`, never fixed.
        """
        pairs = (
            ("latitude,longitude", (latitude, longitude), points.classify_lonlat),
            ("easting,northing", (easting, northing), points.classify_bng),
        )
        for column, (a, b), classify in pairs:
            margin = self.aoi_margin_m
            if column.startswith("lat"):
                code = classify([b], [a], aoi=self._aoi(), margin_m=margin)[0]
            else:
                code = classify([a], [b], aoi=self._aoi(), margin_m=margin)[0]
            if code == points.MISSING:
                continue
            names = (column.split(",")[0], column.split(",")[1])
            if code is not None and code != "coord_outside_aoi":
                return failed(code, points.reason_text(code, a, b, names=names), column=column)
            if column.startswith("lat"):
                x, y = points.lonlat_to_bng([float(str(b))], [float(str(a))])
                geom = Point(float(x[0]), float(y[0]))
            else:
                geom = Point(float(str(a)), float(str(b)))
            if code is not None:  # outside the area: say how far
                far = float(points.distance_outside([geom.x], [geom.y], aoi=self._aoi())[0])
                text = points.reason_text(
                    code, a, b, names=names, outside_m=far, margin_m=self.aoi_margin_m
                )
                return failed(code, text, column=column)
            return located(geom, method="coordinates", precision_m=PRECISION_M["coordinates"])
        return unplaced("no coordinates given")

    def _aoi(self) -> BaseGeometry:
        if self.aoi is None:
            from .. import datasets

            self.aoi = datasets.greater_london(self.data_dir)
            shapely.prepare(self.aoi)
        return self.aoi

    # -- reference lookups ---------------------------------------------------------------
    def from_postcode(self, text: object) -> GeocodeResult:
        """Code-Point Open centroid of a postcode (100 m); ``postcode_malformed`` /
        ``postcode_unknown`` on failure."""
        from .postcodes import lookup_postcodes

        if text is None or not str(text).strip():
            return unplaced("no postcode given")
        row = lookup_postcodes([text], data_dir=self.data_dir).iloc[0]
        code = row["reason_code"]
        if code == "postcode_malformed":
            return failed(
                code,
                f"postcode {text!r} is not a UK postcode; write it like 'N22 7AY'",
                column="postcode",
            )
        if code == "postcode_unknown":
            return failed(
                code,
                f"postcode {row['postcode']!r} is not in the bundled Code-Point Open (2014, "
                "areas N and EN); check it or give coordinates",
                column="postcode",
            )
        return located(
            Point(row["easting"], row["northing"]),
            method="postcode",
            precision_m=PRECISION_M["postcode"],
            matched_text=str(row["postcode"]),
            place=str(row["postcode"]),
        )

    def from_stop_code(self, code: object) -> GeocodeResult:
        """Position of a bus stop by NaPTAN ATCO or TfL LBSL code (30 m)."""
        key = normalise_stop_code(code)
        if key is None:
            return unplaced("no stop code given")
        reason, rec = StopIndex.load(self.data_dir).lookup(key)
        if reason == "stop_code_sms":
            return failed(
                reason,
                f"stop code {code!r} is a 5-digit SMS code; give the NaPTAN ATCO (490...) or "
                "TfL LBSL code",
                column="stop_code",
            )
        if reason is not None or rec is None:
            return failed(
                "stop_code_unknown",
                f"stop code {code!r} is not a TfL bus stop (NaPTAN ATCO or LBSL); check it",
                column="stop_code",
            )
        e, n, name, _atco = rec
        if not (math.isfinite(e) and math.isfinite(n)):
            return unplaced(
                f"stop {key!r} ({name}) has no position in TfL's list", matched_text=key
            )
        return located(
            Point(e, n),
            method="stop",
            precision_m=PRECISION_M["stop"],
            matched_text=key,
            place=name,
        )

    def from_ward(
        self, name_or_code: object, *, prefer: tuple[str, ...] = DEMO_BOROUGHS
    ) -> GeocodeResult:
        """Centroid of a 2018 London ward by name (optionally 'Name, Borough') or GSS code
        (1 km)."""
        if name_or_code is None or not str(name_or_code).strip():
            return unplaced("no ward given")
        match, why = WardIndex.load(self.data_dir).resolve(str(name_or_code), prefer=prefer)
        if match is None:
            return failed("ward_unknown", str(why), column="ward")
        return located(
            match.centroid,
            method="ward",
            precision_m=PRECISION_M["ward"],
            matched_text=str(name_or_code).strip(),
            place=f"{match.name}, {match.borough}",
        )

    # -- free text ----------------------------------------------------------------------
    def gazetteer(self) -> Gazetteer:
        """The gazetteer of the bundled data (built on first use, then cached)."""
        if self._gazetteer is None:
            from .places import Gazetteer

            self._gazetteer = Gazetteer.load(self.data_dir)
        return self._gazetteer

    def from_notes(self, text: object, *, near: BaseGeometry | None = None) -> GeocodeResult:
        """The place a free-text note names (gazetteer; see :mod:`~geosafe.geocode.places`).

        Negated mentions ("not at the park") are ignored; ambiguous ones ("the park") count
        only when context settles them: another place named in the text, or exactly one
        candidate within 1 km of ``near`` (EPSG:27700, e.g. the referral's school). A note
        naming no known place gives ``method == "none"`` and is never guessed.
        """
        if text is None or not str(text).strip():
            return unplaced("no text given")
        anchor = near if isinstance(near, Point) else (near.centroid if near is not None else None)
        match = self.gazetteer().best(str(text), near=anchor)
        if match is None or match.place is None:
            return unplaced("the text names no known place")
        p = match.place
        return located(
            p.point,
            method=p.method,
            precision_m=p.precision_m,
            matched_text=match.text,
            place=p.name,
        )

    def from_station(self, text: object) -> GeocodeResult:
        """An ASIF ``station`` field: a station name first ("Wood Green" is Wood Green
        Station), else any place the text names."""
        if text is None or not str(text).strip():
            return unplaced("no station given")
        raw = str(text).strip()
        if "station" not in canonical(raw).split():
            hit = self.from_notes(f"{raw} station")
            if hit.located and hit.place and canonical(hit.place).endswith("station"):
                return hit
        return self.from_notes(raw)

    def from_route(
        self,
        route: object,
        *,
        direction: int | None = None,
        from_stop: str | None = None,
        to_stop: str | None = None,
    ) -> GeocodeResult:
        """The stretch of a bus route inside the demo area as a line (precision = half its
        length, metres). See :mod:`~geosafe.geocode.routes`."""
        stretch, why = RouteIndex.load(self.data_dir).stretch(
            route, direction=direction, from_stop=from_stop, to_stop=to_stop
        )
        if stretch is None:
            return unplaced(str(why))
        return located(
            stretch.line,
            method="route",
            precision_m=max(stretch.line.length / 2.0, 1.0),
            matched_text=stretch.route,
            place=f"route {stretch.route} run {stretch.run}",
        )
