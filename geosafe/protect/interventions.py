"""The intervention log: what was done, where (a named place, an area or a bus route), when.

Stored in the store's database (SQLite or PostgreSQL, :mod:`geosafe.protect.sql`) in the table
``interventions``; the where is kept both as given (``where_kind``, ``where_ref``) and as the
area it covers (``geometry_wkt``, EPSG:27700), so an evaluation months later uses the area the
analyst meant even if the gazetteer changes.

Where kinds (:func:`resolve_where`):

- ``place``: a gazetteer name (park, station, street, stop), buffered by ``radius_m`` (default
  the place's own size, at least 150 m);
- ``point``: ``lon,lat`` (WGS84) with ``radius_m``;
- ``ward``: one or more 2018 GLA ward names (their union);
- ``polygon``: a WKT polygon in EPSG:27700, or a GeoJSON file (WGS84);
- ``route``: a bus route (and direction), its run inside the area buffered by ``radius_m``
  (default 100 m).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from .._errors import NotFoundError, ValidationError
from ..incident import CRS_BNG
from .sql import Database, database_for, migration_tables

__all__ = [
    "WHERE_KINDS",
    "Intervention",
    "add_intervention",
    "end_intervention",
    "get_intervention",
    "interventions_geojson",
    "latest_evaluations",
    "list_interventions",
    "list_public",
    "log_state",
    "public_log_state",
    "resolve_where",
    "save_evaluation",
    "viewer_log_state",
]

WHERE_KINDS: Final = ("place", "point", "ward", "polygon", "route")

#: The tables, as the PostGIS migration defines them (one definition for both backends); the
#: evaluations table keeps the last evaluation of each intervention in words and figures
#: (the analyst's maps show it without evaluating again), exact counts stay out of it.
_DDL: Final = migration_tables("interventions", "intervention_evaluations")
_COLUMNS: Final = (
    "id",
    "what",
    "where_kind",
    "where_ref",
    "geometry_wkt",
    "started_on",
    "ended_on",
    "notes",
    "recorded_at",
    "recorded_by",
)
#: The columns the non-analyst reader may read (PostGIS: migration 0008 grants these to
#: ``geosafe_reader``): never what was done, ``where_ref``, the notes nor who recorded it.
PUBLIC_COLUMNS: Final = ("id", "where_kind", "geometry_wkt", "started_on", "ended_on")
_TO_BNG = Transformer.from_crs("OGC:CRS84", CRS_BNG, always_xy=True)


@dataclass(frozen=True)
class Intervention:
    """One logged intervention (dates are local calendar dates)."""

    id: int
    what: str
    where_kind: str
    where_ref: str
    geometry_wkt: str
    started_on: dt.date
    ended_on: dt.date | None
    notes: str | None
    recorded_at: str
    recorded_by: str | None

    @property
    def geometry(self) -> BaseGeometry:
        """The area it covers (EPSG:27700)."""
        return shapely.from_wkt(self.geometry_wkt)

    def as_dict(self, *, geometry: bool = False) -> dict[str, Any]:
        """JSON-ready; the area in km² (and its WKT with ``geometry=True``)."""
        out = asdict(self)
        out["started_on"] = self.started_on.isoformat()
        out["ended_on"] = self.ended_on.isoformat() if self.ended_on else None
        out["area_km2"] = round(self.geometry.area / 1e6, 4)
        if not geometry:
            out.pop("geometry_wkt")
        return out


def _date(value: dt.date | str | None, name: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    from ..periods import parse_date

    return parse_date(str(value), name=name)


def _ensure(db: Database) -> None:
    db.execute_script(_DDL)


def _row(r: tuple[Any, ...]) -> Intervention:
    d = dict(zip(_COLUMNS, r, strict=True))
    d["id"] = int(d["id"])
    d["started_on"] = dt.date.fromisoformat(str(d["started_on"]))
    d["ended_on"] = dt.date.fromisoformat(str(d["ended_on"])) if d["ended_on"] else None
    return Intervention(**d)


def resolve_where(
    kind: str,
    ref: str | list[str],
    *,
    radius_m: float | None = None,
    direction: int | None = None,
    data_dir: Path | str | None = None,
) -> tuple[str, BaseGeometry]:
    """The area an intervention covers: ``(where_ref as stored, polygon in EPSG:27700)``."""
    if kind not in WHERE_KINDS:
        msg = f"`where` kind {kind!r} is not known; use one of {', '.join(WHERE_KINDS)}."
        raise ValidationError(msg)
    if radius_m is not None and not 10.0 <= radius_m <= 5000.0:
        raise ValidationError(f"`radius` {radius_m!r} must be between 10 and 5000 metres.")
    refs = [ref] if isinstance(ref, str) else list(ref)
    if not refs or not all(r.strip() for r in refs):
        raise ValidationError(f"`{kind}` needs a value (got {ref!r}).")
    if kind == "place":
        from ..geocode.places import Gazetteer

        hit = Gazetteer.load(data_dir).best(refs[0])
        if hit is None or hit.place is None:
            msg = f"`place` {refs[0]!r} is not in the gazetteer; give a park, station, street or stop name."
            raise NotFoundError(msg)
        p = hit.place
        r = radius_m if radius_m is not None else max(float(p.precision_m), 150.0)
        return f"{p.name} ({p.kind}), {r:g} m", p.point.buffer(r)
    if kind == "point":
        try:
            lon, lat = (float(v) for v in refs[0].split(","))
        except ValueError:
            raise ValidationError(f"`point` {refs[0]!r} is not LON,LAT.") from None
        r = radius_m if radius_m is not None else 250.0
        x, y = _TO_BNG.transform(lon, lat)
        return f"{lon:.6f},{lat:.6f}, {r:g} m", shapely.Point(x, y).buffer(r)
    if kind == "ward":
        from .. import datasets

        wards = datasets.wards(data_dir)
        names = wards["name"].astype(str)
        chosen = []
        labels = (names + ", " + wards["borough"].astype(str)).str.lower()
        for w in refs:
            key = w.strip().lower()
            hit = wards[(names.str.lower() == key) | (labels == key)]
            if len(hit) > 1:  # the one in the area, if only one is
                local = hit[hit.intersects(datasets.demo_area(data_dir))]
                hit = local if len(local) == 1 else hit
            if len(hit) > 1:
                options = sorted(
                    f"{n}, {b}" for n, b in zip(hit["name"], hit["borough"], strict=True)
                )
                msg = f"`ward` {w!r} names {len(hit)} wards; add the borough, e.g. {options[0]!r}."
                raise ValidationError(msg)
            if hit.empty:
                close = sorted(n for n in names if n.lower().startswith(w.strip().lower()[:3]))[:5]
                msg = f"`ward` {w!r} is not a 2018 London ward; e.g. {close or list(names[:3])}."
                raise NotFoundError(msg)
            chosen.append(hit.geometry.iloc[0])
        return "; ".join(sorted(r.strip() for r in refs)), shapely.union_all(chosen)
    if kind == "polygon":
        geom = _polygon(refs[0])
        return "polygon", geom
    from ..risk.place_lookup import route_line

    stretch = route_line(data_dir, refs[0], direction)
    r = radius_m if radius_m is not None else 100.0
    return f"route {stretch.route} direction {stretch.run}, {r:g} m", stretch.line.buffer(r)


def _polygon(text: str) -> BaseGeometry:
    path = Path(text)
    if path.suffix.lower() in (".geojson", ".json") and path.exists():
        import geopandas as gpd

        gdf = gpd.read_file(path)
        if gdf.crs is None:
            gdf = gdf.set_crs("OGC:CRS84")
        geom = gdf.to_crs(CRS_BNG).geometry.union_all()
    else:
        try:
            geom = shapely.from_wkt(text)
        except shapely.errors.GEOSException:
            msg = f"`polygon` {text[:60]!r} is neither WKT (EPSG:27700) nor a GeoJSON file."
            raise ValidationError(msg) from None
        if abs(geom.centroid.x) < 1000:
            msg = f"`polygon` {text[:60]!r} looks like lon/lat; give EPSG:27700 metres or a GeoJSON file."
            raise ValidationError(msg)
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty or not geom.is_valid:
        raise ValidationError(f"`polygon` must be a valid polygon (got {geom.geom_type}).")
    return geom


def add_intervention(
    store: Any,
    *,
    what: str,
    where_kind: str,
    where_ref: str,
    geometry: BaseGeometry,
    started_on: dt.date | str,
    ended_on: dt.date | str | None = None,
    notes: str | None = None,
    recorded_by: str | None = None,
) -> Intervention:
    """Log an intervention; returns it with its new id."""
    what = (what or "").strip()
    if not what:
        raise ValidationError("`what` is empty; say what was done, e.g. 'detached youth work'.")
    start = _date(started_on, "start")
    end = _date(ended_on, "end")
    assert start is not None
    if end is not None and end < start:
        raise ValidationError(f"`end` {end.isoformat()!r} is before `start` {start.isoformat()!r}.")
    if where_kind not in WHERE_KINDS:
        raise ValidationError(f"`where_kind` {where_kind!r}: use one of {WHERE_KINDS}.")
    db = database_for(store)
    _ensure(db)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    row = [
        what,
        where_kind,
        where_ref,
        shapely.to_wkt(geometry, rounding_precision=2),
        start.isoformat(),
        end.isoformat() if end else None,
        notes,
        now,
        recorded_by,
    ]
    for _ in range(5):  # a concurrent writer may take the same next id: try the one after
        try:
            with db.transaction() as cur:
                cur.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM interventions")
                new_id = int(cur.fetchone()[0])
                cur.execute(
                    db.sql(
                        f"INSERT INTO interventions ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
                    ),
                    (new_id, *row),
                )
            return get_intervention(db, new_id)
        except db.integrity_errors:
            continue
    raise ValidationError("could not assign an intervention id (five clashes); try again.")


def get_intervention(store: Any, intervention_id: int) -> Intervention:
    """One intervention by id (:class:`NotFoundError` naming the known ids otherwise)."""
    db = database_for(store)
    sql = f"SELECT {', '.join(_COLUMNS)} FROM interventions WHERE id = ?"
    rows = db.query(sql, [int(intervention_id)]) if db.has_table("interventions") else []
    if not rows:
        known = [i.id for i in list_interventions(db)]
        msg = f"intervention {intervention_id!r} is not in the log; known ids: {known[-20:] or 'none'}."
        raise NotFoundError(msg)
    return _row(rows[0])


def list_interventions(store: Any, *, active_on: dt.date | str | None = None) -> list[Intervention]:
    """Every intervention, oldest first; with ``active_on``, those running on that date."""
    db = database_for(store)
    if not db.has_table("interventions"):  # a read never creates the table
        return []
    rows = [
        _row(r) for r in db.query(f"SELECT {', '.join(_COLUMNS)} FROM interventions ORDER BY id")
    ]
    day = _date(active_on, "active_on")
    if day is not None:
        rows = [
            r for r in rows if r.started_on <= day and (r.ended_on is None or r.ended_on >= day)
        ]
    return rows


def list_public(reader: Any) -> list[Intervention]:
    """Every intervention as the non-analyst reader reads it (``reader``: the service's
    :class:`~geosafe.store.published_read.PublishedReader`): :data:`PUBLIC_COLUMNS` only, the
    analyst's words left empty."""
    if not reader.has_table("interventions"):
        return []
    rows = reader.query(f"SELECT {', '.join(PUBLIC_COLUMNS)} FROM interventions ORDER BY id")
    out = []
    for r in rows:
        d = dict(zip(PUBLIC_COLUMNS, r, strict=True))
        full = {c: "" for c in _COLUMNS} | d | {"notes": None, "recorded_by": None}
        out.append(_row(tuple(full[c] for c in _COLUMNS)))
    return out


