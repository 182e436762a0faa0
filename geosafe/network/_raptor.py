"""RAPTOR internals: the per-day timetable arrays and the compiled round-based search.

Private to :mod:`geosafe.network.transit`. The search kernel is plain Python written for
numba's ``njit`` (compiled and cached on first use when numba is installed; run as
Python otherwise, which is correct but about 100x slower).

The kernel is the RAPTOR of Delling, Pajor and Werneck (2012, "Round-Based Public Transit
Routing"), with local and target pruning, stop times in integer seconds, a minimum
same-stop transfer time and transitively closed footpaths. Arrive-by queries run the same
kernel on a time-reversed copy of the day (stop order reversed, times negated, pick-up and
drop-off swapped, footpaths reversed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph

try:  # pragma: no cover - exercised implicitly
    from numba import njit as _njit

    def jit(fn: Any) -> Any:
        return _njit(cache=True, nogil=True)(fn)

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - numba is a declared dependency
    HAVE_NUMBA = False

    def jit(fn: Any) -> Any:
        return fn


INF = np.int64(1) << np.int64(60)

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class DayTables:
    """The trips of one service day (and the neighbouring days' trips that run into it),
    grouped into FIFO patterns, as flat arrays for the kernel.

    Pattern ``p`` calls at ``p_stops[p_stop_off[p]:p_stop_off[p+1]]`` (length ``p_len[p]``);
    its ``n`` trips' times are ``arr``/``dep`` rows ``p_time_off[p] + t*p_len[p] + i``,
    sorted so that no trip overtakes another. ``trip_ref[p_trip_off[p] + t]`` indexes the
    instance tables of the router (trip id, time offset).
    """

    n_stops: int
    p_stop_off: I64
    p_stops: I64
    p_board: npt.NDArray[np.bool_]
    p_alight: npt.NDArray[np.bool_]
    p_len: I64
    p_trip_off: I64
    p_time_off: I64
    arr: I64
    dep: I64
    p_route: I64
    trip_ref: I64
    trip_offset: I64
    s_pat_off: I64
    s_pat: I64
    s_pat_pos: I64
    fp_off: I64
    fp_to: I64
    fp_dur: I64

    @property
    def n_patterns(self) -> int:
        return len(self.p_len)

    def pattern_arrays(self) -> tuple[Any, ...]:
        """The patterns and their trips' times, as :func:`scan_routes` takes them."""
        return (
            self.p_stop_off,
            self.p_stops,
            self.p_board,
            self.p_alight,
            self.p_len,
            self.p_trip_off,
            self.p_time_off,
            self.arr,
            self.dep,
        )

    def stop_patterns(self) -> tuple[I64, I64, I64]:
        """The patterns through each stop and the stop's position in them."""
        return self.s_pat_off, self.s_pat, self.s_pat_pos

    def footpaths(self) -> tuple[I64, I64, I64]:
        """The footpaths from each stop (CSR: offsets, targets, seconds)."""
        return self.fp_off, self.fp_to, self.fp_dur

    def kernel_args(self) -> tuple[Any, ...]:
        """The tables as :func:`raptor_kernel`'s leading arguments."""
        return (self.n_stops, *self.pattern_arrays(), *self.stop_patterns(), *self.footpaths())


@jit
def _chain_ids(arr, dep):
    """Chain index of each trip (rows sorted by first departure) such that no trip
    overtakes the previous one of its chain at any stop (greedy, first chain that fits)."""
    n, L = arr.shape
    chain = np.empty(n, dtype=np.int64)
    last = np.empty(n, dtype=np.int64)
    n_chains = 0
    for r in range(n):
        placed = False
        for c in range(n_chains):
            q = last[c]
            ok = True
            for i in range(L):
                if arr[r, i] < arr[q, i] or dep[r, i] < dep[q, i]:
                    ok = False
                    break
            if ok:
                chain[r] = c
                last[c] = r
                placed = True
                break
        if not placed:
            chain[r] = n_chains
            last[n_chains] = r
            n_chains += 1
    return chain


def _fifo_chains(arr: I64, dep: I64) -> list[list[int]]:
    """Split trips (rows, already sorted by first departure) into chains in which no trip
    overtakes the previous one at any stop."""
    ids = _chain_ids(np.ascontiguousarray(arr), np.ascontiguousarray(dep))
    return [np.flatnonzero(ids == c).tolist() for c in range(int(ids.max()) + 1)]


def build_day(
    n_stops: int,
    patterns: list[tuple[I64, npt.NDArray[np.bool_], npt.NDArray[np.bool_], int]],
    pattern_times: list[tuple[I64, I64]],
    inst_pattern: I64,
    inst_row: I64,
    inst_offset: I64,
    inst_active: npt.NDArray[np.bool_],
    footpaths: tuple[I64, I64, I64],
    *,
    reverse: bool = False,
) -> DayTables:
    """Assemble :class:`DayTables` from the router's static pattern tables.

    ``patterns[k] = (stops, board_ok, alight_ok, route_index)``, ``pattern_times[k] =
    (arr, dep)`` with one row per template trip; instance ``j`` runs template row
    ``inst_row[j]`` of pattern ``inst_pattern[j]`` shifted by ``inst_offset[j]`` seconds
    when ``inst_active[j]``. ``footpaths = (from, to, seconds)``.
    """
    p_stops: list[I64] = []
    p_board: list[npt.NDArray[np.bool_]] = []
    p_alight: list[npt.NDArray[np.bool_]] = []
    arrs: list[I64] = []
    deps: list[I64] = []
    lens: list[int] = []
    ntrips: list[int] = []
    routes: list[int] = []
    refs: list[I64] = []
    offs: list[I64] = []
    act = np.flatnonzero(inst_active)
    order = np.argsort(inst_pattern[act], kind="stable")
    act = act[order]
    bounds = np.searchsorted(inst_pattern[act], np.arange(len(patterns) + 1))
    for k, (stops, board, alight, route) in enumerate(patterns):
        sel = act[bounds[k] : bounds[k + 1]]
        if not len(sel):
            continue
        t_arr, t_dep = pattern_times[k]
        rows = inst_row[sel]
        off = inst_offset[sel][:, None]
        a = t_arr[rows] + off
        d = t_dep[rows] + off
        s, b, al = stops, board, alight
        if reverse:
            a, d = -d[:, ::-1], -a[:, ::-1]
            s, b, al = stops[::-1], alight[::-1], board[::-1]
        o = np.lexsort((a[:, -1], d[:, 0]))
        a, d, sel = a[o], d[o], sel[o]
        ok = bool(np.all(np.diff(a, axis=0) >= 0) and np.all(np.diff(d, axis=0) >= 0))
        chains = [list(range(len(sel)))] if ok else _fifo_chains(a, d)
        for chain in chains:
            idx = np.asarray(chain, dtype=np.int64)
            p_stops.append(np.ascontiguousarray(s, dtype=np.int64))
            p_board.append(np.ascontiguousarray(b))
            p_alight.append(np.ascontiguousarray(al))
            arrs.append(np.ascontiguousarray(a[idx]).ravel())
            deps.append(np.ascontiguousarray(d[idx]).ravel())
            lens.append(len(s))
            ntrips.append(len(idx))
            routes.append(route)
            refs.append(sel[idx])
            offs.append(inst_offset[sel[idx]])
    p_len = np.asarray(lens, dtype=np.int64)
    p_stop_off = np.concatenate([[0], np.cumsum(p_len)]).astype(np.int64)
    p_trip_off = np.concatenate([[0], np.cumsum(ntrips)]).astype(np.int64)
    p_time_off = np.concatenate([[0], np.cumsum(p_len * np.asarray(ntrips, dtype=np.int64))])
    flat_stops = np.concatenate(p_stops) if p_stops else np.zeros(0, np.int64)
    # stop -> (pattern, position) incidence
    pat_of = np.repeat(np.arange(len(p_len), dtype=np.int64), p_len)
    pos_of = np.arange(len(flat_stops), dtype=np.int64) - np.repeat(p_stop_off[:-1], p_len)
    o = np.argsort(flat_stops, kind="stable")
    s_pat_off = np.searchsorted(flat_stops[o], np.arange(n_stops + 1)).astype(np.int64)
    f_from, f_to, f_dur = footpaths
    if reverse:
        f_from, f_to = f_to, f_from
    fo = np.lexsort((f_to, f_from))
    fp_off = np.searchsorted(f_from[fo], np.arange(n_stops + 1)).astype(np.int64)
    return DayTables(
        n_stops=n_stops,
        p_stop_off=p_stop_off,
        p_stops=flat_stops,
        p_board=np.concatenate(p_board) if p_board else np.zeros(0, bool),
        p_alight=np.concatenate(p_alight) if p_alight else np.zeros(0, bool),
        p_len=p_len,
        p_trip_off=p_trip_off,
        p_time_off=p_time_off[:-1].astype(np.int64) if len(p_len) else np.zeros(0, np.int64),
        arr=np.concatenate(arrs) if arrs else np.zeros(0, np.int64),
        dep=np.concatenate(deps) if deps else np.zeros(0, np.int64),
        p_route=np.asarray(routes, dtype=np.int64),
        trip_ref=np.concatenate(refs) if refs else np.zeros(0, np.int64),
        trip_offset=np.concatenate(offs) if offs else np.zeros(0, np.int64),
        s_pat_off=s_pat_off,
        s_pat=pat_of[o],
        s_pat_pos=pos_of[o],
        fp_off=fp_off,
        fp_to=np.ascontiguousarray(f_to[fo], dtype=np.int64),
        fp_dur=np.ascontiguousarray(f_dur[fo], dtype=np.int64),
    )


def project_stops(
    lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64], crs: str | None
) -> tuple[npt.NDArray[np.float64], str]:
    """Stop lon/lat to ``crs`` (default: EPSG:27700 in Great Britain, else the UTM zone);
    NaN rows stay NaN."""
    ok = np.isfinite(lon) & np.isfinite(lat)
    if crs is None:
        if ok.any() and np.all((lon[ok] > -9) & (lon[ok] < 2.5) & (lat[ok] > 49) & (lat[ok] < 61)):
            crs = "EPSG:27700"
        else:
            from pyproj.aoi import AreaOfInterest
            from pyproj.database import query_utm_crs_info

            lo, la = (float(np.nanmean(lon)), float(np.nanmean(lat))) if ok.any() else (0.0, 0.0)
            info = query_utm_crs_info(
                datum_name="WGS 84", area_of_interest=AreaOfInterest(lo, la, lo, la)
            )
            crs = f"EPSG:{info[0].code}"
    tr = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = tr.transform(np.where(ok, lon, 0.0), np.where(ok, lat, 0.0))
    xy = np.column_stack([x, y])
    xy[~ok] = np.nan
    return xy, crs


