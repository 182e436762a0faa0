"""One reader per import format (DIR, ASIF, CRIS, FAP, police.uk), their documented columns,
and the templates (``geosafe template SOURCE``).

Modules are re-exported by name: ``sources.dir``, ``sources.asif``, ``sources.cris``,
``sources.fap``, ``sources.police_uk``.
"""

from __future__ import annotations

import csv
import importlib
import io
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Final

from .._errors import ValidationError
from ._read import Column

if TYPE_CHECKING:
    from . import asif as asif
    from . import cris as cris
    from . import dir as dir
    from . import fap as fap
    from . import people as people
    from . import police_uk as police_uk

__all__ = [
    "MODULES",
    "asif",
    "columns",
    "cris",
    "describe",
    "dir",
    "fap",
    "normalise_source",
    "people",
    "police_uk",
    "template_csv",
]

_NAMES: Final = ("dir", "asif", "cris", "fap", "police_uk", "people")


class _Modules(Mapping[str, ModuleType]):
    """Source name -> its reader module, imported on first use (a police.uk import loads
    neither pandas nor the per-row readers)."""

    def __getitem__(self, key: str) -> ModuleType:
        if key not in _NAMES:
            raise KeyError(key)
        return importlib.import_module(f"{__name__}.{key}")

    def __iter__(self) -> Iterator[str]:
        return iter(_NAMES)

    def __len__(self) -> int:
        return len(_NAMES)


MODULES: Final[Mapping[str, ModuleType]] = _Modules()


def __getattr__(name: str) -> ModuleType:
    if name in _NAMES:
        return MODULES[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_TITLES: Final = {
    "dir": "DIR - bus driver incident report",
    "asif": "ASIF - anti-social behaviour incident form",
    "cris": "CRIS - police crime report",
    "fap": "FAP - Fair Access Panel referral",
    "police_uk": "police.uk street-level crime (as published)",
    "people": "People list - young people known to a service (pseudonymous person_ref)",
}


def normalise_source(name: str) -> str:
    """``police-uk`` -> ``police_uk``; raises for an unknown source."""
    key = name.strip().lower().replace("-", "_").replace(".", "_")
    if key not in MODULES:
        msg = f"`source` {name!r} is unknown; use one of dir, asif, cris, fap, police-uk, people."
        raise ValidationError(msg)
    return key


def columns(source: str) -> tuple[Column, ...]:
    """The documented columns of a source, in template order."""
    cols: tuple[Column, ...] = MODULES[normalise_source(source)].COLUMNS
    return cols


def template_csv(source: str) -> str:
    """A CSV with the header and one example row (its ref starts with ``EXAMPLE-``)."""
    cols = columns(source)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([c.name for c in cols])
    writer.writerow(["" if c.optional else c.example for c in cols])  # no person key needed
    return buf.getvalue()


_CONVENTIONS: Final = """\
## Conventions

- Encoding: UTF-8 (a byte-order mark is accepted); Windows-1252 when
  `GEOSAFE_INGEST_ENCODING=cp1252`. Also `.csv.gz` and `.xlsx` (first sheet).
- Every column above must be in the header (values may be blank), except the optional
  `person_ref` and `person_role`. `person_ref` is re-keyed (HMAC-SHA-256) with the person key
  held outside the store (`GEOSAFE_PERSON_KEY_FILE`, a 0600 file, or `GEOSAFE_PERSON_KEY`)
  and never stored as given; a file that names people cannot be imported without that key.
  Other names can be mapped
  with a column map (GEOSAFE_INGEST_COLUMN_MAPS or `geosafe import --column-map FILE.json`,
  `{"Local name": "standard_name"}`). A missing, renamed or duplicated column rejects the whole
  file before anything is written.
- Timestamps: ISO 8601 local UK time (`2025-01-13 15:42`, `2025-01-13T15:42:00`), or the one
  format declared per source in GEOSAFE_INGEST_DATETIME_FORMATS (e.g.
  `{"dir": "%d/%m/%Y %H:%M"}`); nothing is guessed. Times that do not exist or happen twice at the clock changes (Europe/London), Excel serial numbers, dates before
  2000 or in the future are quarantined.
- Flags: `Y`/`N` (also yes/no, true/false, 1/0, any case); blank = unknown.
- `latitude`/`longitude` are WGS84 degrees; `easting`/`northing` British National Grid metres.
  Mixed-up, swapped, (0,0) or out-of-area points are quarantined, never silently fixed. A row
  with no location at all is accepted and counted as *no location*.
- Refs are unique per source: the same ref again with identical values is `ref_duplicate`, with
  other values `ref_conflict` (police.uk: see its own rule).
- Free text may hold newlines and quotes; text starting with `= + - @` is stored as text and
  escaped (a leading `'`) on CSV export.
"""


def describe(source: str) -> str:
    """Markdown documentation of a source's columns, code lists and reason codes."""
    from .._validate import REASON_CODES

    key = normalise_source(source)
    lines = [f"# {_TITLES[key]}", "", (MODULES[key].__doc__ or "").strip(), "", "## Columns", ""]
    lines.append("| column | meaning | example | code list |")
    lines.append("|---|---|---|---|")
    for c in columns(key):
        codes = ", ".join(c.codes) if c.codes else ""
        lines.append(f"| `{c.name}` | {c.description} | `{c.example}` | {codes} |")
    lines += ["", _CONVENTIONS, "## Quarantine reason codes", ""]
    lines += [f"- `{code}`: {text}" for code, text in REASON_CODES.items()]
    return "\n".join(lines) + "\n"
