"""Start-up of a CLI import (issue 16 item 6): one OpenBLAS thread for the commands that make
no BLAS call, and h3 imported without ``importlib.metadata``, with the same version."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from geosafe.cli import _NO_BLAS_COMMANDS, _one_blas_thread
from geosafe.geocode import _h3import

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "ingest" / "data"


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("GEOSAFE_", "OPENBLAS_", "OMP_"))
    }
    env.update(extra)
    return env


def _blas_threads_after(argv: list[str], env: dict[str, str]) -> tuple[str, int, bool]:
    """Run ``geosafe ARGV`` in a new process; its stdout, numpy's OpenBLAS threads then, and
    whether ``importlib.metadata`` was loaded."""
    code = (
        "import sys\nfrom geosafe.cli import main\n"
        "try:\n    rc = main(sys.argv[1:])\nexcept SystemExit as exc:\n    rc = exc.code\n"
        "metadata = 'importlib.metadata' in sys.modules\n"
        "import threadpoolctl\n"
        "n = [p['num_threads'] for p in threadpoolctl.threadpool_info() "
        "if p['internal_api'] == 'openblas']\n"
        "print('@', rc, n[0] if n else -1, metadata, file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT, env=env,
        check=True,
    )  # fmt: skip
    tail = proc.stderr.strip().splitlines()[-1].split()
    assert tail[0] == "@", proc.stderr
    return proc.stdout, int(tail[2]), tail[3] == "True"


def _default_threads() -> int:
    code = (
        "import numpy, threadpoolctl\n"
        "print([p['num_threads'] for p in threadpoolctl.threadpool_info() "
        "if p['internal_api'] == 'openblas'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True
    ).stdout
    found = json.loads(out)
    if not found:
        pytest.skip("numpy is not built with OpenBLAS here")
    if found[0] < 2:
        pytest.skip("OpenBLAS starts one thread here anyway (one CPU)")
    return int(found[0])


def test_import_runs_with_one_blas_thread(tmp_path: Path) -> None:
    """Without the setting, numpy starts several OpenBLAS threads here; an import starts one,
    and prints the same JSON object."""
    assert _default_threads() >= 2
    argv = ["import", "police-uk", str(DATA / "police_feb.csv"), "--db", str(tmp_path / "x.db")]
    out, threads, metadata = _blas_threads_after(argv, _env())
    assert threads == 1
    assert not metadata  # nor did anything else ask a distribution's metadata
    summary = json.loads(out)
    assert summary["rows"] == 2 and summary["accepted"] == 2


def test_a_users_blas_setting_is_kept(tmp_path: Path) -> None:
    _default_threads()
    argv = ["import", "police-uk", str(DATA / "police_feb.csv"), "--db", str(tmp_path / "x.db")]
    _, threads, _ = _blas_threads_after(argv, _env(OPENBLAS_NUM_THREADS="2"))
    assert threads == 2


def test_analysis_commands_keep_every_blas_thread() -> None:
    """A command that may multiply matrices (here ``hotspots``, asked for its help) keeps
    numpy's default."""
    default = _default_threads()
    assert "hotspots" not in _NO_BLAS_COMMANDS
    _, threads, _ = _blas_threads_after(["hotspots", "--help"], _env())
    assert threads == default


def test_one_blas_thread_does_nothing_once_numpy_is_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """numpy is loaded in this process: the setting could not apply, so none is made."""
    import numpy  # noqa: F401

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    _one_blas_thread("import")
    assert "OPENBLAS_NUM_THREADS" not in os.environ


def test_h3_loads_without_importlib_metadata_and_has_its_version() -> None:
    code = (
        "import sys\nimport geosafe.geocode.h3cells\nimport h3\n"
        "print('importlib.metadata' in sys.modules, h3.__version__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=_env(),
        check=True,
    ).stdout.split()  # fmt: skip
    assert out == ["False", importlib.metadata.version("h3")]


def test_installed_h3_version_file_is_the_one_replaced() -> None:
    """The installed h3's ``_version.py`` is the text :func:`preload_version` stands in for
    (when h3 changes it, this says so; the import then simply takes the slow way)."""
    import h3

    source = (Path(h3.__file__).parent / "_version.py").read_text(encoding="utf-8")
    assert source == _h3import.VERSION_SOURCE


def _fake_h3(root: Path, version_source: str, dist_infos: dict[str, str]) -> None:
    pkg = root / "h3"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from ._version import __version__\n", encoding="utf-8")
    (pkg / "_version.py").write_text(version_source, encoding="utf-8")
    for name, metadata in dist_infos.items():
        (root / name).mkdir()
        (root / name / "METADATA").write_text(metadata, encoding="utf-8")


def _fake_version(root: Path) -> list[str]:
    code = (
        "import sys\nfrom geosafe.geocode._h3import import preload_version\n"
        "preload_version()\nimport h3\n"
        "print('importlib.metadata' in sys.modules, h3.__version__)"
    )
    env = _env(PYTHONPATH=os.pathsep.join([str(root), str(ROOT)]))
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.split()


META = "Metadata-Version: 2.1\nName: h3\nVersion: {v}\n\nh3 long description\nVersion: 0\n"


def test_fake_h3_release_with_that_version_file_gets_its_dist_info_version(
    tmp_path: Path,
) -> None:
    _fake_h3(tmp_path, _h3import.VERSION_SOURCE, {"h3-9.8.7.dist-info": META.format(v="9.8.7")})
    assert _fake_version(tmp_path) == ["False", "9.8.7"]


def test_another_version_file_is_imported_as_it_comes(tmp_path: Path) -> None:
    _fake_h3(
        tmp_path, "__version__ = 'from the file'\n", {"h3-9.8.7.dist-info": META.format(v="9.8.7")}
    )
    assert _fake_version(tmp_path) == ["False", "from", "the", "file"]


def test_no_usable_dist_info_falls_back_to_importlib_metadata(tmp_path: Path) -> None:
    """Two dist-infos for h3 beside the package: which one h3 is cannot be told, so
    ``importlib.metadata`` answers as before."""
    _fake_h3(
        tmp_path,
        _h3import.VERSION_SOURCE,
        {"h3-9.8.7.dist-info": META.format(v="9.8.7"), "h3-1.0.dist-info": META.format(v="1.0")},
    )
    loaded, version = _fake_version(tmp_path)
    assert loaded == "True" and version in {"9.8.7", "1.0"}


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ({"h3-4.5.0.dist-info": META.format(v="4.5.0")}, "4.5.0"),
        ({}, None),
        ({"h3_pandas-0.3.dist-info": META.format(v="0.3")}, None),
        ({"h3-pandas-0.3.dist-info": META.format(v="0.3")}, None),
        ({"h3-4.5.0.dist-info": "Name: h3\n\nVersion: 4.5.0\n"}, None),  # not in the headers
        ({"h3-4.5.0.dist-info": META.format(v="4.5.0"), "h3-4.4.0.dist-info": ""}, None),
    ],
)
def test_dist_version(tmp_path: Path, names: dict[str, str], expected: str | None) -> None:
    for name, metadata in names.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "METADATA").write_text(metadata, encoding="utf-8")
    assert _h3import.dist_version(str(tmp_path), "h3") == expected
