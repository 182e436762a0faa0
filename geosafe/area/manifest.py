"""An area's manifest (``area.json``) and the attribution and licences of its inputs: what
a service shows on every map, document and report, read with no geospatial library loaded
(:mod:`geosafe.area.build` makes the manifest)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from .._errors import ImportFileError
from ..settings import default_data_dir

__all__ = [
    "LICENCES",
    "SHORT_LICENCES",
    "SPDX",
    "attribution",
    "attribution_html",
    "licence_expression",
    "read_manifest",
]

#: Licence attribution per input kind (shown on maps and reports).
LICENCES: Final = {
    "osm": (
        "ODbL 1.0",
        "© OpenStreetMap contributors, data available under the Open Database Licence",
    ),
    "gias": (
        "OGL v3.0",
        "Contains public sector information licensed under the Open Government Licence v3.0 (DfE Get Information about Schools)",
    ),
    "schools": (
        "OGL v3.0",
        "Contains public sector information licensed under the Open Government Licence v3.0 (DfE, Ofsted)",
    ),
    "onspd": (
        "OGL v3.0",
        "Source: Office for National Statistics licensed under the Open Government Licence v3.0; contains OS data © Crown copyright and database right; contains Royal Mail data © Royal Mail copyright and database right",
    ),
    "codepoint": (
        "OS OpenData",
        "Contains OS data © Crown copyright and database right; contains Royal Mail data © Royal Mail copyright and database right; contains National Statistics data © Crown copyright and database right (Code-Point Open)",
    ),
    "gtfs": (
        "publisher's terms",
        "Timetables from the GTFS feed publisher named in feed_info.txt / agency.txt (Bus Open Data: OGL v3.0)",
    ),
    "stops": (
        "OGL v3.0",
        "Contains public sector information licensed under the Open Government Licence v3.0 (TfL / NaPTAN); Powered by TfL Open Data",
    ),
    "boundary": (
        "OGL v3.0",
        "Source: Office for National Statistics licensed under the Open Government Licence v3.0; contains OS data © Crown copyright and database right",
    ),
}


#: The same attributions in a few words, for the attribution control of a map (the full
#: text is in :data:`LICENCES`, shown on reports and as the control's tooltip).
SHORT_LICENCES: Final = {
    "osm": "© OpenStreetMap contributors (ODbL)",
    "gias": "DfE GIAS (OGL v3.0)",
    "schools": "DfE, Ofsted (OGL v3.0)",
    "onspd": "ONS Postcode Directory: ONS, OS, Royal Mail © Crown copyright (OGL v3.0)",
    "codepoint": "Code-Point Open: OS, Royal Mail, ONS © Crown copyright",
    "gtfs": "GTFS timetables: publisher's terms",
    "stops": "Powered by TfL Open Data / NaPTAN (OGL v3.0)",
    "boundary": "Boundaries: ONS, OS © Crown copyright (OGL v3.0)",
}


def read_manifest(area: str | Path) -> dict[str, Any]:
    """An area's ``area.json``."""
    path = Path(area) / "area.json"
    if not path.is_file():
        msg = f"`area` {str(area)!r} has no area.json; build it with `geosafe area build`."
        raise ImportFileError(msg)
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def attribution(area: str | Path | None = None, *, short: bool = False) -> list[str]:
    """The attribution lines to show on maps and reports for an area (default: the area
    in use, ``GEOSAFE_AREA``); one line per distinct licence text, in input order. For the
    bundled data (no ``area.json``), the bundled data's attribution. ``short``: a few words
    each (:data:`SHORT_LICENCES`), for a map's attribution control."""
    folder = Path(area) if area is not None else default_data_dir()
    table = SHORT_LICENCES if short else {k: v[1] for k, v in LICENCES.items()}
    if not (folder / "area.json").is_file():
        return [table[k] for k in ("osm", "stops", "codepoint", "schools", "boundary")]
    lines: list[str] = []
    for item in read_manifest(folder)["inputs"]:
        text = item.get("attribution", "")
        if short:
            text = SHORT_LICENCES.get(item.get("layout", ""), "") or SHORT_LICENCES.get(
                item.get("kind", ""), text
            )
        if text and text not in lines:
            lines.append(text)
    return lines


#: SPDX identifiers of the licences in :data:`LICENCES` (Code-Point Open is published under
#: the OS OpenData licence, which incorporates the OGL v3.0).
SPDX: Final = {
    "ODbL 1.0": "ODbL-1.0",
    "OGL v3.0": "OGL-UK-3.0",
    "OS OpenData": "OGL-UK-3.0",
    "publisher's terms": "LicenseRef-GTFS-publisher-terms",
}


def licence_expression(area: str | Path | None = None) -> str:
    """The area's inputs' licences as one SPDX expression (``"ODbL-1.0 AND OGL-UK-3.0"``),
    for a collection's ``license`` field."""
    folder = Path(area) if area is not None else default_data_dir()
    if (folder / "area.json").is_file():
        names = [i.get("licence", "") for i in read_manifest(folder)["inputs"]]
    else:
        names = [LICENCES[k][0] for k in ("osm", "stops", "codepoint", "schools", "boundary")]
    ids: list[str] = []
    for n in names:
        spdx = SPDX.get(n)
        if spdx and spdx not in ids:
            ids.append(spdx)
    return " AND ".join(ids)


def attribution_html(area: str | Path | None = None) -> str:
    """The attribution of :func:`attribution` as the foot of a report page (escaped HTML)."""
    import html

    items = "".join(f"<li>{html.escape(line)}</li>" for line in attribution(area))
    return (
        '<footer class="attribution" style="margin-top:1.5em;font-size:11px;color:#555">'
        f"<b>Data sources and licences</b><ul>{items}</ul></footer>"
    )
