"""police.uk street-level crime CSVs, as published, read in bulk (vectorised).

Columns: ``Crime ID, Month, Reported by, Falls within, Longitude, Latitude, Location,
LSOA code, LSOA name, Crime type, Last outcome category, Context``.

- ``Month`` (``YYYY-MM``) becomes the interval ``[month start, next month start)`` in
  Europe/London with ``time_precision == "month"``.
- The map point is police.uk's anonymised snap point: ``geocode_method == "police_uk"``,
  ``precision_m == 100``. A row without coordinates is kept as *no location* (police.uk
  publishes such rows); bad coordinates are quarantined with the codes of
  :mod:`geosafe.geocode.points`.
- Refs follow police.uk's own rules: a blank ``Crime ID`` (anti-social behaviour) gets no ref
  check and a ref made from the row's content hash and its occurrence number; a row identical
  to one already seen (in the file or the store) is ``duplicate_row``; the same Crime ID with
  other values is accepted as an *update*: the latest ``Month`` wins, within one month a
  located row beats a "No Location" one, otherwise the row read last wins; the other version
  is kept as history (:mod:`._police_refs`).

A chunk goes through the steps every reader follows: read (:func:`iter_chunks`), validate
(:func:`validate_chunk`), geocode (:func:`geocode_points`), refs (:class:`Deduper`), staged
rows; :func:`process_chunk` runs them in order.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from .._errors import ImportFileError
from .._siphash import hash_array
from ..incident import StagedRows
from . import _police_read as rd
from ._police_read import Factorized, TextChunk, factorize
from ._police_refs import Deduper
from ._read import Column, _map_header, file_sha256, ignored_columns, read_table
from ._verdicts import Verdicts

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

__all__ = [
    "COLUMNS",
    "SOURCE",
    "CheckedChunk",
    "Deduper",
    "MapPoints",
    "PoliceChunk",
    "TextChunk",
    "Verdicts",
    "check_chunk",
    "finish_chunk",
    "geocode_points",
    "iter_chunks",
    "process_chunk",
    "row_hashes",
    "validate_chunk",
]

SOURCE: Final = "police_uk"
PRECISION_M: Final = 100.0

COLUMNS: Final = (
    Column(
        "Crime ID",
        "police.uk crime id (64 hex characters); blank for anti-social behaviour.",
        "EXAMPLE-PUK-0001",
    ),
    Column("Month", "Month of the crime, 'YYYY-MM'.", "2024-01"),
    Column("Reported by", "Force that provided the data.", "Metropolitan Police Service"),
    Column("Falls within", "Force area the point falls within.", "Metropolitan Police Service"),
    Column(
        "Longitude", "Anonymised map point longitude, WGS84 degrees; blank if none.", "-0.124501"
    ),
    Column("Latitude", "Anonymised map point latitude, WGS84 degrees; blank if none.", "51.607012"),
    Column(
        "Location",
        "'On or near ...' description of the map point.",
        "On or near Bounds Green Road",
        text=True,
    ),
    Column("LSOA code", "2011 LSOA code of the point.", "E01002061"),
    Column("LSOA name", "2011 LSOA name.", "Haringey 010B"),
    Column("Crime type", "police.uk crime category.", "Burglary"),
    Column(
        "Last outcome category",
        "Latest outcome; blank when none yet.",
        "Under investigation",
        text=True,
    ),
    Column("Context", "Extra context (rarely filled).", "", text=True),
)
NAMES: Final = tuple(c.name for c in COLUMNS)
_DETAIL: Final = (
    ("reported_by", "Reported by"),
    ("falls_within", "Falls within"),
    ("lsoa_code", "LSOA code"),
    ("lsoa_name", "LSOA name"),
    ("last_outcome", "Last outcome category"),
    ("context", "Context"),
)
_MONTH_RE: Final = re.compile(r"^(\d{4})-(\d{2})$")
_CONTROL_RE: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LONDON: Final = zoneinfo.ZoneInfo("Europe/London")


@dataclass
class PoliceChunk:
    """The outcome of one chunk of rows.

    Attributes
    ----------
    rows
        Accepted rows with :data:`geosafe.incident.ROW_COLUMNS` (and ``ref_key``).
    problems
        ``(row, column, reason_code, reason, ref, raw)`` per quarantined row (``raw`` the row as
        it came in, a dict by original header names).
    no_location, updated
        Counts among the accepted rows.
    located_preferred
        Crime IDs met with a located and a "No Location" version in the same month (the
        located one is kept current, whichever was read last).
    supersede_rows
        Data row numbers of rows of *this file* that a later row replaced (now history).
    supersede_ids
        Store ids of versions from *earlier batches* that this file replaced.
    """

    rows: StagedRows
    problems: list[tuple[Any, ...]] = field(default_factory=list)
    no_location: int = 0
    updated: int = 0
    located_preferred: int = 0
    supersede_rows: list[int] = field(default_factory=list)
    supersede_ids: list[int] = field(default_factory=list)


def iter_chunks(
    path: Path | str,
    *,
    encoding: str = "utf-8",
    column_map: dict[str, str] | None = None,
    chunk_rows: int = 100_000,
    sha256: str | None = None,
    scanned: Callable[[], rd.FileScan | None] | None = None,
) -> tuple[str, tuple[str, ...], Iterator[TextChunk]]:
    """Check the header, then read a police.uk file in chunks of text columns
    (:mod:`._police_read`: the ``csv`` module, or polars for a large regular UTF-8 file).

    ``sha256``, when the caller already has the file's hash, saves hashing it again. The
    file's bytes are scanned (encoding, control characters, line breaks) when the first chunk
    is asked for, unless ``scanned`` gives :func:`prescan`'s answer (begun earlier).

    Returns
    -------
    tuple
        ``(sha256, the file's own names of the standard columns in standard order, chunks)``;
        each :class:`TextChunk` carries ``control_free`` (the whole file holds no control
        character: the per-cell check is skipped), ``file_lines`` (about its number of rows)
        and ``ignored_columns``.

    Raises
    ------
    ImportFileError
        Unreadable file or header drift (before any row is read).
    """
    p = Path(path)
    if not p.is_file():
        msg = f"{str(p)!r} is not a file; check the path."
        raise ImportFileError(msg)
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        table = read_table(p, COLUMNS, source=SOURCE, encoding=encoding, column_map=column_map)
        chunk = _chunk_from_table(table)
        chunk.ignored_columns = tuple(table.ignored)
        return table.sha256, _in_standard_order(table.header, table.names), iter([chunk])
    head = rd.header(p, encoding)
    names = _map_header(head, COLUMNS, column_map or {}, path=p, source=SOURCE)
    sha = sha256 or file_sha256(p)
    ignored = ignored_columns(head, names)
    positions = {n: j for j, n in enumerate(names) if n is not None}

    def chunks() -> Iterator[TextChunk]:
        if rd.plain_candidate(p, encoding):  # polars, checking each block as it reads it
            yield from _named(
                rd.polars_chunks(
                    p,
                    encoding=encoding,
                    positions=positions,
                    width=len(head),
                    order=NAMES,
                    chunk_rows=chunk_rows,
                ),
                ignored,
            )
            return
        found = scanned() if scanned is not None else None
        if found is None:
            found = rd.scan(p, encoding, fields=len(head), check_lines=False)
        for chunk in _named(
            rd.csv_chunks(
                p,
                encoding=encoding,
                strict=found.strict,
                positions=positions,
                width=len(head),
                order=NAMES,
                chunk_rows=chunk_rows,
            ),
            ignored,
        ):
            chunk.control_free = found.control_free
            chunk.file_lines = found.lines
            yield chunk

    return sha, _in_standard_order(head, names), chunks()


def _named(chunks: Iterator[TextChunk], ignored: tuple[str, ...]) -> Iterator[TextChunk]:
    for chunk in chunks:
        chunk.ignored_columns = ignored
        yield chunk


def prescan(path: Path, encoding: str) -> rd.FileScan | None:
    """What :func:`iter_chunks` needs first, begun ahead (an import runs it while hashing the
    file): polars imported when it reads the file (it checks each block itself: no scan), or
    else the scan of the file; ``None`` when there is no scan (or it cannot be made here:
    :func:`iter_chunks` then reports why)."""
    if rd.plain_candidate(path, encoding):  # imports polars
        return None
    try:
        fields = len(rd.header(path, encoding))
        return rd.scan(path, encoding, fields=fields, check_lines=False)
    except (ImportFileError, LookupError, OSError, ValueError):
        return None


def _in_standard_order(header: Sequence[str], names: Sequence[str | None]) -> tuple[str, ...]:
    """The file's own names of the standard columns, in :data:`NAMES` order (how a
    quarantined row is given back "as it came in")."""
    own = {n: h for h, n in zip(header, names, strict=True) if n is not None}
    return tuple(own[n] for n in NAMES)


def _chunk_from_table(table: Any) -> TextChunk:
    """A sheet read by :func:`~._read.read_table` as one chunk (cells stripped, as that
    reader gives them)."""
    recs = table.records
    standard = [table.standard(cells) for _, cells in recs]
    n = len(recs)
    ids = np.empty(n, dtype=object)
    ids[:] = [s.get("Crime ID", "") for s in standard]
    chunk = TextChunk(
        rows_no=np.asarray([k for k, _ in recs], dtype=np.int64),
        ids=ids,
        fac={name: factorize([s.get(name, "") for s in standard]) for name in NAMES[1:]},
        bad_fields=np.fromiter(
            (len(cells) != len(table.header) for _, cells in recs), dtype=bool, count=n
        ),
        bad_column=np.empty(0, dtype=object),
    )
    chunk.bad_column = rd.bad_columns(chunk, NAMES, strict=False)
    chunk.lines = np.asarray([table.lines.get(k, 0) for k, _ in recs], dtype=np.int64)
    return chunk


def _month_bounds(text: str, now: dt.datetime) -> tuple[float, float, str | None]:
    """Epoch seconds of a ``Month``'s start and the next month's start (Europe/London), and
    its reason code (None when good)."""
    m = _MONTH_RE.match(text)
    if m is None:
        return np.nan, np.nan, "time_missing" if not text else "month_format"
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        return np.nan, np.nan, "time_impossible"
    if year < 2000:
        return np.nan, np.nan, "time_before_2000"
    start = dt.datetime(year, month, 1, tzinfo=_LONDON)
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=_LONDON)
    return start.timestamp(), end.timestamp(), "time_future" if start > now else None


_TIME_REASON: Final = {
    "month_format": "`Month` {v!r} is not 'YYYY-MM'; use the police.uk format.",
    "time_missing": "`Month` is blank; police.uk rows always have one.",
    "time_impossible": "`Month` {v!r} has no such month; correct it.",
    "time_before_2000": "`Month` {v!r} is before 2000; check the year.",
    "time_future": "`Month` {v!r} is in the future; check the year.",
}


def _group_codes(columns: Sequence[Factorized]) -> npt.NDArray[np.int64]:
    """Keys of the combinations of values across factorized columns of equal length (equal
    combinations, equal keys): mixed-radix numbers, made dense when they would overflow."""
    keys = np.zeros(len(columns[0][0]) if columns else 0, dtype=np.int64)
    span = 1
    for c, u in columns:
        size = max(len(u), 1)
        if span * size >= 1 << 62:
            _, inverse = np.unique(keys, return_inverse=True)
            keys, span = (
                inverse.ravel().astype(np.int64),
                int(inverse.max()) + 1 if len(keys) else 1,
            )
        keys = keys * size + c
        span *= size
    return keys


def _details(fac: dict[str, Factorized], ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``detail`` JSON of the rows under ``ok``, built once per distinct combination of
    values: (a code per row, the distinct texts)."""
    if not ok.any():
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
    columns = [fac[name] for _, name in _DETAIL]
    keys = _group_codes(columns)
    _, first, inverse = np.unique(
        keys if ok.all() else keys[ok], return_index=True, return_inverse=True
    )
    first = np.flatnonzero(ok)[first]
    # json.dumps of the dict, from each column's distinct values encoded once
    parts = [
        (f"{json.dumps(key)}: ", c, [json.dumps(v or None) for v in u])
        for (key, _), (c, u) in zip(_DETAIL, columns, strict=True)
    ]
    texts = np.empty(len(first), dtype=object)
    texts[:] = ["{" + ", ".join(k + enc[c[i]] for k, c, enc in parts) + "}" for i in first]
    return inverse.ravel().astype(np.int64, copy=False), texts


