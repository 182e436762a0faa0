"""Limits: how often a client may ask and how much one request may cost.

- :class:`RateLimiter`: a token bucket per key (token id, or client address for failed
  logins: :class:`LoginThrottle`);
- :func:`parse_bbox` and :func:`bbox_area_km2`: the one bbox rule (the API's query parser and
  the limits middleware both use it);
- :func:`check_cost`: refuses, before any work, a request whose grid, kernel, bbox or number
  of journeys exceeds its role's limits, and a non-analyst's settings outside the small menu
  of published ones (:data:`PUBLIC_MENU`);
- :class:`HeavyGate`: at most ``n`` heavy computations at once; the others wait a bounded
  time, then are told to retry (never queued without bound).

Every refusal is a :class:`~geosafe._errors.LimitExceededError` subclass whose message
names the limit and the setting that raises it; ``api/errors.py`` gives the status.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from .._errors import LimitExceededError, RequestCostError, ValidationError

if TYPE_CHECKING:
    from .shared import Leases, SharedLimits

__all__ = [
    "PUBLIC_MENU",
    "BBox",
    "CostLimits",
    "HeavyGate",
    "LoginThrottle",
    "RateLimiter",
    "bbox_area_km2",
    "check_cost",
    "kde_cells",
    "parse_bbox",
]

#: The published settings a non-analyst may choose from (anything else is refused, so the
#: cache holds a handful of surfaces and no request can ask for an expensive one).
PUBLIC_MENU: Final[dict[str, tuple[Any, ...]]] = {
    "bandwidth_m": (250.0, 500.0, 1000.0),
    "cell_m": (25.0, 50.0, 100.0),
    "kernel": ("quartic", "gaussian"),
    "top_pct": (1.0, 2.0, 5.0, 10.0),
    "resolution": (7, 8),
}

#: Gaussian kernels are evaluated to 4 σ (as :mod:`geosafe.hotspots.kde`).
_GAUSS_REACH: Final = 4.0
#: Authalic radius of the WGS84 ellipsoid, metres (area of a lon/lat box on the sphere).
_R_AUTHALIC: Final = 6_371_007.2


# -- rates --------------------------------------------------------------------------------
class RateLimiter:
    """Token bucket per key: ``rate_per_minute`` requests a minute, bursts up to that.

    With ``shared`` (a :class:`~geosafe.access.shared.SharedLimits`) the buckets live in a
    database every worker process opens, so several workers count one limit; without it,
    in this process's memory. ``hit(key, rate=...)`` spends from a bucket with its own rate
    (a token created with ``--rate-per-minute``).
    """

    def __init__(
        self,
        rate_per_minute: float,
        *,
        shared: SharedLimits | None = None,
        prefix: str = "rate",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rate = float(rate_per_minute)
        self.shared = shared
        self.prefix = prefix
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def hit(self, key: str, *, rate: float | None = None) -> float:
        """Take one request; return 0 when allowed, else the seconds to wait."""
        rate = self.rate if rate is None else float(rate)
        now = self.clock()
        if self.shared is not None:
            if now >= self._next_sweep:  # forget idle keys (a scan of addresses)
                self._next_sweep = now + 600.0
                self.shared.forget(now - 3600.0)
            return self.shared.take(f"{self.prefix}:{key}", rate, now)
        with self._lock:
            level, last = self._buckets.get(key, (rate, now))
            level = min(rate, level + max(0.0, now - last) * rate / 60.0)
            if level >= 1.0:
                self._buckets[key] = (level - 1.0, now)
                return 0.0
            self._buckets[key] = (level, now)
            if len(self._buckets) > 100_000:  # forget idle keys (a scan of addresses)
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60.0 * 10}
            return (1.0 - level) * 60.0 / rate

    def wait(self, key: str) -> float:
        """Seconds until ``key``'s bucket holds one request again (nothing is spent)."""
        now = self.clock()
        if self.shared is not None:
            return self.shared.level(f"{self.prefix}:{key}", self.rate, now)
        with self._lock:
            level, last = self._buckets.get(key, (self.rate, now))
        level = min(self.rate, level + max(0.0, now - last) * self.rate / 60.0)
        return 0.0 if level >= 1.0 else (1.0 - level) * 60.0 / self.rate

    def check(
        self, key: str, *, who: str, what: str, setting: str, rate: float | None = None
    ) -> None:
        """Take one request or raise :class:`LimitExceededError` (with ``retry_after``)."""
        wait = self.hit(key, rate=rate)
        if wait > 0:
            msg = (
                f"rate limit of {self.rate if rate is None else rate:g} {what} a minute reached "
                f"for {who!r}; retry in {math.ceil(wait)} s (the limit is {setting})."
            )
            raise LimitExceededError(msg, retry_after=math.ceil(wait))


