"""Pages the service renders and caches: OGC API documents as HTML (:func:`ogc_html`), and
rendered pages kept once with their gzip compression and entity tags (:func:`cached_page`),
plus small catalogue helpers the routers share (:func:`visible`, :func:`iso_utc`,
:func:`area_extent`, :func:`query_parameter`)."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import html
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..periods import LONDON
from .catalogue import COLLECTIONS, CollectionSpec

__all__ = [
    "Page",
    "area_extent",
    "cached_page",
    "iso_utc",
    "ogc_html",
    "query_parameter",
    "visible",
]

_lock = threading.Lock()


@dataclass(frozen=True)
class Page:
    """A rendered page: UTF-8 bytes, their gzip compression and the entity tag of each."""

    raw: bytes
    gz: bytes
    etag: str
    etag_gz: str


def cached_page(
    cache: OrderedDict[Hashable, Any], key: Hashable, make: Callable[[], str], *, size: int
) -> Page:
    """The page for ``key`` (whose last item is the viewer's scope), rendered and compressed
    once (least recently used pages dropped first, ``size`` kept). Its entity tags hash the
    bytes together with ``key``, so a tag issued to one role or scope never validates
    another's copy."""
    with _lock:
        hit = cache.get(key)
        if hit is not None:
            cache.move_to_end(key)
            page: Page = hit
            return page
    raw = make().encode()
    digest = hashlib.sha256(repr(key).encode() + b"\0" + raw).hexdigest()[:32]
    entry = Page(raw, gzip.compress(raw, compresslevel=9, mtime=0), f'"{digest}"', f'"{digest}-gz"')
    with _lock:
        cache[key] = entry
        while len(cache) > max(1, size):
            cache.popitem(last=False)
    return entry


def visible(role: str | None) -> list[CollectionSpec]:
    """The collections a role may read (every one for ``None``)."""
    return [sp for sp in COLLECTIONS.values() if role is None or role in sp.roles]


def iso_utc(t: dt.datetime | None) -> str | None:
    """An instant (aware: a ``datetime`` or ``pandas.Timestamp``) as RFC 3339 UTC text
    (``None`` stays ``None``)."""
    if t is None:
        return None
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_midnight(day: dt.date) -> dt.datetime:
    """The instant a London day starts (aware)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=_LONDON)


_LONDON = ZoneInfo(LONDON)


def area_extent(data_dir: Path) -> tuple[float, float, float, float]:
    """The demo area's CRS84 bounding box (6 decimals)."""
    import geopandas as gpd

    from .. import datasets
    from ..incident import CRS_BNG, CRS_WGS84

    area = datasets.demo_area(data_dir)
    b = gpd.GeoSeries([area], crs=CRS_BNG).to_crs(CRS_WGS84).total_bounds
    return (round(b[0], 6), round(b[1], 6), round(b[2], 6), round(b[3], 6))


def query_parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """An optional OpenAPI query parameter."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def ogc_html(doc: Mapping[str, Any], title: str, *, leaflet_url: str) -> str:
    """An OGC API document as an HTML page: its links, its JSON, and its features on a small
    Leaflet map (Leaflet from ``leaflet_url`` on this server; the offline basemap's streets,
    no tiles)."""
    links = "".join(
        f'<li><a href="{html.escape(link["href"])}">{html.escape(link.get("title") or link["rel"])}</a>'
        f" ({html.escape(link.get('type', ''))})</li>"
        for link in doc.get("links", [])
    )
    body = html.escape(
        json.dumps({k: v for k, v in doc.items() if k != "links"}, indent=1)[:200_000]
    )
    head = f"<meta charset=utf-8><title>{html.escape(title)}</title>"
    map_part = ""
    if doc.get("type") in ("FeatureCollection", "Feature"):
        data = json.dumps(
            {
                "type": doc["type"],
                **{k: doc[k] for k in ("features", "geometry", "properties") if k in doc},
            }
        )
        data = data.replace("</", "<\\/")
        head += (
            f'<link rel=stylesheet href="{leaflet_url}/leaflet.css">'
            f'<script src="{leaflet_url}/leaflet.js"></script>'
        )
        map_part = (
            '<div id=map style="height:420px;background:#f7f7f2"></div><script>'
            f"const data={data};const m=L.map('map');"
            "const g=L.geoJSON(data,{pointToLayer:(f,ll)=>L.circleMarker(ll,{radius:5})}).addTo(m);"
            "try{m.fitBounds(g.getBounds(),{maxZoom:16})}catch(e){m.setView([51.61,-0.12],13)}"
            "fetch('/maps/basemap.json',{credentials:'same-origin'}).then(r=>r.ok?r.json():null).then(b=>{"
            "if(b)L.geoJSON(b.streets,{style:{color:'#bbb',weight:1},interactive:false}).addTo(m).bringToBack()})"
            "</script>"
        )
    return (
        f"<!doctype html><html lang=en><head>{head}</head><body><h1>{html.escape(title)}</h1>"
        f"<ul>{links}</ul>{map_part}<pre>{body}</pre></body></html>"
    )
