"""Several service workers under a bounded mixed load while imports run (issue 15's
concurrency acceptance), shared by ``tests/scale/test_workers.py`` (a small run) and
``benchmarks/service_workers.py`` (8 threads x 500 requests).

- :func:`build_store`: the access tests' demo store (real police.uk burglaries of the last 12
  bundled months, hand-made DIR/CRIS rows, synthetic ASIF/FAP) in a folder, or in a PostGIS
  database;
- :func:`serve`: ``python -m geosafe serve --workers N`` as a subprocess on a free loopback
  port (its log in ``folder/server.log``), with the shared state (tokens, sessions, limits,
  audit) in SQLite files beside the store or in a PostgreSQL database;
- :func:`run_load`: ``threads`` clients x ``per_thread`` mixed requests (collections, items
  with a bbox, legend, KDE raster, the school's map, basemap, a browser login and logout; all
  three roles) while two ``geosafe import police-uk`` subprocesses import real police.uk
  months the store does not hold yet.

It starts the server through ``geosafe serve --workers N`` (the command the README gives),
not ``tests/_live.py``'s ``uvicorn`` line, and waits for every worker process; the port comes
from ``tests/_live.py``.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from tests._live import free_port
from tests.access.loadtest import peak_rss_mb

ROOT = Path(__file__).resolve().parents[2]
SCHOOL = "102053"
WARDS = ("E05000267", "E05000266")
#: The demo area around Bounds Green, lon/lat (about 30 km²).
BBOX = "-0.16,51.57,-0.08,51.63"
#: Every date the bundled police.uk months cover (an analyst may ask any interval).
ALL_TIME = "start=2010-01-01&end=2030-12-31&preset=all-day"


@dataclass
class LoadResult:
    """What a run measured (latencies in milliseconds)."""

    requests: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    imports: list[dict[str, Any]] = field(default_factory=list)
    worker_rss_mb: dict[int, float] = field(default_factory=dict)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else math.nan

    def summary(self) -> str:
        rss = ", ".join(f"{v:.0f}" for v in self.worker_rss_mb.values())
        return (
            f"{self.requests} requests in {self.seconds:.1f} s "
            f"({self.requests / max(self.seconds, 1e-9):.1f} req/s), {len(self.errors)} errors, "
            f"p50 {self.percentile(50):.0f} ms, p99 {self.percentile(99):.0f} ms; statuses "
            f"{dict(sorted(self.statuses.items()))}; imports {len(self.imports)}; peak RSS per "
            f"worker (MB) [{rss}]"
        )


def build_store(folder: Path, url: str | None = None) -> Path | str:
    """The demo store: ``folder/geosafe.db``, or the PostGIS database at ``url`` (its input
    files written in ``folder``)."""
    from geosafe import datasets
    from geosafe.ingest import import_file
    from geosafe.store import open_store
    from tests.access import _demo

    folder.mkdir(parents=True, exist_ok=True)
    if url is None:
        return _demo.build_store(folder)
    with open_store(url) as store:  # the same imports as _demo.build_store
        for f in datasets.police_files()[-12:]:
            import_file(store, "police_uk", f)
        import_file(store, "dir", _demo.write_dir_csv(folder / "dir.csv"))
        import_file(store, "cris", _demo.write_cris_csv(folder / "cris.csv"))
        for source, path in _demo.write_synth_csvs(folder).items():
            import_file(store, source, path)
    return url


def import_files(months: int = 6) -> tuple[list[Path], list[Path]]:
    """Two lists of real police.uk month files the demo store does not hold (older months)."""
    from geosafe import datasets

    older = datasets.police_files()[:-12]
    chosen = older[-2 * months :]
    return chosen[0::2], chosen[1::2]


def police_refs(files: list[Path]) -> set[str]:
    """The crime ids of located rows in police.uk files, read with the csv module (an
    independent count of what an import should add)."""
    refs = set()
    for f in files:
        with gzip.open(f, "rt", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                if row["Crime ID"] and row["Longitude"] and row["Latitude"]:
                    refs.add(row["Crime ID"])
    return refs


def server_env(db: Path | str, folder: Path, *, shared_url: str | None = None) -> dict[str, str]:
    """The environment of the service and of the imports: generous request limits (this
    measures errors, not refusals), and the shared state in PostgreSQL when ``shared_url``."""
    env = dict(os.environ)
    env.update(
        {
            "GEOSAFE_DB": str(db),
            "GEOSAFE_WORK_DIR": str(folder / "work"),
            "GEOSAFE_ACCESS_RATE_PER_MINUTE": "100000000",
            "GEOSAFE_ACCESS_LOGIN_FAILURES_PER_MINUTE": "1000",
            "GEOSAFE_ACCESS_REQUEST_TIMEOUT_S": "600",
            "GEOSAFE_ACCESS_HEAVY_SLOTS": "2",
            "GEOSAFE_ACCESS_HEAVY_WAIT_S": "600",
            "GEOSAFE_AUDIT_KEY_DIR": str(folder / "audit-keys"),
            "GEOSAFE_ROLLS_DIR": str(folder / "rolls"),
            "PYTHONPATH": str(ROOT),
        }
    )
    for name in ("GEOSAFE_ACCESS_TOKEN_DB", "GEOSAFE_ACCESS_LIMITS_DB", "GEOSAFE_AUDIT_DB"):
        env.pop(name, None)  # beside the store, or in its database (not a test's leftovers)
    if shared_url:
        env["GEOSAFE_ACCESS_TOKEN_DB"] = shared_url
        env["GEOSAFE_ACCESS_LIMITS_DB"] = shared_url
        env["GEOSAFE_AUDIT_DB"] = shared_url
    return env


@dataclass
class Server:
    """A running ``geosafe serve``: its base URL, process and environment."""

    base: str
    proc: subprocess.Popen[bytes]
    env: dict[str, str]

    def workers(self) -> list[int]:
        """Process ids of the worker processes (children of ``geosafe serve``)."""
        return children(self.proc.pid)


def children(parent: int) -> list[int]:
    """Processes whose parent is ``parent`` started by multiprocessing's spawn (uvicorn's
    workers; not its resource tracker)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and b"spawn_main" in cmd:
            out.append(int(stat.parent.name))
    return sorted(out)


