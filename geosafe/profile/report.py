"""The problem profile: a report for the partnership meeting, in an analyst version and a
version for partners.

:func:`build_profile` computes every table once (explicit :class:`Profile`); the HTML page
(self-contained: inline CSS and SVG, nothing fetched), the PDF (the same page printed by
headless Chromium) and the CSV tables are written from it by :func:`write_profile`.

The partners version is built under the disclosure rules of the school role: every count is
published under the 10-5 rule (1-9 suppressed, others rounded to the nearest 5), the map
shows H3 resolution-8 cells only (from rounded counts), and nothing record-level appears: no
refs, no free text, no points, no matched note text, no peer-group network.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import h3
import pandas as pd
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from .._errors import ConfigurationError, ValidationError
from ..area.manifest import attribution_html
from ..filters import IncidentFilter
from ..incident import CRS_BNG
from . import charts
from . import flags as fl
from .data import ProfileData, load_profile_data
from .people import (
    AUDIENCES,
    HOT_CELL_MIN,
    HOT_RESOLUTION,
    hot_cells,
    overlap,
    publish_count,
    ward_names,
)
from .places import place_table, places_as_incidents

__all__ = [
    "Profile",
    "build_profile",
    "default_period",
    "print_pdf",
    "render_html",
    "write_profile",
]

log = logging.getLogger(__name__)

#: Columns holding counts in any profile table (published under the 10-5 rule for partners).
COUNT_COLUMNS: Final = frozenset(
    {
        "records", "located", "without_location", "people", "referrals", "entries",
        "Y", "N", "not_recorded", "of_records", "of_people", "records_not_recorded",
        "incidents", "previous", "peer group", "school", "neighbourhood", "schools",
        *charts.WEEKDAYS,
    }
)  # fmt: skip


@dataclass(frozen=True)
class Profile:
    """Every table and chart of one problem profile (counts already published for the
    audience).

    Attributes
    ----------
    tables
        Name -> table, each written as ``NAME.csv``.
    overlap
        The ``geosafe overlap`` object for the audience.
    """

    audience: str
    from_date: dt.date
    to_date: dt.date
    previous: tuple[dt.date, dt.date]
    tables: dict[str, pd.DataFrame]
    overlap: dict[str, Any]
    heat: pd.DataFrame
    monthly: pd.DataFrame
    map_svg: str
    caveats: list[str]
    method: list[str]
    records_read: int
    headline: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The profile as JSON (``/reports/profile?format=json``): headline, overlap, every
        table as records, caveats and method."""
        return {
            "audience": self.audience,
            "from": self.from_date.isoformat(),
            "to": self.to_date.isoformat(),
            "headline": self.headline,
            "overlap": self.overlap,
            "tables": {k: _records(v) for k, v in self.tables.items()},
            "caveats": self.caveats,
            "method": self.method,
        }


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON values (``None`` for missing, Python numbers)."""
    out = df.astype(object).where(df.notna(), None).to_dict(orient="records")
    return [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in out]


def _publish_table(df: pd.DataFrame, audience: str) -> pd.DataFrame:
    if audience == "analyst" or df.empty:
        return df
    out = df.copy()
    for c in out.columns:
        if c in COUNT_COLUMNS:
            out[c] = pd.array(
                [None if pd.isna(v) else publish_count(int(v), audience) for v in out[c]],
                dtype="Int64",
            )
    return out


def _by_source(data: ProfileData) -> pd.DataFrame:
    inc = data.incidents
    if inc.empty:
        return pd.DataFrame(columns=["source", "records", "located", "without_location", "people"])
    located = inc.geometry.notna()
    people = data.links.merge(inc[["incident_id", "label"]], on="incident_id")
    out = pd.DataFrame(
        {
            "records": inc.groupby("label").size(),
            "located": located.groupby(inc["label"]).sum(),
            "without_location": (~located).groupby(inc["label"]).sum(),
            "people": people.groupby("label")["person_key"].nunique(),
        }
    ).fillna(0)
    out = out.astype(int).rename_axis("source").reset_index()
    return out


def _by_school(data: ProfileData) -> pd.DataFrame:
    from .. import datasets

    inc = data.incidents[data.incidents["school_urn"].fillna("").astype(str).str.strip() != ""]
    cols = ["school_urn", "school_name", "referrals", "entries", "people"]
    if inc.empty:
        return pd.DataFrame(columns=cols)
    names = datasets.schools().set_index("urn")["name"]
    people = data.links.merge(inc[["incident_id", "school_urn"]], on="incident_id")
    out = (
        pd.DataFrame(
            {
                "referrals": (inc["source"] == "fap").groupby(inc["school_urn"]).sum(),
                "entries": (inc["source"] == "people").groupby(inc["school_urn"]).sum(),
                "people": people.groupby("school_urn")["person_key"].nunique(),
            }
        )
        .fillna(0)
        .astype(int)
    )
    out = out.rename_axis("school_urn").reset_index()
    out.insert(1, "school_name", out["school_urn"].map(names).fillna("(not in the bundled list)"))
    return out.sort_values(["referrals", "people"], ascending=False)[cols].reset_index(drop=True)


def _heat(inc: pd.DataFrame) -> pd.DataFrame:
    timed = inc[inc["time_precision"] == "minute"]
    local = timed["occurred_from"].dt.tz_convert("Europe/London")
    grid = pd.crosstab(local.dt.hour, local.dt.day_of_week)
    grid = grid.reindex(index=range(24), columns=range(7), fill_value=0)
    grid.columns = list(charts.WEEKDAYS)
    grid.index.name = "hour"
    return grid


def _monthly(inc: pd.DataFrame, months: list[str]) -> pd.DataFrame:
    if inc.empty:
        return pd.DataFrame(index=pd.Index(months, name="month"))
    m = inc["occurred_from"].dt.tz_convert("Europe/London").dt.strftime("%Y-%m")
    table = pd.crosstab(m, inc["label"]).reindex(months, fill_value=0)
    table.index.name = "month"
    return table


def _months(a: dt.date, b: dt.date) -> list[str]:
    return [p.strftime("%Y-%m") for p in pd.period_range(a, b, freq="M")]


def _cells_published(inc: gpd.GeoDataFrame, audience: str) -> gpd.GeoDataFrame:
    """Hotspot cells: analysts the hot cells of the located incidents; partners the H3
    resolution-8 cells whose *published* count is at least 10 (from rounded counts)."""
    if audience == "analyst":
        return hot_cells(inc)
    from .people import _cells

    cells = _cells(inc, HOT_RESOLUTION).dropna()
    counts = cells.value_counts()
    pub = {c: publish_count(int(n), audience) for c, n in counts.items()}
    keep = sorted(
        ((c, n) for c, n in pub.items() if n is not None and n >= 10), key=lambda t: (-t[1], t[0])
    )
    polys = [Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(c)]) for c, _ in keep]
    gdf = gpd.GeoDataFrame(
        {"hotspot_id": [c for c, _ in keep], "incidents": [n for _, n in keep]},
        geometry=gpd.GeoSeries(polys, crs="EPSG:4326"),
    ).to_crs(CRS_BNG)
    # named by ward only: a record's own location text never reaches partners
    gdf.insert(1, "name", [w or c for w, c in zip(ward_names(gdf), gdf["hotspot_id"], strict=True)])
    return gdf


def _hotspot_table(
    cells: gpd.GeoDataFrame, previous: gpd.GeoDataFrame, audience: str
) -> pd.DataFrame:
    from .people import _cells

    prev_cells = _cells(previous, HOT_RESOLUTION).dropna().value_counts()
    rows = []
    for rank, (cid, name, n) in enumerate(
        zip(cells["hotspot_id"], cells["name"], cells["incidents"], strict=True), 1
    ):
        before = int(prev_cells.get(cid, 0))
        rows.append(
            {
                "rank": rank,
                "hotspot_id": cid,
                "name": name,
                "incidents": int(n),
                "previous": publish_count(before, audience),
            }
        )
    return pd.DataFrame(rows, columns=["rank", "hotspot_id", "name", "incidents", "previous"])


def build_profile(
    db: Path | str,
    *,
    from_date: dt.date,
    to_date: dt.date,
    audience: str = "analyst",
    area: BaseGeometry | None = None,
    with_referral_places: bool = False,
    flag_groups: dict[str, list[str]] | None = None,
    scope_school: str | None = None,
) -> Profile:
    """Compute a problem profile for a period.

    Parameters
    ----------
    db
        The incident store.
    from_date, to_date
        The period (inclusive local dates); the previous period of the same length is read
        for the trend.
    audience
        ``analyst`` (exact counts, record-level lists) or ``partners`` (the 10-5 rule, no
        record-level content).
    area
        Restrict to an area (EPSG:27700), e.g. a neighbourhood role's wards.
    with_referral_places
        Count places named in referrals with the incidents in the map and hotspots (off by
        default; the report says so when on).
    flag_groups
        Name -> flags; default :class:`geosafe.settings.ProfileSettings` ``flag_groups``.
    scope_school
        Only records of this school (URN) and the people they name (a school role).
    """
    if audience not in AUDIENCES:
        msg = f"`audience` {audience!r} is not one of {', '.join(AUDIENCES)}."
        raise ValidationError(msg)
    if from_date > to_date:
        msg = f"`--from` {from_date.isoformat()!r} is after `--to` {to_date.isoformat()!r}; swap them."
        raise ValidationError(msg)
    if flag_groups is None:
        from ..settings import ProfileSettings

        flag_groups = ProfileSettings().flag_groups
    days = (to_date - from_date).days + 1
    prev = (from_date - dt.timedelta(days=days), from_date - dt.timedelta(days=1))
    data = load_profile_data(
        db, filt=IncidentFilter(from_date=from_date, to_date=to_date), area=area
    )
    before = load_profile_data(
        db, filt=IncidentFilter(from_date=prev[0], to_date=prev[1]), area=area
    )
    if scope_school is not None:
        data = _scoped(data, scope_school)
        before = _scoped(before, scope_school)
    inc = data.incidents
    located = inc[inc.geometry.notna()]
    extra_note = []
    if with_referral_places and not data.places.empty:
        named = places_as_incidents(data)
        located = pd.concat([located, named], ignore_index=True)
        located = gpd.GeoDataFrame(located, geometry="geometry", crs=CRS_BNG)
        extra_note.append(
            f"Places named in referrals ({len(named)} mentions) are counted with the incidents "
            "in the map and hotspots of this report, as asked (--with-referral-places)."
        )
    pub = lambda df: _publish_table(df, audience)  # noqa: E731
    cells = _cells_published(located, audience)
    ov = overlap(data, hotspots=hot_cells(located)).to_json(audience)
    counts = fl.flag_counts(data)
    flag_rows = [
        {"source": s, "flag": f, "Y": c["Y"], "N": c["N"], "not_recorded": c["unknown"]}
        for s, per in counts.items()
        for f, c in per.items()
    ]
    groups = fl.flag_groups(data, flag_groups)
    group_rows = [
        {
            "group": g.name,
            "flags": ", ".join(g.flags),
            "records": g.records,
            "of_records": g.of_records,
            "records_not_recorded": g.records_not_recorded,
            "people": g.people,
            "of_people": g.of_people,
        }
        for g in groups
    ]
    months = _months(from_date, to_date)
    heat = pub(_heat(inc))
    monthly = pub(_monthly(inc, months).reset_index()).set_index("month")
    places = place_table(data)
    prev_places = (
        place_table(before).set_index("place")["referrals"]
        if len(before.places)
        else pd.Series(dtype=int)
    )
    if not places.empty:
        places["previous"] = [int(prev_places.get(p, 0)) for p in places["place"]]
    by_source = _by_source(data)
    tables: dict[str, pd.DataFrame] = {
        "by_source": pub(by_source),
        "flag_groups": pub(pd.DataFrame(group_rows)),
        "flags": pub(pd.DataFrame(flag_rows, columns=["source", "flag", "Y", "N", "not_recorded"])),
        "by_school": pub(_by_school(data)),
        "hour_weekday": heat.reset_index(),
        "by_month": monthly.reset_index(),
        "overlap": pd.DataFrame(
            [
                {"sources": " & ".join(r["sources"]), "people": r["people"]}
                for r in ov["intersections"]
            ],
            columns=["sources", "people"],
        ),
        "hotspots": _hotspot_table(cells, before.incidents, audience),
        "places_named_in_referrals": _named_places_published(pub(places), audience),
    }
    if audience == "analyst":
        tables["peer_groups"] = pd.DataFrame(
            [
                {
                    "group_id": g["group_id"],
                    "size": g["size"],
                    "records": g["records"],
                    "sources": " & ".join(g["sources"]),
                    "schools": len(g["schools"]),
                    "hotspots": len(g["hotspots"]),
                }
                for g in ov["peer_groups"].get("list", [])
            ],
            columns=["group_id", "size", "records", "sources", "schools", "hotspots"],
        )
        tables["contradictions"] = fl.contradictions(data)
        from ..protect.evaluate import interventions_table  # issue 13: what was done, and after

        tables["interventions"] = interventions_table(db)
    # the partners' tables must not name a place only a note's free text gives
    caveats = _caveats(data, by_source, counts, audience)
    method = _method(audience, len(cells), extra_note)
    from .. import datasets

    context = datasets.boroughs()
    map_svg = charts.hotspot_map(
        context=context,
        cells=cells,
        points=located if audience == "analyst" else None,
        places=(data.places[data.places.geometry.notna()] if audience == "analyst" else None),
        extent=area,
    )
    headline = {
        "records": publish_count(len(inc), audience),
        "people": ov["people"]["distinct"],
        "in_two_or_more_sources": ov["people"]["in_two_or_more_sources"],
        "peer_groups": ov["peer_groups"]["groups"],
        "groups": {g.name: publish_count(g.records, audience) for g in groups},
    }
    return Profile(
        audience=audience,
        from_date=from_date,
        to_date=to_date,
        previous=prev,
        tables=tables,
        overlap=ov,
        heat=heat,
        monthly=monthly,
        map_svg=map_svg,
        caveats=caveats,
        method=method,
        records_read=len(inc) + len(before.incidents),
        headline=headline,
    )


def default_period(db: Path | str, *, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The quarter of the store's latest record, or the one before while it has not ended (a
    whole published period: the default of ``/reports/profile``)."""
    from ..store import open_store

    today = today or dt.date.today()
    latest = today
    with open_store(db) as store:
        (row,) = store.query(
            "SELECT MAX(t_from) FROM incidents WHERE current = 1 AND batch_id IN "
            "(SELECT batch_id FROM batches WHERE status = 'committed')"
        )
    if row and row[0] is not None:
        last = pd.Timestamp(row[0], unit="s", tz="UTC").tz_convert("Europe/London").date()
        latest = min(latest, last)
    q = pd.Period(latest, freq="Q")
    if today <= q.end_time.date():
        q = q - 1  # that quarter has not ended yet: the one before
    return q.start_time.date(), q.end_time.date()