def close_footpaths(
    n: int, rows: list[int], cols: list[int], secs: list[float], forbidden: set[tuple[int, int]]
) -> tuple[I64, I64, I64]:
    """Transitively closed footpaths ``(from, to, seconds)`` over ``n`` stops from direct
    ones (the first of duplicate pairs wins); ``forbidden`` pairs are left out."""
    if not rows:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    # explicit transfers.txt durations win over generated walks for the same pair
    df = pd.DataFrame({"a": rows, "b": cols, "s": secs}).drop_duplicates(["a", "b"], keep="first")
    g = sparse.csr_array((df["s"].to_numpy() + 1e-9, (df["a"], df["b"])), shape=(n, n))
    used = np.unique(np.r_[df["a"].to_numpy(), df["b"].to_numpy()])
    dist = csgraph.dijkstra(g, directed=True, indices=used)
    out_a: list[npt.NDArray[np.int64]] = []
    out_b: list[npt.NDArray[np.int64]] = []
    out_s: list[npt.NDArray[np.int64]] = []
    for row, a in zip(dist, used, strict=True):
        ok = np.isfinite(row)
        ok[a] = False
        targets = np.flatnonzero(ok)
        if len(targets):
            keep = np.asarray([(int(a), int(b)) not in forbidden for b in targets], dtype=bool)
            targets = targets[keep]
            out_a.append(np.full(len(targets), a, dtype=np.int64))
            out_b.append(targets.astype(np.int64))
            out_s.append(np.round(row[targets]).astype(np.int64))
    if not out_a:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    return np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_s)


