"""Which postcode list places the referrals' homes in ``published_referrals``: the configured
data folder's (``GEOSAFE_DATA_DIR``, else the area, else the bundled data: the service's own
rule), recorded in ``published_referrals_source``; a reader pointed at another folder warns.

Two data folders hold hand-written postcode lists that place the same three home postcodes
differently (and the second lacks one): the published home cells follow the folder the
writer is configured with, on both backends."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import h3
import pytest
from pyproj import Transformer

from geosafe.store import open_store
from geosafe.store.published_read import PublishedReader
from geosafe.store.published_referrals import postcode_list, read, source
from tests.api.conftest import _incident_rows

_TO_WGS = Transformer.from_crs(27700, 4326, always_xy=True)


def _folder(root: Path, places: dict[str, tuple[float, float]]) -> Path:
    """A data folder whose postcode list holds ``places`` (postcode -> easting, northing)."""
    lines = ["postcode,quality,easting,northing,district,ward"]
    lines += [f"{pc},10,{x:.0f},{y:.0f},E09000010,E05000000" for pc, (x, y) in places.items()]
    (root / "postcodes").mkdir(parents=True)
    with gzip.open(root / "postcodes" / "list.csv.gz", "wt") as f:
        f.write("\n".join(lines) + "\n")
    return root


def _cell(x: float, y: float) -> str:
    lon, lat = _TO_WGS.transform(x, y)
    return str(h3.latlng_to_cell(lat, lon, 8))


def _homes(store: object, urn: str) -> dict[str, int | None]:
    rows = store.query(  # type: ignore[attr-defined]
        "SELECT key, count FROM published_referrals WHERE school_urn = ? AND kind = 'home'",
        [urn],
    )
    return {str(k): (None if n is None else int(n)) for k, n in rows}


def test_the_home_cells_follow_the_configured_data_folder(
    store_target: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows = _incident_rows()
    fap = rows[rows["source"] == "fap"]
    urn = str(fap["school_urn"].iloc[0])
    homes = sorted({json.loads(d)["home_postcode"] for d in fap["detail"]})
    assert len(homes) == 3  # ten referrals at each
    a_places = {pc: (530000.0 + 1000 * i, 190000.0) for i, pc in enumerate(homes)}
    b_places = {pc: (520000.0 + 1000 * i, 185000.0) for i, pc in enumerate(homes[:2])}
    folder_a = _folder(tmp_path / "area-a", a_places)
    folder_b = _folder(tmp_path / "area-b", b_places)

    monkeypatch.setenv("GEOSAFE_DATA_DIR", str(folder_a))
    with open_store(store_target) as store:
        batch = store.begin_batch("fap", "f" * 64, file_name="referrals")
        store.stage(batch, rows)
        store.commit_batch(batch, {"rows": len(rows), "accepted": len(rows)}, {})
        assert _homes(store, urn) == {_cell(*a_places[pc]): 10 for pc in homes}
        reader = PublishedReader(store_target)
        try:
            got = source(reader)
            assert got == (str(folder_a.resolve()), postcode_list(folder_a)[0], 3)
            # a reader pointed at the other folder says so; at the same one it does not
            with caplog.at_level(logging.WARNING, "geosafe.store.published_referrals"):
                read(reader, urn, folder_a)
                assert not caplog.records
                read(reader, urn, folder_b)
            (warned,) = caplog.records
            assert str(folder_a.resolve()) in warned.getMessage()
            assert "3 postcodes" in warned.getMessage() and "2 postcodes" in warned.getMessage()
        finally:
            reader.close()

        # the same store rewritten (an erasure) by a writer configured for the other folder:
        # two homes where that list puts them, the third unplaced
        monkeypatch.setenv("GEOSAFE_DATA_DIR", str(folder_b))
        erased = fap[fap["detail"].map(lambda d: json.loads(d)["home_postcode"]) == homes[0]]
        assert store.erase("fap", str(erased["source_ref"].iloc[0])) == ["incidents"]
        assert _homes(store, urn) == {
            _cell(*b_places[homes[0]]): None,  # 9 left: suppressed
            _cell(*b_places[homes[1]]): 10,
            "unknown": 10,
        }
        assert postcode_list(folder_a) != postcode_list(folder_b)
        reader = PublishedReader(store_target)
        try:
            assert source(reader) == (str(folder_b.resolve()), postcode_list(folder_b)[0], 2)
        finally:
            reader.close()
        # nothing of a referral left: no record of a list either
        store.rollback(batch)
        assert _homes(store, urn) == {}
        assert store.query("SELECT COUNT(*) FROM published_referrals_source")[0][0] == 0


def test_the_list_is_named_by_its_postcodes_and_places(tmp_path: Path) -> None:
    """Two folders with the same list are one list; a moved centroid makes another."""
    same = {"N11 1AA": (530000.0, 190000.0), "N11 1AB": (530100.0, 190000.0)}
    moved = {**same, "N11 1AB": (530100.0, 190050.0)}
    a = postcode_list(_folder(tmp_path / "a", same))
    assert a == postcode_list(_folder(tmp_path / "b", same))
    assert a != postcode_list(_folder(tmp_path / "c", moved))
    assert a[1] == 2
