"""Import files into the store (:func:`import_file`) or read them without one
(:func:`read_incidents`).

Pipeline: read (:mod:`geosafe.sources`) -> check the header (a bad header rejects the file
before anything is written) -> validate each row (:mod:`geosafe._validate`) -> geocode
(:mod:`geosafe.geocode`) -> dedupe by ref -> stage into a new batch -> commit in one short
transaction. Every row read ends accepted or quarantined, so ``accepted + quarantined == rows``.

DIR, ASIF, CRIS and FAP files are small and parsed row by row. police.uk files can hold millions
of rows and take a vectorised path (chunks of 100,000 rows, :mod:`geosafe.sources.police_uk`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import zoneinfo
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from ._env import ingest_settings
from ._errors import ImportFileError
from .incident import CRS_BNG, FRAME_COLUMNS, ROW_COLUMNS, Incident, rows_to_frame
from .sources import MODULES, normalise_source
from .sources import police_uk as puk
from .sources._read import RawTable, file_sha256, read_table
from .store import Store

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry.base import BaseGeometry

    from ._env import IngestDefaults
    from ._validate import Problem
    from .settings import IngestSettings

    #: The import settings: pydantic's, or their defaults when no variable is set.
    Settings = IngestSettings | IngestDefaults

__all__ = ["ImportResult", "import_file", "load_aoi", "read_incidents"]

log = logging.getLogger(__name__)

Progress = Callable[[int], object]

_LONDON: Final = zoneinfo.ZoneInfo("Europe/London")


@dataclass(frozen=True)
class ImportResult:
    """What one import did.

    Attributes
    ----------
    source
        Source name (``dir``, ``asif``, ``cris``, ``fap``, ``police_uk``).
    file_sha256
        SHA-256 of the file's bytes.
    rows, accepted, quarantined
        Data rows read; ``accepted + quarantined == rows``.
    no_location
        Accepted rows without a usable location (``geocode_method == "none"``).
    updated
        Accepted police.uk rows that update an earlier version of the same Crime ID.
    duplicate_batch
        The same bytes were imported before: nothing was done; counts and ``batch_id`` are
        the original import's.
    batch_id
        The batch in the store.
    reasons
        Quarantined rows per reason code.
    path
        The file.
    located_preferred
        police.uk Crime IDs met with a located and a "No Location" row in the same month
        (the located one is kept).
    ignored_columns
        Header names of the file's columns that the reader does not use (not imported).
    duplicate_reason
        For a duplicate batch: why nothing was done and how to import the file again.
    replaced_batch
        The batch of the same bytes that ``force`` rolled back before importing again.
    """

    source: str
    file_sha256: str
    rows: int
    accepted: int
    quarantined: int
    no_location: int
    duplicate_batch: bool
    batch_id: int | None
    updated: int = 0
    reasons: Mapping[str, int] = field(default_factory=dict)
    path: str = ""
    located_preferred: int = 0
    ignored_columns: tuple[str, ...] = ()
    duplicate_reason: str | None = None
    replaced_batch: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``geosafe import`` output object: the contract's keys in order, then the keys
        added since (``updated``, ``located_preferred``, ``ignored_columns``,
        ``duplicate_reason``)."""
        return {
            "source": self.source.replace("_", "-"),
            "file_sha256": self.file_sha256,
            "rows": self.rows,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "no_location": self.no_location,
            "duplicate_batch": self.duplicate_batch,
            "batch_id": self.batch_id,
            "updated": self.updated,
            "located_preferred": self.located_preferred,
            "ignored_columns": list(self.ignored_columns),
            "duplicate_reason": self.duplicate_reason,
        }


def load_aoi(path: Path | str) -> BaseGeometry:
    """An area of interest from any vector file GDAL reads (union of its features, EPSG:27700).

    Raises
    ------
    ImportFileError
        The file cannot be read, is empty or has no CRS.
    """
    import geopandas as gpd

    p = Path(path)
    try:
        gdf = gpd.read_file(p)
    except Exception as exc:
        msg = f"`--aoi` {str(p)!r} cannot be read as a vector file ({exc}); pass a GeoPackage or GeoJSON."
        raise ImportFileError(msg) from exc
    if gdf.empty or gdf.crs is None:
        msg = f"`--aoi` {str(p)!r} is empty or has no CRS; give polygons with a CRS."
        raise ImportFileError(msg)
    return gdf.to_crs(CRS_BNG).geometry.union_all()


