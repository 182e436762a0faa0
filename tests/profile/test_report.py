"""The problem profile: the same numbers as `geosafe overlap`, the PDF renders, and the
partners' version passes the school role's leak checks."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import h3
import pandas as pd
import pytest

from geosafe.cli import main
from geosafe.profile.report import COUNT_COLUMNS, build_profile, write_profile

from .conftest import CANARY, SCHOOLS

ROOT = Path(__file__).resolve().parents[2]
JAN_MAR = {"from_date": dt.date(2025, 1, 1), "to_date": dt.date(2025, 3, 31)}


def test_report_has_the_overlap_numbers(two_sources, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, raw = two_sources
    out = tmp_path / "analyst"
    argv = ["profile", "--db", str(db), "--from", "2025-01-01", "--to", "2025-03-31",
            "--out", str(out), "--purpose", "test", "--no-pdf"]  # fmt: skip
    assert main(argv) == 0
    overlap = pd.read_csv(out / "overlap.csv").set_index("sources")["people"]
    assert overlap.to_dict() == {"dir": 15, "fap": 15, "dir & fap": 15}
    by_source = pd.read_csv(out / "by_source.csv").set_index("source")
    assert by_source["people"].to_dict() == {"dir": 30, "fap": 30}
    page = (out / "profile.html").read_text()
    assert re.search(r"<b>45</b>young people named", page)
    assert re.search(r"<b>15</b>in two or more sources", page)
    assert "<script" not in page and "http" not in page.replace("http://www.w3.org/2000/svg", "")
    blob = b"".join(p.read_bytes() for p in out.iterdir())
    assert not any(r.encode() in blob for r in raw)


def test_report_peer_group_touching_five_schools(five_schools, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, _ = five_schools
    p = build_profile(db, **JAN_MAR)
    groups = p.tables["peer_groups"]
    assert groups[["size", "schools"]].values.tolist() == [[5, 5], [2, 1]]
    by_school = p.tables["by_school"].set_index("school_urn")
    assert set(by_school.index) == set(SCHOOLS)
    assert by_school.loc[SCHOOLS[0], "people"] == 3  # its own pupil and the pair


def test_flags_not_recorded_in_the_report(two_sources, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, _ = two_sources
    p = build_profile(db, **JAN_MAR)
    flags = p.tables["flags"].set_index(["source", "flag"])
    # fap_row leaves no flag blank; DIR youth Y, vulnerability N on every row
    assert flags.loc[("dir", "youth")].tolist() == [30, 0, 0]
    assert flags.loc[("fap", "cse")].tolist() == [0, 30, 0]
    page = p and (write_profile(p, tmp_path, pdf=False), (tmp_path / "profile.html").read_text())[1]
    assert "not recorded" in page


@pytest.mark.skipif(
    shutil.which("chromium") is None or shutil.which("pdftoppm") is None,
    reason="needs Debian's chromium and poppler-utils (scripts/setup.sh --test)",
)
def test_pdf_pages_render_to_png(five_schools, two_sources) -> None:  # type: ignore[no-untyped-def]
    out_dir = ROOT / "test-output" / "profile"
    out_dir.mkdir(parents=True, exist_ok=True)
    for png in out_dir.glob("*.png"):
        png.unlink()
    for audience in ("analyst", "partners"):
        db, _ = two_sources
        p = build_profile(db, audience=audience, **JAN_MAR)
        target = out_dir / audience
        written = write_profile(p, target)
        assert "profile.pdf" in written
        subprocess.run(
            ["pdftoppm", "-r", "60", "-png", str(target / "profile.pdf"), str(out_dir / audience)],
            check=True,
            timeout=120,
        )
        pages = sorted(out_dir.glob(f"{audience}-*.png"))
        assert len(pages) >= 3
        assert all(pg.stat().st_size > 5_000 for pg in pages)


# ---------------------------------------------------------------------------- leak checks


def _leaks(out: Path, raw: list[str]) -> list[str]:
    problems = []
    for f in out.iterdir():
        text = f.read_bytes()
        if CANARY.encode() in text or any(r.encode() in text for r in raw):
            problems.append(f"{f.name}: record-level text or a person reference")
        if f.suffix != ".csv":
            continue
        df = pd.read_csv(f)
        for c in set(df.columns) & COUNT_COLUMNS:
            for v in df[c].dropna():
                if 1 <= float(v) <= 9 or float(v) % 5:
                    problems.append(f"{f.name}: {c}={v!r} is not a published count")
        for v in df.get("hotspot_id", pd.Series(dtype=str)).dropna():
            if h3.get_resolution(str(v)) > 8:
                problems.append(f"{f.name}: cell {v} finer than resolution 8")
    return problems


def test_partners_version_passes_the_leak_checks(canary_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, raw = canary_store
    p = build_profile(db, audience="partners", **JAN_MAR)
    out = tmp_path / "partners"
    write_profile(p, out, pdf=False)
    assert _leaks(out, raw) == []
    assert {"contradictions.csv", "peer_groups.csv"}.isdisjoint(f.name for f in out.iterdir())
    assert "<circle" not in p.map_svg  # no incident points on the partners' map
    # a place named in fewer than 10 referrals is not listed at all (its name would tell)
    named = p.tables["places_named_in_referrals"]
    assert named["referrals"].notna().all()
    assert set(named["place"]) == {"Wood Green Station", "Alexandra Park"}  # 20 each
    # not empty: suppressing everything is not a pass
    assert p.headline["records"] == 60 and p.tables["hotspots"]["incidents"].tolist() == [40]
    # the analyst version of the same store does show record-level content
    a = tmp_path / "analyst"
    write_profile(build_profile(db, **JAN_MAR), a, pdf=False)
    assert _leaks(a, raw)


def test_partners_cannot_difference_two_periods(canary_store) -> None:  # type: ignore[no-untyped-def]
    """Two profiles whose periods differ by one day (one DIR report, 2 Feb) must not give
    the exact count of that day by subtraction."""
    db, _ = canary_store
    a = build_profile(
        db, audience="partners", from_date=dt.date(2025, 2, 2), to_date=dt.date(2025, 3, 31)
    )
    b = build_profile(
        db, audience="partners", from_date=dt.date(2025, 2, 3), to_date=dt.date(2025, 3, 31)
    )
    sa = a.tables["by_source"].set_index("source")["records"]
    sb = b.tables["by_source"].set_index("source")["records"]
    exact = build_profile(db, from_date=dt.date(2025, 2, 2), to_date=dt.date(2025, 2, 2))
    true_day = int(exact.tables["by_source"].set_index("source").loc["dir", "records"])
    assert true_day in (1, 2)
    diff = sa["dir"] - sb["dir"]
    assert diff % 5 == 0 and diff != true_day
