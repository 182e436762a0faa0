"""The gazetteer: find the places that free text (FAP notes, ASIF station fields) names.

Entries, all inside or beside the demo area (EPSG:27700):

``street``
    Named OSM ways of the bundled highway extract (ways of one name within 300 m of each
    other form one street). Point: the spot on the street nearest its centroid. Precision:
    300 m or half the street's length, whichever is larger. Method ``street``.
``park``
    Registered parks (:func:`geosafe.datasets.parks`) and bus stops named after a park.
    Precision: the park's equivalent radius sqrt(area / pi) (stops: 150 m). Method ``place``.
``school``
    Secondary schools within 1.5 km of the demo area, by full name and by a short form with
    "School", "Academy", "Catholic", "for Girls"... removed ("Ashmole", "St Thomas More").
    Precision 100 m. Method ``place``.
``station`` / ``stop``
    Demo-area bus stop names (TfL list; "<>" and "#" marks dropped; "A / B" names give both
    parts). Stops of one name within 400 m are one place at their mean position; precision is
    30 m or the spread of the stops. Stop names that are also street names are left to the
    street. Method ``place``.
``area``
    Neighbourhoods: demo-area 2018 ward names of two or more words (precision: the ward's
    equivalent radius) and the names of stations without "Station" ("Wood Green"; 800 m).

Matching: text and names are canonicalised the same way (lower case, apostrophes and
punctuation removed, abbreviations expanded: Rd, St (street or saint), Ave, Grn, Stn, Pk,
Ln, Hse, Sch, Gdns, Cl, Cres, Dr...), then every run of 1..7 words is looked up exactly and,
when it is at least 8 letters long, fuzzily (``rapidfuzz.fuzz.ratio`` on the words and on the
words run together, cut-off :data:`FUZZY_CUTOFF`). Overlapping hits keep the one with the
longer name, then the better score. A name that belongs to several distinct places of the
same kind (two "Victoria Road" stops far apart) is ambiguous and is never returned; when
kinds collide, street > park > school > station > stop > area. Two-word names that start
with "The" and are made of everyday words ("The Rise", "The Drive") need a capital letter
in the text. Generic phrases ("the park", "the cemetery", "the high road", "the library")
map only when exactly one entry of that sort exists; "the park" has several, so it stays
unmapped.

Negation: a hit is dropped when a negation word (not, never, no, didn't, wasn't, denies,
avoids, nowhere, instead of, rather than...) stands within the four words before it in the
same clause (clauses end at ``. ; ! ?``, "but", "however", "though"), or when it is joined
by "or"/"nor"/"and"/"," to a negated hit ("never near Grovelands or Bowes Rd").

A note that names no known place gives ``method == "none"``: it is counted, never guessed.
"""

from __future__ import annotations

import bz2
import functools
import itertools
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, Point
from shapely.ops import unary_union

from .. import datasets
from .points import lonlat_to_bng

__all__ = [
    "FUZZY_CUTOFF",
    "Gazetteer",
    "Place",
    "PlaceMatch",
    "canonical",
    "read_osm_streets",
    "tokenise",
]

FUZZY_CUTOFF: Final = 88.0
_MAX_WORDS: Final = 7
_KIND_RANK: Final = {"street": 0, "park": 1, "school": 2, "station": 3, "stop": 4, "area": 5}

#: Abbreviations (and spelling variants) expanded before matching.
ABBREVIATIONS: Final[dict[str, str]] = {
    "rd": "road",
    "raod": "road",
    "st": "st",
    "street": "st",
    "saint": "st",
    "str": "st",
    "ave": "avenue",
    "av": "avenue",
    "avn": "avenue",
    "grn": "green",
    "gn": "green",
    "stn": "station",
    "sta": "station",
    "pk": "park",
    "ln": "lane",
    "hse": "house",
    "sch": "school",
    "skl": "school",
    "gdns": "gardens",
    "gdn": "garden",
    "cl": "close",
    "cres": "crescent",
    "dr": "drive",
    "ct": "court",
    "sq": "square",
    "pl": "place",
    "tce": "terrace",
    "terr": "terrace",
    "hl": "hill",
    "gr": "grove",
    "gro": "grove",
    "wy": "way",
    "acad": "academy",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
    "nth": "north",
    "sth": "south",
    "rec": "recreation",
    "ctr": "centre",
    "center": "centre",
    "mt": "mount",
    "gt": "great",
}