class LoginThrottle:
    """Failed logins per client address: ``per_minute`` failures a minute (bursts up to
    that); once they are spent every attempt from that address is refused until the bucket
    refills (shared by every worker with ``shared``)."""

    def __init__(self, per_minute: float, *, shared: SharedLimits | None = None) -> None:
        self._failures = RateLimiter(per_minute, shared=shared, prefix="login")

    def check(self, address: str) -> None:
        """Refuse an address that failed too often (:class:`LimitExceededError`)."""
        wait = self._failures.wait(address)
        if wait > 0:
            msg = (
                f"too many failed logins from {address!r}; retry in {math.ceil(wait)} s "
                "(GEOSAFE_ACCESS_LOGIN_FAILURES_PER_MINUTE)."
            )
            raise LimitExceededError(msg, retry_after=math.ceil(wait))

    def failed(self, address: str) -> None:
        """Count one failed login."""
        self._failures.hit(address)


# -- bbox ---------------------------------------------------------------------------------
_CRS84_NAMES: Final = frozenset(
    {"http://www.opengis.net/def/crs/OGC/1.3/CRS84", "CRS84", "OGC:CRS84"}
)
_BNG_NAMES: Final = frozenset({"http://www.opengis.net/def/crs/EPSG/0/27700", "EPSG:27700"})


@dataclass(frozen=True, slots=True)
class BBox:
    """A box ``(minx, miny, maxx, maxy)`` in ``crs`` (``"CRS84"`` lon/lat or
    ``"EPSG:27700"`` metres)."""

    bounds: tuple[float, float, float, float]
    crs: str

    def area_km2(self) -> float:
        """Area, km² (on the sphere of equal area for lon/lat boxes)."""
        x0, y0, x1, y1 = self.bounds
        if self.crs == "EPSG:27700":
            return (x1 - x0) * (y1 - y0) / 1e6
        dlon = math.radians(x1 - x0)
        band = math.sin(math.radians(y1)) - math.sin(math.radians(y0))
        return _R_AUTHALIC**2 * dlon * band / 1e6


def parse_bbox(text: str | None, crs: str | None = None) -> BBox | None:
    """An OGC ``bbox`` (4 or 6 numbers) in ``bbox-crs`` (CRS84, the default, or EPSG:27700).

    A lon/lat box that crosses the antimeridian (``minlon > maxlon``) never lies in England:
    it is read as every longitude.

    Raises
    ------
    ValidationError
        For an unknown CRS, a box that is not 4 or 6 finite numbers, minimum above maximum,
        or lon/lat out of range.
    """
    if crs is not None and crs not in _CRS84_NAMES | _BNG_NAMES:
        msg = (
            f"`bbox-crs` {crs!r} is not supported; use "
            "'http://www.opengis.net/def/crs/OGC/1.3/CRS84' or "
            "'http://www.opengis.net/def/crs/EPSG/0/27700'."
        )
        raise ValidationError(msg)
    if text is None:
        return None
    try:
        nums = [float(p) for p in text.split(",")]
    except ValueError:
        nums = []
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4 or not all(math.isfinite(v) for v in nums):
        msg = (
            f"`bbox` {text[:80]!r} is not 4 (or 6) comma-separated numbers; pass "
            "minx,miny,maxx,maxy."
        )
        raise ValidationError(msg)
    x0, y0, x1, y1 = nums
    if crs in _BNG_NAMES:
        if x0 > x1 or y0 > y1:
            msg = f"`bbox` {text!r} has its minimum above its maximum; pass minx,miny,maxx,maxy."
            raise ValidationError(msg)
        return BBox((x0, y0, x1, y1), "EPSG:27700")
    if y0 > y1 or not (
        -180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90
    ):
        msg = f"`bbox` {text!r} is not a lon/lat box; pass minlon,minlat,maxlon,maxlat in degrees."
        raise ValidationError(msg)
    if x0 > x1:
        return BBox((-180.0, y0, 180.0, y1), "CRS84")
    return BBox((x0, y0, x1, y1), "CRS84")


