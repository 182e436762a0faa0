"""The catalogue of published collections: what each collection is
(:class:`CollectionSpec`), and the analysis parameters a computed collection takes
(:class:`AnalysisParams`: filters, period and method parameters, validated here).

The default parameters are the school run over the last 12 months of data (the 365 days up
to the latest incident of the chosen sources; the twelve whole months up to the latest one
when that month holds month-dated records, as police.uk's are).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Final

from .._errors import NotFoundError, ValidationError
from ..incident import FLAG_NAMES, SOURCES

__all__ = [
    "COLLECTIONS",
    "DEFAULT_PARAMS",
    "FILTER_PARAMS",
    "INCIDENT_SCHEMA",
    "KDE_PARAMS",
    "AnalysisParams",
    "CollectionSpec",
    "describe_params",
    "replace_params",
    "spec",
]


@dataclass(frozen=True)
class AnalysisParams:
    """Filters, period and method parameters of a computed layer.

    Parameters
    ----------
    preset
        Named time window from :data:`geosafe.filters.PRESETS` (``"school-run"``: weekdays
        07:30-09:30 and 14:45-18:00 in term time) or ``None`` for all day.
    sources, categories, flags
        Keep incidents of these sources / categories / with any of these flags (empty: all).
    start, end
        The period analysed (dates, inclusive). ``None``: the 12 months up to the latest
        incident.
    bandwidth_m
        Kernel bandwidth, metres (the support radius of the quartic kernel, σ of the Gaussian).
    cell_m
        Density grid cell size, metres.
    kernel
        ``"quartic"`` or ``"gaussian"``.
    top_pct
        Hotspot polygons cover the densest ``top_pct`` percent of the grid's non-zero area.
    eps_m, min_samples
        DBSCAN neighbourhood radius (metres) and minimum points per cluster.
    resolution
        H3 resolution of ``h3-cells`` and ``emerging-cells`` (7..10).
    school
        School URN of ``journey-corridors`` (``None``: every school of the area).
    """

    preset: str | None = "school-run"
    sources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None
    bandwidth_m: float = 250.0
    cell_m: float = 25.0
    kernel: str = "quartic"
    top_pct: float = 5.0
    eps_m: float = 150.0
    min_samples: int = 5
    resolution: int = 9
    school: str | None = None

    def __post_init__(self) -> None:
        for name in self.sources:
            if name not in SOURCES:
                msg = f"`sources` {name!r} is not a source; use one of {', '.join(SOURCES)}."
                raise ValidationError(msg)
        for name in self.flags:
            if name not in FLAG_NAMES:
                msg = f"`flags` {name!r} is not a flag; use one of {', '.join(FLAG_NAMES)}."
                raise ValidationError(msg)
        if self.kernel not in ("quartic", "gaussian"):
            msg = f"`kernel` {self.kernel!r} is not supported; use 'quartic' or 'gaussian'."
            raise ValidationError(msg)
        _check_range("bandwidth_m", self.bandwidth_m, 10.0, 5000.0)
        _check_range("cell_m", self.cell_m, 5.0, 1000.0)
        _check_range("top_pct", self.top_pct, 0.1, 100.0)
        _check_range("eps_m", self.eps_m, 5.0, 5000.0)
        _check_range("min_samples", self.min_samples, 2, 1000)
        _check_range("resolution", self.resolution, 7, 10)
        if self.start is not None and self.end is not None and self.start > self.end:
            msg = f"`start` {self.start.isoformat()!r} is after `end` {self.end.isoformat()!r}; swap them."
            raise ValidationError(msg)

    def key(self) -> tuple[Hashable, ...]:
        """A hashable key of every field."""
        return tuple(getattr(self, f.name) for f in fields(self))

    def only(self, names: tuple[str, ...]) -> AnalysisParams:
        """These parameters with every field not in ``names`` reset to its default, so layers
        that ignore a parameter share one cache entry."""
        return replace(DEFAULT_PARAMS, **{n: getattr(self, n) for n in names if n in PARAM_NAMES})


def replace_params(params: AnalysisParams, **changes: Any) -> AnalysisParams:
    """``params`` with some fields changed (validated again)."""
    return replace(params, **changes)


def _check_range(name: str, value: float, lo: float, hi: float) -> None:
    if not lo <= value <= hi:
        msg = f"`{name}` {value!r} is out of range; pass a value between {lo:g} and {hi:g}."
        raise ValidationError(msg)


DEFAULT_PARAMS: Final = AnalysisParams()
PARAM_NAMES: Final = frozenset(f.name for f in fields(AnalysisParams))
FILTER_PARAMS: Final = ("preset", "sources", "categories", "flags", "start", "end")


@dataclass(frozen=True)
class CollectionSpec:
    """What a collection is and which parameters it takes."""

    id: str
    title: str
    description: str
    params: tuple[str, ...]
    roles: tuple[str, ...] = ("analyst", "school", "neighbourhood")
    geometry: str = "Polygon"
    temporal: bool = False
    #: The properties of every feature and their JSON types (``string``, ``number``,
    #: ``integer``, ``boolean``; ``date-time`` for RFC 3339 text), declared even when the
    #: collection is empty. Non-analysts get the subset their role may see.
    schema: tuple[tuple[str, str], ...] = ()
    #: What schools and neighbourhood teams get instead, when it differs: the geometry type
    #: and one sentence replacing the description (``journey-corridors``: published H3
    #: cells, not street stretches).
    public_geometry: str | None = None
    public_description: str | None = None

    def geometry_for(self, role: str) -> str:
        """The geometry type the ``role`` receives."""
        return self.geometry if role == "analyst" else self.public_geometry or self.geometry

    def description_for(self, role: str) -> str:
        """The description of what the ``role`` receives."""
        if role == "analyst" or self.public_description is None:
            return self.description
        return self.public_description

    @property
    def incident_level(self) -> bool:
        """Whether features are individual incidents (personal data): reads need a purpose
        and are audited, whatever the collection's name (``incidents``, ``incident-routes``)."""
        return self.schema is INCIDENT_SCHEMA

    def json_schema(
        self, fields: frozenset[str] | None = None, *, role: str = "analyst"
    ) -> dict[str, Any]:
        """The features' JSON Schema (OGC API - Features Part 5 style: ``x-ogc-role`` for
        the id and the geometry) as ``role`` receives them, restricted to ``fields`` when
        given."""
        props: dict[str, Any] = {
            "geometry": {
                "format": f"geometry-{self.geometry_for(role).lower()}",
                "x-ogc-role": "primary-geometry",
            }
        }
        for name, kind in self.schema:
            if fields is not None and name not in fields:
                continue
            props[name] = (
                {"type": "string", "format": "date-time"} if kind == "date-time" else {"type": kind}
            )
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": self.id,
            "title": self.title,
            "type": "object",
            "properties": props,
        }


