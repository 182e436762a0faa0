"""Where a geosafe server's resident memory goes: a step-by-step replay, and the floor.

``replay``: a uvicorn server (one worker, as ``ogc_collections.py`` starts it) on a store of
the last ``--months`` bundled police.uk months; after each step (start, ``/collections``,
each collection's GeoJSON download, the 8-client items load, two idle seconds) the server's
``/proc/PID/smaps_rollup`` and ``smaps`` are read from outside: resident total, anonymous
(heap, arenas), and the mapped files that grew the most (a library loaded by that step
shows here: ``libgdal``, ``_ndimage``...).

``--builder``: layers built in the server (``inline``) or in its child process (``process``,
the default of ``geosafe serve``: :mod:`geosafe.publish.builder`); ``both`` runs one after
the other. The ``builder`` column is the child's resident memory, ``total`` the two together;
the last step waits for the child to exit after its idle time (``GEOSAFE_BUILDER_IDLE_S``,
60 s by default).

``floor``: the resident memory of a process that has only imported (and, for the web
frameworks, built an app): bare Python, a FastAPI app with uvicorn, + numpy, + pandas,
+ shapely and pyproj, + geopandas, geosafe's ``create_app``, and pygeoapi's own composition
(its Flask app as ``pygeoapi serve`` loads it, from ``--peer-python``). Medians of
``--runs`` fresh processes each.

Usage::

    .venv/bin/python benchmarks/server_memory.py replay [--months 2] [--police-dir DIR]
    .venv/bin/python benchmarks/server_memory.py floor [--runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ogc_collections import _geosafe_server, _server, _wait  # noqa: E402
from server_load import PAGE, QUERY, _load, children  # noqa: E402


def _rollup(pid: int) -> dict[str, float]:
    """``Rss``, ``Anonymous`` (MB) of a process."""
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Anonymous"):
            out[key] = int(rest.split()[0]) / 1024
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            out["Threads"] = float(line.split()[1])
    return out


def tree_rss(pid: int) -> tuple[float, float]:
    """Resident MB of ``pid`` and of its children together (0 when it has none)."""
    own = _rollup(pid)["Rss"]
    kids = 0.0
    for c in children(pid):
        with contextlib.suppress(OSError):
            kids += _rollup(c)["Rss"]
    return own, kids


def _files(pid: int) -> dict[str, float]:
    """Resident MB per mapped file (anonymous mappings under ``[anon]``)."""
    out: dict[str, float] = {}
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if not head:
            continue
        if "-" in head[0] and not head[0].endswith(":"):
            name = Path(head[5]).name if len(head) > 5 else "[anon]"
        elif head[0] == "Rss:":
            out[name] = out.get(name, 0.0) + int(head[1]) / 1024
    return out


def replay(months: int, police_dir: Path | None, builder: str = "process") -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    cmd, env, base, token = _geosafe_server(folder, months if police_dir is None else 0)
    env["GEOSAFE_LAYER_BUILDER"] = builder
    if police_dir is not None:  # real months instead of the bundled ones (borough scale)
        from geosafe.ingest import import_file
        from geosafe.store import Store

        with Store(env["GEOSAFE_DB"]) as store:
            for f in sorted(police_dir.glob("*.csv*"))[-months:]:
                import_file(store, "police_uk", f)
    auth = {"Authorization": f"Bearer {token}", "X-Purpose": "benchmark"}
    rows: list[tuple[str, dict[str, float], list[tuple[str, float]]]] = []
    idle_s = float(env.get("GEOSAFE_BUILDER_IDLE_S", 60.0))
    with _server(cmd, env, folder / "geosafe.log", ROOT) as gs:
        _wait(f"{base}/healthz", gs, {})
        last = _files(gs.pid)

        def step(label: str) -> None:
            nonlocal last
            now = _files(gs.pid)
            grew = sorted(
                ((k, v - last.get(k, 0.0)) for k, v in now.items()), key=lambda kv: -kv[1]
            )
            roll = _rollup(gs.pid)
            roll["builder"] = tree_rss(gs.pid)[1]
            rows.append((label, roll, [(k, d) for k, d in grew[:4] if d >= 1.0]))
            last = now

        step("start (create_app)")
        client = httpx.Client(timeout=600)
        docs = client.get(f"{base}/ogc/collections", headers=auth).json()["collections"]
        step("/ogc/collections")
        for doc in docs:
            r = client.get(f"{base}/downloads/{doc['id']}.geojson?{QUERY}", headers=auth)
            step(f"{doc['id']} ({r.status_code})")
        n = len(
            client.get(f"{base}/downloads/incidents.geojson?{QUERY}", headers=auth).json()[
                "features"
            ]
        )
        urls = [
            f"{base}/ogc/collections/incidents/items?{QUERY}&limit={PAGE}&offset={o}"
            for o in range(0, max(n, 1), PAGE)
        ]
        _load(urls, auth, clients=8, n=1200)
        step("items, 8 clients x 1200")
        time.sleep(2.0)
        step("2 s idle")
        if builder == "process":  # the builder's child exits after its idle time
            deadline = time.monotonic() + idle_s + 30
            while children(gs.pid) and time.monotonic() < deadline:
                time.sleep(0.5)
            step(f"builder idle ({idle_s:g} s): exited")
    print(
        f"server memory replay, {months} months ({n} incidents), layers built "
        f"{'in a child process' if builder == 'process' else 'in the server'}; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"  {'step':34s} {'RSS':>7s} {'anon':>7s} {'threads':>7s} {'builder':>7s} {'total':>7s}"
        "  grew (MB)"
    )
    for label, roll, grew in rows:
        g = ", ".join(f"{k} +{d:.0f}" for k, d in grew)
        print(
            f"  {label:34s} {roll['Rss']:7.1f} {roll['Anonymous']:7.1f} {roll['Threads']:7.0f} "
            f"{roll['builder']:7.1f} {roll['Rss'] + roll['builder']:7.1f}  {g}"
        )
    return 0


_BARE = "import sys\n"
_APP = "from fastapi import FastAPI\nimport uvicorn\napp = FastAPI()\n"
FLOOR = [
    ("python", _BARE),
    ("FastAPI app + uvicorn", _APP),
    ("+ numpy", _APP + "import numpy\n"),
    ("+ pandas", _APP + "import numpy, pandas\n"),
    ("+ shapely, pyproj", _APP + "import numpy, pandas, shapely, pyproj\n"),
    ("+ geopandas", _APP + "import numpy, pandas, shapely, pyproj, geopandas\n"),
    ("geosafe create_app", "from api import create_app\napp = create_app()\n"),
]
#: What ``pygeoapi serve`` loads: its Flask app (the API object and every configured plugin
#: is built at import from ``PYGEOAPI_CONFIG``).
PEER = "import pygeoapi.flask_app\n"
_TAIL = (
    "\nfrom pathlib import Path\n"
    "print([int(x.split()[1]) for x in Path('/proc/self/status').read_text().splitlines()"
    " if x.startswith('VmRSS:')][0])\n"
)


def _rss_of(python: str, code: str, env: dict[str, str], cwd: Path) -> float:
    out = subprocess.run(
        [python, "-c", code + _TAIL], capture_output=True, text=True, env=env, cwd=cwd
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-500:])
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def floor(runs: int, peer_python: str) -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-memory-floor-"))
    _cmd, env, _base, _token = _geosafe_server(folder, 1)
    rows = []
    for label, code in FLOOR:
        rows.append(
            (
                label,
                statistics.median(_rss_of(sys.executable, code, env, ROOT) for _ in range(runs)),
            )
        )
    if Path(peer_python).exists():
        from ogc_collections import _pygeoapi_config

        doc = {
            "id": "incidents", "title": "incidents", "description": "incidents",
            "extent": {"spatial": {"bbox": [[-0.3, 51.4, 0.0, 51.6]]}},
        }  # fmt: skip
        (folder / "incidents.geojson").write_text(
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "a", '
            '"geometry": {"type": "Point", "coordinates": [-0.1, 51.5]}, "properties": {}}]}'
        )
        cfg = _pygeoapi_config(folder, [doc], 5000)
        penv = dict(os.environ, PYGEOAPI_CONFIG=str(cfg), PYGEOAPI_OPENAPI=str(folder / "o.yml"))
        (folder / "o.yml").write_text("openapi: 3.0.2\n")
        rows.append(
            (
                "pygeoapi (its Flask app)",
                statistics.median(_rss_of(peer_python, PEER, penv, folder) for _ in range(runs)),
            )
        )
        rows.append(
            (
                "python (peer venv)",
                statistics.median(_rss_of(peer_python, _BARE, penv, folder) for _ in range(runs)),
            )
        )
    print(
        f"resident memory after imports (median of {runs} processes); load {os.getloadavg()[0]:.1f}"
    )
    for label, mb in rows:
        print(f"  {label:28s} {mb:6.1f} MB")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["replay", "floor"])
    ap.add_argument("--months", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--builder",
        choices=["process", "inline", "both"],
        default="both",
        help="where the server builds its layers (GEOSAFE_LAYER_BUILDER); both: one after the other",
    )
    ap.add_argument("--peer-python", default="/tmp/pgvenv/bin/python")
    ap.add_argument(
        "--police-dir",
        type=Path,
        help="replay on the last --months police.uk files of this folder, e.g. "
        "../shared/data/police/met_burglary_north_london (default: the bundled months)",
    )
    args = ap.parse_args()
    if args.mode == "replay":
        modes = ["inline", "process"] if args.builder == "both" else [args.builder]
        for mode in modes:
            replay(args.months, args.police_dir, mode)
        return 0
    return floor(args.runs, args.peer_python)


if __name__ == "__main__":
    raise SystemExit(main())