def _column_hash(values: Sequence[str]) -> npt.NDArray[np.uint64]:
    return hash_array(values)


def row_hashes(columns: Sequence[npt.NDArray[np.uint64]]) -> npt.NDArray[np.int64]:
    """The content hash of each row (what "identical" means) from its columns' hashes
    (:func:`geosafe._siphash.hash_array` of each column, in :data:`NAMES` order): exactly
    ``pandas.util.hash_pandas_object(frame, index=False)`` as int64 (pandas' combination,
    CPython's tuple hash, as in ``pandas.core.util.hashing.combine_hash_arrays``)."""
    n = len(columns[0]) if columns else 0
    out = np.full(n, 0x345678, dtype=np.uint64)
    mult = np.uint64(1000003)
    for i, h in enumerate(columns):
        out ^= h
        out *= mult
        mult += np.uint64(82520 + 2 * (len(columns) - i))
    out += np.uint64(97531)
    return out.view(np.int64)


_SPACE_RE: Final = re.compile(r"\s")
#: The ASCII characters ``str.strip`` removes.
_ASCII_SPACE: Final = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "


def _strip(values: np.ndarray) -> np.ndarray:
    """``str.strip`` of every value, skipped (C speed) when no value holds any whitespace
    (``\\s`` matches exactly what ``str.strip`` removes)."""
    joined = "".join(values)
    if joined.isascii():
        data = joined.encode("ascii")
        if len(data.translate(None, _ASCII_SPACE)) == len(data):
            return values
    elif _SPACE_RE.search(joined) is None:
        return values
    out = np.empty(len(values), dtype=object)
    out[:] = [v.strip() for v in values]
    return out


