"""Journey origins: pupils' homes as points or postcodes (grouped), and a school's location.

- points: a CSV with ``id`` and ``latitude,longitude`` (WGS84) or ``easting,northing`` (BNG)
  (:func:`origins_from_csv`);
- postcodes: Code-Point Open centroids (:func:`origins_from_postcodes`), from a school's
  uploaded list (a CSV with a ``postcode`` column; any other column is ignored and never read
  into the result, :func:`read_postcode_list`) or from the FAP referrals in the store
  (:func:`fap_home_postcodes`). Postcodes are **grouped**: one origin per distinct postcode
  with the number of pupils (``count``), so nothing downstream sees individual pupils.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pyproj import Transformer

from .. import datasets
from .._errors import NotFoundError, ValidationError

__all__ = [
    "Origins",
    "fap_home_postcodes",
    "origins_from_csv",
    "origins_from_postcodes",
    "read_postcode_list",
    "school_location",
]

_TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)


@dataclass(frozen=True)
class Origins:
    """Journey origins (EPSG:27700).

    Attributes
    ----------
    origin_id
        Identifier per origin (the given ``id``, or the postcode).
    xy
        ``(n, 2)`` BNG metres; ``nan`` where the origin could not be placed.
    count
        Pupils at each origin.
    error
        ``None``, or why the origin has no location (``"postcode_unknown"``...).
    kind
        ``"point"``, ``"postcode"`` or ``"fap"``.
    """

    origin_id: tuple[str, ...]
    xy: npt.NDArray[np.float64]
    count: npt.NDArray[np.int64]
    error: tuple[str | None, ...]
    kind: str

    def __len__(self) -> int:
        return len(self.origin_id)


def _norm_postcode(text: object) -> str:
    return "".join(str(text).split()).upper() if text is not None else ""


def read_postcode_list(path: str | Path) -> list[str]:
    """Home postcodes from a school's CSV (``postcode`` column; other columns are not read).

    Raises
    ------
    ValidationError
        When the file has no ``postcode`` column.
    """
    path = Path(path)
    header = pd.read_csv(path, nrows=0, encoding="utf-8-sig")
    cols = {c.strip().lower(): c for c in header.columns}
    if "postcode" not in cols:
        msg = (
            f"postcode file {str(path)!r} has columns {list(header.columns)!r}; it needs a "
            "`postcode` column (one home postcode per pupil, no names)."
        )
        raise ValidationError(msg)
    df = pd.read_csv(path, usecols=[cols["postcode"]], dtype=str, encoding="utf-8-sig")
    return [p for p in df.iloc[:, 0].fillna("").tolist() if p.strip()]


def origins_from_postcodes(
    postcodes: Iterable[str], *, data_dir: Path | str | None = None, kind: str = "postcode"
) -> Origins:
    """One origin per distinct postcode (Code-Point Open centroid) with its pupil count.

    Unknown or malformed postcodes become origins without a location and the error
    ``"postcode_unknown"``.
    """
    keys = [_norm_postcode(p) for p in postcodes]
    keys = [k for k in keys if k]
    if not keys:
        return Origins((), np.zeros((0, 2)), np.zeros(0, dtype=np.int64), (), kind)
    counts = pd.Series(keys).value_counts(sort=False)
    table = datasets.postcodes(data_dir)
    idx = counts.index
    found = idx.isin(table.index)
    xy = np.full((len(idx), 2), np.nan)
    if found.any():
        rows = table.loc[idx[found]]
        xy[found, 0] = rows["easting"].to_numpy(dtype=float)
        xy[found, 1] = rows["northing"].to_numpy(dtype=float)
    # the standard written form ("N8 0DU"), whatever spacing the input or Code-Point used
    names = [f"{k[:-3]} {k[-3:]}" if len(k) > 3 else k for k in idx]
    errors = tuple(None if f else "postcode_unknown" for f in found)
    return Origins(tuple(names), xy, np.asarray(counts.to_numpy(), dtype=np.int64), errors, kind)


def origins_from_csv(path: str | Path) -> Origins:
    """Point origins from a CSV with ``id`` and ``latitude,longitude`` or ``easting,northing``.

    Raises
    ------
    ValidationError
        When the columns are missing.
    """
    path = Path(path)
    df = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    df.columns = [c.strip().lower() for c in df.columns]
    if "id" not in df.columns:
        msg = f"origins file {str(path)!r} has no `id` column; columns are {list(df.columns)!r}."
        raise ValidationError(msg)
    if {"latitude", "longitude"} <= set(df.columns):
        lat = pd.to_numeric(df["latitude"], errors="coerce").to_numpy(dtype=float)
        lon = pd.to_numeric(df["longitude"], errors="coerce").to_numpy(dtype=float)
        x, y = _TO_BNG.transform(lon, lat)
        xy = np.column_stack([x, y])
    elif {"easting", "northing"} <= set(df.columns):
        xy = np.column_stack(
            [
                pd.to_numeric(df["easting"], errors="coerce").to_numpy(dtype=float),
                pd.to_numeric(df["northing"], errors="coerce").to_numpy(dtype=float),
            ]
        )
    else:
        msg = (
            f"origins file {str(path)!r} has columns {list(df.columns)!r}; it needs "
            "`latitude,longitude` (WGS84) or `easting,northing` (British National Grid)."
        )
        raise ValidationError(msg)
    bad = ~np.isfinite(xy).all(axis=1)
    errors = tuple("coordinates_invalid" if b else None for b in bad)
    return Origins(
        tuple(df["id"].fillna("").astype(str)),
        xy,
        np.ones(len(df), dtype=np.int64),
        errors,
        "point",
    )


def fap_home_postcodes(store: Any, school_urn: str) -> list[str]:
    """Home postcodes of the FAP referrals to ``school_urn`` in the store (one per referral).

    Parameters
    ----------
    store
        A :class:`geosafe.store.Store`.
    school_urn
        The school's URN.
    """
    fap = store.incidents(sources=["fap"], with_location=False)
    if fap.empty:
        return []
    urn = fap["school_urn"].astype(str)
    mine = fap[urn == str(school_urn)]
    out = []
    for d in mine["detail"]:
        pc = (d or {}).get("home_postcode") if isinstance(d, dict) else None
        if pc:
            out.append(str(pc))
    return out


def school_location(
    urn: str, *, data_dir: Path | str | None = None
) -> tuple[tuple[float, float], str]:
    """A bundled school's position (EPSG:27700) and name.

    Raises
    ------
    NotFoundError
        When the URN is not in the bundled school list.
    """
    schools = datasets.schools(data_dir)
    hit = schools[schools["urn"].astype(str) == str(urn)]
    if hit.empty:
        msg = (
            f"`school` {urn!r} is not in the bundled school list; pass a current DfE URN "
            "(see data/schools/schools.csv)."
        )
        raise NotFoundError(msg)
    g = hit.geometry.iloc[0]
    return (float(g.x), float(g.y)), str(hit["name"].iloc[0])
