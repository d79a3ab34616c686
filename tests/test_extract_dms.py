"""The DMS feed end to end: the real extractor against the simulated DMS API (a real
HTTP server) into a real PostgreSQL, with every fault of docs/feeds.md §1.

The reference is a clean run; under each fault the raw tables must hold exactly the
same rows (no loss, no duplicate), and every batch must account for every record
(extracted = loaded + rejected + duplicates skipped).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from baoke.extract import dms
from baoke.extract.catalog import DMS
from baoke.extract.http import FeedError
from baoke_sim.dms_api import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DmsApi
from baoke_sim.faults import Fault, FaultPlan, FaultRule
from baoke_sim.servers import ApiServer
from extract_support import batches, connect, rows, scalar, world_at

D = dt.date(2026, 11, 18)
LOOKBACK = dt.timedelta(days=2)
PAGE = 500  # small pages: many requests, so faults land mid-paging


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return world_at(tmp_path_factory.mktemp("dms") / "world.sqlite", "2026-11-20T06:00:00+08:00")


def run(
    url: str,
    world: Path,
    business_date: dt.date = D,
    faults: FaultPlan | None = None,
    timeout: float = 5,
    secret: str = DEFAULT_CLIENT_SECRET,
) -> list[dms.BatchResult]:
    """Extract every DMS entity for D001 (and the group listings) through a real server."""
    conn = connect(url)
    try:
        with ApiServer(DmsApi(world, faults=faults)) as server:
            client = dms.DmsClient(server.url, DEFAULT_CLIENT_ID, secret, timeout=timeout, backoff=0.05)
            return [dms.extract(conn, client, name, "D001", business_date, LOOKBACK, PAGE) for name in DMS]
    finally:
        conn.close()


def snapshot(url: str) -> dict[str, list[tuple]]:
    return {e.table: rows(url, e.table) for e in DMS.values()}


@pytest.fixture(scope="module")
def clean(world: Path, warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    """What a fault-free run of D loads (in its own database)."""
    import psycopg2

    from baoke.migrate import migrate

    admin = psycopg2.connect(warehouse_url)
    admin.autocommit = True
    admin.cursor().execute("create database dms_clean_reference")
    admin.close()
    url = warehouse_url.rsplit("/", 1)[0] + "/dms_clean_reference"
    migrate(url)
    run(url, world)
    return snapshot(url)


def assert_accounted(url: str) -> None:
    for batch in batches(url, "dms"):
        assert batch["extracted"] == batch["loaded"] + batch["rejected"] + batch["duplicates_skipped"], batch


def test_clean_run_loads_every_record_changed_before_d_and_nothing_later(fresh_db, world, clean):
    results = run(fresh_db, world)
    assert snapshot(fresh_db) == clean
    assert all(len(set(r)) == len(r) for r in clean.values()), "no version twice"
    loaded = {r.table: r.loaded for r in results}
    assert loaded["raw.dms_repair_orders"] > 10_000
    assert loaded["raw.dms_customers"] > 1_000
    assert loaded["raw.dms_complaints"] > 10, "complaints are extracted per dealer like every DMS entity"
    cutoff = dt.datetime(2026, 11, 18, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    for entity in DMS.values():
        latest = scalar(fresh_db, f"select max(version_at) from {entity.table}")
        assert latest < cutoff, f"{entity.table}: the run for D read a change made after D 00:00"
    assert_accounted(fresh_db)


def test_second_run_of_the_same_date_loads_nothing(fresh_db, world, clean):
    run(fresh_db, world)
    again = run(fresh_db, world)
    assert sum(r.loaded for r in again) == 0
    assert snapshot(fresh_db) == clean
    assert_accounted(fresh_db)


def test_next_day_reads_only_the_window_and_skips_what_the_lookback_rereads(fresh_db, world):
    run(fresh_db, world)
    next_day = run(fresh_db, world, D + dt.timedelta(days=1))
    orders = next(r for r in next_day if r.table == "raw.dms_repair_orders")
    assert 0 < orders.extracted < 500, "an incremental run reads a few days, not the history"
    assert orders.duplicates_skipped > 0, "the 2-day lookback re-reads versions already loaded"
    assert orders.loaded > 0
    table = rows(fresh_db, "raw.dms_repair_orders")
    assert len(set(table)) == len(table)
    with connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute(
            "select window_since, window_until from etl.load_batches where entity = 'repair_orders'"
            " order by batch_id desc limit 1"
        )
        since, until = cur.fetchone()
    assert until - since == dt.timedelta(days=1) + LOOKBACK


FAULTS = {
    "429 with Retry-After": Fault.rate_limited(1),
    "500": Fault.error(500),
    "502": Fault.error(502),
    "503": Fault.error(503),
    "stall past the timeout": Fault.stall(3),
    "token expired mid-paging": Fault.token_expired(),
    "page served twice": Fault.repeat_page(),
    "200 with a gateway's HTML page": Fault.html_body(),
    "200 cut short, connection dropped": Fault.truncated_body(),
    "200 cut short, served as complete": Fault.truncated_body(share=0.8, whole_length=False),
}


@pytest.mark.slow  # every fault on its own (make test); the random mix below stays in make test-fast
@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
def test_each_fault_is_survived_and_the_data_equals_a_clean_run(fresh_db, world, clean, fault):
    plan = FaultPlan.script(
        FaultRule(fault, path="/v1/repair_orders", nth=3), FaultRule(fault, path="/v1/customers", nth=2)
    )
    results = run(fresh_db, world, faults=plan, timeout=1)
    assert snapshot(fresh_db) == clean
    assert_accounted(fresh_db)
    if fault.kind == "repeat_page":
        assert sum(r.duplicates_skipped for r in results) >= PAGE, "the repeated page is counted, not loaded"


def test_random_faults_everywhere_still_load_exactly_the_clean_data(fresh_db, world, clean):
    plan = FaultPlan.random(
        0.15,
        seed=4,
        faults=(
            Fault.rate_limited(1),
            Fault.error(500),
            Fault.error(503),
            Fault.token_expired(),
            Fault.repeat_page(),
            Fault.html_body(),
            Fault.truncated_body(),
        ),
    )
    run(fresh_db, world, faults=plan)
    assert snapshot(fresh_db) == clean
    assert_accounted(fresh_db)


def test_a_token_answered_with_an_html_page_is_asked_again(fresh_db, world, clean):
    plan = FaultPlan.script(FaultRule(Fault.html_body(), path="/oauth/token", nth=1))
    run(fresh_db, world, faults=plan)
    assert plan.requests_to("/oauth/token") == 2
    assert snapshot(fresh_db) == clean


UNREADABLE = {
    "HTML page": (
        Fault.html_body(),
        r"answered 200 with a body that is not a JSON page .*first bytes: '<!DOCTYPE html>",
    ),
    "cut short, connection dropped": (
        Fault.truncated_body(),
        r"answered with a body cut short \(Connection broken: IncompleteRead\(\d+ bytes read",
    ),
    "cut short, served as complete": (
        Fault.truncated_body(whole_length=False),
        r"answered 200 with a body that is not a JSON page .*first bytes: '\{\"data\": \[\{",
    ),
}


@pytest.mark.parametrize(("fault", "says"), list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_a_body_unreadable_every_time_fails_naming_the_feed_the_url_and_the_bytes(fresh_db, world, fault, says):
    plan = FaultPlan([FaultRule(fault, path="/v1/customers", rate=1.0)])
    conn = connect(fresh_db)
    try:
        with ApiServer(DmsApi(world, faults=plan)) as server:
            url = server.url
            client = dms.DmsClient(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, retries=2, backoff=0.01)
            with pytest.raises(FeedError) as failure:
                dms.extract(conn, client, "customers", "D001", D, LOOKBACK, PAGE)
    finally:
        conn.close()
    message = str(failure.value)
    assert message.startswith(f"DMS API: GET {url}/v1/customers?dealer_code=D001&updated_until=2026-11-18")
    assert re.search(says, message), message
    assert message.endswith("still so after 3 attempts")
    assert plan.requests_to("/v1/customers") == 3, "asked again twice (retries=2), then failed"
    assert scalar(fresh_db, "select count(*) from etl.load_batches") == 0
    assert scalar(fresh_db, "select count(*) from raw.dms_customers") == 0


def test_bad_credentials_fail_clearly(fresh_db, world):
    with pytest.raises(FeedError, match=r"401.*client_id, password = client_secret"):
        run(fresh_db, world, secret="wrong")
    assert scalar(fresh_db, "select count(*) from etl.load_batches") == 0


def test_a_bad_record_is_rejected_with_its_reason_and_the_others_load(fresh_db, world, clean):
    plan = FaultPlan.script(
        FaultRule(Fault.bad_record("bad_updated_at", row=7), path="/v1/repair_orders", nth=2),
        FaultRule(Fault.bad_record("null_pk", row=3), path="/v1/customers", nth=1),
    )
    run(fresh_db, world, faults=plan)
    assert_accounted(fresh_db)
    with connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("select entity, locator, field, reason from etl.rejects order by entity")
        rejects = cur.fetchall()
    assert [(e, f) for e, _, f, _ in rejects] == [("customers", "customer_id"), ("repair_orders", "updated_at")]
    assert rejects[0][1] == "page 1 row 4"
    assert rejects[1][1] == "page 2 row 8"
    assert rejects[0][3] == "missing key"
    assert rejects[1][3].startswith("unparseable timestamp")
    landed = rows(fresh_db, "raw.dms_repair_orders")
    assert len(landed) == len(clean["raw.dms_repair_orders"]) - 1
    assert set(landed) < set(clean["raw.dms_repair_orders"])


def test_too_many_new_rejects_load_the_good_records_and_report_the_batch_degraded(fresh_db, world, monkeypatch):
    conn = connect(fresh_db)
    plan = FaultPlan.script(FaultRule(Fault.bad_record("null_pk", row=0), path="/v1/dealers", nth=1))
    with ApiServer(DmsApi(world, faults=plan)) as server:
        client = dms.DmsClient(server.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        result = dms.extract(conn, client, "dealers", "", D, LOOKBACK, max_reject_share=0.1)
    conn.close()
    assert result.degraded
    assert scalar(fresh_db, "select count(*) from raw.dms_dealers") == result.loaded == result.extracted - 1
    message = scalar(fresh_db, "select message from etl.feed_reports where kind = 'degraded' and feed = 'dms'")
    assert "1 of" in message
    assert "page 1 row 1" in message


def test_numbers_with_separators_and_null_timestamps_are_rejected_naming_the_field(fresh_db, world, clean):
    plan = FaultPlan.script(
        FaultRule(Fault.bad_record("bad_number", row=4), path="/v1/repair_orders", nth=2),
        FaultRule(Fault.bad_record("null_updated_at", row=2), path="/v1/customers", nth=1),
        FaultRule(Fault.bad_record("unannounced_field", row=0), path="/v1/vehicles", nth=1),
    )
    run(fresh_db, world, faults=plan)
    assert_accounted(fresh_db)
    with connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("select entity, locator, field, reason, record from etl.rejects order by entity")
        rejects = cur.fetchall()
    assert [(e, loc, f) for e, loc, f, _, _ in rejects] == [
        ("customers", "page 1 row 3", "updated_at"),
        ("repair_orders", "page 2 row 5", "mileage_km"),
    ]
    assert rejects[0][3] == "missing required field"
    assert re.fullmatch(r"unparseable integer: '\d{1,3}(,\d{3})+'", rejects[1][3])
    for table in ("raw.dms_customers", "raw.dms_repair_orders"):
        assert set(rows(fresh_db, table)) < set(clean[table])
        assert len(rows(fresh_db, table)) == len(clean[table]) - 1
    vehicles = rows(fresh_db, "raw.dms_vehicles")
    assert [(k, v) for k, v, _ in vehicles] == [(k, v) for k, v, _ in clean["raw.dms_vehicles"]], "all loaded"
    assert scalar(fresh_db, "select count(*) from raw.dms_vehicles where record ? 'dms_build'") == 1


def test_a_field_renamed_by_a_dms_upgrade_is_rejected_naming_it_and_the_new_name_reported(fresh_db, world, clean):
    """The issue's case: a DMS upgrade renames `mobile` to `phone`. Before, 0 rejects and a
    green build; customers silently dropped to the exceptions file."""
    plan = FaultPlan.script(FaultRule(Fault.bad_record("renamed_field", row=1), path="/v1/customers", nth=1))
    run(fresh_db, world, faults=plan)
    assert_accounted(fresh_db)
    with connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("select entity, locator, field, reason from etl.rejects")
        [(entity, locator, field, reason)] = cur.fetchall()
        cur.execute("select entity, field, first_locator from etl.unannounced_fields")
        unannounced = cur.fetchall()
        cur.execute("select kind, subject from etl.feed_reports where feed = 'dms' and kind = 'unannounced_field'")
        reported = cur.fetchall()
    assert (entity, locator, field) == ("customers", "page 1 row 2", "mobile")
    assert reason.startswith("missing field 'mobile'")
    assert unannounced == [("customers", "phone", "page 1 row 2")]
    assert reported == [("unannounced_field", "customers.phone")]
    assert len(rows(fresh_db, "raw.dms_customers")) == len(clean["raw.dms_customers"]) - 1