def block_chains(
    trips: pd.DataFrame,
    slices: dict[str, tuple[int, int]],
    sidx: npt.NDArray[np.int64],
    arr: npt.NDArray[np.int64],
    dep: npt.NDArray[np.int64],
    freq_ids: set[str],
    max_layover_s: int,
) -> list[list[str]]:
    """Trips to run as one vehicle: consecutive trips of a ``block_id`` (same service)
    where the next starts at the stop where the previous ends, at most
    ``max_layover_s`` after it arrives. Passengers stay seated there (no transfer
    time), as GTFS blocks allow; across a longer layover they must get off (and, as in
    nigiri, change like any other transfer). Every other trip is a chain of one."""
    chains: list[list[str]] = []
    done: set[str] = set()
    if "block_id" in trips and (trips["block_id"] != "").any():
        sub = trips[(trips["block_id"] != "") & ~trips["trip_id"].isin(freq_ids)]
        sub = sub[sub["trip_id"].isin(list(slices))]
        for _, grp in sub.groupby(["block_id", "service_id"]):
            ids = sorted(grp["trip_id"], key=lambda t: dep[slices[t][0]])
            chain = [ids[0]]
            for t in ids[1:]:
                _, pb = slices[chain[-1]]
                a, _ = slices[t]
                layover = dep[a] - arr[pb - 1]
                if sidx[pb - 1] == sidx[a] and 0 <= layover <= max_layover_s:
                    chain.append(t)
                else:
                    chains.append(chain)
                    chain = [t]
            chains.append(chain)
        done = {t for c in chains for t in c}
    chains += [[t] for t in slices if t not in done]
    return chains


