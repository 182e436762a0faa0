"""Live servers for the client tests: the app served by uvicorn on a free loopback port, in a
thread of the test process (:func:`serve_app`) or as a separate ``uvicorn`` process
(:func:`serve_process`), started, waited for and stopped in one place."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the time of the call."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_app(
    app: Any, *, lifespan: Literal["auto", "on", "off"] = "auto", start_s: float = 30.0
) -> Iterator[str]:
    """Serve the ASGI ``app`` with uvicorn in a daemon thread on a free loopback port; yields
    the base URL once uvicorn is listening and stops it on exit."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_s
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                msg = f"uvicorn did not start on port {port} within {start_s} s"
                raise RuntimeError(msg)
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass(frozen=True)
class LiveProcess:
    """A ``uvicorn`` process serving the app: its base URL and process id."""

    base: str
    pid: int


@contextlib.contextmanager
def serve_process(
    env: dict[str, str], log_path: Path, *, workers: int = 1, ready_s: float = 180.0
) -> Iterator[LiveProcess]:
    """``uvicorn api:create_app --factory`` on a free loopback port with ``env`` (the
    ``GEOSAFE_*`` settings); yields once ``/healthz`` answers 200 and stops it on exit (its
    log is ``log_path``)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api:create_app", "--factory", "--host",
             "127.0.0.1", "--port", str(port), "--workers", str(workers),
             "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )  # fmt: skip
        try:
            _wait_healthy(base, proc, ready_s)
            yield LiveProcess(base, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            msg = f"the server exited with {proc.returncode} before answering {base}/healthz"
            raise RuntimeError(msg)
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    msg = f"the server did not answer {base}/healthz within {seconds} s"
    raise RuntimeError(msg)
