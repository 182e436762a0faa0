"""Cross-check against the synthetic generator's own ground truth: every row it deliberately
dirtied (``dirty_rows.csv``, written by ``geosafe.synth``, another part) is quarantined with the
matching reason code, and no clean row is."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from geosafe.ingest import import_file

#: The generator's defect name -> the reason code this importer must give.
EXPECTED = {
    "bad_flag": "flag_unknown",
    "bad_flags": "value_out_of_list",
    "bad_gender": "value_out_of_list",
    "bad_location_type": "value_out_of_list",
    "bad_year_group": "value_out_of_list",
    "bng_in_latlon": "coord_bng_as_latlon",
    "ddmm_date": "time_format",
    "excel_serial_date": "time_excel_serial",
    "half_pair": "coord_half_pair",
    "impossible_date": "time_impossible",
    "latlon_in_en": "coord_latlon_as_bng",
    "malformed_postcode": "postcode_malformed",
    "ref_conflict": "ref_conflict",
    "sms_stop_code": "stop_code_sms",
    "swapped_en": "coord_swapped",
    "swapped_latlon": "coord_swapped",
    "unknown_postcode": "postcode_unknown",
    "unknown_stop_code": "stop_code_unknown",
    "zero_en": "coord_zero",
    "zero_latlon": "coord_zero",
}


def test_synthetic_dirty_rows_are_exactly_the_quarantined_ones(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    synth = pytest.importorskip("geosafe.synth")
    synth.write_synthetic(tmp_path, seed=7, months=3)
    truth = {}
    with (tmp_path / "dirty_rows.csv").open(newline="") as fh:
        for rec in csv.DictReader(fh):
            truth[(rec["file"], int(rec["row"]))] = rec["defect"]
    got = {}
    for source in ("dir", "asif", "cris", "fap"):
        result = import_file(store, source, tmp_path / f"{source}.csv")
        assert result.accepted + result.quarantined == result.rows
        for q in store.quarantine(result.batch_id):
            got[(f"{source}.csv", q.row)] = q.reason_code
    assert set(got) == set(truth)
    unknown = {d for d in truth.values() if d not in EXPECTED}
    assert not unknown, f"new defect kinds to map: {unknown}"
    assert {k: EXPECTED[d] for k, d in truth.items()} == got
