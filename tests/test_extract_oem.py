"""The OEM feed end to end (docs/feeds.md §3): lists loaded once per dealer and month,
unpublished months tried again later, never a list published on or after D."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import pytest

from baoke.extract import oem
from baoke.extract.http import FeedError
from baoke_sim import store
from baoke_sim.faults import Fault, FaultPlan, FaultRule
from baoke_sim.oem_api import DEFAULT_API_KEY, OemApi
from baoke_sim.servers import ApiServer
from extract_support import batches, connect, rows, scalar, world_at

PAGE = 200


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return world_at(tmp_path_factory.mktemp("oem") / "world.sqlite", "2026-11-20T06:00:00+08:00")


def set_clock(world: Path, clock: str) -> None:
    with sqlite3.connect(world) as conn:
        store.set_meta(conn, clock=clock)


def run(
    url: str,
    world: Path,
    business_date: dt.date,
    faults: FaultPlan | None = None,
    key: str = DEFAULT_API_KEY,
    retries: int = 5,
) -> list[oem.PeriodOutcome]:
    conn = connect(url)
    try:
        with ApiServer(OemApi(world, faults=faults)) as server:
            client = oem.OemClient(server.url, key, timeout=1, retries=retries, backoff=0.05)
            return oem.extract(conn, client, "D001", business_date, history_months=3, page_size=PAGE)
    finally:
        conn.close()


def test_periods_are_the_months_before_d():
    assert oem.periods_to_read(dt.date(2026, 1, 15), 3) == ["2025-10", "2025-11", "2025-12"]


def test_lists_published_before_d_load_once_and_later_months_wait(fresh_db, world):
    set_clock(world, "2026-11-20T06:00:00+08:00")
    # D = Nov 3: October's list is published on Nov 3 itself, which the run for Nov 3 must not see.
    first = run(fresh_db, world, dt.date(2026, 11, 3))
    assert {o.period: o.status for o in first} == {
        "2026-08": "loaded",
        "2026-09": "loaded",
        "2026-10": "published_after_d",
    }
    assert all(o.result.extracted == o.result.loaded > 0 for o in first if o.result)
    # The next day picks October up, and does not reload the others.
    second = run(fresh_db, world, dt.date(2026, 11, 4))
    assert [(o.period, o.status) for o in second] == [("2026-10", "loaded")]
    assert run(fresh_db, world, dt.date(2026, 11, 4)) == []
    loaded = rows(fresh_db, "raw.oem_lost_customers")
    assert len(loaded) == len(set(loaded)) == sum(b["loaded"] for b in batches(fresh_db, "oem"))
    assert scalar(fresh_db, "select count(distinct record_version) from raw.oem_lost_customers") == 3


def test_an_unpublished_period_is_skipped_and_loaded_by_a_later_run(fresh_db, world):
    set_clock(world, "2026-11-02T12:00:00+08:00")  # October's list is not out yet
    outcomes = run(fresh_db, world, dt.date(2026, 11, 25))
    assert {o.period: o.status for o in outcomes}["2026-10"] == "not_published"
    set_clock(world, "2026-11-20T06:00:00+08:00")
    assert [o.period for o in run(fresh_db, world, dt.date(2026, 11, 25))] == ["2026-10"]


@pytest.mark.parametrize(
    "fault",
    [
        Fault.rate_limited(1),
        Fault.error(500),
        Fault.error(503),
        Fault.stall(3),
        Fault.repeat_page(),
        Fault.html_body(),
        Fault.truncated_body(),
        Fault.short_page(),
    ],
    ids=["429", "500", "503", "stall", "page twice", "HTML page", "cut short", "short of total"],
)
@pytest.mark.slow  # every fault on its own: make test
def test_transient_faults_load_the_same_rows_as_a_clean_run(fresh_db, world, warehouse_url, fault):
    set_clock(world, "2026-11-20T06:00:00+08:00")
    run(fresh_db, world, dt.date(2026, 11, 10))
    clean = rows(fresh_db, "raw.oem_lost_customers")
    with connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("truncate raw.oem_lost_customers, etl.load_batches cascade")
    plan = FaultPlan.script(
        FaultRule(fault, path="/oem/v1/lost-customers", nth=2), FaultRule(fault, path="/oem/v1/lost-customers", nth=5)
    )
    run(fresh_db, world, dt.date(2026, 11, 10), faults=plan)
    assert rows(fresh_db, "raw.oem_lost_customers") == clean
    for b in batches(fresh_db, "oem"):
        assert b["extracted"] == b["loaded"] + b["rejected"] + b["duplicates_skipped"]


def test_a_bad_api_key_fails_clearly(fresh_db, world):
    with pytest.raises(FeedError, match=r"403.*invalid_api_key.*oem_api: password = API key"):
        run(fresh_db, world, dt.date(2026, 11, 10), key="wrong")


def test_a_list_short_of_its_total_every_time_fails_naming_it_and_loads_nothing(fresh_db, world):
    set_clock(world, "2026-11-20T06:00:00+08:00")
    plan = FaultPlan([FaultRule(Fault.short_page(), path="/oem/v1/lost-customers", rate=1.0)])
    with pytest.raises(FeedError) as failure:
        run(fresh_db, world, dt.date(2026, 11, 10), faults=plan, retries=2)
    message = str(failure.value)
    found = re.fullmatch(
        r"OEM API: the list of dealer D001 for 2026-08 came to (\d+) items of its total (\d+)"
        r" \(http://127\.0\.0\.1:\d+/oem/v1/lost-customers\?dealer_code=D001&period=2026-08\);"
        r" nothing of it loaded; still so after 3 attempts",
        message,
    )
    assert found, message
    read, total = int(found[1]), int(found[2])
    assert 0 < read < total
    assert scalar(fresh_db, "select count(*) from etl.load_batches") == 0
    assert scalar(fresh_db, "select count(*) from raw.oem_lost_customers") == 0
    assert plan.requests_to("/oem/v1/lost-customers") >= 3, "the period was read three times"


# --- recalls: incremental windows, pages adding up to total ---------------------------------

LOOKBACK = dt.timedelta(days=2)


def run_recalls(
    url: str, world: Path, business_date: dt.date, faults: FaultPlan | None = None, retries: int = 5
) -> oem.BatchResult:
    conn = connect(url)
    try:
        with ApiServer(OemApi(world, faults=faults)) as server:
            client = oem.OemClient(server.url, DEFAULT_API_KEY, timeout=1, retries=retries, backoff=0.05)
            return oem.extract_recalls(conn, client, "D001", business_date, LOOKBACK, page_size=PAGE)
    finally:
        conn.close()


def recall_versions(world: Path, since: str, until: str) -> set[tuple[str, str]]:
    """(recall|vin, updated_at) of each item's latest version visible at the clock, when
    it was made in [since, until): what a window's read must load."""
    with sqlite3.connect(world) as conn:
        (clock,) = conn.execute("select value from meta where key = 'clock'").fetchone()
        return set(
            conn.execute(
                "select pk, updated_at from dms_versions v where entity = 'oem_recalls' and dealer_code = 'D001'"
                " and visible_at <= ? and updated_at >= ? and updated_at < ? and not exists (select 1 from"
                " dms_versions n where n.entity = v.entity and n.pk = v.pk and n.updated_at > v.updated_at"
                " and n.visible_at <= ?)",
                (clock, since, until, clock),
            ).fetchall()
        )