@functools.lru_cache(maxsize=4)
def _geocoder_for(aoi_wkb: bytes | None, margin_m: float) -> Any:
    from shapely import from_wkb

    from .geocode import Geocoder

    return Geocoder(aoi=None if aoi_wkb is None else from_wkb(aoi_wkb), aoi_margin_m=margin_m)


def _geocoder(aoi: BaseGeometry | None, margin_m: float) -> Any:
    return _geocoder_for(None if aoi is None else aoi.wkb, margin_m)


def _row_hash(values: Iterable[str]) -> int:
    data = "\x1f".join(values).encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


# -------------------------------------------------------------------------------- per-row path


@dataclass
class _Parsed:
    """Rows of one per-row file: accepted ``(row, incident, hash)`` and problems."""

    table: RawTable
    accepted: list[tuple[int, Incident, int]] = field(default_factory=list)
    problems: list[tuple[Problem, dict[str, str], str | None]] = field(default_factory=list)


def _parse_rows(
    key: str,
    table: RawTable,
    *,
    aoi: BaseGeometry | None,
    settings: Settings,
    seen: dict[str, int],
    progress: Progress | None = None,
) -> _Parsed:
    from ._validate import Problem
    from .sources._common import RowContext, check_cells

    module = MODULES[key]
    codes = settings.code_lists.get(key)
    ctx = RowContext(
        source=key,
        geocoder=_geocoder(aoi, settings.aoi_margin_m),
        declared_format=settings.datetime_formats.get(key),
        code_list=frozenset(c.strip().upper() for c in codes) if codes else None,
        max_text=settings.max_text_length,
        encoding=table.encoding,
    )
    out = _Parsed(table)
    n_cols = len(table.header)
    for k, (number, cells) in enumerate(table.records):
        row = table.standard(cells)
        raw = table.original(cells)
        ref = row.get(module.REF, "").strip() or None
        problem: Problem | None = None
        if len(cells) != n_cols:
            problem = Problem(
                number,
                None,
                "row_field_count",
                f"row has {len(cells)} fields but the header has {n_cols}; check quoting of "
                "text with commas or newlines.",
            )
        else:
            problem = check_cells(row, number, module.COLUMNS, ctx)
        if problem is None:
            parsed = module.parse_row(row, number, ctx)
            if isinstance(parsed, Problem):
                problem = parsed
            else:
                h = _row_hash(
                    row.get(c.name, "") for c in module.COLUMNS if not c.optional or row.get(c.name)
                )
                first = seen.get(parsed.source_ref)
                if first is None:
                    seen[parsed.source_ref] = h
                    out.accepted.append((number, parsed, h))
                else:
                    problem = _ref_problem(
                        number,
                        module.REF,
                        parsed.source_ref,
                        same=first == h,
                        where="earlier in the file",
                    )
        if problem is not None:
            out.problems.append((problem, raw, ref))
        if progress is not None and k % 1000 == 999:
            progress(1000)
    if progress is not None:
        progress(len(table.records) % 1000)
    return out


def _ref_problem(number: int, column: str, ref: str, *, same: bool, where: str) -> Problem:
    from ._validate import Problem

    if same:
        return Problem(
            number,
            column,
            "ref_duplicate",
            f"`{column}` {ref!r} was already read {where} with identical values; nothing to do.",
        )
    return Problem(
        number,
        column,
        "ref_conflict",
        f"`{column}` {ref!r} was already read {where} with different values; correct the ref, "
        "or roll back the earlier batch and import the corrected record.",
    )