def cpu_ticks(pid: int) -> int:
    """User + system CPU time of a process, clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


@contextlib.contextmanager
def serve(db: Path | str, folder: Path, *, workers: int, env: dict[str, str]) -> Iterator[Server]:
    """``python -m geosafe serve --workers N`` on a free loopback port; stopped on exit."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "geosafe", "serve", "--port", str(port), "--workers", str(workers)]
    with (folder / "server.log").open("wb") as log_file:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log_file, stderr=log_file)
        try:
            end = time.monotonic() + 300
            while True:
                if proc.poll() is not None:
                    log = (folder / "server.log").read_text()[-2000:]
                    raise RuntimeError(f"geosafe serve exited with {proc.returncode}: {log}")
                if workers == 1 or len(children(proc.pid)) >= workers:  # 1: no child
                    with contextlib.suppress(httpx.HTTPError):
                        if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                            break
                if time.monotonic() > end:
                    raise RuntimeError("geosafe serve did not become ready in 300 s")
                time.sleep(0.3)
            yield Server(base, proc, env)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)


def make_tokens(target: Path | str) -> dict[str, str]:
    """One token per role in the service's token database (a path or a PostgreSQL URL)."""
    from geosafe.access.tokens import TokenStore, create_demo_tokens

    return create_demo_tokens(TokenStore(target), school_urn=SCHOOL, area_codes=list(WARDS))


#: The mixed requests: (role, path, extra headers). ``"login"`` is a browser's session:
#: log in with the school's token, ask who it is, log out (three requests).
PLAN: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("analyst", "/ogc/collections", {}),
    ("analyst", f"/ogc/collections/incidents/items?bbox={BBOX}&limit=50&{ALL_TIME}",
     {"X-Purpose": "workers load test"}),
    ("analyst", f"/ogc/collections/h3-cells/items?bbox={BBOX}&limit=100", {}),
    ("analyst", "/ogc/collections/hotspots-kde/legend", {}),
    ("school", "/ogc/collections/h3-cells/items?limit=100", {}),
    ("school", f"/maps/schools/{SCHOOL}", {}),
    ("school", "/ogc/collections/hotspots-kde/items?limit=20", {}),
    ("school", "/rasters/kde.tif?cell_m=50&bandwidth_m=500", {}),
    ("neighbourhood", f"/ogc/collections/h3-cells/items?bbox={BBOX}", {}),
    ("neighbourhood", f"/ogc/collections/schools/items?bbox={BBOX}", {}),
    ("neighbourhood", "/maps/basemap.json", {}),
    ("login", "/session", {}),
)  # fmt: skip


def _login(c: httpx.Client, token: str) -> list[int]:
    """A browser session: log in, ask who it is, log out; the three statuses."""
    origin = {"Origin": str(c.base_url).rstrip("/")}
    c.cookies.clear()
    r1 = c.post("/session", json={"token": token}, headers=origin)
    r2 = c.get("/session")
    r3 = c.delete("/session", headers=origin)
    ok = r2.status_code == 200 and r2.json().get("role") == "school"
    return [r1.status_code, r2.status_code if ok else 599, r3.status_code]


