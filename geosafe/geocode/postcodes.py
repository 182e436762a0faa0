"""UK postcodes: normalise, validate the format, look up the centroid in a postcode directory.

The bundled lookup is OS Code-Point Open (August 2014) for postcode areas N and EN
(:func:`geosafe.datasets.postcodes`). A newer or wider directory, the ONS Postcode Directory
(ONSPD) or a current Code-Point Open, is read by :func:`read_postcode_directory` into the same
table and saved with :func:`write_postcode_table` (an area folder's ``postcodes/``), or passed
to :func:`lookup_postcodes` as ``table``. A well-formed postcode not in the directory used
(another area, or newer than it) is ``postcode_unknown``; a string that is not a UK postcode at
all is ``postcode_malformed``. Precision is 100 m (a unit postcode covers ~15 addresses).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from .. import datasets
from .._errors import ImportFileError
from ..incident import PRECISION_M

__all__ = [
    "POSTCODE_RE",
    "PRECISION",
    "TABLE_COLUMNS",
    "lookup_postcodes",
    "normalise_postcode",
    "read_postcode_directory",
    "write_postcode_table",
]

PRECISION: Final = PRECISION_M["postcode"]

#: A full UK unit postcode (no space), upper case: outward code then inward code.
POSTCODE_RE: Final = re.compile(r"^(GIR0AA|[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][ABD-HJLNP-UW-Z]{2})$")


def normalise_postcode(text: object) -> str | None:
    """Upper-case ``text``, fix its spacing (one space before the inward code).

    Returns ``None`` when it is not a well-formed UK postcode.

    Examples
    --------
    >>> normalise_postcode(" n22  7ay "), normalise_postcode("N22")
    ('N22 7AY', None)
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    key = re.sub(r"\s+", "", str(text)).upper()
    if not POSTCODE_RE.match(key):
        return None
    return f"{key[:-3]} {key[-3:]}"


