"""``--engine dask`` on the command line: a local cluster of worker processes is started and
stopped, and the output equals ``--engine local``'s (real bundled police.uk months)."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from geosafe.cli import main

# The in-process test cluster runs tasks in two threads of this process: rasterio suppresses
# NotGeoreferencedWarning inside `warnings.catch_warnings()`, which is not thread-safe, so one
# thread's suppression can end while another's MemoryDataset is being made and the warning
# escapes (an error under pytest). Worker processes (the CLI, deployments) never share them.
pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")


def _run(argv: list[str]) -> dict[str, object]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(argv) == 0
    return json.loads(buf.getvalue())


def _files(data_dir: Path) -> list[str]:
    return [str(p) for p in sorted((data_dir / "police").glob("2023-*-street.csv.gz"))]


def test_hotspots_gistar_and_evaluate_on_dask_equal_local(data_dir: Path, tmp_path: Path) -> None:
    files = _files(data_dir)
    outs = {}
    for engine in ("local", "dask"):
        out = tmp_path / f"{engine}.geojson"
        meta = _run(
            [
                "hotspots",
                *files,
                "--method",
                "gistar",
                "--out",
                str(out),
                "--engine",
                engine,
                "--workers",
                "1",
            ]
        )
        meta.pop("out")
        outs[engine] = (meta, json.loads(out.read_text())["features"])
    assert outs["dask"][1] == outs["local"][1]
    assert outs["dask"][0].pop("engine") == "dask"
    assert outs["dask"][0] == outs["local"][0]
    ev = {
        e: _run(
            [
                "evaluate",
                *files,
                "--method",
                "grid",
                "--method",
                "gistar",
                "--train-months",
                "4",
                "--monthly",
                "--engine",
                e,
                "--workers",
                "2",
            ]
        )
        for e in ("local", "dask")
    }
    assert ev["dask"] == ev["local"]
    assert len(ev["dask"]["test_months"]) == 8  # type: ignore[arg-type]


def test_engine_options_are_checked() -> None:
    with pytest.raises(SystemExit):
        main(["hotspots", "--method", "gistar", "--out", "x.geojson", "--engine", "spark"])


def test_scheduler_address_is_used_for_dbscan_and_kde(
    client: object, data_dir: Path, tmp_path: Path
) -> None:
    """``--scheduler`` connects to a running cluster (here the session's in-process one)."""
    address = client.scheduler.address  # type: ignore[attr-defined]
    files = _files(data_dir)
    got = {}
    for engine in ("local", "dask"):
        out = tmp_path / f"db-{engine}.geojson"
        extra = ["--engine", "dask", "--scheduler", address] if engine == "dask" else []
        meta = _run(
            ["hotspots", *files, "--method", "dbscan", "--eps", "150", "--out", str(out), *extra]
        )
        got[engine] = (meta["clustered"], meta["noise"], json.loads(out.read_text())["features"])
    assert got["dask"] == got["local"] and got["local"][0] > 0
    for engine in ("local", "dask"):
        extra = ["--engine", "dask", "--scheduler", address] if engine == "dask" else []
        _run(
            [
                "kde",
                *files,
                "--bandwidth",
                "250",
                "--cell",
                "50",
                "--out",
                str(tmp_path / f"{engine}.tif"),
                *extra,
            ]
        )
    import rasterio

    with rasterio.open(tmp_path / "local.tif") as a, rasterio.open(tmp_path / "dask.tif") as b:
        assert a.transform == b.transform
        np.testing.assert_allclose(a.read(1), b.read(1), rtol=1e-6, atol=1e-6)
