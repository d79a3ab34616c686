"""The feeds' and the warehouse's Airflow connections (feeds.md: "configured as"),
resolved through Airflow itself so that environment variables (``AIRFLOW_CONN_*``),
Airflow's database and secrets backends all work the same way."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg2
from psycopg2.extensions import make_dsn


def get_connection(conn_id: str) -> Any:
    from airflow.sdk import Connection

    return Connection.get(conn_id)


def base_url(conn: Any) -> str:
    """``scheme://host:port/path`` of an HTTP connection (scheme from its type)."""
    scheme = conn.conn_type if conn.conn_type in ("http", "https") else "http"
    port = f":{conn.port}" if conn.port else ""
    path = f"/{conn.schema.strip('/')}" if conn.schema else ""
    return f"{scheme}://{conn.host}{port}{path}"


def warehouse_dsn(conn_id: str = "warehouse") -> str:
    conn = get_connection(conn_id)
    return make_dsn(
        host=conn.host,
        port=conn.port,
        user=conn.login or None,
        password=conn.password or None,
        dbname=conn.schema or None,
    )


@contextlib.contextmanager
def warehouse(dsn: str | None = None) -> Iterator[Any]:
    """A psycopg2 connection to the warehouse, closed afterwards."""
    conn = psycopg2.connect(dsn or warehouse_dsn())
    try:
        yield conn
    finally:
        conn.close()
