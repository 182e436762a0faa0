"""A bus route (and optionally the stops between which it was ridden) as a line.

An incident on a moving bus known only by route and direction (and perhaps the stops it
happened between) is not a point: it is stored as the stretch of that route inside the demo
area, a LineString through the TfL stop sequence (:func:`geosafe.datasets.bus_sequences`,
2019; ``Run`` is the direction, 1 or 2). The line joins consecutive stops straight (stop
spacing in the area is ~300 m, so this is within the precision claimed). Precision is half
the stretch's length; the representative point is its midpoint.

- no direction: run 1, unless ``from_stop``/``to_stop`` only appear in that order on run 2;
- ``from_stop``/``to_stop``: NaPTAN ATCO or LBSL codes on that run; when the two appear in
  reverse order on the given run, the other run is used if they are in order there;
- a route missing from the bundled sequences, or one whose stretch does not enter the demo
  area, places nothing (``method == "none"`` with a reason; not an input error);
- clipping can cut a route into pieces (it leaves and re-enters the area): the longest piece
  is kept and the others are dropped (logged).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry

from .. import datasets

__all__ = ["RouteIndex", "RouteStretch", "normalise_route"]

log = logging.getLogger(__name__)


def normalise_route(route: object) -> str | None:
    """Upper-case, strip spaces and leading zeros of a numeric route; ``None`` when blank."""
    if route is None or (isinstance(route, float) and np.isnan(route)):
        return None
    text = str(route).strip().upper().replace(" ", "")
    if text.isdigit():
        text = text.lstrip("0") or "0"
    return text or None


@dataclass(frozen=True)
class RouteStretch:
    """The stretch of a route: line (EPSG:27700), run and the stop codes it passes."""

    route: str
    run: int
    line: LineString
    stops: tuple[str, ...]


@dataclass(frozen=True)
class RouteIndex:
    """Stop sequences per (route, run), from the bundled TfL sequences."""

    runs: dict[tuple[str, int], pd.DataFrame]
    area: BaseGeometry

    @classmethod
    def load(cls, data_dir: Path | str | None = None) -> RouteIndex:
        """Build once per data directory."""
        return _index(Path(data_dir) if data_dir is not None else None)

    @property
    def routes(self) -> tuple[str, ...]:
        """The routes in the bundled sequences."""
        return tuple(sorted({r for r, _ in self.runs}))

    def stops_of(self, route: str, run: int) -> pd.DataFrame:
        """Ordered stops of one run (columns of the TfL sequence file)."""
        return self.runs[(route, run)]

    def _positions(self, seq: pd.DataFrame, code: str | None) -> list[int]:
        if code is None:
            return []
        c = code.strip().upper()
        hit = (seq["Naptan_Atco"].str.upper() == c) | (seq["Stop_Code_LBSL"].str.upper() == c)
        return list(np.flatnonzero(hit.to_numpy()))

    def stretch(
        self,
        route: object,
        *,
        direction: int | None = None,
        from_stop: str | None = None,
        to_stop: str | None = None,
    ) -> tuple[RouteStretch | None, str | None]:
        """``(stretch, None)`` or ``(None, reason)``; the stretch is clipped to the area."""
        key = normalise_route(route)
        if key is None:
            return None, "no route given"
        runs = [r for r in (1, 2) if (key, r) in self.runs]
        if not runs:
            return None, f"route {route!r} is not in the bundled TfL sequences of the demo area"
        if direction is not None:
            if int(direction) not in (1, 2):
                return None, f"direction {direction!r} must be 1 or 2"
            order = [int(direction)] + [r for r in runs if r != int(direction)]
        else:
            order = runs
        order = [r for r in order if r in runs]
        chosen: tuple[int, int, int] | None = None
        for i, run in enumerate(order):
            seq = self.runs[(key, run)]
            a_pos = self._positions(seq, from_stop) if from_stop else [0]
            b_pos = self._positions(seq, to_stop) if to_stop else [len(seq) - 1]
            pairs = [(a, b) for a in a_pos for b in b_pos if a < b]
            if pairs:
                a, b = min(pairs, key=lambda p: p[1] - p[0])
                chosen = (run, a, b)
                break
            if i == 0 and direction is not None and not (from_stop or to_stop):
                break
        if chosen is None:
            return None, (
                f"stops {from_stop!r} -> {to_stop!r} are not in that order on route {key!r}"
            )
        run, a, b = chosen
        seq = self.runs[(key, run)].iloc[a : b + 1]
        xy = seq[["Location_Easting", "Location_Northing"]].to_numpy(dtype=float)
        line = LineString(xy)
        clipped = shapely.intersection(line, self.area)
        if isinstance(clipped, MultiLineString):
            merged = shapely.line_merge(clipped)
            if isinstance(merged, MultiLineString):
                parts = sorted(merged.geoms, key=lambda g: g.length, reverse=True)
                log.info(
                    "route %s run %d leaves the area: kept the longest of %d pieces",
                    key,
                    run,
                    len(parts),
                )
                merged = parts[0]
            clipped = merged
        if not isinstance(clipped, LineString) or clipped.is_empty or clipped.length == 0:
            return None, f"route {key!r} (run {run}) does not pass through the demo area"
        inside = seq[shapely.contains_xy(self.area, xy[:, 0], xy[:, 1])]
        return RouteStretch(key, run, clipped, tuple(inside["Naptan_Atco"])), None


@functools.cache
def _index(data_dir: Path | None) -> RouteIndex:
    seq = datasets.bus_sequences(data_dir)
    seq = seq[(seq["Location_Easting"] > 0) & (seq["Location_Northing"] > 0)]
    runs: dict[tuple[str, int], pd.DataFrame] = {}
    for (route, run), grp in seq.groupby(["Route", "Run"], sort=False):
        key = normalise_route(route)
        if key is None or run not in (1, 2):
            continue
        runs[(key, int(run))] = grp.sort_values("Sequence").reset_index(drop=True)
    area = datasets.demo_area(data_dir)
    shapely.prepare(area)
    return RouteIndex(runs=runs, area=area)
