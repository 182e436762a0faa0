"""rRAPTOR range (profile) search over the per-day timetable arrays of :mod:`._raptor`.

Private to :mod:`geosafe.network.transit`. One backward-ordered run over the departures of a
window, reusing labels (Delling, Pajor and Werneck 2012, section 4), gives the earliest
arrival for every minute of the window; equal to one :func:`._raptor.raptor_kernel` search
per departure (``tests/transit/test_range.py``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._raptor import I64, INF, DayTables, first_trip_from, jit, mark, scan_round

__all__ = ["range_arrivals", "range_kernel"]


@jit
def _range_events(pat, stops, foot, src_stop, src_walk, lo, hi):
    """Origin departure times at which a first boarding changes: for every source (stop,
    walk), every stop reachable from it on foot in round 0 (itself or one footpath) and
    every trip boarding there, the trip's departure minus the walk. Returns the distinct
    times in ``[lo, hi]`` and the first one after ``hi`` (``INF`` if none), descending.
    ``pat``, ``stops``, ``foot``: :meth:`DayTables.pattern_arrays`, ``stop_patterns``,
    ``footpaths``."""
    p_stop_off, _, p_board, _, p_len, p_trip_off, p_time_off, _, dep = pat
    s_pat_off, s_pat, s_pat_pos = stops
    fp_off, fp_to, fp_dur = foot
    big = np.int64(1) << np.int64(60)
    out = np.empty(64, dtype=np.int64)
    m = 0
    after = big
    for i in range(src_stop.shape[0]):
        s = src_stop[i]
        w = src_walk[i]
        for e in range(fp_off[s], fp_off[s + 1] + 1):
            u = s if e == fp_off[s + 1] else fp_to[e]
            f = 0 if e == fp_off[s + 1] else fp_dur[e]
            for q in range(s_pat_off[u], s_pat_off[u + 1]):
                p = s_pat[q]
                pos = s_pat_pos[q]
                if not p_board[p_stop_off[p] + pos]:
                    continue
                L = p_len[p]
                to = p_time_off[p]
                nt = p_trip_off[p + 1] - p_trip_off[p]
                # trips are FIFO: from the first departing at lo or later to the first after hi
                t = first_trip_from(dep, to, L, pos, nt, lo + w + f)
                while t < nt:
                    ev = dep[to + t * L + pos] - w - f
                    if ev > hi:
                        if ev < after:
                            after = ev
                        break
                    if m + 1 >= out.shape[0]:  # room for this one and ``after``
                        grown = np.empty(2 * out.shape[0], dtype=np.int64)
                        grown[:m] = out[:m]
                        out = grown
                    out[m] = ev
                    m += 1
                    t += 1
    if after < big:
        out[m] = after
        m += 1
    ev = np.unique(out[:m])
    return ev[::-1].copy()


@jit
def range_kernel(
    n_stops,
    pat,
    stops,
    foot,
    min_transfer,
    max_rounds,
    src_stop,
    src_walk,
    tgt_stop,
    tgt_egress,
    events,
):
    """rRAPTOR (Delling, Pajor and Werneck 2012, section 4): earliest arrival at the best
    target for each origin departure time of ``events`` (descending), one run per event,
    each run reusing the labels of the later ones (a journey leaving later is also open to
    an earlier departure, so those labels stay valid bounds and only what the earlier
    departure improves is propagated). Arrival labels are kept per round (at most ``k``
    trips), so a journey with more trips found for a later departure never prunes one with
    fewer for an earlier one: under the round limit that one may be the only way on.
    Returns the arrival per event (``INF``: none). ``pat``, ``stops``, ``foot``: as
    :func:`_range_events`."""
    fp_off, fp_to, fp_dur = foot
    big = np.int64(1) << np.int64(60)
    n_pat = pat[4].shape[0]
    K = max_rounds + 1
    board = np.full((K, n_stops), big, dtype=np.int64)
    # earliest arrival by a trip with at most k trips, over every run so far: local pruning
    # must not let a label with more trips from a later departure prune one with fewer
    best_k = np.full((K, n_stops), big, dtype=np.int64)
    trip_arr_k = np.full(n_stops, big, dtype=np.int64)
    marked = np.zeros(n_stops, dtype=np.bool_)
    marked_list = np.empty(n_stops, dtype=np.int64)
    q_pos = np.full(n_pat, -1, dtype=np.int64)
    q_list = np.empty(n_pat, dtype=np.int64)
    improved = np.zeros(n_stops, dtype=np.bool_)
    imp_list = np.empty(n_stops, dtype=np.int64)
    ev = np.empty((n_stops, 6), dtype=np.int64)  # scan_routes' arrivals, grown as needed
    is_tgt = np.full(n_stops, big, dtype=np.int64)
    for j in range(tgt_stop.shape[0]):
        if tgt_egress[j] < is_tgt[tgt_stop[j]]:
            is_tgt[tgt_stop[j]] = tgt_egress[j]
    tgt_best = big
    out = np.full(events.shape[0], big, dtype=np.int64)
    for r in range(events.shape[0]):
        t0 = events[r]
        n_marked = 0
        # round 0: the sources at t0 + walk, and one footpath from them
        for i in range(src_stop.shape[0]):
            s = src_stop[i]
            ts = t0 + src_walk[i]
            if ts < board[0, s]:
                board[0, s] = ts
                n_marked = mark(s, marked, marked_list, n_marked)
            if is_tgt[s] < big and ts + is_tgt[s] < tgt_best:
                tgt_best = ts + is_tgt[s]
            for e in range(fp_off[s], fp_off[s + 1]):
                u = fp_to[e]
                ta = ts + fp_dur[e]
                if ta < board[0, u]:
                    board[0, u] = ta
                    n_marked = mark(u, marked, marked_list, n_marked)
                if is_tgt[u] < big and ta + is_tgt[u] < tgt_best:
                    tgt_best = ta + is_tgt[u]
        for k in range(1, K):
            if n_marked == 0:
                break
            # a stop improved in round k - 1 can be boarded from in every later round
            for m in range(n_marked):
                s = marked_list[m]
                if board[k - 1, s] < board[k, s]:
                    board[k, s] = board[k - 1, s]
            n_ev, ev = scan_round(
                marked, marked_list, n_marked, stops, q_pos, q_list, board[k - 1], best_k[k],
                tgt_best, pat, ev,
            )  # fmt: skip
            n_marked = 0
            n_imp = 0
            for j in range(n_ev):
                s = ev[j, 1]
                a = ev[j, 2]
                if a < best_k[k, s] and a < tgt_best:
                    for kk in range(k, K):
                        if a < best_k[kk, s]:
                            best_k[kk, s] = a
                    trip_arr_k[s] = a
                    if not improved[s]:
                        improved[s] = True
                        imp_list[n_imp] = s
                        n_imp += 1
            for m in range(n_imp):
                s = imp_list[m]
                improved[s] = False
                a = trip_arr_k[s]
                if is_tgt[s] < big and a + is_tgt[s] < tgt_best:
                    tgt_best = a + is_tgt[s]
                tb = a + min_transfer
                if tb < board[k, s]:
                    board[k, s] = tb
                    if not marked[s]:
                        marked[s] = True
                        marked_list[n_marked] = s
                        n_marked += 1
                for e in range(fp_off[s], fp_off[s + 1]):
                    u = fp_to[e]
                    ta = a + fp_dur[e]
                    if ta < board[k, u]:
                        board[k, u] = ta
                        if not marked[u]:
                            marked[u] = True
                            marked_list[n_marked] = u
                            n_marked += 1
                    if is_tgt[u] < big and ta + is_tgt[u] < tgt_best:
                        tgt_best = ta + is_tgt[u]
        for m in range(n_marked):
            marked[marked_list[m]] = False
        out[r] = tgt_best
    return out


def range_arrivals(
    day: DayTables,
    *,
    min_transfer_s: int,
    max_rounds: int,
    src: I64,
    src_walk: I64,
    tgt: I64,
    tgt_egress: I64,
    departures: I64,
) -> npt.NDArray[np.float64]:
    """Earliest arrival (seconds, NaN if none) for every origin departure time of
    ``departures`` by one rRAPTOR run over the trips that can be boarded in the window
    (:func:`range_kernel`), equal to one :func:`raptor_kernel` search per departure.

    The earliest arrival changes only at the departure times of the trips boardable near the
    origin (less the walk to them); each departure takes the answer of the next such time at
    or after it. Walking straight from the origin to a target (round 0) is added per
    departure, as it depends on the departure itself.
    """
    deps = np.asarray(departures, dtype=np.int64)
    out = np.full(len(deps), np.nan)
    if not len(deps) or not len(src) or not len(tgt):
        return out
    tables = (day.pattern_arrays(), day.stop_patterns(), day.footpaths())
    events = _range_events(*tables, src, src_walk, np.int64(deps.min()), np.int64(deps.max()))
    ride = np.full(len(deps), np.inf)
    if len(events):
        best = range_kernel(
            np.int64(day.n_stops),
            *tables,
            np.int64(min_transfer_s),
            np.int64(max_rounds),
            src,
            src_walk,
            tgt,
            tgt_egress,
            events,
        )
        asc = events[::-1]
        best_asc = np.where(best[::-1] < INF, best[::-1], np.inf).astype(float)
        nxt = np.searchsorted(asc, deps, side="left")
        has = nxt < len(asc)
        ride[has] = best_asc[nxt[has]]
    walk0 = _round0_walk_s(day, src, src_walk, tgt, tgt_egress)
    arrival = np.minimum(ride, deps + walk0)
    out[np.isfinite(arrival)] = arrival[np.isfinite(arrival)]
    return out


def _round0_walk_s(day: DayTables, src: I64, src_walk: I64, tgt: I64, tgt_egress: I64) -> float:
    """Shortest origin-to-destination time without a trip (to a source stop, at most one
    footpath, from a target stop), seconds; ``inf`` if none."""
    egress = dict[int, int]()
    for s, e in zip(tgt.tolist(), tgt_egress.tolist(), strict=True):
        egress[s] = min(e, egress.get(s, e))
    best = np.inf
    for s, w in zip(src.tolist(), src_walk.tolist(), strict=True):
        if s in egress:
            best = min(best, w + egress[s])
        for e in range(day.fp_off[s], day.fp_off[s + 1]):
            u = int(day.fp_to[e])
            if u in egress:
                best = min(best, w + int(day.fp_dur[e]) + egress[u])
    return float(best)
