"""Published referral aggregates: what school reports and journey corridors read of the Fair
Access Panel referrals outside the analyst role, over the reader connection. Never a postcode.

One table on both backends, ``published_referrals`` (PostGIS migration 0009, whose ``CREATE
TABLE`` a SQLite store runs too), per school and

- ``home`` / an H3 resolution-8 cell: the referrals whose home postcode's centroid lies in it
  (``unknown``: a postcode not in the area's list). Resolution 8 is the finest grain anything
  is published at (``disclosure.MAX_PUBLIC_H3_RESOLUTION``): a journey from the cell's centre
  instead of the postcode's changes only its first few hundred metres, where fewer than 10
  pupils share a street and nothing is shown anyway;
- ``homes`` / ``*``: every referral with a home postcode;
- ``flag`` / a flag: referrals with the flag Y; ``unrecorded`` / a flag: with it not recorded
  (the need matrix of :func:`geosafe.risk.report.need_matrix`);
- ``referrals`` / ``*``: every referral;

each count published from its own exact total (1-9 suppressed: ``count`` NULL; others rounded
to 5, halves up; 0 kept). It is rewritten whole (FAP referrals are a few thousand at most) in
the same transaction as every import, rollback, erasure and purge that touches a referral
(:func:`geosafe.store.published.write` and ``write_sqlite`` call :func:`write`).

:func:`home_weights` turns the published homes into journey origins: each shown cell weighs
its published count, and what the published total leaves over is shared between the
suppressed cells (at least 1 each). That is a function of published numbers only, so moving a
home within its cell, or a hidden count within 1-9 that leaves the rounded total as it was,
changes nothing a school or neighbourhood sees (``tests/journeys/test_published_origins.py``).

The homes are placed with the postcode list of the configured data folder
(:func:`configured_data_dir`: ``GEOSAFE_DATA_DIR``, else the area of ``GEOSAFE_AREA`` /
``--area``, else the bundled data: the rule the service follows for its own folder), and the
table ``published_referrals_source`` (migration 0010) records which list it was (the folder,
the list's SHA-256 and its number of postcodes). A reader given its own data folder
(:func:`read` with ``data_dir``) warns when the list differs: an importer and a service
pointed at different areas would otherwise disagree in silence.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ..incident import FLAG_NAMES
from ._sqlite_rows import DETAIL_SQL
from .published_schema import migration_tables

if TYPE_CHECKING:  # pandas comes in when there are referrals: an import stays without it
    import pandas as pd

__all__ = [
    "FAP_FLAGS",
    "configured_data_dir",
    "ensure_sqlite",
    "exact_counts",
    "flag_counts",
    "home_weights",
    "postcode_list",
    "published_value",
    "read",
    "rows_sql",
    "source",
    "write",
]

log = logging.getLogger(__name__)

#: The flags of a FAP referral (the need matrix's rows).
FAP_FLAGS: Final = FLAG_NAMES[FLAG_NAMES.index("cse") :]
#: The published grain of the referrals' homes.
HOME_RESOLUTION: Final = 8
UNKNOWN: Final = "unknown"
_DDL: Final = migration_tables(
    "0009_published_referrals.sql", "published_referrals", "incidents_fap"
)
_SOURCE_DDL: Final = migration_tables(
    "0010_published_referrals_source.sql", "published_referrals_source"
)
_VISIBLE: Final = "batch_id IN (SELECT batch_id FROM batches WHERE status = 'committed')"


def published_value(n: int) -> int | None:
    """``n`` as published: 0, ``None`` for 1-9, else the nearest multiple of 5 (halves up),
    the rule of :mod:`geosafe.store.published`'s SQL and ``disclosure.round_count``."""
    if n == 0:
        return 0
    return None if n < 10 else ((2 * n + 5) // 10) * 5


def flag_counts(
    flags: Iterable[Sequence[str] | None], details: Iterable[Any]
) -> tuple[dict[str, int], dict[str, int]]:
    """Per FAP flag, the referrals with it Y and with it not recorded (blank: never 0; a
    referral imported before flags had three states counts as not recorded unless Y)."""
    yes = dict.fromkeys(FAP_FLAGS, 0)
    unknown = dict.fromkeys(FAP_FLAGS, 0)
    for f_set, detail in zip(flags, details, strict=True):
        have = tuple(f_set or ())
        for f in have:
            if f in yes:
                yes[f] += 1
        states = (detail or {}).get("flag_states") or {} if isinstance(detail, dict) else {}
        for f in unknown:
            if states.get(f, "Y" if f in have else "U") == "U":
                unknown[f] += 1
    return yes, unknown


def configured_data_dir(data_dir: Path | str | None = None) -> Path:
    """The data folder whose postcode list places the referrals' homes: ``data_dir`` when
    given, else the configured one (:class:`geosafe.settings.DataSettings`:
    ``GEOSAFE_DATA_DIR``, else ``GEOSAFE_AREA`` / ``--area``, else the bundled data), the
    rule the service's ``ServiceSettings.data_dir`` follows too."""
    if data_dir is not None:
        return Path(data_dir)
    from ..settings import DataSettings

    return DataSettings().data_dir


@functools.cache
def _postcode_list(data_dir: Path) -> tuple[str, int]:
    import pandas as pd

    from .. import datasets

    table = datasets.postcodes(data_dir)
    hashed = pd.util.hash_pandas_object(table[["easting", "northing"]], index=True)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest(), len(table)


def postcode_list(data_dir: Path | str | None = None) -> tuple[str, int]:
    """Which postcode list a data folder holds: the SHA-256 of its postcodes and their
    centroids, and its number of postcodes (:func:`configured_data_dir` when ``None``)."""
    return _postcode_list(configured_data_dir(data_dir).resolve())


def _home_cells(postcodes: Sequence[str], data_dir: Path) -> list[str]:
    """The H3 resolution-8 cell of each postcode's centroid (:data:`UNKNOWN` when the
    postcode list of ``data_dir`` does not hold it)."""
    import h3
    from pyproj import Transformer

    from .. import datasets

    table = datasets.postcodes(data_dir)
    keys = ["".join(str(p).split()).upper() for p in postcodes]
    known = [k for k in set(keys) if k in table.index]
    cells = dict.fromkeys(set(keys), UNKNOWN)
    if known:
        rows = table.loc[known]
        lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(
            rows["easting"].to_numpy(dtype=float), rows["northing"].to_numpy(dtype=float)
        )
        for k, x, y in zip(known, lon, lat, strict=True):
            cells[k] = str(h3.latlng_to_cell(y, x, HOME_RESOLUTION))
    return [cells[k] for k in keys]


def exact_counts(rows: pd.DataFrame, data_dir: Path | str | None = None) -> pd.DataFrame:
    """The exact counts (``school_urn``, ``kind``, ``key``, ``n``) of FAP referral rows
    (``school_urn``, ``flags`` text ``a;b``, ``detail`` JSON text); homes placed with the
    postcode list of ``data_dir`` (:func:`configured_data_dir` when ``None``)."""
    import pandas as pd

    folder = configured_data_dir(data_dir)

    out: list[tuple[str, str, str, int]] = []
    rows = rows[rows["school_urn"].notna() & (rows["school_urn"].astype(str) != "")]
    for urn, mine in rows.groupby(rows["school_urn"].astype(str), sort=True):
        flags = [tuple(f.split(";")) if f else () for f in mine["flags"].fillna("")]
        details = [json.loads(d) if isinstance(d, str) and d else {} for d in mine["detail"]]
        yes, unknown = flag_counts(flags, details)
        out += [(urn, "flag", f, n) for f, n in yes.items()]
        out += [(urn, "unrecorded", f, n) for f, n in unknown.items()]
        out.append((urn, "referrals", "*", len(mine)))
        homes = [str(d["home_postcode"]) for d in details if d.get("home_postcode")]
        out.append((urn, "homes", "*", len(homes)))
        out += [(urn, "home", c, n) for c, n in sorted(Counter(_home_cells(homes, folder)).items())]
    return pd.DataFrame(out, columns=["school_urn", "kind", "key", "n"])


def rows_sql(*, pg: bool) -> str:
    """The query of every current committed referral (``school_urn``, ``flags``, ``detail``):
    through the ``incidents_fap`` partial index, not a scan of every incident."""
    detail = "detail" if pg else DETAIL_SQL
    return (
        f"SELECT school_urn, flags, {detail} FROM incidents WHERE source = 'fap' "
        f"AND current = 1 AND {_VISIBLE}"
    )


def write(c: Any, *, pg: bool, data_dir: Path | str | None = None) -> None:
    """Rewrite ``published_referrals`` from every current committed FAP referral (in the
    caller's transaction; ``c`` a psycopg connection with ``pg``, else sqlite3), the homes
    placed with the postcode list of ``data_dir`` (:func:`configured_data_dir` when
    ``None``), and record that list in ``published_referrals_source``."""
    found = c.execute(rows_sql(pg=pg)).fetchall()
    c.execute("DELETE FROM published_referrals")
    c.execute("DELETE FROM published_referrals_source")
    if not found:
        return
    import pandas as pd

    folder = configured_data_dir(data_dir)
    exact = exact_counts(pd.DataFrame(found, columns=["school_urn", "flags", "detail"]), folder)
    values = [
        (urn, kind, key, published_value(int(n)), published_value(int(n)) is None)
        for urn, kind, key, n in exact.itertuples(index=False)
    ]
    digest, size = postcode_list(folder)
    used = (str(folder.resolve()), digest, size)
    sql = "INSERT INTO published_referrals VALUES (?, ?, ?, ?, ?)"
    mark = "INSERT INTO published_referrals_source VALUES (?, ?, ?)"
    if pg:
        c.cursor().executemany(sql.replace("?", "%s"), values)
        c.execute(mark.replace("?", "%s"), used)
    else:
        c.executemany(sql, values)
        c.execute(mark, used)


def ensure_sqlite(conn: Any) -> None:
    """Create (and fill) the tables in a SQLite store made before them (one transaction; an
    up-to-date store writes nothing). A store that has the referrals but not the record of
    their postcode list gets the record's table, empty until the next rewrite."""
    have = {
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
            "('published_referrals', 'published_referrals_source')"
        )
    }
    if len(have) == 2:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_SOURCE_DDL[0])
        if "published_referrals" not in have:
            for statement in _DDL:  # the table and the referrals' own index
                conn.execute(statement)
            write(conn, pg=False)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def source(reader: Any) -> tuple[str, str, int] | None:
    """Which postcode list placed the published homes (``data_dir``, ``postcodes_sha256``,
    ``postcodes``), over ``reader``; ``None`` when no referral is published or the table
    was written before the record was kept."""
    if not reader.has_table("published_referrals_source"):
        return None
    rows = reader.query(
        "SELECT data_dir, postcodes_sha256, postcodes FROM published_referrals_source"
    )
    return (str(rows[0][0]), str(rows[0][1]), int(rows[0][2])) if rows else None