def test_recalls_load_every_item_paged_then_only_each_windows_changes(fresh_db, world):
    set_clock(world, "2026-11-20T06:00:00+08:00")
    first = run_recalls(fresh_db, world, dt.date(2026, 9, 1))
    expected = recall_versions(world, "", "2026-09-01T00:00:00+08:00")
    assert len(expected) > 2 * PAGE, "several pages"
    assert {(key, version) for key, version, _ in rows(fresh_db, "raw.oem_recalls")} == expected
    assert (first.loaded, first.rejected, first.duplicates_skipped) == (len(expected), 0, 0)

    second = run_recalls(fresh_db, world, dt.date(2026, 11, 1))
    changed = recall_versions(world, "2026-08-30T00:00:00+08:00", "2026-11-01T00:00:00+08:00")
    assert changed - expected, "completions in the second window"
    assert second.loaded == len(changed - expected)
    assert second.duplicates_skipped == len(changed & expected), "the lookback re-reads, loads nothing twice"
    landed = {(key, version) for key, version, _ in rows(fresh_db, "raw.oem_recalls")}
    assert landed == expected | changed
    assert scalar(
        fresh_db,
        "select window_since = '2026-08-30T00:00+08:00' and window_until = '2026-11-01T00:00+08:00'"
        " from etl.load_batches where entity = 'recalls' and business_date = '2026-11-01'",
    ), "the window ends at D 00:00 +08:00 and starts the lookback before the last one's end"
    again = run_recalls(fresh_db, world, dt.date(2026, 11, 1))
    overlap = recall_versions(world, "2026-10-30T00:00:00+08:00", "2026-11-01T00:00:00+08:00")
    assert (again.loaded, again.duplicates_skipped) == (0, len(overlap)), "a rerun of D reads its lookback only"
    for b in batches(fresh_db, "oem"):
        assert b["extracted"] == b["loaded"] + b["rejected"] + b["duplicates_skipped"]


@pytest.mark.parametrize("fault", [Fault.error(503), Fault.html_body(), Fault.repeat_page(), Fault.short_page()])
def test_recalls_survive_transient_faults_and_short_reads_with_the_clean_rows(fresh_db, world, fault):
    set_clock(world, "2026-11-20T06:00:00+08:00")
    run_recalls(fresh_db, world, dt.date(2026, 11, 10))
    clean = rows(fresh_db, "raw.oem_recalls")
    with connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("truncate raw.oem_recalls, etl.load_batches, etl.extract_state cascade")
    plan = FaultPlan.script(
        FaultRule(fault, path="/oem/v1/recalls", nth=2), FaultRule(fault, path="/oem/v1/recalls", nth=4)
    )
    run_recalls(fresh_db, world, dt.date(2026, 11, 10), faults=plan)
    assert rows(fresh_db, "raw.oem_recalls") == clean


def test_recalls_short_of_their_total_every_time_fail_load_nothing_and_keep_the_window(fresh_db, world):
    set_clock(world, "2026-11-20T06:00:00+08:00")
    plan = FaultPlan([FaultRule(Fault.short_page(), path="/oem/v1/recalls", rate=1.0)])
    with pytest.raises(FeedError) as failure:
        run_recalls(fresh_db, world, dt.date(2026, 11, 10), faults=plan, retries=2)
    message = str(failure.value)
    found = re.fullmatch(
        r"OEM API: the recalls of dealer D001 came to (\d+) items of its total (\d+)"
        r" \(http://127\.0\.0\.1:\d+/oem/v1/recalls\?dealer_code=D001&updated_until=2026-11-10T00%3A00%3A00%2B08%3A00\);"
        r" nothing of it loaded; still so after 3 attempts",
        message,
    )
    assert found, message
    assert 0 < int(found[1]) < int(found[2])
    assert scalar(fresh_db, "select count(*) from raw.oem_recalls") == 0
    assert scalar(fresh_db, "select count(*) from etl.extract_state") == 0, "the next run reads the same window"
