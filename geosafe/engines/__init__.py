"""Engines that run the analyses of :mod:`geosafe.hotspots` somewhere other than this process.

``dask``: the same analyses on a dask.distributed cluster (a scheduler address, or a local
cluster started and stopped around the work), for data sets that do not fit one process.
Imported lazily: ``from geosafe.engines import dask as dask_engine``.
"""

from __future__ import annotations

ENGINES = ("local", "dask")

__all__ = ["ENGINES"]
