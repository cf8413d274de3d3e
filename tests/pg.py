"""A throwaway PostgreSQL cluster for the tests of the PostgreSQL store (a pytest plugin:
tests/conftest.py lists it in `pytest_plugins`).

The cluster is made once per test session, and only when a test asks for it: `initdb` into
a fresh temporary folder, trust authentication on a Unix socket in that folder (no TCP
port, so it cannot clash with another server or another test run), started with
`pg_ctl -w`; at the end it is stopped and the folder removed, also when tests fail or the
run is interrupted. A watchdog process, in a session of its own, holds a pipe from the test
process: when the test process ends however it ends (even killed), the pipe closes and the
watchdog stops the server and removes its folder. initdb and postgres refuse to run as root: as root they run as the
`postgres` user (runuser), whose account the Debian package makes.

Fixtures:

    pg_cluster   (session) the Cluster: .dsn(dbname), .new_database(), .drop_database()
    pg_dsn       (session) the DSN of the cluster's `postgres` database (for administration)
    pg_database  (test)    the DSN of a new, empty database of its own, dropped afterwards

Without PostgreSQL's server programs the fixtures fail with a message saying how to install
them (`make test` does); they never skip, so a run without them does not look like a pass.
The server binaries are looked for in $COMPLAINTFORMS_PG_BIN, then in Debian's
/usr/lib/postgresql/<version>/bin (the newest), then on PATH.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

BIN_ENV = "COMPLAINTFORMS_PG_BIN"
INSTALL_HINT = (
    "PostgreSQL's server programs (initdb, pg_ctl, postgres) were not found; the tests of "
    "the PostgreSQL store need them: `make test` installs them, or as root "
    "`apt-get install --no-install-recommends postgresql` (or set COMPLAINTFORMS_PG_BIN to "
    "the folder holding initdb)"
)
# A fast server for tests: what is lost when the machine crashes does not matter here (a
# killed *client* still loses nothing it did not commit, which is what the tests check).
SERVER_SETTINGS = {
    "listen_addresses": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
}


def find_bin() -> Path | None:
    """The folder of initdb and pg_ctl, or None."""
    candidates: list[Path] = []
    if os.environ.get(BIN_ENV):
        candidates.append(Path(os.environ[BIN_ENV]))

    def version(path: Path) -> tuple[int, ...]:
        try:
            return tuple(int(p) for p in path.parent.name.split("."))
        except ValueError:
            return (0,)

    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    candidates += debian
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


class Cluster:
    """One PostgreSQL server in a temporary folder, reached by its Unix socket."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.base: Path | None = None
        self.running = False
        self.user: str | None = None  # the system user the server runs as (None: us)
        self._names = itertools.count(1)
        self._watchdog: subprocess.Popen | None = None

    # -- running the server's programs ----------------------------------------------------
    def _run(self, program: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        argv = [str(self.bindir / program), *args]
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(
                f"{program} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
            )
        return proc

    @property
    def data(self) -> Path:
        assert self.base is not None
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.base is not None
        return self.base

    def start(self) -> None:
        # Short: a Unix socket's path has at most 107 bytes.
        self.base = Path(tempfile.mkdtemp(prefix="cf-pg-"))
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(
                    "running as root, and there is no `postgres` user to run the test "
                    "server as (the Debian postgresql package makes it)"
                ) from None
            self.user = "postgres"
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        )
        options = " ".join(f"-c {k}={v}" for k, v in SERVER_SETTINGS.items())
        options += f" -k {self.socket_dir} -p 5432"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.base / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        self.running = True
        self._watch()

    def _stop_argv(self) -> list[str]:
        argv = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]
        return ["runuser", "-u", self.user, "--", *argv] if self.user else argv

    def _watch(self) -> None:
        """The watchdog: it waits for its stdin to close, then stops the server and removes
        the folder (when they are still there)."""
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", WATCHDOG, str(self.base), *self._stop_argv()],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # not stopped by a signal to the tests' process group
        )

    def stop(self) -> None:
        """Stop the server (immediately: nothing of it is kept) and remove its folder."""
        if self.base is None:
            return
        if self.running:
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                pid_file = self.data / "postmaster.pid"
                if pid_file.exists():  # a last resort: the server's own process id
                    try:
                        os.kill(int(pid_file.read_text().split()[0]), 9)
                    except (OSError, ValueError, IndexError):
                        pass
            self.running = False
        shutil.rmtree(self.base, ignore_errors=True)
        self.base = None
        if self._watchdog is not None:  # nothing left for it to do: let it go
            with contextlib.suppress(OSError):
                self._watchdog.stdin.close()  # type: ignore[union-attr]
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._watchdog.wait(10)
            self._watchdog = None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return (self.base / "server.log").read_text(errors="replace")[-chars:]  # type: ignore[operator]
        except OSError:
            return ""

    # -- databases --------------------------------------------------------------------------
    def dsn(self, dbname: str = "postgres") -> str:
        return f"host={self.socket_dir} port=5432 user=postgres dbname={dbname}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self) -> str:
        """A new, empty database (made from template0: nothing of another test's in it)."""
        name = f"t_{os.getpid()}_{next(self._names)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.dsn(name)

    def drop_database(self, dsn: str) -> None:
        import psycopg

        name = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
        # FORCE: a connection a test left open (or a killed process's) does not keep it.
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


WATCHDOG = """
import os, shutil, subprocess, sys
sys.stdin.buffer.read()  # until the test process closes the pipe, or ends
base, stop = sys.argv[1], sys.argv[2:]
if os.path.exists(os.path.join(base, "data", "postmaster.pid")):
    subprocess.run(stop, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
shutil.rmtree(base, ignore_errors=True)
"""

_started: list[Cluster] = []


@atexit.register
def _stop_all() -> None:
    """A run that ends without the session's teardown still stops its servers."""
    for cluster in _started:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_cluster():
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail("psycopg is not installed: pip install 'psycopg[binary]' (make test does)")
    bindir = find_bin()
    if bindir is None:
        pytest.fail(INSTALL_HINT)
    cluster = Cluster(bindir)
    _started.append(cluster)
    try:
        cluster.start()
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        log = cluster.log_tail()
        cluster.stop()
        pytest.fail(f"could not start a PostgreSQL test server: {exc}\n{log}")
    try:
        yield cluster
    finally:
        cluster.stop()
        _started.remove(cluster)


@pytest.fixture(scope="session")
def pg_dsn(pg_cluster: Cluster) -> str:
    """The DSN of the session cluster's `postgres` database."""
    return pg_cluster.dsn()


@pytest.fixture
def pg_database(pg_cluster: Cluster):
    """A DSN of an empty database of this test's own."""
    dsn = pg_cluster.new_database()
    try:
        yield dsn
    finally:
        pg_cluster.drop_database(dsn)
