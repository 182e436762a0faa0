"""The routing layer never reaches up to the risk layer, and the modules stay small.

Imports are read with ``ast`` (imports inside functions and under ``TYPE_CHECKING`` count).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "geosafe"


def _imports(path: Path) -> set[str]:
    """Absolute module names imported by ``path`` (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts[:-1])
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out.add(name)
            out.update(f"{name}.{a.name}" for a in node.names)
    return out


@pytest.mark.parametrize("path", sorted((ROOT / "network").glob("*.py")), ids=lambda p: p.name)
def test_network_never_imports_risk(path: Path) -> None:
    bad = sorted(m for m in _imports(path) if m == "geosafe.risk" or m.startswith("geosafe.risk."))
    assert not bad, f"{path.name} imports {bad}"


def test_imports_are_resolved() -> None:
    """The checker itself: risk/journeys.py is seen importing the network."""
    assert "geosafe.network.journeys" in _imports(ROOT / "risk" / "journeys.py")
    assert "geosafe.risk.exposure" in _imports(ROOT / "risk" / "safer.py")


MINE = [
    *sorted((ROOT / "network").glob("*.py")),
    *sorted((ROOT / "risk").glob("*.py")),
    ROOT / "rolls.py",
    ROOT / "cli" / "journeys.py",
]


@pytest.mark.parametrize("path", MINE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_module_under_800_lines(path: Path) -> None:
    n = len(path.read_text().splitlines())
    assert n <= 800, f"{path.name} has {n} lines; split it by concern"
