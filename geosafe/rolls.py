"""School rolls: the aggregated home postcodes of a school's pupils (postcodes only, no names).

A school uploads a CSV with a ``postcode`` column (one row per pupil) or ``postcode`` and
``pupils`` columns (one row per postcode with its pupil count). Any other column (names,
dates of birth, year groups...) is refused: a roll holds nothing but postcodes and counts.
Postcodes are normalised and validated against Code-Point Open
(:mod:`geosafe.geocode.postcodes`); malformed or unknown ones are counted and reported, not
fatal, and are not stored. What is stored is the roll aggregated to ``(postcode, pupils)``,
one row per distinct postcode, sorted, in the incident store itself (table ``school_rolls``,
one row per school, replaced in one transaction): a SQLite store's file or the PostGIS
database, so every worker on every machine sees the same rolls. On PostGIS the table is
readable by the owner and analyst roles (the service stores uploads), never by
``geosafe_reader``. Roll files of the earlier layout (``<db>.rolls/<URN>.csv`` beside the
store, or ``GEOSAFE_ROLLS_DIR``) are moved into the store the first time it is used, each
file then renamed ``<URN>.csv.migrated``.

The rolls are origins of the school's journey corridors (:mod:`geosafe.publish.corridors`): with a
roll, the corridor pupil counts describe the whole school rather than only its Fair Access
Panel referrals, so stretches used by 10 or more pupils can be published to the school.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import sqlite3
import uuid
from collections.abc import Hashable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from . import datasets
from ._errors import NotFoundError, ValidationError
from ._lazy import LazyModule
from .settings import RollSettings, beside_store

if TYPE_CHECKING:
    import pandas as pd
else:  # the server reads the rolls' state on every corridors request, without pandas
    pd = LazyModule("pandas")

log = logging.getLogger(__name__)

__all__ = [
    "ALLOWED_COLUMNS",
    "RollEntry",
    "RollSettings",
    "RollSummary",
    "audit_roll",
    "delete_roll",
    "list_rolls",
    "load_roll",
    "read_roll",
    "roll_path",
    "roll_postcodes",
    "roll_state",
    "rolls_dir",
    "rolls_state",
    "save_roll",
]

#: The only columns a roll file may have (case and surrounding spaces ignored).
ALLOWED_COLUMNS: Final = ("postcode", "pupils")
#: Largest pupil count accepted on one row (a whole large secondary school).
MAX_PUPILS_PER_ROW: Final = 5000
_URN_RE: Final = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class RollSummary:
    """What :func:`save_roll` stored.

    Attributes
    ----------
    school_urn
        The school.
    path
        Where the roll is stored: ``<store>#school_rolls/<URN>`` (no password).
    source
        Name of the uploaded file.
    file_sha256
        SHA-256 of the uploaded bytes.
    rows
        Data rows read.
    postcodes
        Distinct valid postcodes stored.
    pupils
        Pupils stored (sum over the valid postcodes).
    unknown
        Rows not stored: postcode malformed, not in Code-Point Open, or blank.
    reasons
        Those rows by reason (``postcode_malformed``, ``postcode_unknown``,
        ``postcode_missing``).
    """

    school_urn: str
    path: str
    source: str
    file_sha256: str
    rows: int
    postcodes: int
    pupils: int
    unknown: int
    reasons: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable summary (no postcodes)."""
        out = asdict(self)
        out["path"] = str(self.path)
        return out