_WARNED: set[tuple[str, str, str]] = set()


def _check_source(reader: Any, data_dir: Path | str) -> None:
    """Warn (once per reader and list pair) when the published homes were placed with another postcode
    list than the one of ``data_dir``."""
    used = source(reader)
    if used is None:
        return
    digest, size = postcode_list(data_dir)
    seen = (str(getattr(reader, "target", id(reader))), used[1], digest)
    if used[1] == digest or seen in _WARNED:
        return
    _WARNED.add(seen)
    log.warning(
        "the referrals' homes were placed with the postcode list of %r (%d postcodes), not "
        "the one of this data folder %r (%d postcodes): journeys start from homes placed for "
        "another area; import the referrals again with GEOSAFE_DATA_DIR (or --area) set to "
        "this folder, or point this service at that one",
        used[0],
        used[2],
        str(data_dir),
        size,
    )


def read(reader: Any, school_urn: str, data_dir: Path | str | None = None) -> pd.DataFrame:
    """One school's published referral counts (``kind``, ``key``, ``count`` float, NaN when
    suppressed, ``suppressed``) over ``reader`` (the service's reader connection). With
    ``data_dir`` (the reader's own data folder), a warning when the homes were placed with
    another postcode list."""
    import pandas as pd

    if data_dir is not None:
        _check_source(reader, data_dir)

    cols = ["kind", "key", "count", "suppressed"]
    rows = (
        reader.query(
            f"SELECT {', '.join(cols)} FROM published_referrals WHERE school_urn = ?",
            [str(school_urn)],
        )
        if reader.has_table("published_referrals")
        else []
    )
    frame = pd.DataFrame(rows, columns=cols)
    frame["count"] = pd.to_numeric(frame["count"], errors="coerce").astype(float)
    frame["suppressed"] = frame["suppressed"].astype(bool)
    return frame


def home_weights(published: pd.DataFrame) -> dict[str, int]:
    """Journey origins from a school's published referrals (:func:`read`): per home cell (or
    :data:`UNKNOWN`) the pupils it stands for. A shown cell weighs its published count; the
    published total of homes less the shown cells is shared between the suppressed ones, in
    cell order, at least 1 each (the total suppressed too: 1 each). Published numbers only."""
    import pandas as pd

    homes = published[published["kind"] == "home"].sort_values("key")
    total = published[(published["kind"] == "homes") & (published["key"] == "*")]["count"]
    shown = homes[~homes["suppressed"]]
    weights = {str(k): int(v) for k, v in zip(shown["key"], shown["count"], strict=True) if v > 0}
    hidden = [str(k) for k in homes[homes["suppressed"]]["key"]]
    if not hidden:
        return weights
    known = len(total) and not pd.isna(total.iloc[0])
    left = int(total.iloc[0]) - sum(weights.values()) if known else len(hidden)
    base, extra = divmod(max(left, len(hidden)), len(hidden))
    for i, key in enumerate(hidden):
        weights[key] = base + (1 if i < extra else 0)
    return weights
