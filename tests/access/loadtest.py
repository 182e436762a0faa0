"""Load test on loopback: a real uvicorn server under read load while imports run.

Starts ``uvicorn api:create_app --factory`` on a free loopback port against a copy of a
store, creates one token per role, then runs ``threads`` httpx clients issuing ``requests``
GETs in all (a mix of OGC collections, aggregated items per role, rasters, downloads, maps and
the analyst's audited incident items) while ``geosafe import`` adds DIR files in a
subprocess, then a burst of heavy requests (new density surfaces that miss the cache, and
requests over the cost limits, all at once). Reports errors (transport errors, and any non-200
of the mixed load; any 5xx of the burst), latency percentiles, the server's peak memory
(``VmHWM``), and checks that nothing was lost: every imported row is in the store and every
incident-level read wrote one audit row.

Run from the repository root (a bigger run than the CI test)::

    .venv/bin/python -m tests.access.loadtest --requests 2000 --threads 8 --imports 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from tests._live import serve_process

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LoadResult:
    """What a load run measured (latencies in milliseconds)."""

    requests: int
    errors: list[str]
    latencies_ms: list[float]
    imports_ok: int
    rows_before: int
    rows_after: int
    rows_imported: int
    incident_reads: int
    audit_reads: int
    seconds: float
    status_counts: dict[int, int] = field(default_factory=dict)
    burst_statuses: dict[int, int] = field(default_factory=dict)
    peak_rss_mb: float = float("nan")
    heavy_peak: int | None = None

    @property
    def p50(self) -> float:
        return float(np.percentile(self.latencies_ms, 50)) if self.latencies_ms else float("nan")

    @property
    def p95(self) -> float:
        return float(np.percentile(self.latencies_ms, 95)) if self.latencies_ms else float("nan")

    def summary(self) -> str:
        return (
            f"{self.requests} requests in {self.seconds:.1f} s "
            f"({self.requests / max(self.seconds, 1e-9):.1f} req/s), {len(self.errors)} errors, "
            f"p50 {self.p50:.0f} ms, p95 {self.p95:.0f} ms; imports {self.imports_ok} ok, "
            f"rows {self.rows_before} -> {self.rows_after} (+{self.rows_imported} imported); "
            f"incident reads {self.incident_reads}, audit rows {self.audit_reads}; "
            f"statuses {dict(sorted(self.status_counts.items()))}; heavy burst statuses "
            f"{dict(sorted(self.burst_statuses.items()))}; server peak RSS "
            f"{self.peak_rss_mb:.0f} MB"
        )


def _env(db: Path, work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "GEOSAFE_DB": str(db),
            "GEOSAFE_WORK_DIR": str(work),
            "GEOSAFE_ACCESS_RATE_PER_MINUTE": "100000000",
            "GEOSAFE_ACCESS_REQUEST_TIMEOUT_S": "300",
            "GEOSAFE_ACCESS_HEAVY_SLOTS": "2",
            "GEOSAFE_ACCESS_HEAVY_WAIT_S": "60",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def peak_rss_mb(pid: int) -> float:
    """A process's peak resident memory (``VmHWM``), MB; NaN where /proc is unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


#: Heavy requests fired at once after the mixed load: new surfaces that miss every cache
#: (within the limits), and requests over the limits (refused before any work).
BURST: tuple[tuple[str, str], ...] = (
    *(
        ("analyst", f"/rasters/kde.tif?cell_m={c}&bandwidth_m={b}&kernel={k}&preset=all-day")
        for c, b, k in (
            (10, 900, "quartic"),
            (10, 1100, "quartic"),
            (12, 700, "gaussian"),
            (15, 800, "gaussian"),
            (20, 1500, "quartic"),
            (10, 1300, "quartic"),
        )
    ),
    ("analyst", "/rasters/kde.tif?cell_m=5&bandwidth_m=5000&kernel=gaussian&preset=all-day"),
    ("analyst", "/ogc/collections/hotspots-kde/items?cell_m=5&bandwidth_m=4000"),
    ("school", "/rasters/kde.tif?cell_m=5&bandwidth_m=5000&kernel=gaussian&preset=all-day"),
    ("school", "/rasters/kde.tif?cell_m=50&bandwidth_m=1000&preset=all-day"),
    ("neighbourhood", "/ogc/collections/hotspots-kde/items?cell_m=100&bandwidth_m=1000"),
    ("analyst", "/ogc/collections/h3-cells/items?bbox=-180,-90,180,90"),
    ("analyst", "/downloads/h3-cells.gpkg?resolution=8&preset=all-day"),
    ("school", "/ogc/collections/clusters/items?datetime=%F0%9D%9F%97"),
)