def _rows_frame(items: Sequence[tuple[int, Incident, int]]) -> pd.DataFrame:
    """Accepted incidents as staged rows (:data:`geosafe.incident.ROW_COLUMNS`)."""
    import pandas as pd
    from shapely.geometry import Point

    recs = []
    for number, inc, h in items:
        geom = inc.geometry
        if geom is None or geom.is_empty:
            bounds: tuple[float | None, ...] = (None, None, None, None)
            wkb = None
        else:
            bounds = tuple(float(v) for v in geom.bounds)
            wkb = None if isinstance(geom, Point) else geom.wkb
        recs.append(
            (
                inc.source,
                inc.source_ref,
                number,
                inc.occurred_from.timestamp(),
                inc.occurred_to.timestamp(),
                inc.time_precision,
                inc.category,
                ";".join(inc.flags),
                inc.route,
                inc.stop_code,
                inc.school_urn,
                inc.precision_m,
                inc.geocode_method if geom is not None else "none",
                inc.location_text,
                inc.h3_cell,
                inc.lon,
                inc.lat,
                *bounds,
                wkb,
                inc.weight,
                json.dumps(inc.detail, default=str),
                h,
                1,
            )
        )
    df = pd.DataFrame.from_records(recs, columns=list(ROW_COLUMNS))
    for c in ("precision_m", "lon", "lat", "minx", "miny", "maxx", "maxy", "weight"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df


def _quarantine_records(parsed: _Parsed) -> list[tuple[Any, ...]]:
    lines = parsed.table.lines  # where each row starts in the file (an editor's line)
    return [
        (
            p.row,
            p.column,
            p.reason_code,
            p.reason,
            ref,
            json.dumps(raw, default=str),
            lines.get(p.row),
        )
        for p, raw, ref in parsed.problems
    ]


# -------------------------------------------------------------------------------- import


def _result(
    key: str,
    sha: str,
    path: Path,
    batch: Any,
    *,
    duplicate: bool,
    reason: str | None = None,
    replaced: int | None = None,
) -> ImportResult:
    extra = batch.extra
    return ImportResult(
        source=key,
        file_sha256=sha,
        rows=batch.rows,
        accepted=batch.accepted,
        quarantined=batch.quarantined,
        no_location=batch.no_location,
        duplicate_batch=duplicate,
        batch_id=batch.batch_id,
        updated=batch.updated,
        reasons=dict(batch.reasons),
        path=str(path),
        located_preferred=int(extra.get("located_preferred", 0)),
        ignored_columns=tuple(extra.get("ignored_columns", ())),
        duplicate_reason=reason,
        replaced_batch=replaced,
    )


def _options(key: str, settings: Settings, column_map: Mapping[str, str]) -> dict[str, Any]:
    """The settings that decide how a file's bytes are read (kept with its batch)."""
    return {
        "encoding": settings.encoding,
        "datetime_format": settings.datetime_formats.get(key),
        "column_map": dict(sorted(column_map.items())),
    }


#: How a user sets each reading option (named in messages).
_OPTION_NAMES: Final = {
    "encoding": "GEOSAFE_INGEST_ENCODING",
    "datetime_format": "GEOSAFE_INGEST_DATETIME_FORMATS",
    "column_map": "`--column-map` / GEOSAFE_INGEST_COLUMN_MAPS",
}


def _duplicate_reason(key: str, path: Path, earlier: Any, options: dict[str, Any]) -> str:
    """Why importing these bytes again did nothing, and how to import them again."""
    before = earlier.extra.get("options")
    changed = (
        [k for k in options if before.get(k) != options[k]] if isinstance(before, dict) else []
    )
    if changed:
        diff = "; ".join(
            f"{k} was {before.get(k)!r}, now {options[k]!r} ({_OPTION_NAMES[k]})" for k in changed
        )
        why = f"with other reading settings ({diff}) "
    else:
        why = ""
    return (
        f"{path.name!r} holds the same bytes as batch {earlier.batch_id} ({earlier.file_name!r}, "
        f"imported {earlier.started_at}) {why}so nothing was imported: a file is imported once. "
        f"To import it again with the current settings, roll that batch back and import again "
        f"(`geosafe batch rollback {earlier.batch_id}`, then `geosafe import "
        f"{key.replace('_', '-')} {path}`), or pass `--force` to do both."
    )


def import_file(
    store: Store,
    source: str,
    path: Path | str,
    *,
    aoi: BaseGeometry | None = None,
    settings: Settings | None = None,
    column_map: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    chunk_rows: int = 100_000,
    force: bool = False,
) -> ImportResult:
    """Import one file into the store as one batch, whole or not at all.

    Parameters
    ----------
    store
        The incident store.
    source
        ``dir``, ``asif``, ``cris``, ``fap`` or ``police_uk`` (``police-uk`` accepted).
    path
        ``.csv``, ``.csv.gz`` or ``.xlsx``.
    aoi
        Area of interest (EPSG:27700); default Greater London.
    settings
        Encoding, declared timestamp formats, column maps, code lists, text limit.
    column_map
        Extra local -> standard column names (``--column-map``), over the settings' map.
    progress
        Called with the number of rows just processed (for a progress bar).
    chunk_rows
        police.uk rows processed and staged at a time (bounds memory).
    force
        When these bytes were imported before, roll that batch back and import them again
        (with the current settings) instead of doing nothing.

    Returns
    -------
    ImportResult
        Counts; ``duplicate_batch`` when these bytes were imported before (a no-op).

    Raises
    ------
    ImportFileError
        The file cannot be used (unreadable, header drift); nothing was written.
    """
    key = normalise_source(source)
    settings = settings or ingest_settings()
    p = Path(path)
    if not p.is_file():
        msg = f"{str(p)!r} is not a file; check the path."
        raise ImportFileError(msg)
    scanned = None
    if key == "police_uk" and p.suffix.lower() not in (".xlsx", ".xlsm"):
        # the bytes are scanned in a worker while they are hashed here (both outside the GIL)
        scanned = _in_background(functools.partial(puk.prescan, p, settings.encoding))
    sha = file_sha256(p)
    store.recover()  # a killed import's rows go even when this one finds nothing to do
    cmap = {**settings.column_maps.get(key, {}), **(column_map or {})}
    options = _options(key, settings, cmap)
    earlier = store.find_batch(key, sha)
    if earlier is not None and not force:
        reason = _duplicate_reason(key, p, earlier, options)
        log.info("%s", reason)
        return _result(key, sha, p, earlier, duplicate=True, reason=reason)
    replaced = None if earlier is None else earlier.batch_id
    if key == "police_uk":
        result = _import_police(
            store,
            p,
            sha=sha,
            aoi=aoi,
            settings=settings,
            column_map=cmap,
            progress=progress,
            chunk_rows=chunk_rows,
            options=options,
            replace=replaced,
            scanned=scanned,
        )
        return dataclasses.replace(result, replaced_batch=replaced)
    table = read_table(
        p, MODULES[key].COLUMNS, source=key, encoding=settings.encoding, column_map=cmap
    )
    _roll_back_for_force(store, replaced)
    parsed = _parse_rows(key, table, aoi=aoi, settings=settings, seen={}, progress=progress)
    # refs already in the store
    accepted = parsed.accepted
    if accepted and store.has_source(key):
        versions = store.versions(key, [inc.source_ref for _, inc, _ in accepted])
        known: dict[str, set[int]] = {}
        for ref, h in zip(versions["source_ref"], versions["row_hash"], strict=True):
            # a hash not written by this importer (not an integer) never matches: conflict
            if isinstance(h, int | np.integer):
                known.setdefault(str(ref), set()).add(int(h))
            else:
                known.setdefault(str(ref), set())
        keep = []
        cells_by_row = dict(table.records)
        for number, inc, h in accepted:
            if inc.source_ref in known:
                raw = table.original(cells_by_row[number])
                prob = _ref_problem(
                    number,
                    MODULES[key].REF,
                    inc.source_ref,
                    same=h in known[inc.source_ref],
                    where="in an earlier batch",
                )
                parsed.problems.append((prob, raw, inc.source_ref))
            else:
                keep.append((number, inc, h))
        accepted = keep
    rows = _rows_frame(accepted)
    counts = {
        "rows": len(table.records),
        "accepted": len(accepted),
        "quarantined": len(parsed.problems),
        "no_location": int((rows["geocode_method"] == "none").sum()) if len(rows) else 0,
        "updated": 0,
    }
    reasons = dict(Counter(p.reason_code for p, _, _ in parsed.problems))
    extra = {"options": options, "ignored_columns": list(table.ignored)}
    batch_id = store.begin_batch(key, sha, file_name=p.name)
    try:
        store.stage(batch_id, rows)
        store.stage_quarantine(batch_id, key, _quarantine_records(parsed))
        store.commit_batch(batch_id, counts, reasons, extra=extra)
    except BaseException:
        store.abort_batch(batch_id)
        raise
    return _result(key, sha, p, store.batch(batch_id), duplicate=False, replaced=replaced)


def _roll_back_for_force(store: Store, batch_id: int | None) -> None:
    """``force``: roll back the earlier batch of the same bytes, once the file's header has
    been checked (a file that cannot be imported leaves it in place)."""
    if batch_id is not None:
        store.rollback(batch_id)
        log.info("rolled back batch %d to import its bytes again", batch_id)


def _import_police(
    store: Store,
    path: Path,
    *,
    sha: str,
    aoi: BaseGeometry | None,
    settings: Settings,
    column_map: Mapping[str, str],
    progress: Progress | None,
    chunk_rows: int,
    options: dict[str, Any],
    replace: int | None,
    scanned: Callable[[], Any] | None = None,
) -> ImportResult:
    sha, header, chunks = puk.iter_chunks(
        path,
        encoding=settings.encoding,
        column_map=dict(column_map),
        chunk_rows=chunk_rows,
        sha256=sha,
        scanned=scanned,
    )
    _roll_back_for_force(store, replace)
    versions = getattr(store, "version_rows", store.versions)
    lookup = (lambda refs: versions("police_uk", refs)) if store.has_source("police_uk") else None
    step = _police_step(settings, aoi, header, puk.Deduper(lookup), dt.datetime.now(_LONDON))
    counts = Counter({"rows": 0, "accepted": 0, "quarantined": 0, "no_location": 0, "updated": 0})
    reasons: Counter[str] = Counter()
    supersede: list[int] = []
    extra: dict[str, Any] = {"options": options, "located_preferred": 0, "ignored_columns": []}
    batch_id = store.begin_batch("police_uk", sha, file_name=path.name)
    big = path.stat().st_size >= settings.writer_min_mb * (1 << 20)
    if big and hasattr(store, "write_in_background"):  # SQLite: a second process writes
        store.write_in_background()
    ahead = _read_ahead(chunks)
    try:
        for k, chunk in enumerate(ahead):
            if k == 0:  # a bulk load into an empty store builds its indexes at the end
                store.defer_indexes(chunk.file_lines)
                extra["ignored_columns"] = list(chunk.ignored_columns)
            res = step(chunk)
            store.stage(batch_id, res.rows)
            if res.problems:
                store.stage_quarantine(batch_id, "police_uk", res.problems)
            store.mark_superseded(batch_id, res.supersede_rows)
            supersede.extend(res.supersede_ids)
            counts["rows"] += len(chunk)
            counts["accepted"] += len(res.rows)
            counts["quarantined"] += len(res.problems)
            counts["no_location"] += res.no_location
            counts["updated"] += res.updated
            extra["located_preferred"] += res.located_preferred
            reasons.update(p[2] for p in res.problems)
            if progress is not None:
                progress(len(chunk))
        store.commit_batch(batch_id, dict(counts), dict(reasons), supersede, extra=extra)
    except BaseException:
        ahead.close()  # waits for the worker's chunk in hand
        store.abort_batch(batch_id)
        raise
    return _result("police_uk", sha, path, store.batch(batch_id), duplicate=False)


def _police_step(
    settings: Settings,
    aoi: BaseGeometry | None,
    header: tuple[str, ...],
    dedupe: puk.Deduper,
    now: dt.datetime,
) -> Callable[[puk.TextChunk], puk.PoliceChunk]:
    """:func:`~geosafe.sources.police_uk.process_chunk` with an import's settings."""
    return functools.partial(
        puk.process_chunk,
        header=header,
        dedupe=dedupe,
        aoi=aoi,
        now=now,
        max_text=settings.max_text_length,
        aoi_margin_m=settings.aoi_margin_m,
    )


def _in_background(work: Callable[[], Any]) -> Callable[[], Any]:
    """Run ``work`` in a daemon thread now; the returned function waits for its answer."""
    import threading

    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(work()), daemon=True)
    thread.start()

    def answer() -> Any:
        thread.join()
        return box[0] if box else None

    return answer


