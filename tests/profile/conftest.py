"""Hand-made import files whose answers are known, and stores built from them.

- ``two_sources``: 30 people on DIR reports and 30 on FAP referrals, 15 on both (so 45).
- ``five_schools``: five young people, each referred by a different school, joined into one
  peer group by a DIR report naming three of them and a CRIS report naming the other three
  with one in common.
- ``flag_file``: a DIR file whose flags hold known numbers of Y, N and blanks.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from geosafe.ingest import import_file
from geosafe.sources import columns
from geosafe.store import Store, open_store

KEY = "profile-test-key-0123456789abcdef"
#: Five bundled demo-area schools.
SCHOOLS = ("102053", "102056", "136308", "137531", "137745")
#: Marker in every ref and free-text field of the canary store.
CANARY = "CANARYzq"


@pytest.fixture(autouse=True)
def person_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs with a person key in the environment."""
    monkeypatch.delenv("GEOSAFE_PERSON_KEY_FILE", raising=False)
    monkeypatch.setenv("GEOSAFE_PERSON_KEY", KEY)
    return KEY


def write(path: Path, source: str, rows: Sequence[dict[str, str]]) -> Path:
    """A CSV with the source's full header; missing cells blank."""
    header = [c.name for c in columns(source)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        for r in rows:
            w.writerow({h: r.get(h, "") for h in header})
    return path


def dir_row(i: int, refs: str, **kw: str) -> dict[str, str]:
    day = 1 + i % 28
    return {
        "dir_ref": f"DIR-{i:03d}",
        "reported_at": f"2025-02-{day:02d} 15:{i % 60:02d}",
        "route": "W3",
        "direction": "1",
        "operator": "Arriva London" if i % 2 else "Go-Ahead London",
        "stop_code": "490000252S",
        "cause_code": "ASB",
        "youth_flag": "Y",
        "vulnerability_flag": "N",
        "description": "Passengers arguing",
        "person_ref": refs,
        **kw,
    }


def fap_row(i: int, refs: str, school: str = "136397", **kw: str) -> dict[str, str]:
    row = {
        "referral_id": f"FAP-{i:03d}",
        "referral_date": f"2025-03-{1 + i % 28:02d}",
        "school_urn": school,
        "year_group": "9",
        "gender": "M",
        "notes_peer_group": "hangs around near Wood Green station with older boys",
        "notes_neighbourhood": "seen in Alexandra Park at night",
        "person_ref": refs,
    }
    for c in columns("fap"):
        if c.name.startswith("flag_"):
            row[c.name] = "N"
    row["flag_gangs"] = "Y"
    return {**row, **kw}


def raw_refs(n: int, start: int = 1) -> list[str]:
    """Pseudonyms as a partnership would export them (distinctive, easy to grep for)."""
    return [f"UPNHASH-{k:04d}-zq" for k in range(start, start + n)]


@pytest.fixture()
def two_sources(
    tmp_path: Path, new_store_target: Callable[[str], str]
) -> Iterator[tuple[Path | str, list[str]]]:
    """A store with 30 people on DIR reports and 30 on FAP referrals, 15 in common (on each
    backend: a SQLite file or a PostGIS URL)."""
    people = raw_refs(45)
    d = write(tmp_path / "dir.csv", "dir", [dir_row(i, people[i]) for i in range(30)])
    f = write(tmp_path / "fap.csv", "fap", [fap_row(i, people[15 + i]) for i in range(30)])
    db = new_store_target("two.db")
    with open_store(db) as s:
        for src, path in (("dir", d), ("fap", f)):
            res = import_file(s, src, path)
            assert (res.accepted, res.quarantined) == (30, 0), res.reasons
    yield db, people


@pytest.fixture()
def five_schools(
    tmp_path: Path, new_store_target: Callable[[str], str]
) -> Iterator[tuple[Path | str, list[str]]]:
    """Five young people at five schools joined into one peer group, and two people on a
    record of their own (a group of two at one school); on each backend."""
    p = raw_refs(7, start=500)
    fap = [fap_row(i, p[i], SCHOOLS[i]) for i in range(5)]
    fap.append(fap_row(5, f"{p[5]};{p[6]}", SCHOOLS[0]))
    dirs = [dir_row(1, f"{p[0]};{p[1]};{p[2]}", person_role="suspect")]
    cris = [
        {
            "crn": "CRN-1",
            "offence_code": "ROB",
            "offence": "Robbery of personal property",
            "committed_from": "2025-02-10 16:00",
            "postcode": "N22 8HE",
            "flags": "youth",
            "person_ref": f"{p[2]};{p[3]};{p[4]}",
            "person_role": "suspect;victim;witness",
        }
    ]
    db = new_store_target("group.db")
    with open_store(db) as s:
        for src, rows in (("fap", fap), ("dir", dirs), ("cris", cris)):
            res = import_file(s, src, write(tmp_path / f"{src}.csv", src, rows))
            assert res.quarantined == 0, res.reasons
    yield db, p


def store_bytes(db: Path) -> bytes:
    """Every byte of a store: the database file and its WAL/SHM files."""
    return b"".join(p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")))


@pytest.fixture()
def canary_store(tmp_path: Path) -> tuple[Path, list[str]]:
    """Sixty records whose every ref and free-text field carries a canary: 40 DIR reports at
    one stop (a hotspot), 20 FAP referrals; 25 people, some on both."""
    people = raw_refs(25, start=900)
    dirs = [
        dir_row(i, people[i % 25], dir_ref=f"{CANARY}-D{i}", description=f"{CANARY} youths {i}")
        for i in range(40)
    ]
    faps = [
        fap_row(i, people[(i * 3) % 25], SCHOOLS[i % 5], referral_id=f"{CANARY}-F{i}",
                notes_school=f"{CANARY} fights", school_response=f"{CANARY} managed")
        for i in range(20)
    ]  # fmt: skip
    db = tmp_path / "canary.db"
    with Store(db) as s:
        for src, rows in (("dir", dirs), ("fap", faps)):
            res = import_file(s, src, write(tmp_path / f"{src}.csv", src, rows))
            assert res.quarantined == 0, res.reasons
    return db, people
