"""A bulk load's staged rows written by a second process (:class:`BackgroundWriter`).

A large police.uk import spends about a third of its time binding row values and stepping
SQLite (:func:`~geosafe.store._sqlite_rows.insert_rows`): Python's ``sqlite3`` holds the GIL
to bind each value and releases it for each step, so a thread beside the checks only
contends (measured: a million inserts took 27.7 s beside a busy thread against 2.9 s alone;
docs/notes/perf.md). A process has its own interpreter: it receives each chunk's staged rows
(numpy arrays, pickled), writes them in its own transaction on its own connection, and
answers; the importing process meanwhile checks the next chunk.

Nothing else changes: each chunk is still one transaction of a ``staging`` batch, invisible
until the importing process commits the batch, which it does only after every chunk is
written (:meth:`BackgroundWriter.flush`). The writer is a fresh interpreter running this
module (not ``multiprocessing``'s spawn, which imports the caller's main script again in the
child), talking over a socket pair. It dies with the importing process
(``PR_SET_PDEATHSIG`` on Linux; elsewhere it stops when its pipe closes), so a killed import
leaves a ``staging`` batch of a dead pid, which the next writer recovers as before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._errors import StoreError

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from ..incident import StagedRows

__all__ = ["BackgroundWriter"]

log = logging.getLogger(__name__)

#: Chunks sent and not yet written before :meth:`BackgroundWriter.put` waits (each is ~50 MB
#: of arrays at 100,000 police.uk rows).
DEPTH: Final = 2


class BackgroundWriter:
    """Write staged rows into a SQLite store from a second process, in order.

    Parameters
    ----------
    path
        The store's file (its schema made, its batch begun, by the calling process).
    timeout_s
        How long the writer waits for another writer's lock, seconds.
    pragmas
        Statements run on the writer's connection when it opens (the store's own).
    """

    def __init__(self, path: Path, *, timeout_s: float, pragmas: tuple[str, ...]) -> None:
        import json
        import socket
        import subprocess
        from multiprocessing.connection import Connection

        # a fresh interpreter running this module, not multiprocessing's spawn: that would
        # import the caller's main script again in the child (a script without a
        # ``__main__`` guard would run twice). A socket pair, as multiprocessing's own
        # duplex pipe: its buffers pass a 50 MB chunk in far fewer switches than a pipe's
        ours, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parents[2])
        code = f"import sys; sys.path.insert(0, {root!r}); from {__name__} import _main; _main()"
        args = [str(path), repr(float(timeout_s)), json.dumps(list(pragmas)), str(os.getpid())]
        self._process = subprocess.Popen(
            [sys.executable, "-c", code, *args, str(theirs.fileno())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # nothing the writer prints reaches the command's output
            pass_fds=(theirs.fileno(),),
        )
        theirs.close()
        self._conn = Connection(ours.detach())
        self._pending = 0
        self._broken: str | None = None

    def put(self, kind: str, batch_id: int, payload: Any) -> None:
        """Send ``("rows", batch, StagedRows)``, ``("quarantine", batch, (source, records))``
        or ``("indexes", batch, statements)`` (a bulk load's deferred indexes, built after
        what was sent before while the importing process makes the published counts:
        :func:`~geosafe.store._sqlite_rows.build_indexes`); waits while :data:`DEPTH`
        messages are still being written."""
        self._check()
        try:
            self._conn.send((kind, batch_id, payload))
        except (BrokenPipeError, OSError):
            self._gone()
        self._pending += 1
        while self._pending > DEPTH:
            self._answer()

    def flush(self) -> None:
        """Wait until every chunk sent is written (and committed); raise what failed."""
        self._check()
        while self._pending:
            self._answer()

    def close(self) -> None:
        """Stop the writer (after what it was sent) and reap it."""
        import subprocess

        with contextlib.suppress(BrokenPipeError, OSError):
            self._conn.send(None)
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a writer stuck in SQLite
            self._process.kill()
            self._process.wait()
        self._conn.close()

    def _answer(self) -> None:
        try:
            reply = self._conn.recv()
        except (EOFError, OSError):
            self._gone()
        self._pending -= 1
        if reply[0] != "ok":
            self._fail(str(reply[1]))

    def _check(self) -> None:
        if self._broken is not None:
            raise StoreError(self._broken)

    def _gone(self) -> None:
        import subprocess

        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)
        self._fail(
            f"the writer process ended unexpectedly (exit code {self._process.returncode!r})"
        )

    def _fail(self, why: str) -> None:
        self._broken = f"writing the staged rows failed: {why}; nothing of this batch is kept."
        self._pending = 0
        raise StoreError(self._broken)


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this process when the importing one exits."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl
            return
    if os.getppid() != parent:  # the parent exited before the line above
        os._exit(1)


def _main() -> None:
    """The writer process's entry (``sys.argv``: store, timeout, pragmas as JSON, the parent's
    pid, the socket's descriptor)."""
    import json
    from multiprocessing.connection import Connection

    path, timeout_s, pragmas, parent, fd = sys.argv[1:6]
    conn = Connection(int(fd))
    _serve(path, float(timeout_s), tuple(json.loads(pragmas)), conn, conn, int(parent))


def _serve(
    path: str,
    timeout_s: float,
    pragmas: tuple[str, ...],
    incoming: Connection,
    outgoing: Connection,
    parent: int,
) -> None:
    """The writer process: one transaction per message, an answer per message."""
    import signal

    _die_with_parent(parent)
    # Ctrl-C reaches the whole process group: the importing process decides (it aborts the
    # batch and stops this one), so no second traceback comes from here
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .._sqlite import immediate
    from ._sqlite_rows import build_indexes, insert_rows

    db = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
    for statement in pragmas:
        db.execute(statement)
    # detail texts found shared in ``details`` by this writer's chunks (committed with them):
    # the next chunks repeat most of them
    known: dict[str, int] = {}
    try:
        while True:
            try:
                message = incoming.recv()
            except (EOFError, OSError):
                return
            if message is None:
                return
            kind, batch_id, payload = message
            try:
                if kind == "indexes":
                    build_indexes(db, payload)
                    outgoing.send(("ok",))
                    continue
                try:
                    with immediate(db):
                        if kind == "rows":
                            rows: StagedRows = payload
                            insert_rows(db, batch_id, rows, known)
                        else:
                            from ._common import QUARANTINE_INSERT, quarantine_values

                            source, records = payload
                            db.executemany(
                                QUARANTINE_INSERT.format(batch=int(batch_id)),
                                quarantine_values(source, records),
                            )
                except BaseException:
                    known.clear()  # texts of the rolled-back transaction may be among them
                    raise
            except Exception as exc:  # reported to the importing process, which aborts
                outgoing.send(("error", f"{type(exc).__name__}: {exc}"))
                continue
            outgoing.send(("ok",))
    finally:
        db.close()
        incoming.close()
        if outgoing is not incoming:
            outgoing.close()
