"""Fixtures of the roll tests: a small real store (the service tests' hand-made incidents),
tokens per role, and an app built by the factory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import create_app
from geosafe import datasets
from geosafe.access.tokens import TokenStore
from tests.api.conftest import make_settings, store_path

__all__ = ["store_path"]  # the service tests' store fixture, reused

#: Demo-area schools by URN: A has 30 FAP referrals in the store, B none.
SCHOOLS = sorted(datasets.schools(demo_only=True)["urn"].astype(str))
SCHOOL_A, SCHOOL_B = SCHOOLS[0], SCHOOLS[1]


@dataclass(frozen=True)
class Tokens:
    analyst: str
    school_a: str
    school_b: str
    neighbourhood: str


@pytest.fixture(scope="session")
def roll_store(store_path: Path) -> Path:
    """The service tests' real store of hand-made incidents (near schools A and B, 30 FAP
    referrals to A), built afresh for this package."""
    return store_path


@pytest.fixture(scope="session")
def roll_tokens(roll_store: Path) -> Tokens:
    ts = TokenStore(roll_store.with_name(roll_store.name + ".auth.sqlite"))
    wards = datasets.wards()
    ward = wards[wards.intersects(datasets.demo_area().centroid)]["gss_code"].iloc[0]
    return Tokens(
        analyst=ts.create("analyst", label="roll analyst").token,
        school_a=ts.create("school", school_urn=SCHOOL_A, label="roll school A").token,
        school_b=ts.create("school", school_urn=SCHOOL_B, label="roll school B").token,
        neighbourhood=ts.create("neighbourhood", area_codes=[ward], label="roll nbh").token,
    )


@pytest.fixture(scope="session")
def roll_client(
    roll_store: Path, roll_tokens: Tokens, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    mp = pytest.MonkeyPatch()
    mp.setenv("GEOSAFE_ACCESS_RATE_PER_MINUTE", "1000000")
    mp.delenv("GEOSAFE_ROLLS_DIR", raising=False)
    app: Any = create_app(make_settings(roll_store, tmp_path_factory.mktemp("rollwork")))
    with TestClient(app, base_url="http://testserver") as c:
        yield c
    mp.undo()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