def end_intervention(store: Any, intervention_id: int, *, ended_on: dt.date | str) -> Intervention:
    """Record the end date of a running intervention."""
    db = database_for(store)
    iv = get_intervention(db, intervention_id)
    end = _date(ended_on, "end")
    assert end is not None
    if end < iv.started_on:
        msg = f"`end` {end.isoformat()!r} is before the intervention's start {iv.started_on.isoformat()!r}."
        raise ValidationError(msg)
    if iv.ended_on is not None:
        msg = f"intervention {iv.id} already ended on {iv.ended_on.isoformat()}."
        raise ValidationError(msg)
    with db.transaction() as cur:
        cur.execute(
            db.sql("UPDATE interventions SET ended_on = ? WHERE id = ?"), (end.isoformat(), iv.id)
        )
    return get_intervention(db, iv.id)


def to_json(items: list[Intervention]) -> str:
    """The log as JSON lines' payload (list of dicts)."""
    return json.dumps([i.as_dict() for i in items], indent=2)


#: Fields of an evaluation kept for the maps (:func:`save_evaluation`): the estimate in
#: words and percentages, the comparison and the months, never the monthly counts.
def _summary(result: dict[str, Any]) -> dict[str, Any]:
    e = result["estimate"]
    return {
        "percent_change": round(float(e["percent_change"]), 1),
        "interval": [
            round(100 * (float(e["ratio_low"]) - 1), 1),
            round(100 * (float(e["ratio_high"]) - 1), 1),
        ],
        "level": e.get("level", 0.95),
        "reading": result["reading"],
        "displacement": result["displacement"]["reading"],
        "comparison": list(result["comparison"]["areas"]),
        "months_before": len(result["months"]["before"]),
        "months_after": len(result["months"]["after"]),
        "sources": list(result.get("sources", [])),
        "evaluated_on": result.get("evaluated_on"),
    }


