"""An independent RFC 7946 checker for the GeoJSON the API returns (written from the RFC,
not from geosafe's serialiser): structure, lon/lat ranges, closed rings with counter-clockwise
exteriors and clockwise holes (signed area by the shoelace formula), no ``crs`` member, at most
6 decimals."""

from __future__ import annotations

from typing import Any

_GEOMS = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}


def _position(p: Any, where: str) -> None:
    assert isinstance(p, list) and len(p) in (2, 3), f"{where}: position {p!r}"
    lon, lat = p[0], p[1]
    assert isinstance(lon, int | float) and isinstance(lat, int | float), f"{where}: {p!r}"
    assert -180 <= lon <= 180 and -90 <= lat <= 90, f"{where}: not lon/lat {p!r}"
    for v in p:
        text = repr(float(v))
        if "e" not in text and "." in text:
            assert len(text.split(".")[1]) <= 6, f"{where}: more than 6 decimals {v!r}"


def _signed_area(ring: list[list[float]]) -> float:
    return 0.5 * sum(
        ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1] for i in range(len(ring) - 1)
    )


def _polygon(rings: Any, where: str) -> None:
    assert isinstance(rings, list) and rings, f"{where}: empty polygon"
    for k, ring in enumerate(rings):
        assert len(ring) >= 4, f"{where}: ring of {len(ring)} positions"
        assert ring[0] == ring[-1], f"{where}: ring not closed"
        for p in ring:
            _position(p, where)
        area = _signed_area(ring)
        if k == 0:
            assert area > 0, f"{where}: exterior ring is clockwise (area {area})"
        else:
            assert area < 0, f"{where}: hole is counter-clockwise (area {area})"


def check_geometry(g: Any, where: str = "geometry") -> None:
    if g is None:
        return
    assert isinstance(g, dict) and g.get("type") in _GEOMS, f"{where}: {g!r:.80}"
    assert "crs" not in g, f"{where}: has a crs member"
    t = g["type"]
    c = g.get("coordinates")
    if t == "Point":
        _position(c, where)
    elif t in ("MultiPoint", "LineString"):
        assert t == "MultiPoint" or len(c) >= 2, f"{where}: short line"
        for p in c:
            _position(p, where)
    elif t == "MultiLineString":
        for line in c:
            assert len(line) >= 2
            for p in line:
                _position(p, where)
    elif t == "Polygon":
        _polygon(c, where)
    elif t == "MultiPolygon":
        for poly in c:
            _polygon(poly, where)
    else:
        for i, sub in enumerate(g["geometries"]):
            check_geometry(sub, f"{where}[{i}]")


def check_feature(f: Any, where: str = "feature") -> None:
    assert isinstance(f, dict) and f.get("type") == "Feature", f"{where}: {f!r:.80}"
    assert "geometry" in f and "properties" in f, f"{where}: missing member"
    assert f["properties"] is None or isinstance(f["properties"], dict)
    if "id" in f:
        assert isinstance(f["id"], str | int), f"{where}: id {f['id']!r}"
    assert "crs" not in f
    check_geometry(f["geometry"], f"{where}.geometry")


def check_geojson(doc: Any) -> None:
    """Raise AssertionError unless ``doc`` is valid RFC 7946 GeoJSON."""
    assert isinstance(doc, dict), "not an object"
    assert "crs" not in doc, "top-level crs member (RFC 7946 §4 removed it)"
    t = doc.get("type")
    if t == "FeatureCollection":
        assert isinstance(doc.get("features"), list)
        for i, f in enumerate(doc["features"]):
            check_feature(f, f"features[{i}]")
    elif t == "Feature":
        check_feature(doc)
    else:
        check_geometry(doc)
