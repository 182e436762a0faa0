"""A throwaway PostgreSQL + PostGIS cluster in a temporary folder, for tests and benchmarks.

Nothing is assumed running: :func:`start` runs Debian's ``initdb`` and ``pg_ctl`` (package
``postgresql``, with ``postgis`` for the extension) on a free loopback port and returns a
:class:`Cluster` whose :meth:`Cluster.url` names a database; :meth:`Cluster.stop` stops the
server and deletes the folder. As root (CI containers) the server runs as the ``postgres``
system user, because PostgreSQL refuses to run as root.

Example::

    with throwaway.start() as cluster:
        url = cluster.create_database("geosafe_test")   # postgresql://postgres@127.0.0.1:PORT/...
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Cluster", "available", "pg_bin", "start"]

log = logging.getLogger(__name__)


def pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` holding ``initdb`` (or ``initdb`` on PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def available() -> str | None:
    """``None`` when a throwaway cluster can start here, else why not (for ``pytest.skip``)."""
    bin_dir = pg_bin()
    if bin_dir is None:
        return (
            "PostgreSQL's initdb not found: install Debian's `postgresql` (scripts/setup.sh --test)"
        )
    share = Path("/usr/share/postgresql") / bin_dir.parent.name / "extension" / "postgis.control"
    if bin_dir.parent.name.isdigit() and not share.exists():
        return f"PostGIS not installed for PostgreSQL {bin_dir.parent.name}: install Debian's `postgis`"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root needs `runuser` to start PostgreSQL as the postgres user"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A running throwaway cluster; superuser ``postgres``, trust authentication on 127.0.0.1."""

    folder: Path
    port: int
    bin_dir: Path
    as_user: str | None

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_user:
            cmd = ["runuser", "-u", self.as_user, "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` with ``psql`` as the superuser; returns its output."""
        out = self._run(
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-c",
            sql,
        )
        return out.stdout

    def create_database(self, name: str, *, postgis: bool = True) -> str:
        """Create database ``name`` (with the PostGIS extension) and return its URL."""
        self.psql(f'CREATE DATABASE "{name}"')
        if postgis:
            self.psql("CREATE EXTENSION IF NOT EXISTS postgis", database=name)
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its folder."""
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        except subprocess.CalledProcessError as exc:  # already stopped
            log.warning("pg_ctl stop: %s", exc.stderr.strip())
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(folder: Path | str | None = None, *, port: int | None = None) -> Cluster:
    """Initialise and start a cluster in ``folder`` (a new temporary folder by default).

    Settings favour speed over durability (``fsync=off``): the data is thrown away.
    """
    reason = available()
    if reason:
        raise RuntimeError(reason)
    bin_dir = pg_bin()
    assert bin_dir is not None
    root = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="geosafe-pg-"))
    root.mkdir(parents=True, exist_ok=True)
    as_user = "postgres" if os.geteuid() == 0 else None
    if as_user:
        shutil.chown(root, user=as_user)
    cluster = Cluster(folder=root, port=port or _free_port(), bin_dir=bin_dir, as_user=as_user)
    cluster._run(
        "initdb",
        "-D",
        str(cluster.data_dir),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    )
    options = (
        f"-p {cluster.port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    cluster._run(
        "pg_ctl",
        "-D",
        str(cluster.data_dir),
        "-l",
        str(root / "server.log"),
        "-o",
        options,
        "-w",
        "start",
    )
    log.info("throwaway PostgreSQL at %s (%s)", cluster.url(), root)
    return cluster
