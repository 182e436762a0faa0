"""Side by side: incident items under 8 concurrent clients, and each server's memory after the
load, geosafe against pygeoapi on loopback, same features, one run.

geosafe serves a store of real police.uk burglaries (the last ``--months`` bundled months);
pygeoapi serves the same incidents (exported from geosafe as GeoJSON with the same parameters)
with its GeoJSON provider. Each server runs in its own process (uvicorn, one worker, for
geosafe; ``pygeoapi serve`` for the peer). Before the load, every collection of geosafe is
downloaded once (what a QGIS session or the page asks for), so the memory figure includes
every layer built. Then ``--clients`` threads, one ``httpx`` client each, page through the
incident items (``limit=100``, offsets cycling over the collection), ``--requests`` per
contender per round, contenders alternated for ``--rounds`` rounds (medians of the rounds).
Prints p50/p99 latency, requests per second, the ratio geosafe / pygeoapi (below 1: geosafe
faster) and each server's resident memory (VmRSS) and peak (VmHWM) right after the run, and
its VmRSS two idle seconds later (geosafe gives freed heap back after one idle second). The
server is the process that answers: for ``pygeoapi serve`` (Flask with ``debug=True``) that is
the reloader's child, not the reloader itself (measured before 2026-12-05 evening: the
reloader, 87 MB, which also holds the whole app; the child answering is ~93 MB). The tree's
other processes are printed beside it.
geosafe builds its layers in a child process (``GEOSAFE_LAYER_BUILDER=process``, the default;
:mod:`geosafe.publish.builder`): its resident memory is printed beside the server's, and the
run waits for it to exit after its idle time (60 s) and says so; ``--builder inline`` serves
as before, building in the server.

pygeoapi comes from PyPI in its own virtual environment (``--peer-python``, default
``/tmp/pgvenv/bin/python``; ``python3 -m venv /tmp/pgvenv && /tmp/pgvenv/bin/pip install
pygeoapi``); without it geosafe's figures are printed alone.

Measured 2026-12-05 (load 7.6-9.3 on 2 cores, 108 features): geosafe p50 21 ms, p99 81 ms,
233 req/s, 222 MB; pygeoapi p50 32 ms, p99 109 ms, 186 req/s, 87 MB (main before the fourth
wave: p50 278 ms, p99 587 ms, 275 MB). docs/notes/perf.md says what was cut.

Usage::

    .venv/bin/python benchmarks/server_load.py [--months 2] [--requests 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ogc_collections import (  # noqa: E402
    _geosafe_server,
    _pygeoapi_peer,
    _pygeoapi_ready,
    _server,
    _serving,
    _wait,
    children,
)

#: Incidents of police.uk are dated to the month: the school-run window would hold none.
QUERY = "preset=all-day"
PAGE = 100
#: Seconds idle before the second memory reading.
IDLE_S = 2.0
#: What each contender's other processes are.
OTHERS = {
    "geosafe": "its layer builder, which exits after 60 idle seconds",
    "pygeoapi": "the Flask debug reloader `pygeoapi serve` runs, which stays",
}


def _memory(pid: int) -> dict[str, float]:
    """``VmRSS``, ``VmHWM`` of the serving process of ``pid``'s tree (:func:`_serving`), and
    ``others``: the ``VmRSS`` of the tree's other processes summed (geosafe's layer builder,
    pygeoapi's reloader)."""
    serving = _serving(pid)
    out = {"others": 0.0}
    for proc in {pid, serving, *children(pid)}:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{proc}/status").read_text().splitlines():
                key = line.split(":")[0]
                if proc == serving and key in ("VmRSS", "VmHWM"):
                    out[key] = int(line.split()[1]) / 1024
                elif proc != serving and key == "VmRSS":
                    out["others"] += int(line.split()[1]) / 1024
    return out


def _load(url_for: list[str], headers: dict[str, str], *, clients: int, n: int) -> list[float]:
    """``n`` GETs spread over ``clients`` threads (one client each); latencies in seconds."""
    times: list[float] = []
    lock = threading.Lock()
    counter = iter(range(n))
    errors: list[str] = []

    def worker() -> None:
        with httpx.Client(timeout=120) as client:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t = time.perf_counter()
                r = client.get(url_for[i % len(url_for)], headers=headers)
                dt = time.perf_counter() - t
                with lock:
                    times.append(dt)
                    if r.status_code != 200:
                        errors.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return times


