"""The ``geosafe`` command line: a thin layer that parses, calls the library and formats.

Each concern registers its own subcommands from its own module (``cli/ingest.py``,
``cli/hotspots.py``, ``cli/journeys.py``, ``cli/service.py``, ``cli/access.py``,
``cli/demo.py``). A subcommand handler returns the process exit code.

Exit codes: 0 done, 2 unusable input or bad arguments (message on stderr), 1 unexpected error.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import Final, NoReturn

from .._errors import GeosafeError

__all__ = ["main", "run"]

log = logging.getLogger(__name__)

_COMMAND_MODULES = (
    "ingest",
    "synth",
    "hotspots",
    "gtfs",
    "journeys",
    "rolls",
    "service",
    "access",
    "demo",
    "area",
    "profile",
    "places",
    "interventions",
    "safe_places",
    "archive",
)


#: Commands whose module is known without importing every command module: running one of
#: them imports only its own module (an import must not pay for geopandas and the analyses).
_COMMAND_OF: Final = {name: "ingest" for name in ("import", "quarantine", "batch", "template")}
_COMMAND_OF["import-archive"] = "archive"
# the server imports only what it serves (its layers are built in a child process)
_COMMAND_OF["serve"] = "service"

#: OpenBLAS (numpy's wheels) starts a thread per core when numpy loads, which then spins
#: waiting for work for a while: ~60 ms of CPU in a 10,000-row import on two cores, and that
#: much wall time when the other core is busy. These commands make no BLAS call (no matrix
#: product, no linear algebra): one thread is enough. A value the user set is kept.
_NO_BLAS_COMMANDS: Final = frozenset(_COMMAND_OF) - {"serve"}


def _one_blas_thread(command: str | None) -> None:
    """``OPENBLAS_NUM_THREADS=1`` for :data:`_NO_BLAS_COMMANDS`, before numpy loads (it has
    no effect after; the setting is inherited by the processes the command starts)."""
    if command in _NO_BLAS_COMMANDS and "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand (only ``command``'s module's
    when :data:`_COMMAND_OF` knows it)."""
    parser = argparse.ArgumentParser(
        prog="geosafe",
        description="Hotspot and journey-risk mapping for contextual safeguarding.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    modules = (_COMMAND_OF[command],) if command in _COMMAND_OF else _COMMAND_MODULES
    for name in modules:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    _add_area_option(sub)
    return parser


def _add_area_option(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``--area DIR`` on every command (sets ``GEOSAFE_AREA`` for the run)."""
    seen: set[int] = set()
    todo = list(sub.choices.values())
    while todo:
        p = todo.pop()
        if id(p) in seen:
            continue
        seen.add(id(p))
        nested = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        for a in nested:
            todo.extend(a.choices.values())
        if not nested and not any("--area" in a.option_strings for a in p._actions):
            p.add_argument(
                "--area",
                dest="area_dir",
                metavar="DIR",
                help="area folder built by `geosafe area build` (default GEOSAFE_AREA, else the bundled data)",
            )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` (default ``sys.argv[1:]``) and return its exit code (what
    :func:`run`, the ``geosafe`` console script, exits with)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    _one_blas_thread(first)
    parser = build_parser(first)
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.captureWarnings(True)
    if getattr(args, "area_dir", None):
        os.environ["GEOSAFE_AREA"] = str(args.area_dir)
    try:
        code: int = args.func(args)
    except GeosafeError as exc:
        print(f"geosafe {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # the command's own cleanup has run (an import has aborted its batch)
        print(f"geosafe {args.command}: interrupted.", file=sys.stderr)
        return 130  # 128 + SIGINT, as a shell reports it
    except BrokenPipeError:
        # The reader of stdout went away (`geosafe quarantine ... | head`): stop quietly, and
        # point stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        # stdout replaced by an object without a file descriptor (tests): nothing to redirect
        with contextlib.suppress(AttributeError, OSError, ValueError):
            os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports a process killed by a closed pipe
    return code


def run() -> NoReturn:
    """The ``geosafe`` console script and ``python -m geosafe``: :func:`main`, then exit with
    its code.

    The process ends here, so the interpreter's last garbage collections, which walk every
    object it still holds (numpy's, shapely's, h3's and the command's: ~20-30 ms of CPU at
    the end of a 10,000-row import), are skipped by freezing those objects first: the
    operating system takes the memory back. Everything else of a normal exit still happens
    (other threads joined, ``atexit`` handlers, modules cleared, streams flushed); a command
    closes its stores and files itself (the import: the store with its checkpoint, and the
    audit log) before :func:`main` returns."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
