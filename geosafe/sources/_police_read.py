"""Reading a police.uk CSV into chunks of text columns (:class:`TextChunk`), without pandas.

Two readers give the same chunks:

- Python's ``csv`` module (C tokenizer): any encoding, undecodable bytes kept as lone
  surrogates, ragged rows kept with their own field count, blank lines skipped (not rows).
  Used for small files (no start-up cost) and for any file the other reader cannot take.
- polars' multithreaded CSV reader (imported only then), for large UTF-8 files without
  quote characters, blank lines or ragged rows: :func:`scan` checks each of those on the
  bytes first (the field count of every line from the comma and newline positions), so both
  readers see the same rows.

Every column but ``Crime ID`` arrives factorized (each distinct text once, a code per row):
the checks look at distinct values and map the answer to rows with the codes.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .._errors import ImportFileError
from .._siphash import hash_array, hash_fixed_width
from ._read import csv_records_at, decode

__all__ = [
    "Factorized",
    "FileScan",
    "TextChunk",
    "bad_columns",
    "csv_chunks",
    "factorize",
    "header",
    "polars_chunks",
    "scan",
]

#: A column factorized: (code per row, distinct values in order of first appearance).
Factorized = tuple[npt.NDArray[np.int64], npt.NDArray[np.object_]]

#: Bytes of the control characters the checks look for (single bytes in UTF-8 and in the
#: 8-bit encodings alike: a multi-byte UTF-8 sequence never holds a byte below 0x80).
CONTROL_BYTES: Final = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_SURROGATE_LOW: Final = "\udc80"
_BLOCK: Final = 1 << 22

#: Smallest file (bytes) read with polars; below it the ``csv`` module is faster than
#: importing polars (~0.15 s).
POLARS_MIN_BYTES = 16 << 20


@dataclass
class TextChunk:
    """One chunk of rows as text.

    Attributes
    ----------
    rows_no
        1-based data row numbers (blank lines are not rows).
    ids
        The ``Crime ID`` cells as read.
    fac
        Every other standard column, factorized.
    bad_fields
        Ragged rows (another number of fields than the header).
    bad_column
        The first standard column holding undecodable bytes, or None, per row.
    id_hash
        :func:`geosafe._siphash.hash_array` of ``ids`` when the reader computed it.
    """

    rows_no: npt.NDArray[np.int64]
    ids: npt.NDArray[np.object_]
    fac: dict[str, Factorized]
    bad_fields: npt.NDArray[np.bool_]
    bad_column: npt.NDArray[np.object_]
    id_hash: npt.NDArray[np.uint64] | None = None
    #: The reader found no whitespace in any id (nothing to strip).
    ids_bare: bool = False
    control_free: bool = False
    file_lines: int = 0
    ignored_columns: tuple[str, ...] = ()
    #: Rows with more fields than the header (by position in the chunk): their surplus
    #: cells, named ``(field N)``, kept with the row if it is quarantined.
    surplus: dict[int, dict[str, str]] = field(default_factory=dict)
    #: The line of the file each row starts on (1-based, the header's counted), where an
    #: editor shows it; None when the reader did not say.
    lines: npt.NDArray[np.int64] | None = None

    def __len__(self) -> int:
        return len(self.rows_no)


@dataclass(frozen=True)
class FileScan:
    """What one streamed pass over the bytes found (:func:`scan`)."""

    strict: bool  # decodes without error
    control_free: bool  # no control character at all (the per-cell check is skipped)
    lines: int  # line breaks (about the number of rows)
    regular: bool  # no quote character, no blank line, every line has the header's fields


def _opener(path: Path) -> Any:
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else path.open("rb")


#: Byte -> whether it is a control character the checks look for.
_IS_CONTROL: Final = np.zeros(256, dtype=bool)
_IS_CONTROL[list(CONTROL_BYTES)] = True


@dataclass
class _BlockState:
    """What :func:`scan` carries from one block to the next."""

    lines: int = 0
    control_free: bool = True
    regular: bool = True
    commas: int = 0  # commas of the line begun in an earlier block
    last: int = 10  # the previous block's last byte (a newline before the first block)


def _scan_block(block: bytes, state: _BlockState, fields: int) -> None:
    """Line breaks, control characters and (while ``state.regular``) whether every line
    ending in ``block`` is a plain row of ``fields`` fields: no quote, no carriage return,
    no blank line, ``fields - 1`` commas."""
    buf = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    state.lines += len(ends)
    if state.control_free and bool(_IS_CONTROL[buf[buf < 32]].any() or (buf == 0x7F).any()):
        state.control_free = False
    if not state.regular:
        return
    if (buf == 34).any() or (buf == 13).any():
        state.regular = False
        return
    before_end = buf[np.maximum(ends - 1, 0)]
    if len(ends) and ends[0] == 0:
        before_end[0] = state.last
    if (before_end == 10).any():  # a line break right after another: a blank line
        state.regular = False
        return
    commas = np.flatnonzero(buf == 44)
    before = np.searchsorted(commas, ends)  # commas before each line end
    per_line = np.diff(before, prepend=0)
    per_line[:1] += state.commas
    if not bool((per_line == fields - 1).all()):
        state.regular = False
        return
    state.commas = len(commas) - int(before[-1]) if len(ends) else state.commas + len(commas)
    state.last = int(buf[-1])


def scan(path: Path, encoding: str, *, fields: int, check_lines: bool) -> FileScan:
    """One streamed pass over the bytes (numpy per block): decoding, control characters,
    line breaks and, when ``check_lines``, whether every line is a plain row of ``fields``
    fields (what the polars reader needs; the header line is checked too)."""
    dec = codecs.getincrementaldecoder(
        "utf-8-sig" if encoding.lower().startswith("utf") else encoding
    )()
    # the byte scan speaks for characters only in encodings that write them as these bytes
    ascii_like = CONTROL_BYTES.decode("latin-1").encode(encoding, "replace") == CONTROL_BYTES
    state = _BlockState(regular=check_lines)
    strict = True
    try:
        with _opener(path) as fh:
            for block in iter(lambda: fh.read(_BLOCK), b""):
                _scan_block(block, state, fields)
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
    if state.regular and state.last != 10 and state.commas != fields - 1:
        state.regular = False  # an unterminated last line of another width
    return FileScan(strict, state.control_free and ascii_like, state.lines, state.regular)


def header(path: Path, encoding: str) -> list[str]:
    """The header row's names."""
    try:
        with _opener(path) as fh:
            first = fh.readline()
    except (OSError, EOFError) as exc:
        msg = f"cannot read {str(path)!r} ({exc}); check it is a CSV (or gzip of one)."
        raise ImportFileError(msg) from exc
    rows = list(csv.reader(io.StringIO(decode(first, encoding))))
    if not rows or not any(c.strip() for c in rows[0]):
        msg = f"{str(path)!r} is empty: no header row. Start from `geosafe template police-uk`."
        raise ImportFileError(msg)
    return rows[0]


