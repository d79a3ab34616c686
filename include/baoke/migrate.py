"""Schema migrations the platform owns (what dbt does not build): numbered SQL files in
``baoke/migrations`` applied once each, in order, recorded in ``etl.schema_migrations``.

Every job runs ``migrate()`` first, so a new warehouse (embedded or real) needs no
manual setup. An advisory lock keeps concurrent workers from applying a file twice.

Why not Alembic (installed with Airflow) or yoyo: our migrations are plain SQL applied
forwards, and this runner is one transaction around a lock, a ledger and a loop. Alembic
would add an ``env.py``, a script directory and a Python revision file per migration
chained by ``down_revision``. It keeps only the current head, not which files ran and
when, and it takes no lock: Airflow wraps its own ``airflow db migrate`` in an advisory
lock (``airflow.utils.db.create_global_lock``) for that reason. yoyo does read SQL files
and takes a lock, but it is not installed, and a new pinned dependency for forty lines
is a poor trade.

Least privilege (migrations 011, 016): the runner connects as the warehouse's admin (the
``warehouse`` connection) and is the only code that does. After the files it settles
who owns what: it creates the raw tables as the owner role, hands every schema, table,
view, sequence and function of the warehouse's schemas to the role that owns that schema
(``SCHEMA_OWNERS``: what the platform records is the owner role's, what dbt builds the
builder role's; whatever a migration created is the admin's until then, and grants made
on it carry over), and creates each step's login as a member of its step's group role. The steps themselves connect with
their own logins and call the runner only when the ledger shows a migration pending.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any

import psycopg2
from psycopg2 import sql

from baoke.connections import (
    BUILDER_ROLE,
    DERIVED_PASSWORD,
    OWNER_ROLE,
    STEPS,
    StepName,
    parse_url,
    step_configured,
    step_url,
    warehouse_url,
)

_LOCK_KEY = 0x5BA0_4E  # any constant shared by every Baoke process

#: How the runner's session shows in ``pg_stat_activity``: the one admin session of a run.
APPLICATION_NAME = "baoke migrate"

#: The schemas the platform owns (migration 001; `access`, the row-level security's
#: functions, migration 012), each with the role its objects are handed to (016): the
#: feeds' records and the platform's ledgers are the owner role's, what dbt builds the
#: builder role's (so a dbt session can neither delete raw records nor rewrite a ledger).
SCHEMA_OWNERS: dict[str, str] = {
    "raw": OWNER_ROLE,
    "etl": OWNER_ROLE,
    "access": OWNER_ROLE,
    "rules": BUILDER_ROLE,
    "staging": BUILDER_ROLE,
    "intermediate": BUILDER_ROLE,
    "marts": BUILDER_ROLE,
}
SCHEMAS = tuple(SCHEMA_OWNERS)


def migration_files() -> list[tuple[str, str]]:
    """(name, sql) for every migration, in order."""
    folder = resources.files("baoke") / "migrations"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name, (folder / name).read_text(encoding="utf-8")) for name in names]


def migrate(url: str, step_urls: Mapping[StepName, str] | None = None) -> list[str]:
    """Apply the migrations not yet applied, settle ownership, and create or update the
    steps' logins (from ``step_urls``, default: each step's connection, or the one derived
    from ``url``); return the names of the migrations applied."""
    if step_urls is None:
        step_urls = {step: step_url(step, url) for step in STEPS}
    applied: list[str] = []
    conn = psycopg2.connect(url, application_name=APPLICATION_NAME)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            cur.execute("create schema if not exists etl")
            cur.execute(
                "create table if not exists etl.schema_migrations ("
                " name text primary key, applied_at timestamptz not null default now())"
            )
            cur.execute("select name from etl.schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            for name, text in migration_files():
                if name not in done:
                    cur.execute(text)
                    cur.execute("insert into etl.schema_migrations (name) values (%s)", (name,))
                    applied.append(name)
            _settle_ownership(cur)
            _ensure_logins(cur, step_urls, admin=parse_url(url).username)
    finally:
        conn.close()
    return applied


def pending(url: str) -> bool:
    """Whether the warehouse at ``url`` (a step's login) lacks a migration: read from the
    ledger, which every step may read. A login that cannot connect or read it yet (a
    warehouse never migrated) counts as pending."""
    names = {name for name, _ in migration_files()}
    try:
        conn = psycopg2.connect(url)
    except psycopg2.OperationalError:
        return True
    try:
        with conn.cursor() as cur:
            cur.execute("select name from etl.schema_migrations")
            return not names <= {row[0] for row in cur.fetchall()}
    except psycopg2.Error:
        return True
    finally:
        conn.close()


def ready_url(step: StepName) -> str:
    """The step's URL, once the warehouse is migrated: the admin connection is opened only
    when a migration is pending (``baoke run`` migrates before any step starts)."""
    url = step_url(step)
    if pending(url):
        migrate(warehouse_url())
    return url


def _settle_ownership(cur: Any) -> None:
    """Raw tables created by the owner role, then every object of the platform's schemas
    not owned by its schema's role handed over (a table's indexes and owned sequences go
    with it)."""
    from baoke.extract.loader import create_raw_tables

    for schema, owner in SCHEMA_OWNERS.items():
        cur.execute("select from pg_namespace where nspname = %s and nspowner <> %s::regrole", (schema, owner))
        if cur.fetchone() is not None:
            cur.execute(sql.SQL("alter schema {} owner to {}").format(sql.Identifier(schema), sql.Identifier(owner)))
    cur.execute(sql.SQL("set local role {}").format(sql.Identifier(OWNER_ROLE)))
    create_raw_tables(cur)
    cur.execute("reset role")
    kinds = {"r": "table", "p": "table", "f": "foreign table", "v": "view", "m": "materialized view", "S": "sequence"}
    for schema, owner in SCHEMA_OWNERS.items():
        cur.execute(
            "select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = %(schema)s and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')"
            " and c.relowner <> %(owner)s::regrole"
            " and not (c.relkind = 'S' and exists (select from pg_depend d where d.classid = 'pg_class'::regclass"
            "   and d.objid = c.oid and d.deptype in ('a', 'i')))"
            " order by c.relkind = 'S'",
            {"schema": schema, "owner": owner},
        )
        for name, kind in cur.fetchall():
            cur.execute(
                sql.SQL("alter {} {}.{} owner to {}").format(
                    sql.SQL(kinds[kind]), sql.Identifier(schema), sql.Identifier(name), sql.Identifier(owner)
                )
            )
        cur.execute(
            "select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
            " where n.nspname = %(schema)s and p.proowner <> %(owner)s::regrole",
            {"schema": schema, "owner": owner},
        )
        for (signature,) in cur.fetchall():
            cur.execute(sql.SQL("alter routine {} owner to {}").format(sql.SQL(signature), sql.Identifier(owner)))
    # dbt reads every source, including the tables later migrations add to raw and etl
    cur.execute(sql.SQL("grant select on all tables in schema raw, etl to {}").format(sql.Identifier(BUILDER_ROLE)))


def _ensure_logins(cur: Any, step_urls: Mapping[StepName, str], admin: str | None) -> None:
    """Each step's login, made a member of its group role: created if missing, its
    password set from its URL when the step has a connection of its own (a derived one
    gets none). A login that is the admin itself, or a superuser (a deployment pointing a
    step at one), is left alone: no grant would restrict it, and the run's check of
    ``pg_stat_activity`` (tests/test_run_e2e.py) is what catches such a setup."""
    for step, url in step_urls.items():
        parsed = parse_url(url)
        login = parsed.username
        if not login or login == admin:
            continue
        # a derived URL (the embedded warehouse exports them as the steps' connections)
        # carries a placeholder, never a password to give the login
        derived = parsed.password == DERIVED_PASSWORD
        password = parsed.password if step_configured(step) and not derived else None
        cur.execute("select rolsuper from pg_roles where rolname = %s", (login,))
        found = cur.fetchone()
        if found is None:
            cur.execute("savepoint login")
            try:
                cur.execute(sql.SQL("create role {} login").format(sql.Identifier(login)))
            except psycopg2.errors.DuplicateObject:  # another database of the cluster made it
                cur.execute("rollback to savepoint login")
            cur.execute("release savepoint login")
        elif found[0]:
            continue
        cur.execute(sql.SQL("alter role {} login password %s").format(sql.Identifier(login)), (password,))
        cur.execute(sql.SQL("grant {} to {}").format(sql.Identifier(STEPS[step].group), sql.Identifier(login)))
