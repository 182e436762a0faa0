"""Loopback load test with concurrent imports (bounded: a few hundred requests)."""

from __future__ import annotations

from pathlib import Path

from .loadtest import run_load

#: The server's peak resident memory under the load and the heavy burst (two heavy slots,
#: grid and kernel limits at their defaults); the issue measured 4.8 GB for one request.
MEMORY_CEILING_MB = 2000


def test_reads_under_import_lose_nothing_and_serve_no_error(demo_db: Path, tmp_path: Path) -> None:
    result = run_load(
        demo_db, requests=140, threads=4, imports=2, rows_per_import=60, folder=tmp_path
    )
    print("\nload:", result.summary())
    why = result.summary() + "\n" + "\n".join(result.errors[:10])
    assert result.errors == [], why
    assert result.imports_ok == 2 and result.rows_imported == 120, why
    assert result.rows_after == result.rows_before + result.rows_imported, why
    assert result.audit_reads == result.incident_reads > 0, why
    assert len(result.latencies_ms) == 140, why
    # the heavy burst: refused or served, never a 5xx, and the server stays bounded
    assert sum(result.burst_statuses.values()) == 14, why
    assert all(code < 500 for code in result.burst_statuses), why
    assert result.burst_statuses.get(400, 0) >= 5, why  # the over-limit ones, before work
    assert not result.peak_rss_mb > MEMORY_CEILING_MB, why
