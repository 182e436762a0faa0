"""Safe places: places that protect young people (youth clubs, detached youth work spots, safe
havens, staffed stations, police stations, youth services), with their opening hours.

Two sources, one table (``safe_places`` in the store's database, :mod:`geosafe.protect.sql`):

- **OpenStreetMap** (:func:`read_osm`, an ``.osm``/``.osm.bz2``/``.osm.pbf`` extract read with
  pyosmium; nodes, and ways at their centroid). The tags that make a safe place
  (:func:`osm_kind`): ``amenity=community_centre`` with ``community_centre=youth_centre`` (or
  ``community_centre:for`` naming juvenile, youth or child), ``amenity=youth_centre``,
  ``leisure=youth_centre``, ``club=youth`` (youth club); ``amenity=social_facility`` with
  ``social_facility:for`` naming youth, juvenile or child (youth service); ``amenity=police``
  (police station); a ``railway=station`` / ``public_transport=station`` tagged ``staffed=yes``
  (staffed station). The hours are the ``opening_hours`` tag. The bundled demo extract holds
  highways only, so it yields none: the demo's safe places come from the analyst's list.
- **The analyst's list** (:func:`read_csv`): ``name, kind`` and a location (``latitude,
  longitude`` or ``easting, northing`` or ``postcode``), ``opening_hours`` in OSM syntax
  (blank: unknown), optional ``ref`` and ``notes``. ``kind`` is one of :data:`KINDS` (or its
  words, e.g. "safe haven"). A bad row is quarantined with a reason code and the fix, never
  dropped: ``name_missing``, ``kind_unknown``, ``location_missing``, a coordinate reason of
  :data:`geosafe.geocode.points.COORD_REASONS`, ``postcode_malformed`` /
  ``postcode_unknown``, ``hours_invalid``, ``ref_duplicate``.

Opening hours are parsed and evaluated by ``opening_hours_py`` (the Rust ``opening-hours``
crate's bindings) in Europe/London with England's bank holidays (``PH``).

Along a journey (:func:`passes`): a place within ``within_m`` (default 50 m) of a walking
leg, passed at the time the pupil walks by it (uniform speed along the leg), counted as open,
closed or hours unknown at that moment. Safe places are public places: their names and hours
are shown to every role; the pupils passing them are counted as every other pupil count is.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .._errors import ImportFileError, ValidationError
from ..incident import CRS_BNG
from .sql import Database, database_for, migration_tables

__all__ = [
    "ALONG_COLUMNS",
    "KINDS",
    "SAFE_PLACE_COLUMNS",
    "Rejected",
    "SafePlace",
    "hours_problem",
    "import_safe_places",
    "is_open",
    "journey_safe_places",
    "load_safe_places",
    "osm_kind",
    "passes",
    "public_safe_places",
    "quarantined_safe_places",
    "read_csv",
    "read_osm",
    "safe_places_along",
]

log = logging.getLogger(__name__)

#: Kinds of safe place and how a page says them.
KINDS: Final[dict[str, str]] = {
    "youth_club": "youth club",
    "detached_youth_work": "detached youth work spot",
    "safe_haven": "safe haven",
    "staffed_station": "staffed station",
    "police_station": "police station",
    "youth_service": "youth service",
}
#: Columns of :func:`load_safe_places` (besides ``geometry``, a point in EPSG:27700).
SAFE_PLACE_COLUMNS: Final = (
    "place_id",
    "name",
    "kind",
    "opening_hours",
    "source",
    "file_name",
    "lon",
    "lat",
)
_TZ: Final = ZoneInfo("Europe/London")
_TO_WGS = Transformer.from_crs(CRS_BNG, "OGC:CRS84", always_xy=True)
_TO_BNG = Transformer.from_crs("OGC:CRS84", CRS_BNG, always_xy=True)
_YOUTH: Final = frozenset({"youth", "juvenile", "child", "children", "young_people"})
#: The tables, as the PostGIS migration defines them (one definition for both backends).
_DDL: Final = migration_tables("safe_places", "safe_places_quarantine")


@dataclass(frozen=True)
class SafePlace:
    """One safe place (a point in EPSG:27700)."""

    place_id: str
    name: str
    kind: str
    x: float
    y: float
    opening_hours: str | None
    source: str
    notes: str | None = None


@dataclass(frozen=True)
class Rejected:
    """A quarantined row: where, why, and the row as read."""

    row_no: int
    column: str | None
    reason_code: str
    reason: str
    raw: dict[str, str]


# ------------------------------------------------------------------ opening hours
def _parse(text: str) -> Any:
    import opening_hours

    return opening_hours.OpeningHours(text, timezone=_TZ, country="GB")


def hours_problem(text: str | None) -> str | None:
    """Why ``text`` is not valid OSM ``opening_hours`` syntax (``None``: valid or blank)."""
    if text is None or not str(text).strip():
        return None
    try:
        _parse(str(text).strip())
    except Exception as exc:  # the parser's own error type
        first = str(exc).strip().splitlines()
        detail = first[-1].strip(" =") if first else "not understood"
        return f"opening_hours {text!r} is not OSM opening_hours syntax ({detail}); e.g. 'Mo-Fr 15:00-21:00; PH off'"
    return None


def is_open(hours: str | None, at: dt.datetime) -> bool | None:
    """Whether a place with these hours is open at ``at`` (naive: Europe/London);
    ``None`` when the hours are unknown."""
    if not isinstance(hours, str) or not hours.strip():
        return None
    when = at if at.tzinfo is not None else at.replace(tzinfo=_TZ)
    return bool(_parse(str(hours).strip()).is_open(when))


# ------------------------------------------------------------------ OpenStreetMap
def _values(text: str | None) -> set[str]:
    return {v.strip().lower() for v in (text or "").split(";") if v.strip()}


def osm_kind(tags: Mapping[str, str]) -> str | None:
    """The safe-place kind an OSM object's tags make it (``None``: not a safe place)."""
    amenity = tags.get("amenity", "")
    if amenity == "community_centre" and (
        tags.get("community_centre") == "youth_centre"
        or _values(tags.get("community_centre:for")) & _YOUTH
    ):
        return "youth_club"
    if amenity in ("youth_centre", "youth_club") or tags.get("leisure") == "youth_centre":
        return "youth_club"
    if tags.get("club") == "youth":
        return "youth_club"
    if amenity == "social_facility" and _values(tags.get("social_facility:for")) & _YOUTH:
        return "youth_service"
    if amenity == "police":
        return "police_station"
    station = tags.get("railway") == "station" or tags.get("public_transport") == "station"
    if station and tags.get("staffed", "").lower() == "yes":
        return "staffed_station"
    return None