class ShapeLines:
    """``shapes.txt`` lines in a projected CRS, built on first use, cut per ride.

    Each shape keeps its vertices and cumulative length; where a stop falls along a shape
    is computed once per (shape, stop), so cutting a ride is a slice plus two
    interpolated end points.
    """

    def __init__(self, trips: pd.DataFrame, shapes: pd.DataFrame | None, crs: str) -> None:
        self.shapes = shapes
        self.crs = crs
        self.shape_of: dict[str, str] = (
            dict(zip(trips["trip_id"], trips["shape_id"], strict=True))
            if shapes is not None and "shape_id" in trips
            else {}
        )
        self._lines: dict[str, tuple[Any, npt.NDArray[np.float64], npt.NDArray[np.float64]]] = {}
        self._along: dict[tuple[str, int], float] = {}

    def line(self, shape_id: str) -> Any:
        """The shape as a LineString (``None`` if it has fewer than two valid points)."""
        got = self._get(shape_id)
        return None if got is None else got[0]

    def _get(
        self, shape_id: str
    ) -> tuple[Any, npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
        if shape_id not in self._lines and self.shapes is not None:
            pts = self.shapes[self.shapes["shape_id"] == shape_id].copy()
            pts["seq"] = pd.to_numeric(pts["shape_pt_sequence"], errors="coerce")
            pts = pts.sort_values("seq")
            lon = pd.to_numeric(pts["shape_pt_lon"], errors="coerce").to_numpy(float)
            lat = pd.to_numeric(pts["shape_pt_lat"], errors="coerce").to_numpy(float)
            tr = pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
            x, y = tr.transform(lon, lat)
            ok = np.isfinite(x) & np.isfinite(y)
            xy = np.column_stack([x[ok], y[ok]])
            if len(xy) >= 2:
                cum = np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]
                self._lines[shape_id] = (shapely.LineString(xy), xy, cum)
        return self._lines.get(shape_id)

    def ride(
        self,
        trip_id: str,
        a: tuple[int, npt.NDArray[np.float64]],
        b: tuple[int, npt.NDArray[np.float64]],
    ) -> Any:
        """The trip's shape between the points nearest stops ``a`` and ``b`` (each
        ``(stop index, xy)``); ``None`` when the trip has no shape, a stop has no position,
        or the cut would run backwards (loops)."""
        sid = self.shape_of.get(trip_id, "")
        got = self._get(sid) if sid else None
        if got is None:
            return None
        line, xy, cum = got
        ends = []
        for stop, p in (a, b):
            if not np.all(np.isfinite(p)):
                return None
            key = (sid, stop)
            if key not in self._along:
                self._along[key] = float(line.project(shapely.Point(p)))
            ends.append(self._along[key])
        d0, d1 = ends
        if not d1 > d0:
            return None
        i0, i1 = np.searchsorted(cum, [d0, d1], side="right")
        p0 = np.array([np.interp(d0, cum, xy[:, 0]), np.interp(d0, cum, xy[:, 1])])
        p1 = np.array([np.interp(d1, cum, xy[:, 0]), np.interp(d1, cum, xy[:, 1])])
        return shapely.LineString(np.vstack([p0, xy[i0:i1], p1]))