def factorize(values: Sequence[str]) -> Factorized:
    """Codes (in order of first appearance) and distinct values of a list of texts."""
    distinct = list(dict.fromkeys(values))  # first appearance order, in C
    index = {v: k for k, v in enumerate(distinct)}
    codes = np.fromiter(map(index.__getitem__, values), dtype=np.int64, count=len(values))
    uniques = np.empty(len(distinct), dtype=object)
    uniques[:] = distinct
    return codes, uniques


def bad_columns(chunk: TextChunk, names: Sequence[str], *, strict: bool) -> npt.NDArray[np.object_]:
    """Per row, the first standard column (in ``names`` order) holding an undecodable byte
    (decoded as a lone surrogate), or None."""
    out = np.full(len(chunk), None, dtype=object)
    if strict:
        return out

    def has_surrogate(v: str) -> bool:
        return not v.isascii() and any(_SURROGATE_LOW <= ch <= "\udcff" for ch in v)

    for name in names:
        if name == "Crime ID":
            bad = np.fromiter(map(has_surrogate, chunk.ids), dtype=bool, count=len(chunk))
        else:
            codes, uniques = chunk.fac[name]
            per_value = np.fromiter(map(has_surrogate, uniques), dtype=bool, count=len(uniques))
            bad = per_value[codes] if len(uniques) else np.zeros(len(chunk), dtype=bool)
        out[bad & (out == None)] = name  # noqa: E711
    return out


