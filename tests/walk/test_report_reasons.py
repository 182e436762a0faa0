"""Seen in a school's report (`POST /journeys/report` on the demo, Alexandra Park School):
"unroutable: 355" of 1,135 pupils and no word on why. The report now says why, per reason,
published so that nothing can be differenced back (hand-made journeys, counted by hand)."""

from __future__ import annotations

import itertools

from geosafe.network.journeys import JourneyResult
from geosafe.publish.disclosure import round_counts
from geosafe.risk.report import _unroutable_note, unroutable_reasons


def _j(n: int, error: str | None) -> JourneyResult:
    return JourneyResult(f"o{n}-{error}", "137531", "walk", n, error=error)


def _journeys() -> list[JourneyResult]:
    return [
        _j(240, "origin_off_network (nearest walkable way 534 m away)"),
        _j(103, "origin_off_network"),
        _j(12, "postcode_unknown"),
        _j(3, "school_off_network: beyond the streets"),
        _j(700, None),  # routed
    ]


def test_analyst_gets_exact_counts_per_reason() -> None:
    got = unroutable_reasons(_journeys(), "analyst")
    assert got == {"origin_off_network": 343, "postcode_unknown": 12, "school_off_network": 3}
    note = _unroutable_note(got, 358)
    assert "343 live beyond the walking network" in note
    assert "12 have a home postcode that is not in the area's postcode list" in note


def test_school_gets_the_reasons_in_words() -> None:
    got = unroutable_reasons(_journeys(), "school")
    assert list(got) == ["origin_off_network", "postcode_unknown", "school_off_network"]
    assert set(got.values()) == {None}
    note = _unroutable_note(got, 360)
    assert note.startswith("Pupils whose journey could not be routed (360, most first)")
    assert "live beyond the walking network" in note and "postcode list" in note


def test_one_reason_is_the_published_total() -> None:
    one = [_j(343, "origin_off_network"), _j(5, None)]
    assert unroutable_reasons(one, "school") == {"origin_off_network": 345}
    assert unroutable_reasons([_j(4, "postcode_unknown")], "school") == {"postcode_unknown": None}
    assert unroutable_reasons([_j(700, None)], "school") == {}


def test_differencing_the_total_and_the_reasons_recovers_nothing() -> None:
    """The attempt: for every split of up to 40 unroutable pupils over two reasons, what a
    school is shown (the published total and the reasons) is the same for every split with
    the same published total, so no split can be told from another: in particular a reason
    holding 1-9 pupils cannot be counted by subtracting the other from the total."""
    seen: dict[tuple[object, ...], set[tuple[int, int]]] = {}  # what is shown -> splits
    for a, b in itertools.product(range(0, 41), repeat=2):
        js = [_j(a, "origin_off_network"), _j(b, "postcode_unknown")]
        js = [j for j in js if j.count]
        total = float(round_counts([a + b])[0][0]) if a + b else 0.0
        total = None if total != total else total  # suppressed (NaN): one key for all
        shown = (total, tuple(unroutable_reasons(js, "school").items()))
        seen.setdefault(shown, set()).add((a, b))
    for shown, splits in seen.items():
        (_, reasons) = shown
        if len(reasons) == 2:  # both reasons present: counts never shown
            assert all(v is None for _, v in reasons)
            assert len(splits) > 1, (shown, splits)
