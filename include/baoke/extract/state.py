"""Incremental state: where each feed's last window ended, kept in the warehouse
(``etl.extract_state``) next to the data it describes, never in Airflow Variables, so it
commits in the same transaction as the batch that moved it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from baoke.dates import day_start


def iso(stamp: dt.datetime | None) -> str | None:
    """A window's end as a listing query sends it (None: no bound)."""
    return stamp.isoformat() if stamp else None


def high_water(conn: Any, feed: str, entity: str, scope: str) -> dt.datetime | None:
    with conn.cursor() as cur:
        cur.execute(
            "select high_water from etl.extract_state where feed = %s and entity = %s and scope = %s",
            (feed, entity, scope),
        )
        row = cur.fetchone()
    return row[0] if row else None


def window(
    conn: Any,
    feed: str,
    entity: str,
    scope: str,
    business_date: dt.date,
    lookback: dt.timedelta,
    deep: dt.timedelta | None = None,
) -> tuple[dt.datetime | None, dt.datetime]:
    """The window the run for ``business_date`` reads: it ends at ``D 00:00 +08:00``
    (nothing later is seen, so a backfill sees what that day saw) and starts
    ``lookback`` before the end of the last window read, or reaches back to the
    beginning (None) on the first run. A deep read (``deep``, the weekly one or
    ``baoke reconcile``) starts ``deep`` before D, or earlier if the daily window
    would: it finds changes whose ``updated_at`` is older than any daily window."""
    until = day_start(business_date)
    previous = high_water(conn, feed, entity, scope)
    if previous is None:
        return None, until
    since = min(previous, until) - lookback
    return (since if deep is None else min(since, until - deep)), until


def advance(cur: Any, feed: str, entity: str, scope: str, until: dt.datetime, batch_id: int) -> None:
    """Record that everything before ``until`` has been read (never moves backwards:
    a backfill of an old date leaves the mark of later runs in place)."""
    cur.execute(
        "insert into etl.extract_state (feed, entity, scope, high_water, batch_id) values (%s, %s, %s, %s, %s)"
        " on conflict (feed, entity, scope) do update set"
        "  high_water = greatest(etl.extract_state.high_water, excluded.high_water),"
        "  batch_id = excluded.batch_id, updated_at = now()",
        (feed, entity, scope, until, batch_id),
    )
