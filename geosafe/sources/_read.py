"""Reading import files: CSV (UTF-8 with or without BOM, or Windows-1252 where configured),
``.csv.gz`` and ``.xlsx`` (first sheet), header checks and column maps.

A file is read whole into a :class:`RawTable` of text cells. Undecodable bytes never crash the
read: the text is decoded with ``errors="surrogateescape"`` and the row holding them is later
quarantined (``encoding_invalid``). The header is checked *before* any row is looked at: a
missing, renamed or duplicated column raises :class:`~geosafe._errors.ImportFileError` naming
it, so nothing of a bad file is ever written.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import gzip
import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .._errors import ImportFileError

__all__ = [
    "Column",
    "RawTable",
    "file_sha256",
    "load_column_map",
    "read_bytes",
    "read_table",
]

log = logging.getLogger(__name__)

csv.field_size_limit(16 * 1024 * 1024)


@dataclass(frozen=True, slots=True)
class Column:
    """One documented column of an import format.

    Attributes
    ----------
    name
        Standard column name (what a column map maps to).
    description
        What it holds, with units and format.
    example
        The value used in the template's example row.
    codes
        The declared code list, when the column has one.
    text
        Whether it is free text (length-checked; kept with newlines and quotes).
    optional
        Whether the header may leave it out (``person_ref``, ``person_role``).
    secret
        Whether its value must never be stored as given (``person_ref``): a quarantined row
        keeps ``[withheld]`` in its place.
    """

    name: str
    description: str
    example: str
    codes: tuple[str, ...] = ()
    text: bool = False
    optional: bool = False
    secret: bool = False


@dataclass(frozen=True)
class RawTable:
    """An import file read into text cells.

    Attributes
    ----------
    path
        The file.
    sha256
        SHA-256 (hex) of the file's bytes as stored (compressed bytes for ``.csv.gz``).
    header
        Column names as they appear in the file.
    names
        Standard names, aligned with ``header`` (``None`` for unknown, ignored columns).
    records
        ``(row, cells)`` per data row; ``row`` is 1-based (header excluded), ``cells`` are
        aligned with ``header`` (possibly fewer or more for a ragged row).
    encoding
        The encoding the text was decoded with.
    lines
        ``row`` -> the line of the file (1-based, the header's counted) where the row
        starts, or the row of the sheet: where an editor shows it (a field quoted over
        several lines, or a blank line, puts the two apart).
    """

    path: Path
    sha256: str
    header: tuple[str, ...]
    names: tuple[str | None, ...]
    records: list[tuple[int, list[str]]] = field(repr=False)
    encoding: str = "utf-8"
    secret: tuple[str, ...] = ()
    lines: dict[int, int] = field(default_factory=dict, repr=False)

    def standard(self, cells: Sequence[str]) -> dict[str, str]:
        """The row's known columns by standard name (cells stripped of outer blanks)."""
        return {
            name: cells[i].strip() if i < len(cells) else ""
            for i, name in enumerate(self.names)
            if name is not None
        }

    @property
    def ignored(self) -> tuple[str, ...]:
        """Header names of the columns the reader does not use."""
        return ignored_columns(self.header, self.names)

    def original(self, cells: Sequence[str]) -> dict[str, str]:
        """The row as it came in, by the file's own header names."""
        out = {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(self.header)}
        for i, name in enumerate(self.names):
            if name in self.secret and i < len(cells) and cells[i].strip():
                out[self.header[i]] = "[withheld]"  # a person_ref is never stored as given
        for j in range(len(self.header), len(cells)):
            out[f"_extra_{j + 1}"] = cells[j]
        return out


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_bytes(path: Path) -> bytes:
    """The file's content, decompressed when it ends in ``.gz``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        msg = f"cannot read {str(path)!r}: {exc.strerror or exc}; check the path."
        raise ImportFileError(msg) from exc
    if path.suffix.lower() == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            msg = f"{str(path)!r} is not a valid gzip file ({exc}); re-compress or unzip it."
            raise ImportFileError(msg) from exc
    return data


def decode(data: bytes, encoding: str) -> str:
    """Decode keeping undecodable bytes as lone surrogates; strip a UTF-8 BOM."""
    enc = encoding.lower().replace("_", "-")
    if enc in ("utf-8", "utf8", "utf-8-sig"):
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        return data.decode("utf-8", errors="surrogateescape")
    try:
        return data.decode(encoding, errors="surrogateescape")
    except LookupError as exc:
        msg = f"`encoding` {encoding!r} is unknown; use 'utf-8' or 'cp1252'."
        raise ImportFileError(msg) from exc


def _xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.microsecond == 0:
            return value.strftime("%Y-%m-%d %H:%M")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)


def _xlsx_rows(path: Path) -> list[list[str]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        msg = f"{str(path)!r} is not a readable .xlsx workbook ({exc}); save it as .xlsx or CSV."
        raise ImportFileError(msg) from exc
    try:
        ws = wb.worksheets[0]
        rows = [[_xlsx_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    return rows


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    """``(line, cells)`` per record of the text (``line``: where it starts, 1-based)."""
    try:
        return list(csv_records_at(io.StringIO(text, newline=""), keep_blank=True))
    except csv.Error as exc:
        msg = f"the file is not valid CSV ({exc}); check quoting."
        raise ImportFileError(msg) from exc


class _Lines:
    """A text's lines for ``csv.reader``, remembering those of the record being read and
    the number (1-based) of its first line; lines given back are read again first."""

    def __init__(self, text: Iterator[str]) -> None:
        self._text = text
        self.taken: list[str] = []
        self.back: list[tuple[int, str]] = []
        self.first = 0
        self._read = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.back:
            number, line = self.back.pop()
        else:
            line = next(self._text)
            self._read += 1
            number = self._read
        if not self.taken:
            self.first = number
        self.taken.append(line)
        return line


def csv_records_at(
    text: Iterator[str], width: int | None = None, *, keep_blank: bool = False
) -> Iterator[tuple[int, list[str]]]:
    """The CSV records of a text's lines, each with the number (1-based) of the line it
    starts on (a blank line is no record unless ``keep_blank``).

    A quote opened where it is not closed would take every later line of the file into one
    field. So a record over several lines whose lines hold an odd number of quote characters
    (a quote never closed), or, with ``width`` (the header's number of fields), another
    number of fields, is cut back to its own first line (a record with a field count of its
    own, which the checks quarantine), and the lines after it are read again. A field
    quoted over several lines, closed, and of the right width stays one record."""
    lines = _Lines(text)
    reader = csv.reader(lines, strict=False)
    while True:
        lines.taken = []
        cells = next(reader, None)
        if cells is None:
            return
        if len(lines.taken) > 1 and (
            (width is not None and len(cells) != width)
            or sum(line.count('"') for line in lines.taken) % 2
        ):
            first, *rest = lines.taken
            lines.back.extend(
                (lines.first + k, line) for k, line in reversed(list(enumerate(rest, 1)))
            )
            cells = next(csv.reader([first], strict=False), [])
        if cells or keep_blank:
            yield lines.first, cells


def csv_records(
    text: Iterator[str], width: int | None = None, *, keep_blank: bool = False
) -> Iterator[list[str]]:
    """The CSV records of a text's lines (:func:`csv_records_at` without the lines)."""
    for _, cells in csv_records_at(text, width, keep_blank=keep_blank):
        yield cells


def load_column_map(path: Path | str, source: str) -> dict[str, str]:
    """A column map from JSON: ``{"local name": "standard name"}``, or such a map per source
    (``{"dir": {...}}``)."""
    p = Path(path)
    try:
        obj = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        msg = f"`--column-map` {str(p)!r} is not readable JSON ({exc}); fix the file."
        raise ImportFileError(msg) from exc
    if isinstance(obj, dict) and source in obj and isinstance(obj[source], dict):
        obj = obj[source]
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in obj.items()
    ):
        msg = (
            f"`--column-map` {str(p)!r} must map local column names to standard names, "
            f'e.g. {{"Incident Ref": "dir_ref"}}.'
        )
        raise ImportFileError(msg)
    return dict(obj)


def _clean_name(name: str) -> str:
    return name.replace("\ufeff", "").strip()


def ignored_columns(header: Sequence[str], names: Sequence[str | None]) -> tuple[str, ...]:
    """The non-blank header names that map to no standard column (dropped on import)."""
    return tuple(
        _clean_name(h) for h, n in zip(header, names, strict=True) if n is None and _clean_name(h)
    )


def _matching_sources(header: Sequence[str]) -> list[str]:
    """Sources whose every required column is in ``header`` (case-insensitive)."""
    from . import MODULES

    have = {_clean_name(h).lower() for h in header}
    return [
        key
        for key, module in MODULES.items()
        if all(c.name.lower() in have for c in module.COLUMNS if not c.optional)
    ]


def _map_header(
    header: Sequence[str],
    columns: Sequence[Column],
    column_map: Mapping[str, str],
    *,
    path: Path,
    source: str,
) -> tuple[str | None, ...]:
    """Standard names aligned with ``header``; raises on missing/duplicated columns."""
    known = {c.name.lower(): c.name for c in columns}
    cmap = {_clean_name(k).lower(): v for k, v in column_map.items()}
    names: list[str | None] = []
    for raw in header:
        h = _clean_name(raw)
        target = cmap.get(h.lower(), h)
        names.append(known.get(target.lower()))
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name is None:
            continue
        if name in seen:
            msg = (
                f"{str(path)!r}: column {name!r} appears twice in the header (columns "
                f"{seen[name] + 1} and {i + 1}: {header[seen[name]]!r}, {header[i]!r}); "
                "remove or rename one. Nothing was imported."
            )
            raise ImportFileError(msg)
        seen[name] = i
    missing = [c.name for c in columns if c.name not in seen and not c.optional]
    if missing:
        unknown = [_clean_name(h) for h, n in zip(header, names, strict=True) if n is None]
        hints = []
        for m in missing:
            close = difflib.get_close_matches(m, unknown, n=1, cutoff=0.5)
            if close:
                hints.append(f"{close[0]!r} -> {m!r}")
        others = [k for k in _matching_sources(header) if k != source]
        if others:
            other = others[0].replace("_", "-")
            hint = (
                f" It looks like a {other} file (it has every {other} column): import it with "
                f"`geosafe import {other} FILE`."
            )
        elif hints:
            hint = f" It may have been renamed: map it with a column map ({'; '.join(hints)})."
        else:
            hint = f" Start from `geosafe template {source.replace('_', '-')}`."
        msg = (
            f"{str(path)!r}: the header lacks the column(s) {', '.join(map(repr, missing))} of "
            f"the {source} format.{hint} Nothing was imported."
        )
        raise ImportFileError(msg)
    extra = ignored_columns(header, names)
    if extra:
        log.info("%s: ignoring unknown column(s) %s", path, ", ".join(map(repr, extra)))
    return tuple(names)


def read_table(
    path: Path | str,
    columns: Sequence[Column],
    *,
    source: str,
    encoding: str = "utf-8",
    column_map: Mapping[str, str] | None = None,
) -> RawTable:
    """Read an import file into text cells and check its header.

    Parameters
    ----------
    path
        ``.csv``, ``.csv.gz``, ``.txt`` or ``.xlsx`` (first sheet).
    columns
        The format's documented columns; every one must be in the header (values may be blank).
    source
        Source name, for messages.
    encoding
        CSV text encoding (``utf-8``, a BOM accepted, or ``cp1252``).
    column_map
        Local header name -> standard name (case-insensitive on the local name).

    Raises
    ------
    ImportFileError
        Unreadable file, empty file, or a header with missing, renamed or duplicated columns.
    """
    p = Path(path)
    if not p.is_file():
        msg = f"{str(p)!r} is not a file; check the path."
        raise ImportFileError(msg)
    sha = file_sha256(p)
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        rows = list(enumerate(_xlsx_rows(p), 1))
        used = "xlsx"
    else:
        data = read_bytes(p)
        if data[:4] == b"PK\x03\x04":
            msg = f"{str(p)!r} is a zip/xlsx file with a CSV name; rename it to .xlsx."
            raise ImportFileError(msg)
        rows = _csv_rows(decode(data, encoding))
        used = encoding
    skipped = 0
    while rows and not any(c.strip() for c in rows[0][1]):
        rows.pop(0)
        skipped += 1
    if not rows:
        msg = f"{str(p)!r} is empty: no header row. Start from `geosafe template {source}`."
        raise ImportFileError(msg)
    header = rows[0][1]
    while header and not header[-1].strip() and used == "xlsx":
        header = header[:-1]
    try:
        names = _map_header(header, columns, column_map or {}, path=p, source=source)
    except ImportFileError as exc:
        row = _header_row([cells for _, cells in rows], columns, column_map or {})
        if row is None:
            raise
        where = "sheet" if used == "xlsx" else "file"
        msg = (
            f"{str(p)!r}: the first row is not the header: the header seems to be on row "
            f"{row + skipped + 1} of the {where}; delete the rows above it and import again. "
            "Nothing was imported."
        )
        raise ImportFileError(msg) from exc
    records: list[tuple[int, list[str]]] = []
    lines: dict[int, int] = {}
    number = 0
    for line, cells in rows[1:]:
        if not any(c.strip() for c in cells):
            continue  # blank line: not a row
        number += 1
        if used == "xlsx" and len(cells) != len(header):
            cells = (cells + [""] * len(header))[: max(len(header), _last_filled(cells))]
        records.append((number, cells))
        lines[number] = line
    secret = tuple(c.name for c in columns if c.secret)
    return RawTable(p, sha, tuple(header), names, records, used, secret, lines)


#: How many rows below the first are searched for a header that is not on the first row.
_HEADER_SEARCH_ROWS: Final = 30


def _header_row(
    rows: Sequence[Sequence[str]], columns: Sequence[Column], column_map: Mapping[str, str]
) -> int | None:
    """Index (in ``rows``) of the first row after the first that holds every required column
    (a title or notes above the header), if any."""
    known = {c.name.lower() for c in columns if not c.optional}
    cmap = {_clean_name(k).lower(): v.lower() for k, v in column_map.items()}
    for i, cells in enumerate(rows[1:_HEADER_SEARCH_ROWS], start=1):
        have = {cmap.get(_clean_name(c).lower(), _clean_name(c).lower()) for c in cells}
        if known <= have:
            return i
    return None


def _last_filled(cells: Sequence[str]) -> int:
    for i in range(len(cells) - 1, -1, -1):
        if cells[i].strip():
            return i + 1
    return 0
