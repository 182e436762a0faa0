"""The one parser of dates and periods (geosafe.periods) and its use by the API and the
disclosure check: issue 9 items 2 and 6."""

from __future__ import annotations

import calendar
import datetime as dt
from types import SimpleNamespace
from unittest import mock

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from api import params as api_params
from geosafe import periods
from geosafe._errors import DisclosureError, ValidationError
from geosafe.access.tokens import Principal
from geosafe.publish import disclosure as privacy

NOW = pd.Timestamp("2026-11-28 10:00", tz="Europe/London")
SCHOOL = Principal("t1", "school", "school", school_urn="100000")
ANALYST = Principal("t0", "analyst", "analyst")

#: The values issue 9 found answering 500.
BAD_DATETIMES = [
    "-1",
    "NaN",
    "\U0001d7d7",  # MATHEMATICAL DOUBLE-STRUCK DIGIT NINE
    "\u0669",  # ARABIC-INDIC DIGIT NINE
    "0000-01",
    "2262-04-12",
    "9999-12-31/..",
    "../0001-01-01",
    "2025-6-30",
    "20250630",
    "2025-06-01/20250630",
    "2025-06-31",
    "2025-13",
    "2025-06-01T25:00Z",
    "2025-03-30T01:30",  # skipped by the clock change
    "2025-06-02/2025-06-01",
    "2025/06/01/2025",
    "\u0662\u0660\u0662\u0665-\u0660\u0666",  # 2025-06 in Arabic-Indic digits
]


@pytest.mark.parametrize("text", BAD_DATETIMES)
def test_bad_datetimes_are_refused_with_a_message(text: str) -> None:
    with pytest.raises(ValidationError, match="`datetime`"):
        periods.parse_interval(text)
    with pytest.raises(DisclosureError, match="`datetime`"):
        periods.published_period(text, now=NOW)


@pytest.mark.parametrize("text", ["0001-01-01", "9999-12-31", "2025-6-1", "\u0669"])
def test_bad_dates(text: str) -> None:
    with pytest.raises(ValidationError, match="`date`"):
        periods.parse_date(text)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2025-06", "2025-05-31T23:00Z", "2025-06-30T23:00Z"),
        ("2025-06-01", "2025-05-31T23:00Z", "2025-06-01T23:00Z"),
        ("2025-06-01/2025-06-30", "2025-05-31T23:00Z", "2025-06-30T23:00Z"),
        ("2025-01-01T00:00:00Z/..", "2025-01-01T00:00Z", None),
        ("../2025-01-31", None, "2025-02-01T00:00Z"),
        ("2025-06-01T10:00:00+01:00", "2025-06-01T09:00Z", "2025-06-01T09:00:00.000000001Z"),
    ],
)
def test_intervals_in_utc(text: str, start: str | None, end: str | None) -> None:
    got = periods.parse_interval(text)
    assert got is not None
    assert got.start == (pd.Timestamp(start) if start else None)
    ns = pd.Timedelta(1, "ns")
    assert (got.end + ns if got.end is not None else None) == (pd.Timestamp(end) if end else None)


def test_clock_and_month() -> None:
    assert periods.parse_clock("08:40") == dt.time(8, 40)
    assert periods.parse_clock("8:40") == dt.time(8, 40)
    with pytest.raises(ValidationError, match="HH:MM"):
        periods.parse_clock("\u0668:40")
    assert periods.parse_month("2023-01").label == "2023-01"
    with pytest.raises(ValidationError, match="YYYY-MM"):
        periods.parse_month("2023-1")


# -- non-analysts: one spelling, one window ------------------------------------------------
def _request(query: str, principal: Principal) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/ogc/collections/hotspots-kde/items",
        "query_string": query.encode(),
        "headers": [],
        "state": {"principal": principal},
    }
    return Request(scope)


_SPEC = SimpleNamespace(params=("start", "end", "preset"), temporal=False)


def analysed_window(text: str, principal: Principal) -> tuple[dt.date, dt.date] | None:
    """What the service analyses for ``datetime=text``: the disclosure check first (as
    ``api.security.require`` runs it), then the analysis parameters; ``None`` when refused."""
    from urllib.parse import urlencode

    query = urlencode({"datetime": text})
    try:
        privacy.check_query(principal, {"datetime": text})
        with mock.patch.object(api_params, "check_cost"):  # no app behind this request
            p = api_params.analysis_params(_request(query, principal), _SPEC)  # type: ignore[arg-type]
    except (ValidationError, DisclosureError):
        return None
    assert p.start is not None and p.end is not None
    return p.start, p.end


def _spellings(year: int, month: int) -> list[str]:
    last = calendar.monthrange(year, month)[1]
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    d0 = f"{year:04d}-{month:02d}-01"
    d1 = f"{year:04d}-{month:02d}-{last:02d}"
    return [
        f"{year:04d}-{month:02d}",
        f"{d0}/{d1}",
        f"{d0}T00:00:00Z/{d1}T23:59:59Z",
        f"{d0}T00:00:00/{d1}T23:59:59",
        f"{d0}T00:00:00/{nxt.isoformat()}T00:00:00",
        f"{d0}T00:00:00+01:00/{d1}T23:59:59+01:00",
        f"{d0}T00:00:00+00:00/{d1}T23:59:59+00:00",
        f"{d0}/{year:04d}-{month}-{last}",  # unpadded: refused
        f"{d0}/{year:04d}{month:02d}{last:02d}",  # compact: refused
        f"{d0}/{d1}T00:00:00Z",  # stops a day short: refused
        f"{d0}/{d1}T12:00:00",  # partial last day: refused
        f"{year:04d}-{month:02d}-02/{d1}",  # starts a day late: refused
        f"{d0}/..",
        f"{d0}",
        f"{d0}T00:00:00Z",
    ]


_months = st.tuples(st.integers(2001, 2025), st.integers(1, 12))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_months, st.data())
def test_two_accepted_spellings_of_a_period_analyse_one_window(
    ym: tuple[int, int], data: st.DataObject
) -> None:
    spellings = _spellings(*ym)
    a = data.draw(st.sampled_from(spellings))
    b = data.draw(st.sampled_from(spellings))
    wa, wb = analysed_window(a, SCHOOL), analysed_window(b, SCHOOL)
    if wa is not None and wb is not None:
        assert wa == wb, (a, b)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(alphabet="0123456789-/:TZ.+Q ", max_size=45),
        st.sampled_from(BAD_DATETIMES),
        _months.flatmap(lambda ym: st.sampled_from(_spellings(*ym))),
    )
)
def test_whatever_a_non_analyst_sends_is_a_whole_period_or_refused(text: str) -> None:
    window = analysed_window(text, SCHOOL)
    if window is None:
        return
    period = periods.published_period(text, now=pd.Timestamp.now(tz="Europe/London"))
    assert window == (period.first_day, period.last_day)
    assert period.kind in ("month", "quarter", "year")
    start = pd.Timestamp(window[0], tz="Europe/London")
    assert start == period.start and start.day == 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_any_text_parses_or_raises_validation_error(text: str) -> None:
    """No spelling makes the parser fail with anything but a ValidationError (a 400)."""
    try:
        got = periods.parse_interval(text)
    except ValidationError:
        return
    if got is not None and got.start is not None and got.end is not None:
        assert got.start <= got.end
