"""Build an area folder from public downloads (``geosafe area build``).

The folder has the layout of the bundled ``data/`` so every loader in
:mod:`geosafe.datasets` reads it (``--area DIR`` or ``GEOSAFE_AREA`` points them there)::

    area.json                    manifest: inputs (name, date, SHA-256, licence), counts
    osm/streets.osm.bz2           the highways inside the boundary + margin (OSM XML)
    osm/walk-<version>-<sha>.npz the routing graph, built once (read by WalkNetwork.from_osm)
    osm/walk-matrix-<...>.npz    its many-to-many preprocessing (geosafe.network.many)
    boundaries/boundaries.gpkg   layers demo_area (the area), boroughs, wards_2018, lsoa_2021
    schools/schools.csv          schools within the margin; in_demo_area = inside the area
    postcodes/<input>.csv.gz     postcode centroids within the margin (named after the input)
    gtfs/feed/                   the GTFS feed as given, with validation.json
    tfl/bus_stops.csv.gz         stops (from --stops, else the feed's stops)
    calendar/                    England bank holidays and the typical term calendar (copied)

Files an area does not hold (parks, police.uk extracts, TfL route sequences) fall back to
the bundled ones (:func:`geosafe.datasets` logs it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import ImportFileError, ValidationError
from ..incident import CRS_BNG
from . import inputs
from .manifest import (
    LICENCES,
    attribution,
    attribution_html,
    licence_expression,
    read_manifest,
)

__all__ = [
    "AREA_VERSION",
    "AreaSummary",
    "attribution",
    "attribution_html",
    "build_area",
    "licence_expression",
    "read_manifest",
]

log = logging.getLogger(__name__)

AREA_VERSION: Final = 1
STREETS: Final = Path("osm") / "streets.osm.bz2"


@dataclass(frozen=True)
class AreaSummary:
    """What :func:`build_area` made; ``to_json()`` is the command's JSON line."""

    area: Path
    nodes: int
    edges: int
    schools: int
    stops: int
    postcodes: int
    wards: int
    lsoas: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """The JSON line printed by ``geosafe area build``."""
        return {
            "area": str(self.area),
            "nodes": self.nodes,
            "edges": self.edges,
            "schools": self.schools,
            "stops": self.stops,
            "postcodes": self.postcodes,
            "wards": self.wards,
            "lsoas": self.lsoas,
            "seconds": round(self.seconds, 1),
        }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _date_of(path: Path) -> str:
    """The publication date in the file name (``20250101``, ``FEB_2025``, ``2024-02``), else
    the file's modification date."""
    name = path.name
    m = re.search(r"(20\d{2})[-_]?([01]\d)[-_]?([0-3]\d)", name)
    if m:
        return f"{m[1]}-{m[2]}-{m[3]}"
    m = re.search(r"(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)[_-]?(20\d{2})", name, re.I)
    if m:
        month = dt.datetime.strptime(m[1][:3].title(), "%b").month
        return f"{m[2]}-{month:02d}"
    return dt.date.fromtimestamp(path.stat().st_mtime).isoformat()


def _input(kind: str, path: Path, *, layout: str | None = None) -> dict[str, Any]:
    lic, text = LICENCES.get(layout or kind, LICENCES.get(kind, ("", "")))
    return {
        "kind": kind,
        "name": path.name,
        "layout": layout or kind,
        "date": _date_of(path),
        "sha256": _sha256(path),
        "licence": lic,
        "attribution": text,
    }


def _gtfs_dir(src: Path, out: Path) -> Path:
    if out.exists():
        shutil.rmtree(out)
    if src.is_dir():
        shutil.copytree(src, out)
    elif zipfile.is_zipfile(src):
        with zipfile.ZipFile(src) as z:
            z.extractall(out)
        inner = [p for p in out.rglob("stops.txt")]
        if inner and inner[0].parent != out:
            for p in inner[0].parent.iterdir():
                shutil.move(str(p), out / p.name)
    else:
        msg = f"`gtfs` {str(src)!r} is neither a folder nor a zip; pass a GTFS feed."
        raise ImportFileError(msg)
    return out