def _named_places_published(table: pd.DataFrame, audience: str) -> pd.DataFrame:
    """Partners see a place named in referrals only when its referral count is published
    (10 or more): a listed name alone would say that some note named it."""
    if audience == "analyst" or table.empty:
        return table
    return table[table["referrals"].notna()].reset_index(drop=True)


def _scoped(data: ProfileData, urn: str) -> ProfileData:
    """Only the school's records (its referrals and list entries) and the other records
    naming the same people."""
    inc = data.incidents
    own = set(inc.loc[inc["school_urn"].astype(str) == str(urn), "incident_id"])
    people = set(data.links.loc[data.links["incident_id"].isin(own), "person_key"])
    ids = own | set(data.links.loc[data.links["person_key"].isin(people), "incident_id"])
    keep = lambda df: df[df["incident_id"].isin(ids)].reset_index(drop=True)  # noqa: E731
    return ProfileData(
        incidents=inc[inc["incident_id"].isin(ids)],
        links=keep(data.links),
        flags=keep(data.flags),
        places=keep(data.places),
        filter=data.filter,
        area=data.area,
    )


def _caveats(
    data: ProfileData,
    by_source: pd.DataFrame,
    counts: dict[str, dict[str, dict[str, int]]],
    audience: str,
) -> list[str]:
    out = []
    for row in by_source.itertuples():
        if row.without_location:
            n = publish_count(int(row.without_location), audience)  # type: ignore[arg-type]
            shown = "fewer than 10" if n is None else str(n)
            out.append(
                f"{row.source}: {shown} of the records have no location and are not on the map"
                + (
                    " (a referral is never placed: see places named in referrals)"
                    if row.source == "fap"
                    else ""
                )
                + "."
            )
    for src, per in counts.items():
        blank = [(f, c["unknown"], sum(c.values())) for f, c in per.items() if c["unknown"]]
        if blank:
            worst = sorted(blank, key=lambda t: -t[1] / max(1, t[2]))[:4]
            share = ", ".join(f"{f} {100 * u / max(1, t):.0f}%" for f, u, t in worst)
            out.append(
                f"{src}: flags are not recorded on part of the records (blank, not N): {share}. "
                "Counts of flagged records are therefore lower bounds."
            )
    if data.links.empty:
        out.append(
            "No record in the period names a person (person_ref): overlaps cannot be counted."
        )
    else:
        named = data.links["incident_id"].nunique()
        if named < len(data.incidents):
            out.append(
                "People are counted only where a record carries a person_ref: records without "
                "one add no one to the overlap."
            )
    return out


