"""police.uk's ref rule across the chunks of a file and the store (:class:`Deduper`).

A blank ``Crime ID`` (anti-social behaviour) gets a ref from the row's content hash and its
occurrence number; a row identical to one already seen (in the file or the store) is
``duplicate_row``; the same Crime ID with other values is an *update*: the later ``Month``
wins, within one month a located row beats a "No Location" one, otherwise the row read last
wins, and the other version is kept as history.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

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
        ``refs -> (id, source_ref, row_hash, occurred_from, current, located)`` records (a
        sequence of tuples, or a DataFrame with those columns) of the versions already in the
        store, or ``None`` when the store holds no police.uk rows (or there is no store).
    """

    def __init__(self, lookup: Callable[[list[str]], Any] | None = None) -> None:
        self.lookup = lookup
        #: Crime ID -> its current version: a plain tuple in :class:`_Version` order, or, for
        #: an id met once so far (most of them: a million per million rows), the position of
        #: its version in :attr:`_seen` (no tuple made per row).
        self.current: dict[str, tuple[int, float, bool, int] | int] = {}
        #: Versions of ids met once, per chunk: (hash, month, located, key) arrays, and the
        #: position of each chunk's first row.
        self._seen: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._bases: list[int] = [0]
        #: Crime ID -> every version's hash, only for ids seen more than once.
        self.hashes: dict[str, set[int]] = {}
        #: Content hash -> occurrences so far (blank Crime IDs).
        self.anon: dict[int, int] = {}
        #: The 64-bit keys (:func:`geosafe._siphash.hash_array`) of every id in
        #: :attr:`current`, while each chunk comes with them and no store is looked up: an
        #: id's membership is then tested on its key (exactly only on a hit). Sorted, as
        #: an array (a set of Python ints held ~50 MB more at a million rows).
        self._keys: np.ndarray | None = np.empty(0, np.uint64) if lookup is None else None
        #: While :attr:`_keys` serves, the ids met once are not put in :attr:`current` (a
        #: dict of a million str held ~70 MB and took ~0.3 s to fill): each chunk's ids
        #: stay in :attr:`_seen_ids`, found through their keys, sorted in :attr:`_pkeys`
        #: with their positions in :attr:`_ppos`.
        self._seen_ids: list[np.ndarray] = []
        self._pkeys = np.empty(0, np.uint64)
        self._ppos = np.empty(0, np.int64)

    def _get(self, ref: str, key: int | None = None) -> tuple[int, float, bool, int] | None:
        """The current version of a Crime ID, if known (``key``: its 64-bit key, which finds
        an id met once while :attr:`_keys` serves)."""
        v = self.current.get(ref)
        if v is None and key is not None and self._seen_ids:
            v = self._position(ref, key)
        if v is None or isinstance(v, tuple):
            return v
        k = bisect.bisect_right(self._bases, v) - 1
        h, m, located, rows = self._seen[k]
        j = v - self._bases[k]
        return (int(h[j]), float(m[j]), bool(located[j]), int(rows[j]))

    def _position(self, ref: str, key: int) -> int | None:
        """The position in :attr:`_seen` of an id met once (kept by key), if it was."""
        lo, hi = (
            np.searchsorted(self._pkeys, np.uint64(key), side="left"),
            np.searchsorted(self._pkeys, np.uint64(key), side="right"),
        )
        for v in self._ppos[lo:hi].tolist():  # equal keys: the id itself decides
            k = bisect.bisect_right(self._bases, v) - 1
            if self._seen_ids[k][v - self._bases[k]] == ref:
                return int(v)
        return None

    def _ids_to_dict(self) -> None:
        """Put the ids kept by key into :attr:`current` (a chunk came without keys)."""
        for k, ids in enumerate(self._seen_ids):
            base = self._bases[k]
            for j, ref in enumerate(ids.tolist()):
                self.current.setdefault(ref, base + j)
        self._seen_ids = []
        self._pkeys, self._ppos = np.empty(0, np.uint64), np.empty(0, np.int64)

    def _load(self, ids: list[str]) -> None:
        if self.lookup is None or not ids:
            return
        # history first, the current version last (a stable sort)
        for rec_id, source_ref, row_hash, t_from, current, located in sorted(
            _records(self.lookup(ids)), key=lambda r: r[4]
        ):
            ref = str(source_ref)
            version = _Version(int(row_hash), float(t_from), bool(located), int(rec_id))
            old = self._get(ref)
            if old is not None:
                self.hashes.setdefault(ref, {old[0]}).add(version.hash)
            if current == 1 or old is None:
                self.current[ref] = version

    def apply(
        self,
        ids: np.ndarray,
        hashes: np.ndarray,
        months: np.ndarray,
        located: np.ndarray,
        rows_no: np.ndarray,
        verdicts: Verdicts,
        *,
        keys: np.ndarray | None = None,
    ) -> Deduped:
        """Decide each good row's ref and whether it is current; quarantine exact repeats
        (``duplicate_row``) in ``verdicts``. ``keys``, a 64-bit hash of each id when the
        caller has one, finds repeated ids faster."""
        n = len(ids)
        out = Deduped(refs=ids.copy(), current=np.ones(n, dtype=np.int8))
        has_id = verdicts.ok & (ids != "")
        if self.lookup is not None:  # store versions of the ids in this chunk not yet known
            self._load([i for i in dict.fromkeys(ids[has_id].tolist()) if i not in self.current])
        if keys is None:
            self._keys = None
            self._ids_to_dict()
        by_key = self._keys is not None and keys is not None
        # the chunk's keys sorted once (stable): every test below reads them in order
        order = None if keys is None else np.argsort(keys.astype(np.uint64), kind="stable")
        ranked = None if keys is None else keys.astype(np.uint64)[order]
        if not self.current and not self._seen_ids:
            known = np.zeros(n, bool)
        elif by_key:
            assert self._keys is not None and keys is not None
            known = np.empty(n, bool)
            known[order] = _sorted_contains(self._keys, ranked)  # type: ignore[arg-type]
            for i in np.flatnonzero(known):  # a key met before: the id itself decides
                known[i] = self._get(ids[i], int(keys[i])) is not None
        else:
            known = np.fromiter(map(self.current.__contains__, ids), dtype=bool, count=n)
        repeated = _repeated(ids, None if order is None or ranked is None else (order, ranked))
        cand = has_id & (known | repeated)
        simple = has_id & ~cand
        first = ids[simple]
        base = self._bases[-1]
        self._seen.append((hashes[simple], months[simple], located[simple], -rows_no[simple]))
        self._bases.append(base + len(first))
        if by_key:
            assert order is not None and ranked is not None
            in_order = simple[order]  # the simple rows in key order (stable)
            position = (np.cumsum(simple) - 1)[order[in_order]]
            self._keep_by_key(first, ranked[in_order], base + position)
        else:
            self.current.update(zip(first.tolist(), range(base, base + len(first)), strict=True))
        for i in np.flatnonzero(cand):
            key = int(keys[i]) if by_key and keys is not None else None
            self._one(int(i), ids[i], hashes, months, located, rows_no, verdicts, out, key)
        if self._keys is not None and ranked is not None:  # every id with a ref is current
            assert order is not None
            self._keys = _merged(self._keys, ranked[has_id[order]])
        self._anonymous(ids, hashes, verdicts, out)
        return out

    def _one(
        self,
        i: int,
        ref: str,
        hashes: np.ndarray,
        months: np.ndarray,
        located: np.ndarray,
        rows_no: np.ndarray,
        verdicts: Verdicts,
        out: Deduped,
        key: int | None = None,
    ) -> None:
        new = _Version(int(hashes[i]), float(months[i]), bool(located[i]), -int(rows_no[i]))
        known = self._get(ref, key)
        if known is None:
            self.current[ref] = new
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
            self.current[ref] = new
        else:
            out.current[i] = 0

    def _keep_by_key(self, first: np.ndarray, ranked: np.ndarray, positions: np.ndarray) -> None:
        """Keep a chunk's ids met once (``first``) by their keys: ``ranked``, sorted (stable),
        and each one's position in :attr:`_seen`."""
        self._seen_ids.append(first)
        self._pkeys, self._ppos = _merged_with(
            self._pkeys, ranked, self._ppos, positions.astype(np.int64)
        )

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
        found = {str(r[1]) for r in _records(self.lookup(anon_refs))}
        for i in anon:
            if out.refs[i] in found:
                verdicts.code[i], verdicts.column[i] = "duplicate_row", "Crime ID"
                verdicts.reason[i] = (
                    "row (blank Crime ID) is identical to one already imported; nothing to do."
                )


