"""The placement check: a hand-made referral whose notes name a park on one candidate's route
(Broomfield Park, on the walk from N13 4QH to St Anne's, 102053) and not the other's (Laurel
Park School, 102056); the pages render in Chromium and say they do not recommend."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from geosafe.risk.placement import NOT_A_RECOMMENDATION

HOME = "N13 4QH"
ON_ROUTE, OFF_ROUTE = "102053", "102056"
FAP_HEADER = (
    "referral_id,referral_date,school_urn,year_group,gender,ethnicity,home_postcode,ward,"
    "flag_cse,flag_serious_youth_violence,flag_gangs,flag_harmful_sexual_behaviour,"
    "flag_missing_education,flag_childrens_social_care,flag_domestic_abuse,"
    "flag_sexual_bullying,flag_missing_home,notes_peer_group,notes_school,"
    "notes_neighbourhood,school_response"
)


def test_referral_park_reported_on_the_right_route(
    tmp_path: Path, walk_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geosafe.cli import main

    monkeypatch.setenv("GEOSAFE_CACHE_DIR", str(walk_cache))
    fap = tmp_path / "fap.csv"
    fap.write_text(
        FAP_HEADER
        + "\nFAP-T-001,2025-02-03,102056,9,F,WBRI,"
        + HOME
        + ",,Y,N,N,N,N,N,N,N,N,Seen with older boys in Broomfield Park after school,"
        "Attendance falling,,\n"
    )
    rows = [
        "dir_ref,reported_at,route,direction,operator,stop_code,latitude,longitude,"
        "cause_code,youth_flag,vulnerability_flag,description"
    ]
    for i in range(12):  # a few incidents so the exposure models exist
        rows.append(
            f"T-DIR-{i:03d},2025-03-{3 + i % 5:02d} 08:{10 + i:02d},W3,1,Arriva,,"
            f"51.62{i % 10},-0.11{i % 7},ASB,Y,N,test"
        )
        rows.append(
            f"T-DIR-{i + 50:03d},2025-03-{3 + i % 5:02d} 15:{20 + i:02d},W3,1,Arriva,,"
            f"51.62{i % 10},-0.11{i % 7},ASB,Y,N,test"
        )
    (tmp_path / "dir.csv").write_text("\n".join(rows) + "\n")
    db = tmp_path / "s.db"
    out = tmp_path / "placement"
    from geosafe.network.origins import school_location

    gate = school_location(ON_ROUTE)[0]  # a safe place at St Anne's gate, open all day
    (tmp_path / "safe.csv").write_text(
        f"name,kind,easting,northing,opening_hours\nGate Haven,safe haven,{gate[0]:.1f},{gate[1]:.1f},24/7\n"
    )
    try:
        for source in ("fap", "dir"):
            assert main(["import", source, str(tmp_path / f"{source}.csv"), "--db", str(db)]) == 0
        assert (
            main(["safe-places", "import", "--db", str(db), "--csv", str(tmp_path / "safe.csv")])
            == 0
        )
        argv = ["placement", "--referral", "FAP-T-001", "--school", ON_ROUTE]
        argv += ["--school", OFF_ROUTE, "--db", str(db), "--out", str(out)]
        assert main([*argv, "--purpose", "panel 2025-03"]) == 0
    finally:
        logging.captureWarnings(False)
    doc = json.loads((out / "placement.json").read_text())
    assert doc["statement"] == NOT_A_RECOMMENDATION
    assert {p["name"] for p in doc["places_named_in_notes"]} >= {"Broomfield Park"}
    by_urn = {c["school_urn"]: c for c in doc["candidates"]}
    near_on = by_urn[ON_ROUTE]["referral_places_near_routes"]
    assert any(
        p["name"] == "Broomfield Park" and "walk to school" in p["journeys"] for p in near_on
    )
    assert not any(
        p["name"] == "Broomfield Park" and "walk" in " ".join(p["journeys"])
        for p in by_urn[OFF_ROUTE]["referral_places_near_routes"]
    )
    for c in doc["candidates"]:
        assert set(c["journeys"]) == {"walk to school", "bus to school", "walk home", "bus home"}
        assert c["journeys"]["walk home"]["direction"] == "from-school"
    # "passes 1 safe place": the walk to St Anne's ends at its gate; Laurel Park's does not
    assert by_urn[ON_ROUTE]["journeys"]["walk to school"]["passes_safe_places"] == 1
    assert by_urn[OFF_ROUTE]["journeys"]["walk to school"]["passes_safe_places"] == 0
    # one printable page per candidate, rendered by a real Chromium
    pages = sorted(out.glob("placement-*.html"))
    assert [p.name for p in pages] == [f"placement-{ON_ROUTE}.html", f"placement-{OFF_ROUTE}.html"]
    for p in pages:
        text = p.read_text()
        assert "does not recommend one" in text and "<svg" in text
    on_page = (out / f"placement-{ON_ROUTE}.html").read_text()
    assert "Broomfield Park</b> (park)" in on_page
    assert "passes 1 open: Gate Haven" in on_page
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("Debian chromium is not installed; run scripts/setup.sh --test")
    from playwright.sync_api import sync_playwright

    shots = Path(__file__).resolve().parents[2] / "test-output"
    shots.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"], headless=True)
        page = b.new_page(viewport={"width": 900, "height": 1200})
        for p in pages:
            page.goto(p.as_uri())
            assert "does not recommend one" in page.inner_text("p.statement")
            assert page.locator("svg path").count() > 10  # the basemap and the routes drew
            page.screenshot(path=str(shots / f"{p.stem}.png"), full_page=True)
            page.pdf(path=str(shots / f"{p.stem}.pdf"), format="A4")
        b.close()
    # every read of the referral is audited
    from geosafe.access.audit import AuditLog
    from geosafe.settings import StoreSettings

    reads = AuditLog(StoreSettings(db=db).audit_path()).entries(action="read")
    assert [e.endpoint for e in reads] == ["geosafe placement"]
    assert reads[0].purpose == "panel 2025-03"
