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
