"""A module imported on first attribute access (:class:`LazyModule`), for modules the serving
process imports for one light function while their heavy library serves the rest: ``pd =
LazyModule("pandas")`` loads pandas the first time ``pd.Timestamp`` is read, not at import.
``sys.modules`` is left alone, so ``"pandas" in sys.modules`` stays true only once it is
really loaded."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["LazyModule"]


class LazyModule:
    """A stand-in for module ``name``, importing it on first attribute access."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded yet"
        return f"<lazy module {self._name!r} ({state})>"
