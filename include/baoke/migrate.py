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
"""

from __future__ import annotations

from importlib import resources

import psycopg2

_LOCK_KEY = 0x5BA0_4E  # any constant shared by every Baoke process


def migration_files() -> list[tuple[str, str]]:
    """(name, sql) for every migration, in order."""
    folder = resources.files("baoke") / "migrations"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name, (folder / name).read_text(encoding="utf-8")) for name in names]


def migrate(url: str) -> list[str]:
    """Apply the migrations not yet applied; return their names."""
    applied: list[str] = []
    conn = psycopg2.connect(url)
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
            for name, sql in migration_files():
                if name not in done:
                    cur.execute(sql)
                    cur.execute("insert into etl.schema_migrations (name) values (%s)", (name,))
                    applied.append(name)
    finally:
        conn.close()
    return applied
