"""police.uk's ref rule across the chunks of a file and the store (:class:`Deduper`).

A blank ``Crime ID`` (anti-social behaviour) gets a ref from the row's content hash and its
occurrence number; a row identical to one already seen (in the file or the store) is
``duplicate_row``; the same Crime ID with other values is an *update*: the later ``Month``
wins, within one month a located row beats a "No Location" one, otherwise the row read last
wins, and the other version is kept as history.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from ._verdicts import Verdicts

__all__ = ["Deduped", "Deduper"]


class _Version(NamedTuple):
    """The current version of one Crime ID."""

    hash: int
    month: float  # epoch seconds of the month start
    located: bool
    key: int  # > 0 a store id; < 0 minus a data row number of this file


@dataclass
class Deduped:
    """What :meth:`Deduper.apply` decided for the rows of a chunk."""

    refs: np.ndarray
    current: np.ndarray
    updated: int = 0
    located_preferred: int = 0
    supersede_rows: list[int] = field(default_factory=list)
    supersede_ids: list[int] = field(default_factory=list)


class Deduper:
    """police.uk's ref rule across the chunks of a file and the store.

    Of two versions of one Crime ID, the later ``Month`` wins; within one month a located row
    beats a "No Location" one; otherwise the row read last wins. The other version is kept as
    history.

    Parameters
    ----------
    lookup
        ``refs -> DataFrame(id, source_ref, row_hash, occurred_from, current, located)`` of the
        versions already in the store, or ``None`` when the store holds no police.uk rows (or
        there is no store).
    """

    def __init__(self, lookup: Callable[[list[str]], pd.DataFrame] | None = None) -> None:
        self.lookup = lookup
        #: Crime ID -> its current version (a plain tuple in :class:`_Version` order), for ids
        #: met more than once or found in the store.
        self.current: dict[str, tuple[int, float, bool, int]] = {}
        #: 64-bit hash of a Crime ID -> the position of its version in :attr:`_seen` (an id
        #: met once so far: most of them, a million per million rows, kept without a tuple
        #: or a text key per row), or -1 (its version is in :attr:`current`). A hash two ids
        #: share points at the first; the text is always compared (:meth:`_get`).
        self._index: dict[int, int] = {}
        #: Versions of ids met once, per chunk: (hash, month, located, key, Crime ID) arrays,
        #: and the position of each chunk's first row.
        self._seen: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._bases: list[int] = [0]
        #: Crime ID -> every version's hash, only for ids seen more than once.
        self.hashes: dict[str, set[int]] = {}
        #: Content hash -> occurrences so far (blank Crime IDs).
        self.anon: dict[int, int] = {}

    def _get(self, ref: str, key: int) -> tuple[int, float, bool, int] | None:
        """The current version of a Crime ID (``key``: its :func:`_id_keys` hash), if known."""
        v = self.current.get(ref)
        if v is not None:
            return v
        p = self._index.get(key)
        if p is None or p < 0:
            return None
        k = bisect.bisect_right(self._bases, p) - 1
        h, m, located, old, ids = self._seen[k]
        j = p - self._bases[k]
        if ids[j] != ref:  # another Crime ID with the same 64-bit hash
            return None
        return (int(h[j]), float(m[j]), bool(located[j]), int(old[j]))

    def _set(self, ref: str, key: int, version: tuple[int, float, bool, int]) -> None:
        self.current[ref] = version
        self._index.setdefault(key, -1)

    def _load(self, ids: np.ndarray, keys: np.ndarray) -> None:
        """Store versions of the ids of a chunk not known yet."""
        if self.lookup is None or not len(ids):
            return
        first = ~pd.Series(ids).duplicated().to_numpy(dtype=bool)
        new = [
            str(r)
            for r, k in zip(ids[first], keys[first].tolist(), strict=True)
            if self._get(r, k) is None
        ]
        if not new:
            return
        found = self.lookup(new).sort_values("current")
        found_keys = _id_keys(found["source_ref"].astype(str).to_numpy(dtype=object)).tolist()
        for rec, key in zip(found.itertuples(index=False), found_keys, strict=True):
            ref = str(rec.source_ref)
            version = _Version(
                int(rec.row_hash),  # type: ignore[arg-type]
                float(rec.occurred_from),  # type: ignore[arg-type]
                bool(rec.located),
                int(rec.id),  # type: ignore[arg-type]
            )
            old = self._get(ref, key)
            if old is not None:
                self.hashes.setdefault(ref, {old[0]}).add(version.hash)
            if rec.current == 1 or old is None:
                self._set(ref, key, version)

    def apply(
        self,
        ids: np.ndarray,
        hashes: np.ndarray,
        months: np.ndarray,
        located: np.ndarray,
        rows_no: np.ndarray,
        verdicts: Verdicts,
    ) -> Deduped:
        """Decide each good row's ref and whether it is current; quarantine exact repeats
        (``duplicate_row``) in ``verdicts``."""
        n = len(ids)
        out = Deduped(refs=ids.copy(), current=np.ones(n, dtype=np.int8))
        has_id = verdicts.ok & (ids != "")
        keys = _id_keys(ids)
        if self.lookup is not None:  # store versions of the ids in this chunk not yet known
            self._load(ids[has_id], keys[has_id])
        key_list = keys.tolist()
        known = (
            np.fromiter(map(self._index.__contains__, key_list), dtype=bool, count=n)
            if self._index
            else np.zeros(n, bool)
        )
        # equal hashes: the same id in this chunk (or two ids sharing a hash: both then take
        # the path that compares texts)
        repeated = pd.Series(keys).duplicated(keep=False).to_numpy(dtype=bool)
        cand = has_id & (known | repeated)
        simple = has_id & ~cand
        base = self._bases[-1]
        first = keys[simple]
        self._seen.append(
            (hashes[simple], months[simple], located[simple], -rows_no[simple], ids[simple])
        )
        self._bases.append(base + len(first))
        self._index.update(zip(first.tolist(), range(base, base + len(first)), strict=True))
        for i in np.flatnonzero(cand):
            self._one(int(i), ids[i], key_list[i], hashes, months, located, rows_no, verdicts, out)
        self._anonymous(ids, hashes, verdicts, out)
        return out

    def _one(
        self,
        i: int,
        ref: str,
        key: int,
        hashes: np.ndarray,
        months: np.ndarray,
        located: np.ndarray,
        rows_no: np.ndarray,
        verdicts: Verdicts,
        out: Deduped,
    ) -> None:
        new = _Version(int(hashes[i]), float(months[i]), bool(located[i]), -int(rows_no[i]))
        known = self._get(ref, key)
        if known is None:
            self._set(ref, key, new)
            return
        old = _Version._make(known)
        versions = self.hashes.get(ref, {old.hash})
        if new.hash in versions:
            verdicts.code[i], verdicts.column[i] = "duplicate_row", "Crime ID"
            verdicts.reason[i] = (
                f"row is identical to one already imported or read (Crime ID {ref[:16]!r}...); "
                "nothing to do."
            )
            return
        self.hashes[ref] = versions | {new.hash}
        out.updated += 1
        if new.month == old.month and new.located != old.located:
            out.located_preferred += 1
            wins = new.located
        else:
            wins = new.month >= old.month
        if wins:
            if old.key > 0:
                out.supersede_ids.append(old.key)
            else:
                out.supersede_rows.append(-old.key)
            self._set(ref, key, new)
        else:
            out.current[i] = 0

    def _anonymous(
        self, ids: np.ndarray, hashes: np.ndarray, verdicts: Verdicts, out: Deduped
    ) -> None:
        """Blank Crime ID: a ref from the content hash and its occurrence number; a row equal
        to one already in the store is ``duplicate_row``."""
        anon = np.flatnonzero(verdicts.ok & (ids == ""))
        anon_refs = []
        for i in anon:
            h = int(hashes[i])
            k = self.anon.get(h, 0) + 1
            self.anon[h] = k
            out.refs[i] = f"anon-{h & 0xFFFFFFFFFFFFFFFF:016x}-{k}"
            anon_refs.append(out.refs[i])
        if self.lookup is None or not anon_refs:
            return
        found = set(self.lookup(anon_refs)["source_ref"].astype(str))
        for i in anon:
            if out.refs[i] in found:
                verdicts.code[i], verdicts.column[i] = "duplicate_row", "Crime ID"
                verdicts.reason[i] = (
                    "row (blank Crime ID) is identical to one already imported; nothing to do."
                )


def _id_keys(ids: np.ndarray) -> np.ndarray:
    """64-bit hashes of Crime IDs (SipHash, as the store's ``ref_key``)."""
    return pd.util.hash_array(np.asarray(ids, dtype=object), categorize=False).view(np.int64)
