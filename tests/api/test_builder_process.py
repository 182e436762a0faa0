"""Layers built in a child process (``layer_builder="process"``, the default): the serving
process answers every role exactly as a service building its own layers does, never loads
pandas, geopandas, scipy or pyproj to do it, and survives its child exiting (idle) or dying.

The reference for every answer is the same app with ``layer_builder="inline"`` (the code path
the rest of the suite tests against scikit-learn, scipy, esda and GDAL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import create_app
from geosafe._errors import NotFoundError
from geosafe.publish.builder import BuilderConfig, LayerBuilder

from ._gis_session import gis_session
from .conftest import ROOT, Tokens, auth, make_settings, make_tokens


def _comparable(body: bytes) -> Any:
    """A JSON answer without its time stamp (the one field that differs between two calls);
    a GeoPackage as its features and styles read back by GDAL (its style row is stamped)."""
    if body[:16] == b"SQLite format 3\x00":
        return _geopackage(body)
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    if isinstance(doc, dict):
        doc.pop("timeStamp", None)
    return doc


def _geopackage(body: bytes) -> Any:
    import tempfile

    import pyogrio

    with tempfile.NamedTemporaryFile(suffix=".gpkg") as f:
        f.write(body)
        f.flush()
        out = []
        for name, geometry in pyogrio.list_layers(f.name):
            frame = pyogrio.read_dataframe(f.name, layer=name)
            frame = frame.drop(columns=["update_time"], errors="ignore")
            if hasattr(frame, "to_wkt"):  # geometries as text
                frame = frame.to_wkt()
            out.append((name, geometry, frame.astype(str).to_dict("list")))
        return out


@pytest.fixture(scope="module")
def apps(store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    tokens = make_tokens(store_path)
    work = tmp_path_factory.mktemp("builder")
    process = create_app(make_settings(store_path, work / "p", layer_builder="process"))
    inline = create_app(make_settings(store_path, work / "i", layer_builder="inline"))
    with TestClient(process) as p, TestClient(inline) as i:
        yield p, i, tokens, process


def test_every_role_gets_the_same_answers_from_the_child(apps: Any) -> None:
    p, i, tokens, app = apps
    layers = app.state.services.layers
    assert layers.builder is not None
    compared = 0
    for token in (tokens.analyst, tokens.school, tokens.neighbourhood):
        paths = gis_session(i, token)
        assert paths == gis_session(p, token)
        for path in paths:
            a, b = p.get(path, headers=auth(token)), i.get(path, headers=auth(token))
            assert (a.status_code, a.headers.get("content-type")) == (
                b.status_code,
                b.headers.get("content-type"),
            ), path
            assert _comparable(a.content) == _comparable(b.content), path
            compared += 1
    assert compared > 150
    # the layers were built in the child, not here
    assert layers.builder.started >= 1
    assert all(v is not None for v in layers._cache.values())


def test_an_empty_layer_says_why_from_the_child(apps: Any) -> None:
    p, i, tokens, _ = apps
    for token, url in (
        (
            tokens.analyst,
            "/ogc/collections/clusters/items?preset=none&start=2019-01-01&end=2019-01-31",
        ),
        (tokens.neighbourhood, "/ogc/collections/clusters/items?datetime=2019-01"),
        (tokens.school, "/ogc/collections/safe-places/items"),
    ):
        a = p.get(url, headers=auth(token)).json()
        b = i.get(url, headers=auth(token)).json()
        assert a["numberMatched"] == 0 and a["geosafe:reason"]
        assert _comparable(json.dumps(a).encode()) == _comparable(json.dumps(b).encode())


def test_the_childs_errors_keep_their_type(store_path: Path) -> None:
    builder = LayerBuilder(BuilderConfig(ROOT / "data", store_path), idle_s=0)
    try:
        from geosafe.publish.catalogue import DEFAULT_PARAMS

        with pytest.raises(NotFoundError, match="no-such"):
            builder.call("excluded", "no-such-collection", DEFAULT_PARAMS, None)
        with pytest.raises(ValueError, match="unknown"):
            builder.call("not-an-operation")
        # the child is still there after an error, and answers
        assert builder.call("area_bounds")[0] > 0
        assert builder.started == 1
    finally:
        builder.close()
    assert builder.pid is None


def test_a_child_that_dies_or_idles_is_replaced(store_path: Path) -> None:
    builder = LayerBuilder(BuilderConfig(ROOT / "data", store_path), idle_s=0.5)
    try:
        first = builder.call("area_bounds")
        pid = builder.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # killed (the OOM killer, an operator)
        time.sleep(0.2)
        assert builder.call("area_bounds") == first
        assert builder.started == 2 and builder.pid not in (None, pid)
        deadline = time.monotonic() + 10
        while builder.pid is not None and time.monotonic() < deadline:
            time.sleep(0.1)  # idle: it exits and gives its memory back
        assert builder.pid is None
        assert builder.call("area_bounds") == first
        assert builder.started == 3
    finally:
        builder.close()


_PROBE = """
import json, sys
from fastapi.testclient import TestClient
from pathlib import Path
sys.path.insert(0, {root!r})
from api import create_app
from api.settings import ServiceSettings
from tests.api._gis_session import HEAVY, gis_session
settings = ServiceSettings(
    db=Path({db!r}), data_dir=Path({root!r}) / "data", work_dir=Path({work!r}),
    layer_builder="process",
)
app = create_app(settings)
auth = lambda token: {{"Authorization": f"Bearer {{token}}"}}
loaded = {{}}
with TestClient(app) as c:
    for role, token in {tokens!r}.items():
        for path in gis_session(c, token):
            r = c.get(path, headers=auth(token))
            assert r.status_code < 500, (path, r.status_code)
        loaded[role] = sorted(m for m in HEAVY if m in sys.modules)
print(json.dumps(loaded))
"""


def test_the_serving_process_loads_no_analysis_library(store_path: Path, tmp_path: Path) -> None:
    # a fresh interpreter (this one has loaded everything): every role's GIS session
    tokens: Tokens = make_tokens(store_path)
    code = _PROBE.format(
        root=str(ROOT),
        db=str(store_path),
        work=str(tmp_path),
        tokens={"analyst": tokens.analyst, "school": tokens.school, "nbh": tokens.neighbourhood},
    )
    env = dict(os.environ, GEOSAFE_ACCESS_RATE_PER_MINUTE="1000000", PYTHONWARNINGS="ignore")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == {"analyst": [], "school": [], "nbh": []}, loaded


_NOISY_CHILD = """
import os, sys
sys.path.insert(0, {root!r})
from geosafe.publish import builder, operations
def noisy(svc):
    os.write(1, b"noise from C\\n")
    print("noise from Python", flush=True)
    return 42
operations.OPERATIONS["noisy"] = noisy
builder.child_main()
"""


def test_output_printed_in_the_child_does_not_corrupt_its_answers(store_path: Path) -> None:
    # a stray print, or a C library writing to descriptor 1, lands on the child's stderr
    import pickle

    from geosafe.publish.builder import _receive, _send

    code = _NOISY_CHILD.format(root=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _send(proc.stdin, pickle.dumps(BuilderConfig(ROOT / "data", store_path)))  # type: ignore[arg-type]
        for _ in range(2):
            _send(proc.stdin, pickle.dumps(("noisy", ())))  # type: ignore[arg-type]
            assert pickle.loads(_receive(proc.stdout)) == (True, 42)  # type: ignore[arg-type]
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        err = proc.stderr.read().decode()  # type: ignore[union-attr]
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert proc.returncode == 0
    assert err.count("noise from C") == 2 and err.count("noise from Python") == 2