def read_osm(path: Path | str) -> list[SafePlace]:
    """Safe places of an OSM extract (nodes; ways at the centroid of their nodes)."""
    import osmium

    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"`osm` file {str(path)!r} does not exist.")
    out: list[SafePlace] = []
    proc = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
    for obj in proc:
        tags = dict(obj.tags)
        if not tags:
            continue
        kind = osm_kind(tags)
        if kind is None:
            continue
        if isinstance(obj, osmium.osm.Node):
            lon, lat, ref = obj.location.lon, obj.location.lat, f"osm:node/{obj.id}"
        elif isinstance(obj, osmium.osm.Way):
            locs = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
            if not locs:
                log.warning("%s: way %d has no located nodes; skipped", path, obj.id)
                continue
            xy = np.asarray(locs)
            lon, lat = (float(v) for v in xy.mean(axis=0))
            ref = f"osm:way/{obj.id}"
        else:
            continue
        x, y = _TO_BNG.transform(lon, lat)
        name = tags.get("name") or KINDS[kind]
        hours = tags.get("opening_hours")
        if hours and hours_problem(hours):
            log.warning("%s %s: %s; hours left unknown", path.name, ref, hours_problem(hours))
            hours = None
        out.append(SafePlace(ref, name, kind, float(x), float(y), hours, "osm"))
    return out