@jit
def first_trip_from(dep, to, L, i, n, b):
    """The first of trips ``0..n-1`` of a pattern (times at ``to``, ``L`` stops) departing
    stop position ``i`` at or after ``b`` (``n`` if none): binary search, trips are FIFO."""
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) // 2
        if dep[to + mid * L + i] >= b:
            hi = mid
        else:
            lo = mid + 1
    return lo


@jit
def mark(s, marked, marked_list, n_marked):
    """Mark stop ``s`` for the next round (once); returns the new count of marked stops."""
    if not marked[s]:
        marked[s] = True
        marked_list[n_marked] = s
        n_marked += 1
    return n_marked


@jit
def queue_patterns(
    marked, marked_list, n_marked, s_pat_off, s_pat, s_pat_pos, q_pos, q_list, p_len
):
    """Unmark the marked stops and queue every pattern through them, from its earliest
    marked position (``q_pos``, ``-1`` when not queued); returns the queue length and the
    number of pattern positions the round will scan."""
    n_q = 0
    for m in range(n_marked):
        s = marked_list[m]
        marked[s] = False
        for e in range(s_pat_off[s], s_pat_off[s + 1]):
            p = s_pat[e]
            pos = s_pat_pos[e]
            if q_pos[p] < 0:
                q_pos[p] = pos
                q_list[n_q] = p
                n_q += 1
            elif pos < q_pos[p]:
                q_pos[p] = pos
    n_scan = 0
    for qi in range(n_q):
        n_scan += p_len[q_list[qi]] - q_pos[q_list[qi]]
    return n_q, n_scan


@jit
def scan_routes(
    q_list,
    n_q,
    q_pos,
    board_prev,
    bound,
    limit,
    pattern_arrays,
    ev,
):
    """The route scans of one RAPTOR round: along each queued pattern ``q_list[:n_q]`` from
    its position ``q_pos[p]`` (reset to ``-1``), ride the earliest trip that can be boarded
    (at or after ``board_prev[stop]``, the previous round's boarding times) and catch an
    earlier one wherever possible. ``pattern_arrays`` is ``(p_stop_off, p_stops, p_board,
    p_alight, p_len, p_trip_off, p_time_off, arr, dep)`` of :class:`DayTables`.

    Writes the stops where a trip lets passengers off earlier than ``bound[stop]`` and
    ``limit`` (the caller's labels and target bound as the round starts), in scan order, as
    rows of ``ev``: pattern, stop, arrival, trip index in the pattern, boarding and
    alighting positions (``ev`` has at least as many rows as the positions
    :func:`queue_patterns` counted, the most one round can write); returns how many. The caller updates
    its labels from them, checking each against its labels as they then are; the choice of
    trip never depends on the labels. One call per round: a call per pattern (each passing
    a dozen arrays) made the kernels 10-30 % slower."""
    p_stop_off, p_stops, p_board, p_alight, p_len, p_trip_off, p_time_off, arr, dep = pattern_arrays
    big = np.int64(1) << np.int64(60)
    n = 0
    for qi in range(n_q):
        p = q_list[qi]
        start = q_pos[p]
        q_pos[p] = -1
        L = p_len[p]
        so = p_stop_off[p]
        to = p_time_off[p]
        nt = p_trip_off[p + 1] - p_trip_off[p]
        t = -1
        bpos = -1
        for i in range(start, L):
            s = p_stops[so + i]
            if t >= 0 and p_alight[so + i]:
                a = arr[to + t * L + i]
                if a < bound[s] and a < limit:
                    ev[n, 0] = p
                    ev[n, 1] = s
                    ev[n, 2] = a
                    ev[n, 3] = t
                    ev[n, 4] = bpos
                    ev[n, 5] = i
                    n += 1
            if p_board[so + i]:
                b = board_prev[s]
                if b < big and (t < 0 or b <= dep[to + t * L + i]):
                    lo = first_trip_from(dep, to, L, i, t if t >= 0 else nt, b)
                    if lo < (t if t >= 0 else nt):
                        t = lo
                        bpos = i
    return n


