"""Layers built in a child process, so that the serving process stays small.

Building a layer needs pandas, geopandas and scipy (~70 MB resident once loaded, plus the
incident frame); serving one needs only its ready-serialised features and a few arrays
(:class:`geosafe.publish.layer.Layer`). A :class:`LayerBuilder` runs the builds in one child
process (``spawn``: a fresh interpreter, never a fork of a threaded server) holding its own
:class:`geosafe.publish.service.LayerService` on the same store; the layer comes back with its
frame packed (:meth:`Layer.packed`), and the service caches it as it cached its own builds.
The child exits after ``idle_s`` seconds without a build and its memory goes back to the
system; the next build starts a new one (about a second: the imports and the incident read).

Only the operations in :data:`geosafe.publish.operations.OPERATIONS` run in the child: each takes the child's service
first, and its arguments and result are pickled (parameters, the caller's principal, the
layer or the small answer). An exception raised in the child is raised again here with its
own type, so the API maps it to the same status as an in-process build.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from .operations import OPERATIONS, run

__all__ = ["BuilderConfig", "BuilderDiedError", "LayerBuilder", "builder_for"]

log = logging.getLogger(__name__)

_HEADER: Final = struct.Struct("!Q")


class BuilderDiedError(RuntimeError):
    """The builder's child process ended while a call was in progress."""


@dataclass(frozen=True)
class BuilderConfig:
    """What the child needs to open the same service: the bundled data, the store (a SQLite
    file or a PostGIS URL), the reader of the published aggregates, its cache size."""

    data_dir: Path
    store_path: Path | str
    reader_db: Path | str | None = None
    cache_size: int = 16


