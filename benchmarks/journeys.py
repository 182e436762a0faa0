"""Benchmark: 10,000 pupils walking to the demo-area schools.

Origins are Code-Point Open postcode centroids inside the walk network's extent (sampled with
replacement, seeded), each sent to its nearest demo-area school that is on the network. The
geosafe path is one Dijkstra per school (:meth:`WalkNetwork.routes_to`, geometries included);
the reference is osmnx/networkx routing one pair at a time on the same filtered graph
(``networkx.shortest_path`` with ``weight="length"``), timed on ``--pairs`` pairs and
extrapolated to 10,000. Distances of the timed pairs are compared node to node.

Run::

    .venv/bin/python benchmarks/journeys.py [--n 10000] [--pairs 300] [--seed 1]

Prints one JSON object. Transit queries per second against pynigiri live in the transit
part's ``benchmarks/transit_crosscheck.py``.

Acceptance run on a store (every FAP pupil of every demo school, walk and bus, school run)::

    .venv/bin/python benchmarks/journeys.py --store PATH [--gtfs DIR] [--date 2025-03-04]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geosafe import datasets  # noqa: E402
from geosafe.network.walk import WalkNetwork, WalkSettings  # noqa: E402


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="origins (default 10000)")
    ap.add_argument("--pairs", type=int, default=300, help="networkx pairs timed (default 300)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--store", type=Path, help="run the FAP acceptance journeys on this store")
    ap.add_argument("--gtfs", type=Path, help="GTFS feed for bus journeys (default: bundled)")
    ap.add_argument("--date", default="2025-03-04", help="travel date (default 2025-03-04)")
    args = ap.parse_args(argv)
    if args.store:
        return fap_acceptance(args.store, gtfs=args.gtfs, date=args.date)
    out: dict[str, object] = {"n_origins": args.n}

    with tempfile.TemporaryDirectory() as cache:
        t = time.perf_counter()
        net = WalkNetwork.from_osm(datasets.osm_path(), cache_dir=cache)
        out["graph_build_s"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        net = WalkNetwork.from_osm(datasets.osm_path(), cache_dir=cache)
        out["graph_cache_load_s"] = round(time.perf_counter() - t, 4)
    out["nodes"], out["edges"] = net.n_nodes, net.n_edges
    out["rss_after_graph_mb"] = round(_rss_mb(), 1)

    # origins: postcode centroids within 250 m of the network
    pcs = datasets.postcodes()
    pxy = pcs[["easting", "northing"]].to_numpy(dtype=float)
    inside = (
        (pxy[:, 0] > net.node_x.min())
        & (pxy[:, 0] < net.node_x.max())
        & (pxy[:, 1] > net.node_y.min())
        & (pxy[:, 1] < net.node_y.max())
    )
    pxy = pxy[inside]
    pxy = pxy[net.snap(pxy).dist <= 250.0]
    rng = np.random.default_rng(args.seed)
    origins = pxy[rng.integers(0, len(pxy), args.n)]
    schools = datasets.schools(demo_only=True)
    sxy = np.column_stack([schools.geometry.x, schools.geometry.y])
    on_net = net.snap(sxy).dist <= WalkSettings().max_target_snap_m
    sxy, urns = sxy[on_net], schools["urn"].to_numpy()[on_net]
    nearest = np.argmin(
        np.hypot(origins[:, None, 0] - sxy[None, :, 0], origins[:, None, 1] - sxy[None, :, 1]),
        axis=1,
    )
    out["schools"] = [str(u) for u in urns]

    t = time.perf_counter()
    dist = np.full(args.n, np.nan)
    routed = 0
    for k, school in enumerate(sxy):
        sel = np.flatnonzero(nearest == k)
        if not sel.size:
            continue
        r = net.routes_to((float(school[0]), float(school[1])), origins[sel])
        dist[sel] = r.distance_m
        routed += int(r.ok.sum())
    out["geosafe_walk_s"] = round(time.perf_counter() - t, 3)
    out["routed"] = routed
    out["median_walk_m"] = round(float(np.nanmedian(dist)), 1)
    out["peak_rss_mb"] = round(_rss_mb(), 1)

    # reference: osmnx graph filtered the same way, networkx per pair (node to node)
    g = nx.Graph()
    for u, v, w in zip(net.edge_u, net.edge_v, net.edge_length_m, strict=True):
        g.add_edge(int(u), int(v), length=float(w))
    a = net.nearest_node(origins[: args.pairs])
    b = net.nearest_node(sxy[nearest[: args.pairs]])
    t = time.perf_counter()
    ref = np.array(
        [
            nx.shortest_path_length(g, int(x), int(y), weight="length")
            for x, y in zip(a, b, strict=True)
        ]
    )
    per_pair = (time.perf_counter() - t) / args.pairs
    out["networkx_per_pair_ms"] = round(per_pair * 1000, 2)
    out["networkx_10k_extrapolated_s"] = round(per_pair * args.n, 1)
    ours = np.array(
        [
            net.routes_to(
                (net.node_x[y], net.node_y[y]),
                [[net.node_x[x], net.node_y[x]]],
                geometry=False,
                max_m=np.inf,
            ).distance_m[0]
            for x, y in zip(a[:50], b[:50], strict=True)
        ]
    )
    out["max_abs_diff_m_50_pairs"] = float(np.max(np.abs(ours - ref[:50])))
    out["speedup_vs_networkx"] = round(per_pair * args.n / max(out["geosafe_walk_s"], 1e-9), 1)  # type: ignore[arg-type]
    print(json.dumps(out, indent=2))
    return 0


def _summary(results: list, model_on: bool) -> dict[str, object]:
    ok = [r for r in results if r.error is None]
    pupils = sum(r.count for r in results)
    reasons: dict[str, int] = {}
    for r in results:
        if r.error is not None:
            key = r.error.split(" ")[0].rstrip(":")
            reasons[key] = reasons.get(key, 0) + r.count
    out: dict[str, object] = {
        "pupils": pupils,
        "routed_pupils": sum(r.count for r in ok),
        "unroutable": reasons,
    }
    if ok:
        d = np.array([r.distance_m for r in ok], dtype=float)
        t = np.array([r.duration_s for r in ok], dtype=float)
        out["median_distance_m"] = round(float(np.median(d)), 1)
        out["median_duration_min"] = round(float(np.median(t)) / 60, 1)
    if ok and model_on:
        e = np.array([r.exposure for r in ok], dtype=float)
        ae = np.array([r.alt_exposure for r in ok], dtype=float)
        ad = np.array([r.alt_distance_m for r in ok], dtype=float)
        d = np.array([r.distance_m for r in ok], dtype=float)
        better = ae < e - 1e-12
        out["median_exposure"] = round(float(np.median(e)), 4)
        out["median_alt_exposure"] = round(float(np.median(ae)), 4)
        out["with_safer_alternative"] = int(better.sum())
        if better.any():
            out["median_exposure_cut_pct"] = round(
                float(np.median(100 * (1 - ae[better] / e[better]))), 1
            )
            out["median_extra_distance_pct"] = round(
                float(np.median(100 * (ad[better] / d[better] - 1))), 1
            )
        out["crossing_a_hotspot"] = int(sum(1 for r in ok if r.hotspots_crossed))
    return out


def fap_acceptance(store_path: Path, *, gtfs: Path | None, date: str) -> int:
    """Every FAP pupil of every demo school to school by walk and bus at the school run."""
    import datetime as dt

    from geosafe.filters import IncidentFilter
    from geosafe.network import origins as og
    from geosafe.network.journeys import FallbackWalk
    from geosafe.network.transit import RaptorRouter
    from geosafe.risk.exposure import build_exposure_model, journey_window
    from geosafe.risk.journeys import assess_journeys
    from geosafe.store import Store

    store = Store(store_path)
    net = WalkNetwork.from_osm(datasets.osm_path())
    t = time.perf_counter()
    model = build_exposure_model(
        store.incidents(),
        incident_filter=IncidentFilter(
            sources=("dir", "asif", "cris", "police_uk"),
            preset="school-run",
            hours=journey_window(dt.time(8, 45)),  # the morning half: 07:30-09:30
        ),
    )
    out: dict[str, object] = {
        "store": str(store_path),
        "model": model.params,
        "hotspots": len(model.hotspots),
        "model_build_s": round(time.perf_counter() - t, 2),
    }
    feed = gtfs or datasets.gtfs_dir()
    router = (
        RaptorRouter(feed, walk=FallbackWalk(net), walk_path=net.path_line)
        if Path(feed).exists()
        else None
    )
    out["gtfs"] = str(feed) if router is not None else None
    day = dt.date.fromisoformat(date)
    walks: list = []
    buses: list = []
    t = time.perf_counter()
    for urn in datasets.schools(demo_only=True)["urn"]:
        origins = og.origins_from_postcodes(og.fap_home_postcodes(store, urn), kind="fap")
        if not len(origins):
            continue
        kw = {"bell": dt.time(8, 45), "date": day, "network": net, "model": model}
        walks += assess_journeys(urn, origins, mode="walk", **kw)
        if router is not None:
            buses += assess_journeys(urn, origins, mode="bus", router=router, **kw)
    out["journeys_s"] = round(time.perf_counter() - t, 2)
    out["walk"] = _summary(walks, True)
    out["bus"] = _summary(buses, True) if router is not None else "no GTFS feed"
    print(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
