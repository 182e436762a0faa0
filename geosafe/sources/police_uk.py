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
  other values is accepted as an *update*: the latest ``Month`` wins (a tie goes to the row read
  last) and the other version is kept as history.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from .._errors import ImportFileError
from ._read import Column, _map_header, decode, file_sha256, read_table

__all__ = ["COLUMNS", "SOURCE", "Deduper", "PoliceChunk", "iter_chunks", "process_chunk"]

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
        Accepted rows with :data:`geosafe.store.ROW_COLUMNS`.
    problems
        ``(row, column, reason_code, reason, ref, raw)`` per quarantined row (``raw`` the row as
        it came in, a dict by original header names).
    no_location, updated
        Counts among the accepted rows.
    supersede_rows
        Data row numbers of rows of *this file* that a later row replaced (now history).
    supersede_ids
        Store ids of versions from *earlier batches* that this file replaced.
    """

    rows: pd.DataFrame
    problems: list[tuple[Any, ...]] = field(default_factory=list)
    no_location: int = 0
    updated: int = 0
    supersede_rows: list[int] = field(default_factory=list)
    supersede_ids: list[int] = field(default_factory=list)


class Deduper:
    """police.uk's ref rule across the chunks of a file and the store.

    Parameters
    ----------
    lookup
        ``refs -> DataFrame(id, source_ref, row_hash, t_from, current)`` of the versions
        already in the store, or ``None`` when the store holds no police.uk rows (or there is
        no store).
    """

    def __init__(self, lookup: Callable[[list[str]], pd.DataFrame] | None = None) -> None:
        self.lookup = lookup
        #: Crime ID -> (row hash, t_from, key) of the current version; key > 0 a store id,
        #: key < 0 minus a data row number of this file.
        self.current: dict[str, tuple[int, float, int]] = {}
        #: Crime ID -> every version's hash, only for ids seen more than once.
        self.hashes: dict[str, set[int]] = {}
        #: Content hash -> occurrences so far (blank Crime IDs).
        self.anon: dict[int, int] = {}

    def _load(self, ids: list[str]) -> None:
        if self.lookup is None or not ids:
            return
        found = self.lookup(ids)
        for rec in found.sort_values("current").itertuples(index=False):
            ref = str(rec.source_ref)
            h, t, key = int(rec.row_hash), float(rec.t_from), int(rec.id)  # type: ignore[arg-type]
            old = self.current.get(ref)
            if old is not None:
                self.hashes.setdefault(ref, {old[0]}).add(h)
            if rec.current == 1 or old is None:
                self.current[ref] = (h, t, key)


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
    strict, control_free, lines = True, True, 0
    try:
        with opener() as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                lines += block.count(b"\n")
                if control_free and len(block.translate(None, _CONTROL_BYTES)) != len(block):
                    control_free = False
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
    # the byte scan speaks for characters only in encodings that write them as these bytes
    ascii_like = _CONTROL_BYTES.decode("latin-1").encode(encoding, "replace") == _CONTROL_BYTES
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
        ``chunk.attrs["file_lines"]`` the file's line breaks (about its number of rows).

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
        return (
            table.sha256,
            _in_standard_order(table.header, table.names),
            iter([_frame_from_table(table)]),
        )
    header = _header(p, encoding)
    names = _map_header(header, COLUMNS, column_map or {}, path=p, source=SOURCE)
    sha = sha256 or file_sha256(p)
    strict, control_free, lines = _scan(p, encoding)

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
                done = int(out.index[-1]) if len(out) else done
                yield out
        except pd.errors.ParserError:
            # a ragged row: the csv module reads the rest row by row (the rows are quarantined)
            table = read_table(p, COLUMNS, source=SOURCE, encoding=encoding, column_map=column_map)
            yield _frame_from_table(table, skip_rows=done)

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


def process_chunk(
    chunk: pd.DataFrame,
    *,
    header: tuple[str, ...],
    dedupe: Deduper,
    aoi: BaseGeometry | None,
    now: pd.Timestamp,
    max_text: int = 4000,
) -> PoliceChunk:
    """Validate, geocode and dedupe one chunk (vectorised); see the module docstring."""
    from ..geocode import points as gpoints
    from ..geocode.h3cells import cells_for_points

    n = len(chunk)
    rows_no = chunk.index.to_numpy(dtype=np.int64)
    code = np.full(n, None, dtype=object)
    col = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)

    def flag(
        mask: np.ndarray,
        c: str,
        column: str | None,
        template: str,
        values: np.ndarray | None = None,
    ) -> None:
        """Set code/column/reason where ``mask`` and no earlier problem; ``{v}`` = values[i]."""
        idx = np.flatnonzero(mask & (code == None))  # noqa: E711
        for i in idx:
            code[i], col[i] = c, column
            reason[i] = template.format(v=None if values is None else values[i])

    flag(
        chunk["_bad_fields"].to_numpy(dtype=bool),
        "row_field_count",
        None,
        f"row has a different number of fields from the header ({len(header)}); check quoting.",
    )
    bad_col = chunk["_bad_column"].to_numpy(dtype=object)
    has_bad = chunk["_bad_column"].notna().to_numpy(dtype=bool)
    flag(
        has_bad,
        "encoding_invalid",
        None,
        "`{v}` holds bytes that are not valid text in the file's encoding; save it as UTF-8.",
        bad_col,
    )
    for i in np.flatnonzero(code == "encoding_invalid"):
        col[i] = bad_col[i]
    # every column but the Crime ID factorized once: for lengths, months, map points,
    # details and hashes (their values repeat: each distinct one is looked at once)
    fac = {n: _factorize(chunk[n].to_numpy(dtype=object)) for n in NAMES if n != "Crime ID"}
    control_free = bool(chunk.attrs.get("control_free", False))
    for name in NAMES:
        values = chunk[name].to_numpy(dtype=object)
        limit = max_text if name in ("Location", "Last outcome category", "Context") else 200
        codes, distinct = fac.get(name, (None, values))
        if n and max(map(len, distinct)) > limit:  # rare: then find the rows
            lengths = np.fromiter(map(len, distinct), dtype=np.int64, count=len(distinct))
            flag(
                (lengths > limit) if codes is None else (lengths > limit)[codes],
                "text_too_long",
                name,
                f"`{name}` has more than {limit} characters; shorten it.",
            )
        if not control_free and _CONTROL_RE.search("\n".join(values)) is not None:
            ctl = np.fromiter(
                (_CONTROL_RE.search(v) is not None for v in values), dtype=bool, count=n
            )
            flag(
                ctl, "text_control_chars", name, f"`{name}` holds control characters; remove them."
            )
    mrow, mtexts = fac["Month"]
    mv_u = np.asarray([str(v).strip() for v in mtexts], dtype=object)
    t0_u, t1_u, mcodes_u = month_bounds(pd.Series(mv_u, dtype=object), now)
    t0, t1 = t0_u[mrow], t1_u[mrow]
    for u in np.flatnonzero(mcodes_u != None):  # noqa: E711
        c = str(mcodes_u[u])
        text = _TIME_REASON[c].format(v=mv_u[u]).replace("{", "{{").replace("}", "}}")
        flag(mrow == u, c, "Month", text)
    prow, lon_u, lat_u = _unique_pairs(fac["Longitude"], fac["Latitude"])
    ccodes_u = gpoints.classify_lonlat(lon_u, lat_u, aoi=aoi)
    missing = (ccodes_u == gpoints.MISSING)[prow]
    for u in np.flatnonzero((ccodes_u != None) & ~(ccodes_u == gpoints.MISSING)):  # noqa: E711
        c = str(ccodes_u[u])
        text = gpoints.reason_text(c, lon_u[u], lat_u[u], names=("Longitude", "Latitude"))
        flag(prow == u, c, "Longitude,Latitude", text.replace("{", "{{").replace("}", "}}"))
    # content hash of the standard columns (what "identical" means)
    std = chunk[list(NAMES)]
    if has_bad.any():  # lone surrogates cannot be hashed: hash their bytes instead
        std = std.copy()
        for name in NAMES:
            std[name] = [
                v.encode("utf-8", "surrogateescape").decode("latin-1") if bad else v
                for v, bad in zip(std[name].to_numpy(dtype=object), has_bad, strict=True)
            ]
        hashes = row_hashes(std)
    else:
        hashes = row_hashes(std, fac)
    ids = _strip(chunk["Crime ID"].to_numpy(dtype=object))
    ok = code == None  # noqa: E711
    has_id = ok & (ids != "")
    current = np.ones(n, dtype=np.int8)
    refs = ids.copy()
    updated = 0
    sup_rows: list[int] = []
    sup_ids: list[int] = []
    # store versions of the ids in this chunk not yet known
    if dedupe.lookup is not None:
        new_ids = [i for i in pd.unique(ids[has_id]) if i not in dedupe.current]
        dedupe._load(new_ids)
    known = (
        np.fromiter(map(dedupe.current.__contains__, ids), dtype=bool, count=n)
        if dedupe.current
        else np.zeros(n, bool)
    )
    repeated = pd.Series(ids).duplicated(keep=False).to_numpy(dtype=bool)
    cand = has_id & (known | repeated)
    simple = has_id & ~cand
    dedupe.current.update(
        zip(
            ids[simple].tolist(),
            zip(
                hashes[simple].tolist(),
                t0[simple].tolist(),
                (-rows_no[simple]).tolist(),
                strict=True,
            ),
            strict=True,
        )
    )
    for i in np.flatnonzero(cand):
        ref, h, t = ids[i], int(hashes[i]), float(t0[i])
        old = dedupe.current.get(ref)
        if old is None:
            dedupe.current[ref] = (h, t, -int(rows_no[i]))
            continue
        versions = dedupe.hashes.get(ref, {old[0]})
        if h in versions:
            code[i], col[i] = "duplicate_row", "Crime ID"
            reason[i] = (
                f"row is identical to one already imported or read (Crime ID {ref[:16]!r}...); nothing to do."
            )
            continue
        dedupe.hashes[ref] = versions | {h}
        updated += 1
        if t >= old[1]:
            if old[2] > 0:
                sup_ids.append(old[2])
            else:
                sup_rows.append(-old[2])
            dedupe.current[ref] = (h, t, -int(rows_no[i]))
        else:
            current[i] = 0
    # blank Crime ID: a ref from the content hash and its occurrence number
    anon = np.flatnonzero((code == None) & (ids == ""))  # noqa: E711
    anon_refs = []
    for i in anon:
        h = int(hashes[i])
        k = dedupe.anon.get(h, 0) + 1
        dedupe.anon[h] = k
        refs[i] = f"anon-{h & 0xFFFFFFFFFFFFFFFF:016x}-{k}"
        anon_refs.append(refs[i])
    if dedupe.lookup is not None and anon_refs:
        found = set(dedupe.lookup(anon_refs)["source_ref"].astype(str))
        for i in anon:
            if refs[i] in found:
                code[i], col[i] = "duplicate_row", "Crime ID"
                reason[i] = (
                    "row (blank Crime ID) is identical to one already imported; nothing to do."
                )
    ok = code == None  # noqa: E711
    problems = []
    if not ok.all():
        std = chunk[list(NAMES)]
        for i in np.flatnonzero(~ok):
            raw = dict(zip(header, std.iloc[i].tolist(), strict=False))
            problems.append(
                (
                    int(rows_no[i]),
                    col[i] or None,
                    code[i],
                    reason[i],
                    ids[i] or None,
                    json.dumps(raw),
                )
            )
    all_ok = bool(ok.all())
    acc = chunk if all_ok else chunk[ok]
    located = ~missing[ok]
    # per distinct map point: numbers, grid coordinates and H3 cell (good points only)
    good_u = ccodes_u == None  # noqa: E711
    lon_pt = np.where(good_u, pd.to_numeric(pd.Series(lon_u), errors="coerce"), np.nan)
    lat_pt = np.where(good_u, pd.to_numeric(pd.Series(lat_u), errors="coerce"), np.nan)
    x_pt, y_pt = gpoints.lonlat_to_bng(lon_pt, lat_pt)
    x_pt, y_pt = np.where(good_u, x_pt, np.nan), np.where(good_u, y_pt, np.nan)
    cells_pt = cells_for_points(lon_pt, lat_pt, np.where(good_u, PRECISION_M, np.nan))
    pt = prow if all_ok else prow[ok]
    lon, lat, x, y, cells = lon_pt[pt], lat_pt[pt], x_pt[pt], y_pt[pt], cells_pt[pt]
    precision = np.where(located, PRECISION_M, np.nan)
    ref_ok = refs[ok]
    rows = pd.DataFrame(
        {
            "source": SOURCE,
            "source_ref": ref_ok,
            "row_no": rows_no[ok],
            "t_from": t0[ok],
            "t_to": t1[ok],
            "time_precision": "month",
            "category": acc["Crime type"].to_numpy(dtype=object),
            "flags": "",
            "route": None,
            "stop_code": None,
            "school_urn": None,
            "precision_m": precision,
            "geocode_method": np.where(located, "police_uk", "none").astype(object),
            "location_text": acc["Location"].replace("", None).to_numpy(dtype=object),
            "h3_cell": cells,
            "lon": lon,
            "lat": lat,
            "minx": x,
            "miny": y,
            "maxx": x,
            "maxy": y,
            "geom_wkb": None,
            "weight": 1.0,
            "detail": _details(fac, ok),
            "row_hash": hashes[ok],
            "current": current[ok],
        }
    )
    return PoliceChunk(rows, problems, int((~located).sum()), updated, sup_rows, sup_ids)
