"""Synthetic school rolls: the home postcodes of each demo-area school's pupils (SYNTHETIC).

Assumptions (illustrative, not measured):

Roll size
    The bundled school list's ``pupils`` column is the school's KS4 (Year 11) cohort; a
    secondary roll of Years 7-11 is taken as :data:`ROLL_PER_KS4` (5) times that, capped at
    :data:`ROLL_CAP` (1,200) pupils (sixth forms are left out: they mostly travel on their
    own). A school without a cohort figure gets :data:`DEFAULT_ROLL`.
Homes
    Real N/EN Code-Point Open postcodes within :data:`MAX_HOME_M` (5 km) of the school, each
    drawn with weight ``exp(-d / DECAY_M)`` (``DECAY_M`` 800 m). Postcodes are roughly evenly
    spread, so home distances follow ~ ``d·exp(-d/800)``: median ~1.3 km, ~80% within 2.5 km,
    as for London secondary schools where most pupils live within a few kilometres.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from .. import datasets

ROLL_PER_KS4: Final = 5
ROLL_CAP: Final = 1200
DEFAULT_ROLL: Final = 750
DECAY_M: Final = 800.0
MAX_HOME_M: Final = 5000.0


def synthetic_rolls(*, seed: int, data_dir: Path | str | None = None) -> dict[str, pd.DataFrame]:
    """A synthetic roll per demo-area school: ``{urn: DataFrame(postcode, pupils)}``, one row
    per distinct home postcode, sorted; deterministic for ``seed``."""
    schools = datasets.schools(data_dir, demo_only=True).sort_values("urn")
    pcs = datasets.postcodes(data_dir)
    pe = pcs["easting"].to_numpy(dtype=float)
    pn = pcs["northing"].to_numpy(dtype=float)
    names = pcs["postcode"].to_numpy(dtype=object)
    ks4 = pd.to_numeric(schools["pupils"], errors="coerce").to_numpy(dtype=float)
    out: dict[str, pd.DataFrame] = {}
    for i, (urn, geom) in enumerate(zip(schools["urn"].astype(str), schools.geometry, strict=True)):
        rng = np.random.default_rng([seed, 5, int(urn)])
        size = (
            DEFAULT_ROLL if not np.isfinite(ks4[i]) else int(min(ROLL_PER_KS4 * ks4[i], ROLL_CAP))
        )
        d = np.hypot(pe - geom.x, pn - geom.y)
        near = np.flatnonzero(d <= MAX_HOME_M)
        w = np.exp(-d[near] / DECAY_M)
        homes = rng.choice(near, size=size, replace=True, p=w / w.sum())
        idx, counts = np.unique(homes, return_counts=True)
        roll = pd.DataFrame({"postcode": names[idx], "pupils": counts.astype("int64")})
        out[urn] = roll.sort_values("postcode").reset_index(drop=True)
    return out


def write_rolls(out_dir: Path, *, seed: int, data_dir: Path | str | None = None) -> dict[str, Path]:
    """Write ``rolls/<URN>.csv`` (``postcode,pupils``) per demo-area school into ``out_dir``
    (the upload format of ``geosafe roll upload``). Returns the files by URN."""
    folder = Path(out_dir) / "rolls"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for urn, roll in synthetic_rolls(seed=seed, data_dir=data_dir).items():
        path = folder / f"{urn}.csv"
        roll.to_csv(path, index=False, lineterminator="\n")
        files[urn] = path
    return files
