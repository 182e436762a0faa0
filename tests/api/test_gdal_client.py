"""A real OGC API client: GDAL's OAPIF driver (Debian ``ogrinfo`` and pyogrio's own GDAL)
against a live uvicorn server with a small maximum page size, so every read pages through
``next`` links."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api import create_app
from tests._live import serve_app

from .conftest import Tokens, make_settings

pytestmark = pytest.mark.gdal

PAGE = 5


@pytest.fixture(scope="module")
def server(
    service_db: Path | str, tokens: Tokens, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    app = create_app(make_settings(service_db, tmp_path_factory.mktemp("gdal"), max_page_size=PAGE))
    with serve_app(app) as base:
        yield base


def _headers(tokens: Tokens) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.analyst}", "X-Purpose": "GDAL client test"}


def _matched(server: str, tokens: Tokens, collection: str, query: str = "") -> int | None:
    r = httpx.get(
        f"{server}/ogc/collections/{collection}/items?limit=1&{query}",
        headers=_headers(tokens),
        timeout=120,
    )
    if r.status_code == 503:  # that engine has not landed in this build
        return None
    assert r.status_code == 200, r.text
    return int(r.json()["numberMatched"])


def _ogrinfo(server: str, tokens: Tokens, *args: str) -> str:
    headers = "\r\n".join(f"{k}: {v}" for k, v in _headers(tokens).items())
    return ogrinfo(server, {"GDAL_HTTP_HEADERS": headers}, *args)


def ogrinfo(server: str, auth: dict[str, str], *args: str) -> str:
    """``ogrinfo -ro OAPIF:{server}/ogc ARGS`` (Debian's GDAL) with the ``GDAL_HTTP_*``
    variables of ``auth``; its output (skips without gdal-bin)."""
    exe = shutil.which("ogrinfo")
    if exe is None:
        pytest.skip("ogrinfo (Debian gdal-bin) is not installed; run scripts/setup.sh --test")
    env = dict(os.environ, GDAL_HTTP_TIMEOUT="300", **auth)
    out = subprocess.run(
        [exe, "-ro", f"OAPIF:{server}/ogc", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_ogrinfo_lists_every_collection(server: str, tokens: Tokens) -> None:
    out = _ogrinfo(server, tokens)
    for cid in ALL:
        assert f": {cid} (" in out, out


ALL = (
    "incidents",
    "hotspots-kde",
    "clusters",
    "h3-cells",
    "emerging-cells",
    "schools",
    "bus-stops",
    "journey-corridors",
)


@pytest.mark.parametrize("collection", ALL)
def test_ogrinfo_reads_every_feature(server: str, tokens: Tokens, collection: str) -> None:
    """Default parameters (the school run over the last 12 months of data)."""
    matched = _matched(server, tokens, collection)
    if matched is None:
        pytest.skip(f"{collection}: its engine is not in this build (503)")
    out = _ogrinfo(server, tokens, "-geom=NO", collection)
    assert out.count("OGRFeature(") == matched
    if collection in ("bus-stops", "schools"):
        assert matched > PAGE  # more than one page


def test_ogrinfo_bbox_filter(server: str, tokens: Tokens) -> None:
    bbox = (-0.14, 51.60, -0.11, 51.62)
    matched = _matched(server, tokens, "bus-stops", "bbox=" + ",".join(map(str, bbox)))
    assert matched and matched > PAGE
    out = _ogrinfo(server, tokens, "-geom=NO", "-spat", *map(str, bbox), "bus-stops")
    assert out.count("OGRFeature(") == matched


_PYOGRIO_SCRIPT = """
import json, sys
import pyogrio
src, bbox = sys.argv[1], [float(v) for v in sys.argv[2].split(",")]
out = {"layers": [str(r[0]) for r in pyogrio.list_layers(src)], "counts": {}, "bounds": {}}
for name in ("schools", "bus-stops", "h3-cells", "journey-corridors"):
    df = pyogrio.read_dataframe(src, layer=name)
    out["counts"][name] = len(df)
    out["bounds"][name] = [float(v) for v in df.total_bounds] if len(df) else None
out["bbox_count"] = len(pyogrio.read_dataframe(src, layer="bus-stops", bbox=tuple(bbox)))
print(json.dumps(out))
"""


def test_pyogrio_reads_with_paging_and_bbox(server: str, tokens: Tokens, tmp_path: Path) -> None:
    """pyogrio's own GDAL, in a child process (its reads hold this process's GIL, which the
    in-process server thread needs)."""
    import json
    import sys

    # pyogrio's bundled GDAL (3.12 here) sent GDAL_HTTP_HEADERS on the landing page only;
    # a header file is applied to every request of the OAPIF driver.
    hdr = tmp_path / "headers.txt"
    hdr.write_text("".join(f"{k}: {v}\n" for k, v in _headers(tokens).items()))
    env = dict(os.environ, GDAL_HTTP_HEADER_FILE=str(hdr), GDAL_HTTP_TIMEOUT="120")
    bbox = (-0.14, 51.60, -0.11, 51.62)
    run = subprocess.run(
        [sys.executable, "-c", _PYOGRIO_SCRIPT, f"OAPIF:{server}/ogc", ",".join(map(str, bbox))],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert {"schools", "bus-stops", "hotspots-kde", "h3-cells", "incidents"} <= set(got["layers"])
    for name, n in got["counts"].items():
        assert n == _matched(server, tokens, name), name
        b = got["bounds"][name]
        if b:
            assert -0.2 < b[0] <= b[2] < 0.0 and 51.55 < b[1] <= b[3] < 51.7  # lon/lat order
    assert got["bbox_count"] == _matched(
        server, tokens, "bus-stops", "bbox=" + ",".join(map(str, bbox))
    )
