"""Interventions on the printable place report (4th wave), over HTTP: one logged at the place
is drawn and listed for the analyst with what was done; a school gets only the published H3
cells it covers (at most six vertices a cell: not the logged circle), its months and the
disclosure-controlled evaluation, and none of the log's words. One logged 4 km away appears on
neither. The metric check of the drawn vertices is in
``tests/journeys/test_school_report_interventions.py``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pyproj import Transformer

from geosafe.network.origins import school_location

from ._copies import client_on_copy
from .conftest import Tokens, auth

_WHAT = "Street pastors Hq5 with a named pupil"
_NOTES = "meets at 7 Sample Close"
_FAR = "Far CCTV Rt8"
_TO_WGS = Transformer.from_crs("EPSG:27700", "OGC:CRS84", always_xy=True)
_DASHED = re.compile(r'<path d="([^"]+)" [^>]*stroke-dasharray="6 4"')


@pytest.fixture(scope="module")
def own(store_path: Path, tokens: Tokens, tmp_path_factory: pytest.TempPathFactory) -> Any:
    with client_on_copy(store_path, tmp_path_factory.mktemp("iv-place")) as pair:
        yield pair


def test_place_page_draws_interventions_per_role(own: Any, tokens: Tokens) -> None:
    client, _ = own
    (x, y), _name = school_location(tokens.school_urn)
    refs = []
    for what, dx in ((_WHAT, 50.0), (_FAR, 4000.0)):
        lon, lat = _TO_WGS.transform(x + dx, y)
        body = {
            "what": what,
            "where": {"kind": "point", "ref": f"{lon:.6f},{lat:.6f}", "radius": 150},
            "start": "2024-06-10",
            "notes": _NOTES,
        }
        r = client.post("/interventions", json=body, headers=auth(tokens.analyst))
        assert r.status_code == 200, r.text
        refs.append(r.json()["where_ref"])
    lon, lat = _TO_WGS.transform(x, y)
    q = {"lon": lon, "lat": lat, "radius": 250, "f": "html"}
    pages = {}
    for role, token in (("analyst", tokens.analyst), ("school", tokens.school)):
        r = client.get("/places/report", params=q, headers=auth(token))
        assert r.status_code == 200, r.text
        pages[role] = r.text
    a, s = pages["analyst"], pages["school"]
    sec = a.split("<h2>Interventions near this place</h2>", 1)[1].split("<h2>", 1)[0]
    assert _WHAT in sec and "2024-06-10" in sec
    assert _FAR not in a and _NOTES not in a and ">I2</text>" not in a
    assert ">I1</text>" in a and "dashed green outlines" in a
    (ad,) = _DASHED.findall(a)
    assert ad.count(" ") + 1 >= 30  # the logged circle: many vertices

    ssec = s.split("<h2>Interventions near this place</h2>", 1)[1].split("<h2>", 1)[0]
    assert "I1" in ssec and "2024-06" in ssec and "published H3 cells" in ssec
    for private in (_WHAT, _NOTES, _FAR, "km²", *refs):
        assert private not in s
    assert ">I2</text>" not in s
    n_cells = int(ssec.split("<td>I1</td><td>", 1)[1].split("</td>", 1)[0])
    (sd,) = _DASHED.findall(s)
    # each ring repeats its first point before closing
    vertices = sum(len(part.rstrip("Z").split()) - 1 for part in sd.split("M")[1:])
    assert 6 <= vertices <= 6 * n_cells  # an outline of whole hexagons
