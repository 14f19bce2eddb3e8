"""A private PostgreSQL cluster for one test or benchmark: `initdb` into a temporary folder, served
on 127.0.0.1 on a free port (its unix socket in that folder), fsync on as in production, removed at
the end. It can be stopped and started again cleanly ("the database restarted under load"), and
says how much CPU its processes used.

PostgreSQL refuses to run as root: as root (CI), the cluster's programs run as the `postgres` user
that Debian's `postgresql` package creates, and the folder is given to it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.proc import tree_cpu_seconds

__all__ = ["PostgresMissing", "PrivatePostgres", "missing", "private_postgres"]

ROLE, PASSWORD, DATABASE = "chatloom", "chatloom", "chatloom"
OS_USER = "postgres"  # who runs the cluster when we are root


class PostgresMissing(RuntimeError):
    """PostgreSQL's server programs are not installed (or cannot be run as this user)."""


def binaries() -> Path:
    """The newest PostgreSQL's bin folder (Debian: /usr/lib/postgresql/<version>/bin), else the
    folder of an `initdb` on PATH; PostgresMissing when there is none."""
    versions = []
    for folder in Path("/usr/lib/postgresql").glob("*/bin"):
        version = folder.parent.name
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            versions.append((tuple(int(p) for p in version.split(".") if p.isdigit()), folder))
    if versions:
        return max(versions)[1]
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    raise PostgresMissing(
        "PostgreSQL's server programs (initdb, pg_ctl) are not installed: `apt-get install postgresql`"
    )


def missing() -> str | None:
    """Why a private cluster cannot be made here, in words; None when it can."""
    try:
        binaries()
    except PostgresMissing as exc:
        return str(exc)
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return f"running as root and there is no {OS_USER!r} user to run PostgreSQL as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrivatePostgres:
    """A cluster in `folder`, listening on 127.0.0.1:`port`."""

    folder: Path
    port: int
    bin: Path
    cpu_before: float = 0.0  # CPU seconds of the earlier postmasters (before a restart)
    run_as: list[str] = field(default_factory=list)  # the command prefix that runs as the cluster's owner

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{ROLE}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str, timeout: float = 120) -> None:
        done = subprocess.run(
            [*self.run_as, *args], capture_output=True, text=True, timeout=timeout, cwd=self.folder, check=False
        )
        if done.returncode != 0:
            log = (self.folder / "server.log").read_text()[-2000:] if (self.folder / "server.log").exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()}\n{log}")

    def _ctl(self, *args: str) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args)

    def start(self) -> None:
        """Start the cluster and wait until it accepts connections."""
        self._ctl("-l", str(self.folder / "server.log"), "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster cleanly (`fast`: open sessions are disconnected, their transactions rolled back)."""
        self.cpu_before += self._tree_cpu()
        self._ctl("-m", mode, "stop")

    def postmaster(self) -> int | None:
        """The pid of the running postmaster, None when stopped."""
        try:
            first = (self.data / "postmaster.pid").read_text().split("\n", 1)[0]
        except FileNotFoundError:
            return None
        return int(first) if first.strip().isdigit() else None

    def _tree_cpu(self) -> float:
        pid = self.postmaster()
        return tree_cpu_seconds(pid) if pid is not None else 0.0

    def cpu_seconds(self) -> float:
        """CPU seconds of every process of this cluster since it was made, across restarts."""
        return self.cpu_before + self._tree_cpu()


@contextmanager
def private_postgres(*, max_connections: int = 200) -> Iterator[PrivatePostgres]:
    """A fresh cluster with a role and a database for the test, started; removed afterwards."""
    reason = missing()
    if reason is not None:
        raise PostgresMissing(reason)
    root = os.geteuid() == 0
    # as root, somewhere the postgres user can reach (TMPDIR may be inside root's own home)
    folder = Path(tempfile.mkdtemp(prefix="chatloom-pg-", dir="/tmp" if root else None))
    if root:
        owner = pwd.getpwnam(OS_USER)
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    pg = PrivatePostgres(folder, _free_port(), binaries(), run_as=_as_owner())
    try:
        pg._run(
            str(pg.bin / "initdb"),
            "-D",
            str(pg.data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",  # the empty cluster's files: a crash of the machine would only lose the test
        )
        with (pg.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {pg.port}\nunix_socket_directories = '{folder}'\n"
                f"max_connections = {max_connections}\nfsync = on\nsynchronous_commit = on\n"
            )
        pg.start()
        _create_database(pg)
        yield pg
    finally:
        if pg.postmaster() is not None:
            try:
                pg._ctl("-m", "immediate", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                _kill_postmaster(pg)
        shutil.rmtree(folder, ignore_errors=True)


def _as_owner() -> list[str]:
    """The command prefix that runs a program as the cluster's owner: nothing unless we are root."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser"):
        return ["runuser", "-u", OS_USER, "--"]
    return ["su", "-s", "/bin/sh", "-c", '"$0" "$@"', OS_USER, "--"]  # the program and its arguments, as sh's


def _create_database(pg: PrivatePostgres) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            conn = psycopg.connect(
                host=str(pg.folder), port=pg.port, user="postgres", dbname="postgres", autocommit=True
            )
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    with conn:
        conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        conn.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")


def _kill_postmaster(pg: PrivatePostgres) -> None:
    pid = pg.postmaster()
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)  # PostgreSQL's immediate shutdown