# ------------------------------------------------------------------ the analyst's list
_KIND_WORDS: Final = {
    **{k: k for k in KINDS},
    **{v: k for k, v in KINDS.items()},
    "youth centre": "youth_club",
    "detached youth work": "detached_youth_work",
    "station": "staffed_station",
    "police": "police_station",
}


def _kind(text: str) -> str | None:
    key = text.strip().lower()
    return _KIND_WORDS.get(key) or _KIND_WORDS.get(
        " ".join(key.replace("-", " ").replace("_", " ").split())
    )


def read_csv(
    path: Path | str, *, data_dir: Any = None, aoi: Any = None
) -> tuple[list[SafePlace], list[Rejected]]:
    """The analyst's list: good rows as places, bad rows quarantined (see the module notes).
    ``accepted + quarantined == rows read`` always."""
    from ..geocode.points import classify_bng, classify_lonlat, reason_text
    from ..geocode.postcodes import lookup_postcodes

    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"`csv` file {str(path)!r} does not exist.")
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    cols = {c.strip().lower() for c in reader.fieldnames or []}
    if not {"name", "kind"} <= cols:
        msg = (
            f"{path.name}: columns {sorted(cols)} lack `name` and `kind`; the list needs name, "
            "kind, a location (latitude+longitude, easting+northing or postcode) and "
            "opening_hours."
        )
        raise ImportFileError(msg)
    rows: list[dict[str, str]] = []
    extra: dict[int, int] = {}  # row index -> values beyond the header (an unquoted comma)
    for i, r in enumerate(reader):
        if None in r:
            extra[i] = len(r[None])  # type: ignore[index]
        rows.append(
            {
                k.strip().lower(): (v or "").strip()
                for k, v in r.items()
                if isinstance(k, str) and isinstance(v, str | None)
            }
        )
    sha = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    places: list[SafePlace] = []
    rejected: list[Rejected] = []
    seen: set[str] = set()

    def col(r: dict[str, str], *names: str) -> str:
        return next((r[n] for n in names if r.get(n)), "")

    lat = [col(r, "latitude", "lat") for r in rows]
    lon = [col(r, "longitude", "lon", "lng") for r in rows]
    east = [col(r, "easting") for r in rows]
    north = [col(r, "northing") for r in rows]
    pcs = [col(r, "postcode") for r in rows]
    ll = classify_lonlat(np.asarray(lon, dtype=object), np.asarray(lat, dtype=object), aoi=aoi)
    en = classify_bng(np.asarray(east, dtype=object), np.asarray(north, dtype=object), aoi=aoi)
    found = lookup_postcodes(pcs, data_dir=data_dir)
    for i, r in enumerate(rows):
        row_no = i + 2  # the header is line 1

        def bad(column: str | None, code: str, reason: str) -> None:
            rejected.append(Rejected(row_no, column, code, reason, r))  # noqa: B023

        if i in extra:
            msg = (
                f"the row has {extra[i]} value(s) more than the header's {len(cols)} columns; "
                'quote a field holding a comma, e.g. "Tu,Th 16:00-20:00"'
            )
            bad(None, "row_too_long", msg)
            continue
        name = r.get("name", "")
        kind = _kind(r.get("kind", ""))
        hours = r.get("opening_hours") or None
        ref = r.get("ref") or f"{path.stem}:{row_no}"
        if not name:
            bad("name", "name_missing", "the place has no name; give the name people know it by")
            continue
        if kind is None:
            msg = f"kind {r.get('kind', '')!r} is not known; use one of {', '.join(KINDS)}"
            bad("kind", "kind_unknown", msg)
            continue
        problem = hours_problem(hours)
        if problem:
            bad("opening_hours", "hours_invalid", problem)
            continue
        if lat[i] or lon[i]:
            code = ll[i]
            if code is not None:
                bad(
                    "latitude",
                    str(code),
                    reason_text(str(code), lon[i], lat[i], names=("longitude", "latitude")),
                )
                continue
            x, y = _TO_BNG.transform(float(lon[i]), float(lat[i]))
        elif east[i] or north[i]:
            code = en[i]
            if code is not None:
                bad(
                    "easting",
                    str(code),
                    reason_text(str(code), east[i], north[i], names=("easting", "northing")),
                )
                continue
            x, y = float(east[i]), float(north[i])
        elif pcs[i]:
            code = found["reason_code"].iloc[i]
            if code is not None:
                bad(
                    "postcode",
                    str(code),
                    f"postcode {pcs[i]!r} is {'not a postcode' if code == 'postcode_malformed' else 'not in the postcode directory'}; check it or give coordinates",
                )
                continue
            x, y = float(found["easting"].iloc[i]), float(found["northing"].iloc[i])
        else:
            bad(
                None,
                "location_missing",
                "no location: give latitude+longitude, easting+northing or postcode",
            )
            continue
        key = f"csv:{ref}"
        if key in seen:
            bad("ref", "ref_duplicate", f"ref {ref!r} appears twice in the list; make refs unique")
            continue
        seen.add(key)
        places.append(
            SafePlace(key, name, kind, float(x), float(y), hours, "csv", r.get("notes") or None)
        )
    log.info("%s (%s): %d safe places, %d quarantined", path.name, sha, len(places), len(rejected))
    return places, rejected


