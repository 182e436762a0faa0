"""Synthetic demo rolls: deterministic, sized from the KS4 cohort, real postcodes near the
school, readable by the roll upload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geosafe import datasets, rolls
from geosafe.synth import synthetic_rolls, write_rolls


def test_synthetic_rolls(tmp_path: Path) -> None:
    a = synthetic_rolls(seed=3)
    b = synthetic_rolls(seed=3)
    c = synthetic_rolls(seed=4)
    schools = datasets.schools(demo_only=True).set_index("urn")
    assert sorted(a) == sorted(schools.index.astype(str))
    pcs = datasets.postcodes().set_index("postcode")
    for urn, roll in a.items():
        pd.testing.assert_frame_equal(roll, b[urn])
        assert not roll.equals(c[urn])
        ks4 = float(schools.loc[urn, "pupils"])
        assert roll["pupils"].sum() == min(5 * int(ks4), 1200)
        assert roll["postcode"].is_unique and roll["postcode"].isin(pcs.index).all()
        xy = pcs.loc[roll["postcode"], ["easting", "northing"]].to_numpy()
        g = schools.loc[urn].geometry
        d = np.repeat(np.hypot(xy[:, 0] - g.x, xy[:, 1] - g.y), roll["pupils"].to_numpy())
        assert d.max() <= 5000 and 0.7 <= (d <= 2500).mean() <= 0.95
    files = write_rolls(tmp_path, seed=3)
    urn = sorted(files)[0]
    s = rolls.save_roll(tmp_path / "g.db", urn, files[urn])
    assert (s.pupils, s.postcodes, s.unknown) == (int(a[urn]["pupils"].sum()), len(a[urn]), 0)
