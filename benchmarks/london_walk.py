"""Benchmark: a London-size walking network from PBF, and 100,000 pupils to 400 schools.

The script writes a synthetic OSM PBF the size of Greater London's walking network (a
perturbed street grid at ~80 m spacing over ~40 x 33 km, each street split by 0-3 shape
nodes, as OSM maps curves; 12% of grid links missing; highway types, names and a few
``access=private``/``foot=no`` ways so the pedestrian filter has work; plus building ways
without ``highway`` that the reader must skip). Counts are printed. Then, each phase in its
own process so its peak memory is its own:

1. **build**: read the PBF with pyosmium, clip to the boundary, pedestrian filter, graph,
   many-to-many preprocessing, saved (what ``geosafe area build`` does for streets);
2. **load**: the cached graph and preprocessing;
3. **query**: 400 schools, 100,000 pupils each assigned to one school (homes drawn around
   their school, sd 1.5 km), door-to-door walking distance with
   :class:`geosafe.network.many.WalkMatrix` vs today's one Dijkstra per school
   (``WalkNetwork.routes_to`` without geometry, timed on ``--baseline-schools`` schools and
   scaled to 400), and exactness against networkx (Dijkstra from ``--nx-schools`` schools);
4. **pandana**: 10,000 origins x 6 schools on the bundled demo network: WalkMatrix vs
   pandana's contraction hierarchies (``shortest_path_lengths``), same run.

Run::

    .venv/bin/python benchmarks/london_walk.py [--nodes 1000000] [--out DIR]

Prints one JSON object per phase, then a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ORIGIN_BNG = (512_000.0, 165_000.0)  # south-west corner, near Kingston
SPACING_M = 80.0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _grid(n_target: int, seed: int) -> dict[str, np.ndarray]:
    """Street grid: junction positions (BNG), links, shape nodes per link."""
    rng = np.random.default_rng(seed)
    side_x = int(np.sqrt(n_target / 2.5 * 1.2))
    side_y = int(n_target / 2.5 / side_x)
    ix, iy = np.meshgrid(np.arange(side_x), np.arange(side_y), indexing="ij")
    ix, iy = ix.ravel(), iy.ravel()
    x = ORIGIN_BNG[0] + ix * SPACING_M + rng.normal(0, 12, ix.size)
    y = ORIGIN_BNG[1] + iy * SPACING_M + rng.normal(0, 12, ix.size)
    idx = ix * side_y + iy
    right = ix < side_x - 1
    up = iy < side_y - 1
    a = np.concatenate([idx[up], idx[right]])
    b = np.concatenate([idx[up] + 1, idx[right] + side_y])
    keep = rng.random(a.size) > 0.12
    return {"x": x, "y": y, "a": a[keep], "b": b[keep], "k": rng.integers(0, 4, keep.sum())}


def write_pbf(path: Path, n_target: int, seed: int) -> dict[str, int]:
    """The synthetic London-size PBF; returns its counts."""
    import osmium
    from osmium.osm.mutable import Node, Way
    from pyproj import Transformer

    g = _grid(n_target, seed)
    rng = np.random.default_rng(seed + 1)
    x, y, a, b, k = g["x"], g["y"], g["a"], g["b"], g["k"]
    n_j = len(x)
    total = int(k.sum())
    seg = np.repeat(np.arange(len(a)), k)
    t = (np.arange(total) - np.repeat(np.cumsum(k) - k, k) + 1) / np.repeat(k + 1, k)
    sx = x[a[seg]] + t * (x[b[seg]] - x[a[seg]]) + rng.normal(0, 3, total)
    sy = y[a[seg]] + t * (y[b[seg]] - y[a[seg]]) + rng.normal(0, 3, total)
    allx, ally = np.concatenate([x, sx]), np.concatenate([y, sy])
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(allx, ally)
    kinds = np.array(
        ["residential", "footway", "service", "tertiary", "primary", "path", "steps", "trunk"]
    )
    kind = kinds[rng.choice(len(kinds), len(a), p=[0.5, 0.2, 0.1, 0.08, 0.06, 0.03, 0.01, 0.02])]
    extra = rng.random(len(a))
    starts = np.concatenate([[0], np.cumsum(k)[:-1]]) + n_j
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    w = osmium.SimpleWriter(str(path))
    n_buildings = len(a) // 10
    try:
        for i in range(len(allx)):
            w.add_node(Node(id=i + 1, version=1, location=(float(lon[i]), float(lat[i]))))
        # building outlines: nodes without highway ways (skipped by the reader)
        base = len(allx) + 1
        for j in range(n_buildings):
            c = rng.integers(0, n_j)
            for q, (dx, dy) in enumerate(((5, 5), (15, 5), (15, 15), (5, 15))):
                loc = (float(lon[c] + dx * 1.4e-5), float(lat[c] + dy * 9e-6))
                w.add_node(Node(id=base + 4 * j + q, version=1, location=loc))
        for i in range(len(a)):
            refs = [
                int(a[i]) + 1,
                *range(int(starts[i]) + 1, int(starts[i] + k[i]) + 1),
                int(b[i]) + 1,
            ]
            tags = {"highway": str(kind[i]), "name": f"Street {i % 5000}"}
            if extra[i] < 0.03:
                tags["access"] = "private"
            elif extra[i] < 0.04:
                tags["foot"] = "no"
            elif kind[i] == "trunk" and extra[i] < 0.2:
                tags["sidewalk"] = "separate"
            w.add_way(Way(id=i + 1, version=1, nodes=refs, tags=tags))
        for j in range(n_buildings):
            ids = [base + 4 * j + q for q in range(4)]
            w.add_way(
                Way(id=len(a) + j + 1, version=1, nodes=[*ids, ids[0]], tags={"building": "yes"})
            )
    finally:
        w.close()
    return {
        "pbf_nodes": len(allx) + 4 * n_buildings,
        "pbf_highway_ways": len(a),
        "pbf_building_ways": n_buildings,
        "pbf_mb": round(path.stat().st_size / 1e6, 1),
        "extent_km": [
            round((x.max() - x.min()) / 1000, 1),
            round((y.max() - y.min()) / 1000, 1),
        ],
    }


def _boundary(work: Path):
    import shapely

    g = _grid(int(json.loads((work / "gen.json").read_text())["n_target"]), 0)
    return shapely.box(g["x"].min(), g["y"].min(), g["x"].max(), g["y"].max())


def phase_build(work: Path) -> dict[str, object]:
    from geosafe.area import osm
    from geosafe.network.many import WalkMatrix

    t0 = time.perf_counter()
    ways = osm.read_highways(work / "london.osm.pbf", clip=_boundary(work))
    t1 = time.perf_counter()
    net = osm.walk_network_from_ways(ways, source_sha256="synthetic-london")
    t2 = time.perf_counter()
    m = WalkMatrix.build(net)
    t3 = time.perf_counter()
    net._save(work / "walk.npz")
    m.save(work / "matrix.npz")
    t4 = time.perf_counter()
    return {
        "phase": "build",
        "read_pbf_s": round(t1 - t0, 1),
        "graph_s": round(t2 - t1, 1),
        "preprocess_s": round(t3 - t2, 1),
        "save_s": round(t4 - t3, 1),
        "total_s": round(t4 - t0, 1),
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "core_nodes": m.n_core,
        "dropped": net.dropped,
        "peak_rss_mb": round(_rss_mb()),
    }


def _load(work: Path):
    from geosafe.network.many import WalkMatrix
    from geosafe.network.walk import WalkNetwork

    net = WalkNetwork._load(work / "walk.npz")
    return net, WalkMatrix.load(work / "matrix.npz", net)


def phase_load(work: Path) -> dict[str, object]:
    t0 = time.perf_counter()
    net, _m = _load(work)
    return {
        "phase": "load",
        "load_s": round(time.perf_counter() - t0, 2),
        "nodes": net.n_nodes,
        "peak_rss_mb": round(_rss_mb()),
    }


def phase_query(
    work: Path, *, pupils: int, schools: int, base_n: int, nx_n: int, seed: int
) -> dict[str, object]:
    from geosafe.network.walk import WalkSettings

    net, m = _load(work)
    rng = np.random.default_rng(seed)
    pick = rng.choice(net.n_nodes, schools, replace=False)
    sx, sy = (
        net.node_x[pick] + rng.normal(0, 40, schools),
        net.node_y[pick] + rng.normal(0, 40, schools),
    )
    targets = np.column_stack([sx, sy])
    which = rng.integers(0, schools, pupils)
    origins = targets[which] + rng.normal(0, 1500, (pupils, 2))
    max_m = 10_000.0
    m.distances_to(targets[:2], origins[:10], which[:10] % 2, max_m=max_m)  # compile / warm
    t0 = time.perf_counter()
    got = m.distances_to(targets, origins, which, max_m=max_m)
    t_many = time.perf_counter() - t0
    # baseline: today's one Dijkstra per school, on a sample of schools, scaled to all
    sample = rng.choice(schools, base_n, replace=False)
    t0 = time.perf_counter()
    worst = 0.0
    n_cmp = 0
    for j in sample:
        idx = np.flatnonzero(which == j)
        try:
            r = net.routes_to(tuple(targets[j]), origins[idx], max_m=max_m, geometry=False)
        except Exception:
            assert np.isnan(got[idx]).all()
            continue
        both = np.isfinite(r.distance_m) | np.isfinite(got[idx])
        worst = max(worst, float(np.nanmax(np.abs(r.distance_m[both] - got[idx][both]), initial=0)))
        n_cmp += int(both.sum())
    t_base = (time.perf_counter() - t0) * schools / base_n
    # networkx: exact node distances from a few schools
    import networkx as nx

    t0 = time.perf_counter()
    g = nx.Graph()
    g.add_weighted_edges_from(
        zip(net.edge_u.tolist(), net.edge_v.tolist(), net.edge_length_m.tolist(), strict=False)
    )
    t_nxbuild = time.perf_counter() - t0
    nx_worst = 0.0
    nx_n_cmp = 0
    t_nx = 0.0
    lim = WalkSettings().max_target_snap_m
    te, tt, _ = m.snap(targets, max_snap_m=lim)
    for j in rng.choice(np.flatnonzero(te >= 0), nx_n, replace=False):
        e = int(te[j])
        a, b, w = int(net.edge_u[e]), int(net.edge_v[e]), float(net.edge_length_m[e])
        nodes = rng.integers(0, net.n_nodes, 2000)
        t0 = time.perf_counter()
        da = nx.single_source_dijkstra_path_length(g, a, cutoff=max_m)
        db = nx.single_source_dijkstra_path_length(g, b, cutoff=max_m)
        t_nx += time.perf_counter() - t0
        ref = np.array(
            [
                min(da.get(int(x), np.inf) + tt[j] * w, db.get(int(x), np.inf) + (1 - tt[j]) * w)
                for x in nodes
            ]
        )
        ours = m.node_distances([(e, float(tt[j]))], [nodes], max_m=max_m)[0]
        ref[ref > max_m] = np.inf
        fin = np.isfinite(ref)
        assert (np.isfinite(ours) == fin).all()
        nx_worst = max(nx_worst, float(np.abs(ours[fin] - ref[fin]).max(initial=0)))
        nx_n_cmp += int(fin.sum())
    return {
        "phase": "query",
        "pupils": pupils,
        "schools": schools,
        "routed": int(np.isfinite(got).sum()),
        "walkmatrix_s": round(t_many, 2),
        "one_dijkstra_per_school_s": round(t_base, 1),
        "baseline_schools_timed": base_n,
        "ratio_vs_dijkstra_per_school": round(t_many / t_base, 4),
        "max_abs_diff_vs_routes_to_m": worst,
        "pairs_compared_routes_to": n_cmp,
        "networkx_sources": nx_n,
        "networkx_s_per_school": round(t_nx / max(nx_n, 1), 2),
        "networkx_graph_build_s": round(t_nxbuild, 1),
        "ratio_vs_networkx_per_school": round((t_many / schools) / (t_nx / max(nx_n, 1)), 4),
        "max_abs_diff_vs_networkx_m": nx_worst,
        "nodes_compared_networkx": nx_n_cmp,
        "peak_rss_mb": round(_rss_mb()),
    }


def phase_pandana(seed: int) -> dict[str, object]:
    import pandas as pd

    from geosafe import datasets
    from geosafe.network.many import WalkMatrix
    from geosafe.network.walk import WalkNetwork

    try:
        import pandana
    except ImportError:
        return {"phase": "pandana", "skipped": "pandana is not installed (pip install pandana)"}
    with tempfile.TemporaryDirectory() as cache:
        net = WalkNetwork.from_osm(datasets.osm_path(), cache_dir=cache)
    m = WalkMatrix.build(net)
    pcs = datasets.postcodes()[["easting", "northing"]].to_numpy(float)
    inside = (
        (pcs[:, 0] > net.node_x.min())
        & (pcs[:, 0] < net.node_x.max())
        & (pcs[:, 1] > net.node_y.min())
        & (pcs[:, 1] < net.node_y.max())
    )
    rng = np.random.default_rng(seed)
    origins = pcs[inside][rng.integers(0, int(inside.sum()), 10_000)]
    sch = datasets.schools(demo_only=True)
    targets = np.column_stack([sch.geometry.x, sch.geometry.y])[:6]
    t0 = time.perf_counter()
    pnet = pandana.Network(
        pd.Series(net.node_x),
        pd.Series(net.node_y),
        pd.Series(net.edge_u),
        pd.Series(net.edge_v),
        pd.DataFrame({"w": net.edge_length_m}),
        twoway=True,
    )
    t_pbuild = time.perf_counter() - t0
    m.matrix(origins[:10], targets)  # compile / warm
    times_g, times_p, times_q = [], [], []
    for _ in range(3):
        t0 = time.perf_counter()
        d = m.matrix(origins, targets)
        times_g.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        on = pnet.get_node_ids(origins[:, 0], origins[:, 1])
        tn = pnet.get_node_ids(targets[:, 0], targets[:, 1])
        a = np.repeat(on.to_numpy(), len(targets))
        b = np.tile(tn.to_numpy(), len(origins))
        pd_ = np.asarray(pnet.shortest_path_lengths(a, b), dtype=float).reshape(
            len(origins), len(targets)
        )
        times_p.append(time.perf_counter() - t0)
        # the same node-to-node question for WalkMatrix (no snapping on either side)
        t0 = time.perf_counter()
        nodes_o = on.to_numpy()
        srcs = []
        for tnode in tn.to_numpy():
            e = int(np.flatnonzero((net.edge_u == tnode) | (net.edge_v == tnode))[0])
            srcs.append((e, 0.0 if net.edge_u[e] == tnode else 1.0))
        dq = np.column_stack(m.node_distances(srcs, [nodes_o] * len(targets)))
        times_q.append(time.perf_counter() - t0)
    both = np.isfinite(dq) & (pd_ < 4e6)
    return {
        "phase": "pandana",
        "origins": len(origins),
        "targets": len(targets),
        "walkmatrix_s_median": round(float(np.median(times_g)), 4),
        "walkmatrix_node_to_node_s_median": round(float(np.median(times_q)), 4),
        "pandana_s_median": round(float(np.median(times_p)), 4),
        "ratio_door_to_door_vs_pandana": round(float(np.median(times_g) / np.median(times_p)), 2),
        "ratio_node_to_node_vs_pandana": round(float(np.median(times_q) / np.median(times_p)), 2),
        "pandana_build_s": round(t_pbuild, 2),
        "node_to_node_max_abs_diff_m": float(np.abs(dq[both] - pd_[both]).max(initial=0)),
        "routed_door_to_door": int(np.isfinite(d).sum()),
        "note": "pandana snaps to the nearest node; WalkMatrix door-to-door snaps to the nearest edge",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1_000_000, help="target network nodes")
    ap.add_argument("--pupils", type=int, default=100_000)
    ap.add_argument("--schools", type=int, default=400)
    ap.add_argument("--baseline-schools", type=int, default=20)
    ap.add_argument("--nx-schools", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="work folder (default: a temporary one)")
    ap.add_argument(
        "--phase", choices=("gen", "build", "load", "query", "pandana"), help=argparse.SUPPRESS
    )
    args = ap.parse_args(argv)
    if args.phase:
        work = args.out
        if args.phase == "gen":
            t0 = time.perf_counter()
            counts = write_pbf(work / "london.osm.pbf", args.nodes, args.seed)
            (work / "gen.json").write_text(json.dumps({"n_target": args.nodes}))
            res: dict[str, object] = {
                "phase": "gen",
                **counts,
                "s": round(time.perf_counter() - t0, 1),
            }
        elif args.phase == "build":
            res = phase_build(work)
        elif args.phase == "load":
            res = phase_load(work)
        elif args.phase == "query":
            res = phase_query(
                work,
                pupils=args.pupils,
                schools=args.schools,
                base_n=args.baseline_schools,
                nx_n=args.nx_schools,
                seed=args.seed,
            )
        else:
            res = phase_pandana(args.seed)
        print(json.dumps(res), flush=True)
        return 0
    tmp = None
    if args.out is None:
        tmp = tempfile.TemporaryDirectory()
        args.out = Path(tmp.name)
    args.out.mkdir(parents=True, exist_ok=True)
    for phase in ("gen", "build", "load", "query", "pandana"):
        cmd = [
            sys.executable,
            __file__,
            "--phase",
            phase,
            "--out",
            str(args.out),
            "--nodes",
            str(args.nodes),
            "--pupils",
            str(args.pupils),
            "--schools",
            str(args.schools),
            "--baseline-schools",
            str(args.baseline_schools),
            "--nx-schools",
            str(args.nx_schools),
            "--seed",
            str(args.seed),
        ]
        subprocess.run(cmd, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
