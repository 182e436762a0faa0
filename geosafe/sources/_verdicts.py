"""Per-row verdicts of a chunk of rows checked in bulk (vectorised readers)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Verdicts"]


@dataclass
class Verdicts:
    """Per row of a chunk, the first problem found: reason code, column and reason (``None``
    where the row is fine so far)."""

    code: np.ndarray
    column: np.ndarray
    reason: np.ndarray

    @classmethod
    def none(cls, n: int) -> Verdicts:
        """No problem yet for ``n`` rows."""
        return cls(*(np.full(n, None, dtype=object) for _ in range(3)))

    @property
    def ok(self) -> np.ndarray:
        """Rows without a problem."""
        return self.code == None  # noqa: E711

    def flag(
        self,
        mask: np.ndarray,
        code: str,
        column: str | None,
        template: str,
        values: np.ndarray | None = None,
    ) -> None:
        """Set the problem where ``mask`` and no earlier problem; ``{v}`` = ``values[i]``."""
        for i in np.flatnonzero(mask & self.ok):
            self.code[i], self.column[i] = code, column
            self.reason[i] = template.format(v=None if values is None else values[i])
