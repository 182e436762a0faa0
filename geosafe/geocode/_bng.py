"""WGS84 -> British National Grid without PROJ: :data:`~geosafe.geocode.points.BNG_PIPELINE`
(the operation PROJ itself chooses when the OSTN15 grid is not installed) in numpy.

Why: importing pyproj (and the ``numpy.ma``, ``urllib``, ``ssl`` and ``importlib.metadata``
it pulls in) is ~30-60 ms, the largest import of a small police.uk import after numpy
(issue 16: a 10,000-row import under 0.4 s). The transform is fixed and small, so it is
written out here and held to pyproj's answer in ``tests/geocode/test_bng_numpy.py``: within
a micrometre across Great Britain and its seas (the two differ only in floating-point
rounding; the operation itself is the 7-parameter Helmert of EPSG:1314, good to ~2 m).

Steps, as the pipeline's: degrees -> radians; geodetic -> geocentric on WGS84; the inverse of
the position-vector Helmert (PROJ's small-angle rotation matrix, transposed, as PROJ runs it
backwards); geocentric -> geodetic on Airy 1830; the transverse Mercator of the National Grid
(Krüger's series to the sixth order in the third flattening, as PROJ's default algorithm and
Karney 2011, eq. 35). Heights are zero in and out (2D points), as the pipeline's
``push v_3``/``pop v_3``.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["lonlat_to_bng"]

_ARCSEC: Final = math.pi / 648_000.0

# WGS84 and Airy 1830
_A_WGS84: Final = 6_378_137.0
_F_WGS84: Final = 1.0 / 298.257223563
_A_AIRY: Final = 6_377_563.396
_F_AIRY: Final = 1.0 / 299.3249646  # PROJ's "airy": a and the inverse flattening
_B_AIRY: Final = _A_AIRY * (1 - _F_AIRY)

# Helmert (EPSG:1314, OSGB36 -> WGS84, position vector), as in the pipeline
_T: Final = (446.448, -125.157, 542.06)
_RX, _RY, _RZ = (0.15 * _ARCSEC, 0.247 * _ARCSEC, 0.842 * _ARCSEC)
_S: Final = -20.489e-6

# National Grid
_LAT0: Final = math.radians(49.0)
_LON0: Final = math.radians(-2.0)
_K0: Final = 0.9996012717
_E0: Final = 400_000.0
_N0: Final = -100_000.0


def _kruger(n: float) -> tuple[float, tuple[float, ...]]:
    """The rectifying radius over ``a`` and the series' coefficients alpha_1..6."""
    n2, n3, n4, n5, n6 = n**2, n**3, n**4, n**5, n**6
    radius = (1 + n2 / 4 + n4 / 64 + n6 / 256) / (1 + n)
    alpha = (
        n / 2 - 2 * n2 / 3 + 5 * n3 / 16 + 41 * n4 / 180 - 127 * n5 / 288 + 7891 * n6 / 37800,
        13 * n2 / 48 - 3 * n3 / 5 + 557 * n4 / 1440 + 281 * n5 / 630 - 1983433 * n6 / 1935360,
        61 * n3 / 240 - 103 * n4 / 140 + 15061 * n5 / 26880 + 167603 * n6 / 181440,
        49561 * n4 / 161280 - 179 * n5 / 168 + 6601661 * n6 / 7257600,
        34729 * n5 / 80640 - 3418889 * n6 / 1995840,
        212378941 * n6 / 319334400,
    )
    return radius, alpha


_N_AIRY: Final = _F_AIRY / (2 - _F_AIRY)
_E2_AIRY: Final = _F_AIRY * (2 - _F_AIRY)
_E_AIRY: Final = math.sqrt(_E2_AIRY)
_RADIUS, _ALPHA = _kruger(_N_AIRY)