# ------------------------------------------------------------------ the table
def import_safe_places(
    store: Any,
    places: Sequence[SafePlace],
    rejected: Sequence[Rejected] = (),
    *,
    source: str,
    file_name: str | None = None,
    file_sha256: str | None = None,
) -> dict[str, Any]:
    """Replace the safe places (and quarantined rows) of ``source`` + ``file_name`` with these,
    in one transaction. Returns the import summary."""
    db = database_for(store)
    db.execute_script(_DDL)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    cols = "place_id, name, kind, opening_hours, source, file_name, file_sha256, x, y, notes, imported_at"
    qcols = "source, file_name, file_sha256, row_no, col, reason_code, reason, raw, imported_at"
    with db.transaction() as cur:
        cur.execute(
            db.sql("DELETE FROM safe_places WHERE source = ? AND file_name = ?"),
            (source, file_name or ""),
        )
        cur.execute(
            db.sql("DELETE FROM safe_places_quarantine WHERE source = ? AND file_name = ?"),
            (source, file_name or ""),
        )
        ids = [p.place_id for p in places]
        if ids:  # a place already imported from another file keeps that file's row
            marks = ", ".join("?" * len(ids))
            cur.execute(db.sql(f"DELETE FROM safe_places WHERE place_id IN ({marks})"), ids)
        for p in places:
            cur.execute(
                db.sql(f"INSERT INTO safe_places ({cols}) VALUES ({', '.join('?' * 11)})"),
                (
                    p.place_id,
                    p.name,
                    p.kind,
                    p.opening_hours,
                    source,
                    file_name or "",
                    file_sha256,
                    p.x,
                    p.y,
                    p.notes,
                    now,
                ),
            )
        for q in rejected:
            cur.execute(
                db.sql(
                    f"INSERT INTO safe_places_quarantine ({qcols}) VALUES ({', '.join('?' * 9)})"
                ),
                (
                    source,
                    file_name or "",
                    file_sha256,
                    q.row_no,
                    q.column,
                    q.reason_code,
                    q.reason,
                    json.dumps(q.raw),
                    now,
                ),
            )
    kinds = pd.Series([p.kind for p in places], dtype=object).value_counts().to_dict()
    return {
        "source": source,
        "file": file_name,
        "rows": len(places) + len(rejected),
        "accepted": len(places),
        "quarantined": len(rejected),
        "by_kind": {str(k): int(v) for k, v in kinds.items()},
        "hours_unknown": sum(1 for p in places if not p.opening_hours),
        "reasons": pd.Series([q.reason_code for q in rejected], dtype=object)
        .value_counts()
        .to_dict(),
    }


