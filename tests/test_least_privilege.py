"""Least privilege and transport (docs/outputs.md, "Access and privacy"): a NOLOGIN owner
owns the warehouse, each step connects as its own login with only its grants, and the
warehouse connection's TLS settings reach every step's DSN and dbt's profile.

(That no session of a whole ``baoke run`` is a superuser is checked during the run
itself, in test_run_e2e.py.)"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import psycopg2
import pytest
from psycopg2 import errors

from baoke import dbt, migrate
from baoke.connections import BUILDER_ROLE, OWNER_ROLE, STEPS, parse_url, step_url
from baoke.warehouse import export_step_connections

SCHEMAS = migrate.SCHEMAS


def _owner_builds(admin_url: str) -> None:
    """What dbt does: as the builder role, a staging table and a mart."""
    with psycopg2.connect(admin_url) as conn, conn.cursor() as cur:
        cur.execute(f"set role {BUILDER_ROLE}")
        cur.execute("create table staging.stg_probe as select 'C1'::text as customer_id, '13800000000'::text as mobile")
        cur.execute("create table marts.probe_mart as select 'D001'::text as dealer_code, 1 as visits")


def test_the_owner_roles_own_every_schema_and_table_and_no_login_owns_any(fresh_db: str):
    _owner_builds(fresh_db)
    with psycopg2.connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("select rolname, rolcanlogin from pg_roles where rolname in (%s, %s)", (OWNER_ROLE, BUILDER_ROLE))
        assert sorted(cur.fetchall()) == [(BUILDER_ROLE, False), (OWNER_ROLE, False)], "neither can log in"
        cur.execute(
            "select n.nspname, c.relname, pg_get_userbyid(c.relowner) from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = any(%s) and c.relkind in ('r', 'p', 'v', 'm', 'S')",
            (list(SCHEMAS),),
        )
        owners = cur.fetchall()
        cur.execute(
            "select nspname, pg_get_userbyid(nspowner) from pg_namespace where nspname = any(%s)", (list(SCHEMAS),)
        )
        schema_owners = dict(cur.fetchall())
    assert {"raw.dms_customers", "etl.load_batches", "etl.outreach_log", "marts.probe_mart"} <= {
        f"{s}.{t}" for s, t, _ in owners
    }
    assert {(s, owner) for s, _, owner in owners} <= set(migrate.SCHEMA_OWNERS.items())
    assert schema_owners == migrate.SCHEMA_OWNERS
    assert schema_owners["raw"] == schema_owners["etl"] == OWNER_ROLE
    assert schema_owners["staging"] == schema_owners["marts"] == BUILDER_ROLE


def test_each_step_has_a_login_in_its_group_and_none_is_a_superuser(fresh_db: str):
    with psycopg2.connect(fresh_db) as conn, conn.cursor() as cur:
        for step, spec in STEPS.items():
            login = parse_url(step_url(step, fresh_db)).username
            assert login == spec.default_login
            cur.execute(
                "select rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls,"
                " pg_has_role(rolname, %s, 'member') from pg_roles where rolname = %s",
                (spec.group, login),
            )
            assert cur.fetchone() == (True, False, False, False, False, True), step


def test_each_login_connects_as_itself(fresh_db: str):
    for step, spec in STEPS.items():
        with psycopg2.connect(step_url(step, fresh_db)) as conn, conn.cursor() as cur:
            cur.execute("select session_user, (select rolsuper from pg_roles where rolname = session_user)")
            assert cur.fetchone() == (spec.default_login, False)
        conn.close()


def test_the_exporter_reads_neither_raw_nor_staging(fresh_db: str):
    _owner_builds(fresh_db)
    exporter = psycopg2.connect(step_url("exporter", fresh_db))
    try:
        for relation in ("raw.dms_customers", "staging.stg_probe", "etl.rejects", "etl.files"):
            with pytest.raises(errors.InsufficientPrivilege), exporter.cursor() as cur:
                cur.execute(f"select * from {relation} limit 1")
            exporter.rollback()
        with exporter.cursor() as cur:  # what outbound.py does read is readable
            cur.execute("select count(*) from etl.extract_state")
            cur.execute("select count(*) from etl.outreach_log")
    finally:
        exporter.close()


def test_the_loader_cannot_write_marts_nor_create_tables(fresh_db: str):
    _owner_builds(fresh_db)
    loader = psycopg2.connect(step_url("loader", fresh_db))
    try:
        for statement in (
            "insert into marts.probe_mart values ('D002', 5)",
            "delete from marts.probe_mart",
            "update staging.stg_probe set mobile = null",
            "create table raw.mine (x int)",
            "create table etl.mine (x int)",
            "delete from raw.dms_customers",
        ):
            with pytest.raises(errors.InsufficientPrivilege), loader.cursor() as cur:
                cur.execute(statement)
            loader.rollback()
    finally:
        loader.close()


def test_only_the_export_writes_its_audit_and_nobody_forges_who_wrote_it(fresh_db: str):
    """outputs.md §5: the export audit is the exporter's (the loader, which no longer
    exports, may not add rows), a row's `db_user` is the session's whatever the writer
    says, erasures are the admin's, and the row-level security's SECURITY DEFINER function
    runs as the owner role, never as the superuser who ran the migration."""
    audit_row = (
        "insert into etl.export_audit (export_id, run_id, business_date, dealer_code, file_name, file_format,"
        " bytes, sha256, target, db_user, os_user) values (1, 'r', '2026-11-20', 'D001', 'f.csv', 'csv', 1,"
        f" '{'0' * 64}', '/o', 'forged', 'me')"
    )
    loader = psycopg2.connect(step_url("loader", fresh_db))
    try:
        for statement in (audit_row, "insert into etl.erasures (customer_id) values ('C1')"):
            with pytest.raises(errors.InsufficientPrivilege), loader.cursor() as cur:
                cur.execute(statement)
            loader.rollback()
    finally:
        loader.close()
    with psycopg2.connect(step_url("exporter", fresh_db)) as exporter, exporter.cursor() as cur:
        cur.execute(audit_row + " returning db_user")
        assert cur.fetchone() == (STEPS["exporter"].default_login,)
    with psycopg2.connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute(
            "select p.proname, pg_get_userbyid(p.proowner) from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
            " where n.nspname = 'access'"
        )
        owners = dict(cur.fetchall())
    assert owners, "the access schema's functions exist"
    assert set(owners.values()) == {OWNER_ROLE}, owners


def test_the_transformer_builds_as_the_builder_and_owns_nothing(fresh_db: str):
    transformer = psycopg2.connect(step_url("transformer", fresh_db))
    try:
        with pytest.raises(errors.InsufficientPrivilege), transformer.cursor() as cur:
            cur.execute("create table staging.as_login (x int)")  # as itself: no CREATE
        transformer.rollback()
        with transformer, transformer.cursor() as cur:
            cur.execute(f"set role {BUILDER_ROLE}")  # what dbt's profile (`role:`) does
            cur.execute("create table staging.as_builder (x int)")
            cur.execute("reset role")
            cur.execute("select pg_get_userbyid(relowner) from pg_class where oid = 'staging.as_builder'::regclass")
            assert cur.fetchone() == (BUILDER_ROLE,)
            cur.execute("select count(*) from raw.dms_customers")  # it reads raw as itself
            with pytest.raises(errors.InsufficientPrivilege):
                cur.execute("insert into raw.dms_customers select * from raw.dms_customers")
        with pytest.raises(errors.InsufficientPrivilege), transformer.cursor() as cur:
            cur.execute(f"set role {OWNER_ROLE}")  # the owner of raw and etl is not its to act as
        transformer.rollback()
    finally:
        transformer.close()


def test_dbt_reads_raw_and_etl_but_changes_neither(fresh_db: str):
    """As the builder (dbt's role), raw and the ledgers are read-only, but for the staging
    models' own bookkeeping and the record of each mart's build."""
    transformer = psycopg2.connect(step_url("transformer", fresh_db))
    try:
        with transformer.cursor() as cur:
            cur.execute(f"set role {BUILDER_ROLE}")
            cur.execute("select count(*) from raw.dms_customers")
            cur.execute("select count(*) from etl.load_batches")
            cur.execute("select count(*) from etl.erasures")
            cur.execute("delete from etl.staging_batches where model = 'none'")
            cur.execute(
                "insert into etl.model_builds (model, business_date) values ('none', '2026-11-01')"
                " on conflict (model) do update set business_date = excluded.business_date"
            )
        transformer.commit()
        for statement in (
            "delete from raw.dms_customers",
            "truncate raw.dms_vehicles",
            "insert into raw.dms_customers select * from raw.dms_customers",
            "delete from etl.load_batches",
            "delete from etl.model_builds",
            "update etl.files set status = 'loaded'",
            "drop table etl.outreach_log",
            "create table raw.mine (x int)",
        ):
            with transformer.cursor() as cur:
                cur.execute(f"set role {BUILDER_ROLE}")
                with pytest.raises(errors.InsufficientPrivilege):
                    cur.execute(statement)
            transformer.rollback()
    finally:
        transformer.close()


def test_a_configured_step_connection_is_the_login_the_migrations_create(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
):
    parts = urlsplit(fresh_db)
    own = f"postgresql://baoke_loader_test:s3cret@{parts.hostname}:{parts.port}{parts.path}"
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_LOADER", own)
    migrate.migrate(fresh_db)
    assert step_url("loader", fresh_db) == own
    with psycopg2.connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute(
            "select rolcanlogin, rolpassword is not null, pg_has_role(rolname, 'baoke_loader', 'member')"
            " from pg_authid where rolname = 'baoke_loader_test'"
        )
        assert cur.fetchone() == (True, True, True)


def test_a_derived_step_url_never_carries_the_admins_password(monkeypatch: pytest.MonkeyPatch):
    """A step without a connection of its own connects as its default login on the admin's
    server, with the admin's options, but the admin's password stays with the admin."""
    for step in STEPS:
        monkeypatch.delenv(f"AIRFLOW_CONN_{STEPS[step].conn_id.upper()}", raising=False)
    admin = "postgresql://postgres:Adm1n-s3cret@db.example:5433/baoke?sslmode=verify-full"
    for step, spec in STEPS.items():
        url = step_url(step, admin)
        parsed = parse_url(url)
        assert "Adm1n-s3cret" not in url, step
        assert (parsed.username, parsed.host, parsed.port, parsed.database) == (
            spec.default_login,
            "db.example",
            5433,
            "baoke",
        )
        assert parsed.query["sslmode"] == "verify-full"


def test_a_login_made_for_a_derived_connection_has_no_password(fresh_db: str, monkeypatch: pytest.MonkeyPatch):
    """The embedded warehouse exports the derived step URLs as the steps' connections
    (Cosmos reads them): the placeholder they carry is never set as a login's password."""
    for step in STEPS:
        monkeypatch.delenv(f"AIRFLOW_CONN_{STEPS[step].conn_id.upper()}", raising=False)
    export_step_connections(fresh_db)
    migrate.migrate(fresh_db)
    with psycopg2.connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute(
            "select rolname, rolpassword is null from pg_authid where rolname = any(%s) order by 1",
            ([spec.default_login for spec in STEPS.values()],),
        )
        assert cur.fetchall() == sorted((spec.default_login, True) for spec in STEPS.values())


def test_sslmode_from_the_connection_extra_reaches_every_step(
    warehouse_url: str, fresh_db: str, monkeypatch: pytest.MonkeyPatch
):
    """The warehouse connection as a deployer writes it, with ``{"sslmode": "require"}`` in
    its extra: every step's DSN and dbt's profile (ours, and Cosmos') ask for TLS, and the
    embedded server, which has none, refuses them — the setting reached libpq."""
    parts = urlsplit(fresh_db)
    connection = {
        "conn_type": "postgres",
        "host": parts.hostname,
        "port": parts.port,
        "login": parts.username,
        "password": parts.password,
        "schema": parts.path.lstrip("/"),
        "extra": {"sslmode": "require", "sslrootcert": "/certs/ca.pem"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", json.dumps(connection))
    admin = migrate.warehouse_url()
    export_step_connections(admin)
    for step in STEPS:
        query = parse_url(step_url(step)).query
        assert (query["sslmode"], query["sslrootcert"]) == ("require", "/certs/ca.pem"), step
    profile = dbt.profile_env(step_url("transformer"))
    assert (profile["BAOKE_WH_SSLMODE"], profile["BAOKE_WH_SSLROOTCERT"]) == ("require", "/certs/ca.pem")
    from baoke.orchestration.dbt_tasks import dbt_task_group_kwargs

    cosmos = dbt_task_group_kwargs()["profile_config"].profile_mapping.profile
    assert (cosmos["sslmode"], cosmos["sslrootcert"], cosmos["role"]) == ("require", "/certs/ca.pem", BUILDER_ROLE)
    for step in STEPS:
        with pytest.raises(psycopg2.OperationalError, match="server does not support SSL"):
            migrate.ready_url(step)