def _method(audience: str, n_cells: int, extra: list[str]) -> list[str]:
    out = [
        "Records are read from the incident store for the period (local dates, inclusive); the "
        "trend compares with the period of the same length just before it.",
        "People are counted by a pseudonymous key: the partnership's person_ref re-keyed with "
        "HMAC-SHA-256 under a key held outside the store. The same young person named with the "
        "same person_ref in two sources counts once. Intersections count people in exactly that "
        "combination of sources.",
        "A peer group is a set of people joined by appearing together on one record (a report "
        "or referral naming several people), directly or through others.",
        "Flags have three states: Y, N and not recorded (blank). Not recorded is never counted "
        "as N. A flag group counts records (or people) with any flag of the group Y.",
        "Places named in referrals are places of concern named in the referral notes, not "
        "incidents: they are a table of their own and are not counted as incidents unless said.",
        f"Hotspots are H3 resolution-{HOT_RESOLUTION} cells (about 0.7 km²) holding at least "
        f"{HOT_CELL_MIN if audience == 'analyst' else 10} located incidents in the period "
        f"({n_cells} cells), named by the place most often recorded in them.",
        "Hour-by-weekday counts use records with a clock time only (police.uk months, CRIS and "
        "FAP dates have none).",
    ]
    if audience != "analyst":
        out.append(
            "Disclosure: counts from 1 to 9 are suppressed (shown as 'fewer than 10') and all "
            "other counts are rounded to the nearest 5 (ONS practice); the map shows cells of "
            "about 0.7 km² drawn from rounded counts; no record-level content is included. "
            "Rounded figures may not add up to totals."
        )
    return out + extra


