"""2018 London ward names or GSS codes to the ward centroid (precision 1 km).

Ward names repeat across boroughs ("Woodside" is in Haringey and Croydon, "Alexandra" in
Haringey and Kingston). A name may be qualified by its borough, written
``"Woodside, Haringey"``, ``"Woodside (Haringey)"`` or ``"Haringey: Woodside"``. An
unqualified ambiguous name resolves only when exactly one candidate lies in a *preferred*
borough (default: the boroughs of the demo area, Haringey, Enfield and Barnet); otherwise it
is ``ward_unknown`` with a reason asking for the borough.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from shapely.geometry import Point

from .. import datasets

__all__ = ["DEMO_BOROUGHS", "WardIndex", "normalise_ward_name"]

DEMO_BOROUGHS: Final = ("Haringey", "Enfield", "Barnet")
_GSS_RE: Final = re.compile(r"^E05\d{6}$")


def normalise_ward_name(text: str) -> str:
    """Case-fold, ``&`` to ``and``, punctuation and extra spaces removed."""
    t = text.casefold().replace("&", " and ")
    t = re.sub(r"[^a-z0-9 ]+", " ", t)
    return re.sub(r"\s+", " ", t).strip()


@dataclass(frozen=True)
class WardMatch:
    """A resolved ward: name, borough, GSS code and centroid (EPSG:27700)."""

    name: str
    borough: str
    gss_code: str
    centroid: Point


@dataclass(frozen=True)
class WardIndex:
    """Ward lookup by GSS code and by normalised name (and borough)."""

    by_code: dict[str, WardMatch]
    by_name: dict[str, tuple[WardMatch, ...]]
    boroughs: frozenset[str]

    @classmethod
    def load(cls, data_dir: Path | str | None = None) -> WardIndex:
        """Build (once per data directory) from :func:`geosafe.datasets.wards`."""
        return _index(Path(data_dir) if data_dir is not None else None)

    def _split(self, text: str) -> tuple[str, str | None]:
        m = re.match(r"^(.*?)\s*\((.*?)\)\s*$", text)
        if m:
            return m.group(1), m.group(2)
        for sep in (",", ":", " - ", "/"):
            if sep in text:
                a, b = (p.strip() for p in text.split(sep, 1))
                if normalise_ward_name(b) in self.boroughs:
                    return a, b
                if normalise_ward_name(a) in self.boroughs:
                    return b, a
        return text, None

    def resolve(
        self, text: str, *, prefer: tuple[str, ...] = DEMO_BOROUGHS
    ) -> tuple[WardMatch | None, str | None]:
        """``(match, None)`` or ``(None, reason)`` for a ward name or GSS code."""
        raw = str(text).strip()
        if _GSS_RE.match(raw.upper()):
            hit = self.by_code.get(raw.upper())
            if hit is None:
                return None, f"ward code {raw!r} is not a 2018 London ward; check the code"
            return hit, None
        name, borough = self._split(raw)
        cands = self.by_name.get(normalise_ward_name(name), ())
        if borough is not None:
            b = normalise_ward_name(borough)
            cands = tuple(c for c in cands if normalise_ward_name(c.borough) == b)
        if len(cands) == 1:
            return cands[0], None
        if not cands:
            return None, (
                f"ward {raw!r} is not a 2018 London ward name or GSS code; use the GLA 2018 "
                "ward name (optionally 'Name, Borough') or its E05 code"
            )
        pref = {normalise_ward_name(p) for p in prefer}
        local = [c for c in cands if normalise_ward_name(c.borough) in pref]
        if len(local) == 1:
            return local[0], None
        boroughs = ", ".join(sorted(c.borough for c in cands))
        return None, (
            f"ward {raw!r} is ambiguous (in {boroughs}); qualify it as 'Name, Borough' "
            "or give its E05 code"
        )


@functools.cache
def _index(data_dir: Path | None) -> WardIndex:
    gdf = datasets.wards(data_dir)
    by_code: dict[str, WardMatch] = {}
    by_name: dict[str, list[WardMatch]] = {}
    for row in gdf.itertuples(index=False):
        geom = row.geometry
        c = geom.centroid
        if not geom.contains(c):
            c = geom.representative_point()
        m = WardMatch(str(row.name), str(row.borough), str(row.gss_code), c)
        by_code[m.gss_code.upper()] = m
        by_name.setdefault(normalise_ward_name(m.name), []).append(m)
    return WardIndex(
        by_code=by_code,
        by_name={k: tuple(v) for k, v in by_name.items()},
        boroughs=frozenset(normalise_ward_name(b) for b in gdf["borough"].unique()),
    )
