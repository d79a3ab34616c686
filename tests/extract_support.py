"""Helpers shared by the extraction tests: a simulated world per test module and
snapshots of what landed in the warehouse."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import psycopg2

from baoke.extract.loader import ensure_raw_tables


def generated(path: Path, scale: str, seed: int, until: dt.date | None = None) -> Path:
    """A copy at ``path`` of the world ``generate(scale, seed, until)`` makes: generated
    once per test session and inputs (seconds each; eight modules read the same small
    world), then copied, which gives the same bytes (the generator is deterministic:
    test_simulator_world proves it). Each caller owns its copy and may change it."""
    from baoke_sim.world import generate

    key = f"{scale}-{seed}-{until.isoformat() if until else 'default'}.sqlite"
    cached = Path(os.environ["BAOKE_HOME"]) / "generated-worlds" / key
    if not cached.exists():
        partial = cached.with_suffix(".partial")
        if until is None:
            generate(partial, scale, seed=seed)
        else:
            generate(partial, scale, seed=seed, until=until)
        partial.rename(cached)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, path)
    return path


def world_at(path: Path, clock: str, seed: int = 3) -> Path:
    """A small simulated world with its clock set to ``clock`` (ISO timestamp)."""
    from baoke_sim import store

    generated(path, "small", seed)
    with sqlite3.connect(path) as conn:
        store.set_meta(conn, clock=clock)
    return path


def insurer_files_since(world: Path, first_day: dt.date) -> None:
    """Keep only the world's insurer files dated ``first_day`` or later, as if the
    insurers had begun sending files then. A first run reads every file the inbox holds,
    one ledger row and batch each, about half a minute for the six years a world has;
    the tests that need no more than the policies now running (each a year long, so the
    latest policy of every insured vehicle) keep two years. The DMS and the OEM keep
    their whole history."""
    with sqlite3.connect(world) as conn:
        conn.execute("delete from insurer_rows where file_date < ?", (first_day.isoformat(),))


def connect(url: str) -> Any:
    conn = psycopg2.connect(url)
    ensure_raw_tables(conn)
    return conn


def rows(url: str, table: str) -> list[tuple]:
    """(key, version, hash) of every raw row: equal snapshots = the same data landed."""
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"select record_key, record_version, record_hash from {table} order by 1, 2")
        return cur.fetchall()


def batches(url: str, feed: str) -> list[dict]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "select entity, scope, business_date, extracted, loaded, rejected, duplicates_skipped, rejects_repeated"
            " from etl.load_batches"
            " where feed = %s order by batch_id",
            (feed,),
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=False)) for r in cur.fetchall()]


def scalar(url: str, sql: str, *params: Any) -> Any:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]