_NEGATIONS: Final = frozenset(
    [
        "not",
        "never",
        "no",
        "didnt",
        "doesnt",
        "dont",
        "wasnt",
        "werent",
        "isnt",
        "hasnt",
        "havent",
        "wont",
        "cant",
        "couldnt",
        "denies",
        "denied",
        "deny",
        "avoids",
        "avoid",
        "avoided",
        "avoiding",
        "nowhere",
        "without",
    ]
)
_NEG_PHRASES: Final = (("instead", "of"), ("rather", "than"), ("away", "from"))
_CLAUSE_WORDS: Final = frozenset({"but", "however", "though", "although", "whereas"})
_JOINERS: Final = frozenset({"or", "nor", "and", ",", "either", "neither"})
_LOCATIVES: Final = frozenset(
    [
        "at",
        "near",
        "outside",
        "behind",
        "by",
        "on",
        "in",
        "around",
        "from",
        "opposite",
        "off",
        "into",
        "to",
        "past",
        "along",
        "inside",
        "beside",
        "towards",
    ]
)
_EVERYDAY: Final = frozenset(
    [
        "avenue",
        "crescent",
        "crest",
        "drive",
        "grove",
        "mews",
        "rise",
        "vale",
        "ringway",
        "limes",
        "green",
        "broadway",
        "fairway",
        "ridgeway",
    ]
)
_SCHOOL_NOISE: Final = frozenset(
    [
        "school",
        "academy",
        "catholic",
        "high",
        "for",
        "girls",
        "boys",
        "college",
        "the",
        "greek",
        "orthodox",
        "church",
        "of",
        "england",
        "ce",
        "rc",
        "secondary",
        "community",
    ]
)

#: Generic phrases: canonical words -> (entry kinds, required words in the name or None).
GENERIC: Final[dict[str, tuple[tuple[str, ...], str | None]]] = {
    "the park": (("park",), None),
    "the cemetery": (("park",), "cemetery"),
    "the high road": (("street",), "high road"),
    "the high st": (("street",), "high road"),
    "the library": (("stop", "station"), "library"),
    "the station": (("station",), None),
    "the tube station": (("station",), None),
    "the bus garage": (("stop",), "bus garage"),
    "the shopping centre": (("stop",), "shopping city"),
    "the mall": (("stop",), "shopping city"),
    "the crown court": (("stop",), "crown court"),
    "the civic centre": (("stop",), "civic centre"),
    "the swimming pool": (("stop",), "swimming pool"),
    "the ice rink": (("stop",), "ice rink"),
    "the school": (("school",), None),
}


@dataclass(frozen=True)
class Place:
    """A gazetteer entry: name, kind, representative point (EPSG:27700) and precision (m)."""

    name: str
    kind: str
    point: Point
    precision_m: float

    @property
    def method(self) -> str:
        """``street`` for streets, ``place`` for everything else."""
        return "street" if self.kind == "street" else "place"


@dataclass(frozen=True)
class PlaceMatch:
    """A place named in a text: where (word span, characters), how well, negated or not."""

    place: Place | None
    text: str
    start: int
    end: int
    score: float
    negated: bool
    locative: bool
    ambiguous: tuple[str, ...] = field(default=())


_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?|[.;!?,]")


def tokenise(text: str) -> list[tuple[str, int, int, str]]:
    """Words and clause punctuation: ``(canonical, start char, end char, original)``."""
    out = []
    for m in _TOKEN_RE.finditer(text):
        raw = m.group(0)
        low = re.sub(r"['’]", "", raw.lower())
        out.append((ABBREVIATIONS.get(low, low), m.start(), m.end(), raw))
    return out


