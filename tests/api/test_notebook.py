"""The analyst walkthrough notebook runs top to bottom (its code cells, in order, in one
namespace: what "Run all" does), on the bundled real data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "analyst_walkthrough.ipynb"


def test_walkthrough_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb = json.loads(NOTEBOOK.read_text())
    assert nb["nbformat"] == 4
    namespace: dict[str, object] = {"__name__": "__main__"}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                exec(compile(source, f"{NOTEBOOK.name}[{i}]", "exec"), namespace)
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert "re-import is a no-op: True" in out
    assert "PAI" in out and "exposure" in out
    pai = namespace["pai"]
    assert isinstance(pai, float) and pai > 1.0  # last year's hotspots beat chance
