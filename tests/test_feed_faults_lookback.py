"""The issue's first case, end to end through the DMS jobs: three repair orders whose
source holds ``"12,000"`` in ``mileage_km`` (persistently, in the DMS itself, not one
damaged answer) are re-read by the 2-day lookback on the days after they appear.

Before: rejected again on every run, against a small daily delta they passed
``BAOKE_MAX_REJECT_SHARE``, the batch failed and every dealer's lists stopped for days.
The promise (docs/feeds.md §5): each bad version is rejected once, counted once; the
good records always load; the dealer's lists are not held; a degraded batch is
reported, once, on the day it happened.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import psycopg2
import pytest

from baoke import feedreports
from baoke.extract import jobs
from baoke.outbound import held_because
from baoke_sim import store
from baoke_sim.connections import http_connection_uri
from baoke_sim.dms_api import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DmsApi
from baoke_sim.servers import ApiServer
from extract_support import batches, scalar, world_at

DEALER = "D001"
DAYS = [dt.date(2026, 11, 16), dt.date(2026, 11, 17), dt.date(2026, 11, 18), dt.date(2026, 11, 19)]
BAD_DAY = DAYS[1]  # the bad versions are made during the day before DAYS[1]


def damage_three_repair_orders(world: Path) -> list[tuple[str, str]]:
    """Write ``"12,000"`` into ``mileage_km`` of three of the dealer's repair-order
    versions made the day before ``BAD_DAY``, in the simulated DMS's own store: every
    listing that reaches them serves them so."""
    since = f"{BAD_DAY - dt.timedelta(days=1)}T00:00:00+08:00"
    until = f"{BAD_DAY}T00:00:00+08:00"
    end = f"{DAYS[-1] + dt.timedelta(days=1)}T00:00:00+08:00"
    with sqlite3.connect(world) as conn:
        rows = conn.execute(
            "select pk, updated_at, record from dms_versions v where entity = 'repair_orders' and dealer_code = ?"
            " and updated_at >= ? and updated_at < ? and visible_at = updated_at"
            # the version stays the order's latest through the test: every lookback meets it
            " and not exists (select 1 from dms_versions w where w.entity = v.entity and w.pk = v.pk"
            "   and w.updated_at > v.updated_at and w.updated_at < ?)"
            " order by updated_at, pk limit 3",
            (DEALER, since, until, end),
        ).fetchall()
        assert len(rows) == 3, "the small world changes at least three repair orders a day"
        for pk, updated_at, record in rows:
            damaged = {**json.loads(record), "mileage_km": "12,000"}
            conn.execute(
                "update dms_versions set record = ? where entity = 'repair_orders' and pk = ? and updated_at = ?",
                (json.dumps(damaged, ensure_ascii=False), pk, updated_at),
            )
    return [(pk, updated_at) for pk, updated_at, _ in rows]


@pytest.fixture
def world(tmp_path: Path) -> Path:
    return world_at(tmp_path / "world.sqlite", "2026-11-20T06:00:00+08:00")


def test_bad_records_reread_by_the_lookback_are_rejected_once_and_never_hold_the_lists(
    world: Path, fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = damage_three_repair_orders(world)
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", fresh_db)
    monkeypatch.setenv("BAOKE_LOOKBACK_DAYS", "2")
    monkeypatch.setenv("BAOKE_RECONCILE_WEEKDAY", "0")  # the daily windows only
    with ApiServer(DmsApi(world)) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_DMS_API", http_connection_uri(server.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        )
        for day in DAYS:
            with sqlite3.connect(world) as conn:  # the DMS as it was when the run for D began
                store.set_meta(conn, clock=f"{day}T00:00:00+08:00")
            jobs.dms_group(day)
            jobs.dms_dealer(DEALER, day)
            with psycopg2.connect(fresh_db) as conn:
                assert held_because(conn, day, DEALER) is None, f"{day}: the dealer's lists go out"

    rejects = scalar(
        fresh_db,
        "select count(*) from etl.rejects where entity = 'repair_orders' and field = 'mileage_km'"
        " and reason like 'unparseable integer%%'",
    )
    assert rejects == 3, "each bad version kept once, however often the lookback re-reads it"
    assert scalar(fresh_db, "select count(*) from etl.rejects") == 3
    for pk, version in bad:
        landed = "select count(*) from raw.dms_repair_orders where record_key = %s and record_version = %s"
        assert scalar(fresh_db, landed, pk, version) == 0, "a bad version never lands"

    orders = [b for b in batches(fresh_db, "dms") if (b["entity"], b["scope"]) == ("repair_orders", DEALER)]
    by_day = {b["business_date"]: b for b in orders}
    for batch in orders:
        assert batch["extracted"] == batch["loaded"] + batch["rejected"] + batch["duplicates_skipped"], batch
    assert by_day[BAD_DAY]["rejected"] == 3, "met on the day they were made"
    for later in DAYS[2:]:
        assert by_day[later]["rejected"] == 0, f"{later}: re-read, not rejected again"
    assert by_day[DAYS[2]]["rejects_repeated"] == 3, "the lookback re-read them: counted as skipped"

    with psycopg2.connect(fresh_db) as conn:
        reported = [(r.business_date, r.kind) for r in feedreports.for_day(conn, BAD_DAY, feed="dms")]
        later_reports = [r for day in DAYS[2:] for r in feedreports.for_day(conn, day, feed="dms")]
    assert later_reports == [], "nothing is reported again on the days after"
    degraded = by_day[BAD_DAY]["rejected"] > 0.1 * (by_day[BAD_DAY]["loaded"] + by_day[BAD_DAY]["rejected"])
    assert reported == ([(BAD_DAY, "degraded")] if degraded else [])