#: The columns of ``safe_places`` the non-analyst reader may read (PostGIS: migration 0008).
PUBLIC_COLUMNS: Final = ("place_id", "name", "kind", "opening_hours", "source", "x", "y")


def load_safe_places(store: Any) -> gpd.GeoDataFrame:
    """Every safe place (:data:`SAFE_PLACE_COLUMNS`, points in EPSG:27700); empty when none
    were imported."""
    db: Database = database_for(store)
    cols = [*PUBLIC_COLUMNS[:5], "file_name", "x", "y"]
    sql = f"SELECT {', '.join(cols)} FROM safe_places ORDER BY place_id"
    return _places(db.query(sql) if db.has_table("safe_places") else [], cols)


def public_safe_places(reader: Any) -> gpd.GeoDataFrame:
    """The safe places as non-analyst requests read them, over the service's reader
    connection (``reader``: :class:`~geosafe.store.published_read.PublishedReader`; on
    PostGIS a ``geosafe_reader`` login, granted :data:`PUBLIC_COLUMNS` only): the columns of
    :func:`load_safe_places`, ``file_name`` empty."""
    sql = f"SELECT {', '.join(PUBLIC_COLUMNS)} FROM safe_places ORDER BY place_id"
    return _places(reader.query(sql) if reader.has_table("safe_places") else [], PUBLIC_COLUMNS)


def _places(rows: Sequence[Sequence[Any]], cols: Sequence[str]) -> gpd.GeoDataFrame:
    df = pd.DataFrame(rows, columns=list(cols))
    if "file_name" not in df.columns:
        df["file_name"] = None
    df["opening_hours"] = pd.Series(
        [h if isinstance(h, str) and h else None for h in df["opening_hours"]],
        dtype=object,
        index=df.index,
    )
    x = df["x"].to_numpy(dtype=float)
    y = df["y"].to_numpy(dtype=float)
    lon, lat = _TO_WGS.transform(x, y) if len(df) else (np.array([]), np.array([]))
    df["lon"] = np.round(lon, 6)
    df["lat"] = np.round(lat, 6)
    return gpd.GeoDataFrame(
        df[list(SAFE_PLACE_COLUMNS)], geometry=gpd.points_from_xy(x, y), crs=CRS_BNG
    )


def quarantined_safe_places(store: Any) -> list[dict[str, Any]]:
    """The quarantined rows of every safe-place import, with their reasons."""
    db = database_for(store)
    if not db.has_table("safe_places_quarantine"):
        return []
    rows = db.query(
        "SELECT source, file_name, row_no, col, reason_code, reason, raw FROM safe_places_quarantine ORDER BY file_name, row_no"
    )
    keys = ("source", "file_name", "row_no", "column", "reason_code", "reason", "raw")
    return [{**dict(zip(keys, r, strict=True)), "raw": json.loads(r[-1] or "{}")} for r in rows]


# ------------------------------------------------------------------ along journeys
def _foot_legs(j: Any) -> Iterable[tuple[Any, float | None, float | None, bool]]:
    """``(geometry, start s, end s, waiting)`` of the legs a pupil spends on foot: walking,
    and waiting at a stop (a ``wait`` leg, at the stop's point, e.g. for the next bus after
    a change at the same stop). Aboard a bus a pupil passes nothing they can go into."""
    legs = list(j.legs or [])
    geoms = list(j.leg_geometries or [])
    if legs and geoms:
        for leg, g in zip(legs, geoms, strict=False):
            mode = str(leg.get("mode", "walk"))
            if g is not None and not g.is_empty and mode in ("walk", "wait"):
                yield g, leg.get("depart_s"), leg.get("arrive_s"), mode == "wait"
    elif j.geometry is not None and not j.geometry.is_empty and str(j.mode) == "walk":
        yield j.geometry, j.depart_s, j.arrive_s, False


