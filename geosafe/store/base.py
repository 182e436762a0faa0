"""What every incident store provides: the interface ingest, publish, profile and the CLI use.

Two backends implement it: :class:`geosafe.store.sqlite.Store` (the embedded default, one
SQLite file) and :class:`geosafe.store.postgis.PostgisStore` (PostgreSQL + PostGIS for a
team's server). :func:`geosafe.store.open_store` picks one from ``--db`` / ``GEOSAFE_DB``.

Semantics every backend keeps
-----------------------------
- An import is one *batch*: :meth:`~IncidentStore.begin_batch` records it as ``staging``,
  :meth:`~IncidentStore.stage` / :meth:`~IncidentStore.stage_quarantine` write its rows
  (invisible to every read while staging), :meth:`~IncidentStore.commit_batch` makes it
  visible in one short transaction, :meth:`~IncidentStore.abort_batch` discards it.
- A batch whose importer died is aborted, its rows deleted, by the next write
  (:meth:`~IncidentStore.recover`); the importer's own batches are never recovered.
- Every version of an incident is kept; ``current`` marks the one analyses see, and a
  police.uk update makes the older one history (superseded by the updating batch).
- Times are UTC epoch seconds on disk; geometry EPSG:27700.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .sqlite import Batch, QuarantineRecord

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

__all__ = ["Batch", "IncidentStore", "QuarantineRecord"]


@runtime_checkable
class IncidentStore(Protocol):
    """The incident store interface (both backends)."""

    @property
    def target(self) -> str:
        """What the store was opened with: a file path or a ``postgresql://`` URL."""
        ...

    def close(self) -> None:
        """Close the store's connection."""
        ...

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: object) -> None: ...

    # -- batches (ingest) ------------------------------------------------------------------

    def find_batch(self, source: str, sha256: str) -> Batch | None:
        """The committed batch that imported these bytes for this source, if any."""
        ...

    def batches(self, *, include_aborted: bool = False) -> list[Batch]:
        """Import batches, oldest first."""
        ...

    def batch(self, batch_id: int) -> Batch:
        """One batch by id (:class:`geosafe.NotFoundError` when absent)."""
        ...

    def recover(self) -> list[int]:
        """Abort staging batches whose importer is gone; return their ids."""
        ...

    def begin_batch(self, source: str, sha256: str, *, file_name: str | None = None) -> int:
        """Record a new ``staging`` batch; return its id."""
        ...

    def defer_indexes(self, expected_rows: int, *, threshold: int | None = None) -> bool:
        """Before a bulk load into an empty store, drop indexes built again at the end."""
        ...

    def stage(self, batch_id: int, rows: pd.DataFrame) -> None:
        """Write rows (:data:`geosafe.incident.ROW_COLUMNS`) into a staging batch."""
        ...

    def stage_quarantine(
        self, batch_id: int, source: str, records: Iterable[tuple[Any, ...]]
    ) -> None:
        """Write quarantine records ``(row, column, reason_code, reason, ref, raw_json)``."""
        ...

    def mark_superseded(self, batch_id: int, row_numbers: Sequence[int]) -> None:
        """Inside a staging batch, mark rows (by data row number) as history."""
        ...

    def commit_batch(
        self,
        batch_id: int,
        counts: dict[str, int],
        reasons: dict[str, int],
        supersede: Sequence[int] = (),
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Make a staged batch visible in one short transaction."""
        ...

    def abort_batch(self, batch_id: int) -> None:
        """Discard a staging batch."""
        ...

    def rollback(self, batch_id: int) -> Batch:
        """Remove a committed batch's incidents; superseded versions become current again."""
        ...

    def has_source(self, source: str) -> bool:
        """Whether any committed incident of this source exists."""
        ...

    def versions(self, source: str, refs: Sequence[str]) -> pd.DataFrame:
        """Every committed version of these refs (``id``, ``source_ref``, ``row_hash``,
        ``occurred_from``, ``current``, ``located``)."""
        ...

    # -- reads (publish, profile, hotspots, CLI) -------------------------------------------

    def incidents(
        self,
        *,
        sources: Sequence[str] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        start: pd.Timestamp | str | None = None,
        end: pd.Timestamp | str | None = None,
        with_location: bool = True,
        include_history: bool = False,
    ) -> gpd.GeoDataFrame:
        """Current committed incidents (:data:`geosafe.incident.FRAME_COLUMNS`)."""
        ...

    def quarantine(self, batch_id: int | None = None) -> list[QuarantineRecord]:
        """Quarantined rows of committed (or rolled-back) batches."""
        ...

    def counts(self) -> dict[str, int]:
        """Current committed incidents per source."""
        ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement valid on both backends (``?`` placeholders)."""
        ...

    def state_token(self) -> Any:
        """A value that changes whenever what readers see may have changed."""
        ...

    # -- removal ---------------------------------------------------------------------------

    def erase(self, source: str, ref: str) -> list[str]:
        """Remove every trace of one source record; return where it was removed from."""
        ...

    def erase_person(self, person_key: str) -> int:
        """Remove every people link of one re-keyed person reference; return how many."""
        ...

    def purge(self, before: pd.Timestamp | str) -> int:
        """Delete incidents that ended before ``before``; return how many."""
        ...