# ---------------------------------------------------------------------------- rendering

_CSS: Final = """
@page { size: A4; margin: 14mm 12mm; }
body { font-family: 'DejaVu Sans', Arial, sans-serif; font-size: 11px; color: #222; margin: 0 auto; max-width: 760px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 18px 0 6px; border-bottom: 2px solid #2e4057; }
.meta { color: #555; margin-bottom: 10px; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; }
.card { border: 1px solid #ccd; border-radius: 4px; padding: 6px 10px; min-width: 120px; }
.card b { display: block; font-size: 18px; }
table { border-collapse: collapse; margin: 4px 0 8px; page-break-inside: auto; }
tr { page-break-inside: avoid; }
th, td { border: 1px solid #ccc; padding: 2px 5px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
table.heat td { width: 34px; text-align: center; font-size: 9px; padding: 1px; }
section { page-break-inside: avoid; }
h2, h3 { page-break-after: avoid; }
.pb { page-break-before: always; }
.note { color: #555; font-size: 10px; }
.badge { background: #2e4057; color: #fff; padding: 1px 6px; border-radius: 3px; font-size: 10px; }
"""


def _cell(v: Any, column: str) -> str:
    if column in COUNT_COLUMNS and (v is None or (not isinstance(v, str) and pd.isna(v))):
        return "fewer than 10"
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return html.escape("" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))


