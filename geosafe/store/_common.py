"""What the SQLite and the PostGIS store share: the batch and quarantine records, and the reads
written once in SQL both dialects run (``?`` placeholders, through each store's
:meth:`~geosafe.store.base.IncidentStore.query`).

:class:`CommonReads` is a mixin: batch records (:meth:`~CommonReads.find_batch`,
:meth:`~CommonReads.batches`, :meth:`~CommonReads.batch`), :meth:`~CommonReads.has_source`,
:meth:`~CommonReads.counts`, :meth:`~CommonReads.quarantine` and the filters of
``incidents()`` (:meth:`~CommonReads._incident_filters`); a store gives ``query`` and, where
its dialect differs, :meth:`~CommonReads._bbox_filter`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from .._errors import NotFoundError, StoreError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["QUARANTINE_INSERT", "Batch", "CommonReads", "QuarantineRecord", "quarantine_values"]

#: Rows of committed batches only: staged rows stay invisible to every read.
_VISIBLE: Final = "batch_id IN (SELECT batch_id FROM batches WHERE status = 'committed')"
#: The counts a batch records.
_COUNTS: Final = ("rows", "accepted", "quarantined", "no_location", "updated")
#: The columns of ``batches`` (the same on both backends), in :class:`Batch` order.
_BATCH_COLUMNS: Final = (
    "batch_id",
    "source",
    "file_name",
    "file_sha256",
    "status",
    *_COUNTS,
    "reasons",
    "started_at",
    "finished_at",
    "rolled_back_at",
    "extra",
)


@dataclass(frozen=True, slots=True)
class Batch:
    """One import batch as recorded in the store."""

    batch_id: int
    source: str
    file_name: str | None
    file_sha256: str
    status: str
    rows: int
    accepted: int
    quarantined: int
    no_location: int
    updated: int
    reasons: dict[str, int]
    started_at: str
    finished_at: str | None
    rolled_back_at: str | None
    #: What else the import said: ``options`` (the reading settings it used),
    #: ``located_preferred``, ``ignored_columns``.
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """One quarantined input row: ``row`` its number among the data rows (header and blank
    lines not counted), ``line`` the line of the file it starts on (the header's counted;
    the row of a sheet), where an editor shows it; ``None`` for a batch imported before
    lines were kept."""

    batch_id: int
    row: int
    column: str | None
    reason_code: str
    reason: str
    source: str | None
    raw: dict[str, str]
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``geosafe quarantine --format json`` object."""
        return {
            "batch_id": self.batch_id,
            "row": self.row,
            "column": self.column,
            "reason_code": self.reason_code,
            "reason": self.reason,
            "line": self.line,
        }


