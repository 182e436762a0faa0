"""The same young people across siloes: distinct people per source and across sources, the
overlaps (an UpSet-style table), people linked to more than one school or hotspot, and peer
groups (people who appear together on one record, joined transitively).

People are counted by their ``person_key`` (the HMAC of their ``person_ref``): the same
young person named in a DIR, a CRIS report and a FAP referral with the same agreed pseudonym
counts once. Nothing here ever sees a reference as given.

Outside the analyst role every count follows the 10-5 rule (1-9 suppressed, others rounded to
the nearest 5; :func:`publish_count`) and no peer group is shown as a network.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Final

import geopandas as gpd
import h3
import numpy as np
import pandas as pd

from .data import ProfileData

__all__ = [
    "AUDIENCES",
    "Overlap",
    "PeerGroup",
    "hot_cells",
    "overlap",
    "person_hotspots",
    "publish_count",
    "ward_names",
]

AUDIENCES: Final = ("analyst", "partners")
#: Counts below this (and above 0) are suppressed outside the analyst role; others rounded.
SUPPRESS_BELOW: Final = 10
ROUND_TO: Final = 5
#: A hot cell (the default hotspots): an H3 cell of this resolution holding at least
#: :data:`HOT_CELL_MIN` of the filtered located incidents.
HOT_RESOLUTION: Final = 8
HOT_CELL_MIN: Final = 5


def publish_count(n: int, audience: str) -> int | None:
    """A count as ``audience`` may see it: exact for analysts; else ``None`` (suppressed)
    for 1-9 and others rounded to the nearest 5 (ONS practice, as the school role)."""
    if audience == "analyst":
        return int(n)
    if 0 < n < SUPPRESS_BELOW:
        return None
    return int(np.floor(n / ROUND_TO + 0.5) * ROUND_TO)


def hot_cells(
    incidents: gpd.GeoDataFrame,
    *,
    resolution: int = HOT_RESOLUTION,
    min_incidents: int = HOT_CELL_MIN,
) -> gpd.GeoDataFrame:
    """The default hotspots: H3 cells holding at least ``min_incidents`` located incidents,
    named by the place most often given for them (``location_text``), else the cell id.

    Returns
    -------
    geopandas.GeoDataFrame
        ``hotspot_id`` (the cell), ``name``, ``incidents``, cell polygon (EPSG:27700).
    """
    cells = _cells(incidents, resolution)
    located = incidents.assign(_cell=cells)[cells.notna()]
    if located.empty:
        return gpd.GeoDataFrame(
            {"hotspot_id": [], "name": [], "incidents": []}, geometry=[], crs=incidents.crs
        )
    counts = located.groupby("_cell").size()
    hot = counts[counts >= min_incidents].sort_values(ascending=False)
    names = []
    for cell in hot.index:
        texts = located.loc[located["_cell"] == cell, "location_text"].dropna().astype(str)
        texts = texts[texts.str.strip() != ""]
        names.append(texts.value_counts().index[0] if len(texts) else cell)
    from shapely.geometry import Polygon

    polys = [Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(c)]) for c in hot.index]
    gdf = gpd.GeoDataFrame(
        {"hotspot_id": list(hot.index), "name": names, "incidents": hot.to_numpy(dtype=int)},
        geometry=gpd.GeoSeries(polys, crs="EPSG:4326"),
    ).to_crs(incidents.crs)
    wards = ward_names(gdf)
    gdf["name"] = [f"{w} ({n})" if w and n != c else (w or n) for w, n, c in
                   zip(wards, gdf["name"], gdf["hotspot_id"], strict=True)]  # fmt: skip
    return gdf


def ward_names(cells: gpd.GeoDataFrame) -> list[str | None]:
    """The 2018 ward holding each cell's centre (reference data: safe for any audience)."""
    if cells.empty:
        return []
    from .. import datasets

    wards = datasets.wards().to_crs(cells.crs)
    centres = gpd.GeoDataFrame(geometry=cells.geometry.centroid, crs=cells.crs)
    hit = gpd.sjoin(centres, wards[["name", "geometry"]], predicate="within", how="left")
    hit = hit[~hit.index.duplicated()]
    return [None if pd.isna(n) else str(n) for n in hit["name"]]


def _cells(incidents: pd.DataFrame, resolution: int) -> pd.Series:
    """Each located incident's H3 cell at ``resolution`` (incidents placed to within 500 m)."""
    out = pd.Series(None, index=incidents.index, dtype=object)
    if incidents.empty:
        return out
    ok = incidents["lon"].notna() & incidents["lat"].notna()
    ok &= incidents["precision_m"].fillna(np.inf) <= 500
    for idx, lon, lat in zip(
        incidents.index[ok], incidents.loc[ok, "lon"], incidents.loc[ok, "lat"], strict=True
    ):
        out.at[idx] = h3.latlng_to_cell(float(lat), float(lon), resolution)
    return out