def _html_table(df: pd.DataFrame, *, limit: int = 40) -> str:
    if df.empty:
        return '<p class="note">None in the period.</p>'
    cols = list(df.columns)
    head = "".join(f"<th>{html.escape(str(c).replace('_', ' '))}</th>" for c in cols)
    body = []
    for _, r in df.head(limit).iterrows():
        body.append("<tr>" + "".join(f"<td>{_cell(r[c], c)}</td>" for c in cols) + "</tr>")
    more = f'<p class="note">{len(df) - limit} more rows in the CSV.</p>' if len(df) > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def render_html(p: Profile) -> str:
    """The self-contained HTML page (inline CSS and SVG; no script, no external resource)."""
    t = p.tables
    h = p.headline

    def num(v: object) -> str:
        return "fewer than 10" if v is None else html.escape(str(v))

    cards = [
        ("records", h["records"]),
        ("young people named", h["people"]),
        ("in two or more sources", h["in_two_or_more_sources"]),
        ("peer groups", h["peer_groups"]),
        *((f"records: {k}", v) for k, v in h["groups"].items()),
    ]
    card_html = "".join(
        f'<div class="card"><b>{num(v)}</b>{html.escape(k)}</div>' for k, v in cards
    )
    title = "Problem profile" + (
        " - partners' version" if p.audience != "analyst" else " - analyst version"
    )
    ov = p.overlap
    inter = [(r["sources"], r["people"]) for r in ov["intersections"]]
    groups = ov["peer_groups"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">Period {p.from_date.isoformat()} to {p.to_date.isoformat()} '
        f"(previous period {p.previous[0].isoformat()} to {p.previous[1].isoformat()}). "
        f'<span class="badge">{html.escape(p.audience)}</span></p>',
        f'<div class="cards">{card_html}</div>',
        "<section><h2>Records by source</h2>",
        _html_table(t["by_source"]),
        "</section><section><h2>Flag groups</h2>",
        _html_table(t["flag_groups"]),
        '<p class="note">records: with any flag of the group Y; of records: records that '
        "record any of these flags; records not recorded: no Y and at least one blank.</p>",
        "</section><section><h2>The same young people across sources</h2>",
        charts.overlap_bars(inter),
        f"<p>Peer groups: {num(groups['groups'])} ({num(groups['people_in_groups'])} people); "
        f"{num(groups['groups_touching_two_or_more_schools'])} touch two or more schools. "
        f"People linked to two or more schools: {num(ov['people']['linked_to_two_or_more_schools'])}; "
        f"to two or more hotspots: {num(ov['people']['linked_to_two_or_more_hotspots'])}.</p>",
    ]
    if "peer_groups" in t:
        parts += ["<h3>Peer groups (analysts only)</h3>", _html_table(t["peer_groups"], limit=20)]
    parts += [
        "</section>",
        '<section class="pb"><h2>Hotspots and places named in referrals</h2>',
        p.map_svg,
        '<p class="note">Numbered cells: hotspots (table below). '
        + (
            "Blue dots: located incidents; yellow triangles: places named in referrals.</p>"
            if p.audience == "analyst"
            else "Cells are drawn from rounded counts.</p>"
        ),
        _html_table(t["hotspots"], limit=15),
        "<h3>Places named in referrals</h3>",
        _html_table(t["places_named_in_referrals"], limit=15),
        "</section>",
        '<section class="pb"><h2>When: hour of day by day of week</h2>',
        charts.heat_table(p.heat),
        "</section><section><h2>Monthly trend</h2>",
        charts.trend_chart(p.monthly),
        "</section><section><h2>Schools</h2>",
        _html_table(t["by_school"], limit=25),
        "</section><section><h2>Flags: recorded or not</h2>",
        _html_table(t["flags"], limit=40),
        "</section>",
    ]
    if "contradictions" in t:
        parts += [
            "<section><h2>For review: text suggesting a flag that is not set (analysts only)</h2>",
            _html_table(t["contradictions"], limit=30),
            "</section>",
        ]
    if "interventions" in t and len(t["interventions"]):
        parts += [
            "<section><h2>Interventions and change after them (analysts only)</h2>",
            _html_table(t["interventions"], limit=30),
            '<p class="note">Change: incidents in the area after the start, against the '
            "comparison wards' change over the same months (difference in differences, 95% "
            "interval); displacement: the same in a 400 m ring around the area. "
            "`geosafe intervention evaluate ID` gives the months and counts.</p>",
            "</section>",
        ]
    parts += [
        "<section><h2>Caveats</h2><ul>",
        *(f"<li>{html.escape(c)}</li>" for c in p.caveats),
        "</ul></section><section><h2>Method</h2><ul>",
        *(f"<li>{html.escape(m)}</li>" for m in p.method),
        "</ul></section>",
        attribution_html(),
        "</body></html>",
    ]
    return "\n".join(parts)