def _xi_eta(lat: np.ndarray, dlon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The series' xi, eta (units of the rectifying radius) of Airy latitudes and
    longitudes from the central meridian (radians)."""
    tau = np.tan(lat)
    sigma = np.sinh(_E_AIRY * np.arctanh(_E_AIRY * tau / np.hypot(1.0, tau)))
    tau_c = tau * np.hypot(1.0, sigma) - sigma * np.hypot(1.0, tau)  # conformal latitude
    cos_l = np.cos(dlon)
    xi_c = np.arctan2(tau_c, cos_l)
    eta_c = np.arcsinh(np.sin(dlon) / np.hypot(tau_c, cos_l))
    xi, eta = xi_c.copy(), eta_c.copy()
    for j, a in enumerate(_ALPHA, start=1):
        xi += a * np.sin(2 * j * xi_c) * np.cosh(2 * j * eta_c)
        eta += a * np.cos(2 * j * xi_c) * np.sinh(2 * j * eta_c)
    return xi, eta


#: Beyond this eta PROJ's tmerc answers an error (infinities), and so does :func:`lonlat_to_bng`.
_ETA_MAX: Final = 2.623395162778

_XI0: Final = float(_xi_eta(np.array([_LAT0]), np.array([0.0]))[0][0])


def _geodetic(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geocentric -> geodetic latitude and longitude on Airy 1830 by Bowring's formula in one
    step, as PROJ's ``cart`` inverts (for a point ~60 m off the ellipsoid, as after the
    Helmert, it is ~0.7 mm from the exact latitude; the pipeline's answer is the one held)."""
    p = np.hypot(x, y)
    theta = np.arctan2(z * _A_AIRY, p * _B_AIRY)
    c, s = np.cos(theta), np.sin(theta)
    e2s = _E2_AIRY / (1 - _E2_AIRY)
    lat = np.arctan2(z + e2s * _B_AIRY * s**3, p - _E2_AIRY * _A_AIRY * c**3)
    return lat, np.arctan2(y, x)


def lonlat_to_bng(
    lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """WGS84 degrees to British National Grid metres by the pipeline without OSTN15
    (NaN in, NaN out; an infinite coordinate gives infinities, as PROJ)."""
    lon_r = np.radians(np.asarray(lon, dtype=float))
    lat_r = np.radians(np.asarray(lat, dtype=float))
    bad = ~(np.isfinite(lon_r) & np.isfinite(lat_r))
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite input: answered below
        # geodetic -> geocentric, WGS84, height 0
        e2 = _F_WGS84 * (2 - _F_WGS84)
        sin_lat, cos_lat = np.sin(lat_r), np.cos(lat_r)
        big_n = _A_WGS84 / np.sqrt(1 - e2 * sin_lat**2)
        x = big_n * cos_lat * np.cos(lon_r)
        y = big_n * cos_lat * np.sin(lon_r)
        z = big_n * (1 - e2) * sin_lat
        # the Helmert backwards: remove the translation and scale, rotate by the transpose
        scale = 1 + _S
        x, y, z = (x - _T[0]) / scale, (y - _T[1]) / scale, (z - _T[2]) / scale
        x, y, z = (x + _RZ * y - _RY * z, -_RZ * x + y + _RX * z, _RY * x - _RX * y + z)
        lat_a, lon_a = _geodetic(x, y, z)
        xi, eta = _xi_eta(lat_a, lon_a - _LON0)
    scale_m = _K0 * _A_AIRY * _RADIUS
    easting = _E0 + scale_m * eta
    northing = _N0 + scale_m * (xi - _XI0)
    # PROJ's limit of the series (~ 90 degrees of longitude from the central meridian)
    bad = bad | ~(np.abs(eta) <= _ETA_MAX)
    if bad.any():
        inf = bad & ~(np.isnan(lon_r) | np.isnan(lat_r))
        easting = np.where(bad, np.where(inf, np.inf, np.nan), easting)
        northing = np.where(bad, np.where(inf, np.inf, np.nan), northing)
    return np.asarray(easting, dtype=float), np.asarray(northing, dtype=float)