def person_hotspots(
    data: ProfileData, hotspots: gpd.GeoDataFrame, *, with_referral_places: bool = False
) -> pd.DataFrame:
    """``person_key``, ``hotspot_id``: the hotspots a person's located records fall in (and,
    when asked, the places named in their referrals)."""
    cols = ["person_key", "hotspot_id"]
    if hotspots.empty or data.links.empty:
        return pd.DataFrame(columns=cols)
    pts = data.incidents[["incident_id", "geometry"]]
    pts = pts[pts.geometry.notna()]
    if with_referral_places and not data.places.empty:
        named = data.places[data.places.geometry.notna()][["incident_id", "geometry"]]
        pts = pd.concat([pts, named], ignore_index=True)
    pts = gpd.GeoDataFrame(pts, geometry="geometry", crs=hotspots.crs)
    hit = gpd.sjoin(pts, hotspots[["hotspot_id", "geometry"]], predicate="intersects")
    joined = data.links.merge(hit[["incident_id", "hotspot_id"]], on="incident_id")
    return joined[cols].drop_duplicates().reset_index(drop=True)


@dataclass(frozen=True)
class PeerGroup:
    """People joined by appearing together on records (transitively).

    ``members`` are person keys (HMACs); ``sources`` the source labels, ``schools`` the
    school URNs and ``hotspots`` the hotspot ids of the records any member appears on.
    """

    group_id: int
    members: tuple[str, ...]
    records: int
    sources: tuple[str, ...]
    schools: tuple[str, ...]
    hotspots: tuple[str, ...]

    @property
    def size(self) -> int:
        """Number of people."""
        return len(self.members)


@dataclass(frozen=True)
class Overlap:
    """People across sources (one run of :func:`overlap`)."""

    distinct: int
    by_source: dict[str, int]
    in_two_or_more: int
    intersections: list[tuple[tuple[str, ...], int]]
    pairs: list[tuple[tuple[str, str], int]]
    multi_school: int
    multi_hotspot: int | None
    groups: list[PeerGroup]
    edges: list[tuple[str, str, int]]
    records_with_people: int
    records: int
    notes: tuple[str, ...] = field(default=())

    def to_json(self, audience: str = "analyst") -> dict[str, Any]:
        """The ``geosafe overlap --format json`` object for ``audience``.

        ``people`` and ``intersections`` are the issue's interface; analysts also get
        ``network`` (short pseudonymous node ids: the first 10 hex digits of each key).
        """
        pub = lambda n: publish_count(n, audience)  # noqa: E731
        multi_groups = [g for g in self.groups if len(g.schools) > 1]
        out: dict[str, Any] = {
            "audience": audience,
            "people": {
                "distinct": pub(self.distinct),
                "by_source": {k: pub(v) for k, v in sorted(self.by_source.items())},
                "in_two_or_more_sources": pub(self.in_two_or_more),
                "linked_to_two_or_more_schools": pub(self.multi_school),
                "linked_to_two_or_more_hotspots": (
                    None if self.multi_hotspot is None else pub(self.multi_hotspot)
                ),
            },
            "intersections": [
                {"sources": list(s), "people": pub(n)} for s, n in self.intersections
            ],
            "pairs": [{"sources": list(s), "people": pub(n)} for s, n in self.pairs],
            "records": {"read": pub(self.records), "naming_people": pub(self.records_with_people)},
            "peer_groups": {
                "groups": pub(len(self.groups)),
                "people_in_groups": pub(sum(g.size for g in self.groups)),
                "groups_touching_two_or_more_schools": pub(len(multi_groups)),
            },
            "notes": list(self.notes),
        }
        if audience == "analyst":
            out["peer_groups"]["list"] = [
                {
                    "group_id": g.group_id,
                    "size": g.size,
                    "records": g.records,
                    "sources": list(g.sources),
                    "schools": list(g.schools),
                    "hotspots": list(g.hotspots),
                }
                for g in self.groups
            ]
            out["network"] = {
                "nodes": [
                    {"id": m[:10], "group_id": g.group_id} for g in self.groups for m in g.members
                ],
                "edges": [{"a": a[:10], "b": b[:10], "records": n} for a, b, n in self.edges],
            }
        else:
            out["notes"].append(
                "Counts of 1-9 are suppressed (null) and others rounded to the nearest 5; peer "
                "groups are shown as counts only."
            )
        return out