def canonical(name: str) -> str:
    """The canonical form names and text are compared in (see the module docstring)."""
    return " ".join(t for t, *_ in tokenise(name) if t not in ".;!?,")


def _clean_stop_name(name: str) -> list[str]:
    name = re.sub(r"<>|#|\(.*?\)", " ", name)
    parts = [re.sub(r"\s+", " ", p).strip() for p in name.split("/")]
    return [p for p in parts if p and not p.lower().startswith("hail")]


def _equivalent_radius(area_m2: float) -> float:
    return math.sqrt(area_m2 / math.pi)


def _nearest_on(geom: LineString | MultiLineString, target: Point) -> Point:
    best = min(
        (g for g in getattr(geom, "geoms", [geom])),
        key=lambda g: g.distance(target),
    )
    return best.interpolate(best.project(target))


@functools.cache
def read_osm_streets(path: Path) -> dict[str, list[LineString]]:
    """Named ways of an OSM XML file (bz2 or plain) as BNG lines, by name (cached per path;
    do not modify the result)."""
    nodes: dict[str, tuple[float, float]] = {}
    ways: list[tuple[str, list[str]]] = []
    opener = bz2.open if path.suffix == ".bz2" else open
    with opener(path, "rb") as f:
        for _ev, el in ET.iterparse(f, events=("end",)):
            if el.tag == "node":
                nodes[el.get("id", "")] = (float(el.get("lon", "nan")), float(el.get("lat", "nan")))
                el.clear()
            elif el.tag == "way":
                name = next((t.get("v") for t in el.findall("tag") if t.get("k") == "name"), None)
                if name:
                    ways.append((name, [n.get("ref", "") for n in el.findall("nd")]))
                el.clear()
    ids = list(nodes)
    lon = np.array([nodes[i][0] for i in ids])
    lat = np.array([nodes[i][1] for i in ids])
    x, y = lonlat_to_bng(lon, lat)
    xy = {i: (float(a), float(b)) for i, a, b in zip(ids, x, y, strict=True)}
    out: dict[str, list[LineString]] = {}
    for name, refs in ways:
        pts = [xy[r] for r in refs if r in xy]
        if len(pts) >= 2:
            out.setdefault(name, []).append(LineString(pts))
    return out


