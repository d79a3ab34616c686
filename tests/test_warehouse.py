"""The embedded warehouse: a real PostgreSQL on 127.0.0.1 that dbt can use."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest

from baoke import dbt, migrate, warehouse
from baoke.connections import step_url


def test_embedded_warehouse_listens_on_tcp_and_keeps_data(tmp_path: Path):
    wh = warehouse.EmbeddedWarehouse(tmp_path / "wh")
    assert wh.url() is None
    url = wh.up()
    try:
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1"
        assert parts.port != 5432
        assert parts.password, "Cosmos' profile mapping needs a password"
        assert wh.up() == url, "up() on a running server returns the same server"
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("create table kept (x int); insert into kept values (42)")
            for name in ("wal_level", "unix_socket_directories", "timezone"):
                cur.execute(f"show {name}")
                assert cur.fetchone() == (warehouse.SERVER_SETTINGS[name],), name
            # text compares byte by byte (fast sorts and indexes), characters stay UTF-8
            cur.execute("select datcollate, datctype from pg_database where datname = current_database()")
            assert cur.fetchone() == ("C", "C.UTF-8")
            names = "('张三'), ('Zoe'), ('abc'), ('ABC'), ('李四')"
            cur.execute(f"select array_agg(x order by x) from (values {names}) v (x)")
            assert cur.fetchone() == (["ABC", "Zoe", "abc", "张三", "李四"],), "code-point order, as C.UTF-8"
        assert wh.down() is True
        assert wh.url() is None
        with psycopg2.connect(wh.up()) as conn, conn.cursor() as cur:
            cur.execute("select x from kept")
            assert cur.fetchone() == (42,)
    finally:
        wh.down()
    assert wh.down() is False


@pytest.mark.slow  # runs dbt
def test_dbt_connects_to_the_embedded_warehouse(fresh_db: str):
    """As the transformer's login (derived from the admin URL), acting as the owner role."""
    assert dbt.run_dbt(["debug"], step_url("transformer", fresh_db)) is True


@pytest.mark.slow  # runs dbt
def test_dbt_debug_fails_on_a_wrong_port(warehouse_url: str):
    parts = urlsplit(warehouse_url)
    assert dbt.run_dbt(["debug"], warehouse_url.replace(f":{parts.port}/", ":1/")) is False


def test_configured_warehouse_wins_over_the_embedded_one(warehouse_env: str, state_dir: Path):
    assert warehouse.resolve_warehouse() == warehouse_env
    assert warehouse.embedded().url() is None, "no embedded server was started"


def test_without_configuration_the_embedded_warehouse_is_started(monkeypatch, state_dir: Path):
    monkeypatch.delenv("AIRFLOW_CONN_WAREHOUSE", raising=False)
    url = warehouse.resolve_warehouse()
    try:
        assert url == warehouse.embedded().url()
        assert (state_dir / "warehouse" / "pgdata" / "PG_VERSION").exists()
        import os

        assert os.environ["AIRFLOW_CONN_WAREHOUSE"] == url, "exported for Airflow tasks and dbt"
    finally:
        warehouse.embedded().down()