KDE_PARAMS: Final = ("bandwidth_m", "cell_m", "kernel", "top_pct")

_S, _N, _I, _B, _T = "string", "number", "integer", "boolean", "date-time"
#: Properties of the incident collections: every frame column but the id, the batch, the
#: WGS84 copy of the geometry and the free-text ``detail``.
INCIDENT_SCHEMA: Final = (
    ("source", _S),
    ("source_ref", _S),
    ("occurred_from", _T),
    ("occurred_to", _T),
    ("time_precision", _S),
    ("category", _S),
    ("flags", _S),
    ("route", _S),
    ("stop_code", _S),
    ("school_urn", _S),
    ("precision_m", _N),
    ("geocode_method", _S),
    ("location_text", _S),
    ("h3_cell", _S),
    ("weight", _N),
)
_PUBLISHED = (("period", _S), ("preset", _S), ("suppressed", _B), ("synthetic", _B))
_KDE_SCHEMA = (
    ("rank", _I),
    ("place_name", _S),
    ("density", _N),
    ("mean_density", _N),
    ("count", _I),
    ("area_km2", _N),
    ("threshold", _N),
    ("units", _S),
    ("density_class", _I),
    ("method", _S),
    *_PUBLISHED,
)
_CLUSTER_SCHEMA = (
    ("cluster_id", _I),
    ("place_name", _S),
    ("n_incidents", _I),
    ("density", _N),
    ("cells", _I),
    ("method", _S),
    *_PUBLISHED,
)
_H3_SCHEMA = (
    ("cell", _S),
    ("place_name", _S),
    ("resolution", _I),
    ("count", _I),
    ("density", _N),
    ("gi_z", _N),
    ("gi_p", _N),
    ("hotspot", _S),
    *_PUBLISHED,
)
_EMERGING_SCHEMA = (
    ("cell", _S),
    ("place_name", _S),
    ("resolution", _I),
    ("trend", _S),
    ("count", _I),
    *_PUBLISHED,
)
_CORRIDOR_SCHEMA = (
    ("school_urn", _S),
    ("school_name", _S),
    ("mode", _S),
    ("name", _S),
    ("place_name", _S),
    ("cell", _S),
    ("resolution", _I),
    ("pupils", _I),
    ("journeys", _I),
    ("density", _N),
    ("length_m", _N),
    ("stretches", _I),
    *_PUBLISHED,
)
COLLECTIONS: Final[dict[str, CollectionSpec]] = {
    s.id: s
    for s in (
        CollectionSpec(
            "incidents",
            "Incidents",
            "Every incident located at a point passing the filters and period; analyst "
            "role only (personal data). Incidents known only along a stretch of bus route "
            "are in `incident-routes`.",
            FILTER_PARAMS,
            roles=("analyst",),
            geometry="Point",
            temporal=True,
            schema=INCIDENT_SCHEMA,
        ),
        CollectionSpec(
            "incident-routes",
            "Incidents along bus routes",
            "Every incident known only along a stretch of bus route (a line), passing the "
            "filters and period; analyst role only (personal data).",
            FILTER_PARAMS,
            roles=("analyst",),
            geometry="LineString",
            temporal=True,
            schema=INCIDENT_SCHEMA,
        ),
        CollectionSpec(
            "referral-places",
            "Places named in referrals",
            "Places that Fair Access Panel referrals' notes name (peer group, school, "
            "neighbourhood): places of concern, not incidents, so no hotspot layer counts "
            "them. One point per place with the referrals naming it in the period; analyst "
            "role only.",
            ("start", "end"),
            roles=("analyst",),
            geometry="Point",
            schema=(
                ("place", _S),
                ("kind", _S),
                ("referrals", _I),
                ("named_in_peer_group_notes", _I),
                ("named_in_school_notes", _I),
                ("named_in_neighbourhood_notes", _I),
                ("schools", _I),
            ),
        ),
        CollectionSpec(
            "hotspots-kde",
            "Kernel density hotspots",
            "Polygons around the densest `top_pct` percent of a kernel density surface of the "
            "filtered incidents (incidents per km²).",
            FILTER_PARAMS + KDE_PARAMS,
            schema=_KDE_SCHEMA,
        ),
        CollectionSpec(
            "clusters",
            "DBSCAN clusters",
            "Convex hulls of DBSCAN clusters of the filtered incidents (eps in metres).",
            (*FILTER_PARAMS, "eps_m", "min_samples"),
            schema=_CLUSTER_SCHEMA,
        ),
        CollectionSpec(
            "h3-cells",
            "H3 cell counts and Getis-Ord Gi*",
            "Incident counts per H3 cell with the Gi* z-score and hot/cold class (FDR 5%).",
            (*FILTER_PARAMS, "resolution"),
            schema=_H3_SCHEMA,
        ),
        CollectionSpec(
            "emerging-cells",
            "Emerging hotspots",
            "H3 cells classed by the trend of their monthly Gi* (Mann-Kendall): new, "
            "intensifying, persistent, diminishing...",
            (*FILTER_PARAMS, "resolution"),
            schema=_EMERGING_SCHEMA,
        ),
        CollectionSpec(
            "schools",
            "Secondary schools",
            "Secondary schools of the demo area (DfE GIAS, current URNs).",
            (),
            geometry="Point",
            schema=(("urn", _S), ("name", _S), ("address", _S), ("postcode", _S), ("pupils", _I)),
        ),
        CollectionSpec(
            "bus-stops",
            "Bus stops",
            "TfL bus stops of the demo area (2025).",
            (),
            geometry="Point",
            schema=(("stop_code", _S), ("naptan_atco", _S), ("name", _S)),
        ),
        CollectionSpec(
            "safe-places",
            "Safe places",
            "Places that protect young people (youth clubs, detached youth work spots, safe "
            "havens, staffed stations, police stations, youth services) with their opening "
            "hours (OSM syntax), from OpenStreetMap and the analyst's list "
            "(`geosafe safe-places import`). Public places: every role sees them.",
            (),
            geometry="Point",
            schema=(
                ("name", _S),
                ("kind", _S),
                ("kind_label", _S),
                ("opening_hours", _S),
                ("source", _S),
            ),
        ),
        CollectionSpec(
            "journey-corridors",
            "Journey corridors",
            "Walking corridors to each school from its pupils' home postcodes, with the "
            "exposure (incidents per km² along the way) of each stretch.",
            (*FILTER_PARAMS, "bandwidth_m", "cell_m", "kernel", "school"),
            geometry="LineString",
            schema=_CORRIDOR_SCHEMA,
            public_geometry="Polygon",
            public_description="The H3 resolution-8 cells (about 0.7 km²) that 10 or more "
            "of a school's pupils cross on their walk to school from their home postcodes, one "
            "feature per school and cell, named by the school (a school sees its own, with "
            "its pupils and journeys rounded to 5; a neighbourhood team those in its wards). "
            "Never a street, a route or a home.",
        ),
    )
}