@dataclass(frozen=True)
class RollEntry:
    """One stored roll (:func:`list_rolls`)."""

    school_urn: str
    path: str
    postcodes: int
    pupils: int
    modified: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable row."""
        return {**asdict(self), "path": str(self.path)}


# -- where ----------------------------------------------------------------------------------


def rolls_dir(db: Path | str, *, settings: RollSettings | None = None) -> Path:
    """The folder holding the rolls of the store at ``db``: ``settings.rolls_dir``
    (:class:`~geosafe.settings.RollSettings`, default from ``GEOSAFE_ROLLS_DIR``) if set,
    else ``<db>.rolls`` beside the store."""
    override = (settings or RollSettings()).rolls_dir
    if override is not None:
        return Path(override)
    return beside_store(db, ".rolls")


def _check_urn(urn: object) -> str:
    text = str(urn).strip()
    if not _URN_RE.match(text):
        msg = f"school URN {urn!r} is not a URN; give the school's 6-digit DfE URN."
        raise ValidationError(msg)
    return text


def roll_path(db: Path | str, urn: str) -> Path:
    """The roll file of school ``urn`` in the earlier layout (``<rolls_dir>/<URN>.csv``),
    moved into the store when it is first used."""
    return rolls_dir(db) / f"{_check_urn(urn)}.csv"


_TABLE: Final = (
    "CREATE TABLE IF NOT EXISTS school_rolls (urn TEXT PRIMARY KEY, roll TEXT NOT NULL, "
    "source TEXT, file_sha256 TEXT, postcodes INTEGER NOT NULL, pupils INTEGER NOT NULL, "
    "modified TEXT NOT NULL, version TEXT NOT NULL)"
)


class _Rolls:
    """One connection to the store's ``school_rolls`` table (``?`` placeholders)."""

    def __init__(self, db: Path | str) -> None:
        from .settings import is_db_url

        self.db = db
        self.pg = is_db_url(db)
        if self.pg:
            import psycopg

            self.conn: Any = psycopg.connect(str(db), autocommit=True)
            found = self.conn.execute("SELECT to_regclass('school_rolls')").fetchone()
            if found is None or found[0] is None:
                self.conn.close()
                msg = (
                    "the store has no `school_rolls` table (schema 5); open it once as its "
                    "owner (`geosafe import`, `geosafe serve`) to migrate it."
                )
                raise ValidationError(msg)
        else:
            Path(db).parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(db, timeout=60.0, isolation_level=None)
            if not self.run("SELECT 1 FROM sqlite_master WHERE name = 'school_rolls'").fetchone():
                self.run(_TABLE)
        self._migrate_files()

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s") if self.pg else sql, params)

    def close(self) -> None:
        self.conn.close()

    def tx(self) -> Any:
        if self.pg:
            return self.conn.transaction()
        return _SqliteTx(self.conn)

    def put(self, urn: str, roll: pd.DataFrame, source: str, sha: str) -> None:
        text = roll[["postcode", "pupils"]].to_csv(index=False, lineterminator="\n")
        now = pd.Timestamp.now(tz="UTC").isoformat().replace("+00:00", "Z")
        with self.tx():
            self.run("DELETE FROM school_rolls WHERE urn = ?", (urn,))
            self.run(
                "INSERT INTO school_rolls (urn, roll, source, file_sha256, postcodes, pupils, "
                "modified, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    urn,
                    text,
                    source,
                    sha,
                    len(roll),
                    int(roll["pupils"].sum()),
                    now,
                    uuid.uuid4().hex,
                ),
            )

    def _migrate_files(self) -> None:
        """Move roll files of the earlier layout into the table (a school's stored roll wins
        over its file), each file then renamed ``.migrated``."""
        folder = rolls_dir(self.db)
        if not folder.is_dir():
            return
        for path in sorted(folder.glob("*.csv")):
            if not _URN_RE.match(path.stem):
                continue
            have = self.run("SELECT 1 FROM school_rolls WHERE urn = ?", (path.stem,)).fetchone()
            if not have:
                roll = pd.read_csv(path, dtype={"postcode": "str", "pupils": "int64"})
                sha = hashlib.sha256(path.read_bytes()).hexdigest()
                self.put(path.stem, roll, f"{path.name} (migrated)", sha)
            path.rename(path.with_name(path.name + ".migrated"))
            log.warning("school roll %s moved into the store (file renamed .migrated)", path)


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _open(db: Path | str) -> _Rolls:
    return _Rolls(db)


def _where(db: Path | str, urn: str) -> str:
    from .store.postgis import redact

    return f"{redact(str(db))}#school_rolls/{urn}"


def roll_state(db: Path | str | None, urn: str) -> Hashable:
    """A token that changes whenever school ``urn``'s roll is uploaded or deleted (for cache
    keys): the stored roll's version, or ``None`` without a roll."""
    if db is None:
        return None
    r = _open(db)
    try:
        row = r.run("SELECT version FROM school_rolls WHERE urn = ?", (_check_urn(urn),)).fetchone()
    finally:
        r.close()
    return row[0] if row else None


def rolls_state(db: Path | str | None) -> Hashable:
    """A token that changes whenever any roll of the store at ``db`` changes."""
    if db is None:
        return None
    r = _open(db)
    try:
        rows = r.run("SELECT urn, version FROM school_rolls ORDER BY urn").fetchall()
    finally:
        r.close()
    return tuple((str(u), str(v)) for u, v in rows)


# -- read -----------------------------------------------------------------------------------


def _read_bytes(source: str | Path | bytes | BinaryIO) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, "upload"
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            return path.read_bytes(), str(path)
        except OSError as exc:
            msg = f"cannot read roll file {str(path)!r}: {exc.strerror}; check the path."
            raise ValidationError(msg) from None
    return source.read(), str(getattr(source, "name", "upload"))