def bbox_area_km2(text: str, crs: str | None = None) -> float | None:
    """Area of an OGC ``bbox``, km²; ``None`` when it cannot be parsed (the route says why)."""
    try:
        box = parse_bbox(text, crs)
    except ValidationError:
        return None
    return None if box is None else box.area_km2()


# -- cost of one request ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CostLimits:
    """The most one request may ask for (from :class:`~geosafe.access.AccessSettings`)."""

    max_grid_cells: int = 4_000_000
    max_kernel_cells: int = 1_000_000
    max_bbox_km2: float = 400.0
    max_journeys: Mapping[str, int] | None = None

    def journeys_for(self, role: str) -> int:
        """The most origins one journey request of ``role`` may route."""
        table = self.max_journeys or {"analyst": 200, "school": 50, "neighbourhood": 0}
        return int(table.get(role, 0))


def kde_cells(
    extent_m: tuple[float, float], *, cell_m: float, bandwidth_m: float, kernel: str
) -> tuple[int, int]:
    """``(grid cells, kernel cells)`` of a density surface over a ``(width, height)``
    extent (metres), padded by the kernel's reach as :func:`geosafe.hotspots.kde` does."""
    reach = bandwidth_m * (1.0 if kernel == "quartic" else _GAUSS_REACH)
    nx = math.ceil((extent_m[0] + 2 * reach) / cell_m) + 1
    ny = math.ceil((extent_m[1] + 2 * reach) / cell_m) + 1
    k = 2 * max(1, math.ceil(reach / cell_m)) + 1
    return nx * ny, k * k


def check_cost(
    role: str,
    params: Mapping[str, Any],
    *,
    limits: CostLimits,
    extent_m: tuple[float, float] | None = None,
    journeys: int | None = None,
) -> None:
    """Refuse, before any work, a request its role may not afford.

    Parameters
    ----------
    role
        The caller's role; non-analysts may only choose values in :data:`PUBLIC_MENU`.
    params
        The analysis parameters the request asks for (``cell_m``, ``bandwidth_m``,
        ``kernel``, ``top_pct``, ``resolution``; absent ones are not checked).
    limits
        The limits in force.
    extent_m
        Width and height (metres) of the area the surface covers (the study area).
    journeys
        Number of origins a journey request asks to route.

    Raises
    ------
    RequestCostError
        Naming the parameter, the limit and how to stay under it.
    """
    if role != "analyst":
        for name, menu in PUBLIC_MENU.items():
            value = params.get(name)
            if value is None:
                continue
            if value not in menu:
                shown = ", ".join(str(v).removesuffix(".0") for v in menu)
                msg = (
                    f"`{name}` {value!r} is not one of the published settings for the "
                    f"{role!r} role; choose one of {shown}."
                )
                raise RequestCostError(msg)
    cell, bandwidth = params.get("cell_m"), params.get("bandwidth_m")
    if extent_m is not None and cell and bandwidth:
        kernel = str(params.get("kernel") or "quartic")
        grid, kern = kde_cells(
            extent_m, cell_m=float(cell), bandwidth_m=float(bandwidth), kernel=kernel
        )
        if grid > limits.max_grid_cells:
            msg = (
                f"`cell_m` {cell!r} with `bandwidth_m` {bandwidth!r} ({kernel}) needs a grid of "
                f"{grid:,} cells, more than the limit of {limits.max_grid_cells:,} "
                "(GEOSAFE_ACCESS_MAX_GRID_CELLS); use larger cells or a smaller bandwidth."
            )
            raise RequestCostError(msg)
        if kern > limits.max_kernel_cells:
            msg = (
                f"`bandwidth_m` {bandwidth!r} ({kernel}) over `cell_m` {cell!r} needs a kernel "
                f"of {kern:,} cells, more than the limit of {limits.max_kernel_cells:,} "
                "(GEOSAFE_ACCESS_MAX_KERNEL_CELLS); use larger cells or a smaller bandwidth."
            )
            raise RequestCostError(msg)
    if journeys is not None:
        most = limits.journeys_for(role)
        if journeys > most:
            msg = (
                f"{journeys} origins in one journey request; the {role!r} role may route at "
                f"most {most} at once (GEOSAFE_ACCESS_MAX_JOURNEYS); split the request."
            )
            raise RequestCostError(msg)


