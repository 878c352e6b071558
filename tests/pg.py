"""A throw-away PostgreSQL cluster for the integration tests: initdb into a temp dir, a free port, its unix socket
in that dir, run as an ordinary user (PostgreSQL refuses root, and CI runs as root), removed at the end.

Locally without PostgreSQL the tests that need it skip with an install hint; in CI (CI=true) they fail.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support import free_port

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
INSTALL_HINT = "apt-get install postgresql (its binaries are found on PATH or in /usr/lib/postgresql/*/bin)"
# The system user a root test run starts PostgreSQL as (made when missing).
SERVICE_USER = "chorus-pg"
SUPERUSER = "chorus"


def binaries() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def require_postgres() -> Path:
    found = binaries()
    if found is None:
        message = f"PostgreSQL is not installed ({INSTALL_HINT})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def _service_user() -> str | None:
    """The user to run PostgreSQL as: None when this process is not root, else SERVICE_USER (made if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True,
            capture_output=True,
        )
    return SERVICE_USER


class Cluster:
    """One PostgreSQL server on 127.0.0.1:port, trusting local connections, as the superuser `chorus`."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.user = _service_user()
        self.root = Path(tempfile.mkdtemp(prefix="chorus-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        if self.user is not None:
            record = pwd.getpwnam(self.user)
            os.chown(self.root, record.pw_uid, record.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync", "--no-locale"
        )
        self.start()

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin_dir / program), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stderr or done.stdout}")
        return done

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):  # not running
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    """The session's PostgreSQL cluster (started on first use)."""
    cluster = Cluster(require_postgres())
    yield cluster
    cluster.remove()
