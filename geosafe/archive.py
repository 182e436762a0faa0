"""Import police.uk's national bulk download (the archive layout) in parallel partitions.

The download unpacks as one folder per month with one CSV per force and kind::

    2024-01/2024-01-avon-and-somerset-street.csv
    2024-01/2024-01-avon-and-somerset-outcomes.csv
    2024-01/2024-01-avon-and-somerset-stop-and-search.csv
    ...

Street-level crime files (``-street.csv``, also ``.csv.gz``) are imported; outcomes and
stop-and-search files are another kind of record (no incident location of their own, or a
search, not a crime) and are listed as skipped, with the reason.

Partitions and rules
--------------------
A partition is one force: its street files in month order. Worker processes each take a
force and import its files one by one with :func:`geosafe.ingest.import_file` (read,
validate, geocode, dedupe, stage, swap: each file is one batch), so every rule of a single
police.uk import holds unchanged: a later month's row of the same Crime ID is an update, an
identical row a duplicate, bad rows go to quarantine, a file imported before is a no-op.
Forces run in parallel because a Crime ID belongs to one force's files (police.uk publishes
each crime under the force that recorded it), so the month order that the update rule needs
is kept within each partition. Writes go to the store: SQLite serialises them (each worker
waits for the lock; batches are staged in short transactions), a server store takes them
concurrently.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import ImportFileError, ValidationError

__all__ = ["ArchiveFile", "ArchiveResult", "import_archive", "scan_archive"]

log = logging.getLogger(__name__)

_NAME = re.compile(
    r"^(?P<month>\d{4}-\d{2})-(?P<force>[a-z0-9-]+?)-(?P<kind>street|outcomes|stop-and-search)"
    r"\.csv(?:\.gz)?$"
)
_MONTH_DIR = re.compile(r"^\d{4}-\d{2}$")
_SKIP_REASON = {
    "outcomes": "outcomes file: outcomes update crimes already in the street files; not imported",
    "stop-and-search": "stop-and-search file: searches, not crimes; not imported",
}


@dataclass(frozen=True)
class ArchiveFile:
    """One file of the archive."""

    path: Path
    month: str
    force: str
    kind: str


def scan_archive(
    directory: Path | str,
    *,
    months: Sequence[str] | None = None,
    forces: Sequence[str] | None = None,
) -> tuple[list[ArchiveFile], list[dict[str, str]]]:
    """The street files of an unpacked archive (month order) and the files skipped, with why.

    Parameters
    ----------
    directory
        The folder holding the ``YYYY-MM/`` folders.
    months
        Only these ``YYYY-MM`` months (default all).
    forces
        Only these forces, as in the file names (``metropolitan``, ``avon-and-somerset``).
    """
    root = Path(directory)
    if not root.is_dir():
        msg = f"`DIR` {str(root)!r} is not a folder; pass the unpacked police.uk download."
        raise ImportFileError(msg)
    month_dirs = sorted(p for p in root.iterdir() if p.is_dir() and _MONTH_DIR.match(p.name))
    if not month_dirs:
        msg = (
            f"`DIR` {str(root)!r} holds no YYYY-MM folders; pass the folder the police.uk "
            "archive unpacks into (it holds 2024-01/, 2024-02/, ...)."
        )
        raise ImportFileError(msg)
    want_m = set(months) if months else None
    want_f = set(forces) if forces else None
    for m in want_m or ():
        if not _MONTH_DIR.match(m):
            msg = f"`--months` value {m!r} is not a month; give YYYY-MM, e.g. 2024-01."
            raise ValidationError(msg)
    files: list[ArchiveFile] = []
    skipped: list[dict[str, str]] = []
    seen_forces: set[str] = set()
    for d in month_dirs:
        if want_m is not None and d.name not in want_m:
            continue
        for p in sorted(d.iterdir()):
            match = _NAME.match(p.name)
            if match is None or match["month"] != d.name:
                skipped.append({"file": str(p), "reason": "not a police.uk archive file name"})
                continue
            seen_forces.add(match["force"])
            if want_f is not None and match["force"] not in want_f:
                continue
            if match["kind"] != "street":
                skipped.append({"file": str(p), "reason": _SKIP_REASON[match["kind"]]})
                continue
            files.append(ArchiveFile(p, match["month"], match["force"], "street"))
    if want_f is not None and not want_f <= seen_forces:
        unknown = sorted(want_f - seen_forces)
        msg = (
            f"`--forces` {', '.join(unknown)!s} not found in the archive; forces present: "
            f"{', '.join(sorted(seen_forces))}."
        )
        raise ValidationError(msg)
    return files, skipped


@dataclass
class ArchiveResult:
    """What an archive import did (sums over its files)."""

    files: int = 0
    rows: int = 0
    accepted: int = 0
    quarantined: int = 0
    no_location: int = 0
    updated: int = 0
    duplicate_files: int = 0
    forces: int = 0
    months: int = 0
    seconds: float = 0.0
    worker_peak_rss_mb: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The ``geosafe import-archive`` output object."""
        return {
            "files": self.files,
            "rows": self.rows,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "no_location": self.no_location,
            "updated": self.updated,
            "duplicate_files": self.duplicate_files,
            "forces": self.forces,
            "months": self.months,
            "seconds": round(self.seconds, 1),
            "rows_per_second": round(self.rows / self.seconds) if self.seconds > 0 else None,
            "worker_peak_rss_mb": self.worker_peak_rss_mb,
            "skipped": self.skipped,
            "failed": self.failed,
        }


