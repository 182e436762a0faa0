"""Side by side: the OGC API - Features ``/collections`` document (QGIS asks for it on every
connection) from geosafe and from pygeoapi, on loopback, same collections, one run.

geosafe serves a store of real police.uk burglaries (the last months bundled); pygeoapi
serves the same collections (each exported from geosafe as GeoJSON) with its GeoJSON
provider. Each server runs in its own process (uvicorn for geosafe, pygeoapi's Flask app
under its own ``pygeoapi serve``); the client is one ``httpx`` connection per server,
requests interleaved, after one warm-up request each. Prints p50/p95 latency, requests per
second, the ratio geosafe / pygeoapi (below 1: geosafe faster) and each server's resident
memory (VmRSS) after the run and two idle seconds later.

pygeoapi comes from PyPI into its own virtual environment (``--peer-python``, default
``/tmp/pgvenv/bin/python``; create it with ``python3 -m venv /tmp/pgvenv &&
/tmp/pgvenv/bin/pip install pygeoapi``); without it the peer is skipped with a message and
geosafe's figures are printed alone.

Measured 2026-12-05 (load ~8 on 2 cores): geosafe p50 2.08 ms, 336 req/s, 214 MB after every
collection; pygeoapi 1.87 ms, 367 req/s, 88 MB (main before the fourth wave: 23.7 ms, 259 MB).

Usage::

    .venv/bin/python benchmarks/ogc_collections.py [--requests 300] [--months 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], headers: dict[str, str]) -> None:
    end = time.monotonic() + 180
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, headers=headers, timeout=5).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within 180 s")


def children(pid: int) -> list[int]:
    """The process ids of ``pid``'s children (geosafe's layer builder process)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _serving(pid: int) -> int:
    """The process that answers requests in ``pid``'s tree: ``pygeoapi serve`` runs Flask with
    ``debug=True``, whose reloader stays as the parent and serves from a child
    (``WERKZEUG_RUN_MAIN=true`` in its environment); geosafe's server is ``pid`` itself."""
    for child in children(pid):
        with contextlib.suppress(OSError):
            if b"WERKZEUG_RUN_MAIN=true" in Path(f"/proc/{child}/environ").read_bytes():
                return child
    return pid


def _rss_mb(pid: int) -> float:
    """VmRSS of the process answering requests in ``pid``'s tree (:func:`_serving`)."""
    for line in Path(f"/proc/{_serving(pid)}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def _server(cmd: list[str], env: dict[str, str], log: Path, cwd: Path) -> Any:
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fh, stderr=fh)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _geosafe_store(folder: Path, months: int) -> tuple[Path, dict[str, str]]:
    """A store of the last ``months`` bundled police.uk months and a demo token per role."""
    from geosafe import datasets
    from geosafe.access.tokens import TokenStore, create_demo_tokens
    from geosafe.ingest import import_file
    from geosafe.store import Store

    db = folder / "geosafe.db"
    store = Store(db)
    try:
        for f in datasets.police_files()[-months:] if months > 0 else []:
            import_file(store, "police_uk", f)
    finally:
        store.close()
    tokens = create_demo_tokens(TokenStore(Path(f"{db}.auth.sqlite")), school_urn="102053")
    return db, tokens


def _geosafe_server(folder: Path, months: int) -> tuple[list[str], dict[str, str], str, str]:
    """A store of the last ``months`` bundled police.uk months and the command that serves it:
    ``(uvicorn command, environment, base URL, analyst token)``."""
    db, tokens = _geosafe_store(folder, months)
    token = tokens["analyst"]
    port = _free_port()
    env = dict(
        os.environ,
        GEOSAFE_DB=str(db),
        GEOSAFE_WORK_DIR=str(folder / "work"),
        GEOSAFE_ACCESS_RATE_PER_MINUTE="100000000",
        PYTHONPATH=str(ROOT),
    )
    cmd = [sys.executable, "-m", "uvicorn", "api:create_app", "--factory", "--host",
           "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning"]  # fmt: skip
    return cmd, env, f"http://127.0.0.1:{port}", token


