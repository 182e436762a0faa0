"""The result of geocoding one location: :class:`GeocodeResult`."""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry.base import BaseGeometry

__all__ = ["GeocodeResult"]


@dataclass(frozen=True, slots=True)
class GeocodeResult:
    """Where one location field put an incident, or why it could not.

    Attributes
    ----------
    geometry
        Point (or LineString for a stretch of bus route) in EPSG:27700, or ``None``.
    lon, lat
        WGS84 degrees of the representative point (the point, or the midpoint of a line).
    precision_m
        Radius in metres within which the true location lies.
    method
        ``geocode_method`` from :data:`geosafe.incident.GEOCODE_METHODS`; ``"none"`` when
        nothing was placed.
    h3_cell
        H3 cell of the representative point at the resolution the precision allows
        (:func:`geosafe.geocode.h3cells.resolution_for_precision`).
    matched_text
        The part of the input that was matched (a postcode as normalised, a place name as
        written in a note).
    reason_code, reason
        Set when the input is *wrong* and the row should be quarantined (``coord_swapped``,
        ``postcode_unknown``...). A location that is valid but cannot be placed (a bus route
        outside the bundled area, a note that names no place) has ``method == "none"``,
        ``reason_code is None`` and an explanation in ``reason``.
    column
        The input column(s) the reason refers to, comma-separated, or ``None``.
    place
        The gazetteer entry or reference record matched (street, park, stop, school, ward
        name), or ``None``.
    """

    geometry: BaseGeometry | None = None
    lon: float | None = None
    lat: float | None = None
    precision_m: float | None = None
    method: str = "none"
    h3_cell: str | None = None
    matched_text: str | None = None
    reason_code: str | None = None
    reason: str | None = None
    column: str | None = None
    place: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the input was acceptable (it may still have placed nothing)."""
        return self.reason_code is None

    @property
    def located(self) -> bool:
        """Whether a geometry was produced."""
        return self.geometry is not None


def failed(reason_code: str, reason: str, *, column: str | None = None) -> GeocodeResult:
    """A result for invalid input (to be quarantined)."""
    return GeocodeResult(reason_code=reason_code, reason=reason, column=column)


def unplaced(reason: str, *, matched_text: str | None = None) -> GeocodeResult:
    """A result for valid input that places nothing (counted as no location)."""
    return GeocodeResult(reason=reason, matched_text=matched_text)
