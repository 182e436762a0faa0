"""``--engine {local,dask}`` and ``--scheduler ADDRESS`` for the analysis commands.

With ``--engine dask`` the command's analysis runs on a dask.distributed cluster
(:mod:`geosafe.engines.dask`): the one at ``--scheduler``, or a local cluster of
``--workers`` worker processes started for the command and stopped after it. The incident
frame the command selected (same inputs, filters and exclusions as the local engine) is cut
into partitions that the workers analyse; the results equal the local engine's.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "add_engine_options",
    "backtest",
    "dbscan_function",
    "engine_client",
    "h3_counts",
    "partitions",
    "with_engine",
]

#: Rows per partition sent to a worker.
PARTITION_ROWS = 250_000


def add_engine_options(p: argparse.ArgumentParser) -> None:
    """Add ``--engine``, ``--scheduler`` and ``--workers`` to a subcommand."""
    p.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="where the analysis runs: this process (default) or a dask.distributed cluster",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="dask: scheduler address (tcp://HOST:PORT); default: a local cluster for this run",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        metavar="N",
        help="dask without --scheduler: worker processes of the local cluster (default 2)",
    )


def with_engine(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a command handler with ``args.dask_client`` set while it runs (``--engine dask``)."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        if getattr(args, "engine", "local") != "dask":
            args.dask_client = None
            return func(args)
        from .._errors import ValidationError
        from ..engines import dask as dask_engine

        if args.workers < 1:
            msg = f"`--workers` {args.workers!r} must be at least 1."
            raise ValidationError(msg)
        with dask_engine.connect(args.scheduler, n_workers=args.workers) as client:
            args.dask_client = client
            try:
                return func(args)
            finally:
                args.dask_client = None

    return run


def engine_client(args: argparse.Namespace) -> Any:
    """The dask client of this run, or None for the local engine."""
    return getattr(args, "dask_client", None)


def partitions(gdf: Any) -> list[Any]:
    """The frame cut into partitions of about :data:`PARTITION_ROWS` rows (at least 2)."""
    from ..engines import dask as dask_engine

    return dask_engine.frame_partitions(gdf, max(2, int(np.ceil(len(gdf) / PARTITION_ROWS))))


def h3_counts(args: argparse.Namespace, gdf: Any, **options: Any) -> Any:
    """:func:`geosafe.hotspots.h3grid.h3_counts` on the engine of this run."""
    client = engine_client(args)
    if client is None:
        from ..hotspots import h3grid

        return h3grid.h3_counts(gdf, **options)
    from ..engines import dask as dask_engine

    return dask_engine.h3_counts(client, partitions(gdf), **options)


def dbscan_function(args: argparse.Namespace) -> Callable[..., np.ndarray] | None:
    """The DBSCAN labeller of this run (None: the single-process one)."""
    client = engine_client(args)
    if client is None:
        return None
    from ..engines import dask as dask_engine

    return functools.partial(dask_engine.dbscan_labels, client)


def backtest(args: argparse.Namespace, gdf: Any, **options: Any) -> Any:
    """:func:`geosafe.hotspots.evaluate.backtest` on the engine of this run (one task per
    test month with dask)."""
    client = engine_client(args)
    if client is None:
        from ..hotspots import evaluate

        return evaluate.backtest(gdf, **options)
    from ..engines import dask as dask_engine

    return dask_engine.backtest(client, gdf, **options)
