"""Coordinates as given: detect WGS84 / British National Grid mix-ups and check the area.

Two vectorised classifiers for bulk imports, one per column pair:

- :func:`classify_lonlat` for ``longitude``/``latitude`` columns (WGS84 degrees);
- :func:`classify_bng` for ``easting``/``northing`` columns (EPSG:27700 metres).

Each returns an object array with one reason code per row, ``None`` where the point is
good. Nothing is ever silently fixed: a swapped pair is reported as ``coord_swapped``, not
swapped back. Reason codes, checked in this order:

``coord_missing``
    Both values blank. Not an error: the caller looks for another location field or
    records the row as having no location (``geocode_method == "none"``).
``coord_half_pair``
    One value blank, the other not.
``coord_not_number``
    A value that is not a finite number (``"51.6N"``, ``"inf"``).
``coord_zero``
    (0, 0) in either system (a GPS or export default).
``coord_bng_as_latlon``
    lat/lon columns holding BNG metres (both values between 1,000 and 1,300,000).
``coord_latlon_as_bng``
    easting/northing columns holding degrees (both values within ±180).
``coord_impossible``
    Latitude beyond ±90 or longitude beyond ±180 (and not a swap); an easting outside
    0..700,000 or a northing outside 0..1,300,000 m.
``coord_swapped``
    The pair is outside the area of interest but the swapped pair is inside it.
``coord_outside_aoi``
    A valid point outside the area of interest by more than the tolerated margin
    (``margin_m``: police.uk snaps points to streets and piers just beyond a boundary drawn
    along a river bank; the import default is 250 m, ``GEOSAFE_INGEST_AOI_MARGIN_M`` or ``--aoi-margin``).

The area of interest is a shapely geometry in EPSG:27700, by default Greater London (the
union of the bundled borough boundaries, :func:`geosafe.datasets.greater_london`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeAlias

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from .. import datasets
from ..incident import CRS_BNG, CRS_WGS84

if TYPE_CHECKING:
    from pyproj import Transformer

__all__ = [
    "COORD_REASONS",
    "MISSING",
    "bng_to_lonlat",
    "classify_bng",
    "classify_lonlat",
    "distance_outside",
    "lonlat_to_bng",
    "reason_text",
]

MISSING: Final = "coord_missing"

#: Array-like input of numbers or text (blank = missing).
Values: TypeAlias = npt.ArrayLike | Sequence[object]

#: Human-readable reason per code (the row's values are added by :func:`reason_text`).
COORD_REASONS: Final[dict[str, str]] = {
    "coord_missing": "no coordinates given",
    "coord_half_pair": "only one of the two coordinates is given; give both or neither",
    "coord_not_number": "a coordinate is not a finite number",
    "coord_zero": "coordinates are (0, 0), an export or GPS default; give the real position",
    "coord_bng_as_latlon": (
        "latitude/longitude hold British National Grid metres; put them in easting/northing"
    ),
    "coord_latlon_as_bng": (
        "easting/northing hold degrees; put them in latitude/longitude (WGS84)"
    ),
    "coord_impossible": "coordinates are outside the valid range of their system",
    "coord_swapped": "the two coordinates are swapped (the swapped pair is in the area)",
    "coord_outside_aoi": "the point is outside the area of interest",
}

_BNG_MAX_E = 700_000.0
_BNG_MAX_N = 1_300_000.0


#: The operation PROJ chooses for WGS84 -> British National Grid when the OSTN15 grid is not
#: installed (EPSG "Inverse of OSGB36 to WGS 84 (6)", a 7-parameter Helmert, 2 m, then the
#: National Grid's transverse Mercator): built from this pipeline in well under a millisecond,
#: where ``Transformer.from_crs`` searches PROJ's database for ~0.13 s on every run. Equal to
#: ``from_crs`` to the last bit across Great Britain (``tests/geocode/test_bng_pipeline.py``).
BNG_PIPELINE: Final = (
    "proj=pipeline step proj=unitconvert xy_in=deg xy_out=rad step proj=push v_3 "
    "step proj=cart ellps=WGS84 step inv proj=helmert x=446.448 y=-125.157 z=542.06 "
    "rx=0.15 ry=0.247 rz=0.842 s=-20.489 convention=position_vector step inv proj=cart "
    "ellps=airy step proj=pop v_3 step proj=tmerc lat_0=49 lon_0=-2 k=0.9996012717 "
    "x_0=400000 y_0=-100000 ellps=airy"
)
#: :data:`BNG_PIPELINE` backwards: its steps in reverse order, each inverted.
_BNG_INVERSE: Final = (
    "proj=pipeline step inv proj=tmerc lat_0=49 lon_0=-2 k=0.9996012717 x_0=400000 "
    "y_0=-100000 ellps=airy step proj=push v_3 step proj=cart ellps=airy step proj=helmert "
    "x=446.448 y=-125.157 z=542.06 rx=0.15 ry=0.247 rz=0.842 s=-20.489 "
    "convention=position_vector step inv proj=cart ellps=WGS84 step proj=pop v_3 "
    "step proj=unitconvert xy_in=rad xy_out=deg"
)
#: The grid that makes PROJ prefer OSTN15 (sub-metre) when a deployment installs it.
_OSTN15: Final = "uk_os_OSTN15_NTv2_OSGBtoETRS.tif"


def _ostn15_installed() -> bool:
    import pyproj.datadir

    dirs = [pyproj.datadir.get_user_data_dir(), *pyproj.datadir.get_data_dir().split(":")]
    return any((Path(d) / _OSTN15).exists() for d in dirs)


@functools.cache
def _ostn15_possible() -> bool:
    """Whether PROJ could use the OSTN15 grid here, answered without importing pyproj: the
    grid in any folder PROJ or pyproj may search (pyproj's own data, ``PROJ_DATA``,
    ``PROJ_LIB``, the prefix's, the user's), or PROJ's network on. A superset of
    :func:`_ostn15_installed`: when true, pyproj decides."""
    import importlib.util
    import os
    import sys

    if os.environ.get("PROJ_NETWORK", "").upper() in ("ON", "1", "YES", "TRUE"):
        return True
    dirs = [Path(sys.prefix, "share", "proj")]
    spec = importlib.util.find_spec("pyproj")
    for root in (spec.submodule_search_locations or []) if spec is not None else []:
        dirs.append(Path(root, "proj_dir", "share", "proj"))
    for name in ("PROJ_DATA", "PROJ_LIB"):
        dirs += [Path(d) for d in os.environ.get(name, "").split(os.pathsep) if d]
    user = os.environ.get("PROJ_USER_WRITABLE_DIRECTORY")
    home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    dirs += [Path(user)] if user else []
    dirs.append(Path(home, "proj"))
    return any((d / _OSTN15).exists() for d in dirs)


@functools.cache
def _to_bng() -> Transformer:
    from pyproj import Transformer

    if _ostn15_installed():
        return Transformer.from_crs(CRS_WGS84, CRS_BNG, always_xy=True)
    return Transformer.from_pipeline(BNG_PIPELINE)


@functools.cache
def _to_wgs84() -> Transformer:
    from pyproj import Transformer

    if _ostn15_installed():
        return Transformer.from_crs(CRS_BNG, CRS_WGS84, always_xy=True)
    # the same operation run backwards (``from_crs`` picks it for points in Great Britain)
    return Transformer.from_pipeline(_BNG_INVERSE)


def lonlat_to_bng(
    lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """WGS84 degrees to British National Grid metres (vectorised): :data:`BNG_PIPELINE` in
    numpy (:mod:`._bng`, within 0.1 micrometre of PROJ's answer) unless the OSTN15 grid may
    be installed, then pyproj (its import is the larger cost of a small import)."""
    if not _ostn15_possible():
        from ._bng import lonlat_to_bng as helmert

        return helmert(lon, lat)
    x, y = _to_bng().transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def bng_to_lonlat(
    easting: npt.ArrayLike, northing: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """British National Grid metres to WGS84 degrees (vectorised)."""
    x, y = _to_wgs84().transform(
        np.asarray(easting, dtype=float), np.asarray(northing, dtype=float)
    )
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def reason_text(
    code: str,
    a: object,
    b: object,
    *,
    names: tuple[str, str],
    outside_m: float | None = None,
    margin_m: float = 0.0,
) -> str:
    """The reason for ``code`` naming the offending values, e.g. for the quarantine table;
    for ``coord_outside_aoi`` with ``outside_m`` given, how far outside the point is and the
    margin tolerated."""
    text = COORD_REASONS[code]
    if code == "coord_outside_aoi" and outside_m is not None and np.isfinite(outside_m):
        text = (
            f"the point is {outside_m:,.0f} m outside the area of interest (more than the "
            f"{margin_m:,.0f} m tolerated; widen it with `--aoi-margin` or "
            "GEOSAFE_INGEST_AOI_MARGIN_M, e.g. `--aoi-margin 500`, or pass another `--aoi`)"
        )
    return f"{names[0]}={a!r}, {names[1]}={b!r}: {text}."


def distance_outside(
    x: npt.ArrayLike, y: npt.ArrayLike, *, aoi: BaseGeometry | None = None
) -> npt.NDArray[np.float64]:
    """Distance (metres) of British National Grid points from the area of interest, 0 inside.

    Parameters
    ----------
    x, y
        Easting and northing, EPSG:27700 metres.
    aoi
        Area of interest in EPSG:27700; default Greater London.
    """
    geom = _prepared(aoi)
    xs, ys = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    return np.asarray(shapely.distance(geom, shapely.points(xs, ys)), dtype=float)


def _parse(values: Values) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Numbers (NaN where blank or not a number) and a mask of blank values.

    Numeric arrays take a fast path (NaN = blank); text is read with ``float`` after
    stripping (blank: empty, ``nan``, ``none``, ``null``, any case). ``float`` gives the same
    numbers as ``pandas.to_numeric`` on coordinate texts (tests/geocode/test_parse_text.py).
    """
    arr = np.asarray(values)
    if arr.dtype.kind in "fiub":
        nums = arr.astype(float).ravel()
        return nums, np.isnan(nums)
    flat = arr.ravel()
    nums = np.full(flat.shape, np.nan)
    blank = np.zeros(flat.shape, dtype=bool)
    for k, v in enumerate(flat.tolist()):
        if isinstance(v, float | int) and not isinstance(v, bool):
            if v != v:  # NaN
                blank[k] = True
            else:
                nums[k] = float(v)
            continue
        text = "" if v is None else str(v).strip()
        if text == "" or text.lower() in ("nan", "none", "null"):
            blank[k] = True
            continue
        try:  # noqa: SIM105 - a per-value loop: contextlib.suppress costs a context manager a value
            nums[k] = float(text)
        except ValueError:
            pass  # not a number: stays NaN and not blank, so the check names it
    return nums, blank


def _prepared(aoi: BaseGeometry | None) -> BaseGeometry:
    geom = datasets.greater_london() if aoi is None else aoi
    shapely.prepare(geom)
    return geom


def _common(
    a: Values, b: Values
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    x, xblank = _parse(a)
    y, yblank = _parse(b)
    if x.shape != y.shape:
        msg = f"coordinate columns have different lengths ({x.size} and {y.size})."
        raise ValueError(msg)
    out = np.full(x.shape, None, dtype=object)
    out[xblank & yblank] = MISSING
    half = xblank ^ yblank
    out[half] = "coord_half_pair"
    bad = ~(xblank | yblank) & ~(np.isfinite(x) & np.isfinite(y))
    out[bad] = "coord_not_number"
    zero = (out == None) & (x == 0) & (y == 0)  # noqa: E711
    out[zero] = "coord_zero"
    return out, x, y


def _inside_lonlat(
    geom: BaseGeometry,
    lon: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
    mask: npt.NDArray[np.bool_],
    margin_m: float = 0.0,
) -> npt.NDArray[np.bool_]:
    """Which rows under ``mask`` fall inside ``geom`` or within ``margin_m`` of it (the
    others are False)."""
    out = np.zeros(lon.shape, dtype=bool)
    idx = np.flatnonzero(mask)
    if idx.size:
        ex, ny = lonlat_to_bng(lon[idx], lat[idx])
        out[idx] = _within(geom, ex, ny, margin_m)
    return out


def _inside(
    geom: BaseGeometry,
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    mask: npt.NDArray[np.bool_],
    margin_m: float = 0.0,
) -> npt.NDArray[np.bool_]:
    """Which BNG rows under ``mask`` fall inside ``geom`` or within ``margin_m`` of it (the
    others are False)."""
    out = np.zeros(x.shape, dtype=bool)
    idx = np.flatnonzero(mask)
    if idx.size:
        out[idx] = _within(geom, x[idx], y[idx], margin_m)
    return out


def _within(
    geom: BaseGeometry, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], margin_m: float
) -> npt.NDArray[np.bool_]:
    inside = np.asarray(shapely.contains_xy(geom, x, y), dtype=bool)
    out = ~inside & np.isfinite(x) & np.isfinite(y)
    if margin_m > 0 and out.any():
        near = shapely.distance(geom, shapely.points(x[out], y[out])) <= margin_m
        inside[np.flatnonzero(out)[near]] = True
    return inside


def classify_lonlat(
    lon: Values, lat: Values, *, aoi: BaseGeometry | None = None, margin_m: float = 0.0
) -> npt.NDArray[np.object_]:
    """Reason codes for WGS84 longitude/latitude pairs (``None`` where good).

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees, as numbers or text (blank = missing).
    aoi
        Area of interest in EPSG:27700; default Greater London.
    margin_m
        Points up to this far outside the area (metres) count as inside.

    Returns
    -------
    numpy.ndarray
        Object array of reason codes (see the module docstring), ``None`` for good points.
    """
    out, x, y = _common(lon, lat)
    todo = out == None  # noqa: E711
    ax, ay = np.abs(x), np.abs(y)
    bng = todo & (x >= 1000) & (y >= 1000) & (x <= _BNG_MAX_N) & (y <= _BNG_MAX_N)
    out[bng] = "coord_bng_as_latlon"
    todo &= ~bng
    invalid = todo & ((ay > 90) | (ax > 180))
    todo &= ~invalid
    geom = _prepared(aoi)
    # as given
    inside = _inside_lonlat(geom, x, y, todo, margin_m)
    # swapped (lat given as lon): only meaningful when the swapped pair is valid degrees
    sw_ok = (todo | invalid) & ~inside & (ax <= 90) & (ay <= 180)
    swapped = _inside_lonlat(geom, y, x, sw_ok)
    out[swapped] = "coord_swapped"
    out[invalid & ~swapped] = "coord_impossible"
    out[todo & ~inside & ~swapped] = "coord_outside_aoi"
    return out


def classify_bng(
    easting: Values, northing: Values, *, aoi: BaseGeometry | None = None, margin_m: float = 0.0
) -> npt.NDArray[np.object_]:
    """Reason codes for British National Grid easting/northing pairs (``None`` where good).

    Parameters
    ----------
    easting, northing
        Metres (EPSG:27700), as numbers or text (blank = missing).
    aoi
        Area of interest in EPSG:27700; default Greater London.
    margin_m
        Points up to this far outside the area (metres) count as inside.

    Returns
    -------
    numpy.ndarray
        Object array of reason codes (see the module docstring), ``None`` for good points.
    """
    out, x, y = _common(easting, northing)
    todo = out == None  # noqa: E711
    degrees = todo & (np.abs(x) <= 180) & (np.abs(y) <= 180)
    out[degrees] = "coord_latlon_as_bng"
    todo &= ~degrees
    geom = _prepared(aoi)
    inside = _inside(geom, x, y, todo, margin_m)
    swapped = _inside(geom, y, x, todo & ~inside)
    out[swapped] = "coord_swapped"
    todo &= ~(inside | swapped)
    invalid = todo & ((x < 0) | (y < 0) | (x > _BNG_MAX_E) | (y > _BNG_MAX_N))
    out[invalid] = "coord_impossible"
    out[todo & ~invalid] = "coord_outside_aoi"
    return out