class LayerBuilder:
    """One child process building layers for a serving process.

    The child is ``python -c`` importing this module from the same ``geosafe`` package (never
    a fork of a threaded server, and never a re-import of the server's ``__main__``), talking
    over its standard input and output: length-prefixed pickles of ``(operation, args)`` and
    of ``(ok, result or exception)``. Calls are served one at a time, in order.

    Parameters
    ----------
    config
        The service the child opens (:class:`BuilderConfig`).
    idle_s
        Seconds without a call before the child exits (``0``: it stays until :meth:`close`).
    """

    def __init__(self, config: BuilderConfig, *, idle_s: float = 60.0) -> None:
        self.config = config
        self.idle_s = idle_s
        self._lock = threading.Lock()  # one call at a time; guards the child
        self._proc: subprocess.Popen[bytes] | None = None
        self._last = time.monotonic()
        self._timer: threading.Timer | None = None
        self.started = 0  # children started so far (a figure for tests and benchmarks)

    def call(self, operation: str, *args: Any) -> Any:
        """Run ``operation`` (a name in :data:`OPERATIONS`) in the child and return its
        result, or raise its exception; a child that died is replaced once and the call
        retried."""
        if operation not in OPERATIONS:
            msg = f"builder operation {operation!r} is unknown; use one of {', '.join(OPERATIONS)}."
            raise ValueError(msg)
        payload = pickle.dumps((operation, args), protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            for attempt in (1, 2):
                proc = self._child()
                try:
                    _send(proc.stdin, payload)  # type: ignore[arg-type]
                    ok, value = pickle.loads(_receive(proc.stdout))  # type: ignore[arg-type]
                    break
                except (BrokenPipeError, EOFError, OSError) as exc:
                    self._stop_child()
                    if attempt == 2:
                        msg = f"the layer builder process ended during {operation!r}: {exc}"
                        raise BuilderDiedError(msg) from exc
                    log.warning("the layer builder process ended; starting a new one")
            self._last = time.monotonic()
            self._arm_timer()
        if not ok:
            raise value
        return value

    @property
    def pid(self) -> int | None:
        """The child's process id, or ``None`` when none is running."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def close(self) -> None:
        """Stop the child (waits for a call in progress)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._stop_child()

    # -- the child's lifetime ---------------------------------------------------------------

    def _child(self) -> subprocess.Popen[bytes]:
        if self._proc is not None:
            if self._proc.poll() is None:
                return self._proc
            log.warning(
                "the layer builder process ended (%s); starting a new one", self._proc.returncode
            )
            self._stop_child()  # its pipes closed
        package = Path(__file__).resolve().parents[2]  # the folder holding this geosafe
        code = (
            f"import sys; sys.path.insert(0, {str(package)!r}); "
            "from geosafe.publish.builder import child_main; child_main()"
        )
        env = dict(os.environ, OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"))
        proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        _send(proc.stdin, pickle.dumps(self.config))  # type: ignore[arg-type]
        self._proc = proc
        self.started += 1
        log.info("layer builder process %d started (%d so far)", proc.pid, self.started)
        return proc

    def _stop_child(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()  # type: ignore[union-attr]
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _arm_timer(self) -> None:
        if self.idle_s <= 0:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(self.idle_s, self._stop_if_idle)
        self._timer.daemon = True
        self._timer.start()

    def _stop_if_idle(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # a call is in progress: it arms the timer again when it ends
        try:
            idle = time.monotonic() - self._last
            if self._proc is None or idle < self.idle_s * 0.99:
                return
            log.info("layer builder process idle for %.0f s: stopped", idle)
            self._timer = None
            self._stop_child()
        finally:
            self._lock.release()


def builder_for(
    mode: str,
    db: Path | str,
    data_dir: Path,
    *,
    reader_db: Path | str | None = None,
    idle_s: float = 60.0,
    cache_size: int = 16,
) -> LayerBuilder | None:
    """The layer builder a service on store ``db`` uses: a :class:`LayerBuilder` for
    ``mode="process"`` on a SQLite store, else ``None`` (built in the serving process; a
    PostGIS store's cache follows its change counter, read through the store itself)."""
    from .._paths import is_db_url

    if mode != "process" or is_db_url(db):
        return None
    return LayerBuilder(BuilderConfig(Path(data_dir), db, reader_db, cache_size), idle_s=idle_s)


def _send(stream: IO[bytes], data: bytes) -> None:
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> bytes:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError("the layer builder process closed its output")
    (size,) = _HEADER.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the layer builder process closed its output mid-answer")
    return data


# -- in the child ----------------------------------------------------------------------------


def child_main() -> None:
    """The child: read the configuration, open the service, answer calls until its input
    closes. Logs go to standard error (the server's); standard output carries answers only."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing printed may corrupt the answers
    source = sys.stdin.buffer
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = pickle.loads(_receive(source))
    except EOFError:
        return
    service = _start(config)
    while True:
        try:
            operation, args = pickle.loads(_receive(source))
        except EOFError:
            return
        try:
            answer = pickle.dumps((True, run(service, operation, args)), pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            if not isinstance(exc, _expected()):
                log.exception("layer builder: %s failed", operation)
            answer = _pickled_error(exc)
        _send(out, answer)


def _expected() -> tuple[type[BaseException], ...]:
    from .._errors import GeosafeError

    return (GeosafeError,)


def _pickled_error(exc: Exception) -> bytes:
    try:
        data = pickle.dumps((False, exc), pickle.HIGHEST_PROTOCOL)
        pickle.loads(data)
        return data
    except Exception:
        return pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))


def _start(config: BuilderConfig) -> Any:
    """The child's service on the same store, the store opened now (opening may write the
    schema, which must not change the store's state between a request's cache key and its
    build)."""
    from ..store import open_store
    from ..store.published_read import open_reader
    from .service import LayerService

    path = config.store_path
    service = LayerService(
        config.data_dir,
        lambda: open_store(path),
        store_path=path,
        cache_size=config.cache_size,
        reader=open_reader(path, config.reader_db),
    )
    service.store  # noqa: B018
    return service