def _pygeoapi_ready(peer_python: str) -> bool:
    """Whether ``peer_python`` has pygeoapi (says how to install it when not)."""
    if Path(peer_python).exists() and (
        subprocess.run([peer_python, "-c", "import pygeoapi"], capture_output=True).returncode == 0
    ):
        return True
    print(
        f"pygeoapi: skipped (no pygeoapi at {peer_python}; "
        "python3 -m venv /tmp/pgvenv && /tmp/pgvenv/bin/pip install pygeoapi)"
    )
    return False


def _pygeoapi_peer(
    folder: Path, docs: list[dict[str, Any]], peer_python: str
) -> tuple[int, dict[str, str]] | None:
    """Configure pygeoapi for ``docs`` (their ``FOLDER/<id>.geojson`` written by the caller)
    and generate its OpenAPI document: ``(port, environment)``, or ``None`` (said why)."""
    pport = _free_port()
    cfg = _pygeoapi_config(folder, docs, pport)
    openapi = folder / "openapi.yml"
    penv = dict(os.environ, PYGEOAPI_CONFIG=str(cfg), PYGEOAPI_OPENAPI=str(openapi))
    gen = subprocess.run(
        [str(Path(peer_python).parent / "pygeoapi"), "openapi", "generate", str(cfg),
         "--output-file", str(openapi)],
        env=penv, capture_output=True, text=True,
    )  # fmt: skip
    if gen.returncode != 0:
        print(f"pygeoapi: skipped (openapi generation failed: {gen.stderr[-300:]})")
        return None
    return pport, penv


def _time(client: httpx.Client, url: str, n: int, headers: dict[str, str]) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(url, headers=headers)
        out.append(time.perf_counter() - t)
        if r.status_code != 200:
            raise RuntimeError(f"{url}: {r.status_code} {r.text[:200]}")
    return out


