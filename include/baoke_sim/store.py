"""Writing the simulated world's SQLite store (schema.sql): versions of DMS records,
the OEM's lists and the world settings. Records arrive as DataFrames and are turned
into JSON by pandas (in C), never row by row in Python."""

from __future__ import annotations

import json
import sqlite3
from importlib import resources
from pathlib import Path

import pandas as pd

#: Page cache for bulk writes (KiB, as SQLite's negative cache_size): the primary-key
#: B-trees then stay in memory instead of being re-read and re-written page by page.
BULK_CACHE_KIB = 1024 * 1024


def _sql(name: str) -> str:
    return (resources.files("baoke_sim") / name).read_text(encoding="utf-8")


def create(path: Path, bulk: bool = False) -> sqlite3.Connection:
    """A new, empty world store at ``path`` (an existing file is replaced). With
    ``bulk``, secondary indexes wait for ``finish`` (call it when the bulk write is done)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("pragma journal_mode = off")
    conn.execute("pragma synchronous = off")
    conn.executescript(_sql("schema.sql"))
    if bulk:
        conn.execute(f"pragma cache_size = -{BULK_CACHE_KIB}")
    else:
        finish(conn)
    return conn


def finish(conn: sqlite3.Connection) -> None:
    """Build the secondary indexes (idempotent) and the query planner's statistics."""
    conn.executescript(_sql("indexes.sql"))
    conn.execute("pragma analysis_limit = 1000")  # sampled statistics: seconds, not minutes
    conn.execute("analyze")
    conn.commit()


def set_meta(conn: sqlite3.Connection, **values: object) -> None:
    conn.executemany(
        "insert into meta (key, value) values (?, ?) on conflict (key) do update set value = excluded.value",
        [(key, str(value)) for key, value in values.items()],
    )
    conn.commit()


def get_meta(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("select key, value from meta"))


def to_json_lines(records: pd.DataFrame) -> list[str]:
    """One JSON object per row with exactly the frame's columns (NaN/None -> null)."""
    if records.empty:
        return []
    return records.to_json(orient="records", lines=True, force_ascii=False).splitlines()


def add_versions(
    conn: sqlite3.Connection,
    entity: str,
    records: pd.DataFrame,
    pk: str | list[str],
    dealer_code: pd.Series | None = None,
    visible_at: pd.Series | None = None,
    replace: bool = False,
) -> int:
    """Store one version per row of ``records`` (which holds the feeds.md fields,
    ``updated_at`` included). Returns the number of versions stored. With ``replace``
    a version with the same (entity, pk, updated_at) is overwritten: writers that may
    run again for the same day (the call center) stay idempotent. A key of several
    fields (``pk`` a list: an OEM recall item) is stored as their values joined by ``|``."""
    if records.empty:
        return 0
    names = [pk] if isinstance(pk, str) else pk
    keys = records[names[0]].astype(str)
    for name in names[1:]:
        keys = keys + "|" + records[name].astype(str)
    dealer = records["dealer_code"] if dealer_code is None else dealer_code
    visible = records["updated_at"] if visible_at is None else visible_at
    rows = zip(
        [entity] * len(records),
        keys.tolist(),
        dealer.where(dealer.notna(), None).tolist(),
        records["updated_at"].tolist(),
        visible.tolist(),
        to_json_lines(records),
        strict=False,
    )
    verb = "insert or replace" if replace else "insert"
    conn.executemany(
        f"{verb} into dms_versions (entity, pk, dealer_code, updated_at, visible_at, record) values (?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(records)


def add_oem_items(conn: sqlite3.Connection, items: pd.DataFrame, item_columns: list[str]) -> int:
    """Store OEM list items (columns dealer_code, period, generated_at, item_no + the item's)."""
    if items.empty:
        return 0
    rows = zip(
        items["dealer_code"].tolist(),
        items["period"].tolist(),
        items["generated_at"].tolist(),
        items["item_no"].tolist(),
        to_json_lines(items[item_columns]),
        strict=False,
    )
    conn.executemany(
        "insert into oem_lost_customers (dealer_code, period, generated_at, item_no, record) values (?, ?, ?, ?, ?)",
        rows,
    )
    return len(items)


def add_insurers(conn: sqlite3.Connection, insurers: list[tuple[str, str, str]]) -> None:
    conn.executemany("insert into insurers (insurer_code, name, encoding) values (?, ?, ?)", insurers)


def add_insurer_rows(conn: sqlite3.Connection, rows: pd.DataFrame, first_line: int) -> int:
    """Store file rows (insurer_code, kind, file_date, fields); line numbers continue
    from ``first_line`` so that rows from every chunk keep one order per file."""
    if rows.empty:
        return 0
    conn.executemany(
        "insert into insurer_rows (insurer_code, kind, file_date, line_no, fields) values (?, ?, ?, ?, ?)",
        zip(
            rows["insurer_code"].tolist(),
            rows["kind"].tolist(),
            rows["file_date"].tolist(),
            range(first_line, first_line + len(rows)),
            [json.dumps([str(v) for v in f], ensure_ascii=False) for f in rows["fields"]],
            strict=False,
        ),
    )
    return len(rows)