def _chunk_from_rows(
    rows: list[list[str]],
    first_no: int,
    positions: dict[str, int],
    width: int,
    *,
    strict: bool,
    order: Sequence[str],
) -> TextChunk:
    n = len(rows)
    fac: dict[str, Factorized] = {}
    ids = np.empty(n, dtype=object)
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=n)
    # rows of one width (the usual case): the columns by one transposition in C
    columns = list(zip(*rows, strict=True)) if n and (lengths == lengths[0]).all() else None
    for name, j in positions.items():
        if columns is not None and j < len(columns):
            cells: Sequence[str] = columns[j]
        elif columns is not None:
            cells = [""] * n
        else:
            cells = [r[j] if j < len(r) else "" for r in rows]
        if name == "Crime ID":
            ids[:] = cells
        else:
            fac[name] = factorize(cells)
    chunk = TextChunk(
        rows_no=np.arange(first_no, first_no + n, dtype=np.int64),
        ids=ids,
        fac=fac,
        bad_fields=lengths != width,
        bad_column=np.empty(0, dtype=object),
        surplus={
            int(i): {f"(field {width + 1 + k})": v for k, v in enumerate(rows[i][width:])}
            for i in np.flatnonzero(lengths > width)
        },
    )
    chunk.bad_column = bad_columns(chunk, order, strict=strict)
    return chunk


def csv_chunks(
    path: Path,
    *,
    encoding: str,
    strict: bool,
    positions: dict[str, int],
    width: int,
    order: Sequence[str],
    chunk_rows: int,
    skip_rows: int = 0,
) -> Iterator[TextChunk]:
    """Chunks read with the ``csv`` module (after ``skip_rows`` data rows).

    ``positions`` maps each standard column to its field in the file, ``width`` is the
    header's number of fields, ``order`` the standard columns in check order.
    """
    enc = "utf-8-sig" if encoding.lower().startswith("utf") else encoding
    raw = _opener(path)
    try:
        text = io.TextIOWrapper(
            raw, encoding=enc, errors="strict" if strict else "surrogateescape", newline=""
        )
        rows = csv_records_at(text, width)
        next(rows, None)  # the header
        number = skip_rows
        for _ in itertools.islice(rows, skip_rows):
            pass
        while batch := list(itertools.islice(rows, chunk_rows)):
            chunk = _chunk_from_rows(
                [cells for _, cells in batch],
                number + 1,
                positions,
                width,
                strict=strict,
                order=order,
            )
            chunk.lines = np.fromiter((line for line, _ in batch), dtype=np.int64, count=len(batch))
            yield chunk
            number += len(batch)
    except csv.Error as exc:
        msg = f"{str(path)!r} is not valid CSV ({exc}); check quoting."
        raise ImportFileError(msg) from exc
    finally:
        raw.close()


