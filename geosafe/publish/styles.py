"""The classes a layer is drawn with, one computation for every client: the web map (through
``/ogc/collections/{id}/legend``) and the QGIS styles stored in every GeoPackage download
(QML and SLD in ``layer_styles``).

- density layers (``hotspots-kde``, ``clusters``): up to five quantile classes of the values
  drawn, floors and ceilings rounded outwards to two significant figures (the web page's
  ``quantileClasses``), on a red ramp;
- ``h3-cells``: the Gi* classes (hot/cold spot at 90/95/99% confidence, not significant);
- ``emerging-cells``: the emerging-hotspot categories;
- ``journey-corridors``: quantile classes of ``pupils``;
- everything else: one symbol.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

__all__ = [
    "GI_CLASSES",
    "GRADUATED",
    "PUPIL_CLASSES",
    "RAMP",
    "TRENDS",
    "Legend",
    "default_legend",
    "legend_for",
    "qml",
    "quantile_classes",
    "sld",
]

#: The red ramp of graduated classes, lightest first (the web page's ``RAMP``).
RAMP: Final = ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15")
#: Gi* classes: value, colour, label.
GI_CLASSES: Final = (
    ("hot_99", "#a50f15", "hot spot, 99% confidence"),
    ("hot_95", "#de2d26", "hot spot, 95% confidence"),
    ("hot_90", "#fb6a4a", "hot spot, 90% confidence"),
    ("not_significant", "#ffffff", "not significant"),
    ("cold_90", "#6baed6", "cold spot, 90% confidence"),
    ("cold_95", "#3182bd", "cold spot, 95% confidence"),
    ("cold_99", "#08519c", "cold spot, 99% confidence"),
)
#: Emerging-hotspot categories: value, colour.
TRENDS: Final = (
    ("new", "#a50f15"),
    ("intensifying", "#de2d26"),
    ("persistent", "#fb6a4a"),
    ("consecutive", "#fc9272"),
    ("sporadic", "#fcbba1"),
    ("oscillating", "#fdd0a2"),
    ("historical", "#9ecae1"),
    ("diminishing", "#6baed6"),
    ("no_pattern", "#ffffff"),
)
#: The graduated collections: the field classified and its units.
GRADUATED: Final = {
    "hotspots-kde": ("density", "incidents per km²"),
    "clusters": ("density", "incidents per km²"),
    "journey-corridors": ("pupils", "pupils whose journeys pass here (rounded to 5)"),
}


@dataclass(frozen=True)
class Legend:
    """How a layer is drawn: ``kind`` ``graduated`` (``classes`` of ``{lower, upper, colour,
    label}``), ``categorised`` (``{value, colour, label}``) or ``single``; the ``field``
    classified and its ``units``."""

    collection: str
    kind: str
    field: str | None
    units: str | None
    classes: tuple[dict[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        """The legend as JSON."""
        return {
            "collection": self.collection,
            "kind": self.kind,
            "field": self.field,
            "units": self.units,
            "classes": list(self.classes),
        }


def _nice(v: float, how: str) -> float:
    """``v`` to two significant figures, rounded down, up or to the nearest."""
    if not math.isfinite(v) or v == 0:
        return v
    mag = 10.0 ** (math.floor(math.log10(abs(v))) - 1)
    f = {"up": math.ceil, "down": math.floor}.get(how, lambda x: math.floor(x + 0.5))
    return float(f(v / mag) * mag)


def quantile_classes(values: Sequence[float | None] | np.ndarray) -> list[dict[str, Any]]:
    """Up to five quantile classes of ``values`` (``None``/NaN ignored): the first starts at
    or below the smallest value, the last ends at or above the largest; colours from the
    darkest end of :data:`RAMP`. A single class is split in two halves, so a style always
    tells low from high."""
    v = np.sort(np.array([x for x in values if x is not None], dtype=float))
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return []
    k = min(5, len(np.unique(v)))
    cuts = [_nice(float(v[0]), "down")]
    for i in range(1, k):
        q = _nice(float(v[(i * len(v)) // k]), "near")
        if q > cuts[-1]:
            cuts.append(q)
    top = _nice(float(v[-1]), "up")
    cuts.append(top if top > cuts[-1] else float(v[-1]))
    if len(cuts) == 2 and cuts[1] <= cuts[0]:  # every value equal: classes from zero up to it
        cuts = [min(0.0, cuts[0]), cuts[0]] if cuts[0] != 0 else [0.0, 1.0]
    if len(cuts) == 2 and cuts[1] > cuts[0]:  # one value or one class: two halves to tell apart
        cuts.insert(1, (cuts[0] + cuts[1]) / 2)
    n = len(cuts) - 1
    colours = RAMP if n >= len(RAMP) else RAMP[len(RAMP) - n :]
    return [
        {"lower": lo, "upper": hi, "colour": colours[i], "label": f"{lo:g} - {hi:g}"}
        for i, (lo, hi) in enumerate(itertools.pairwise(cuts))
    ]


#: Classes of published pupil counts used where the corridors are not built yet (the QGIS
#: project: building every school's corridors would hold a download for minutes).
PUPIL_CLASSES: Final = (10.0, 25.0, 50.0, 100.0, 250.0, 1000.0)


def default_legend(collection: str) -> Legend:
    """The legend of ``collection`` without its data: categories as :func:`legend_for`,
    graduated ``journey-corridors`` on :data:`PUPIL_CLASSES`, other graduated layers
    without classes (QGIS classifies them when asked)."""
    if collection == "journey-corridors":
        field, units = GRADUATED[collection]
        classes = tuple(
            {"lower": lo, "upper": hi, "colour": RAMP[i], "label": f"{lo:g} - {hi:g}"}
            for i, (lo, hi) in enumerate(itertools.pairwise(PUPIL_CLASSES))
        )
        return Legend(collection, "graduated", field, units, classes)
    if collection in GRADUATED:
        field, units = GRADUATED[collection]
        return Legend(collection, "graduated", field, units, ())
    return legend_for(collection, None)


def legend_for(collection: str, frame: Any) -> Legend:
    """The legend of a layer (``frame``: its properties as columns, e.g. ``Layer.frame``)."""
    if collection in GRADUATED:
        field, units = GRADUATED[collection]
        has = frame is not None and field in frame.columns and len(frame)
        values = frame[field].to_numpy(dtype=float) if has else []
        classes = tuple(quantile_classes(values))
        if not classes and collection == "journey-corridors":
            return default_legend(collection)
        return Legend(collection, "graduated", field, units, classes)
    if collection == "h3-cells":
        classes = tuple({"value": v, "colour": c, "label": t} for v, c, t in GI_CLASSES)
        return Legend(collection, "categorised", "hotspot", "Getis-Ord Gi* class", classes)
    if collection == "emerging-cells":
        classes = tuple({"value": v, "colour": c, "label": v.replace("_", " ")} for v, c in TRENDS)
        return Legend(collection, "categorised", "trend", "emerging hotspot category", classes)
    return Legend(collection, "single", None, None, ())


# -- QGIS styles -----------------------------------------------------------------------------

_SYMBOL: Final = {
    "Point": ("marker", "SimpleMarker"),
    "LineString": ("line", "SimpleLine"),
    "Polygon": ("fill", "SimpleFill"),
}


def _rgba(colour: str, alpha: int = 255) -> str:
    c = colour.lstrip("#")
    return f"{int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},{alpha}"


def _symbol(name: str, geometry: str, colour: str) -> str:
    kind = geometry.removeprefix("Multi")
    sym_type, cls = _SYMBOL.get(kind, _SYMBOL["Polygon"])
    if sym_type == "fill":
        opts = {
            "color": _rgba(colour, 190),
            "outline_color": "103,0,13,255",
            "outline_width": "0.3",
            "style": "solid",
        }
    elif sym_type == "line":
        opts = {"line_color": _rgba(colour, 230), "line_width": "1.2", "capstyle": "round"}
    else:
        opts = {"name": "circle", "color": _rgba(colour, 220), "outline_color": "80,0,0,255"}
    body = "".join(f'<Option type="QString" name="{k}" value="{v}"/>' for k, v in opts.items())
    return (
        f'<symbol type="{sym_type}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="{cls}" enabled="1" locked="0" pass="0"><Option type="Map">{body}'
        "</Option></layer></symbol>"
    )


def qml(legend: Legend, geometry: str) -> str:
    """A QGIS style (QML): a graduated, categorised or single-symbol renderer for
    ``legend`` and features of ``geometry`` type."""
    head = (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
        '<qgis version="3.22.0" styleCategories="Symbology">'
    )
    symbols = "".join(_symbol(str(i), geometry, c["colour"]) for i, c in enumerate(legend.classes))
    labels = [
        f'symbol="{i}" label="{html.escape(c["label"])}" render="true"/>'
        for i, c in enumerate(legend.classes)
    ]
    common = 'symbollevels="0" enableorderby="0" forceraster="0"'
    if legend.kind == "graduated":  # an empty layer keeps a graduated (class-less) style
        ranges = "".join(
            f'<range lower="{c["lower"]}" upper="{c["upper"]}" {tail}'
            for c, tail in zip(legend.classes, labels, strict=True)
        )
        renderer = (
            f'<renderer-v2 type="graduatedSymbol" attr="{legend.field}" '
            f'graduatedMethod="GraduatedColor" {common}><ranges>{ranges}</ranges>'
            f'<symbols>{symbols}</symbols><mode name="quantile"/></renderer-v2>'
        )
    elif legend.kind == "categorised":
        cats = "".join(
            f'<category value="{html.escape(c["value"])}" {tail}'
            for c, tail in zip(legend.classes, labels, strict=True)
        )
        renderer = (
            f'<renderer-v2 type="categorizedSymbol" attr="{legend.field}" {common}>'
            f"<categories>{cats}</categories><symbols>{symbols}</symbols></renderer-v2>"
        )
    else:
        renderer = (
            '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
            f"<symbols>{_symbol('0', geometry, '#d7301f')}</symbols></renderer-v2>"
        )
    return head + renderer + "</qgis>"


def sld(legend: Legend, geometry: str, name: str) -> str:
    """The same classes as an OGC Styled Layer Descriptor 1.1 (for clients other than QGIS)."""
    kind = geometry.removeprefix("Multi")
    sym = {"Point": "PointSymbolizer", "LineString": "LineSymbolizer"}.get(
        kind, "PolygonSymbolizer"
    )

    def paint(colour: str) -> str:
        if sym == "LineSymbolizer":
            return (
                f'<se:Stroke><se:SvgParameter name="stroke">{colour}</se:SvgParameter></se:Stroke>'
            )
        fill = f'<se:Fill><se:SvgParameter name="fill">{colour}</se:SvgParameter></se:Fill>'
        if sym == "PointSymbolizer":
            return f"<se:Graphic><se:Mark><se:WellKnownName>circle</se:WellKnownName>{fill}</se:Mark></se:Graphic>"
        return fill

    rules = []
    kind_of = legend.kind if legend.classes else "single"
    for c in legend.classes or ({"colour": "#d7301f", "label": name},):
        if kind_of == "graduated":
            flt = (
                "<ogc:Filter><ogc:And>"
                f"<ogc:PropertyIsGreaterThanOrEqualTo><ogc:PropertyName>{legend.field}</ogc:PropertyName>"
                f"<ogc:Literal>{c['lower']}</ogc:Literal></ogc:PropertyIsGreaterThanOrEqualTo>"
                f"<ogc:PropertyIsLessThanOrEqualTo><ogc:PropertyName>{legend.field}</ogc:PropertyName>"
                f"<ogc:Literal>{c['upper']}</ogc:Literal></ogc:PropertyIsLessThanOrEqualTo>"
                "</ogc:And></ogc:Filter>"
            )
        elif kind_of == "categorised":
            flt = (
                f"<ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>{legend.field}</ogc:PropertyName>"
                f"<ogc:Literal>{html.escape(c['value'])}</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>"
            )
        else:
            flt = ""
        rules.append(
            f"<se:Rule><se:Name>{html.escape(c['label'])}</se:Name>{flt}"
            f"<se:{sym}>{paint(c['colour'])}</se:{sym}></se:Rule>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<StyledLayerDescriptor version="1.1.0" xmlns="http://www.opengis.net/sld" '
        'xmlns:se="http://www.opengis.net/se" xmlns:ogc="http://www.opengis.net/ogc">'
        f"<NamedLayer><se:Name>{html.escape(name)}</se:Name><UserStyle><se:FeatureTypeStyle>"
        + "".join(rules)
        + "</se:FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>"
    )
