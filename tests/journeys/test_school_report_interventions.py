"""Interventions on the printable school report (4th wave): one logged at the school gate is
drawn and listed on the analyst's report with what was done; on the school's report it is
only the published H3 cells it covers, its months and the disclosure-controlled evaluation.
One logged 4 km away appears on neither.

The leak test reads the school's map back into metres (the scale bar gives the scale, the
school's dot the origin): every vertex drawn for the intervention is a vertex of an H3
resolution-8 cell, none is a vertex of the logged circle, and no private field is on the page.
The same reading of the analyst's map finds the logged circle (the control that the reading
works)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import h3
import numpy as np
from pyproj import Transformer

from ._fixtures import school_reports, section

_WHAT = "Detached youth work Zq7"
_NOTES = "named pupil Xk9 seen here"
_FAR_WHAT = "Far lighting Wv4"
_TO_WGS = Transformer.from_crs("EPSG:27700", "OGC:CRS84", always_xy=True)
_DASHED = re.compile(r'<path d="([^"]+)" [^>]*stroke-dasharray="6 4"')


def _rings(d: str) -> list[np.ndarray]:
    """The rings of an SVG path ``d`` (pixels), each without its closing point."""
    out = []
    for part in d.split("M")[1:]:
        pts = np.array([[float(v) for v in p.split(",")] for p in part.rstrip("Z").split()])
        out.append(pts)
    return out


def _to_metres(svg: str, school_xy: tuple[float, float]) -> Any:
    """A function from the map's pixels to EPSG:27700, read off the page: the scale bar
    (its length in pixels and its label) and the school's dot (centred on the school)."""
    bar = re.search(r'<path d="M16 [\d.]+h([\d.]+)"[^>]*/><text[^>]*>([\d.]+) (m|km)</text>', svg)
    assert bar is not None
    metres = float(bar.group(2)) * (1000 if bar.group(3) == "km" else 1)
    scale = float(bar.group(1)) / metres
    dot = re.search(r'<path d="([^"]+)" fill="#000" stroke="#fff" stroke-width="2"/>', svg)
    assert dot is not None
    cx, cy = _rings(dot.group(1))[0].mean(axis=0)
    x0, y1 = school_xy[0] - cx / scale, school_xy[1] + cy / scale

    def to_m(px: np.ndarray) -> np.ndarray:
        return np.column_stack([x0 + px[:, 0] / scale, y1 - px[:, 1] / scale])

    return to_m


def _near_h3_vertex(x: float, y: float, tol_m: float) -> bool:
    lon, lat = _TO_WGS.transform(x, y)
    cell = h3.latlng_to_cell(lat, lon, 8)
    to_bng = Transformer.from_crs("OGC:CRS84", "EPSG:27700", always_xy=True)
    for c in h3.grid_disk(cell, 1):
        for vlat, vlon in h3.cell_to_boundary(c):
            vx, vy = to_bng.transform(vlon, vlat)
            if np.hypot(vx - x, vy - y) <= tol_m:
                return True
    return False


def test_interventions_on_the_school_report_per_role(
    tmp_path: Path, report_store: tuple[Path, Any]
) -> None:
    from geosafe.cli import main
    from geosafe.protect.interventions import list_interventions
    from geosafe.store import open_store

    db, gate = report_store
    lon, lat = _TO_WGS.transform(gate.x + 60, gate.y + 40)
    flon, flat = _TO_WGS.transform(gate.x + 4000, gate.y)
    for what, (x, y), notes in ((_WHAT, (lon, lat), _NOTES), (_FAR_WHAT, (flon, flat), "far")):
        argv = ["intervention", "add", "--db", str(db), "--what", what]
        argv += [f"--point={x:.6f},{y:.6f}", "--radius", "150", "--start", "2024-06-01"]
        assert main([*argv, "--notes", notes, "--by", "Officer Qj3"]) == 0
    store = open_store(db)
    near, far = list_interventions(store)
    page, spage = school_reports(db, tmp_path)
    school_xy = (gate.x, gate.y)

    # the analyst: the logged circle, labelled, with what was done; not the far one
    ours = section(page, "Interventions near these routes")
    assert _WHAT in ours and "point" in ours and "2024-06-01" in ours
    assert _FAR_WHAT not in page and ">I2</text>" not in page
    assert _NOTES not in page  # the notes stay in the log, even for the analyst's page
    assert ">I1</text>" in page and "interventions, their logged area" in page
    (d,) = _DASHED.findall(page)
    drawn = np.vstack([_to_metres(page, school_xy)(r) for r in _rings(d)])
    circle = np.asarray(near.geometry.exterior.coords)[:-1]
    gap = np.hypot(*(drawn[:, None, :] - circle[None, :, :]).transpose(2, 0, 1)).min(axis=0)
    assert np.all(gap < 3.0)  # the reading works: every vertex of the circle is drawn

    # the school: the published cells only, none of the log's words, not the circle
    ssec = section(spage, "Interventions near these routes")
    assert "I1" in ssec and "2024-06" in ssec and "published H3 cells" in ssec
    assert ("change not shown:" in ssec) or ("%" in ssec)  # the banded answer or the reason
    for private in (_WHAT, _NOTES, "Officer Qj3", near.where_ref, _FAR_WHAT, far.where_ref):
        assert private not in spage
    assert "km²" not in ssec  # nor the exact area
    assert ">I2</text>" not in spage
    (sd,) = _DASHED.findall(spage)
    sdrawn = np.vstack([_to_metres(spage, school_xy)(r) for r in _rings(sd)])
    assert len(sdrawn) >= 6
    assert all(_near_h3_vertex(x, y, 3.0) for x, y in sdrawn)
    sgap = np.hypot(*(sdrawn[:, None, :] - circle[None, :, :]).transpose(2, 0, 1)).min(axis=0)
    assert np.all(sgap > 3.0)  # no vertex of the logged circle
