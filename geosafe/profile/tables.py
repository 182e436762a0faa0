"""The store's tables for the contextual profile, beside ``incidents``, keyed like the
incident row they belong to (``batch_id``, ``row_no``):

``people_links``
    One row per person a record names: ``person_key`` (HMAC-SHA-256 of the ``person_ref``
    under the person key, see :mod:`geosafe.profile.keys`; never the reference as given) and
    ``role`` (victim, suspect, subject, witness or NULL).
``flag_states``
    One row per flag of the record's source: ``flag`` and ``state`` (``Y``, ``N``, or ``U``
    for unknown: the cell was blank). "Not recorded" is therefore never stored as ``N``.
``referral_places``
    Every place a FAP referral's notes name: ``note`` (the note column), ``matched_text``,
    ``place``, ``kind``, ``method``, ``precision_m`` and its point ``x``/``y`` (EPSG:27700).
    Places of concern, not incidents.

Rows follow their incident: a trigger deletes them with it (erasure, rollback, purge, aborted
imports), so ``geosafe erase`` removes a record's person references too; a person's erasure
(``geosafe erase-person``) is the store's ``erase_person``.

Schema version 4 added these tables; :func:`migrate_v3` brings a version-3 store up to date
without losing a flag (a Y flag stays Y; the old store kept N and blank alike, so the others
become unknown), and moves each FAP referral's place out of the incident geometry into
``referral_places``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from ..incident import FLAG_NAMES

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FLAGS_BY_SOURCE",
    "SCHEMA",
    "Links",
    "migrate_v3",
    "split_links",
    "write_links",
]

#: The flags each source records (lower case, ``flag_`` dropped), in template order.
FLAGS_BY_SOURCE: Final[dict[str, tuple[str, ...]]] = {
    "dir": FLAG_NAMES[:2],  # youth, vulnerability
    "cris": (FLAG_NAMES[0], *FLAG_NAMES[2:8]),  # youth, gang ... online
    "fap": FLAG_NAMES[8:],  # the nine referral flags
}

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS people_links (
    batch_id INTEGER NOT NULL,
    row_no INTEGER NOT NULL,
    person_key TEXT NOT NULL,
    role TEXT
);
CREATE INDEX IF NOT EXISTS people_links_row ON people_links(batch_id, row_no);
CREATE INDEX IF NOT EXISTS people_links_person ON people_links(person_key);
CREATE TABLE IF NOT EXISTS flag_states (
    batch_id INTEGER NOT NULL,
    row_no INTEGER NOT NULL,
    flag TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('Y', 'N', 'U'))
);
CREATE INDEX IF NOT EXISTS flag_states_row ON flag_states(batch_id, row_no);
CREATE TABLE IF NOT EXISTS referral_places (
    batch_id INTEGER NOT NULL,
    row_no INTEGER NOT NULL,
    note TEXT,
    matched_text TEXT,
    place TEXT,
    kind TEXT,
    method TEXT,
    precision_m REAL,
    x REAL,
    y REAL
);
CREATE INDEX IF NOT EXISTS referral_places_row ON referral_places(batch_id, row_no);
CREATE TRIGGER IF NOT EXISTS incidents_profile_gc AFTER DELETE ON incidents
WHEN OLD.source != 'police_uk'
BEGIN
    DELETE FROM people_links WHERE batch_id = OLD.batch_id AND row_no = OLD.row_no;
    DELETE FROM flag_states WHERE batch_id = OLD.batch_id AND row_no = OLD.row_no;
    DELETE FROM referral_places WHERE batch_id = OLD.batch_id AND row_no = OLD.row_no;
END;
"""

_MARKERS: Final = ('"_people"', '"flag_states"', '"note_places"')


@dataclass
class Links:
    """Side-table rows of one staged chunk."""

    people: list[tuple[Any, ...]] = field(default_factory=list)
    flags: list[tuple[Any, ...]] = field(default_factory=list)
    places: list[tuple[Any, ...]] = field(default_factory=list)


