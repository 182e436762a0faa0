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

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from .._errors import ImportFileError
from ._police_refs import Deduper
from ._read import Column, _map_header, decode, file_sha256, ignored_columns, read_table
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
    "Verdicts",
    "check_chunk",
    "finish_chunk",
    "geocode_points",
    "iter_chunks",
    "process_chunk",
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
_SURROGATE: Final = "[\udc80-\udcff]"
_CONTROL_RE: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class PoliceChunk:
    """The outcome of one chunk of rows.

    Attributes
    ----------
    rows
        Accepted rows with :data:`geosafe.incident.ROW_COLUMNS`.
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

    rows: pd.DataFrame
    problems: list[tuple[Any, ...]] = field(default_factory=list)
    no_location: int = 0
    updated: int = 0
    located_preferred: int = 0
    supersede_rows: list[int] = field(default_factory=list)
    supersede_ids: list[int] = field(default_factory=list)


#: Bytes of the control characters :data:`_CONTROL_RE` finds (single bytes in UTF-8 and in the
#: 8-bit encodings alike: a multi-byte UTF-8 sequence never holds a byte below 0x80).
_CONTROL_BYTES: Final = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def _scan(path: Path, encoding: str) -> tuple[bool, bool, int]:
    """One streamed pass (C speed): whether the file decodes without error, whether it
    holds no control character at all (then no row needs the per-cell check), and its number
    of line breaks (about the number of rows)."""
    import gzip

    def opener() -> Any:
        return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else path.open("rb")

    dec = codecs.getincrementaldecoder(
        "utf-8-sig" if encoding.lower().startswith("utf") else encoding
    )()
    # the byte scan speaks for characters only in encodings that write them as these bytes
    ascii_like = _CONTROL_BYTES.decode("latin-1").encode(encoding, "replace") == _CONTROL_BYTES
    strict, control_free, lines = True, True, 0
    try:
        with opener() as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                lines += block.count(b"\n")
                if control_free and len(block.translate(None, _CONTROL_BYTES)) != len(block):
                    control_free = False
                if strict and ascii_like and block.isascii() and dec.getstate()[0] == b"":
                    continue  # ASCII decodes in every such encoding: nothing to check
                if strict:
                    try:
                        dec.decode(block)
                    except UnicodeDecodeError:
                        strict = False
            if strict:
                try:
                    dec.decode(b"", final=True)
                except UnicodeDecodeError:
                    strict = False
    except (OSError, EOFError) as exc:
        msg = f"cannot read {str(path)!r} ({exc}); check the file."
        raise ImportFileError(msg) from exc
    return strict, control_free and ascii_like, lines


def _header(path: Path, encoding: str) -> list[str]:
    import gzip

    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as fh:
                first = fh.readline()
        else:
            with path.open("rb") as fh:
                first = fh.readline()
    except (OSError, EOFError) as exc:
        msg = f"cannot read {str(path)!r} ({exc}); check it is a CSV (or gzip of one)."
        raise ImportFileError(msg) from exc
    rows = list(csv.reader(io.StringIO(decode(first, encoding))))
    if not rows or not any(c.strip() for c in rows[0]):
        msg = f"{str(path)!r} is empty: no header row. Start from `geosafe template police-uk`."
        raise ImportFileError(msg)
    return rows[0]


def iter_chunks(
    path: Path | str,
    *,
    encoding: str = "utf-8",
    column_map: dict[str, str] | None = None,
    chunk_rows: int = 100_000,
    sha256: str | None = None,
) -> tuple[str, tuple[str, ...], Iterator[pd.DataFrame]]:
    """Check the header, then read a police.uk file in chunks of text cells.

    ``sha256``, when the caller already has the file's hash, saves hashing it again.

    Returns
    -------
    tuple
        ``(sha256, the file's own names of the standard columns in standard order, chunks)``;
        each chunk has the standard column names, ``""`` for blanks, an index of 1-based data
        row numbers, a boolean column ``_bad_fields`` (a ragged row) and ``_bad_column`` (the
        first column holding undecodable bytes, or None); ``chunk.attrs["control_free"]`` is
        True when the whole file holds no control character (the per-cell check is skipped),
        ``chunk.attrs["file_lines"]`` the file's line breaks (about its number of rows),
        ``chunk.attrs["ignored_columns"]`` the header names the reader does not use.

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
        frame = _frame_from_table(table)
        frame.attrs["ignored_columns"] = table.ignored
        return table.sha256, _in_standard_order(table.header, table.names), iter([frame])
    header = _header(p, encoding)
    names = _map_header(header, COLUMNS, column_map or {}, path=p, source=SOURCE)
    sha = sha256 or file_sha256(p)
    strict, control_free, lines = _scan(p, encoding)
    ignored = ignored_columns(header, names)

    def chunks() -> Iterator[pd.DataFrame]:
        done = 0  # data rows already yielded
        try:
            reader = pd.read_csv(
                p,
                dtype=object,
                keep_default_na=False,
                na_filter=False,
                chunksize=chunk_rows,
                encoding="utf-8-sig" if encoding.lower().startswith("utf") else encoding,
                encoding_errors="strict" if strict else "surrogateescape",
                header=0,
                names=[f"c{i}" for i in range(len(header))],
                engine="c",
            )
            for chunk in reader:
                out = _standardise(chunk, names, check_encoding=not strict)
                out.attrs["control_free"] = control_free
                out.attrs["file_lines"] = lines
                out.attrs["ignored_columns"] = ignored
                done = int(out.index[-1]) if len(out) else done
                yield out
        except pd.errors.ParserError:
            # a ragged row: the csv module reads the rest row by row (the rows are quarantined)
            table = read_table(p, COLUMNS, source=SOURCE, encoding=encoding, column_map=column_map)
            rest = _frame_from_table(table, skip_rows=done)
            rest.attrs["ignored_columns"] = ignored
            yield rest

    return sha, _in_standard_order(header, names), chunks()


def _in_standard_order(header: Sequence[str], names: Sequence[str | None]) -> tuple[str, ...]:
    """The file's own names of the standard columns, in :data:`NAMES` order (how a
    quarantined row is given back "as it came in")."""
    own = {n: h for h, n in zip(header, names, strict=True) if n is not None}
    return tuple(own[n] for n in NAMES)


def _standardise(
    chunk: pd.DataFrame, names: tuple[str | None, ...], *, check_encoding: bool
) -> pd.DataFrame:
    out = pd.DataFrame(index=chunk.index + 1)
    for i, name in enumerate(names):
        if name is not None:
            out[name] = chunk.iloc[:, i].to_numpy(dtype=object)  # na_filter=False: no NaN
    out["_bad_fields"] = False
    out["_bad_column"] = None
    if check_encoding:
        for name in NAMES:
            bad = out[name].str.contains(_SURROGATE, regex=True).to_numpy(dtype=bool)
            out.loc[bad & out["_bad_column"].isna().to_numpy(), "_bad_column"] = name
    return out


def _frame_from_table(table: Any, *, skip_rows: int = 0) -> pd.DataFrame:
    recs = [(n, cells) for n, cells in table.records if n > skip_rows]
    data = [table.standard(cells) for _, cells in recs]
    out = pd.DataFrame(data, index=[n for n, _ in recs], columns=list(NAMES)).fillna("")
    out["_bad_fields"] = [len(cells) != len(table.header) for _, cells in recs]
    out["_bad_column"] = None
    for name in NAMES:
        bad = out[name].astype(str).str.contains(_SURROGATE, regex=True).to_numpy(dtype=bool)
        out.loc[bad & out["_bad_column"].isna().to_numpy(), "_bad_column"] = name
    return out.astype({n: object for n in NAMES})


def month_bounds(months: pd.Series, now: pd.Timestamp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Epoch seconds of month start and next month start, and a reason code per row."""
    table: dict[str, tuple[float, float, str | None]] = {}
    code: str | None
    for text in pd.unique(months.to_numpy(dtype=object)):
        m = _MONTH_RE.match(str(text).strip())
        if m is None:
            code = "time_missing" if not str(text).strip() else "month_format"
            table[text] = (np.nan, np.nan, code)
            continue
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            table[text] = (np.nan, np.nan, "time_impossible")
            continue
        start = pd.Timestamp(year=year, month=month, day=1, tz="Europe/London")
        end = start + pd.offsets.MonthBegin(1)
        code = None
        if year < 2000:
            code = "time_before_2000"
        elif start > now:
            code = "time_future"
        table[text] = (start.timestamp(), pd.Timestamp(end).timestamp(), code)
    codes_idx, uniques = pd.factorize(months.to_numpy(dtype=object))
    t0 = np.asarray([table[u][0] for u in uniques], dtype=float)[codes_idx]
    t1 = np.asarray([table[u][1] for u in uniques], dtype=float)[codes_idx]
    codes = np.asarray([table[u][2] for u in uniques] + [None], dtype=object)[codes_idx]
    return t0, t1, codes


_TIME_REASON: Final = {
    "month_format": "`Month` {v!r} is not 'YYYY-MM'; use the police.uk format.",
    "time_missing": "`Month` is blank; police.uk rows always have one.",
    "time_impossible": "`Month` {v!r} has no such month; correct it.",
    "time_before_2000": "`Month` {v!r} is before 2000; check the year.",
    "time_future": "`Month` {v!r} is in the future; check the year.",
}


#: A column factorized: (code per row, distinct values in order of first appearance).
Factorized = tuple[np.ndarray, np.ndarray]


def _factorize(values: np.ndarray) -> Factorized:
    # cells are text, never missing (read with ``na_filter=False``, blanks as ""): no code is
    # -1, and pandas skips the null scan it makes for ``use_na_sentinel=False``
    codes, uniques = pd.factorize(values)
    if len(codes) and codes.min() < 0:  # a missing cell after all: give it its own code
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes, np.asarray(uniques, dtype=object)


def _group_codes(columns: Sequence[Factorized]) -> np.ndarray:
    """Dense codes (0, 1, ... in order of first appearance) of the distinct combinations of
    values across factorized columns of equal length."""
    codes = np.zeros(len(columns[0][0]) if columns else 0, dtype=np.int64)
    for c, u in columns:
        codes, _ = pd.factorize(codes * max(len(u), 1) + c)
    return codes


def _details(fac: dict[str, Factorized], ok: np.ndarray) -> np.ndarray:
    """The ``detail`` JSON of the rows under ``ok``, built once per distinct combination of
    values."""
    if not ok.any():
        return np.empty(0, dtype=object)
    columns = [fac[name] for _, name in _DETAIL]
    _, first, inverse = np.unique(_group_codes(columns)[ok], return_index=True, return_inverse=True)
    first = np.flatnonzero(ok)[first]
    # json.dumps of the dict, from each column's distinct values encoded once
    parts = [
        (f"{json.dumps(key)}: ", c, [json.dumps(v or None) for v in u])
        for (key, _), (c, u) in zip(_DETAIL, columns, strict=True)
    ]
    texts = np.asarray(
        ["{" + ", ".join(k + enc[c[i]] for k, c, enc in parts) + "}" for i in first],
        dtype=object,
    )
    return texts[inverse.ravel()]


def row_hashes(std: pd.DataFrame, fac: dict[str, Factorized] | None = None) -> np.ndarray:
    """The content hash of each row (what "identical" means): exactly
    ``pandas.util.hash_pandas_object(std, index=False)`` as int64, computed from the columns'
    factorizations where given (each distinct value hashed once) and, for the others, by
    hashing every value (no factorizing: meant for columns of distinct values like Crime ID).
    """
    fac = fac or {}

    def column(name: str) -> np.ndarray:
        if name in fac:
            codes, uniques = fac[name]
            return pd.util.hash_array(uniques, categorize=False)[codes]
        return pd.util.hash_array(std[name].to_numpy(dtype=object), categorize=False)

    # pandas' combination of column hashes (CPython's tuple hash, as in
    # ``pandas.core.util.hashing.combine_hash_arrays``)
    names = list(std.columns)
    out = np.full(len(std), 0x345678, dtype=np.uint64)
    mult = np.uint64(1000003)
    for i, name in enumerate(names):
        out ^= column(name)
        out *= mult
        mult += np.uint64(82520 + 2 * (len(names) - i))
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
    return np.asarray([v.strip() for v in values], dtype=object)


def _unique_pairs(a: Factorized, b: Factorized) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes of the distinct ``(a, b)`` text pairs per row, and each pair's stripped texts
    (police.uk map points recur heavily: checks and lookups run once per point)."""
    ca, ua = a
    cb, ub = b
    nb = max(len(ub), 1)
    codes, keys = pd.factorize(ca.astype(np.int64) * nb + cb)
    keys = np.asarray(keys, dtype=np.int64)
    sa = np.asarray([str(v).strip() for v in ua], dtype=object)
    sb = np.asarray([str(v).strip() for v in ub], dtype=object)
    return codes, sa[keys // nb] if len(sa) else sa, sb[keys % nb] if len(sb) else sb


def _literal(text: str) -> str:
    """``text`` as a :meth:`Verdicts.flag` template that formats to itself."""
    return text.replace("{", "{{").replace("}", "}}")


def validate_chunk(
    chunk: pd.DataFrame,
    fac: dict[str, Factorized],
    *,
    header: tuple[str, ...],
    now: pd.Timestamp,
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
    verdicts = Verdicts.none(n)
    verdicts.flag(
        chunk["_bad_fields"].to_numpy(dtype=bool),
        "row_field_count",
        None,
        f"row has a different number of fields from the header ({len(header)}); check quoting.",
    )
    bad_col = chunk["_bad_column"].to_numpy(dtype=object)
    verdicts.flag(
        chunk["_bad_column"].notna().to_numpy(dtype=bool),
        "encoding_invalid",
        None,
        "`{v}` holds bytes that are not valid text in the file's encoding; save it as UTF-8.",
        bad_col,
    )
    for i in np.flatnonzero(verdicts.code == "encoding_invalid"):
        verdicts.column[i] = bad_col[i]
    control_free = bool(chunk.attrs.get("control_free", False))
    for name in NAMES:
        values = chunk[name].to_numpy(dtype=object)
        limit = max_text if name in ("Location", "Last outcome category", "Context") else 200
        codes, distinct = fac.get(name, (None, values))
        if n and max(map(len, distinct)) > limit:  # rare: then find the rows
            lengths = np.fromiter(map(len, distinct), dtype=np.int64, count=len(distinct))
            verdicts.flag(
                (lengths > limit) if codes is None else (lengths > limit)[codes],
                "text_too_long",
                name,
                f"`{name}` has more than {limit} characters; shorten it.",
            )
        if not control_free and _CONTROL_RE.search("\n".join(values)) is not None:
            ctl = np.fromiter(
                (_CONTROL_RE.search(v) is not None for v in values), dtype=bool, count=n
            )
            verdicts.flag(
                ctl, "text_control_chars", name, f"`{name}` holds control characters; remove them."
            )
    mrow, mtexts = fac["Month"]
    mv_u = np.asarray([str(v).strip() for v in mtexts], dtype=object)
    t0_u, t1_u, mcodes_u = month_bounds(pd.Series(mv_u, dtype=object), now)
    for u in np.flatnonzero(mcodes_u != None):  # noqa: E711
        c = str(mcodes_u[u])
        verdicts.flag(mrow == u, c, "Month", _literal(_TIME_REASON[c].format(v=mv_u[u])))
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
    lon = pd.to_numeric(pd.Series(lon_t, dtype=object), errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(pd.Series(lat_t, dtype=object), errors="coerce").to_numpy(dtype=float)
    x, y = gpoints.lonlat_to_bng(lon, lat)
    outside = np.flatnonzero(code == "coord_outside_aoi")
    far: Sequence[float] = (
        gpoints.distance_outside(x[outside], y[outside], aoi=aoi).tolist() if len(outside) else []
    )
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
    x, y = np.where(good, x, np.nan), np.where(good, y, np.nan)
    cell = cells_for_points(lon, lat, np.where(good, PRECISION_M, np.nan))
    return MapPoints(of_row, code, reason, lon, lat, x, y, cell)


def content_hashes(chunk: pd.DataFrame, fac: dict[str, Factorized]) -> np.ndarray:
    """The content hash of each row of the standard columns (what "identical" means)."""
    std = chunk[list(NAMES)]
    has_bad = chunk["_bad_column"].notna().to_numpy(dtype=bool)
    if not has_bad.any():
        return row_hashes(std, fac)
    std = std.copy()  # lone surrogates cannot be hashed: hash their bytes instead
    for name in NAMES:
        std[name] = [
            v.encode("utf-8", "surrogateescape").decode("latin-1") if bad else v
            for v, bad in zip(std[name].to_numpy(dtype=object), has_bad, strict=True)
        ]
    return row_hashes(std)


@dataclass
class CheckedChunk:
    """A chunk after the checks that need neither the store nor the chunks before it
    (:func:`check_chunk`): what :func:`finish_chunk` needs to dedupe and stage it."""

    chunk: pd.DataFrame
    fac: dict[str, Factorized]
    verdicts: Verdicts
    t0: np.ndarray
    t1: np.ndarray
    pts: MapPoints
    rows_no: np.ndarray
    ids: np.ndarray
    hashes: np.ndarray
    #: The rows that passed the checks (``verdicts.ok`` before the ref rule) as staged rows
    #: with ``source_ref`` and ``current`` still to be decided.
    staged: pd.DataFrame
    passed: np.ndarray


def check_chunk(
    chunk: pd.DataFrame,
    *,
    header: tuple[str, ...],
    aoi: BaseGeometry | None,
    now: pd.Timestamp,
    max_text: int = 4000,
    aoi_margin_m: float = 0.0,
) -> CheckedChunk:
    """Validate and geocode one chunk read by :func:`iter_chunks`, and hash its rows: the part
    of :func:`process_chunk` that depends on the chunk alone (an import runs it for the next
    chunk while the store writes this one)."""
    # every column but the Crime ID factorized once: for lengths, months, map points,
    # details and hashes (their values repeat: each distinct one is looked at once)
    fac = {n: _factorize(chunk[n].to_numpy(dtype=object)) for n in NAMES if n != "Crime ID"}
    verdicts, t0, t1 = validate_chunk(chunk, fac, header=header, now=now, max_text=max_text)
    pts = geocode_points(fac, aoi=aoi, margin_m=aoi_margin_m)
    for u in np.flatnonzero(pts.reason != None):  # noqa: E711
        code = str(pts.code[u])
        verdicts.flag(pts.of_row == u, code, "Longitude,Latitude", _literal(pts.reason[u]))
    rows_no = chunk.index.to_numpy(dtype=np.int64)
    ids = _strip(chunk["Crime ID"].to_numpy(dtype=object))
    hashes = content_hashes(chunk, fac)
    passed = verdicts.ok.copy()
    staged = _staged_rows(chunk, fac, pts, passed, rows_no=rows_no, t0=t0, t1=t1, hashes=hashes)
    return CheckedChunk(chunk, fac, verdicts, t0, t1, pts, rows_no, ids, hashes, staged, passed)


def finish_chunk(checked: CheckedChunk, *, header: tuple[str, ...], dedupe: Deduper) -> PoliceChunk:
    """Apply the ref rule to a checked chunk (in file order: :class:`Deduper` carries what
    earlier chunks and the store hold) and give its accepted rows as staged rows."""
    c = checked
    missing = c.pts.missing
    ded = dedupe.apply(c.ids, c.hashes, c.t0, ~missing, c.rows_no, c.verdicts)
    ok = c.verdicts.ok
    problems = _problems(c.chunk, c.verdicts, header=header, ids=c.ids, rows_no=c.rows_no)
    # the ref rule only quarantines more rows (repeats): keep the staged rows still accepted
    rows = c.staged if ok.sum() == len(c.staged) else c.staged[ok[c.passed]]
    rows = rows.assign(source_ref=ded.refs[ok], current=ded.current[ok])
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
    chunk: pd.DataFrame,
    *,
    header: tuple[str, ...],
    dedupe: Deduper,
    aoi: BaseGeometry | None,
    now: pd.Timestamp,
    max_text: int = 4000,
    aoi_margin_m: float = 0.0,
) -> PoliceChunk:
    """One chunk read by :func:`iter_chunks`: validate, geocode, dedupe, and the accepted
    rows as staged rows (vectorised; :func:`check_chunk` then :func:`finish_chunk`); see the
    module docstring."""
    checked = check_chunk(
        chunk, header=header, aoi=aoi, now=now, max_text=max_text, aoi_margin_m=aoi_margin_m
    )
    return finish_chunk(checked, header=header, dedupe=dedupe)


def _problems(
    chunk: pd.DataFrame,
    verdicts: Verdicts,
    *,
    header: tuple[str, ...],
    ids: np.ndarray,
    rows_no: np.ndarray,
) -> list[tuple[Any, ...]]:
    """Quarantine records of the rows with a problem, each as it came in."""
    bad = np.flatnonzero(~verdicts.ok)
    if not len(bad):
        return []
    std = chunk[list(NAMES)]
    return [
        (
            int(rows_no[i]),
            verdicts.column[i] or None,
            verdicts.code[i],
            verdicts.reason[i],
            ids[i] or None,
            json.dumps(dict(zip(header, std.iloc[i].tolist(), strict=False))),
        )
        for i in bad
    ]


def _staged_rows(
    chunk: pd.DataFrame,
    fac: dict[str, Factorized],
    pts: MapPoints,
    ok: np.ndarray,
    *,
    rows_no: np.ndarray,
    t0: np.ndarray,
    t1: np.ndarray,
    hashes: np.ndarray,
) -> pd.DataFrame:
    """The rows under ``ok`` as staged rows (:data:`geosafe.incident.ROW_COLUMNS`), each its
    own ref and current until the ref rule decides (:func:`finish_chunk`)."""
    all_ok = bool(ok.all())
    acc = chunk if all_ok else chunk[ok]
    pt = pts.of_row if all_ok else pts.of_row[ok]
    located = ~pts.missing[ok]
    x, y = pts.x[pt], pts.y[pt]
    return pd.DataFrame(
        {
            "source": SOURCE,
            "source_ref": chunk["Crime ID"].to_numpy(dtype=object)[ok],
            "row_no": rows_no[ok],
            "occurred_from": t0[ok],
            "occurred_to": t1[ok],
            "time_precision": "month",
            "category": acc["Crime type"].to_numpy(dtype=object),
            "flags": "",
            "route": None,
            "stop_code": None,
            "school_urn": None,
            "precision_m": np.where(located, PRECISION_M, np.nan),
            "geocode_method": np.where(located, "police_uk", "none").astype(object),
            "location_text": acc["Location"].replace("", None).to_numpy(dtype=object),
            "h3_cell": pts.cell[pt],
            "lon": pts.lon[pt],
            "lat": pts.lat[pt],
            "minx": x,
            "miny": y,
            "maxx": x,
            "maxy": y,
            "geom_wkb": None,
            "weight": 1.0,
            "detail": _details(fac, ok),
            "row_hash": hashes[ok],
            "current": np.ones(int(ok.sum()), dtype=np.int8),
        }
    )
