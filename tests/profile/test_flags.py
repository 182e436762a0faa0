"""Flags as three states: exact counts on a hand-made file, completeness, groups,
co-occurrence and contradictions."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from geosafe.cli import main
from geosafe.ingest import import_file
from geosafe.profile import flags as fl
from geosafe.profile.data import load_profile_data
from geosafe.risk.report import need_matrix
from geosafe.store import Store

from .conftest import dir_row, fap_row, write

#: youth_flag: 3 Y, 4 N, 3 blank; vulnerability_flag: 1 Y, 2 N, 7 blank.
YOUTH = ["Y", "y", "yes", "N", "no", "0", "false", "", " ", ""]
VULN = ["1", "N", "N", "", "", "", "", "", "", ""]


@pytest.fixture()
def flag_store(tmp_path: Path) -> Path:
    rows = [
        dir_row(i, "", youth_flag=y, vulnerability_flag=v, description="Passengers arguing")
        for i, (y, v) in enumerate(zip(YOUTH, VULN, strict=True))
    ]
    rows[4]["description"] = "Group of youths in school uniform kicking the doors"  # youth=N
    rows[7]["description"] = "No youths involved; a drunk man shouting"  # negated: not listed
    rows[8]["description"] = "Teenagers threatened the driver with a knife"  # youth blank
    fap = [
        fap_row(0, "A-1", flag_cse="Y", flag_gangs="N", flag_harmful_sexual_behaviour=""),
        fap_row(1, "A-2", flag_cse="", flag_gangs="", flag_harmful_sexual_behaviour=""),
        fap_row(2, "A-1", flag_cse="N", flag_gangs="Y", flag_harmful_sexual_behaviour="N"),
        fap_row(3, "A-3", flag_cse="N", flag_gangs="N", flag_harmful_sexual_behaviour="N",
                flag_sexual_bullying="N", flag_serious_youth_violence="N"),
    ]  # fmt: skip
    cris = [
        {"crn": f"C-{i}", "offence_code": "ASSLT", "offence": "Assault", "postcode": "N22 8HE",
         "committed_from": "2025-02-03 10:00", "flags": f}
        for i, f in enumerate(["", "none", "youth;weapon"])
    ]  # fmt: skip
    db = tmp_path / "flags.db"
    with Store(db) as s:
        for src, rs in (("dir", rows), ("fap", fap), ("cris", cris)):
            res = import_file(s, src, write(tmp_path / f"{src}.csv", src, rs))
            assert res.quarantined == 0, res.reasons
    return db


def test_three_state_counts_are_exact(flag_store, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["flags", "--db", str(flag_store), "--purpose", "t", "--format", "json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["flags"]["dir"]["youth"] == {"Y": 3, "N": 4, "unknown": 3}
    assert obj["flags"]["dir"]["vulnerability"] == {"Y": 1, "N": 2, "unknown": 7}
    assert obj["flags"]["fap"]["cse"] == {"Y": 1, "N": 2, "unknown": 1}
    assert obj["flags"]["fap"]["harmful_sexual_behaviour"] == {"Y": 0, "N": 2, "unknown": 2}
    # CRIS: blank = nothing recorded, 'none' = every flag N, a list = listed Y, others N
    assert obj["flags"]["cris"]["youth"] == {"Y": 1, "N": 1, "unknown": 1}
    assert obj["flags"]["cris"]["gang"] == {"Y": 0, "N": 2, "unknown": 1}


def test_completeness_by_month_and_operator(flag_store) -> None:  # type: ignore[no-untyped-def]
    data = load_profile_data(flag_store)
    by_month = fl.completeness(data, by="month")
    feb = by_month[(by_month["source"] == "dir") & (by_month["flag"] == "youth")]
    assert feb[["month", "Y", "N", "unknown"]].values.tolist() == [["2025-02", 3, 4, 3]]
    assert feb["recorded_share"].iloc[0] == 0.7
    who = fl.completeness(data, by="who")
    ops = who[(who["source"] == "dir") & (who["flag"] == "youth")].set_index("operator_or_school")
    # odd rows are Arriva: youth y, N, 0, "", "" (even rows: Y, yes, no, false, " ")
    assert ops.loc["Arriva London", ["Y", "N", "unknown"]].tolist() == [1, 2, 2]
    assert ops.loc["Go-Ahead London", ["Y", "N", "unknown"]].tolist() == [2, 2, 1]
    schools = who[who["source"] == "fap"]
    assert set(schools["operator_or_school"]) == {"136397"}


def test_flag_group_counts_referrals_and_people(flag_store) -> None:  # type: ignore[no-untyped-def]
    data = load_profile_data(flag_store)
    (g,) = fl.flag_groups(
        data, {"peer-on-peer abuse": ["cse", "serious_youth_violence", "harmful_sexual_behaviour",
                                      "sexual_bullying", "gangs"]}
    )  # fmt: skip
    # referral 0 (cse Y), 2 (gangs Y); referral 1 all blank in the group = not recorded;
    # referral 3 all N
    assert (g.records, g.of_records, g.records_not_recorded) == (2, 4, 1)
    assert (g.people, g.of_people) == (1, 3)  # A-1 twice


def test_co_occurrence_on_records_and_people(flag_store) -> None:  # type: ignore[no-untyped-def]
    data = load_profile_data(flag_store)
    rec = fl.co_occurrence(data, on="records")
    assert rec.loc["youth", "weapon"] == 1  # the CRIS 'youth;weapon' record
    assert rec.loc["cse", "gangs"] == 0  # never on one referral
    ppl = fl.co_occurrence(data, on="people")
    assert ppl.loc["cse", "gangs"] == 1  # cse on one referral, gangs on another


def test_contradictions_listed_with_phrase(flag_store) -> None:  # type: ignore[no-untyped-def]
    data = load_profile_data(flag_store)
    c = fl.contradictions(data)
    youth = c[(c["source"] == "dir") & (c["flag"] == "youth")].set_index("incident_id")
    assert set(youth.index) == {"dir:DIR-004", "dir:DIR-008"}
    assert youth.loc["dir:DIR-004", "state"] == "N"
    assert youth.loc["dir:DIR-004", "phrase"].lower() == "youths"
    assert youth.loc["dir:DIR-008", "state"] == "unknown"
    # never changes the data
    again = load_profile_data(flag_store)
    pd.testing.assert_frame_equal(again.flags, data.flags)


def test_need_matrix_shows_not_recorded(flag_store) -> None:  # type: ignore[no-untyped-def]
    with Store(flag_store) as s:
        fap = s.incidents(sources=["fap"], with_location=False)
    m = need_matrix(fap, "136397").set_index("flag")
    assert m.loc["harmful_sexual_behaviour", "referrals"] == 0
    assert m.loc["harmful_sexual_behaviour", "not_recorded"] == 2
    assert m.loc["cse", "not_recorded"] == 1 and m.loc["missing_home", "not_recorded"] == 0
