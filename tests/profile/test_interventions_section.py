"""The problem profile's interventions section (issue 13 item 4): analysts only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from geosafe.profile.report import build_profile, render_html, write_profile
from geosafe.protect.interventions import add_intervention, resolve_where

JAN_MAR = {"from_date": dt.date(2025, 1, 1), "to_date": dt.date(2025, 3, 31)}


def test_analyst_sees_the_log_partners_do_not(canary_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, _ = canary_store
    ref, geom = resolve_where("place", "Wood Green Station")
    add_intervention(
        db,
        what="safe haven scheme CANARYIV",
        where_kind="place",
        where_ref=ref,
        geometry=geom,
        started_on="2025-02-01",
    )
    a = build_profile(db, **JAN_MAR)
    (row,) = a.tables["interventions"].to_dict("records")
    assert row["what"] == "safe haven scheme CANARYIV" and row["started"] == "2025-02-01"
    # two months of data: it says why it cannot be evaluated instead of a number
    assert row["change"].startswith("not evaluated") and "month(s) before" in row["change"]
    assert "Interventions and change after them" in render_html(a)
    p = build_profile(db, audience="partners", **JAN_MAR)
    assert "interventions" not in p.tables
    out = tmp_path / "partners"
    write_profile(p, out, pdf=False)
    assert not any(
        "CANARYIV" in f.read_text(errors="replace") for f in out.iterdir() if f.is_file()
    )