def _when(
    g: Any, place: Any, a: float | None, b: float | None, waiting: bool, hours: Any, midnight: Any
) -> tuple[float | None, bool | None]:
    """When the pupil is by ``place`` on this leg, and whether it is open then. Walking: the
    moment they walk by (uniform speed along the leg). Waiting: the whole wait; open if it
    is open at its start or its end (the pupil can go in), at the first such moment."""
    if a is None or b is None:
        return None, None
    if not waiting and g.length <= 0:
        return None, None
    known = isinstance(hours, str) and bool(hours)
    if not waiting:
        t = float(a) + (float(b) - float(a)) * g.project(place) / g.length
        return t, (is_open(hours, midnight + dt.timedelta(seconds=t)) if known else None)
    if not known:
        return float(a), None
    for t in (float(a), float(b)):
        if is_open(hours, midnight + dt.timedelta(seconds=t)):
            return t, True
    return float(a), False


def passes(
    journeys: Iterable[Any],
    places: gpd.GeoDataFrame,
    *,
    day: dt.date,
    within_m: float = 50.0,
) -> pd.DataFrame:
    """One row per (journey, safe place within ``within_m`` of one of its walking legs or of
    a stop where the pupil waits): ``origin_id``, ``pupils``, ``place_id``, ``name``,
    ``kind``, ``time_s`` (when the pupil walks by or starts waiting, seconds after midnight)
    and ``open`` (True, False, or None: hours unknown) on ``day``; the earliest open moment
    wins when a journey is by a place more than once."""
    cols = ["origin_id", "pupils", "place_id", "name", "kind", "time_s", "open"]
    if not 1.0 <= within_m <= 500.0:
        raise ValidationError(f"`within_m` {within_m!r} must be between 1 and 500 metres.")
    if places.empty:
        return pd.DataFrame(columns=cols)
    pts = places.geometry.to_numpy()
    tree = shapely.STRtree(pts)
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=_TZ)
    hours = places["opening_hours"].to_numpy(dtype=object)
    rows = []
    for j in journeys:
        if getattr(j, "error", None) is not None:
            continue
        best: dict[int, tuple[float | None, bool | None]] = {}
        for g, a, b, waiting in _foot_legs(j):
            for k in tree.query(g, predicate="dwithin", distance=within_m):
                k = int(k)
                got = _when(g, pts[k], a, b, waiting, hours[k], midnight)
                if k not in best or _sooner(got, best[k]):
                    best[k] = got
        for k, (t, open_) in best.items():
            rows.append(
                {
                    "origin_id": j.origin_id,
                    "pupils": int(j.count),
                    "place_id": places["place_id"].iloc[k],
                    "name": places["name"].iloc[k],
                    "kind": places["kind"].iloc[k],
                    "time_s": t,
                    "open": open_,
                }
            )
    return pd.DataFrame(rows, columns=cols)


def _sooner(new: tuple[float | None, bool | None], old: tuple[float | None, bool | None]) -> bool:
    """Whether ``new`` (time, open) replaces ``old``: open beats not open, then earlier."""
    if (new[1] is True) != (old[1] is True):
        return new[1] is True
    return new[0] is not None and (old[0] is None or new[0] < old[0])


