"""The warehouse connection, and the embedded PostgreSQL used when none is configured.

A fresh clone has no database server to talk to, so Baoke starts one itself from the
binaries the ``pgserver`` package ships. It listens on TCP (127.0.0.1, a free port),
not only on a unix socket, because Cosmos builds Airflow Asset URIs from the warehouse
host and rejects a socket path. Its data lives in the project-local ``.baoke/warehouse``
folder and survives restarts; the server keeps running between CLI calls until
``baoke warehouse down``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg2

with warnings.catch_warnings():
    # pgserver asks platformdirs for a runtime dir we never use (we listen on TCP).
    warnings.simplefilter("ignore")
    # pgserver makes its command functions (pg_ctl, initdb) at import time, out of a type
    # checker's sight: their calls below carry `type: ignore[attr-defined]`.
    from pgserver import _commands as pg
    from pgserver.utils import PostmasterInfo, find_suitable_port

from baoke.config import conn_env_name, get_settings
from baoke.connections import (
    STEPS,
    WAREHOUSE,
    ConnectionConfigError,
    derived_url,
    public_url,
    step_configured,
    warehouse_url,
)

DATABASE = "baoke"
SUPERUSER = "postgres"
# Trust authentication ignores it, but Cosmos' profile mapping insists on a password.
PLACEHOLDER_PASSWORD = "baoke"

# Settings for a single-node warehouse doing bulk loads and whole-table rebuilds, given
# on the command line at every start, so a warehouse made by an earlier version gets
# them too. With no replica and no point-in-time recovery to feed (back it up with
# pg_dump; raw can be re-extracted), `wal_level = minimal` lets PostgreSQL skip the
# write-ahead log for a table created and filled in one transaction, which is how dbt
# builds every table model: it halves what a rebuild writes.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "max_connections": "60",
    "shared_buffers": "256MB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "2GB",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "timezone": "Asia/Shanghai",
}


class WarehouseError(RuntimeError):
    """The warehouse could not be reached or started; the message says why."""


@dataclass(frozen=True)
class EmbeddedWarehouse:
    """A PostgreSQL server whose data lives in ``root`` (``root/pgdata``)."""

    root: Path

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def _log(self) -> Path:
        return self.root / "postgres.log"

    @property
    def _port_file(self) -> Path:
        return self.root / "port"

    # -- public API ---------------------------------------------------------------

    def url(self) -> str | None:
        """The connection URI while the server runs, else None."""
        info = self._running()
        return None if info is None else _uri(info.port)

    def up(self) -> str:
        """Start the server if needed (initialising it the first time); return its URI."""
        info = self._running()
        if info is None:
            self._init_if_needed()
            port = self._choose_port()
            try:
                pg.pg_ctl(  # type: ignore[attr-defined]
                    ["-w", "-t", "60", "-l", str(self._log), "-o", _server_options(port), "start"],
                    pgdata=self.pgdata,
                    user=self._system_user(),
                    timeout=90,
                )
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
                tail = self._log.read_text(errors="replace")[-2000:] if self._log.exists() else ""
                raise WarehouseError(f"embedded warehouse did not start ({err}); server log:\n{tail}") from err
            self._port_file.write_text(str(port))
            info = self._wait_ready()
        url = _uri(info.port)
        _ensure_database(info.port)
        return url

    def down(self) -> bool:
        """Stop the server; True if it was running."""
        if self._running() is None:
            return False
        pg.pg_ctl(  # type: ignore[attr-defined]
            ["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._system_user(), timeout=60
        )
        return True

    # -- internals ----------------------------------------------------------------

    @staticmethod
    def _system_user() -> str | None:
        """PostgreSQL refuses to run as root: as root, run it as a dedicated user."""
        if os.geteuid() != 0:
            return None
        import pwd

        from pgserver.utils import ensure_user_exists

        try:
            ensure_user_exists("pgserver")
        except subprocess.CalledProcessError:  # another process (a test worker) created it meanwhile
            pwd.getpwnam("pgserver")  # KeyError if not: the useradd failure was real
        return "pgserver"

    def _running(self) -> PostmasterInfo | None:
        info = PostmasterInfo.read_from_pgdata(self.pgdata) if self.pgdata.exists() else None
        if info is not None and info.is_running() and info.status == "ready" and info.port:
            return info
        return None

    def _wait_ready(self, seconds: float = 30) -> PostmasterInfo:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            info = self._running()
            if info is not None:
                return info
            time.sleep(0.2)
        raise WarehouseError(f"embedded warehouse in {self.pgdata} did not become ready; see {self._log}")

    def _choose_port(self) -> int:
        """Reuse the last port when it is free (stable URLs), else take a free one."""
        if self._port_file.exists():
            port = int(self._port_file.read_text())
            if _port_free(port):
                return port
        return find_suitable_port("127.0.0.1")

    def _init_if_needed(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        user = self._system_user()
        if user is not None:
            from pgserver.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.root)
            shutil.chown(self.root, user=user)
            _make_binaries_readable()
        # Text compares byte by byte (collation C): VINs, repair-order numbers and
        # customer ids sort about twice as fast as through the C.UTF-8 locale, which
        # PostgreSQL must call per comparison and cannot abbreviate; for UTF-8 the order
        # is the same (code points). Character classes stay C.UTF-8.
        pg.initdb(  # type: ignore[attr-defined]
            ["--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--lc-collate=C", "-U", SUPERUSER],
            pgdata=self.pgdata,
            user=user,
        )


def _server_options(port: int) -> str:
    """The postgres command line: the port and SERVER_SETTINGS (pg_ctl splits it like a shell)."""
    settings = " ".join(f"-c {name}={shlex.quote(value)}" for name, value in SERVER_SETTINGS.items())
    return f"-p {port} {settings}"


def _make_binaries_readable() -> None:
    """pgserver's bundled binaries must be runnable by the non-root server user."""
    import stat

    from pgserver.utils import ensure_folder_permissions

    ensure_folder_permissions(pg.POSTGRES_BIN_PATH, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(pg.POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _uri(port: int, database: str = DATABASE) -> str:
    return f"postgresql://{SUPERUSER}:{PLACEHOLDER_PASSWORD}@127.0.0.1:{port}/{database}"


def _ensure_database(port: int) -> None:
    conn = psycopg2.connect(_uri(port, "postgres"))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (DATABASE,))
            if cur.fetchone() is None:
                cur.execute(f'create database "{DATABASE}"')
    finally:
        conn.close()


def embedded() -> EmbeddedWarehouse:
    """The project's embedded warehouse (``.baoke/warehouse``)."""
    return EmbeddedWarehouse(get_settings().warehouse_dir)


def resolve_warehouse(start_embedded: bool = True) -> str:
    """The warehouse (admin) URL, and the steps' connections beside it (``export_step_connections``)."""
    url = _resolve_admin(start_embedded)
    export_step_connections(url)
    return url


def export_step_connections(admin_url: str) -> None:
    """Export ``AIRFLOW_CONN_WAREHOUSE_LOADER`` (and the transformer's, the exporter's),
    derived from the admin URL, for each step without a connection of its own: Cosmos
    builds dbt's profile from ``warehouse_transformer``, and the tasks run in child
    processes."""
    for step, spec in STEPS.items():
        if not step_configured(step):
            os.environ[conn_env_name(spec.conn_id)] = derived_url(admin_url, step)


def _resolve_admin(start_embedded: bool) -> str:
    """The warehouse URL: the ``warehouse`` connection from the environment (read by
    Airflow, URI or JSON form), else the embedded server (started if needed and exported
    as ``AIRFLOW_CONN_WAREHOUSE`` so that Airflow tasks, dbt and child processes all see
    the same database)."""
    env = conn_env_name(WAREHOUSE)
    if os.environ.get(env):
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            return warehouse_url()
        except ConnectionConfigError as err:
            raise WarehouseError(f"{env}: {err}") from err
        except AirflowNotFoundException:  # Airflow could not parse the value, so found no connection
            raise WarehouseError(
                f"{env} is set but Airflow cannot read it: give a URI "
                "(postgresql://user:password@host:port/database) or Airflow's JSON form"
            ) from None
    if not start_embedded:
        raise WarehouseError(f"no warehouse configured: set {env} or run `baoke warehouse up`")
    url = embedded().up()
    os.environ[env] = url
    return url


def describe(url: str) -> str:
    """The URL with its password hidden, for printing."""
    return public_url(url)
