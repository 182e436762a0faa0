"""The placement check for a Fair Access Panel decision: one pupil's journeys to and from each
candidate school, side by side.

For a home (a referral's home postcode, or a postcode given) and one or more candidate
schools: the walking and bus journeys to school (arriving by the bell) and home (leaving at
it), each with its exposure and safer alternative (:func:`geosafe.risk.journeys.
assess_journeys`); the named hotspots they cross, with times of day and trend
(:func:`geosafe.risk.route_places.rank_places`); and the places named in the pupil's own referral
notes (found by the gazetteer) that lie near a route: within ``max(150 m, half the place's
size)`` of it (a park's size is its own extent, a street's ~300 m).

It supports a decision; it does not recommend one: nothing here ranks the candidates.
Analyst only (it reads a referral's notes and home postcode).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import shapely

from .._errors import NotFoundError, ValidationError
from ..geocode.places import Gazetteer, Place
from ..network.journeys import JourneyResult
from ..network.origins import Origins, school_location
from ..network.walk import WalkNetwork
from .exposure import ExposureModel
from .journeys import assess_journeys
from .naming import PlaceNamer
from .route_places import JourneyWindow, rank_places

__all__ = [
    "NOTE_FIELDS",
    "NOT_A_RECOMMENDATION",
    "CandidateCheck",
    "PlacementCheck",
    "check_placement",
    "referral_home_and_notes",
]

#: Said on every placement page and in every output.
NOT_A_RECOMMENDATION: Final = (
    "This check supports a Fair Access Panel decision; it does not recommend one. It sets "
    "out the journeys and what lies along them for each candidate school, and leaves the "
    "weighing to the panel."
)
#: FAP free-text fields searched for named places.
NOTE_FIELDS: Final = ("notes_peer_group", "notes_school", "notes_neighbourhood")
#: The journeys checked per candidate: (label, direction, mode).
JOURNEYS: Final = (
    ("walk to school", "to-school", "walk"),
    ("bus to school", "to-school", "bus"),
    ("walk home", "from-school", "walk"),
    ("bus home", "from-school", "bus"),
)


@dataclass(frozen=True)
class CandidateCheck:
    """One candidate school's journeys and what lies along them (EPSG:27700).

    Attributes
    ----------
    school_urn, school_name, school_xy
        The school.
    journeys
        ``label`` -> :class:`~geosafe.network.journeys.JourneyResult` (see :data:`JOURNEYS`).
    places
        Named hotspots the journeys cross (:func:`~geosafe.risk.route_places.rank_places`) with
        ``journeys``: the labels of the journeys crossing each.
    referral_places
        Places named in the referral's notes near a route: ``name``, ``kind``, ``field``,
        ``journeys`` (labels), ``distance_m`` (to the nearest route), ``point``.
    """

    school_urn: str
    school_name: str
    school_xy: tuple[float, float]
    journeys: dict[str, JourneyResult]
    places: gpd.GeoDataFrame
    referral_places: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class PlacementCheck:
    """The placement check: the home, the day, and one :class:`CandidateCheck` per school."""

    home_label: str
    home_xy: tuple[float, float]
    referral_id: str | None
    date: dt.date
    date_reason: str
    arrive_by: dt.time
    depart: dt.time
    candidates: list[CandidateCheck]
    notes_places: list[dict[str, Any]]
    statement: str = NOT_A_RECOMMENDATION
    #: Safe places (:func:`geosafe.protect.safe_places.load_safe_places`) to count along the
    #: journeys; ``None`` when none were imported.
    safe_places: Any = None

    def safe_places_of(self, j: JourneyResult) -> dict[str, Any]:
        """What a journey passes (:func:`geosafe.protect.safe_places.journey_safe_places`);
        ``{}`` without safe places or for an impossible journey."""
        if self.safe_places is None or j.error is not None:
            return {}
        from ..protect.safe_places import journey_safe_places

        return journey_safe_places(j, self.safe_places, day=self.date)


def referral_home_and_notes(store: Any, referral_id: str) -> tuple[str, dict[str, str]]:
    """A FAP referral's home postcode and its notes (:data:`NOTE_FIELDS`).

    Raises
    ------
    NotFoundError
        When the store holds no referral with that id.
    """
    fap = store.incidents(sources=["fap"], with_location=False)
    hit = fap[fap["source_ref"].astype(str) == str(referral_id)] if not fap.empty else fap
    if hit.empty:
        msg = (
            f"`referral` {referral_id!r} is not a FAP referral in the store; pass a "
            "referral_id that was imported (`geosafe import fap FILE`)."
        )
        raise NotFoundError(msg)
    detail = hit["detail"].iloc[0] or {}
    home = str(detail.get("home_postcode") or "")
    if not home:
        msg = f"referral {referral_id!r} has no home postcode; pass --home-postcode instead."
        raise ValidationError(msg)
    notes = {f: str(detail.get(f) or "") for f in NOTE_FIELDS}
    return home, notes


def _named_places(notes: dict[str, str], gazetteer: Gazetteer) -> list[tuple[str, Place]]:
    out: list[tuple[str, Place]] = []
    seen: set[tuple[str, str]] = set()
    for fname, text in notes.items():
        for m in gazetteer.places_in(text):
            p = m.place
            if p is not None and (p.name, p.kind) not in seen:
                seen.add((p.name, p.kind))
                out.append((fname, p))
    return out


def _near_routes(
    named: Sequence[tuple[str, Place]], journeys: dict[str, JourneyResult]
) -> list[dict[str, Any]]:
    out = []
    for fname, p in named:
        reach = max(150.0, p.precision_m / 2.0)
        dists = {
            label: float(j.geometry.distance(p.point))
            for label, j in journeys.items()
            if j.error is None and j.geometry is not None
        }
        near = [label for label, d in dists.items() if d <= reach]
        if near:
            out.append(
                {
                    "name": p.name,
                    "kind": p.kind,
                    "field": fname,
                    "journeys": near,
                    "distance_m": round(min(dists[k] for k in near), 0),
                    "point": p.point,
                }
            )
    return out


def check_placement(
    home_xy: tuple[float, float],
    schools: Sequence[str],
    *,
    home_label: str,
    network: WalkNetwork,
    router: Any | None,
    morning: ExposureModel | None,
    afternoon: ExposureModel | None,
    arrive_by: dt.time,
    depart: dt.time,
    date: dt.date,
    date_reason: str = "",
    notes: dict[str, str] | None = None,
    referral_id: str | None = None,
    namer: PlaceNamer | None = None,
    gazetteer: Gazetteer | None = None,
    data_dir: Path | str | None = None,
    safe_places: Any = None,
) -> PlacementCheck:
    """Journeys from one home to and from each candidate school (see the module notes).

    Parameters
    ----------
    home_xy
        The pupil's home (EPSG:27700; a postcode centroid).
    schools
        Candidate schools' URNs (bundled school list).
    home_label
        How the home is named on the page (its postcode).
    network, router
        Walking network; transit router (``None``: no bus journeys).
    morning, afternoon
        Exposure models of the morning and the afternoon school-run windows.
    arrive_by, depart
        The bells: arrive by (to school), leave at (home).
    date
        The day of travel.
    notes
        The referral's notes by field (:data:`NOTE_FIELDS`), searched for named places.
    namer, gazetteer
        Place naming (:class:`PlaceNamer`) and the gazetteer for the notes.
    safe_places
        Safe places to count along each journey ("passes 2 safe places"), open or not when
        the pupil walks by on ``date``.

    Returns
    -------
    PlacementCheck
    """
    if not schools:
        raise ValidationError("`school` is required; pass one or more candidate URNs.")
    gaz = gazetteer or Gazetteer.load(data_dir)
    named = _named_places(notes or {}, gaz)
    origins = Origins((home_label,), np.array([home_xy]), np.ones(1, np.int64), (None,), "point")
    candidates = []
    for urn in dict.fromkeys(str(s) for s in schools):
        school_xy, name = school_location(urn, data_dir=data_dir)
        journeys: dict[str, JourneyResult] = {}
        for label, direction, mode in JOURNEYS:
            if mode == "bus" and router is None:
                continue
            home = direction == "from-school"
            (j,) = assess_journeys(
                urn,
                origins,
                mode=mode,
                bell=depart if home else arrive_by,
                date=date,
                direction=direction,
                network=network,
                router=router,
                model=afternoon if home else morning,
                data_dir=data_dir,
            )
            journeys[label] = j
        windows = [
            JourneyWindow("morning", [journeys[k] for k in journeys if "to school" in k], morning),
            JourneyWindow("afternoon", [journeys[k] for k in journeys if "home" in k], afternoon),
        ]
        places, _ = rank_places(
            windows,
            name=namer.name if namer is not None else (lambda g: "unnamed place"),
            publish=lambda v: [int(x) for x in v],
        )
        if not places.empty:
            crossing = []
            for geom in places.geometry:
                crossing.append(
                    ", ".join(
                        k
                        for k, j in journeys.items()
                        if j.error is None
                        and j.geometry is not None
                        and j.geometry.intersects(geom)
                    )
                )
            places = places.assign(journeys=crossing)
        candidates.append(
            CandidateCheck(urn, name, school_xy, journeys, places, _near_routes(named, journeys))
        )
    notes_places = [{"name": p.name, "kind": p.kind, "field": f} for f, p in named]
    return PlacementCheck(
        home_label,
        home_xy,
        referral_id,
        date,
        date_reason,
        arrive_by,
        depart,
        candidates,
        notes_places,
        safe_places=safe_places if safe_places is not None and len(safe_places) else None,
    )


def placement_json(check: PlacementCheck) -> dict[str, Any]:
    """The check as JSON (analyst only: it names the home postcode and referral places)."""

    def journey(j: JourneyResult) -> dict[str, Any]:
        def num(v: float | None, nd: int = 1) -> float | None:
            return None if v is None or not np.isfinite(v) else round(float(v), nd)

        return {
            "mode": j.mode,
            "direction": j.direction,
            "depart_s": num(j.depart_s, 0),
            "arrive_s": num(j.arrive_s, 0),
            "duration_s": num(j.duration_s, 0),
            "distance_m": num(j.distance_m),
            "exposure": num(j.exposure, 4),
            "alt_exposure": num(j.alt_exposure, 4),
            "hotspots_crossed": list(j.hotspots_crossed),
            "error": j.error,
            **check.safe_places_of(j),
        }

    return {
        "statement": check.statement,
        "referral_id": check.referral_id,
        "home": check.home_label,
        "date": check.date.isoformat(),
        "date_reason": check.date_reason,
        "arrive_by": check.arrive_by.strftime("%H:%M"),
        "depart": check.depart.strftime("%H:%M"),
        "places_named_in_notes": check.notes_places,
        "candidates": [
            {
                "school_urn": c.school_urn,
                "school_name": c.school_name,
                "journeys": {k: journey(j) for k, j in c.journeys.items()},
                "places": [
                    {k: (v if not isinstance(v, np.generic) else v.item()) for k, v in row.items()}
                    for row in c.places.drop(columns="geometry").to_dict(orient="records")
                ],
                "referral_places_near_routes": [
                    {k: v for k, v in r.items() if k != "point"} for r in c.referral_places
                ],
            }
            for c in check.candidates
        ],
    }


def candidate_bounds(c: CandidateCheck, home_xy: tuple[float, float]) -> tuple[float, ...]:
    """A map frame around the home, the school and the journeys."""
    geoms: list[Any] = [shapely.Point(home_xy).buffer(300), shapely.Point(c.school_xy).buffer(300)]
    geoms += [j.geometry for j in c.journeys.values() if j.geometry is not None]
    x0, y0, x1, y1 = shapely.union_all(geoms).bounds
    pad = 0.06 * max(x1 - x0, y1 - y0)
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad
