"""Freshness (docs/feeds.md §5): a source past its limit is reported stale for D, from
what the platform recorded when it loaded (etl.load_batches, etl.files, etl.sent_calls)
in a real PostgreSQL; a rerun of D recomputes the reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg2
import pytest

from baoke import feedreports
from baoke.dates import day_start
from baoke.extract import freshness

D = dt.date(2026, 11, 20)


@pytest.fixture
def conn(fresh_db: str):
    connection = psycopg2.connect(fresh_db)
    yield connection
    connection.close()


def batch(conn: Any, feed: str, scope: str, business_date: dt.date, newest: dt.datetime | None = None) -> None:
    with conn, conn.cursor() as cur:
        cur.execute(
            "insert into etl.load_batches (feed, entity, scope, source, raw_table, business_date, started_at,"
            " extracted, loaded, rejected, duplicates_skipped, newest_version_at)"
            " values (%s, 'e', %s, 'test', 'raw.t', %s, now(), 1, 1, 0, 0, %s)",
            (feed, scope, business_date, newest),
        )


def file(conn: Any, feed: str, folder: str, name: str, file_date: dt.date, status: str = "loaded") -> None:
    with conn, conn.cursor() as cur:
        cur.execute(
            "insert into etl.files (feed, name, folder, file_date, size_bytes, sha256, status)"
            " values (%s, %s, %s, %s, 10, md5(%s), %s)",
            (feed, name, folder, file_date, name + status, status),
        )


def stale(conn: Any, feed: str, business_date: dt.date = D) -> list[tuple[str, str | None, str]]:
    """(scope, dealer_code, message) of D's stale reports of ``feed``."""
    return [
        (r.scope, r.dealer_code, r.message)
        for r in feedreports.for_day(conn, business_date, feed=feed)
        if r.kind == "stale"
    ]


def test_a_dms_dealer_without_a_change_in_the_day_before_d_is_stale(conn) -> None:
    limit = day_start(D) - dt.timedelta(days=1)  # 2026-11-19 00:00 +08:00
    batch(conn, "dms", "D001", D, limit + dt.timedelta(hours=3))  # a change during the 19th
    batch(conn, "dms", "D002", D - dt.timedelta(days=1), limit - dt.timedelta(minutes=1))  # last on the 18th
    batch(conn, "dms", "D002", D, None)  # the run for D loaded nothing new
    batch(conn, "dms", "D002", D + dt.timedelta(days=1), limit + dt.timedelta(hours=30))  # a later run: not D's
    batch(conn, "dms", "D003", D, None)  # nothing of D003 ever loaded
    freshness.check(conn, "dms", D, ["D001", "D002", "D003"])
    assert stale(conn, "dms") == [
        (
            "D002",
            "D002",
            "DMS: no change for dealer D002 in the day before 2026-11-20 00:00"
            " (the newest is from 2026-11-18 23:59 +0800)",
        ),
        (
            "D003",
            "D003",
            "DMS: no change for dealer D003 in the day before 2026-11-20 00:00 (none was ever loaded)",
        ),
    ]

    batch(conn, "dms", "D002", D, limit)  # a rerun of D loads a change made at 19th 00:00
    freshness.check(conn, "dms", D, ["D001", "D002", "D003"])
    assert [s[0] for s in stale(conn, "dms")] == ["D003"], "a rerun recomputes: D002 caught up"


def test_an_insurer_without_a_file_for_two_days_is_stale(conn) -> None:
    file(conn, "insurer", "PICC", "POLICY_PICC_20261119.csv", D - dt.timedelta(days=1))
    file(conn, "insurer", "PAIC", "POLICY_PAIC_20261118.csv", D - dt.timedelta(days=2))  # D-2: still within
    file(conn, "insurer", "CPIC", "POLICY_CPIC_20261117.csv", D - dt.timedelta(days=3))
    file(conn, "insurer", "CPIC", "POLICY_CPIC_20261120.csv", D)  # dated D: the run for D does not read it
    file(conn, "insurer", "CCIC", "POLICY_CCIC_20261119.csv", D - dt.timedelta(days=1), status="incomplete")
    file(conn, "callcenter", "", "OUTCOMES_D001_20261110.csv", D - dt.timedelta(days=10))  # another feed
    freshness.check(conn, "insurer", D, [])
    assert stale(conn, "insurer") == [
        ("CCIC", None, "insurer CCIC: no file dated 2026-11-18 or later (no complete file yet)"),
        ("CPIC", None, "insurer CPIC: no file dated 2026-11-18 or later (the newest is dated 2026-11-17)"),
    ]
    [report] = [r for r in feedreports.for_day(conn, D, dealer_code="D042") if r.scope == "CPIC"]
    assert report.dealer_code is None, "a stale insurer affects every dealer"


def test_an_oem_list_not_published_by_the_5th_is_stale(conn) -> None:
    sixth = dt.date(2026, 12, 6)
    batch(conn, "oem", "D001 2026-11", dt.date(2026, 12, 4))
    batch(conn, "oem", "D002 2026-10", dt.date(2026, 11, 4))  # an older month only
    batch(conn, "oem", "D003 2026-11", dt.date(2026, 12, 7))  # loaded, but by a later run
    freshness.check(conn, "oem", dt.date(2026, 12, 5), ["D001", "D002", "D003"])
    assert stale(conn, "oem", dt.date(2026, 12, 5)) == [], "up to the 5th the list may still come"
    freshness.check(conn, "oem", sixth, ["D001", "D002", "D003"])
    assert stale(conn, "oem", sixth) == [
        ("D002", "D002", "OEM: the lost-customer list 2026-11 for D002 was not published by 2026-12-05"),
        ("D003", "D003", "OEM: the lost-customer list 2026-11 for D003 was not published by 2026-12-05"),
    ]


def test_a_missing_outcome_file_for_the_previous_list_is_stale(conn) -> None:
    with conn, conn.cursor() as cur:
        for call_id, list_date, dealer in (
            ("A", D - dt.timedelta(days=2), "D001"),
            ("B", D - dt.timedelta(days=1), "D001"),
            ("C", D - dt.timedelta(days=1), "D002"),
            ("E", D - dt.timedelta(days=3), "D003"),
            ("F", D, "D003"),  # D's own list: its outcomes come tomorrow
        ):
            cur.execute("insert into etl.sent_calls values (%s, %s, %s, 'C1', 'PHONE')", (call_id, list_date, dealer))
    file(conn, "callcenter", "", "OUTCOMES_D001_20261119.csv", D - dt.timedelta(days=1))
    file(conn, "callcenter", "", "OUTCOMES_D003_20261117.csv", D - dt.timedelta(days=3), status="rejected")
    file(conn, "callcenter", "", "OUTCOMES_D002_20261118.csv", D - dt.timedelta(days=2))  # not the previous list
    freshness.check(conn, "callcenter", D, [])
    assert stale(conn, "callcenter") == [
        ("D002", "D002", "call center: no outcome file OUTCOMES_D002_20261119.csv for D002's list of 2026-11-19")
    ]
    file(conn, "callcenter", "", "OUTCOMES_D002_20261119.csv", D - dt.timedelta(days=1))
    freshness.check(conn, "callcenter", D, [])
    assert stale(conn, "callcenter") == [], "the file came: a rerun of D no longer reports it"