def test_no_embedded_fallback_when_asked_not_to(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_WAREHOUSE", raising=False)
    with pytest.raises(warehouse.WarehouseError, match="AIRFLOW_CONN_WAREHOUSE"):
        warehouse.resolve_warehouse(start_embedded=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("postgres://u:p@db:5433/wh", "postgresql://u:p@db:5433/wh"),
        ("postgresql://u@db/wh", "postgresql://u@db/wh"),
        ("postgresql://u:p@db/wh?sslmode=verify-full", "postgresql://u:p@db/wh?sslmode=verify-full"),
        (
            json.dumps(
                {
                    "conn_type": "postgres",
                    "host": "db",
                    "login": "u",
                    "password": "p@ss",
                    "port": 5433,
                    "schema": "wh",
                    "extra": {"sslmode": "require"},
                }
            ),
            "postgresql://u:p%40ss@db:5433/wh?sslmode=require",
        ),
    ],
)
def test_airflow_connection_forms_become_libpq_urls(value: str, expected: str, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", value)
    assert warehouse.resolve_warehouse(start_embedded=False) == expected
    assert warehouse.embedded().url() is None, "no embedded server was started"


@pytest.mark.parametrize(
    ("value", "reason"),
    [("mysql://u:p@db/wh", "conn_type 'mysql'"), ("postgres//x", "conn_type ''")],
)
def test_a_warehouse_connection_that_is_not_postgres_is_refused_clearly(value: str, reason: str, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", value)
    with pytest.raises(warehouse.WarehouseError, match=f"AIRFLOW_CONN_WAREHOUSE: .*PostgreSQL.*{reason}"):
        warehouse.resolve_warehouse(start_embedded=False)


def test_an_unreadable_warehouse_connection_names_the_variable(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", '{"conn_type": "postgres", "host": ')
    with pytest.raises(warehouse.WarehouseError, match="AIRFLOW_CONN_WAREHOUSE is set but Airflow cannot read it"):
        warehouse.resolve_warehouse(start_embedded=False)


def test_dbt_builds_in_the_database_libpq_connects_to():
    """Without a database in the URL, libpq (extraction, the export) uses the user's name:
    dbt must build there too."""
    assert dbt.profile_env("postgresql://baoke:pw@db:5432")["BAOKE_WH_DBNAME"] == "baoke"


def test_describe_hides_the_password():
    assert warehouse.describe("postgresql://u:secret@db:5433/wh") == "postgresql://u:***@db:5433/wh"


def test_dbt_profile_takes_every_part_of_the_url():
    env = dbt.profile_env(
        "postgresql://u:p%40ss@db:5433/wh?sslmode=verify-full&sslrootcert=/certs/ca.pem"
        "&sslcert=/certs/dbt.pem&sslkey=/certs/dbt.key"
    )
    assert env == {
        "BAOKE_WH_HOST": "db",
        "BAOKE_WH_PORT": "5433",
        "BAOKE_WH_USER": "u",
        "BAOKE_WH_PASSWORD": "p@ss",
        "BAOKE_WH_DBNAME": "wh",
        "BAOKE_WH_SSLMODE": "verify-full",
        "BAOKE_WH_SSLROOTCERT": "/certs/ca.pem",
        "BAOKE_WH_SSLCERT": "/certs/dbt.pem",
        "BAOKE_WH_SSLKEY": "/certs/dbt.key",
    }


@pytest.mark.slow
def test_a_bare_dbt_without_a_warehouse_fails_naming_what_is_missing(tmp_path: Path):
    """A bare `dbt debug` in dbt_project/ with nothing configured must not connect to a
    server on 5432: the profile has no defaults."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("BAOKE_WH_")}
    dbt_bin = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [str(dbt_bin), "debug", "--profiles-dir", ".", "--project-dir", "."],
        cwd=dbt.get_settings().dbt_project_dir,
        env={**env, "DBT_LOG_PATH": str(tmp_path), "DBT_TARGET_PATH": str(tmp_path / "target")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "BAOKE_WH_HOST" in result.stdout + result.stderr


def test_migrations_create_the_layers_once(warehouse_url: str):
    first = migrate.migrate(warehouse_url)
    assert migrate.migrate(warehouse_url) == [], "a second run applies nothing"
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute("select name from etl.schema_migrations order by name")
        recorded = [r[0] for r in cur.fetchall()]
        cur.execute("select nspname from pg_namespace")
        schemas = {r[0] for r in cur.fetchall()}
    assert recorded == [name for name, _ in migrate.migration_files()]
    assert set(first) <= set(recorded)
    assert {"raw", "etl", "rules", "staging", "intermediate", "marts"} <= schemas