def _pygeoapi_config(folder: Path, docs: list[dict[str, Any]], port: int) -> Path:
    """A pygeoapi configuration serving the same collections from GeoJSON files."""
    resources = {}
    for doc in docs:
        cid = doc["id"]
        bbox = doc["extent"]["spatial"]["bbox"][0]
        resources[cid] = {
            "type": "collection",
            "title": doc["title"],
            "description": doc["description"],
            "keywords": ["geosafe"],
            "extents": {
                "spatial": {"bbox": bbox, "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
            },
            "providers": [
                {
                    "type": "feature",
                    "name": "GeoJSON",
                    "data": str(folder / f"{cid}.geojson"),
                    "id_field": "id",
                }
            ],
        }
    config = {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": f"http://127.0.0.1:{port}",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "language": "en-US",
            "limits": {"default_items": 20, "max_items": 1000},
            "map": {"url": "http://127.0.0.1/none", "attribution": "none"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "peer",
                "description": "peer",
                "keywords": ["peer"],
                "keywords_type": "theme",
                "terms_of_service": "none",
                "url": "http://127.0.0.1",
            },
            "license": {"name": "none", "url": "http://127.0.0.1"},
            "provider": {"name": "peer", "url": "http://127.0.0.1"},
            "contact": {"name": "peer"},
        },
        "resources": resources,
    }
    path = folder / "pygeoapi.config.json"
    path.write_text(json.dumps(config))  # YAML is a superset of JSON
    yml = folder / "pygeoapi.config.yml"
    yml.write_text(json.dumps(config))
    return yml


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--months", type=int, default=3)
    ap.add_argument("--peer-python", default="/tmp/pgvenv/bin/python")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-collections-"))
    cmd, env, base, token = _geosafe_server(folder, args.months)
    auth = {"Authorization": f"Bearer {token}"}
    results: dict[str, dict[str, float]] = {}
    peer_ok = _pygeoapi_ready(args.peer_python)
    with _server(cmd, env, folder / "geosafe.log", ROOT) as gs:
        _wait(f"{base}/healthz", gs, {})
        client = httpx.Client(timeout=300)
        t0 = time.perf_counter()
        docs = client.get(f"{base}/ogc/collections", headers=auth).json()["collections"]
        cold = time.perf_counter() - t0
        peer = None
        if peer_ok:
            for doc in docs:  # the same features for the peer, as GeoJSON files
                r = client.get(
                    f"{base}/downloads/{doc['id']}.geojson",
                    headers={**auth, "X-Purpose": "benchmark"},
                )
                fc = r.json() if r.status_code == 200 else {"features": []}
                if not fc["features"]:  # pygeoapi's GeoJSON provider needs one feature
                    fc["type"] = "FeatureCollection"
                    fc["features"] = [
                        {
                            "type": "Feature",
                            "id": "placeholder",
                            "geometry": {"type": "Point", "coordinates": [-0.12, 51.6]},
                            "properties": {"note": "placeholder for an empty collection"},
                        }
                    ]
                (folder / f"{doc['id']}.geojson").write_text(json.dumps(fc))
            peer = _pygeoapi_peer(folder, docs, args.peer_python)
        if peer is not None:
            pport, penv = peer
            pcmd = [str(Path(args.peer_python).parent / "pygeoapi"), "serve"]
            with _server(pcmd, penv, folder / "pygeoapi.log", folder) as ps:
                pbase = f"http://127.0.0.1:{pport}"
                _wait(f"{pbase}/collections?f=json", ps, {})
                pclient = httpx.Client(timeout=300)
                _time(pclient, f"{pbase}/collections?f=json", 3, {})
                _time(client, f"{base}/ogc/collections", 3, auth)
                g: list[float] = []
                p: list[float] = []
                for _ in range(args.requests // 10):  # interleaved in blocks of ten
                    g += _time(client, f"{base}/ogc/collections", 10, auth)
                    p += _time(pclient, f"{pbase}/collections?f=json", 10, {})
                results["pygeoapi"] = _stats(p) | {"rss_mb": _rss_mb(ps.pid)}
                rss_now = _rss_mb(gs.pid)
                time.sleep(2.0)  # a server may give memory back once idle (geosafe: 1 s)
                results["pygeoapi"]["idle_mb"] = _rss_mb(ps.pid)
        else:
            g = _time(client, f"{base}/ogc/collections", args.requests, auth)
            rss_now = _rss_mb(gs.pid)
            time.sleep(2.0)
        results["geosafe"] = _stats(g) | {
            "rss_mb": rss_now,
            "idle_mb": _rss_mb(gs.pid),
            "cold_ms": cold * 1000,
        }
    print(f"/collections, {args.requests} requests, {len(docs)} collections, loopback")
    for name, r in results.items():
        extra = f", first (cold) {r['cold_ms']:.0f} ms" if "cold_ms" in r else ""
        print(
            f"  {name:9s} p50 {r['p50_ms']:.2f} ms  p95 {r['p95_ms']:.2f} ms  "
            f"{r['rps']:.0f} req/s  RSS {r['rss_mb']:.0f} MB ({r['idle_mb']:.0f} MB 2 s later)"
            f"{extra}"
        )
    if "pygeoapi" in results:
        ratio = results["geosafe"]["p50_ms"] / results["pygeoapi"]["p50_ms"]
        print(f"  ratio geosafe / pygeoapi (p50): {ratio:.2f} (below 1: geosafe faster)")
        g_, p_ = results["geosafe"], results["pygeoapi"]
        print(
            f"  ratio geosafe / pygeoapi (RSS): {g_['rss_mb'] / p_['rss_mb']:.2f}, "
            f"2 s later {g_['idle_mb'] / p_['idle_mb']:.2f}"
        )
    return 0


def _stats(times: list[float]) -> dict[str, float]:
    ms = sorted(t * 1000 for t in times)
    return {
        "p50_ms": statistics.median(ms),
        "p95_ms": ms[int(0.95 * (len(ms) - 1))],
        "rps": len(ms) / (sum(ms) / 1000),
    }


if __name__ == "__main__":
    raise SystemExit(main())
