"""The ref rule keeping ids met once by their 64-bit keys (no dict of every Crime ID) decides
exactly as the plain dict of ids: random chunks with repeats within and across chunks,
updates, exact duplicates, blank ids, and keys that collide on purpose (sixth wave)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from geosafe._siphash import hash_array
from geosafe.sources._police_refs import Deduper
from geosafe.sources._verdicts import Verdicts


def _chunks(seed: int, n_chunks: int, size: int) -> list[dict[str, np.ndarray]]:
    rng = random.Random(seed)
    out = []
    row = 1
    for _ in range(n_chunks):
        ids = [
            rng.choice(["", f"id{rng.randint(0, 3 * size)}"])
            if rng.random() < 0.1
            else f"id{rng.randint(0, 3 * size)}"
            for _ in range(size)
        ]
        out.append(
            {
                "ids": np.asarray(ids, dtype=object),
                # few distinct contents: exact repeats happen
                "hashes": np.asarray([rng.randint(0, 5) for _ in ids], dtype=np.int64),
                "months": np.asarray([float(rng.randint(0, 3)) for _ in ids]),
                "located": np.asarray([rng.random() < 0.8 for _ in ids]),
                "rows_no": np.arange(row, row + size, dtype=np.int64),
                "bad": np.asarray([rng.random() < 0.05 for _ in ids]),
            }
        )
        row += size
    return out


Keys = Callable[[int, np.ndarray], np.ndarray | None]


def _run(chunks: list[dict[str, np.ndarray]], keys_of: Keys | None) -> list[tuple[Any, ...]]:
    """Each chunk's decisions: refs, current, updates, superseded rows, verdicts."""
    dedupe = Deduper(None)
    decided: list[tuple[Any, ...]] = []
    for k, c in enumerate(chunks):
        verdicts = Verdicts.none(len(c["ids"]))
        verdicts.flag(c["bad"], "bad", None, "bad row")
        keys = None if keys_of is None else keys_of(k, c["ids"])
        out = dedupe.apply(
            c["ids"], c["hashes"], c["months"], c["located"], c["rows_no"], verdicts, keys=keys
        )
        decided.append(
            (
                out.refs.tolist(),
                out.current.tolist(),
                out.updated,
                out.located_preferred,
                sorted(out.supersede_rows),
                verdicts.code.tolist(),
            )
        )
    return decided


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    "keys_of",
    [
        lambda _, ids: hash_array(ids.tolist()),  # the real keys
        lambda _, ids: hash_array(ids.tolist()) % np.uint64(7),  # nearly every key collides
    ],
    ids=["siphash", "colliding"],
)
def test_keys_decide_as_the_dict_of_ids(seed: int, keys_of: Keys) -> None:
    chunks = _chunks(seed, n_chunks=6, size=200)
    expected = _run(chunks, None)
    got = _run(chunks, keys_of)
    assert got == expected
    assert sum(d[2] for d in expected) > 0  # updates happened
    assert any("duplicate_row" in d[5] for d in expected)


def test_a_chunk_without_keys_switches_to_the_dict() -> None:
    """Chunks with keys, then one without (ids that needed stripping): the ids kept by key
    move to the dict and later chunks still find them."""
    chunks = _chunks(11, n_chunks=5, size=150)
    got = _run(chunks, lambda k, ids: None if k == 2 else hash_array(ids.tolist()))
    assert got == _run(chunks, None)