def _open(db: str, timeout_s: float) -> Any:
    from . import store as store_pkg

    opener = getattr(store_pkg, "open_store", None)
    if opener is not None and "://" in db:
        return opener(db)
    return store_pkg.Store(Path(db), timeout_s=timeout_s)


def _import_force(
    db: str, paths: Sequence[str], aoi_path: str | None, timeout_s: float
) -> list[dict[str, Any]]:
    """A worker: import one force's street files in month order; one JSON object each."""
    from .ingest import import_file, load_aoi

    aoi = load_aoi(aoi_path) if aoi_path else None
    out: list[dict[str, Any]] = []
    store = _open(db, timeout_s)
    try:
        for p in paths:
            try:
                res = import_file(store, "police_uk", p, aoi=aoi)
            except ImportFileError as exc:
                out.append({"file": p, "error": str(exc)})
                continue
            out.append({"file": p, **res.to_json()})
    finally:
        store.close()
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux -> MB
    for item in out:
        item["worker_peak_rss_mb"] = round(peak)
    return out


def import_archive(
    db: str | Path,
    directory: Path | str,
    *,
    workers: int = 2,
    months: Sequence[str] | None = None,
    forces: Sequence[str] | None = None,
    aoi: Path | str | None = None,
    lock_timeout_s: float = 3600.0,
    progress: Callable[[dict[str, Any]], object] | None = None,
) -> ArchiveResult:
    """Import an unpacked police.uk archive into the store at ``db``, one force per partition.

    Parameters
    ----------
    db
        SQLite path, or a server store URL when the store package opens those.
    directory
        The folder of ``YYYY-MM/`` folders.
    workers
        Worker processes (1: in this process, one force after another).
    months, forces
        Restrict the import (see :func:`scan_archive`).
    aoi
        Area of interest file (any vector file); default Greater London, as ``geosafe
        import``: pass England and Wales (or the forces' areas) for a national import.
    lock_timeout_s
        How long a worker waits for SQLite's write lock.
    progress
        Called with each file's result object as it finishes.
    """
    if workers < 1:
        msg = f"`--workers` {workers!r} must be at least 1."
        raise ValidationError(msg)
    files, skipped = scan_archive(directory, months=months, forces=forces)
    by_force: dict[str, list[str]] = {}
    for f in files:
        by_force.setdefault(f.force, []).append(str(f.path))
    # biggest forces first, so that no worker is left with a large one at the end
    order = sorted(by_force, key=lambda k: -sum(Path(p).stat().st_size for p in by_force[k]))
    result = ArchiveResult(
        skipped=skipped, forces=len(by_force), months=len({f.month for f in files})
    )
    aoi_path = str(aoi) if aoi is not None else None
    t0 = time.perf_counter()
    _open(str(db), lock_timeout_s).close()  # create the store (schema) once, before workers

    def collect(items: list[dict[str, Any]]) -> None:
        for item in items:
            result.files += 1
            result.worker_peak_rss_mb = max(
                result.worker_peak_rss_mb, int(item.get("worker_peak_rss_mb", 0))
            )
            if "error" in item:
                result.failed.append({"file": item["file"], "reason": item["error"]})
            elif item["duplicate_batch"]:  # imported before: nothing done, nothing counted
                result.duplicate_files += 1
            else:
                for key in ("rows", "accepted", "quarantined", "no_location", "updated"):
                    setattr(result, key, getattr(result, key) + int(item[key]))
            if progress is not None:
                progress(item)

    if workers == 1:
        for force in order:
            collect(_import_force(str(db), by_force[force], aoi_path, lock_timeout_s))
    else:
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futs = [
                pool.submit(_import_force, str(db), by_force[f], aoi_path, lock_timeout_s)
                for f in order
            ]
            for fut in cf.as_completed(futs):
                collect(fut.result())
    result.seconds = time.perf_counter() - t0
    log.info("archive: %d files, %d rows in %.1f s", result.files, result.rows, result.seconds)
    return result