def warm(server: Server, toks: dict[str, str], *, rounds: int = 3) -> None:
    """Ask every request of the plan ``rounds`` x workers times on fresh connections, so each
    worker builds its layers before the measured run (first builds are not measured)."""
    n = rounds * max(1, len(server.workers()))

    def one(i: int) -> None:
        role, path, extra = PLAN[i % len(PLAN)]
        with httpx.Client(base_url=server.base, timeout=600) as c:
            if role == "login":
                _login(c, toks["school"])
            else:
                c.get(path, headers={"Authorization": f"Bearer {toks[role]}", **extra})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n * len(PLAN))]
    for chunk in range(0, len(threads), 8):
        batch = threads[chunk : chunk + 8]
        for t in batch:
            t.start()
        for t in batch:
            t.join()


def run_imports(
    server: Server, groups: Sequence[list[Path]], errors: list[str]
) -> list[dict[str, Any]]:
    """``geosafe import police-uk FILES...`` for each group at once (subprocesses); the
    JSON objects they printed."""
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def one(files: list[Path]) -> None:
        cmd = [sys.executable, "-m", "geosafe", "import", "police-uk", *map(str, files)]
        proc = subprocess.run(
            cmd, cwd=ROOT, env=server.env, capture_output=True, text=True, check=False
        )
        with lock:
            if proc.returncode != 0:
                errors.append(f"import failed ({proc.returncode}): {proc.stderr[-600:]}")
                return
            for line in proc.stdout.splitlines():
                if line.startswith("{"):
                    results.append(json.loads(line))

    threads = [threading.Thread(target=one, args=(g,)) for g in groups]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def run_load(
    server: Server,
    toks: dict[str, str],
    *,
    threads: int = 8,
    per_thread: int = 60,
    imports: Sequence[list[Path]] | None = None,
) -> LoadResult:
    """``threads`` clients x ``per_thread`` mixed requests while the imports run. Errors:
    transport errors and any status but 200 (204 for a logout)."""
    result = LoadResult()
    lock = threading.Lock()

    def record(path: str, status: int, ms: float, text: str = "") -> None:
        with lock:
            result.latencies_ms.append(ms)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status not in (200, 204):
                result.errors.append(f"{status} {path}: {text[:300]}")

    def client(k: int) -> None:
        with httpx.Client(base_url=server.base, timeout=600) as c:
            for i in range(per_thread):
                role, path, extra = PLAN[(k * 5 + i) % len(PLAN)]
                t0 = time.perf_counter()
                try:
                    if role == "login":
                        statuses = _login(c, toks["school"])
                        ms = (time.perf_counter() - t0) * 1000 / 3
                        for s in statuses:
                            record(path, s, ms)
                        continue
                    r = c.get(path, headers={"Authorization": f"Bearer {toks[role]}", **extra})
                    record(path, r.status_code, (time.perf_counter() - t0) * 1000, r.text)
                except httpx.HTTPError as exc:
                    with lock:
                        result.errors.append(f"{type(exc).__name__} {path}: {exc}")

    importer = None
    if imports:

        def do_imports() -> None:
            time.sleep(0.5)  # under load
            found = run_imports(server, imports, result.errors)
            with lock:
                result.imports.extend(found)

        importer = threading.Thread(target=do_imports)
    pool = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    t0 = time.perf_counter()
    if importer is not None:
        importer.start()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if importer is not None:
        importer.join()
    result.seconds = time.perf_counter() - t0
    result.requests = len(result.latencies_ms)
    serving = server.workers() or [server.proc.pid]  # one worker: the server process itself
    result.worker_rss_mb = {pid: peak_rss_mb(pid) for pid in serving}
    return result


@dataclass
class Hammered:
    """What :func:`hammer` saw: statuses, seconds, CPU ticks each worker spent meanwhile, and
    the ``Retry-After`` of each 429."""

    statuses: list[int]
    seconds: float
    cpu: dict[int, int]
    retry_after: list[str]


def hammer(server: Server, token: str, *, requests: int, threads: int = 6) -> Hammered:
    """``requests`` cheap requests with one token, each on a new connection (so they spread
    over the workers); the statuses, elapsed seconds and each worker's CPU ticks spent."""
    pids = server.workers()
    before = {p: cpu_ticks(p) for p in pids}
    statuses: list[int] = []
    retry: list[str] = []
    lock = threading.Lock()
    todo = iter(range(requests))

    def one() -> None:
        for _ in todo:
            r = httpx.get(
                f"{server.base}/session", headers={"Authorization": f"Bearer {token}"}, timeout=60
            )
            with lock:
                statuses.append(r.status_code)
                if r.status_code == 429:
                    retry.append(r.headers.get("retry-after", ""))

    t0 = time.monotonic()
    pool = [threading.Thread(target=one) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - t0
    spent = {p: cpu_ticks(p) - before[p] for p in pids}
    return Hammered(statuses, elapsed, spent, retry)
