"""UK postcodes: normalise, validate the format, look up the Code-Point Open centroid.

The bundled lookup is OS Code-Point Open (August 2014) for postcode areas N and EN
(:func:`geosafe.datasets.postcodes`). A well-formed postcode not in it (another area, or
created after 2014) is ``postcode_unknown``; a string that is not a UK postcode at all is
``postcode_malformed``. Precision is 100 m (a unit postcode covers ~15 addresses).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from .. import datasets
from ..incident import PRECISION_M

__all__ = ["POSTCODE_RE", "PRECISION", "lookup_postcodes", "normalise_postcode"]

PRECISION: Final = PRECISION_M["postcode"]

#: A full UK unit postcode (no space), upper case: outward code then inward code.
POSTCODE_RE: Final = re.compile(r"^(GIR0AA|[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][ABD-HJLNP-UW-Z]{2})$")


def normalise_postcode(text: object) -> str | None:
    """Upper-case ``text``, fix its spacing (one space before the inward code).

    Returns ``None`` when it is not a well-formed UK postcode.

    Examples
    --------
    >>> normalise_postcode(" n22  7ay "), normalise_postcode("N22")
    ('N22 7AY', None)
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    key = re.sub(r"\s+", "", str(text)).upper()
    if not POSTCODE_RE.match(key):
        return None
    return f"{key[:-3]} {key[-3:]}"


def lookup_postcodes(
    values: npt.ArrayLike | Sequence[object], *, data_dir: Path | str | None = None
) -> pd.DataFrame:
    """Look up many postcodes at once (for bulk imports).

    Parameters
    ----------
    values
        Postcodes as written (any case and spacing); blank = missing.
    data_dir
        Bundled data directory (default: the package's ``data/``).

    Returns
    -------
    pandas.DataFrame
        One row per input, columns ``postcode`` (normalised or None), ``easting``,
        ``northing`` (BNG metres, NaN when not found) and ``reason_code`` (None when found or
        blank, ``postcode_malformed`` or ``postcode_unknown``).
    """
    raw = list(np.asarray(values, dtype=object).ravel())
    blank = np.array([v is None or str(v).strip() in ("", "nan") for v in raw], dtype=bool)
    norm = [normalise_postcode(v) for v in raw]
    table = datasets.postcodes(data_dir)
    known = table.index
    easting = np.full(len(raw), np.nan)
    northing = np.full(len(raw), np.nan)
    reason = np.full(len(raw), None, dtype=object)
    keys = [v.replace(" ", "") if v is not None else None for v in norm]
    found = np.array([k is not None and k in known for k in keys], dtype=bool)
    if found.any():
        hit = table.loc[[k for k, f in zip(keys, found, strict=True) if f]]
        easting[found] = hit["easting"].to_numpy()
        northing[found] = hit["northing"].to_numpy()
    is_norm = np.array([v is not None for v in norm], dtype=bool)
    reason[~blank & ~is_norm] = "postcode_malformed"
    reason[~blank & is_norm & ~found] = "postcode_unknown"
    return pd.DataFrame(
        {
            "postcode": pd.Series(norm, dtype=object),
            "easting": easting,
            "northing": northing,
            "reason_code": pd.Series(reason, dtype=object),
        }
    )
