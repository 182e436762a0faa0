"""Fixtures of the real-client tests: a demo-like store (real police.uk burglaries plus
hand-made and synthetic DIR, CRIS, ASIF and FAP rows, see ``tests/access/_demo.py``) served by
a real ``uvicorn`` process on a loopback port, with one token per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.access._demo import WARDS, build_store
from tests.access.loadtest import live_server

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output"
#: The school of the demo tokens (a demo-area school with synthetic FAP referrals and roll).
SCHOOL = "102053"


@dataclass(frozen=True)
class DemoServer:
    """A live server on 127.0.0.1 and the tokens of its three roles."""

    base: str
    tokens: dict[str, str]
    folder: Path


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[DemoServer]:
    from geosafe.access.tokens import TokenStore, create_demo_tokens

    folder = tmp_path_factory.mktemp("clients")
    db = build_store(folder, data_dir=data_dir)
    tokens = create_demo_tokens(
        TokenStore(Path(str(db) + ".auth.sqlite")), school_urn=SCHOOL, area_codes=list(WARDS)
    )
    with live_server(db, folder) as base:
        yield DemoServer(base, tokens, folder)


@pytest.fixture(scope="session")
def out_dir() -> Path:
    """``test-output/`` at the repository root (git-ignored): screenshots and renders."""
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT
