"""Reference places the synthetic generator draws from (EPSG:27700)."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from .. import datasets
from ..geocode.places import read_osm_streets
from ._params import _ABBREV, NOTE_LANDMARKS, OPERATORS, PLACE_MIX, PLACE_MIX_PEAK


@dataclass(frozen=True)
class _Stop:
    atco: str
    lbsl: str
    name: str
    x: float
    y: float
    routes: tuple[tuple[str, int], ...]


@dataclass
class _World:
    """Reference places the generator draws from (EPSG:27700)."""

    stops: list[_Stop]
    school_stops: list[int]
    station_stops: list[int]
    high_road: np.ndarray
    park_pts: np.ndarray
    street_pts: np.ndarray
    street_names: list[str]
    schools: pd.DataFrame
    postcodes: pd.DataFrame
    pc_tree: cKDTree
    landmarks: list[tuple[str, float, float]]
    sms_codes: list[str]
    stop_tree: cKDTree
    note_landmarks: dict[str, tuple[float, float]]


@functools.cache
def _load_world(data_dir: Path | None) -> _World:
    area = datasets.demo_area(data_dir)
    shapely.prepare(area)
    seq = datasets.bus_sequences(data_dir)
    seq = seq[(seq["Location_Easting"] > 0) & (seq["Location_Northing"] > 0)]
    serving: dict[str, set[tuple[str, int]]] = {}
    for atco, route, run in zip(seq["Naptan_Atco"], seq["Route"], seq["Run"], strict=True):
        serving.setdefault(str(atco), set()).add((str(route), int(run)))
    raw = datasets.bus_stops(data_dir)
    raw = raw[raw["in_demo_area"] & (raw["Location_Easting"] > 0)]
    stops = [
        _Stop(
            str(r.Naptan_Atco), str(r.Stop_Code_LBSL),
            str(r.Stop_Name).replace("<>", "").replace("#", "").strip(),
            float(str(r.Location_Easting)), float(str(r.Location_Northing)),
            tuple(sorted(serving[str(r.Naptan_Atco)])),
        )
        for r in raw.itertuples(index=False)
        if str(r.Naptan_Atco) in serving
    ]  # fmt: skip
    sxy = np.array([(s.x, s.y) for s in stops])
    schools = datasets.schools(data_dir, demo_only=True).reset_index(drop=True)
    school_xy = np.column_stack([schools.geometry.x, schools.geometry.y])
    d_school = np.min(
        np.hypot(*(sxy[:, None, :] - school_xy[None, :, :]).transpose(2, 0, 1)), axis=1
    )
    school_stops = [int(i) for i in np.flatnonzero(d_school <= 400)]
    station_stops = [
        i
        for i, s in enumerate(stops)
        if s.name.upper().startswith(("WOOD GREEN STATION", "BOUNDS GREEN STATION"))
    ]
    streets = read_osm_streets(datasets.osm_path(data_dir))
    pts: list[tuple[float, float]] = []
    names: list[str] = []
    high: list[tuple[float, float]] = []
    wood_green = np.array([531021.0, 190364.0])  # Wood Green station, for the High Road part
    for name, lines in sorted(streets.items()):
        for line in lines:
            for x, y in line.coords:
                if not shapely.contains_xy(area, x, y):
                    continue
                pts.append((x, y))
                names.append(name)
                if name == "High Road" and np.hypot(x - wood_green[0], y - wood_green[1]) < 1500:
                    high.append((x, y))
    parks = datasets.parks(data_dir)
    park_pts = []
    for geom in parks.geometry:
        inside = shapely.contains_xy(geom, np.array(pts)[:, 0], np.array(pts)[:, 1])
        park_pts.extend(np.array(pts)[inside].tolist())
        park_pts.append(list(geom.representative_point().coords[0]))
    pcs = datasets.postcodes(data_dir)
    pcs = pcs[pcs["easting"] > 0].reset_index(drop=True)
    landmarks = [
        (s.name.split("/")[0].strip().title(), s.x, s.y)
        for s in stops
        if not s.name.lower().startswith("hail")
    ]
    for r in parks.itertuples(index=False):
        c = r.geometry.representative_point()
        landmarks.append((str(r.name).title(), c.x, c.y))
    return _World(
        stops=stops,
        school_stops=school_stops,
        station_stops=station_stops,
        high_road=np.array(high),
        park_pts=np.array(park_pts),
        street_pts=np.array(pts),
        street_names=names,
        schools=schools,
        postcodes=pcs,
        pc_tree=cKDTree(pcs[["easting", "northing"]].to_numpy()),
        landmarks=landmarks,
        sms_codes=[
            c for c in datasets.bus_stops(data_dir)["Bus_Stop_Code"].head(500) if len(c) == 5
        ],
        stop_tree=cKDTree(sxy),
        note_landmarks=_note_landmarks(landmarks, pts, names, high),
    )


#: Places people name in notes, as they name them (positions from the bundled data).
def _note_landmarks(
    landmarks: list[tuple[str, float, float]],
    pts: list[tuple[float, float]],
    names: list[str],
    high: list[tuple[float, float]],
) -> dict[str, tuple[float, float]]:
    where = {n.upper(): (x, y) for n, x, y in landmarks}
    arr = np.asarray(pts)
    out = {}
    for label, how in NOTE_LANDMARKS.items():
        if how == "street":
            sel = [i for i, n in enumerate(names) if n == label]
            if sel:
                out[label] = (float(arr[sel, 0].mean()), float(arr[sel, 1].mean()))
        elif how == "high_road":
            if high:
                out[label] = (
                    float(np.mean([h[0] for h in high])),
                    float(np.mean([h[1] for h in high])),
                )
        elif how.upper() in where:
            out[label] = where[how.upper()]
    return out


# -- places -----------------------------------------------------------------------------


def _place(
    rng: np.random.Generator, world: _World, *, peak: bool = False
) -> tuple[str, int | None, float, float]:
    """(kind, stop index or None, x, y) of one incident (``peak``: in a school-run peak)."""
    mix = PLACE_MIX_PEAK if peak else PLACE_MIX
    kind = rng.choice(list(mix), p=list(mix.values()))
    if kind in ("school_stop", "station"):
        pool = world.school_stops if kind == "school_stop" else world.station_stops
        i = int(pool[rng.integers(len(pool))])
        return str(kind), i, world.stops[i].x, world.stops[i].y
    arr = {"high_road": world.high_road, "park": world.park_pts, "street": world.street_pts}[
        str(kind)
    ]
    x, y = arr[rng.integers(len(arr))]
    r, a = 25 * np.sqrt(rng.random()), rng.random() * 2 * np.pi
    x, y = x + r * np.cos(a), y + r * np.sin(a)
    # nearest stop for bus-related sources
    _d, nearest = world.stop_tree.query([x, y])
    return str(kind), int(nearest), float(x), float(y)


def _operator(route: str) -> str:
    h = int(hashlib.sha256(route.encode()).hexdigest(), 16)
    return OPERATORS[h % len(OPERATORS)]


def _write_like(rng: np.random.Generator, name: str) -> str:
    """A place name as people write it: abbreviations, lower case, a typo."""
    out = name
    if rng.random() < 0.5:
        for long, short in _ABBREV:
            if rng.random() < 0.7:
                out = out.replace(long, short)
    if rng.random() < 0.25:
        out = out.lower()
    if rng.random() < 0.15 and len(out) > 8:
        words = out.split()
        k = int(np.argmax([len(w) for w in words]))
        w = words[k]
        j = int(rng.integers(1, len(w) - 1))
        words[k] = (
            w[:j] + w[j + 1] + w[j] + w[j + 2 :] if rng.random() < 0.5 else w[:j] + w[j + 1 :]
        )
        out = " ".join(words)
    return out


def _stop_code(rng: np.random.Generator, stop: _Stop) -> str:
    return stop.atco if rng.random() < 0.7 or not stop.lbsl else stop.lbsl