def _stops_table(stops_file: Path | None, gtfs: Path | None, area: Any) -> pd.DataFrame:
    cols = [
        "Stop_Code_LBSL",
        "Bus_Stop_Code",
        "Naptan_Atco",
        "Stop_Name",
        "Location_Easting",
        "Location_Northing",
        "Heading",
    ]
    if stops_file is not None:
        df = pd.read_csv(stops_file, dtype=str, keep_default_na=False)
        if {"ATCOCode", "CommonName", "Easting", "Northing"} <= set(df.columns):  # NaPTAN Stops.csv
            df = pd.DataFrame(
                {
                    "Stop_Code_LBSL": df.get("NaptanCode", ""),
                    "Naptan_Atco": df["ATCOCode"],
                    "Stop_Name": df["CommonName"],
                    "Location_Easting": df["Easting"],
                    "Location_Northing": df["Northing"],
                    "Heading": df.get("Bearing", ""),
                    "Bus_Stop_Code": df.get("NaptanCode", ""),
                }
            )
        elif not {"Naptan_Atco", "Location_Easting", "Location_Northing"} <= set(df.columns):
            msg = f"`stops` {str(stops_file)!r} is neither the TfL bus stop list nor NaPTAN Stops.csv."
            raise ImportFileError(msg)
    elif gtfs is not None:
        st = pd.read_csv(gtfs / "stops.txt", dtype=str, keep_default_na=False)
        from pyproj import Transformer

        e, n = Transformer.from_crs(4326, 27700, always_xy=True).transform(
            pd.to_numeric(st["stop_lon"]).to_numpy(), pd.to_numeric(st["stop_lat"]).to_numpy()
        )
        df = pd.DataFrame(
            {
                "Stop_Code_LBSL": st.get("stop_code", ""),
                "Naptan_Atco": st["stop_id"],
                "Stop_Name": st["stop_name"],
                "Location_Easting": np.round(e).astype(int).astype(str),
                "Location_Northing": np.round(n).astype(int).astype(str),
                "Heading": "",
            }
        )
        df["Bus_Stop_Code"] = df["Stop_Code_LBSL"]
    else:
        return pd.DataFrame(columns=[*cols, "in_demo_area"])
    df = df.copy()
    x = pd.to_numeric(df["Location_Easting"], errors="coerce").to_numpy()
    y = pd.to_numeric(df["Location_Northing"], errors="coerce").to_numpy()
    ok = np.isfinite(x) & np.isfinite(y)
    inside = np.zeros(len(df), dtype=bool)
    inside[ok] = shapely.contains_xy(area, x[ok], y[ok])
    df["in_demo_area"] = np.where(inside, "1", "0")
    return df


