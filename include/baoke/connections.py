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

Least privilege (docs/outputs.md, "Access and privacy"): ``warehouse`` is the admin
connection, used only to migrate. Each step connects as its own login, from its own
connection when one is configured (``warehouse_loader``, ``warehouse_transformer``,
``warehouse_exporter``), else from a connection derived from ``warehouse``: the same
server, database and options (``sslmode``, certificates), the step's default login
(``baoke_extract``, ``baoke_dbt``, ``baoke_export``). The migrations create each login
and make it a member of its step's group role.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import psycopg2

WAREHOUSE = "warehouse"

StepName = Literal["loader", "transformer", "exporter"]


@dataclass(frozen=True)
class Step:
    """How one step of a run reaches the warehouse: its Airflow connection, the group role
    (migration 011) that holds its grants, and the login a derived connection uses."""

    conn_id: str
    group: str
    default_login: str


#: extraction, dbt, the export
STEPS: dict[StepName, Step] = {
    "loader": Step("warehouse_loader", "baoke_loader", "baoke_extract"),
    "transformer": Step("warehouse_transformer", "baoke_transformer", "baoke_dbt"),
    "exporter": Step("warehouse_exporter", "baoke_exporter", "baoke_export"),
}

#: The NOLOGIN role that owns what the feeds and the platform record (raw, etl, access).
OWNER_ROLE = "baoke_owner"
#: The NOLOGIN role that owns what dbt builds (rules, staging, intermediate, marts); dbt acts as it.
BUILDER_ROLE = "baoke_builder"


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


def step_configured(step: StepName) -> bool:
    """Whether the step has a connection of its own (environment, Airflow's database or a
    secrets backend)."""
    import os

    from airflow.sdk.exceptions import AirflowNotFoundException

    from baoke.config import conn_env_name

    conn_id = STEPS[step].conn_id
    if os.environ.get(conn_env_name(conn_id)):
        return True
    try:
        get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


#: The password a derived step URL carries: none of the admin's. Trust authentication (the
#: embedded warehouse, the tests) ignores it, and Cosmos' profile mapping insists on one.
DERIVED_PASSWORD = "derived-step-login"


def derived_url(admin_url: str, step: StepName) -> str:
    """The step's URL derived from the admin one: same server, database and options
    (``sslmode``...), the step's default login, and never the admin's password (a step's
    processes must not hold it). A login made by the migrations for a derived connection
    has no password: it signs in where the server trusts it (the embedded warehouse, the
    tests); anywhere else, configure the step's connection."""
    parsed = parse_url(admin_url).set(username=STEPS[step].default_login, password=DERIVED_PASSWORD)
    return parsed.render_as_string(hide_password=False)


def step_url(step: StepName, admin_url: str | None = None) -> str:
    """The URL the step connects with: its own connection when configured, else derived
    from ``admin_url`` (default: the ``warehouse`` connection)."""
    if step_configured(step):
        return warehouse_url(STEPS[step].conn_id)
    return derived_url(admin_url or warehouse_url(), step)


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
