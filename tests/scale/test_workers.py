"""Issue 15 concurrency acceptance (the CI-sized run): ``geosafe serve --workers 4`` under a
bounded mixed load (8 threads x 60 requests; ``benchmarks/service_workers.py`` runs 8 x 500)
while two ``geosafe import`` subprocesses add real police.uk months.

Checked: no error (no 5xx, no transport error, no refusal: the load's limits are generous);
every row of the imported files is in the store afterwards (crime ids read from the files
with the csv module, less the rows the import quarantined); every worker then answers the
new count (their caches follow the store); and a token with a small rate limit, hit on new
connections that spread over all four workers, gets its limit once, not once per worker.

The store is a PostGIS database of the session's throwaway cluster, and the shared state
(tokens, sessions, rate buckets, heavy slots, audit) lives in the same database, as the
README's "PostGIS and several workers" runs it; where no cluster can start, the same run on a
SQLite store with the shared state in SQLite files beside it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import httpx
import pytest

from geosafe.access.tokens import TokenStore
from geosafe.store import open_store, throwaway

from . import workload as wl

WORKERS = 4


@pytest.fixture
def store_url(request: pytest.FixtureRequest) -> str | None:
    """A fresh PostGIS store database; ``None`` (SQLite) where no throwaway cluster can
    start. One backend per suite run: the run takes a minute or more on two cores;
    ``tests/scale/test_shared_limits.py`` covers both backends of the shared state with real
    processes and ``benchmarks/service_workers.py --backend sqlite`` runs this on SQLite."""
    if throwaway.available():
        return None
    create = request.getfixturevalue("pg_database")
    return str(create())


def _count(server: wl.Server, token: str) -> set[int]:
    """``numberMatched`` of every located incident, asked on 3 x workers new connections
    (each lands on some worker): one value when every worker's cache follows the store."""
    seen = set()
    url = f"{server.base}/ogc/collections/incidents/items?limit=1&{wl.ALL_TIME}"
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "workers acceptance"}
    for _ in range(3 * WORKERS):
        r = httpx.get(url, headers=headers, timeout=600)
        assert r.status_code == 200, r.text[:300]
        seen.add(int(r.json()["numberMatched"]))
    return seen


def test_four_workers_under_load_while_importing(store_url: str | None, tmp_path: Path) -> None:
    db = wl.build_store(tmp_path / "store", store_url)
    env = wl.server_env(db, tmp_path)
    tokens_at = store_url or f"{db}.auth.sqlite"
    toks = wl.make_tokens(tokens_at)
    limited = TokenStore(tokens_at).create("analyst", label="limited", rate_per_minute=20).token
    groups = wl.import_files(months=3)
    expected_refs = wl.police_refs([f for g in groups for f in g])
    with open_store(db) as store:
        held = set(store.incidents(sources=["police_uk"], with_location=True)["source_ref"])
    new_refs = expected_refs - held
    assert len(new_refs) > 100  # the chosen months add real rows

    t0 = time.monotonic()
    with wl.serve(db, tmp_path, workers=WORKERS, env=env) as server:
        assert len(server.workers()) == WORKERS
        print(f"\nstarted in {time.monotonic() - t0:.1f} s")
        wl.warm(server, toks, rounds=1)
        print(f"warm at {time.monotonic() - t0:.1f} s")
        before = _count(server, toks["analyst"])
        assert len(before) == 1, before

        result = wl.run_load(server, toks, threads=8, per_thread=60, imports=groups)
        print("\nworkers load:", result.summary())
        why = result.summary() + "\n" + "\n".join(result.errors[:10])
        assert result.errors == [], why
        assert result.requests >= 8 * 60 and set(result.statuses) <= {200, 204}, why
        assert len(result.imports) == len(groups[0]) + len(groups[1]), why

        # every imported row is in the store (less what the import quarantined, by ref)
        with open_store(db) as store:
            now = set(store.incidents(sources=["police_uk"], with_location=True)["source_ref"])
            batches = {int(r["batch_id"]) for r in result.imports}
            quarantined = {q.raw.get("Crime ID") for b in batches for q in store.quarantine(b)}
            every = store.incidents(start="2010-01-01", end="2031-01-01")
            located = int((every.geometry.geom_type == "Point").sum())  # the `incidents` layer
        missing = new_refs - now - quarantined
        assert not missing, f"{len(missing)} imported rows missing, e.g. {sorted(missing)[:3]}"
        assert sum(int(r["accepted"]) for r in result.imports) >= len(new_refs - quarantined)

        # every worker's caches followed the imports: one count, the store's
        after = _count(server, toks["analyst"])
        assert after == {located}, (before, after, located)
        assert after != before

        # a small rate limit holds across the workers: 20 a minute, 70 asked on new
        # connections; counted per process each worker would let 20 through (80 in all)
        got = wl.hammer(server, limited, requests=70)
        assert set(got.statuses) <= {200, 429}, got
        refill = math.ceil(got.seconds * 20 / 60)
        assert 20 <= got.statuses.count(200) <= 20 + refill, got
        assert all(int(s) >= 1 for s in got.retry_after), got
        assert all(ticks > 0 for ticks in got.cpu.values()), got  # every worker answered some
    print(f"rate limit across workers: {got.statuses.count(200)} of 70 in {got.seconds:.1f} s")