def save_evaluation(store: Any, result: dict[str, Any]) -> None:
    """Keep ``result`` (:func:`geosafe.protect.evaluate.evaluate_intervention`) as the
    intervention's last evaluation, summarised (:func:`latest_evaluations`)."""
    db = database_for(store)
    _ensure(db)
    iid = int(result["intervention"]["id"])
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with db.transaction() as cur:
        cur.execute(
            db.sql("DELETE FROM intervention_evaluations WHERE intervention_id = ?"), (iid,)
        )
        cur.execute(
            db.sql("INSERT INTO intervention_evaluations VALUES (?, ?, ?)"),
            (iid, now, json.dumps(_summary(result))),
        )


def latest_evaluations(store: Any) -> dict[int, dict[str, Any]]:
    """The last evaluation of each evaluated intervention, by id (none: ``{}``)."""
    db = database_for(store)
    if not db.has_table("intervention_evaluations"):
        return {}
    rows = db.query("SELECT intervention_id, evaluated_at, summary FROM intervention_evaluations")
    return {int(i): {**json.loads(s), "evaluated_at": str(at)} for i, at, s in rows}


#: The log's aggregates a cache key reads. The log changes only by :func:`add_intervention`
#: (a new row: the count and the last id move) and :func:`end_intervention` (an end date where
#: there was none: ``COUNT(ended_on)`` moves, even for an end before the latest one).
_LOG_STATE: Final = "COUNT(*), MAX(id), COUNT(ended_on), MAX(ended_on)"