def _chromium() -> str | None:
    from ..settings import ReportSettings

    for name in (
        ReportSettings().chromium,
        "chromium",
        "chromium-browser",
        "google-chrome",
    ):
        if name and (path := shutil.which(name)):
            return path
    return None


def print_pdf(html_path: Path, pdf_path: Path, *, timeout_s: float = 120.0) -> None:
    """Print a local HTML file to PDF with headless Chromium (Debian's ``chromium``).

    Raises
    ------
    ConfigurationError
        No Chromium found (install Debian's ``chromium``, or set ``GEOSAFE_CHROMIUM``), or it
        failed.
    """
    exe = _chromium()
    if exe is None:
        msg = (
            "no Chromium to print profile.pdf; install Debian's `chromium` (scripts/setup.sh "
            "--test) or set GEOSAFE_CHROMIUM, or pass `--no-pdf`."
        )
        raise ConfigurationError(msg)
    with tempfile.TemporaryDirectory(prefix="geosafe-pdf-") as profile_dir:
        cmd = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-extensions",
            "--no-first-run",
            "--no-pdf-header-footer",
            f"--user-data-dir={profile_dir}",
            f"--print-to-pdf={pdf_path}",
            html_path.resolve().as_uri(),
        ]
        res = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
    if res.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        msg = f"Chromium could not print {str(html_path)!r} (exit {res.returncode}): {res.stderr[-400:]!r}"
        raise ConfigurationError(msg)


def write_profile(p: Profile, out_dir: Path | str, *, pdf: bool = True) -> list[str]:
    """Write ``profile.html``, ``profile.pdf`` (unless ``pdf=False``) and one CSV per table
    into ``out_dir``; return the file names written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in p.tables.items():
        df.to_csv(out / f"{name}.csv", index=False)
        written.append(f"{name}.csv")
    page = out / "profile.html"
    page.write_text(render_html(p), encoding="utf-8")
    written.append(page.name)
    if pdf:
        print_pdf(page, out / "profile.pdf")
        written.append("profile.pdf")
    return sorted(written)