def build_area(
    out: str | Path,
    *,
    osm_file: str | Path,
    boundary: str | Path,
    select: list[str] | None = None,
    margin_m: float = 1000.0,
    gtfs: str | Path | None = None,
    schools: list[str | Path] | None = None,
    postcodes: str | Path | None = None,
    wards: str | Path | None = None,
    lsoas: str | Path | None = None,
    lads: str | Path | None = None,
    stops: str | Path | None = None,
    name: str | None = None,
) -> AreaSummary:
    """Build an area folder (see the module notes) from public files.

    Parameters
    ----------
    out
        The area folder (created; files in it are replaced).
    osm_file
        OSM extract: ``.osm.pbf`` (e.g. ``greater-london-latest.osm.pbf``) or OSM XML.
    boundary
        The area: a boundary file (``FILE`` or ``FILE:LAYER``, e.g. ONS
        ``Local_Authority_Districts_*.gpkg``); ``select`` picks features by GSS code or name
        (default: all, unioned).
    margin_m
        Streets, schools and postcodes are kept this far beyond the boundary, metres.
    gtfs
        GTFS feed folder or zip (validated; the report is saved beside it).
    schools
        GIAS establishment CSV, the north London list, the KS4 information, or a
        ``schools.csv`` (any number).
    postcodes
        ONSPD CSV, or Code-Point Open (a CSV, its folder of CSVs, or its zip).
    wards, lsoas, lads
        Ward, LSOA and local-authority boundary files (``FILE[:LAYER]``); those touching
        the area are kept. ``lads`` defaults to the boundary's own features.
    stops
        Stop list (TfL ``bus-stops.csv`` or NaPTAN ``Stops.csv``); default: the feed's stops.
    name
        A label for the manifest (default: the folder name).

    Returns
    -------
    AreaSummary
    """
    import time

    t0 = time.perf_counter()
    out = Path(out)
    if margin_m < 0:
        msg = f"`margin_m` {margin_m!r} is negative; pass metres >= 0."
        raise ValidationError(msg)
    out.mkdir(parents=True, exist_ok=True)
    manifest_inputs: list[dict[str, Any]] = []

    # ---- boundary
    feats = inputs.read_boundary(boundary, select=select)
    area = shapely.union_all(feats.geometry.to_numpy())
    zone = area.buffer(margin_m)
    manifest_inputs.append(_input("boundary", inputs._split_layer(boundary)[0]))
    layers: dict[str, gpd.GeoDataFrame] = {
        "demo_area": gpd.GeoDataFrame({"name": [name or out.name]}, geometry=[area], crs=CRS_BNG)
    }
    lad = feats if lads is None else inputs.read_boundary(lads, kind="lads")
    if lads is not None:
        manifest_inputs.append(_input("boundary", inputs._split_layer(lads)[0]))
    layers["boroughs"] = lad[["name", "gss_code", "geometry"]]
    for key, spec, layer in (("wards", wards, "wards_2018"), ("lsoas", lsoas, "lsoa_2021")):
        if spec is None:
            continue
        g = inputs.read_boundary(spec, kind=key)
        g = g[g.intersects(zone)]
        extra = [c for c in ("borough", "borough_code") if c in g.columns]
        g = g[["name", "gss_code", *extra, "geometry"]]
        if layer == "lsoa_2021":
            g = g.rename(columns={"gss_code": "lsoa_code"})
        layers[layer] = g
        manifest_inputs.append(_input("boundary", inputs._split_layer(spec)[0]))
    gpkg = out / "boundaries" / "boundaries.gpkg"
    gpkg.parent.mkdir(exist_ok=True)
    if gpkg.exists():
        gpkg.unlink()
    for layer, g in layers.items():
        g.to_file(gpkg, layer=layer, driver="GPKG")

    # ---- streets and the routing graph
    from ..network.many import WalkMatrix
    from ..network.walk import FILTER_VERSION

    osm_path = Path(osm_file)
    from . import osm  # scipy.sparse: only for a build, not for the attribution

    ways = osm.read_highways(osm_path, clip=zone)
    streets = osm.write_highways(ways, out / STREETS)
    sha = _sha256(streets)
    net = osm.walk_network_from_ways(ways, source_sha256=sha)
    for old in (out / "osm").glob("walk-*.npz"):
        old.unlink()
    net._save(out / "osm" / f"walk-{FILTER_VERSION}-{sha[:32]}.npz")
    matrix = WalkMatrix.build(net)
    matrix.save(out / "osm" / f"{_matrix_name(sha)}")
    manifest_inputs.append(_input("osm", osm_path))

    # ---- schools
    n_schools = 0
    if schools:
        sch, layouts = inputs.read_schools([Path(p) for p in schools])
        from pyproj import Transformer

        x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(
            sch["longitude"].astype(float).to_numpy(), sch["latitude"].astype(float).to_numpy()
        )
        near = shapely.contains_xy(zone, x, y)
        sch = sch[near].copy()
        sch["in_demo_area"] = shapely.contains_xy(area, x[near], y[near]).astype(int)
        (out / "schools").mkdir(exist_ok=True)
        sch.to_csv(out / "schools" / "schools.csv", index=False)
        n_schools = int(sch["in_demo_area"].sum())
        for p in schools:
            lay = layouts[str(Path(p))]
            manifest_inputs.append(
                _input("schools", Path(p), layout="gias" if lay == "gias" else "schools")
            )

    # ---- postcodes
    n_postcodes = 0
    if postcodes is not None:
        pcs, layout = inputs.read_postcodes(Path(postcodes), within=zone)
        (out / "postcodes").mkdir(exist_ok=True)
        for old in (out / "postcodes").glob("*.csv.gz"):
            old.unlink()
        stem = re.sub(r"(\.csv)?(\.gz|\.zip)?$", "", Path(postcodes).name) or "postcodes"
        from ..geocode.postcodes import write_postcode_table

        write_postcode_table(pcs, out / "postcodes" / f"{stem}.csv.gz")
        n_postcodes = len(pcs)
        lay = "codepoint" if layout == "geosafe" else layout  # the bundled table is Code-Point
        manifest_inputs.append(_input("postcodes", Path(postcodes), layout=lay))

    # ---- GTFS and stops
    n_stops = 0
    feed_dir = None
    if gtfs is not None:
        from ..network.gtfs_cache import AREA_CACHE, cached_router
        from ..network.many import MatrixWalk

        feed_dir = _gtfs_dir(Path(gtfs), out / "gtfs" / "feed")
        cache = out / AREA_CACHE
        if cache.exists():
            shutil.rmtree(cache)
        # the validated feed and the service's router (walking transfers on this area's
        # streets), kept under the feed's SHA-256 so a later load takes seconds
        router = cached_router(
            feed_dir,
            cache_dir=cache,
            walk=MatrixWalk(matrix),
            walk_path=net.path_line,
            warn=False,
        )
        report = router.feed.report
        (out / "gtfs" / "validation.json").write_text(
            json.dumps(_report_json(report), indent=1, default=str)
        )
        manifest_inputs.append(_input("gtfs", Path(gtfs)))
    st = _stops_table(Path(stops) if stops else None, feed_dir, area)
    if len(st):
        (out / "tfl").mkdir(exist_ok=True)
        st.to_csv(out / "tfl" / "bus_stops.csv.gz", index=False)
        n_stops = int((st["in_demo_area"] == "1").sum())
        if stops:
            manifest_inputs.append(_input("stops", Path(stops)))

    # ---- national reference files
    cal = default_bundled() / "calendar"
    if cal.is_dir():
        shutil.copytree(cal, out / "calendar", dirs_exist_ok=True)

    summary = AreaSummary(
        area=out,
        nodes=net.n_nodes,
        edges=net.n_edges,
        schools=n_schools,
        stops=n_stops,
        postcodes=n_postcodes,
        wards=len(layers.get("wards_2018", [])),
        lsoas=len(layers.get("lsoa_2021", [])),
        seconds=time.perf_counter() - t0,
    )
    manifest = {
        "geosafe_area": AREA_VERSION,
        "name": name or out.name,
        "built": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "margin_m": margin_m,
        "boundary_select": select or [],
        "inputs": manifest_inputs,
        "counts": {k: v for k, v in summary.to_json().items() if k not in ("area", "seconds")},
        "streets_sha256": sha,
        "walk": {"dropped": net.dropped, "core_nodes": matrix.n_core},
    }
    (out / "area.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    log.info("area %s built in %.1f s: %s", out, summary.seconds, summary.to_json())
    return summary


def _matrix_name(sha: str) -> str:
    from ..network.many import MATRIX_VERSION

    return f"{MATRIX_VERSION}-{sha[:32]}.npz"


def _report_json(report: Any) -> Any:
    if hasattr(report, "to_json"):
        return report.to_json()
    if hasattr(report, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(report)
    return str(report)


def default_bundled() -> Path:
    """The bundled ``data/`` folder (whatever ``GEOSAFE_AREA`` says)."""
    return Path(__file__).resolve().parent.parent.parent / "data"
