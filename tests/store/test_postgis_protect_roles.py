"""The tables of ``geosafe.protect`` (interventions, their evaluations, safe places) on a team's
PostGIS server with its roles: the owner logs an intervention from the CLI and the service,
connected as an analyst login, reads it and keeps its evaluation; the public reader reads
none of it. Before migration 0007 they were created by whichever login wrote first, with no
grants, so the service's analyst login got "permission denied"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from shapely.geometry import Point

from geosafe.protect.interventions import (
    add_intervention,
    latest_evaluations,
    list_interventions,
    save_evaluation,
)
from geosafe.store import open_store


def _login(cluster: Any, url: str, role: str, group: str) -> str:
    cluster.psql(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
        f"CREATE ROLE {role} LOGIN IN ROLE {group}; END IF; END $$"
    )
    return url.replace("postgres@", f"{role}@", 1)


def test_the_service_login_reads_what_the_owner_logged(
    pg_cluster: Any, pg_database: Callable[[], str]
) -> None:
    url = pg_database()
    owner = _login(pg_cluster, url, "protect_owner", "geosafe_owner")
    analyst = _login(pg_cluster, url, "protect_analyst", "geosafe_analyst")
    reader = _login(pg_cluster, url, "protect_public", "geosafe_reader")
    with open_store(owner) as store:
        logged = add_intervention(
            store,
            what="detached youth work",
            where_kind="point",
            where_ref="530000,190000",
            geometry=Point(530000, 190000).buffer(200),
            started_on="2025-03-01",
        )
    result = {  # an evaluation's result as evaluate_intervention gives it, written by hand
        "intervention": {"id": logged.id},
        "estimate": {"percent_change": -40.0, "ratio_low": 0.4, "ratio_high": 0.8},
        "reading": "fewer incidents",
        "displacement": {"reading": "no displacement"},
        "comparison": {"areas": ["E05000043"]},
        "months": {"before": ["2025-01", "2025-02"], "after": ["2025-03"]},
    }
    with open_store(analyst) as store:
        assert [i.id for i in list_interventions(store)] == [logged.id]
        save_evaluation(store, result)
        assert latest_evaluations(store)[logged.id]["percent_change"] == -40.0
    with psycopg.connect(reader, autocommit=True) as conn:
        for table in ("interventions", "intervention_evaluations", "safe_places_quarantine"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM {table}")  # type: ignore[arg-type]