def read_roll(
    source: str | Path | bytes | BinaryIO,
    *,
    name: str | None = None,
    data_dir: Path | str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read and aggregate a roll file without storing it.

    Parameters
    ----------
    source
        A CSV path, its bytes, or a binary file object (UTF-8, a BOM accepted).
    name
        Name of the file for messages (default: the path).
    data_dir
        Bundled data directory (Code-Point Open lookup).

    Returns
    -------
    tuple
        ``(roll, counts)``: the roll as a DataFrame ``postcode`` (normalised, e.g.
        ``"N22 7AY"``), ``pupils`` (int), one row per distinct valid postcode, sorted; and
        ``rows``, ``unknown``, ``reasons``, ``file_sha256``, ``source``.

    Raises
    ------
    ValidationError
        When the file is not UTF-8 CSV, has no ``postcode`` column, has any column other
        than ``postcode`` and ``pupils``, or a ``pupils`` value is not a whole number from 0
        to :data:`MAX_PUPILS_PER_ROW`.
    """
    raw, label = _read_bytes(source)
    label = name or label
    sha = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        msg = f"roll file {label!r} is not UTF-8 text; save it as CSV (UTF-8)."
        raise ValidationError(msg) from None
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (ValueError, csv.Error) as exc:  # pandas' ParserError, EmptyDataError
        msg = f"roll file {label!r} is not a readable CSV ({exc}); save it as CSV with a header."
        raise ValidationError(msg) from None
    cols = {str(c).strip().lower(): c for c in df.columns}
    extra = [c for c in df.columns if str(c).strip().lower() not in ALLOWED_COLUMNS]
    if extra:
        msg = (
            f"roll file {label!r} has column(s) {extra!r}: a roll holds home postcodes only "
            "(`postcode`, optionally `pupils`); remove names and every other column, then "
            "upload again."
        )
        raise ValidationError(msg)
    if "postcode" not in cols:
        msg = (
            f"roll file {label!r} has columns {list(df.columns)!r}; it needs a `postcode` "
            "column (one home postcode per pupil, or per postcode with a `pupils` count)."
        )
        raise ValidationError(msg)
    postcodes = df[cols["postcode"]].astype(str)
    if "pupils" in cols:
        pupils = _pupil_counts(df[cols["pupils"]], label)
    else:
        pupils = pd.Series(1, index=df.index, dtype="int64")
    from .geocode.postcodes import lookup_postcodes

    found = lookup_postcodes(postcodes.to_numpy(), data_dir=data_dir)
    blank = postcodes.str.strip() == ""
    reason = found["reason_code"].where(~blank.to_numpy(), "postcode_missing")
    ok = reason.isna().to_numpy() & found["postcode"].notna().to_numpy()
    bad = reason[~ok].fillna("postcode_missing")
    good = pd.DataFrame(
        {"postcode": found["postcode"][ok].to_numpy(), "pupils": pupils[ok].to_numpy()}
    )
    roll = (
        good.groupby("postcode", as_index=False)["pupils"]
        .sum()
        .query("pupils > 0")
        .sort_values("postcode")
        .reset_index(drop=True)
    )
    roll["pupils"] = roll["pupils"].astype("int64")
    counts = {
        "rows": len(df),
        "unknown": int((~ok).sum()),
        "reasons": {str(k): int(v) for k, v in bad.value_counts().sort_index().items()},
        "file_sha256": sha,
        "source": label,
    }
    return roll, counts


def _pupil_counts(values: pd.Series, label: str) -> pd.Series:
    text = values.astype(str).str.strip()
    num = pd.to_numeric(text.where(text != "", "1"), errors="coerce")
    bad = num.isna() | (num != num.round()) | (num < 0) | (num > MAX_PUPILS_PER_ROW)
    if bad.any():
        i = int(bad.to_numpy().argmax())
        msg = (
            f"roll file {label!r}, data row {i + 1}: `pupils` {values.iloc[i]!r} is not a "
            f"whole number from 0 to {MAX_PUPILS_PER_ROW}; give the pupils living at that "
            "postcode (blank = 1)."
        )
        raise ValidationError(msg)
    return num.astype("int64")


# -- store ----------------------------------------------------------------------------------


def save_roll(
    db: Path | str,
    urn: str,
    path: str | Path | bytes | BinaryIO,
    *,
    name: str | None = None,
    data_dir: Path | str | None = None,
) -> RollSummary:
    """Read, validate and aggregate a roll file and store it for school ``urn`` (replacing
    its previous roll in one transaction, so readers never see half a roll).

    Parameters
    ----------
    db
        The incident store the roll is kept in (a SQLite file or a PostGIS URL).
    urn
        The school's 6-digit URN (a school of the bundled list).
    path
        The roll CSV: a path, its bytes or a binary file object (see :func:`read_roll`).
    name
        Name of the file for messages and the summary.
    data_dir
        Bundled data directory (school list, Code-Point Open).

    Raises
    ------
    ValidationError
        Malformed URN or file (:func:`read_roll`).
    NotFoundError
        The URN is not a school of the bundled list.
    """
    urn = _check_urn(urn)
    schools = datasets.schools(data_dir)
    if urn not in set(schools["urn"].astype(str)):
        msg = (
            f"school URN {urn!r} is not in the bundled school list; pass a current DfE URN "
            "(see data/schools/schools.csv)."
        )
        raise NotFoundError(msg)
    roll, counts = read_roll(path, name=name, data_dir=data_dir)
    r = _open(db)
    try:
        r.put(urn, roll, counts["source"], counts["file_sha256"])
    finally:
        r.close()
    return RollSummary(
        school_urn=urn,
        path=_where(db, urn),
        source=counts["source"],
        file_sha256=counts["file_sha256"],
        rows=counts["rows"],
        postcodes=len(roll),
        pupils=int(roll["pupils"].sum()),
        unknown=counts["unknown"],
        reasons=counts["reasons"],
    )


def load_roll(db: Path | str | None, urn: str) -> pd.DataFrame | None:
    """School ``urn``'s stored roll (``postcode``, ``pupils``), or ``None`` without one."""
    if db is None:
        return None
    r = _open(db)
    try:
        row = r.run("SELECT roll FROM school_rolls WHERE urn = ?", (_check_urn(urn),)).fetchone()
    finally:
        r.close()
    if row is None:
        return None
    df = pd.read_csv(io.StringIO(row[0]), dtype={"postcode": "str", "pupils": "int64"})
    return df[["postcode", "pupils"]]


def list_rolls(db: Path | str) -> list[RollEntry]:
    """Every stored roll of the store at ``db``, by URN."""
    r = _open(db)
    try:
        rows = r.run(
            "SELECT urn, postcodes, pupils, modified FROM school_rolls ORDER BY urn"
        ).fetchall()
    finally:
        r.close()
    return [RollEntry(str(u), _where(db, str(u)), int(n), int(p), str(m)) for u, n, p, m in rows]


def delete_roll(db: Path | str, urn: str) -> bool:
    """Remove school ``urn``'s roll; ``True`` when there was one."""
    r = _open(db)
    try:
        with r.tx():
            n = r.run("DELETE FROM school_rolls WHERE urn = ?", (_check_urn(urn),)).rowcount
    finally:
        r.close()
    return bool(n)


def roll_postcodes(db: Path | str | None, urn: str) -> list[str]:
    """School ``urn``'s roll as one postcode per pupil (empty without a roll), the form
    :func:`geosafe.network.journeys.origins_from_postcodes` groups and counts."""
    df = load_roll(db, urn)
    if df is None:
        return []
    return [pc for pc, n in zip(df["postcode"], df["pupils"], strict=True) for _ in range(int(n))]


# -- audit ----------------------------------------------------------------------------------


def audit_roll(
    db: Path | str,
    urn: str,
    summary: RollSummary | None = None,
    *,
    who: tuple[str | None, str] = (None, "operator"),
    endpoint: str | None = None,
) -> int:
    """Audit a roll upload (``summary`` given) as an import
    (:func:`geosafe.access.audit.record_import`: source ``roll``, the file's name and SHA-256, rows
    read, rows not stored as ``quarantined``, pupils stored as ``records``), or the deletion
    of school ``urn``'s roll (``summary`` None) as an ``erase``. ``who`` is the token's
    label (``None``: the command-line user) and role. Returns the audit row id."""
    from .access.audit import AuditLog, cli_actor, record_import
    from .settings import StoreSettings

    label, role = who
    urn = _check_urn(urn)
    if summary is not None:
        view = SimpleNamespace(
            source="roll",
            path=summary.source,
            file_sha256=summary.file_sha256,
            batch_id=f"roll:{urn}",
            rows=summary.rows,
            quarantined=summary.unknown,
            accepted=summary.pupils,
        )
        return record_import(
            db, view, label=label, role=role, endpoint=endpoint or "geosafe roll upload"
        )
    return AuditLog(StoreSettings(db=db).audit_path()).record(
        "erase",
        label=label or cli_actor(),
        role=role,
        endpoint=endpoint or "geosafe roll delete",
        params={"source": "roll", "school_urn": urn},
    )