@contextlib.contextmanager
def live_server(db: Path, folder: Path) -> Iterator[str]:
    """``uvicorn api:create_app --factory`` on a free loopback port serving ``db``; yields
    its base URL and stops it on exit (its log is ``folder/server.log``)."""
    with serve_process(_env(db, folder / "work"), folder / "server.log") as server:
        live_server.pid = server.pid  # type: ignore[attr-defined]
        yield server.base


def run_load(
    db_source: Path,
    *,
    requests: int = 240,
    threads: int = 4,
    imports: int = 2,
    rows_per_import: int = 80,
    folder: Path | None = None,
) -> LoadResult:
    """Serve a copy of ``db_source`` and load it while importing; see the module docstring."""
    from geosafe.access.audit import AuditLog
    from geosafe.access.tokens import TokenStore, create_demo_tokens
    from geosafe.store import Store

    from ._demo import WARDS, write_dir_csv

    folder = Path(folder or tempfile.mkdtemp(prefix="geosafe-load-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "geosafe.db"
    # a consistent snapshot even while another connection has the source open (WAL)
    src = sqlite3.connect(db_source)
    dst = sqlite3.connect(db)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    with Store(db) as store:
        rows_before = len(store.incidents(with_location=False))
    toks = create_demo_tokens(
        TokenStore(Path(str(db) + ".auth.sqlite")), school_urn="102053", area_codes=list(WARDS)
    )
    files = [
        write_dir_csv(folder / f"load-{i}.csv", n=rows_per_import, seed=100 + i)
        for i in range(imports)
    ]
    # distinct refs per file so every row is a new incident
    for i, f in enumerate(files):
        f.write_text(f.read_text().replace("CANARY-DIR-", f"LOAD{i}-DIR-"))

    env = _env(db, folder / "work")
    with live_server(db, folder) as base:
        plan = [
            ("analyst", "/ogc/collections", {}),
            ("analyst", "/ogc/collections/incidents/items?limit=50&preset=all-day", {"X-Purpose": "load test"}),
            ("analyst", "/ogc/collections/h3-cells/items?limit=100", {}),
            ("school", "/ogc/collections/h3-cells/items?limit=100", {}),
            ("school", "/ogc/collections/hotspots-kde/items?limit=20", {}),
            ("neighbourhood", "/ogc/collections/h3-cells/items?limit=100", {}),
            ("neighbourhood", "/ogc/collections/schools/items", {}),
            ("school", "/rasters/kde.tif?cell_m=50&bandwidth_m=500", {}),
            ("analyst", "/downloads/incidents.csv?preset=all-day", {"X-Purpose": "load test"}),
            ("neighbourhood", "/downloads/h3-cells.geojson?resolution=8", {}),
            ("analyst", "/maps/hotspots", {}),
            ("school", "/ogc/collections/hotspots-kde/items?datetime=2024-Q1", {}),
        ]  # fmt: skip
        # warm the layer caches once (first builds are not what this measures)
        with httpx.Client(base_url=base, timeout=300) as c:
            for role, url, extra in plan:
                c.get(url, headers={"Authorization": f"Bearer {toks[role]}", **extra})
        audit = AuditLog(Path(str(db) + ".audit.sqlite"))
        audit_before = audit.count()

        lock = threading.Lock()
        latencies: list[float] = []
        errors: list[str] = []
        statuses: dict[int, int] = {}
        incident_reads = 0
        counter = iter(range(requests))

        def worker() -> None:
            nonlocal incident_reads
            with httpx.Client(base_url=base, timeout=300) as c:
                for i in counter:
                    role, url, extra = plan[i % len(plan)]
                    t0 = time.perf_counter()
                    try:
                        r = c.get(url, headers={"Authorization": f"Bearer {toks[role]}", **extra})
                        ms = (time.perf_counter() - t0) * 1000
                        with lock:
                            latencies.append(ms)
                            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                            if r.status_code != 200:
                                errors.append(f"{r.status_code} {url}: {r.text[:200]}")
                            elif "incidents" in url:
                                incident_reads += 1
                    except httpx.HTTPError as exc:
                        with lock:
                            errors.append(f"{type(exc).__name__} {url}: {exc}")

        imported = 0
        imports_ok = 0

        def importer() -> None:
            nonlocal imported, imports_ok
            for f in files:
                time.sleep(0.5)
                proc = subprocess.run(
                    [sys.executable, "-m", "geosafe", "import", "dir", str(f), "--db", str(db)],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if proc.returncode == 0:
                    imports_ok += 1
                    imported += int(json.loads(proc.stdout.strip().splitlines()[-1])["accepted"])
                else:
                    errors.append(f"import {f.name} failed: {proc.stderr[-400:]}")

        t_start = time.perf_counter()
        pool = [threading.Thread(target=worker) for _ in range(threads)]
        imp = threading.Thread(target=importer)
        imp.start()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        imp.join()
        seconds = time.perf_counter() - t_start
        burst = run_burst(base, toks, errors)
        pid = getattr(live_server, "pid", 0)
        peak = peak_rss_mb(pid)
    with Store(db) as store:
        rows_after = len(store.incidents(with_location=False))
    audit_reads = len(
        [
            r
            for r in AuditLog(Path(str(db) + ".audit.sqlite")).entries()[audit_before:]
            if r.action in ("read", "export") and r.purpose == "load test"
        ]
    )
    return LoadResult(
        requests=len(latencies) + sum(1 for e in errors if not e.startswith("import")),
        errors=errors,
        latencies_ms=latencies,
        imports_ok=imports_ok,
        rows_before=rows_before,
        rows_after=rows_after,
        rows_imported=imported,
        incident_reads=incident_reads,
        audit_reads=audit_reads,
        seconds=seconds,
        status_counts=statuses,
        burst_statuses=burst,
        peak_rss_mb=peak,
    )


def run_burst(base: str, toks: dict[str, str], errors: list[str]) -> dict[int, int]:
    """Fire :data:`BURST` all at once; any 5xx or transport error is an error."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def one(role: str, url: str) -> None:
        headers = {"Authorization": f"Bearer {toks[role]}", "X-Purpose": "load burst"}
        try:
            r = httpx.get(f"{base}{url}", headers=headers, timeout=600)
        except httpx.HTTPError as exc:
            with lock:
                errors.append(f"burst {type(exc).__name__} {url}: {exc}")
            return
        with lock:
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            if r.status_code >= 500:
                errors.append(f"burst {r.status_code} {url}: {r.text[:200]}")

    pool = [threading.Thread(target=one, args=item) for item in BURST]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return statuses


def main(argv: list[str] | None = None) -> int:
    """Command line: build a demo store, run the load, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--imports", type=int, default=3)
    parser.add_argument("--rows", type=int, default=200, help="DIR rows per import file")
    args = parser.parse_args(argv)
    from ._demo import build_store

    folder = Path(tempfile.mkdtemp(prefix="geosafe-load-"))
    (folder / "src").mkdir()
    db = build_store(folder / "src")
    result = run_load(
        db,
        requests=args.requests,
        threads=args.threads,
        imports=args.imports,
        rows_per_import=args.rows,
        folder=folder / "run",
    )
    print(result.summary())
    print(f"server peak memory (VmHWM): {result.peak_rss_mb:.0f} MB")
    for e in result.errors[:10]:
        print("error:", e)
    return 0 if not result.errors else 1


if __name__ == "__main__":
    sys.exit(main())
