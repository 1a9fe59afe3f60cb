"""Throwaway PostgreSQL clusters and PgBouncers for the tests that ground the rules in a real
server (tests/test_real_server.py): only the binaries are needed (Debian: `apt-get install
postgresql pgbouncer`); each cluster is initdb'd into a temporary folder and listens on
127.0.0.1 on a free port only. As root (CI), the servers run as the `postgres` user (or
`nobody`) through `runuser`, since neither initdb nor PgBouncer runs as root.

Anything that prevents a server from starting raises `Unavailable` with the reason; the
fixtures turn it into a skip that says why (and, under CI=true, into a failure: CI installs
the servers, so a missing one there is a broken install step, not something to skip).
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import List, Optional


class Unavailable(Exception):
    """A server cannot be started here (the message says why)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin() -> Path:
    """The folder of initdb and postgres: the newest /usr/lib/postgresql/*/bin, else PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: [int(x) if x.isdigit() else 0 for x in p.split("/")[4].split(".")])
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise Unavailable("no PostgreSQL server binaries (initdb) under /usr/lib/postgresql/*/bin or on PATH "
                      "(Debian: apt-get install postgresql)")


def pgbouncer_bin() -> Path:
    found = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
    if not found:
        raise Unavailable("no pgbouncer binary on PATH or in /usr/sbin (Debian: apt-get install pgbouncer)")
    return Path(found)


def _runner() -> List[str]:
    """The command prefix that runs a server as an unprivileged user."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if not runuser:
        raise Unavailable("running as root without runuser: cannot start a server as an unprivileged user")
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return [runuser, "-u", user, "--"]
    raise Unavailable("running as root and there is no postgres or nobody user to run the server as")


def _owner() -> Optional[str]:
    prefix = _runner()
    return prefix[2] if prefix else None


def _scratch(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    owner = _owner()
    if owner:
        folder.chmod(0o755)
        shutil.chown(folder, owner, owner)
    return folder


def _stop(process: Optional[subprocess.Popen], folder: Path, timeout: float) -> None:
    """End a server this module started (SIGTERM, then SIGKILL after `timeout` s) and
    remove its scratch folder."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    shutil.rmtree(folder, ignore_errors=True)


class Postgres:
    """One cluster: initdb into a temporary folder, start on 127.0.0.1:<free port>."""

    def __init__(self, max_connections: int = 20, reserved: int = 3):
        self.bin = postgres_bin()
        self.prefix = _runner()
        self.folder = _scratch("pool-lint-pg-")
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = free_port()
        self.max_connections, self.reserved = max_connections, reserved
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> "Postgres":
        done = subprocess.run(self.prefix + [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                                             "--auth=trust", "-E", "UTF8", "--no-sync"],
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise Unavailable(f"initdb failed: {done.stderr.strip()[-500:]}")
        log = open(self.log, "wb")
        self.process = subprocess.Popen(
            self.prefix + [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
                           "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}",
                           "-c", f"max_connections={self.max_connections}",
                           "-c", f"superuser_reserved_connections={self.reserved}",
                           "-c", "fsync=off", "-c", "shared_buffers=16MB"],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise Unavailable(f"postgres exited: {self.log.read_text(errors='replace')[-500:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
                if self._ready():
                    self.sql("CREATE ROLE app LOGIN NOSUPERUSER")
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise Unavailable("postgres did not accept connections within 30 s")

    def _ready(self) -> bool:
        import psycopg2

        try:
            psycopg2.connect(self.dsn()).close()
            return True
        except psycopg2.OperationalError:
            return False

    def dsn(self, user: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={user} dbname=postgres"

    def url(self, driver: str = "psycopg2", user: str = "app") -> str:
        return f"postgresql+{driver}://{user}@127.0.0.1:{self.port}/postgres"

    def sql(self, statement: str, *args):
        """Run one statement as the superuser; its rows (if any)."""
        import psycopg2

        connection = psycopg2.connect(self.dsn())
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement, args or None)
                return cursor.fetchall() if cursor.description else None
        finally:
            connection.close()

    def stop(self) -> None:
        _stop(self.process, self.folder, timeout=20)  # SIGTERM: the server's smart shutdown


class PgBouncer:
    """A PgBouncer in front of `server` (database `app` = the server's `postgres` database,
    as role `app`), on 127.0.0.1:<free port>."""

    def __init__(self, server: Postgres, pool_mode: str = "transaction", pool_size: int = 1):
        self.binary = pgbouncer_bin()
        self.prefix = _runner()
        self.server = server
        self.folder = _scratch("pool-lint-pgbouncer-")
        self.port = free_port()
        self.log = self.folder / "pgbouncer.log"
        (self.folder / "userlist.txt").write_text('"app" ""\n')
        (self.folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"app = host=127.0.0.1 port={server.port} dbname=postgres user=app\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.folder / 'userlist.txt'}\n"
            f"pool_mode = {pool_mode}\ndefault_pool_size = {pool_size}\nmax_client_conn = 50\n"
            f"logfile = {self.log}\n")
        owner = _owner()
        if owner:
            for name in ("userlist.txt", "pgbouncer.ini"):
                shutil.chown(self.folder / name, owner, owner)
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> "PgBouncer":
        self.process = subprocess.Popen(self.prefix + [str(self.binary), str(self.folder / "pgbouncer.ini")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise Unavailable(f"pgbouncer exited: {error.strip()[-500:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise Unavailable("pgbouncer did not listen within 20 s")

    def version(self) -> str:
        done = subprocess.run([str(self.binary), "--version"], capture_output=True, text=True)
        return done.stdout.splitlines()[0] if done.stdout else "?"

    def url(self) -> str:
        return f"postgresql+asyncpg://app@127.0.0.1:{self.port}/app"

    def stop(self) -> None:
        _stop(self.process, self.folder, timeout=10)