def check_bbox_area(box: BBox | None, *, limits: CostLimits) -> None:
    """Refuse a bbox larger than the limit (:class:`RequestCostError`)."""
    if box is None:
        return
    area = box.area_km2()
    if area > limits.max_bbox_km2:
        x0, y0, x1, y1 = box.bounds
        msg = (
            f"`bbox` {x0:g},{y0:g},{x1:g},{y1:g} covers {area:,.0f} km², more than the limit "
            f"of {limits.max_bbox_km2:g} km² (GEOSAFE_ACCESS_MAX_BBOX_KM2); request a "
            "smaller area."
        )
        raise RequestCostError(msg)


# -- concurrency ---------------------------------------------------------------------------
class HeavyGate:
    """At most ``slots`` heavy computations at once; a request that cannot start within
    ``wait_s`` is refused with a retry time (:class:`LimitExceededError`) rather than queued
    without bound. Work that outlives its request's time limit keeps its slot until it ends,
    so runaway work can never pile up beyond ``slots``.

    With ``leases`` (:class:`~geosafe.access.shared.Leases`) the slots are shared by every
    worker process of the service (leased rows in the limits database); this process also
    never runs more than ``slots`` itself.
    """

    def __init__(self, slots: int, *, wait_s: float = 10.0, leases: Leases | None = None) -> None:
        self.slots = int(slots)
        self.wait_s = float(wait_s)
        self.leases = leases
        self._sem = threading.BoundedSemaphore(self.slots)
        self._lock = threading.Lock()
        self.running = 0
        self.peak = 0

    def _refuse(self) -> LimitExceededError:
        msg = (
            f"{self.slots} heavy computations are already running; retry in a few seconds "
            "(GEOSAFE_ACCESS_HEAVY_SLOTS)."
        )
        return LimitExceededError(msg, retry_after=max(1, math.ceil(self.wait_s)))

    def acquire(self) -> int | None:
        """Take a slot or raise :class:`LimitExceededError` after ``wait_s``; returns the
        shared slot's number (``None`` without leases) for :meth:`release`."""
        deadline = time.monotonic() + self.wait_s
        if not self._sem.acquire(timeout=self.wait_s):
            raise self._refuse()
        ticket = None
        if self.leases is not None:
            pause = 0.02
            try:
                while (ticket := self.leases.try_take(self.slots)) is None:
                    if time.monotonic() + pause > deadline:
                        raise self._refuse()
                    time.sleep(pause)
                    pause = min(0.25, pause * 1.5)
            except BaseException:
                self._sem.release()
                raise
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        return ticket

    def release(self, ticket: int | None = None) -> None:
        """Give a slot back (``ticket``: what :meth:`acquire` returned)."""
        try:
            if self.leases is not None and ticket is not None:
                self.leases.give_back(ticket)
        finally:
            with self._lock:
                self.running -= 1
            self._sem.release()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """``with gate.slot(): ...`` around one heavy computation."""
        ticket = self.acquire()
        try:
            yield
        finally:
            self.release(ticket)
