"""A server keeps the demo area's bus stops, not TfL's whole London list (~11 MB resident):
``datasets.bus_stops(demo_only=True)`` is exactly the full list's ``in_demo_area`` rows."""

from __future__ import annotations

from pandas.testing import assert_frame_equal

from geosafe import datasets


def test_demo_only_bus_stops_are_the_full_lists_demo_rows() -> None:
    full = datasets.bus_stops()
    demo = datasets.bus_stops(demo_only=True)
    assert 0 < len(demo) < len(full) / 10
    assert_frame_equal(demo, full[full["in_demo_area"]])
    demo.loc[demo.index[0], "Stop_Name"] = "changed"  # callers get a copy
    assert datasets.bus_stops(demo_only=True)["Stop_Name"].iloc[0] != "changed"