class Gazetteer:
    """Place names of the demo area and a matcher for free text.

    Build with :meth:`load` (cached per data directory); :meth:`find` lists every place a
    text names, :meth:`best` picks one.
    """

    def __init__(self, places: list[Place]):
        self.places = places
        index: dict[str, list[Place]] = {}
        for p in places:
            index.setdefault(canonical(p.name), []).append(p)
        self._index: dict[str, list[Place]] = {}
        for key, cands in index.items():
            if key:
                self._index[key] = _resolve(cands)
        self._keys = list(self._index)
        self._keys_nospace = [k.replace(" ", "") for k in self._keys]
        self._key_words = np.array([k.count(" ") + 1 for k in self._keys])

    @classmethod
    def load(cls, data_dir: Path | str | None = None) -> Gazetteer:
        """The gazetteer of the bundled data (built once per directory, ~1 s)."""
        return _build(Path(data_dir) if data_dir is not None else None)

    # -- matching ------------------------------------------------------------------------
    def _generic(self, key: str) -> list[Place] | None:
        spec = GENERIC.get(key)
        if spec is None:
            return None
        kinds, needle = spec
        found: list[Place] = []
        for key, places in self._index.items():
            for p in places:
                if p.kind in kinds and (needle is None or needle in key) and p not in found:
                    found.append(p)
        return found

    def find(
        self, text: str, *, near: Point | None = None, near_m: float = 1000.0
    ) -> list[PlaceMatch]:
        """Every place ``text`` names, in order, with negated and ambiguous hits flagged.

        An ambiguous name ("the park", a street name used twice) is resolved by context
        only: when exactly one of its candidates is also named unambiguously elsewhere in
        the text ("in Grovelands ... the park"), or when exactly one lies within ``near_m``
        metres of ``near`` (EPSG:27700, e.g. the referral's school). Otherwise it stays
        unresolved. Use :meth:`places_in` for only the usable (unambiguous, not negated) hits.
        """
        if not text or not str(text).strip():
            return []
        toks = tokenise(str(text))
        words = [t[0] for t in toks]
        cands: list[tuple[int, int, float, str, list[Place]]] = []
        spans: list[tuple[int, int, str]] = []
        for i in range(len(toks)):
            for n in range(1, _MAX_WORDS + 1):
                j = i + n
                if j > len(toks) or any(w in ".;!?," for w in words[i:j]):
                    break
                spans.append((i, j, " ".join(words[i:j])))
        fuzzy_spans = []
        for i, j, key in spans:
            generic = self._generic(key)
            if generic is not None:
                cands.append((i, j, 100.0, key, generic))
                continue
            hit = self._index.get(key)
            if hit is not None:
                if self._needs_capital(key) and not toks[j - 1][3][:1].isupper():
                    continue
                cands.append((i, j, 100.0, key, hit))
            elif len(key.replace(" ", "")) >= 8:
                fuzzy_spans.append((i, j, key))
        if fuzzy_spans and self._keys:
            from rapidfuzz import fuzz, process  # free-text matching only (not place naming)

            queries = [k for *_, k in fuzzy_spans]
            s1 = process.cdist(queries, self._keys, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
            s2 = process.cdist(
                [q.replace(" ", "") for q in queries],
                self._keys_nospace,
                scorer=fuzz.ratio,
                score_cutoff=FUZZY_CUTOFF,
            )
            score = np.maximum(s1, s2)
            for row, (i, j, _key) in enumerate(fuzzy_spans):
                ok = np.flatnonzero((score[row] > 0) & (np.abs(self._key_words - (j - i)) <= 1))
                if ok.size == 0:
                    continue
                best = ok[np.argmax(score[row, ok])]
                key = self._keys[best]
                if self._needs_capital(key) or len(key.replace(" ", "")) < 8:
                    continue
                cands.append((i, j, float(score[row, best]), key, self._index[key]))
        # keep non-overlapping hits: longer names, then better scores
        cands.sort(key=lambda c: (-c[3].count(" "), -c[2], c[0]))
        taken = np.zeros(len(toks), dtype=bool)
        chosen = []
        for c in cands:
            i, j = c[0], c[1]
            if not taken[i:j].any():
                taken[i:j] = True
                chosen.append(c)
        chosen.sort(key=lambda c: c[0])
        out: list[PlaceMatch] = []
        named = [c[4][0] for c in chosen if len(c[4]) == 1]
        for i, j, score_, _key, places in chosen:
            if len(places) > 1:
                places = _by_context(places, named, near, near_m)
            negated = self._negated(words, i)
            if not negated and out:
                prev = out[-1]
                between = words[_tok_index(toks, prev.end) : i]
                if prev.negated and all(w in _JOINERS for w in between):
                    negated = True
            locative = (i > 0 and words[i - 1] in _LOCATIVES) or (
                i > 1 and words[i - 1] == "the" and words[i - 2] in _LOCATIVES
            )
            place = places[0] if len(places) == 1 else None
            out.append(
                PlaceMatch(
                    place=place,
                    text=str(text)[toks[i][1] : toks[j - 1][2]],
                    start=toks[i][1],
                    end=toks[j - 1][2],
                    score=score_,
                    negated=negated,
                    locative=bool(locative),
                    ambiguous=tuple(sorted({p.name for p in places})) if place is None else (),
                )
            )
        return out

    def places_in(self, text: str, *, near: Point | None = None) -> list[PlaceMatch]:
        """The usable hits of :meth:`find`: one place each, not negated."""
        return [m for m in self.find(text, near=near) if m.place is not None and not m.negated]

    def best(self, text: str, *, near: Point | None = None) -> PlaceMatch | None:
        """The one place to geocode ``text`` to: a hit after "at/near/outside..." first,
        then the most precise, then the earliest; ``None`` when it names no usable place."""
        hits = self.places_in(text, near=near)
        if not hits:
            return None
        return min(
            hits,
            key=lambda m: (not m.locative, m.place.precision_m if m.place else 0.0, m.start),
        )

    @staticmethod
    def _needs_capital(key: str) -> bool:
        parts = key.split(" ")
        return len(parts) == 2 and parts[0] == "the" and parts[1] in _EVERYDAY

    @staticmethod
    def _negated(words: list[str], i: int) -> bool:
        lo = i
        while lo > 0 and i - lo < 4:
            w = words[lo - 1]
            if w in ".;!?" or w in _CLAUSE_WORDS:
                break
            lo -= 1
        window = words[lo:i]
        if any(w in _NEGATIONS for w in window):
            return True
        pairs = list(itertools.pairwise(window))
        return any(p in _NEG_PHRASES for p in pairs)


def _by_context(
    places: list[Place], named: list[Place], near: Point | None, near_m: float
) -> list[Place]:
    """Narrow ambiguous candidates by the other places named in the text, then by ``near``.

    Entries at the same spot (aliases such as "Ally Pally", or a stop inside a park) count as
    one candidate: the larger place is kept.
    """

    def distinct(ps: list[Place]) -> list[Place]:
        out: list[Place] = []
        for p in sorted(ps, key=lambda p: -p.precision_m):
            if all(p.point.distance(q.point) > max(50.0, q.precision_m) for q in out):
                out.append(p)
        return out

    in_text = distinct([p for p in places if any(p.point.distance(q.point) <= 50.0 for q in named)])
    if len(in_text) == 1:
        return in_text
    if near is not None:
        close = distinct([p for p in places if p.point.distance(near) <= near_m])
        if len(close) == 1:
            return close
    return places


def _tok_index(toks: list[tuple[str, int, int, str]], end_char: int) -> int:
    for k, t in enumerate(toks):
        if t[1] >= end_char:
            return k
    return len(toks)


def _resolve(cands: list[Place]) -> list[Place]:
    """Entries sharing one name: highest-ranked kind; merge near duplicates; else ambiguous."""
    rank = min(_KIND_RANK[p.kind] for p in cands)
    top = [p for p in cands if _KIND_RANK[p.kind] == rank]
    kept: list[Place] = []
    for p in sorted(top, key=lambda p: p.precision_m):
        if all(p.point.distance(q.point) > max(400.0, p.precision_m + q.precision_m) for q in kept):
            kept.append(p)
    return kept


def _cluster_points(xy: np.ndarray, gap_m: float) -> list[np.ndarray]:
    """Single-linkage clusters of points (indices)."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(xy) == 1:
        return [np.array([0])]
    labels = fcluster(linkage(xy, method="single"), t=gap_m, criterion="distance")
    return [np.flatnonzero(labels == lab) for lab in np.unique(labels)]


@functools.cache
def _build(data_dir: Path | None) -> Gazetteer:
    places: list[Place] = []
    area = datasets.demo_area(data_dir)
    near = area.buffer(1500)
    # streets
    street_names: set[str] = set()
    for name, lines in read_osm_streets(datasets.osm_path(data_dir)).items():
        merged = unary_union(lines)
        blobs = merged.buffer(150)
        for blob in getattr(blobs, "geoms", [blobs]):
            part = merged.intersection(blob)
            if part.is_empty or part.length == 0:
                continue
            part = shapely.line_merge(part) if isinstance(part, MultiLineString) else part
            prec = max(300.0, part.length / 2.0)
            places.append(Place(name, "street", _nearest_on(part, part.centroid), prec))
        street_names.add(canonical(name))
    # parks
    for row in datasets.parks(data_dir).itertuples(index=False):
        geom = row.geometry
        name = str(row.name).title().replace("'S ", "'s ")
        rad = _equivalent_radius(geom.area)
        places.append(Place(name, "park", geom.representative_point(), rad))
        if name == "Alexandra Palace":
            for alias in ("Ally Pally", "Alexandra Park"):
                places.append(Place(alias, "park", geom.representative_point(), rad))
        words = name.split()
        if len(words) == 2 and words[1] == "Park" and len(words[0]) >= 6:
            places.append(Place(words[0], "park", geom.representative_point(), rad))
        if name == "Broomfield House":
            places.append(Place("Broomfield Park", "park", geom.representative_point(), rad))
    # schools
    schools = datasets.schools(data_dir)
    schools = schools[schools.distance(area) <= 1500]
    for row in schools.itertuples(index=False):
        name = str(row.name)
        pt = row.geometry
        places.append(Place(name, "school", pt, 100.0))
        short = [w for w in canonical(name).split() if w not in _SCHOOL_NOISE]
        if len(short) >= 2 or (len(short) == 1 and len(short[0]) >= 6):
            places.append(Place(" ".join(short).title(), "school", pt, 100.0))
    # stops and stations
    stops = datasets.bus_stops(data_dir, demo_only=True)
    stops = stops[stops["in_demo_area"] & (stops["Location_Easting"] > 0)]
    wards = datasets.wards(data_dir)
    wards = wards[wards.intersects(near)]
    area_names = {canonical(str(n)) for n in wards["name"]}
    for stop_name in stops["Stop_Name"]:
        for part in _clean_stop_name(str(stop_name)):
            words = canonical(part).split()
            if "station" in words:
                area_names.add(" ".join(w for w in words if w != "station"))
    by_name: dict[str, list[tuple[float, float]]] = {}
    shown: dict[str, str] = {}
    for row in stops.itertuples(index=False):
        parts = _clean_stop_name(str(row.Stop_Name))
        for part in parts:
            key = canonical(part)
            if key in street_names or not key or (len(parts) > 1 and key in area_names):
                continue
            by_name.setdefault(key, []).append(
                (float(str(row.Location_Easting)), float(str(row.Location_Northing)))
            )
            shown.setdefault(key, part)
    for key, pts in by_name.items():
        xy = np.asarray(pts)
        for idx in _cluster_points(xy, 400.0):
            c = xy[idx].mean(axis=0)
            spread = float(np.max(np.hypot(*(xy[idx] - c).T))) if len(idx) > 1 else 0.0
            name = shown[key]
            words = key.split()
            kind = (
                "station"
                if "station" in words
                else "park"
                if words[-1:] == ["park"] and "business" not in words
                else "stop"
            )
            prec = 150.0 if kind == "park" else max(30.0, spread)
            places.append(Place(name, kind, Point(*c), prec))
            if kind == "station":
                base = " ".join(w for w in name.split() if canonical(w) != "station")
                places.append(Place(base, "area", Point(*c), 800.0))
    # wards (neighbourhoods)
    for row in wards.itertuples(index=False):
        if len(str(row.name).split()) >= 2:
            geom = row.geometry
            places.append(
                Place(
                    str(row.name),
                    "area",
                    geom.representative_point(),
                    _equivalent_radius(geom.area),
                )
            )
    return Gazetteer(_qualify_ambiguous_streets(places))


def _qualify_ambiguous_streets(places: list[Place]) -> list[Place]:
    """For a street name shared by distant streets, add "<nearest area> <street>" names
    ("Wood Green High Road") so a qualified mention still resolves."""
    areas = [p for p in places if p.kind == "area" and p.precision_m <= 800.0]
    by_name: dict[str, list[Place]] = {}
    for p in places:
        if p.kind == "street":
            by_name.setdefault(canonical(p.name), []).append(p)
    extra = []
    for streets in by_name.values():
        if len(_resolve(streets)) < 2 or not areas:
            continue
        for st in streets:
            for area in areas:
                if area.point.distance(st.point) <= st.precision_m + area.precision_m:
                    name = f"{area.name} {st.name}"
                    extra.append(Place(name, "street", st.point, st.precision_m))
    return places + extra
