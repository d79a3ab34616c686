"""The platform's Airflow connections (docs/feeds.md, "Where each feed is configured"),
read exactly as Airflow's own providers read them, so that a connection a data engineer
made for any other integration — in the UI, with ``airflow connections add``, or as an
``AIRFLOW_CONN_<ID>`` environment variable in URI or JSON form — works here unchanged:

- an HTTP connection (``dms_api``, ``oem_api``) as the HTTP provider's ``HttpHook``:
  ``schema`` is the URL scheme (``http`` by default), and a ``host`` given as a full URL
  (``https://dms.example.com/api``) is the base URL;
- a PostgreSQL connection (``warehouse``) as the Postgres provider's ``PostgresHook``:
  ``schema`` is the database, and the extra's other keys (``sslmode``, ``sslrootcert``,
  ...) are libpq options.

The warehouse becomes one URL (``postgresql://user:password@host:port/db?sslmode=...``),
built and read back by SQLAlchemy's ``URL``, which psycopg2, the loader, the export and
dbt's profile all take: one way from the connection to a database session.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg2

WAREHOUSE = "warehouse"


def get_connection(conn_id: str) -> Any:
    """An Airflow connection, through Airflow itself: environment variables, Airflow's
    database (inside a task) and secrets backends all work the same way."""
    from airflow.sdk import Connection

    return Connection.get(conn_id)


@dataclass(frozen=True)
class HttpEndpoint:
    """Where an HTTP feed is and how to sign in: the base URL, login and password."""

    base_url: str
    login: str
    password: str


def http_endpoint(conn_id: str) -> HttpEndpoint:
    """The HTTP connection ``conn_id`` as Airflow's HTTP provider reads it (its
    ``HttpHook`` computes the base URL, so the convention cannot drift from Airflow's)."""
    from airflow.providers.http.hooks.http import HttpHook

    hook = HttpHook(method="GET", http_conn_id=conn_id)
    conn = hook.get_connection(conn_id)
    return HttpEndpoint(hook.url_from_endpoint(None).rstrip("/"), conn.login or "", conn.password or "")


class ConnectionConfigError(ValueError):
    """A connection that cannot be used as configured; the message says how to fix it."""


def postgres_url(conn: Any) -> str:
    """The libpq URL of a PostgreSQL connection, as the Postgres provider reads it:
    ``schema`` is the database, and every extra but the provider's own keys (IAM, cursor,
    ...) is a libpq option such as ``sslmode``."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook
    from sqlalchemy.engine import URL

    if conn.conn_type not in ("postgres", "postgresql"):
        raise ConnectionConfigError(
            f"connection {conn.conn_id!r} must be a PostgreSQL connection "
            f"(postgresql://user:password@host:port/database, or JSON with conn_type 'postgres'); "
            f"got conn_type {conn.conn_type!r}"
        )
    options = {
        key: str(value) for key, value in conn.extra_dejson.items() if key not in PostgresHook.ignored_extra_options
    }
    url = URL.create(
        "postgresql",
        username=conn.login or None,
        password=conn.password or None,
        host=conn.host or None,
        port=conn.port or None,
        database=conn.schema or None,
        query=options,
    )
    return url.render_as_string(hide_password=False)


def warehouse_url(conn_id: str = WAREHOUSE) -> str:
    """The configured warehouse's libpq URL (see ``postgres_url``)."""
    return postgres_url(get_connection(conn_id))


def parse_url(url: str) -> Any:
    """A warehouse URL as SQLAlchemy reads it (host, port, username, password, database,
    query); a malformed one raises ConnectionConfigError naming the expected form."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise ConnectionConfigError(
            f"not a PostgreSQL URL: expected postgresql://user:password@host:port/database ({err})"
        ) from err
    if parsed.get_backend_name() not in ("postgres", "postgresql"):
        raise ConnectionConfigError(f"not a PostgreSQL URL: scheme {parsed.drivername!r}")
    return parsed


def public_url(url: str) -> str:
    """The URL with its password hidden, for printing and logs."""
    return parse_url(url).render_as_string(hide_password=True)


@contextlib.contextmanager
def warehouse(url: str | None = None) -> Iterator[Any]:
    """A psycopg2 connection to the warehouse (``url``, else the configured one), closed
    afterwards."""
    conn = psycopg2.connect(url or warehouse_url())
    try:
        yield conn
    finally:
        conn.close()