def split_links(batch_id: int, rows: pd.DataFrame) -> tuple[pd.DataFrame, Links]:
    """Take people, flag states and named places out of staged rows' ``detail``.

    The ``_people`` entry (re-keyed references) leaves ``detail``: it is kept only in
    ``people_links``. Flag states and named places stay in ``detail`` too (the record's own
    view). police.uk rows carry none of them and are passed through untouched.
    """
    links = Links()
    if rows.empty or not rows["source"].ne("police_uk").any():
        return rows, links
    detail = rows["detail"]
    has = detail.fillna("").astype(str).str.contains("|".join(_MARKERS), regex=True)
    if not has.any():
        return rows, links
    new_detail = detail.copy()
    mask = has.to_numpy()
    for idx, text, number in zip(
        rows.index[mask], detail.to_numpy()[mask], rows["row_no"].to_numpy()[mask], strict=True
    ):
        d = json.loads(str(text))
        row_no = int(number)
        for key, role in d.pop("_people", []):
            links.people.append((batch_id, row_no, key, role))
        for flag, state in (d.get("flag_states") or {}).items():
            links.flags.append((batch_id, row_no, flag, state))
        for p in d.get("note_places") or []:
            links.places.append(
                (
                    batch_id,
                    row_no,
                    p.get("column"),
                    p.get("matched_text"),
                    p.get("place"),
                    p.get("kind"),
                    p.get("method"),
                    p.get("precision_m"),
                    p.get("x"),
                    p.get("y"),
                )
            )
        new_detail.at[idx] = json.dumps(d, default=str)
    out = rows.copy()
    out["detail"] = new_detail
    return out, links


def write_links(conn: Any, links: Links) -> None:
    """Insert side-table rows (inside the caller's transaction), on either backend: a
    ``sqlite3`` connection (``?`` placeholders) or a psycopg one (``%s``)."""
    p = "?" if isinstance(conn, sqlite3.Connection) else "%s"
    for table, rows, n in (
        ("people_links", links.people, 4),
        ("flag_states", links.flags, 4),
        ("referral_places", links.places, 10),
    ):
        if rows:
            conn.cursor().executemany(f"INSERT INTO {table} VALUES ({', '.join([p] * n)})", rows)


def _statements(script: str) -> list[str]:
    """The complete SQL statements of a script (a trigger body's ``;`` included)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return out


def migrate_v3(conn: sqlite3.Connection) -> dict[str, int]:
    """Bring a schema-3 store to schema 4 in one transaction; return what was moved.

    Every flag of every stored record gets a state: ``Y`` when the record has it, else ``U``
    (a version-3 store kept N and blank alike, so nothing more is known). A FAP referral's
    location (the first place its notes named) moves to ``referral_places`` and the referral
    loses its incident geometry.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        for stmt in _statements(SCHEMA):
            conn.execute(stmt)  # executescript would commit the open transaction first
        flags_n = 0
        rows = conn.execute(
            "SELECT batch_id, row_no, source, flags FROM incidents WHERE source IN "
            "('dir', 'cris', 'fap')"
        ).fetchall()
        out = []
        for batch_id, row_no, source, flags in rows:
            have = set((flags or "").split(";"))
            for name in FLAGS_BY_SOURCE[source]:
                out.append((batch_id, row_no, name, "Y" if name in have else "U"))
        conn.executemany("INSERT INTO flag_states VALUES (?, ?, ?, ?)", out)
        flags_n = len(out)
        places = []
        fap = conn.execute(
            "SELECT batch_id, row_no, detail, minx, miny, location_text, precision_m, "
            "geocode_method FROM incidents WHERE source = 'fap'"
        ).fetchall()
        for batch_id, row_no, detail, x, y, text, precision, method in fap:
            d = json.loads(detail or "{}")
            for i, p in enumerate(d.get("note_places") or []):
                here = i == 0 and x is not None
                places.append(
                    (
                        batch_id,
                        row_no,
                        p.get("column"),
                        p.get("matched_text") or (text if here else None),
                        p.get("place"),
                        None,
                        p.get("method") or (method if here else None),
                        precision if here else None,
                        x if here else None,
                        y if here else None,
                    )
                )
        conn.executemany(
            "INSERT INTO referral_places VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", places
        )
        moved = conn.execute(
            "UPDATE incidents SET minx = NULL, miny = NULL, maxx = NULL, maxy = NULL, "
            "geom_wkb = NULL, lon = NULL, lat = NULL, h3_cell = NULL, precision_m = NULL, "
            "geocode_method = 'none' WHERE source = 'fap' AND minx IS NOT NULL"
        ).rowcount
        conn.execute("PRAGMA user_version = 4")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return {"flag_states": flags_n, "referral_places": len(places), "fap_unplaced": moved}