@jit
def scan_round(
    marked, marked_list, n_marked, stop_pats, q_pos, q_list, board_prev, bound, limit, pat, ev
):
    """The set-up and route scans of one round, shared by both kernels: queue the patterns
    through the marked stops (:func:`queue_patterns`, which unmarks them), grow the arrivals
    buffer ``ev`` when the round may write more rows than it holds, and scan
    (:func:`scan_routes`). ``stop_pats`` is :meth:`DayTables.stop_patterns`, ``pat``
    :meth:`DayTables.pattern_arrays`. Returns ``(rows written, ev)``."""
    s_pat_off, s_pat, s_pat_pos = stop_pats
    n_q, n_scan = queue_patterns(
        marked, marked_list, n_marked, s_pat_off, s_pat, s_pat_pos, q_pos, q_list, pat[4]
    )
    if n_scan > ev.shape[0]:
        ev = np.empty((2 * n_scan, 6), dtype=np.int64)
    return scan_routes(q_list, n_q, q_pos, board_prev, bound, limit, pat, ev), ev


@jit
def raptor_kernel(
    n_stops,
    p_stop_off,
    p_stops,
    p_board,
    p_alight,
    p_len,
    p_trip_off,
    p_time_off,
    arr,
    dep,
    s_pat_off,
    s_pat,
    s_pat_pos,
    fp_off,
    fp_to,
    fp_dur,
    min_transfer,
    max_rounds,
    src_stop,
    src_time,
    tgt_stop,
    tgt_egress,
):
    """Earliest arrival from the sources (stop, time) to the best target (stop, egress).

    Returns ``(best, best_k, best_j, best_walk, trip_arr, walk_arr, rc_pat, rc_trip,
    rc_bpos, rc_apos, fw_from, board, bd_round, bd_stop)``: the target arrival (``INF``
    if none), its round and target index, whether it was reached by a footpath, and the
    per-round labels for rebuilding the journey.
    """
    big = np.int64(1) << np.int64(60)
    n_pat = p_len.shape[0]
    K = max_rounds + 1
    trip_arr = np.full((K, n_stops), big, dtype=np.int64)
    walk_arr = np.full((K, n_stops), big, dtype=np.int64)
    board = np.full((K, n_stops), big, dtype=np.int64)
    rc_pat = np.full((K, n_stops), -1, dtype=np.int64)
    rc_trip = np.full((K, n_stops), -1, dtype=np.int64)
    rc_bpos = np.full((K, n_stops), -1, dtype=np.int64)
    rc_apos = np.full((K, n_stops), -1, dtype=np.int64)
    fw_from = np.full((K, n_stops), -1, dtype=np.int64)
    bd_round = np.full((K, n_stops), -1, dtype=np.int64)
    bd_stop = np.full((K, n_stops), -2, dtype=np.int64)
    best_trip = np.full(n_stops, big, dtype=np.int64)
    marked = np.zeros(n_stops, dtype=np.bool_)
    marked_list = np.empty(n_stops, dtype=np.int64)
    n_marked = 0
    q_pos = np.full(n_pat, -1, dtype=np.int64)
    q_list = np.empty(n_pat, dtype=np.int64)
    improved = np.zeros(n_stops, dtype=np.bool_)
    imp_list = np.empty(n_stops, dtype=np.int64)
    ev = np.empty((n_stops, 6), dtype=np.int64)  # scan_routes' arrivals, grown as needed
    pat = (p_stop_off, p_stops, p_board, p_alight, p_len, p_trip_off, p_time_off, arr, dep)
    stops = (s_pat_off, s_pat, s_pat_pos)
    # targets: egress per stop (min over targets at the same stop)
    tgt_best = big
    best_k = -1
    best_j = -1
    best_walk = False

    for i in range(src_stop.shape[0]):
        s = src_stop[i]
        t = src_time[i]
        if t < board[0, s]:
            board[0, s] = t
            trip_arr[0, s] = t
            bd_round[0, s] = 0
            bd_stop[0, s] = -1
            n_marked = mark(s, marked, marked_list, n_marked)
    # footpaths from the sources (symmetric with footpaths into the targets)
    for i in range(src_stop.shape[0]):
        s = src_stop[i]
        a = trip_arr[0, s]
        for e in range(fp_off[s], fp_off[s + 1]):
            u = fp_to[e]
            ta = a + fp_dur[e]
            if ta < board[0, u]:
                board[0, u] = ta
                bd_round[0, u] = 0
                bd_stop[0, u] = s
                n_marked = mark(u, marked, marked_list, n_marked)
            if ta < walk_arr[0, u]:
                walk_arr[0, u] = ta
                fw_from[0, u] = s
    for j in range(tgt_stop.shape[0]):
        s = tgt_stop[j]
        if trip_arr[0, s] < big and trip_arr[0, s] + tgt_egress[j] < tgt_best:
            tgt_best = trip_arr[0, s] + tgt_egress[j]
            best_k = 0
            best_j = j
            best_walk = False
        if walk_arr[0, s] < big and walk_arr[0, s] + tgt_egress[j] < tgt_best:
            tgt_best = walk_arr[0, s] + tgt_egress[j]
            best_k = 0
            best_j = j
            best_walk = True

    for k in range(1, K):
        if n_marked == 0:
            break
        for s in range(n_stops):
            board[k, s] = board[k - 1, s]
            bd_round[k, s] = bd_round[k - 1, s]
            bd_stop[k, s] = bd_stop[k - 1, s]
        n_ev, ev = scan_round(
            marked, marked_list, n_marked, stops, q_pos, q_list, board[k - 1], best_trip, tgt_best,
            pat, ev,
        )  # fmt: skip
        n_marked = 0
        n_imp = 0
        for j in range(n_ev):
            s = ev[j, 1]
            a = ev[j, 2]
            if a < best_trip[s] and a < tgt_best:
                best_trip[s] = a
                trip_arr[k, s] = a
                rc_pat[k, s] = ev[j, 0]
                rc_trip[k, s] = ev[j, 3]
                rc_bpos[k, s] = ev[j, 4]
                rc_apos[k, s] = ev[j, 5]
                if not improved[s]:
                    improved[s] = True
                    imp_list[n_imp] = s
                    n_imp += 1
        # transfers: the same stop after the minimum transfer time, or a footpath
        for m in range(n_imp):
            s = imp_list[m]
            improved[s] = False
            a = trip_arr[k, s]
            tb = a + min_transfer
            if tb < board[k, s]:
                board[k, s] = tb
                bd_round[k, s] = k
                bd_stop[k, s] = s
                if not marked[s]:
                    marked[s] = True
                    marked_list[n_marked] = s
                    n_marked += 1
            for e in range(fp_off[s], fp_off[s + 1]):
                u = fp_to[e]
                ta = a + fp_dur[e]
                if ta < board[k, u]:
                    board[k, u] = ta
                    bd_round[k, u] = k
                    bd_stop[k, u] = s
                    if not marked[u]:
                        marked[u] = True
                        marked_list[n_marked] = u
                        n_marked += 1
                if ta < walk_arr[k, u]:
                    walk_arr[k, u] = ta
                    fw_from[k, u] = s
        for j in range(tgt_stop.shape[0]):
            s = tgt_stop[j]
            if trip_arr[k, s] < big and trip_arr[k, s] + tgt_egress[j] < tgt_best:
                tgt_best = trip_arr[k, s] + tgt_egress[j]
                best_k = k
                best_j = j
                best_walk = False
            if walk_arr[k, s] < big and walk_arr[k, s] + tgt_egress[j] < tgt_best:
                tgt_best = walk_arr[k, s] + tgt_egress[j]
                best_k = k
                best_j = j
                best_walk = True
    return (
        tgt_best,
        best_k,
        best_j,
        best_walk,
        trip_arr,
        walk_arr,
        rc_pat,
        rc_trip,
        rc_bpos,
        rc_apos,
        fw_from,
        board,
        bd_round,
        bd_stop,
    )
