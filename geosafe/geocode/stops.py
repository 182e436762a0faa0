"""Bus stop codes: NaPTAN ATCO (``490...``) or TfL LBSL codes, to a stop position.

The bundled TfL stop list (2025, :func:`geosafe.datasets.bus_stops`) gives every London bus
stop's LBSL code, NaPTAN ATCO code, 5-digit SMS code and BNG position. Rules:

- an exact ATCO (case-insensitive) or LBSL code is a stop (precision 30 m);
- a code that is only a 5-digit SMS code (``Bus_Stop_Code``) is ``stop_code_sms``: SMS codes
  are for passengers texting for arrivals and are not accepted in incident files. The 13
  codes that are both an LBSL and an SMS code are read as LBSL codes, the documented format;
- anything else is ``stop_code_unknown``;
- a known stop whose TfL position is (0, 0) or blank falls back to its position in the 2019
  route sequences; failing that it is a known stop with no location (``method == "none"``,
  no reason code).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from .. import datasets
from ..incident import PRECISION_M

__all__ = ["PRECISION", "StopIndex", "lookup_stops", "normalise_stop_code"]

PRECISION: Final = PRECISION_M["stop"]
_ATCO_RE: Final = re.compile(r"^490[0-9A-Z]+$")
_SMS_RE: Final = re.compile(r"^[0-9]{5}$")


def normalise_stop_code(code: object) -> str | None:
    """Strip and upper-case a stop code; ``None`` when blank."""
    if code is None or (isinstance(code, float) and np.isnan(code)):
        return None
    text = re.sub(r"\s+", "", str(code)).upper()
    return text or None


@dataclass(frozen=True)
class StopIndex:
    """Lookup tables from the bundled stop list: code -> (easting, northing, name, atco)."""

    by_code: dict[str, tuple[float, float, str, str]]
    sms_codes: frozenset[str]

    @classmethod
    def load(cls, data_dir: Path | str | None = None) -> StopIndex:
        """Build the index from the bundled stop list and route sequences."""
        return _index(Path(data_dir) if data_dir is not None else None)

    def lookup(self, code: object) -> tuple[str | None, tuple[float, float, str, str] | None]:
        """``(reason_code, (easting, northing, name, atco))`` for one code.

        ``reason_code`` is None for a known stop (or a blank code, with no record);
        easting/northing are NaN for a known stop with no position.
        """
        key = normalise_stop_code(code)
        if key is None:
            return None, None
        rec = self.by_code.get(key)
        if rec is not None:
            return None, rec
        if _SMS_RE.match(key) and key in self.sms_codes:
            return "stop_code_sms", None
        return "stop_code_unknown", None


def _num(value: object) -> float:
    try:
        return float(str(value))
    except ValueError:
        return float("nan")


@functools.cache
def _index(data_dir: Path | None) -> StopIndex:
    stops = datasets.bus_stops(data_dir)
    seq = datasets.bus_sequences(data_dir)
    seq_pos: dict[str, tuple[float, float]] = {}
    for row in seq.itertuples(index=False):
        e, n = _num(row.Location_Easting), _num(row.Location_Northing)
        if e > 0 and n > 0:
            for c in (row.Naptan_Atco, row.Stop_Code_LBSL):
                if c:
                    seq_pos.setdefault(str(c).strip().upper(), (e, n))
    by_code: dict[str, tuple[float, float, str, str]] = {}
    for row in stops.itertuples(index=False):
        e, n = _num(row.Location_Easting), _num(row.Location_Northing)
        atco = str(row.Naptan_Atco).strip().upper()
        lbsl = str(row.Stop_Code_LBSL).strip().upper()
        if not (np.isfinite(e) and np.isfinite(n)) or (e <= 0 or n <= 0):
            e, n = seq_pos.get(atco) or seq_pos.get(lbsl) or (np.nan, np.nan)
        rec = (e, n, str(row.Stop_Name), atco)
        if lbsl:
            by_code.setdefault(lbsl, rec)
        if atco and _ATCO_RE.match(atco):
            by_code.setdefault(atco, rec)
    # stops only in the 2019 sequences (since renamed or removed) are still real codes
    for row in seq.itertuples(index=False):
        e, n = _num(row.Location_Easting), _num(row.Location_Northing)
        ok = e > 0 and n > 0
        rec = (e if ok else np.nan, n if ok else np.nan, str(row.Stop_Name), str(row.Naptan_Atco))
        for c in (row.Naptan_Atco, row.Stop_Code_LBSL):
            c = str(c).strip().upper()
            if c:
                by_code.setdefault(c, rec)
    sms = frozenset(str(c).strip() for c in stops["Bus_Stop_Code"] if str(c).strip())
    return StopIndex(by_code=by_code, sms_codes=sms)


def lookup_stops(
    codes: npt.ArrayLike | Sequence[object], *, data_dir: Path | str | None = None
) -> pd.DataFrame:
    """Look up many stop codes at once (for bulk imports).

    Returns
    -------
    pandas.DataFrame
        One row per input: ``stop_code`` (normalised or None), ``easting``, ``northing``
        (BNG metres, NaN when unknown or unplaced), ``name``, ``atco``, ``reason_code``
        (None, ``stop_code_sms`` or ``stop_code_unknown``).
    """
    index = StopIndex.load(data_dir)
    rows = []
    for code in np.asarray(codes, dtype=object).ravel():
        reason, rec = index.lookup(code)
        e, n, name, atco = rec if rec else (np.nan, np.nan, None, None)
        rows.append((normalise_stop_code(code), e, n, name, atco, reason))
    cols = ["stop_code", "easting", "northing", "name", "atco", "reason_code"]
    return pd.DataFrame(
        {
            c: pd.Series(
                [r[i] for r in rows], dtype=float if c in ("easting", "northing") else object
            )
            for i, c in enumerate(cols)
        }
    )