def _line_blocks(
    path: Path, rows: int, size: int, plan: Sequence[int] = ()
) -> Generator[bytes, None, None]:
    """The file's data lines (after the header) in blocks of ``rows`` lines (the first ones
    of ``plan``'s sizes when given; the last one fewer), each ending at a line break;
    ``size``: bytes read at a time. Each read is scanned once and the block joined once (no
    growing concatenation)."""
    sizes = iter(plan)
    want = next(sizes, rows)
    with path.open("rb") as fh:
        fh.readline()
        parts: list[bytes] = []
        have = 0  # line breaks in ``parts``
        while True:
            block = fh.read(size)
            if not block:
                break
            ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
            start = 0
            while have + len(ends) >= want:
                cut = int(ends[want - have - 1]) + 1
                parts.append(block[start:cut])
                yield b"".join(parts)
                parts = []
                have = 0
                want = next(sizes, rows)
                ends = ends[ends >= cut]
                start = cut
            parts.append(block[start:] if start else block)
            have += len(ends)
        if parts and any(parts):
            yield b"".join(parts)


def _fix_mmap_threshold() -> None:
    """Have glibc map every allocation of 4 MB or more on its own (and unmap it when freed).
    Left alone, glibc raises that threshold to the size of each large block freed, so the
    next blocks of lines (~24 MB each) and polars' columns come from the heap and stay
    there: ~60 MB more peak RSS at a million rows (docs/notes/perf.md, fifth wave)."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 4 << 20)
    except (OSError, AttributeError):  # not glibc
        pass


#: ``mallopt`` parameter number (glibc ``malloc.h``).
_M_MMAP_THRESHOLD: Final = -3


def big_file(path: Path) -> bool:
    """Whether polars may read the file (large, not compressed)."""
    return path.stat().st_size >= POLARS_MIN_BYTES and path.suffix.lower() != ".gz"


def plain_candidate(path: Path, encoding: str) -> bool:
    """Whether :func:`polars_chunks` reads the file (large, UTF-8, polars
    installed): it checks each block itself and reads the rest with the ``csv`` module from
    the first that polars may not read."""
    if not (big_file(path) and encoding.lower().startswith("utf")):
        return False
    try:
        import polars  # noqa: F401
    except ImportError:  # pragma: no cover - polars is a dependency
        return False
    return True


#: The first and the last chunk of a large file are this part of the others (the second
#: twice that): a bulk load's writer process starts writing that much sooner (it waits for
#: the first chunk to be read and checked), and has that much less to write after the last
#: one is checked.
END_CHUNK_PART = 4


def block_plan(lines: int, chunk_rows: int) -> list[int]:
    """Rows per block for a file of about ``lines`` data lines: a first block of
    ``chunk_rows // END_CHUNK_PART`` rows and a second of twice that (the writer is busy
    sooner, and the second is checked by the time the first is written), a last block of
    ``chunk_rows // END_CHUNK_PART``, ``chunk_rows`` between them (the one before the last
    takes what is left over); whatever the file holds beyond ``lines`` comes in blocks of
    ``chunk_rows``."""
    end = max(1, chunk_rows // END_CHUNK_PART)
    start = [end, min(2 * end, chunk_rows)]
    if lines < sum(start) + end:
        return [end]
    full, left = divmod(lines - sum(start) - end, chunk_rows)
    return [*start, *([chunk_rows] * full), *([left] if left else []), end]


def _plain_block(block: bytes, width: int) -> tuple[bool, bool]:
    """Whether a block of whole lines is plain (strict UTF-8, no quote, no carriage return, no
    blank line, ``width`` fields a line: what polars may read, as :func:`scan` decides for a
    whole file), and whether it holds no control character."""
    state = _BlockState(regular=True)
    view = memoryview(block)
    for k in range(0, len(block), _BLOCK):  # a block at a time, as the scan reads a file
        _scan_block(view[k : k + _BLOCK], state, width)  # type: ignore[arg-type]
    if state.regular and state.last != 10 and state.commas != width - 1:
        state.regular = False  # an unterminated last line of another width
    if state.regular and not block.isascii():
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            return False, state.control_free
    return state.regular, state.control_free


def polars_chunks(
    path: Path,
    *,
    encoding: str,
    positions: dict[str, int],
    width: int,
    order: Sequence[str],
    chunk_rows: int,
) -> Iterator[TextChunk]:
    """Chunks of a large UTF-8 file read with polars, cut at line breaks into blocks of
    ``chunk_rows`` rows, the first and the last fewer (:func:`block_plan`), so memory holds
    one block at a time. Each block is checked as it is read (:func:`_plain_block`): from the
    first that is not plain (or a header that is not), the rest is read by
    :func:`csv_chunks` after a :func:`scan` of the file. No pass over the whole file comes
    before the first chunk. Each chunk's ``control_free`` is its own block's; ``file_lines``
    is estimated from the file's first mebibyte."""
    import polars as pl

    _fix_mmap_threshold()
    cols = [f"c{i}" for i in range(width)]
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    first_line = head[: head.find(b"\n") + 1] if b"\n" in head else head
    size = path.stat().st_size
    lines = max(1, round(size * head.count(b"\n") / max(len(head), 1)) - 1)
    plan = block_plan(lines, chunk_rows)
    number = 0
    if first_line.endswith(b"\n") and _plain_block(first_line, width)[0]:
        read = max(1 << 20, size * plan[0] // lines)
        blocks = _line_blocks(path, chunk_rows, read, plan)
        try:
            for block in blocks:
                plain, control_free = _plain_block(block, width)
                if not plain:
                    break
                for chunk in _polars_chunk(pl, block, number, cols, positions):
                    chunk.control_free, chunk.file_lines = control_free, lines
                    chunk.lines = chunk.rows_no + 1  # plain: a row a line, the header first
                    number += len(chunk)
                    yield chunk
            else:
                return  # every block was plain
        finally:
            blocks.close()
    # the csv module from the first line that is not plain on (each line before it was a row)
    found = scan(path, encoding, fields=width, check_lines=False)
    for chunk in csv_chunks(
        path,
        encoding=encoding,
        strict=found.strict,
        positions=positions,
        width=width,
        order=order,
        chunk_rows=chunk_rows,
        skip_rows=number,
    ):
        chunk.control_free, chunk.file_lines = found.control_free, found.lines
        yield chunk


def _polars_chunk(
    pl: Any, block: bytes, number: int, cols: list[str], positions: dict[str, int]
) -> Iterator[TextChunk]:
    """A plain block read by polars (nothing when it holds no row); rows numbered from
    ``number + 1``."""
    part = pl.read_csv(
        block, has_header=False, new_columns=cols, infer_schema=False, quote_char=None
    )
    n = part.height
    if not n:
        return
    fac: dict[str, Factorized] = {}
    exprs = {}
    uniques = {}
    for name, j in positions.items():
        if name == "Crime ID":
            continue
        col = part.get_column(cols[j]).fill_null("")
        uniq = col.unique(maintain_order=True)
        uniques[name] = uniq
        exprs[name] = col.cast(pl.Enum(uniq)).to_physical().to_numpy()
    for name, codes in exprs.items():
        values = np.empty(len(uniques[name]), dtype=object)
        values[:] = uniques[name].to_list()
        fac[name] = (codes.astype(np.int64, copy=False), values)
    id_col = part.get_column(cols[positions["Crime ID"]]).fill_null("")
    ids = np.empty(n, dtype=object)
    ids[:] = id_col.to_list()
    lengths = id_col.str.len_bytes()
    bare = False
    if lengths.min() == lengths.max():  # police.uk ids: 64 hex characters each
        joined = id_col.str.join("").item().encode("utf-8")
        id_hash = hash_fixed_width(joined, int(lengths[0]), n)
        raw = np.frombuffer(joined, dtype=np.uint8)
        bare = not bool((raw <= 32).any() or (raw >= 128).any())  # ASCII, no whitespace
    else:
        id_hash = hash_array(ids)
    yield TextChunk(
        rows_no=np.arange(number + 1, number + n + 1, dtype=np.int64),
        ids=ids,
        fac=fac,
        bad_fields=np.zeros(n, dtype=bool),
        bad_column=np.full(n, None, dtype=object),
        id_hash=id_hash,
        ids_bare=bare,
    )
