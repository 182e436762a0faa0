"""The README's "Your own area" commands, run exactly as written.

The public downloads are not here, so stand-ins with the published names and layouts are made
from the bundled data: the bundled streets as a PBF, the bundled boroughs, wards and LSOAs
with the ONS column names (``LAD24CD``/``LAD24NM``, ``WD24CD``/``WD24NM``, ``LSOA21CD``),
the bundled schools as a GIAS extract, the bundled Code-Point postcodes as an ONSPD CSV (its
published header), the bundled GTFS feed zipped, the last bundled police.uk month, and a roll
of real postcodes near the school. Each README line runs as a user would run it (a new
``python -m geosafe`` process in that folder); ``serve`` is started and asked for the area's
schools with the token the README creates.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geosafe import datasets

from . import second_area as sa

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SCHOOL = "137745"  # the README's school: Mulberry Academy Woodside, Haringey


def _readme_commands() -> list[str]:
    """The ``geosafe`` lines of the README's "Your own area" code blocks, continuations
    joined."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Your own area") :]
    section = section[: section.index("\n## ", 10)]
    lines: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if "geosafe " in line and not line.lstrip().startswith("#"):
                lines.append(" ".join(line.split()))
    return lines


def _write_gpkg(gdf, path: Path, columns: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    out = gdf.rename(columns=columns)[[*columns.values(), "geometry"]]
    out.to_file(path, driver="GPKG")


def _make_downloads(folder: Path, data_dir: Path) -> None:
    """Stand-ins for the README's downloads, under their published names."""
    sa.write_pbf(data_dir, folder / "greater-london-latest.osm.pbf")
    boroughs = datasets.boroughs(data_dir)
    _write_gpkg(
        boroughs,
        folder / "Local_Authority_Districts_May_2024_Boundaries_UK_BGC.gpkg",
        {"gss_code": "LAD24CD", "name": "LAD24NM"},
    )
    wards = datasets.wards(data_dir)
    _write_gpkg(
        wards,
        folder / "Wards_May_2024_Boundaries_UK_BGC.gpkg",
        {"gss_code": "WD24CD", "name": "WD24NM", "borough_code": "LAD24CD", "borough": "LAD24NM"},
    )
    lsoa = datasets.lsoas(data_dir)
    code = "lsoa_code" if "lsoa_code" in lsoa.columns else "gss_code"
    _write_gpkg(
        lsoa,
        folder / "Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BGC.gpkg",
        {code: "LSOA21CD", "name": "LSOA21NM"},
    )
    sa.write_gias(data_dir, folder / "edubasealldata20250101.csv")
    _write_onspd(data_dir, folder / "ONSPD_FEB_2025_UK.csv")
    with zipfile.ZipFile(folder / "itm_london_gtfs.zip", "w") as z:
        for f in sorted(datasets.gtfs_dir(data_dir).glob("*.txt")):
            z.write(f, f.name)
    police = datasets.police_files(data_dir)[-1]
    with (
        gzip.open(police, "rb") as src,
        (folder / "2024-02-metropolitan-street.csv").open("wb") as dst,
    ):
        shutil.copyfileobj(src, dst)
    # a roll: every 4th real postcode within 1.2 km of the school, 1-2 pupils each
    pcs = datasets.postcodes(data_dir)
    school = datasets.schools(data_dir).set_index("urn").loc[SCHOOL]
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(
        float(school["longitude"]), float(school["latitude"])
    )
    near = pcs[np.hypot(pcs["easting"] - x, pcs["northing"] - y) <= 1200].sort_index()
    rng = np.random.default_rng(5)
    roll = pd.DataFrame({"postcode": near["postcode"].iloc[::4].to_numpy()})
    roll["pupils"] = rng.integers(1, 3, len(roll))
    roll.to_csv(folder / "roll.csv", index=False)


def _write_onspd(data_dir: Path, path: Path) -> None:
    """The bundled postcodes in the ONSPD layout (its published header, from the sample)."""
    header = (HERE / "data" / "onspd_sample.csv").read_text().splitlines()[0].split(",")
    pcs = datasets.postcodes(data_dir)
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(
        pcs["easting"].to_numpy(), pcs["northing"].to_numpy()
    )
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        for (_, r), lo, la in zip(pcs.iterrows(), lon, lat, strict=True):
            pc = r["postcode"]
            w.writerow(
                {
                    "pcd": pc,
                    "pcd2": pc,
                    "pcds": pc,
                    "dointr": "198001",
                    "oslaua": r["district"] or "",
                    "osward": r["ward"] or "",
                    "oseast1m": int(r["easting"]),
                    "osnrth1m": int(r["northing"]),
                    "osgrdind": "1",
                    "lat": f"{la:.6f}",
                    "long": f"{lo:.6f}",
                }
            )


def _env(cwd: Path) -> dict[str, str]:
    """A user's environment: none of the GEOSAFE_ settings other tests leave behind."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOSAFE_")}
    env["GEOSAFE_PERSON_KEY"] = os.environ.get("GEOSAFE_PERSON_KEY", "")
    return {**env, "PYTHONPATH": str(ROOT), "GEOSAFE_CACHE_DIR": str(cwd / ".cache")}


def _run(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    words = shlex.split(line)
    env = _env(cwd)
    while "=" in words[0]:
        k, v = words.pop(0).split("=", 1)
        env[k] = v
    assert words[0] == "geosafe", line
    return subprocess.run(
        [sys.executable, "-m", "geosafe", *words[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_readme_area_commands_run_as_written(tmp_path: Path, data_dir: Path) -> None:
    commands = _readme_commands()
    assert [c.split()[c.split().index("geosafe") + 1] for c in commands] == [
        "area", "import", "roll", "journeys", "school-report", "token", "serve",
    ]  # fmt: skip
    _make_downloads(tmp_path, data_dir)
    outputs: dict[str, str] = {}
    token = ""
    for line in commands[:-1]:
        done = _run(line, tmp_path)
        assert done.returncode == 0, (line, done.stderr[-3000:])
        verb = line.split()[line.split().index("geosafe") + 1]
        outputs[verb] = done.stdout
        if verb == "token":
            token = next(w for w in done.stdout.split() if len(w) > 30).strip("\"',")
    built = json.loads(outputs["area"].strip().splitlines()[-1])
    assert built["area"] == "areas/haringey"
    assert {"nodes", "edges", "schools", "stops", "postcodes"} <= set(built)
    area = tmp_path / "areas" / "haringey"
    # Haringey's schools inside the streets of the demo extract, from the input files
    lad = datasets.boroughs(data_dir)
    haringey = lad[lad["name"] == "Haringey"].union_all()
    gias = pd.read_csv(tmp_path / "edubasealldata20250101.csv", dtype=str, encoding="cp1252")
    inside = shapely.contains_xy(
        haringey, gias["Easting"].astype(float), gias["Northing"].astype(float)
    )
    assert built["schools"] == int(inside.sum()) and SCHOOL in set(gias.loc[inside, "URN"])
    assert list((area / "gtfs" / "cache").glob("router-*.pkl"))
    journeys = json.loads((tmp_path / "j.geojson").read_text())
    assert journeys["features"]
    assert (tmp_path / "report" / "report.html").is_file()
    assert "OpenStreetMap contributors" in (tmp_path / "report" / "report.html").read_text()

    # serve, as written, on a free port; the school's token sees the area's school list
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    words = shlex.split(commands[-1])
    env = _env(tmp_path)
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "geosafe", *words[1:], "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(0.2)
        r = httpx.get(
            f"{base}/ogc/collections/schools/items?limit=1000",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        assert {f["id"] for f in r.json()["features"]} == set(gias.loc[inside, "URN"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture(autouse=True)
def _no_stray_area(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEOSAFE_AREA", raising=False)
