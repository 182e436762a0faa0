"""The person key, the people/flag/place tables, erasure, quarantine redaction and the
migration of a schema-3 store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from geosafe._errors import ConfigurationError
from geosafe.ingest import import_file
from geosafe.profile.data import load_profile_data
from geosafe.profile.keys import rekey
from geosafe.store import _SCHEMA, SCHEMA_VERSION, Store, open_store
from tests._stores import sql

from .conftest import KEY, dir_row, store_bytes, write


def test_person_ref_is_rekeyed_with_hmac(tmp_path: Path) -> None:
    import hashlib
    import hmac

    path = write(
        tmp_path / "d.csv", "dir", [dir_row(1, "ABC-1;ABC-2", person_role="victim;suspect")]
    )
    db = tmp_path / "s.db"
    with Store(db) as s:
        import_file(s, "dir", path)
    links = load_profile_data(db).links
    want = hmac.new(KEY.encode(), b"ABC-1", hashlib.sha256).hexdigest()
    assert rekey("ABC-1", KEY.encode()) == want
    assert dict(zip(links["person_key"], links["role"], strict=True)) == {
        want: "victim",
        rekey("ABC-2", KEY.encode()): "suspect",
    }
    detail = Store(db).incidents(with_location=False)["detail"].iloc[0]
    assert "_people" not in detail and "person_ref" not in json.dumps(detail)


def test_key_file_must_be_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "person.key"
    key.write_text("k" * 32)
    key.chmod(0o644)
    monkeypatch.delenv("GEOSAFE_PERSON_KEY")
    monkeypatch.setenv("GEOSAFE_PERSON_KEY_FILE", str(key))
    path = write(tmp_path / "d.csv", "dir", [dir_row(1, "ABC-1")])
    with Store(tmp_path / "s.db") as s, pytest.raises(ConfigurationError, match="chmod 600"):
        import_file(s, "dir", path)
    key.chmod(0o600)
    with Store(tmp_path / "s.db") as s:
        assert import_file(s, "dir", path).accepted == 1
        assert s.batches()[0].accepted == 1


def test_no_key_refuses_the_file_and_writes_nothing(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("GEOSAFE_PERSON_KEY")
    path = write(tmp_path / "d.csv", "dir", [dir_row(1, "ABC-1")])
    with Store(tmp_path / "s.db") as s:
        with pytest.raises(ConfigurationError, match="GEOSAFE_PERSON_KEY_FILE"):
            import_file(s, "dir", path)
        assert s.batches() == []


def test_quarantined_row_keeps_no_reference(tmp_path: Path) -> None:
    rows = [dir_row(1, "SECRET-REF-1", reported_at="13/01/2025"), dir_row(2, "x y")]
    db = tmp_path / "s.db"
    with Store(db) as s:
        res = import_file(s, "dir", write(tmp_path / "d.csv", "dir", rows))
        assert res.reasons == {"time_format": 1, "person_ref_invalid": 1}
        raws = [q.raw for q in s.quarantine()]
    assert [r["person_ref"] for r in raws] == ["[withheld]", "[withheld]"]
    assert b"SECRET-REF-1" not in store_bytes(db)


def test_bad_role_is_quarantined(tmp_path: Path) -> None:
    rows = [dir_row(1, "A;B", person_role="victim;boss"), dir_row(2, "", person_role="victim")]
    with Store(tmp_path / "s.db") as s:
        res = import_file(s, "dir", write(tmp_path / "d.csv", "dir", rows))
    assert res.reasons == {"person_ref_invalid": 2}


def test_erase_removes_person_links_and_flags(two_sources) -> None:  # type: ignore[no-untyped-def]
    db, _ = two_sources
    before = load_profile_data(db)
    with open_store(db) as s:
        assert s.erase("fap", "FAP-000") == ["incidents"]
    # the side rows followed their incident (a trigger on either backend)
    left = sql(db, "SELECT COUNT(*) FROM people_links")[0][0]
    flags = sql(db, "SELECT COUNT(*) FROM flag_states")[0][0]
    places = sql(db, "SELECT COUNT(*) FROM referral_places")[0][0]
    assert left == len(before.links) - 1
    assert flags == len(before.flags) - 9  # the nine FAP flags of the referral
    assert places == len(before.places) - 2  # its two named places


def test_places_named_in_referrals_are_not_incidents(two_sources) -> None:  # type: ignore[no-untyped-def]
    from geosafe.profile.places import place_table, places_as_incidents

    db, _ = two_sources
    data = load_profile_data(db)
    fap = data.incidents[data.incidents["source"] == "fap"]
    assert fap.geometry.isna().all()
    table = place_table(data).set_index("place")
    assert table.loc["Wood Green Station", "referrals"] == 30
    assert table.loc["Wood Green Station", "peer group"] == 30
    assert table.loc["Alexandra Park", "neighbourhood"] == 30
    assert len(places_as_incidents(data)) == 60


def _v3_store(path: Path) -> None:
    """A store as schema 3 left it (tables made by hand): a DIR report with youth=Y (and
    vulnerability N or blank: version 3 could not tell) and a FAP referral placed at the first
    place its notes named."""
    con = sqlite3.connect(path)
    con.executescript(_SCHEMA)
    con.execute(
        "INSERT INTO batches (batch_id, source, file_sha256, status, started_at) VALUES "
        "(1, 'dir', 'a', 'committed', '2025'), (2, 'fap', 'b', 'committed', '2025')"
    )
    cols = "batch_id, source, source_ref, ref_key, row_no, t_from, t_to, category, flags, " \
        "minx, miny, maxx, maxy, lon, lat, precision_m, geocode_method, location_text, detail"  # fmt: skip
    con.execute(
        f"INSERT INTO incidents ({cols}) VALUES (1, 'dir', 'D1', 1, 1, 1.7e9, 1.7e9, 'ASB', "
        "'youth', 530000, 190000, 530000, 190000, -0.12, 51.6, 30, 'stop', NULL, '{}')"
    )
    detail = {"note_places": [{"column": "notes_peer_group", "matched_text": "Wood Green stn",
                               "place": "Wood Green Station", "method": "place"}]}  # fmt: skip
    con.execute(
        f"INSERT INTO incidents ({cols}) VALUES (2, 'fap', 'F1', 2, 1, 1.7e9, 1.7e9, "
        "'fap_referral', 'cse;gangs', 531000, 190500, 531000, 190500, -0.11, 51.6, 250, "
        "'place', 'Wood Green stn', ?)",
        (json.dumps(detail),),
    )
    con.execute("PRAGMA user_version = 3")
    con.commit()
    con.close()


def test_schema_3_store_migrates_without_losing_a_flag(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _v3_store(db)
    with Store(db) as s:
        inc = s.incidents(with_location=False).set_index("source_ref")
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    # the flags column is untouched, and every flag has a state
    assert inc.loc["D1", "flags"] == ("youth",) and inc.loc["F1", "flags"] == ("cse", "gangs")
    data = load_profile_data(db)
    states = {(i, f): s for i, f, s in data.flags[["incident_id", "flag", "state"]].values}
    assert states[("dir:D1", "youth")] == "Y" and states[("dir:D1", "vulnerability")] == "U"
    assert states[("fap:F1", "cse")] == "Y" and states[("fap:F1", "gangs")] == "Y"
    assert states[("fap:F1", "missing_home")] == "U"
    assert len(data.flags) == 2 + 9
    # the referral's place became a place named in the referral
    assert inc.loc["F1", "geometry"] is None and inc.loc["D1", "geometry"] is not None
    (place,) = data.places.itertuples()
    assert (place.place, place.note, place.geometry.x) == (
        "Wood Green Station",
        "notes_peer_group",
        531000,
    )
    # opening it again changes nothing
    with Store(db):
        pass
    assert len(load_profile_data(db).flags) == 11


def test_erase_person_removes_every_link_and_audits_no_reference(two_sources, capsys) -> None:  # type: ignore[no-untyped-def]
    from geosafe.cli import main
    from geosafe.settings import StoreSettings

    db, raw = two_sources
    before = load_profile_data(db).links
    argv = [
        "erase-person",
        "--db",
        str(db),
        "--purpose",
        "erasure request",
        "--person-ref",
        raw[20],
    ]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["links_removed"] == 2  # on a DIR and a FAP row
    after = load_profile_data(db).links
    assert len(after) == len(before) - 2
    assert rekey(raw[20], KEY.encode()) not in set(after["person_key"])
    audit = Path(StoreSettings(db=db).audit_path())
    wal = audit.with_name(audit.name + "-wal")
    assert raw[20].encode() not in audit.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert main(argv) == 2  # nothing left to remove
