"""What a run prints: each DAG's outcome, then what the warehouse now holds.

Counts are read back from the warehouse, never assumed from what a job meant to do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg2

from baoke.runner import DagResult

#: The schemas a run writes to, in the order data flows through them.
SCHEMAS: tuple[str, ...] = ("raw", "etl", "rules", "staging", "intermediate", "marts")


def dag_line(result: DagResult) -> str:
    done = sum(1 for s in result.tasks.values() if s == "success")
    line = f"{result.dag_id}: {result.state} ({done}/{len(result.tasks)} tasks succeeded)"
    if result.failed_tasks:
        line += "; failed: " + ", ".join(result.failed_tasks)
    return line


def table_counts(url: str) -> list[tuple[str, str, int]]:
    """(schema, relation, rows) for every table and view in Baoke's schemas."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select table_schema, table_name from information_schema.tables"
                " where table_schema = any(%s) order by 1, 2",
                (list(SCHEMAS),),
            )
            relations = cur.fetchall()
            counts = []
            for schema, name in relations:
                cur.execute(f'select count(*) from "{schema}"."{name}"')
                (count,) = cur.fetchone() or (0,)  # count(*) always returns its one row
                counts.append((schema, name, count))
            return counts
    finally:
        conn.close()


def warehouse_summary(url: str) -> str:
    counts = [c for c in table_counts(url) if c[0] != "etl" or c[1] != "schema_migrations"]
    if not counts:
        return "warehouse: no tables yet"
    width = max(len(f"{s}.{t}") for s, t, _ in counts)
    lines = ["warehouse now holds:"] + [f"  {f'{s}.{t}':<{width}}  {n:>10,} rows" for s, t, n in counts]
    return "\n".join(lines)


def outbound_summary(business_date: dt.date, location: str | None = None) -> str:
    """Where D's call-center files are and their counts per reason, read back from the
    manifests under ``<outbound>/<D>/`` (default location: ``OUTBOUND_DIR``)."""
    from baoke import outbound
    from baoke.config import get_settings
    from baoke.filedrop import public_location

    location = location or get_settings().folder("OUTBOUND_DIR")
    try:
        where, manifests = outbound.read_manifests(location, business_date)
    except Exception as err:  # the end of a run reports, it does not fail
        return f"call lists for {business_date.isoformat()}: cannot read {public_location(location)}: {err}"
    if not manifests:
        return f"call lists for {business_date.isoformat()}: none in {where}"
    lines = [f"call lists for {business_date.isoformat()} in {where}:"]
    for dealer_code, manifest in manifests.items():
        lines.append(
            "  "
            + (outbound.describe(manifest) if manifest is not None else f"{dealer_code}: incomplete (no manifest.json)")
        )
    return "\n".join(lines)


@contextlib.contextmanager
def output_to(path: Path | None) -> Iterator[None]:
    """Send this process's stdout and stderr (Airflow's and dbt's logs included, which
    write to the file descriptors directly) to ``path``; None leaves them alone."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def log_tail(path: Path, lines: int = 40) -> str:
    """The end of a run's log, where a failure's reason is."""
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(["--- last lines of " + str(path) + " ---", *text[-lines:]])