def _stats(times: list[float], wall: float) -> dict[str, float]:
    ms = sorted(t * 1000 for t in times)
    return {
        "p50_ms": statistics.median(ms),
        "p99_ms": ms[min(len(ms) - 1, int(0.99 * len(ms)))],
        "rps": len(ms) / wall,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--months", type=int, default=2)
    ap.add_argument("--requests", type=int, default=400, help="per contender per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--peer-python", default="/tmp/pgvenv/bin/python")
    ap.add_argument("--builder", choices=["process", "inline"], default="process")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-load-"))
    cmd, env, base, token = _geosafe_server(folder, args.months)
    env["GEOSAFE_LAYER_BUILDER"] = args.builder
    auth = {"Authorization": f"Bearer {token}", "X-Purpose": "benchmark"}
    peer_ok = _pygeoapi_ready(args.peer_python)
    rounds: dict[str, list[dict[str, float]]] = {"geosafe": [], "pygeoapi": []}
    memory: dict[str, dict[str, float]] = {}
    with _server(cmd, env, folder / "geosafe.log", ROOT) as gs:
        _wait(f"{base}/healthz", gs, {})
        client = httpx.Client(timeout=600)
        docs = client.get(f"{base}/ogc/collections", headers=auth).json()["collections"]
        for doc in docs:  # every layer built once, as a client session would
            client.get(f"{base}/downloads/{doc['id']}.geojson?{QUERY}", headers=auth)
        fc = client.get(f"{base}/downloads/incidents.geojson?{QUERY}", headers=auth).json()
        n = len(fc["features"])
        if n == 0:
            raise SystemExit("the incidents layer is empty: import more months (--months)")
        offsets = list(range(0, n, PAGE))
        g_urls = [
            f"{base}/ogc/collections/incidents/items?{QUERY}&limit={PAGE}&offset={o}"
            for o in offsets
        ]
        peer = None
        if peer_ok:
            (folder / "incidents.geojson").write_text(json.dumps(fc))
            inc_doc = next(d for d in docs if d["id"] == "incidents")
            peer = _pygeoapi_peer(folder, [inc_doc], args.peer_python)

        def run_geosafe() -> None:
            t = time.perf_counter()
            times = _load(g_urls, auth, clients=args.clients, n=args.requests)
            rounds["geosafe"].append(_stats(times, time.perf_counter() - t))

        _load(g_urls[:2], auth, clients=2, n=4)  # warm
        if peer is None:
            for _ in range(args.rounds):
                run_geosafe()
        else:
            pport, penv = peer
            pcmd = [str(Path(args.peer_python).parent / "pygeoapi"), "serve"]
            with _server(pcmd, penv, folder / "pygeoapi.log", folder) as ps:
                pbase = f"http://127.0.0.1:{pport}"
                _wait(f"{pbase}/collections?f=json", ps, {})
                p_urls = [
                    f"{pbase}/collections/incidents/items?f=json&limit={PAGE}&offset={o}"
                    for o in offsets
                ]
                _load(p_urls[:2], {}, clients=2, n=4)
                for _ in range(args.rounds):
                    run_geosafe()
                    t = time.perf_counter()
                    times = _load(p_urls, {}, clients=args.clients, n=args.requests)
                    rounds["pygeoapi"].append(_stats(times, time.perf_counter() - t))
                memory["pygeoapi"] = _memory(ps.pid)
                memory["geosafe"] = _memory(gs.pid)
                time.sleep(IDLE_S)  # a server may give memory back once idle (geosafe: 1 s)
                memory["pygeoapi"]["idle"] = _memory(ps.pid)["VmRSS"]
        if "geosafe" not in memory:
            memory["geosafe"] = _memory(gs.pid)
            time.sleep(IDLE_S)
        memory["geosafe"]["idle"] = _memory(gs.pid)["VmRSS"]
        if memory["geosafe"]["others"]:  # the layer builder exits once idle (60 s)
            t0 = time.monotonic()
            while children(gs.pid) and time.monotonic() - t0 < 120:
                time.sleep(0.5)
            memory["geosafe"]["others_gone_s"] = time.monotonic() - t0 + IDLE_S
            memory["geosafe"]["others_after"] = _memory(gs.pid)["others"]
    print(
        f"incident items ({n} features, pages of {PAGE}), {args.clients} clients, "
        f"{args.requests} requests x {args.rounds} rounds per contender (medians), loopback; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    med: dict[str, dict[str, float]] = {}
    for name, rs in rounds.items():
        if not rs:
            continue
        med[name] = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        m = memory[name]
        print(
            f"  {name:9s} p50 {med[name]['p50_ms']:7.1f} ms  p99 {med[name]['p99_ms']:7.1f} ms  "
            f"{med[name]['rps']:6.0f} req/s  RSS after {m['VmRSS']:.0f} MB (peak {m['VmHWM']:.0f} MB, "
            f"{m['idle']:.0f} MB {IDLE_S:g} s later)"
            + (f"; other processes {m['others']:.0f} MB ({OTHERS[name]}" if m["others"] else "")
            + (
                f": gone {m['others_gone_s']:.0f} s after the run, {m['others_after']:.0f} MB left)"
                if "others_gone_s" in m
                else ")"
                if m["others"]
                else ""
            )
        )
    if "pygeoapi" in med:
        g, p = med["geosafe"], med["pygeoapi"]
        print(
            f"  ratio geosafe / pygeoapi: p50 {g['p50_ms'] / p['p50_ms']:.2f}, "
            f"p99 {g['p99_ms'] / p['p99_ms']:.2f}, "
            f"RSS {memory['geosafe']['VmRSS'] / memory['pygeoapi']['VmRSS']:.2f} "
            f"(idle {memory['geosafe']['idle'] / memory['pygeoapi']['idle']:.2f}) "
            "(below 1: geosafe faster / smaller)"
        )
        gm, pm = memory["geosafe"], memory["pygeoapi"]
        print(
            f"  whole process trees right after the run: geosafe {gm['VmRSS'] + gm['others']:.0f} MB"
            f", pygeoapi {pm['VmRSS'] + pm['others']:.0f} MB "
            f"({(gm['VmRSS'] + gm['others']) / (pm['VmRSS'] + pm['others']):.2f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