def lookup_postcodes(
    values: npt.ArrayLike | Sequence[object],
    *,
    data_dir: Path | str | None = None,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Look up many postcodes at once (for bulk imports).

    Parameters
    ----------
    values
        Postcodes as written (any case and spacing); blank = missing.
    data_dir
        Data directory whose ``postcodes/`` is used (default: the package's ``data/``).
    table
        A postcode table (:func:`read_postcode_directory`) used instead of ``data_dir``'s.

    Returns
    -------
    pandas.DataFrame
        One row per input, columns ``postcode`` (normalised or None), ``easting``,
        ``northing`` (BNG metres, NaN when not found) and ``reason_code`` (None when found or
        blank, ``postcode_malformed`` or ``postcode_unknown``).
    """
    raw = list(np.asarray(values, dtype=object).ravel())
    blank = np.array([v is None or str(v).strip() in ("", "nan") for v in raw], dtype=bool)
    norm = [normalise_postcode(v) for v in raw]
    if table is None:
        table = datasets.postcodes(data_dir)
    known = table.index
    easting = np.full(len(raw), np.nan)
    northing = np.full(len(raw), np.nan)
    reason = np.full(len(raw), None, dtype=object)
    keys = [v.replace(" ", "") if v is not None else None for v in norm]
    found = np.array([k is not None and k in known for k in keys], dtype=bool)
    if found.any():
        hit = table.loc[[k for k, f in zip(keys, found, strict=True) if f]]
        easting[found] = hit["easting"].to_numpy()
        northing[found] = hit["northing"].to_numpy()
    is_norm = np.array([v is not None for v in norm], dtype=bool)
    reason[~blank & ~is_norm] = "postcode_malformed"
    reason[~blank & is_norm & ~found] = "postcode_unknown"
    return pd.DataFrame(
        {
            "postcode": pd.Series(norm, dtype=object),
            "easting": easting,
            "northing": northing,
            "reason_code": pd.Series(reason, dtype=object),
        }
    )


# ------------------------------------------------------------------------- directories

#: Columns of a postcode table (index: the postcode without spaces, upper case), as
#: :func:`geosafe.datasets.postcodes` returns them: ``quality`` is the directory's positional
#: quality (Code-Point Open ``PQ``, ONSPD ``osgrdind``), ``easting``/``northing`` British
#: National Grid metres, ``district``/``ward`` GSS codes.
TABLE_COLUMNS: Final = ("postcode", "quality", "easting", "northing", "district", "ward")

#: Code-Point Open's columns as published (header-less CSV files, one per postcode area, the
#: names in ``Doc/Code-Point_Open_Column_Headers.csv``): short name -> table column.
_CODEPOINT: Final = ("PC", "PQ", "EA", "NO", "CY", "RH", "LH", "CC", "DC", "WC")
_CODEPOINT_LONG: Final = {
    "postcode": "PC",
    "positional_quality_indicator": "PQ",
    "eastings": "EA",
    "northings": "NO",
    "admin_district_code": "DC",
    "admin_ward_code": "WC",
}
_CODEPOINT_TO_TABLE: Final = {
    "PC": "postcode",
    "PQ": "quality",
    "EA": "easting",
    "NO": "northing",
    "DC": "district",
    "WC": "ward",
}

#: ONSPD columns (lower case) for each table column, across releases: the long-standing names
#: first (``pcds``, ``oseast1m``, ``osnrth1m``, ``osgrdind``, ``oslaua``, ``osward``), then the
#: names of the 2025 releases (``pcd7``, ``east1m``, ``north1m``, ``gridind``, ``lad25cd``,
#: ``wd25cd``; the year in LAD/ward codes varies).
_ONSPD: Final = {
    "postcode": (r"pcds", r"pcd", r"pcd7", r"pcd8", r"pcd2"),
    "easting": (r"oseast1m", r"east1m"),
    "northing": (r"osnrth1m", r"north1m"),
    "quality": (r"osgrdind", r"gridind"),
    "district": (r"oslaua", r"lad\d\dcd", r"laua"),
    "ward": (r"osward", r"wd\d\dcd", r"ward"),
}


def read_postcode_directory(path: Path | str) -> pd.DataFrame:
    """Read a postcode directory as published: the ONS Postcode Directory (ONSPD) or OS
    Code-Point Open.

    Parameters
    ----------
    path
        - ONSPD: its CSV (``ONSPD_<MON>_<YEAR>_UK.csv`` in ``Data/``, or a per-area file from
          ``Data/multi_csv/``), with a header row; postcodes without a grid reference
          (``osgrdind`` 9) are left out; terminated postcodes are kept (an older record can
          still name one).
        - Code-Point Open: one of its header-less CSV files (``Data/CSV/n.csv``), a folder of
          them, or the downloaded zip; a CSV with the long header (``Postcode,
          Positional_quality_indicator,Eastings,...``) is read too.
        ``.csv``, ``.csv.gz``, ``.zip`` or a directory.

    Returns
    -------
    pandas.DataFrame
        :data:`TABLE_COLUMNS`, indexed by the postcode without spaces (upper case); a postcode
        listed twice keeps its first row.

    Raises
    ------
    ImportFileError
        Neither layout, or no postcode with coordinates.
    """
    p = Path(path)
    frames = [_read_one(name, text) for name, text in _texts(p)]
    if not frames:
        msg = f"`--postcodes` {str(p)!r} holds no .csv file; pass an ONSPD or Code-Point Open CSV."
        raise ImportFileError(msg)
    table = pd.concat(frames, ignore_index=True)
    table["postcode"] = [normalise_postcode(v) for v in table["postcode"]]
    table = table[table["postcode"].notna()]
    for col in ("easting", "northing"):
        table[col] = pd.to_numeric(table[col], errors="coerce")
    located = table["easting"].notna() & table["northing"].notna()
    located &= (table["easting"] > 0) & (table["northing"] > 0)
    table = table[located]
    if table.empty:
        msg = (
            f"`--postcodes` {str(p)!r} has no postcode with coordinates; pass the ONSPD CSV or "
            "Code-Point Open's Data/CSV files."
        )
        raise ImportFileError(msg)
    table = table.assign(key=table["postcode"].str.replace(" ", "", regex=False))
    table = table.drop_duplicates("key").set_index("key")
    for col in ("quality", "district", "ward"):
        table[col] = table[col].fillna("").astype(str).replace("", None)
    return table[list(TABLE_COLUMNS)]


def write_postcode_table(table: pd.DataFrame, path: Path | str) -> Path:
    """Save a postcode table as CSV (gzip when ``path`` ends ``.gz``) in the layout of the
    bundled ``postcodes/`` file, which :func:`geosafe.datasets.postcodes` reads."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame = table[list(TABLE_COLUMNS)].copy()
    for col in ("easting", "northing"):
        frame[col] = frame[col].round().astype("int64")
    frame.to_csv(out, index=False)
    return out


def _texts(p: Path) -> Iterator[tuple[str, str]]:
    """``(name, text)`` of every CSV in a file, folder or zip (Code-Point Open's column
    header file and ONSPD's documents skipped)."""
    import gzip

    def wanted(name: str) -> bool:
        low = Path(name).name.lower()
        return low.endswith((".csv", ".csv.gz")) and "header" not in low

    def decode(data: bytes) -> str:
        return data.decode("utf-8-sig", errors="replace")

    if p.is_dir():
        for f in sorted(p.rglob("*")):
            if f.is_file() and wanted(f.name):
                yield from _texts(f)
    elif p.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(p) as zf:
                for name in sorted(zf.namelist()):
                    if wanted(name) and "/doc" not in f"/{name.lower()}":
                        yield name, decode(zf.read(name))
        except zipfile.BadZipFile as exc:
            msg = f"`--postcodes` {str(p)!r} is not a readable zip ({exc}); download it again."
            raise ImportFileError(msg) from exc
    elif p.is_file():
        data = p.read_bytes()
        yield p.name, decode(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    else:
        msg = f"`--postcodes` {str(p)!r} does not exist; check the path."
        raise ImportFileError(msg)


def _read_one(name: str, text: str) -> pd.DataFrame:
    """One CSV of either layout as ``postcode, quality, easting, northing, district, ward``."""
    first = next(csv.reader(io.StringIO(text[:65536])), [])
    lower = [c.strip().lower() for c in first]
    if any(c in ("pcd", "pcds", "pcd7") for c in lower):
        return _onspd(name, text, lower)
    if [c.upper() for c in lower] == list(_CODEPOINT) or set(_CODEPOINT_LONG) <= set(lower):
        header = [_CODEPOINT_LONG.get(c, c.upper()) for c in lower]
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, header=0)
        df.columns = header
    elif len(first) == len(_CODEPOINT) and normalise_postcode(first[0]) is not None:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, header=None)
        df.columns = list(_CODEPOINT)
    else:
        msg = (
            f"`--postcodes` {name!r} is neither an ONSPD CSV (a header with pcds, oseast1m, "
            "osnrth1m) nor a Code-Point Open CSV (ten columns: postcode, quality, easting, "
            f"northing, ...); its first row is {first[:4]!r}."
        )
        raise ImportFileError(msg)
    return df[list(_CODEPOINT_TO_TABLE)].rename(columns=_CODEPOINT_TO_TABLE)


def _onspd(name: str, text: str, lower: list[str]) -> pd.DataFrame:
    chosen: dict[str, str] = {}
    for target, patterns in _ONSPD.items():
        for pattern in patterns:
            hit = next((c for c in lower if re.fullmatch(pattern, c)), None)
            if hit is not None:
                chosen[target] = hit
                break
    missing = [t for t in ("postcode", "easting", "northing") if t not in chosen]
    if missing:
        msg = (
            f"`--postcodes` {name!r} looks like an ONSPD CSV but has no column for "
            f"{', '.join(missing)} (expected e.g. pcds, oseast1m, osnrth1m)."
        )
        raise ImportFileError(msg)
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    df.columns = [c.strip().lower() for c in df.columns]
    out = pd.DataFrame({t: df[c] for t, c in chosen.items()})
    if "quality" in out:  # 9: no grid reference (ONSPD puts these at a dummy position)
        out = out[out["quality"].str.strip() != "9"]
    for col in TABLE_COLUMNS:
        if col not in out:
            out[col] = ""
    return out[list(TABLE_COLUMNS)]