def log_state(store: Any) -> tuple[Any, ...]:
    """What the analyst's drawing of the log depends on (cache key part): ids, ends and
    evaluations, read over the store's (analyst's) connection."""
    db = database_for(store)
    out: list[Any] = []
    for table, cols in (
        ("interventions", f"{_LOG_STATE}, MAX(recorded_at)"),
        ("intervention_evaluations", "COUNT(*), MAX(evaluated_at)"),
    ):
        out.append(tuple(db.query(f"SELECT {cols} FROM {table}")[0]) if db.has_table(table) else ())
    return tuple(out)


def public_log_state(reader: Any) -> tuple[Any, ...]:
    """What the published drawing of the log (:func:`list_public` and the published counts)
    depends on besides the store's state (cache key part), read over ``reader`` (the
    service's :class:`~geosafe.store.published_read.PublishedReader`) from
    :data:`PUBLIC_COLUMNS` only: ids and ends. The analyst's evaluations play no part: the
    published view evaluates from the published counts."""
    if not reader.has_table("interventions"):
        return ()
    return tuple(reader.query(f"SELECT {_LOG_STATE} FROM interventions")[0])


def viewer_log_state(layers: Any, principal: Any) -> tuple[Any, ...]:
    """The cache key part of what :func:`geosafe.protect.public_evaluation.for_viewer` draws
    for ``principal``: :func:`log_state` over the store for the analyst, else
    :func:`public_log_state` over the reader connection (``layers``: the service's
    :class:`~geosafe.publish.service.LayerService`, its ``store`` and ``published``)."""
    if principal.role == "analyst":
        return log_state(layers.store)
    return public_log_state(layers.published)


def interventions_geojson(store: Any) -> dict[str, Any]:
    """The log as a GeoJSON FeatureCollection (WGS84) for the analyst's maps: each
    intervention's area (outline; a point or place is its circle), what, where, the dates and
    its last evaluation (``evaluation``: ``None`` when it was never evaluated). The free-text
    notes stay in the log."""
    import geopandas as gpd

    items = list_interventions(store)
    evaluations = latest_evaluations(store) if items else {}
    geoms = gpd.GeoSeries([i.geometry for i in items], crs=CRS_BNG).to_crs("OGC:CRS84")
    feats = []
    for iv, g in zip(items, geoms, strict=True):
        props = iv.as_dict()
        props.pop("notes", None)
        props["evaluation"] = evaluations.get(iv.id)
        feats.append(
            {
                "type": "Feature",
                "id": iv.id,
                "geometry": shapely.geometry.mapping(shapely.set_precision(g, 1e-6)),
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "features": feats}