def _records(found: Any) -> list[tuple[Any, ...]]:
    """A lookup's answer as ``(id, source_ref, row_hash, occurred_from, current, located)``
    tuples (it may be a DataFrame with those columns)."""
    if hasattr(found, "itertuples"):
        cols = ["id", "source_ref", "row_hash", "occurred_from", "current", "located"]
        return list(found[cols].itertuples(index=False, name=None))
    return list(found)


def _repeated(ids: np.ndarray, sorted_keys: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Which ids occur more than once in the chunk (every occurrence). ``sorted_keys`` (the
    order that sorts a 64-bit hash per id, and the hashes in that order) narrows the exact
    comparison to ids whose hash repeats."""
    n = len(ids)
    if sorted_keys is None:
        cand = np.ones(n, dtype=bool)
    else:
        order, ranked = sorted_keys
        same = ranked[1:] == ranked[:-1]
        again = np.zeros(n, dtype=bool)
        again[1:] |= same
        again[:-1] |= same
        cand = np.empty(n, dtype=bool)
        cand[order] = again
        if not cand.any():
            return cand
    sub: Sequence[str] = ids[cand].tolist()
    seen = Counter(sub)
    out = np.zeros(n, dtype=bool)
    out[cand] = np.fromiter((seen[v] > 1 for v in sub), dtype=bool, count=len(sub))
    return out


def _merged(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Two sorted arrays merged into one sorted array, equal keys of ``old`` first (as a
    stable sort of the two would order them), in linear time (a sort of the whole grew with
    every chunk)."""
    at, rest = _merge_slots(old, new)
    out = np.empty(len(rest), dtype=old.dtype)
    out[at], out[rest] = new, old
    return out


def _merged_with(
    old: np.ndarray, new: np.ndarray, old_with: np.ndarray, new_with: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_merged`, and values carried along with the keys merged the same way."""
    at, rest = _merge_slots(old, new)
    out = np.empty(len(rest), dtype=old.dtype)
    out[at], out[rest] = new, old
    carried = np.empty(len(rest), dtype=old_with.dtype)
    carried[at], carried[rest] = new_with, old_with
    return out, carried


def _merge_slots(old: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``new`` goes in the merge, and a mask of the slots ``old`` fills."""
    at = np.searchsorted(old, new, side="right") + np.arange(len(new))
    rest = np.ones(len(old) + len(new), dtype=bool)
    rest[at] = False
    return at, rest


def _sorted_contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Whether each of ``keys`` is in the sorted array ``sorted_keys``."""
    keys = keys.astype(np.uint64, copy=False)
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys  # type: ignore[no-any-return]