def overlap(
    data: ProfileData,
    *,
    hotspots: gpd.GeoDataFrame | None = None,
    with_referral_places: bool = False,
) -> Overlap:
    """Distinct people per source and across sources, overlaps, and peer groups.

    Parameters
    ----------
    data
        From :func:`geosafe.profile.data.load_profile_data` (filters already applied).
    hotspots
        Hotspot polygons with a ``hotspot_id`` (EPSG:27700); ``None`` uses :func:`hot_cells`
        of the filtered incidents.
    with_referral_places
        Also link people to hotspots through the places named in their referrals (places of
        concern, not incidents: off unless asked).

    Returns
    -------
    Overlap
    """
    links = data.links.merge(
        data.incidents[["incident_id", "label", "school_urn"]], on="incident_id"
    )
    notes = []
    by_person: dict[str, set[str]] = defaultdict(set)
    for key, label in zip(links["person_key"], links["label"], strict=True):
        by_person[key].add(label)
    by_source = links.groupby("label")["person_key"].nunique().astype(int).to_dict()
    combos: dict[tuple[str, ...], int] = defaultdict(int)
    for labels in by_person.values():
        combos[tuple(sorted(labels))] += 1
    intersections = sorted(combos.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    for labels in by_person.values():
        s = sorted(labels)
        for i, a in enumerate(s):
            for b in s[i + 1 :]:
                pairs[(a, b)] += 1
    schools = links.dropna(subset=["school_urn"])
    schools = schools[schools["school_urn"].astype(str).str.strip() != ""]
    per_school = schools.groupby("person_key")["school_urn"].nunique()
    if hotspots is None:
        hotspots = hot_cells(data.incidents)
        notes.append(
            f"Hotspots: H3 resolution-{HOT_RESOLUTION} cells holding at least {HOT_CELL_MIN} of "
            f"the selected located incidents ({len(hotspots)} cells)."
        )
    ph = person_hotspots(data, hotspots, with_referral_places=with_referral_places)
    if with_referral_places:
        notes.append("People are linked to hotspots through places named in referrals too.")
    per_hot = ph.groupby("person_key")["hotspot_id"].nunique()
    groups, edges = _peer_groups(links, ph)
    return Overlap(
        distinct=len(by_person),
        by_source={str(k): int(v) for k, v in by_source.items()},
        in_two_or_more=sum(1 for v in by_person.values() if len(v) >= 2),
        intersections=intersections,
        pairs=sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0])),
        multi_school=int((per_school > 1).sum()),
        multi_hotspot=int((per_hot > 1).sum()),
        groups=groups,
        edges=edges,
        records_with_people=int(links["incident_id"].nunique()),
        records=len(data.incidents),
        notes=tuple(notes),
    )


def _peer_groups(
    links: pd.DataFrame, person_hot: pd.DataFrame
) -> tuple[list[PeerGroup], list[tuple[str, str, int]]]:
    """Connected components (size >= 2) of the graph whose edges join people named on one
    record, and the edges with the number of records each pair shares."""
    if links.empty:
        return [], []
    import scipy.sparse as sp  # on first use: ~20 MB a service would otherwise hold
    from scipy.sparse.csgraph import connected_components

    keys, person_idx = np.unique(links["person_key"].to_numpy(dtype=str), return_inverse=True)
    rec_codes, rec_idx = np.unique(links["incident_id"].to_numpy(dtype=str), return_inverse=True)
    # people x records incidence; people sharing a record are adjacent
    inc = sp.csr_matrix(
        (np.ones(len(links)), (person_idx, rec_idx)), shape=(len(keys), len(rec_codes))
    )
    inc.sum_duplicates()
    inc.data = np.minimum(inc.data, 1.0)  # a person named twice on one record links once
    adj = (inc @ inc.T).tocoo()
    n_comp, label = connected_components(adj, directed=False)
    edges = [
        (str(keys[a]), str(keys[b]), int(w))
        for a, b, w in zip(adj.row, adj.col, adj.data, strict=True)
        if a < b
    ]
    sizes = np.bincount(label, minlength=n_comp)
    hot_by_person = person_hot.groupby("person_key")["hotspot_id"].agg(set).to_dict()
    groups = []
    members_of: dict[int, list[str]] = defaultdict(list)
    for k, lab in zip(keys, label, strict=True):
        if sizes[lab] >= 2:
            members_of[int(lab)].append(str(k))
    for members in members_of.values():
        mine = links[links["person_key"].isin(members)]
        urns = mine["school_urn"].dropna().astype(str)
        hots: set[str] = set()
        for m in members:
            hots |= hot_by_person.get(m, set())
        groups.append(
            PeerGroup(
                group_id=0,
                members=tuple(sorted(members)),
                records=int(mine["incident_id"].nunique()),
                sources=tuple(sorted(set(mine["label"]))),
                schools=tuple(sorted(u for u in set(urns) if u.strip())),
                hotspots=tuple(sorted(map(str, hots))),
            )
        )
    groups.sort(key=lambda g: (-g.size, -len(g.schools), g.members))
    groups = [
        PeerGroup(i + 1, g.members, g.records, g.sources, g.schools, g.hotspots)
        for i, g in enumerate(groups)
    ]
    in_group = {m for g in groups for m in g.members}
    return groups, [e for e in edges if e[0] in in_group]