def spec(collection: str) -> CollectionSpec:
    """The collection's :class:`CollectionSpec`."""
    try:
        return COLLECTIONS[collection]
    except KeyError:
        msg = f"collection {collection!r} does not exist; use one of {', '.join(COLLECTIONS)}."
        raise NotFoundError(msg) from None


def describe_params() -> Mapping[str, str]:
    """One line per parameter with its default, for documentation and the OpenAPI schema."""
    return {
        "preset": "time window: school-run (default), all-day, evenings... or 'none'",
        "sources": "comma-separated sources (dir, asif, cris, fap, police_uk); default all",
        "categories": "comma-separated categories; default all",
        "flags": "comma-separated flags (any of them); default all",
        "start": "first day of the period (YYYY-MM-DD); default 12 months before `end`",
        "end": "last day of the period; default the latest incident's date (the last day of "
        "its month when that month holds month-dated records, e.g. police.uk)",
        "bandwidth_m": "KDE bandwidth in metres (default 250)",
        "cell_m": "KDE grid cell in metres (default 25)",
        "kernel": "quartic (default) or gaussian",
        "top_pct": "hotspot polygons cover the densest top_pct % of the area (default 5)",
        "eps_m": "DBSCAN radius in metres (default 150)",
        "min_samples": "DBSCAN minimum incidents per cluster (default 5)",
        "resolution": "H3 resolution 7-10 (default 9)",
        "school": "school URN (journey-corridors); default every school of the area",
    }