#: Writes one quarantine record ``(source, row, column, reason_code, reason, ref, raw,
#: line)`` of a batch (SQLite; ``{batch}`` formatted in).
QUARANTINE_INSERT: Final = (
    "INSERT INTO quarantine (batch_id, source, row_no, col, reason_code, reason, ref, raw, "
    "line_no) VALUES ({batch}, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def quarantine_values(source: str, records: Iterable[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
    """``(source, row, column, reason_code, reason, ref, raw_json, line)`` per record
    ``(row, column, reason_code, reason, ref, raw_json[, line])`` (no line: ``None``)."""
    for r in records:
        yield (source, *r[:7], *([None] * (7 - len(r))))


def _utcnow() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _epoch(value: pd.Timestamp | str) -> float:
    import pandas as pd

    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("Europe/London")
    return ts.timestamp()


def _record(row: Sequence[Any]) -> Batch:
    """A :class:`Batch` from a row of :data:`_BATCH_COLUMNS`."""
    rec = dict(zip(_BATCH_COLUMNS, row, strict=True))
    counts = {k: int(rec[k] or 0) for k in _COUNTS}
    return Batch(
        batch_id=int(rec["batch_id"]),
        source=rec["source"],
        file_name=rec["file_name"],
        file_sha256=rec["file_sha256"],
        status=rec["status"],
        **counts,
        reasons=json.loads(rec["reasons"] or "{}"),
        started_at=rec["started_at"],
        finished_at=rec["finished_at"],
        rolled_back_at=rec["rolled_back_at"],
        extra=json.loads(rec["extra"] or "{}"),
    )


class CommonReads:
    """Reads both stores answer with the same SQL (see the module docstring)."""

    def query(
        self, sql: str, params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:  # pragma: no cover
        raise NotImplementedError

    def recover(self) -> list[int]:  # pragma: no cover
        raise NotImplementedError

    # ---------------------------------------------------------------------------- batches

    def _batches(self, where: str, params: Sequence[Any] = ()) -> list[Batch]:
        sql = f"SELECT {', '.join(_BATCH_COLUMNS)} FROM batches {where}"
        return [_record(r) for r in self.query(sql, params)]

    def find_batch(self, source: str, sha256: str) -> Batch | None:
        """The committed batch that imported these bytes for this source, if any."""
        got = self._batches(
            "WHERE source = ? AND file_sha256 = ? AND status = 'committed' "
            "ORDER BY batch_id LIMIT 1",
            (source, sha256),
        )
        return got[0] if got else None

    def batches(self, *, include_aborted: bool = False) -> list[Batch]:
        """Import batches, oldest first (staging and aborted ones only when asked)."""
        where = "" if include_aborted else "WHERE status IN ('committed', 'rolled_back')"
        return self._batches(f"{where} ORDER BY batch_id")

    def batch(self, batch_id: int) -> Batch:
        """One batch by id."""
        got = self._batches("WHERE batch_id = ?", (int(batch_id),))
        if not got:
            msg = f"batch {batch_id!r} does not exist; see `geosafe batch list`."
            raise NotFoundError(msg)
        return got[0]

    def _to_roll_back(self, batch_id: int) -> Batch:
        """The batch ``rollback`` removes (after recovering dead imports): committed ones only."""
        self.recover()
        batch = self.batch(batch_id)
        if batch.status != "committed":
            msg = f"batch {batch_id!r} is {batch.status!r}; only a committed batch can be rolled back."
            raise StoreError(msg)
        return batch

    # ---------------------------------------------------------------------------- reads

    def has_source(self, source: str) -> bool:
        """Whether any committed incident of this source exists."""
        sql = f"SELECT 1 FROM incidents WHERE source = ? AND {_VISIBLE} LIMIT 1"
        return bool(self.query(sql, (source,)))

    def counts(self) -> dict[str, int]:
        """Current committed incidents per source."""
        sql = f"SELECT source, COUNT(*) FROM incidents WHERE current = 1 AND {_VISIBLE} GROUP BY source"
        return {s: int(n) for s, n in self.query(sql)}

    def quarantine(self, batch_id: int | None = None) -> list[QuarantineRecord]:
        """Quarantined rows of committed (or rolled-back) batches, by batch and row."""
        sql = (
            "SELECT q.batch_id, q.row_no, q.col, q.reason_code, q.reason, q.source, q.raw, "
            "q.line_no "
            "FROM quarantine q JOIN batches b ON b.batch_id = q.batch_id "
            "WHERE b.status IN ('committed', 'rolled_back')"
        )
        params: tuple[Any, ...] = ()
        if batch_id is not None:
            self.batch(batch_id)
            sql += " AND q.batch_id = ?"
            params = (int(batch_id),)
        rows = self.query(sql + " ORDER BY q.batch_id, q.row_no", params)
        return [
            QuarantineRecord(
                int(b),
                int(r),
                c,
                code,
                reason,
                s,
                json.loads(raw or "{}"),
                None if line is None else int(line),
            )
            for b, r, c, code, reason, s, raw, line in rows
        ]

    def _bbox_filter(self, x0: float, y0: float, x1: float, y1: float) -> tuple[str, list[float]]:
        """Incidents whose bounds intersect the box (the stored bounds; PostGIS: its index)."""
        return "minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?", [x1, x0, y1, y0]

    def _incident_filters(
        self,
        sources: Sequence[str] | None,
        bbox: tuple[float, float, float, float] | None,
        start: pd.Timestamp | str | None,
        end: pd.Timestamp | str | None,
        with_location: bool,
        include_history: bool,
    ) -> tuple[str, list[Any]]:
        """The ``WHERE`` clause (``?`` placeholders) and parameters of ``incidents()``."""
        where = [_VISIBLE]
        params: list[Any] = []
        if not include_history:
            where.append("current = 1")
        if sources is not None:
            srcs = [s.replace("-", "_") for s in sources]
            where.append(f"source IN ({', '.join('?' * len(srcs))})" if srcs else "1 = 0")
            params.extend(srcs)
        if bbox is not None:
            sql, values = self._bbox_filter(*(float(v) for v in bbox))
            where.append(sql)
            params.extend(values)
        for bound, op in ((start, ">="), (end, "<")):
            if bound is not None:
                where.append(f"t_from {op} ?")
                params.append(_epoch(bound))
        if with_location:
            where.append("minx IS NOT NULL")
        return " AND ".join(where), params
