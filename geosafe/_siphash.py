"""pandas' 64-bit hash of text (``pandas.util.hash_array(values, categorize=False)``) in
numpy alone, bit for bit: SipHash-2-4 of each value's UTF-8 bytes under pandas' fixed key,
then pandas' mixing step.

The store keys refs (``ref_key``), identifies rows (``row_hash``) and shared detail texts
(``details.id``) by this hash, and stores written before this module existed hold pandas'
values: an import that does not load pandas must give the same numbers. The rounds run
vectorised over values of equal byte length, in slices that stay in the CPU cache.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from ._numpy import distinct

__all__ = ["hash_array", "hash_fixed_width"]

_U: Final = np.uint64
#: pandas' ``_default_hash_key``, as SipHash's two 64-bit key words.
_KEY: Final = b"0123456789123456"
_K0: Final = int.from_bytes(_KEY[:8], "little")
_K1: Final = int.from_bytes(_KEY[8:], "little")
_INIT: Final = (
    _K0 ^ 0x736F6D6570736575,
    _K1 ^ 0x646F72616E646F6D,
    _K0 ^ 0x6C7967656E657261,
    _K1 ^ 0x7465646279746573,
)
_SHIFTS: Final = {b: (_U(b), _U(64 - b)) for b in (13, 16, 17, 21, 32)}
#: Values hashed together: eight arrays of this many words stay in the L2 cache.
_SLICE: Final = 16384


def _siphash_blocks(blocks: npt.NDArray[np.uint64], out: npt.NDArray[np.uint64]) -> None:
    """SipHash-2-4 of rows of 64-bit message words (the last word already holding the
    length byte), written to ``out``."""
    n = blocks.shape[0]
    v0, v1, v2, v3 = (np.full(n, _U(k)) for k in _INIT)
    tmp = np.empty(n, dtype=_U)

    def rotl(x: npt.NDArray[np.uint64], bits: int) -> None:
        left, right = _SHIFTS[bits]
        np.right_shift(x, right, out=tmp)
        np.left_shift(x, left, out=x)
        np.bitwise_or(x, tmp, out=x)

    def sipround() -> None:
        v0.__iadd__(v1)
        rotl(v1, 13)
        v1.__ixor__(v0)
        rotl(v0, 32)
        v2.__iadd__(v3)
        rotl(v3, 16)
        v3.__ixor__(v2)
        v0.__iadd__(v3)
        rotl(v3, 21)
        v3.__ixor__(v0)
        v2.__iadd__(v1)
        rotl(v1, 17)
        v1.__ixor__(v2)
        rotl(v2, 32)

    for b in range(blocks.shape[1]):
        m = np.ascontiguousarray(blocks[:, b])
        v3 ^= m
        sipround()
        sipround()
        v0 ^= m
    v2 ^= _U(0xFF)
    for _ in range(4):
        sipround()
    np.bitwise_xor(v0, v1, out=out)
    out ^= v2
    out ^= v3


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """pandas' redistribution of the 64-bit hashes (``_hash_ndarray``), in place."""
    values ^= values >> _U(30)
    values *= _U(0xBF58476D1CE4E5B9)
    values ^= values >> _U(27)
    values *= _U(0x94D049BB133111EB)
    values ^= values >> _U(31)
    return values


def hash_fixed_width(data: bytes, width: int, count: int | None = None) -> npt.NDArray[np.uint64]:
    """:func:`hash_array` of ``count`` values (default ``len(data) // width``) of ``width``
    UTF-8 bytes each, given concatenated (a column of equal-length ids joined without
    copying them into Python strings)."""
    n = count if count is not None else len(data) // width if width else 0
    words = width // 8 + 1
    buf = np.zeros((n, words * 8), dtype=np.uint8)
    if width and n:
        buf[:, :width] = np.frombuffer(data, dtype=np.uint8, count=n * width).reshape(n, width)
    buf[:, words * 8 - 1] = width & 0xFF
    blocks = buf.view("<u8")
    out = np.empty(n, dtype=_U)
    for s in range(0, n, _SLICE):
        _siphash_blocks(blocks[s : s + _SLICE], out[s : s + _SLICE])
    return _mix(out)


def _hash_varying(data: list[bytes], lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """:func:`hash_array` of values of one word count (``len // 8 + 1``) but of varying
    byte lengths: each padded with zeros, its length in its last byte."""
    n = len(data)
    words = int(lengths[0]) // 8 + 1
    buf = np.zeros((n, words * 8), dtype=np.uint8)
    total = int(lengths.sum())
    if total:
        starts = np.cumsum(lengths) - lengths
        rows = np.repeat(np.arange(n), lengths)
        cols = np.arange(total) - np.repeat(starts, lengths)
        buf[rows, cols] = np.frombuffer(b"".join(data), dtype=np.uint8)
    buf[:, words * 8 - 1] = (lengths & 0xFF).astype(np.uint8)
    blocks = buf.view("<u8")
    out = np.empty(n, dtype=_U)
    for s in range(0, n, _SLICE):
        _siphash_blocks(blocks[s : s + _SLICE], out[s : s + _SLICE])
    return _mix(out)


def hash_array(values: Sequence[str] | Iterable[str]) -> npt.NDArray[np.uint64]:
    """``pandas.util.hash_array(np.asarray(values, dtype=object), categorize=False)`` for
    text values (values of one word count hashed together).

    Raises
    ------
    UnicodeEncodeError
        A value holds a lone surrogate (pandas raises the same).
    """
    data = [v.encode("utf-8") for v in values]
    lengths = np.fromiter(map(len, data), dtype=np.int64, count=len(data))
    if not len(data):
        return np.empty(0, dtype=_U)
    if (lengths == lengths[0]).all():
        return hash_fixed_width(b"".join(data), int(lengths[0]), len(data))
    words = lengths // 8
    out = np.empty(len(data), dtype=_U)
    for w in distinct(words).tolist():
        idx = np.flatnonzero(words == w)
        out[idx] = _hash_varying([data[i] for i in idx], lengths[idx])
    return out
