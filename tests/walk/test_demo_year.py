"""The demo's synthetic year ends with the last bundled police.uk month (helper `polish`,
eighth wave). Seen by `walk`: the bundled police.uk months end in 2024-02 while `geosafe
demo` synthesised 2024-08..2025-07, so the default view (the last 12 months) held no real
record at all and no period compared like for like.

References: the ``Month`` column of the bundled police.uk files themselves, the calendar,
and the estimated bus feed's own calendar read by the GTFS reader."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
from pathlib import Path

import pandas as pd
import pytest

from geosafe import datasets, synth
from geosafe.cli import demo


def _months_in(path: Path) -> set[str]:
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh:
        return {row["Month"] for row in csv.DictReader(fh)}


def test_last_police_month_is_the_last_month_in_the_files() -> None:
    files = datasets.police_files()
    assert demo.last_police_month(files) == max(_months_in(files[-1])) == "2024-02"
    assert demo.last_police_month([]) is None
    assert demo.last_police_month([Path("notes.csv")]) is None


def test_demo_asks_for_the_synthetic_year_to_end_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    def fake_call(argv: list[str], *, quiet: bool = False) -> tuple[int, str]:
        calls.append(list(argv))
        return 3, ""  # stop the demo after its first step

    monkeypatch.setattr(demo, "_call", fake_call)
    args = argparse.Namespace(dir=tmp_path / "demo", seed=42, host="127.0.0.1", port=0)
    assert demo._run(args) == 3
    assert calls[0][0] == "synth"
    assert calls[0][calls[0].index("--end") + 1] == "2024-02"


def test_the_synthetic_year_and_the_police_months_overlap(data_dir: Path) -> None:
    rows, _ = synth.generate(seed=42, months=12, end="2024-02", data_dir=data_dir)
    text = [r["reported_at"] for r in rows["dir"]]
    when = pd.to_datetime(text, format="%Y-%m-%d %H:%M", errors="coerce").dropna()
    assert len(when) > 0.9 * len(text)  # the rest: the deliberately broken rows
    assert when.min() >= pd.Timestamp("2023-03-01")
    assert when.max() < pd.Timestamp("2024-03-01")
    police = {m for f in datasets.police_files() for m in _months_in(f)}
    months = {t.strftime("%Y-%m") for t in when}
    assert len(months & police) == 12  # every synthetic month has police.uk records too


def test_the_estimated_buses_run_on_the_demo_periods_last_day() -> None:
    """The service's default travel date is the analysed period's last day, 29 February
    2024 for the demo (a Thursday in term): the estimated feed must run then."""
    from geosafe.network.gtfs import read_feed

    feed = read_feed(datasets.gtfs_dir(), warn=False)
    assert "WEEKDAY" in feed.services_on(dt.date(2024, 2, 29))
    assert "SCHOOL" in feed.services_on(dt.date(2024, 2, 29))


def test_an_earlier_demos_synthetic_year_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Synthetic files already there are reused (as before); if they are an earlier demo's
    2024-08..2025-07, the demo says they never meet the police.uk months and how to rebuild."""
    synth_dir = tmp_path / "demo" / "synthetic"
    synth_dir.mkdir(parents=True)
    for _, name in demo._SYNTH_FILES:
        (synth_dir / name).write_text("", encoding="utf-8")
    (synth_dir / "README-SYNTHETIC.md").write_text(
        "# Synthetic\n\n- period: 2024-08-01 to 2025-07-31\n", encoding="utf-8"
    )
    monkeypatch.setattr(demo, "_call", lambda argv, quiet=False: (3, ""))
    args = argparse.Namespace(dir=tmp_path / "demo", seed=42, host="127.0.0.1", port=0)
    with caplog.at_level("WARNING", logger="geosafe.cli.demo"):
        assert demo._run(args) == 3
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "2024-08 to 2025-07" in said and "end in 2024-02" in said and "remove" in said