def _read_ahead(chunks: Iterator[puk.TextChunk]) -> Generator[puk.TextChunk, None, None]:
    """Each chunk read one ahead in a worker thread, so reading the next chunk (the CSV
    tokenizer, polars' reader and the id hashes: mostly outside the GIL) overlaps checking
    and writing this one (SQLite releases the GIL while it steps). Checks, the ref rule and
    the store stay in the calling thread, in file order; an error in the worker is raised
    here."""
    from concurrent.futures import ThreadPoolExecutor

    def step() -> puk.TextChunk | None:
        return next(chunks, None)

    first = step()  # here: nothing else to do meanwhile (a one-chunk file waits for no thread)
    if first is None:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="geosafe-read") as pool:
        pending = pool.submit(step)
        yield first
        while (chunk := pending.result()) is not None:
            pending = pool.submit(step)
            yield chunk


# -------------------------------------------------------------------------------- no store


def read_incidents(
    source: str,
    paths: Path | str | Sequence[Path | str],
    *,
    aoi: BaseGeometry | None = None,
    settings: Settings | None = None,
    with_location: bool = True,
) -> gpd.GeoDataFrame:
    """Read import files into incidents without a store (``geosafe kde INPUT...``).

    The same checks as :func:`import_file`, across all the files given (a ref repeated in a
    later file is a duplicate or conflict; a police.uk Crime ID repeated is an update and
    only its current version is returned). Quarantined rows are dropped and counted in a log
    line.

    Parameters
    ----------
    with_location
        Only incidents placed on the map (the default, as :meth:`Store.incidents`);
        ``False`` also returns those without a location (``geometry`` None).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`~geosafe.incident.FRAME_COLUMNS`, EPSG:27700, ``batch_id`` null.
    """
    import pandas as pd

    key = normalise_source(source)
    settings = settings or ingest_settings()
    files = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    cmap = settings.column_maps.get(key, {})
    frames: list[pd.DataFrame] = []
    dropped: Counter[str] = Counter()
    if key == "police_uk":
        dedupe = puk.Deduper(None)
        now = dt.datetime.now(_LONDON)
        superseded: set[int] = set()
        offset = 0
        for p in files:
            _, header, chunks = puk.iter_chunks(
                p, encoding=settings.encoding, column_map=dict(cmap)
            )
            last = 0
            for chunk in chunks:
                # row numbers unique across the files, so updates can point at any of them
                chunk.rows_no = chunk.rows_no + offset
                last = int(chunk.rows_no[-1]) if len(chunk) else last
                res = _police_step(settings, aoi, header, dedupe, now)(chunk)
                superseded.update(res.supersede_rows)
                frames.append(res.rows.to_frame())
                dropped.update(q[2] for q in res.problems)
            offset = max(offset, last)
        if frames:
            allrows = pd.concat(frames, ignore_index=True)
            keep = (allrows["current"].to_numpy() == 1) & ~allrows["row_no"].isin(
                superseded
            ).to_numpy()
            frames = [allrows[keep]]
    else:
        seen: dict[str, int] = {}
        for p in files:
            table = read_table(
                p, MODULES[key].COLUMNS, source=key, encoding=settings.encoding, column_map=cmap
            )
            parsed = _parse_rows(key, table, aoi=aoi, settings=settings, seen=seen)
            frames.append(_rows_frame(parsed.accepted))
            dropped.update(pr.reason_code for pr, _, _ in parsed.problems)
    if dropped:
        log.info("%s: %d quarantined rows dropped (%s)", key, sum(dropped.values()), dict(dropped))
    if not frames:
        import geopandas as gpd

        return gpd.GeoDataFrame(
            {c: [] for c in FRAME_COLUMNS if c != "geometry"}, geometry=[], crs=CRS_BNG
        )
    df = pd.concat(frames, ignore_index=True)
    if with_location:
        df = df[df["minx"].notna()].reset_index(drop=True)
    df["batch_id"] = pd.NA
    return rows_to_frame(df)