def _clock(s: float | None) -> str | None:
    if s is None or not np.isfinite(s):
        return None
    s = int(s) % 86400
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def journey_safe_places(
    journey: Any, places: gpd.GeoDataFrame, *, day: dt.date, within_m: float = 50.0
) -> dict[str, Any]:
    """What a journey's report says: ``passes_safe_places`` (places open when the pupil walks
    by) and the list of places within ``within_m`` of its walking legs (name, kind, time,
    open)."""
    got = passes([journey], places, day=day, within_m=within_m).sort_values("time_s")
    items = [
        {
            "name": r["name"],
            "kind": KINDS.get(r["kind"], r["kind"]),
            "at": _clock(r["time_s"]),
            "open": r["open"],
        }
        for _, r in got.iterrows()
    ]
    return {
        "passes_safe_places": sum(1 for i in items if i["open"] is True),
        "safe_places": items,
        "safe_places_within_m": within_m,
    }


#: Columns of :func:`safe_places_along` (besides ``geometry``).
ALONG_COLUMNS: Final = (
    "name",
    "kind",
    "opening_hours",
    "window",
    "pupils",
    "pupils_open",
    "first",
    "last",
    "open_when_passed",
)


def safe_places_along(
    windows: Sequence[tuple[str, Sequence[Any]]],
    places: gpd.GeoDataFrame,
    *,
    day: dt.date,
    within_m: float = 50.0,
) -> tuple[gpd.GeoDataFrame, dict[str, dict[str, Any]]]:
    """Safe places along a school's routes per window: pupils passing on foot, those passing
    while it is open, the first and last time they pass, and whether it is open then
    (``open``, ``closed``, ``open for some``, ``hours unknown``). Also, per window, the
    pupils' median number of open safe places passed (``median_open_passed``, pupils with
    a routed journey) and how many pass at least one (``pupils_passing_open``)."""
    rows: list[dict[str, Any]] = []
    per_window: dict[str, dict[str, Any]] = {}
    geom = dict(zip(places["place_id"], places.geometry, strict=True)) if len(places) else {}
    for window, journeys in windows:
        routed = [j for j in journeys if getattr(j, "error", None) is None]
        got = passes(routed, places, day=day, within_m=within_m)
        opened = got[got["open"].map(lambda v: v is True)] if len(got) else got
        n_open = (
            opened.groupby("origin_id")["place_id"].nunique()
            if len(opened)
            else pd.Series(dtype=float)
        )
        counts = np.repeat(
            [float(n_open.get(j.origin_id, 0)) for j in routed], [int(j.count) for j in routed]
        )
        per_window[window] = {
            "pupils_routed": int(counts.size),
            "pupils_passing_open": int((counts > 0).sum()),
            "median_open_passed": float(np.median(counts)) if counts.size else None,
            "within_m": within_m,
        }
        for pid, g in got.groupby("place_id", sort=False):
            states = set(
                g["open"].map(lambda v: "unknown" if v is None else "open" if v else "closed")
            )
            state = (
                "hours unknown"
                if states == {"unknown"}
                else "open"
                if states == {"open"}
                else "closed"
                if states == {"closed"}
                else "open for some"
            )
            times = g["time_s"].dropna()
            rows.append(
                {
                    "name": g["name"].iloc[0],
                    "kind": KINDS.get(g["kind"].iloc[0], g["kind"].iloc[0]),
                    "opening_hours": places.loc[places["place_id"] == pid, "opening_hours"].iloc[0],
                    "window": window,
                    "pupils": float(g["pupils"].sum()),
                    "pupils_open": float(g.loc[g["open"].map(lambda v: v is True), "pupils"].sum()),
                    "first": _clock(times.min()) if len(times) else None,
                    "last": _clock(times.max()) if len(times) else None,
                    "open_when_passed": state,
                    "geometry": geom[pid],
                }
            )
    table = gpd.GeoDataFrame(
        rows or None, columns=[*ALONG_COLUMNS, "geometry"], geometry="geometry", crs=CRS_BNG
    )
    if len(table):
        table = table.sort_values(["window", "pupils"], ascending=[False, False]).reset_index(
            drop=True
        )
    return table, per_window