def _unique_pairs(a: Factorized, b: Factorized) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes of the distinct ``(a, b)`` text pairs per row, and each pair's stripped texts
    (police.uk map points recur heavily: checks and lookups run once per point)."""
    ca, ua = a
    cb, ub = b
    nb = max(len(ub), 1)
    keys, codes = np.unique(ca.astype(np.int64) * nb + cb, return_inverse=True)
    sa = np.asarray([str(v).strip() for v in ua] or [""], dtype=object)
    sb = np.asarray([str(v).strip() for v in ub] or [""], dtype=object)
    return codes.ravel(), sa[keys // nb], sb[keys % nb]


def _literal(text: str) -> str:
    """``text`` as a :meth:`Verdicts.flag` template that formats to itself."""
    return text.replace("{", "{{").replace("}", "}}")


def validate_chunk(
    chunk: TextChunk,
    *,
    header: tuple[str, ...],
    now: dt.datetime,
    max_text: int = 4000,
) -> tuple[Verdicts, np.ndarray, np.ndarray]:
    """The cell checks of one chunk: ragged rows, undecodable bytes, text length, control
    characters and ``Month``.

    Returns
    -------
    tuple
        ``(verdicts, month start, next month start)``, times in epoch seconds.
    """
    n = len(chunk)
    fac = chunk.fac
    verdicts = Verdicts.none(n)
    verdicts.flag(
        chunk.bad_fields,
        "row_field_count",
        None,
        f"row has a different number of fields from the header ({len(header)}); check quoting.",
    )
    bad_col = chunk.bad_column
    verdicts.flag(
        bad_col != None,  # noqa: E711
        "encoding_invalid",
        None,
        "`{v}` holds bytes that are not valid text in the file's encoding; save it as UTF-8.",
        bad_col,
    )
    for i in np.flatnonzero(verdicts.code == "encoding_invalid"):
        verdicts.column[i] = bad_col[i]
    for name in NAMES:
        limit = max_text if name in ("Location", "Last outcome category", "Context") else 200
        codes, distinct = fac.get(name, (None, chunk.ids))
        if n and max(map(len, distinct)) > limit:  # rare: then find the rows
            lengths = np.fromiter(map(len, distinct), dtype=np.int64, count=len(distinct))
            verdicts.flag(
                (lengths > limit) if codes is None else (lengths > limit)[codes],
                "text_too_long",
                name,
                f"`{name}` has more than {limit} characters; shorten it.",
            )
        if not chunk.control_free and _CONTROL_RE.search("\n".join(distinct)) is not None:
            ctl = np.fromiter(
                (_CONTROL_RE.search(v) is not None for v in distinct),
                dtype=bool,
                count=len(distinct),
            )
            verdicts.flag(
                ctl if codes is None else ctl[codes],
                "text_control_chars",
                name,
                f"`{name}` holds control characters; remove them.",
            )
    mrow, mtexts = fac["Month"]
    mv_u = [str(v).strip() for v in mtexts]
    bounds = [_month_bounds(v, now) for v in mv_u]
    t0_u = np.asarray([b[0] for b in bounds] or [np.nan], dtype=float)
    t1_u = np.asarray([b[1] for b in bounds] or [np.nan], dtype=float)
    for u, (_, _, code) in enumerate(bounds):
        if code is not None:
            verdicts.flag(mrow == u, code, "Month", _literal(_TIME_REASON[code].format(v=mv_u[u])))
    return verdicts, t0_u[mrow], t1_u[mrow]


@dataclass(frozen=True)
class MapPoints:
    """The distinct map points of a chunk, each checked and placed once (police.uk points
    recur heavily).

    Attributes
    ----------
    of_row
        Index of each row's point.
    code, reason
        Per point: the reason code (``None`` when good, :data:`~geosafe.geocode.points.MISSING`
        when blank) and the quarantine reason.
    lon, lat, x, y, cell
        Per point: WGS84 degrees, EPSG:27700 metres and H3 cell (NaN / None unless good).
    """

    of_row: np.ndarray
    code: np.ndarray
    reason: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    cell: np.ndarray

    @property
    def missing(self) -> np.ndarray:
        """Rows without a map point ("No Location")."""
        from ..geocode.points import MISSING

        return (self.code == MISSING)[self.of_row]


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return np.nan


def geocode_points(
    fac: dict[str, Factorized], *, aoi: BaseGeometry | None, margin_m: float = 0.0
) -> MapPoints:
    """Check and place each distinct (``Longitude``, ``Latitude``) pair of a chunk: reason
    codes of :mod:`geosafe.geocode.points` (a point up to ``margin_m`` metres outside the area
    of interest is accepted), grid coordinates and H3 cell."""
    from ..geocode import points as gpoints
    from ..geocode.h3cells import cells_for_points

    of_row, lon_t, lat_t = _unique_pairs(fac["Longitude"], fac["Latitude"])
    code = gpoints.classify_lonlat(lon_t, lat_t, aoi=aoi, margin_m=margin_m)
    good = code == None  # noqa: E711
    lon = np.fromiter(map(_float, lon_t), dtype=float, count=len(lon_t))
    lat = np.fromiter(map(_float, lat_t), dtype=float, count=len(lat_t))
    x, y = gpoints.lonlat_to_bng(np.where(good, lon, np.nan), np.where(good, lat, np.nan))
    outside = np.flatnonzero(code == "coord_outside_aoi")
    if len(outside):
        ox, oy = gpoints.lonlat_to_bng(lon[outside], lat[outside])
        far: Sequence[float] = gpoints.distance_outside(ox, oy, aoi=aoi).tolist()
    else:
        far = []
    distance = dict(zip(outside.tolist(), far, strict=True))
    reason = np.full(len(code), None, dtype=object)
    for u in np.flatnonzero(~good & (code != gpoints.MISSING)):
        reason[u] = gpoints.reason_text(
            str(code[u]),
            lon_t[u],
            lat_t[u],
            names=("Longitude", "Latitude"),
            outside_m=distance.get(int(u)),
            margin_m=margin_m,
        )
    lon, lat = np.where(good, lon, np.nan), np.where(good, lat, np.nan)
    cell = cells_for_points(lon, lat, np.where(good, PRECISION_M, np.nan))
    return MapPoints(of_row, code, reason, lon, lat, x, y, cell)


def _surrogate_free(v: str) -> bool:
    return v.isascii() or not any("\udc80" <= ch <= "\udcff" for ch in v)


def _as_bytes_text(v: str) -> str:
    """A text with lone surrogates as the Latin-1 reading of its bytes (hashable)."""
    return v.encode("utf-8", "surrogateescape").decode("latin-1")


def content_hashes(chunk: TextChunk) -> np.ndarray:
    """The content hash of each row of the standard columns (what "identical" means); each
    distinct value is hashed once. Lone surrogates cannot be hashed: a row holding
    undecodable bytes is hashed with the Latin-1 reading of its bytes instead."""
    has_bad = chunk.bad_column != None  # noqa: E711
    any_bad = bool(has_bad.any())
    out = []
    for name in NAMES:
        if name == "Crime ID":
            ids = chunk.ids
            if not any_bad:
                out.append(chunk.id_hash if chunk.id_hash is not None else hash_array(ids))
                continue
            out.append(
                hash_array(
                    [_as_bytes_text(v) if b else v for v, b in zip(ids, has_bad, strict=True)]
                )
            )
            continue
        codes, uniques = chunk.fac[name]
        if not len(uniques):
            out.append(np.empty(0, dtype=np.uint64))
            continue
        if not any_bad:
            out.append(hash_array(uniques)[codes])
            continue
        clean = np.fromiter(map(_surrogate_free, uniques), dtype=bool, count=len(uniques))
        good = np.zeros(len(uniques), dtype=np.uint64)
        good[clean] = hash_array(uniques[clean])
        bad = hash_array([_as_bytes_text(v) for v in uniques])
        out.append(np.where(has_bad, bad[codes], good[codes]))
    return row_hashes(out)


@dataclass
class CheckedChunk:
    """A chunk after the checks that need neither the store nor the chunks before it
    (:func:`check_chunk`): what :func:`finish_chunk` needs to dedupe and stage it."""

    chunk: TextChunk
    verdicts: Verdicts
    t0: np.ndarray
    t1: np.ndarray
    pts: MapPoints
    ids: np.ndarray
    hashes: np.ndarray
    #: The rows that passed the checks (``verdicts.ok`` before the ref rule) as staged rows
    #: with ``source_ref`` and ``current`` still to be decided.
    staged: StagedRows
    passed: np.ndarray

    @property
    def rows_no(self) -> np.ndarray:
        """Data row numbers."""
        return self.chunk.rows_no


def check_chunk(
    chunk: TextChunk,
    *,
    header: tuple[str, ...],
    aoi: BaseGeometry | None,
    now: dt.datetime,
    max_text: int = 4000,
    aoi_margin_m: float = 0.0,
) -> CheckedChunk:
    """Validate and geocode one chunk read by :func:`iter_chunks`, and hash its rows: the part
    of :func:`process_chunk` that depends on the chunk alone."""
    verdicts, t0, t1 = validate_chunk(chunk, header=header, now=now, max_text=max_text)
    pts = geocode_points(chunk.fac, aoi=aoi, margin_m=aoi_margin_m)
    for u in np.flatnonzero(pts.reason != None):  # noqa: E711
        code = str(pts.code[u])
        verdicts.flag(pts.of_row == u, code, "Longitude,Latitude", _literal(pts.reason[u]))
    ids = chunk.ids if chunk.ids_bare else _strip(chunk.ids)
    hashes = content_hashes(chunk)
    passed = verdicts.ok.copy()
    staged = _staged_rows(chunk, pts, passed, t0=t0, t1=t1, hashes=hashes)
    return CheckedChunk(chunk, verdicts, t0, t1, pts, ids, hashes, staged, passed)


def _id_keys(checked: CheckedChunk) -> np.ndarray | None:
    """:func:`geosafe._siphash.hash_array` of the stripped Crime IDs, when the reader's hash
    of the raw ones serves (no id needed stripping)."""
    c = checked.chunk
    return c.id_hash if c.id_hash is not None and checked.ids is c.ids else None


def finish_chunk(checked: CheckedChunk, *, header: tuple[str, ...], dedupe: Deduper) -> PoliceChunk:
    """Apply the ref rule to a checked chunk (in file order: :class:`Deduper` carries what
    earlier chunks and the store hold) and give its accepted rows as staged rows."""
    c = checked
    missing = c.pts.missing
    keys = _id_keys(c)
    ded = dedupe.apply(c.ids, c.hashes, c.t0, ~missing, c.rows_no, c.verdicts, keys=keys)
    ok = c.verdicts.ok
    problems = _problems(c.chunk, c.verdicts, header=header, ids=c.ids)
    # the ref rule only quarantines more rows (repeats): keep the staged rows still accepted
    rows = c.staged if ok.sum() == len(c.staged) else c.staged.take(ok[c.passed])
    refs = ded.refs[ok]
    ref_key = None
    if keys is not None:
        ref_key = keys[ok].view(np.int64).copy()
        other = np.flatnonzero(refs != c.ids[ok])  # anonymous rows' refs
        if len(other):
            ref_key[other] = hash_array(refs[other]).view(np.int64)
    extra = {} if ref_key is None else {"ref_key": ref_key}
    rows = rows.assign(source_ref=refs, current=ded.current[ok], **extra)
    return PoliceChunk(
        rows,
        problems,
        no_location=int(missing[ok].sum()),
        updated=ded.updated,
        located_preferred=ded.located_preferred,
        supersede_rows=ded.supersede_rows,
        supersede_ids=ded.supersede_ids,
    )


def process_chunk(
    chunk: TextChunk,
    *,
    header: tuple[str, ...],
    dedupe: Deduper,
    aoi: BaseGeometry | None,
    now: dt.datetime,
    max_text: int = 4000,
    aoi_margin_m: float = 0.0,
) -> PoliceChunk:
    """One chunk read by :func:`iter_chunks`: validate, geocode, dedupe, and the accepted
    rows as staged rows (:func:`check_chunk` then :func:`finish_chunk`); see the module
    docstring."""
    checked = check_chunk(
        chunk, header=header, aoi=aoi, now=now, max_text=max_text, aoi_margin_m=aoi_margin_m
    )
    return finish_chunk(checked, header=header, dedupe=dedupe)


def _problems(
    chunk: TextChunk, verdicts: Verdicts, *, header: tuple[str, ...], ids: np.ndarray
) -> list[tuple[Any, ...]]:
    """Quarantine records of the rows with a problem, each as it came in."""
    bad = np.flatnonzero(~verdicts.ok)
    if not len(bad):
        return []
    columns = [chunk.ids[bad], *(u[c[bad]] for c, u in (chunk.fac[n] for n in NAMES[1:]))]
    rows_no = chunk.rows_no
    lines = chunk.lines
    return [
        (
            int(rows_no[i]),
            verdicts.column[i] or None,
            verdicts.code[i],
            _storable(verdicts.reason[i]),
            _storable(ids[i]) or None,
            json.dumps(
                dict(zip(header, [col[k] for col in columns], strict=False))
                | chunk.surplus.get(int(i), {})
            ),
            None if lines is None else int(lines[i]),
        )
        for k, i in enumerate(bad)
    ]


def _storable(text: Any) -> Any:
    """A text as a store can hold it: an undecodable byte (read as a lone surrogate) written
    as its escape, ``\\xff`` (the raw JSON keeps every cell as it came in)."""
    if not isinstance(text, str) or text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


def _staged_rows(
    chunk: TextChunk,
    pts: MapPoints,
    ok: np.ndarray,
    *,
    t0: np.ndarray,
    t1: np.ndarray,
    hashes: np.ndarray,
) -> StagedRows:
    """The rows under ``ok`` as staged rows (:data:`geosafe.incident.ROW_COLUMNS`), each its
    own ref and current until the ref rule decides (:func:`finish_chunk`)."""
    all_ok = bool(ok.all())

    def pick(values: np.ndarray) -> np.ndarray:
        return values if all_ok else values[ok]

    n = int(ok.sum())
    pt = pick(pts.of_row)
    located = ~pick(pts.missing)
    x, y = pts.x[pt], pts.y[pt]
    cat_codes, cat_values = chunk.fac["Crime type"]
    loc_codes, loc_values = chunk.fac["Location"]
    loc_values = loc_values.copy()
    loc_values[loc_values == ""] = None
    every = bool(located.all())
    detail_codes, detail_texts = _details(chunk.fac, ok)
    # rows of one map point and month share their published group (the store counts them)
    month_codes, months = chunk.fac["Month"]
    group = pt.astype(np.int64) * (len(months) + 1) + pick(month_codes)
    return StagedRows(
        {
            "source": SOURCE,
            "source_ref": pick(chunk.ids),
            "row_no": pick(chunk.rows_no),
            "occurred_from": pick(t0),
            "occurred_to": pick(t1),
            "time_precision": "month",
            "category": cat_values[pick(cat_codes)] if n else np.empty(0, dtype=object),
            "flags": "",
            "route": None,
            "stop_code": None,
            "school_urn": None,
            "precision_m": PRECISION_M if every else np.where(located, PRECISION_M, np.nan),
            "geocode_method": "police_uk"
            if every
            else np.where(located, "police_uk", "none").astype(object),
            "location_text": loc_values[pick(loc_codes)] if n else np.empty(0, dtype=object),
            "h3_cell": pts.cell[pt],
            "lon": pts.lon[pt],
            "lat": pts.lat[pt],
            "minx": x,
            "miny": y,
            "maxx": x,
            "maxy": y,
            "geom_wkb": None,
            "weight": 1.0,
            "detail": detail_texts[detail_codes],
            "row_hash": pick(hashes),
            "current": np.ones(n, dtype=np.int8),
        },
        n,
        factorized={
            "detail": (detail_codes, detail_texts),
            "group": (group, np.empty(0, dtype=object)),
        },
    )
