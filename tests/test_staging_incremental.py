"""Incremental staging, and int_visits after it: a daily build merges only the records
touched since the last one, and always ends with exactly the rows a build from all of raw
would give."""

from __future__ import annotations

import contextlib
import datetime as dt
import json

import psycopg2
import pytest

from baoke.dbt import run_dbt
from baoke.extract.catalog import DMS, INSURER, OEM_LOST_CUSTOMERS
from baoke.extract.loader import Batch, ensure_raw_tables
from dbt_support import target_for

# every test here runs dbt
pytestmark = pytest.mark.slow

MODELS = "stg_dms__repair_orders stg_insurer__policies stg_dms__customers int_customers_resolved int_visits"


def _order(ro: str, updated_at: str, status: str = "open") -> dict:
    return {
        "ro_number": ro,
        "dealer_code": "D001",
        "vin": f"VIN{ro}",
        "customer_id": "C1",
        "open_date": "2026-11-01",
        "status": status,
        "service_type": "MAINTENANCE",
        "updated_at": updated_at,
    }


def _policy(number: str, issued: str) -> dict:
    return {
        "保单号": number,
        "车架号": "VIN1",
        "起保日期": "2026-11-01",
        "终保日期": "2027-10-31",
        "签单日期": issued,
        "保费": "950.00",
        "险种": "商业险",
        "被保险人": "张三",
        "联系电话": "13800000001",
    }


def _customer(customer_id: str, updated_at: str, merged_into: str | None = None) -> dict:
    return {"customer_id": customer_id, "updated_at": updated_at, "merged_into_customer_id": merged_into}


def _load_orders(url: str, *orders: dict, run_date: dt.date = dt.date(2026, 11, 20)) -> int:
    return _load_dms(url, "repair_orders", *orders, run_date=run_date)


def _load_dms(url: str, entity: str, *records: dict, run_date: dt.date = dt.date(2026, 11, 20)) -> int:
    """Load records as the run for ``run_date`` would (by default a run after every
    business date the tests build: the rows count as history loaded up front)."""
    with contextlib.closing(psycopg2.connect(url)) as conn:
        ensure_raw_tables(conn)
        with Batch.open(conn, DMS[entity], "D001", "test", run_date) as batch:
            for n, record in enumerate(records):  # the contract's other fields, null
                full = {**dict.fromkeys(DMS[entity].columns), **record}
                batch.add(full, f"row {n}", record["updated_at"], record["updated_at"])
            return _settled(conn, batch.load().batch_id)


def _load_policy_file(url: str, file_date: str, *policies: dict) -> int:
    """A policy file as the insurer loader leaves it: its batch and its ledger row."""
    with contextlib.closing(psycopg2.connect(url)) as conn:
        ensure_raw_tables(conn)
        with Batch.open(
            conn, INSURER["POLICY"], "PICC", f"POLICY_PICC_{file_date}.csv", dt.date(2026, 11, 20)
        ) as batch:
            for n, policy in enumerate(policies):  # the file's other columns, empty
                row = {**dict.fromkeys(INSURER["POLICY"].columns, ""), **policy}
                batch.add(row, f"line {n + 2}", f"{file_date}:{n + 2}", f"{file_date}T00:00:00+08:00")
            batch_id = batch.load().batch_id
        with conn, conn.cursor() as cur:
            cur.execute(
                "insert into etl.files (feed, name, folder, file_date, size_bytes, sha256, status, batch_id)"
                " values ('insurer', %s, 'PICC', %s, 1, %s, 'loaded', %s)",
                (f"POLICY_PICC_{file_date}.csv", file_date, f"sha-{batch_id}", batch_id),
            )
        return _settled(conn, batch_id)


def _settled(conn, batch_id: int) -> int:
    """Date the batch two minutes back: a build merges only batches committed a minute
    before it began (one committing while it runs is merged next time)."""
    with conn, conn.cursor() as cur:
        cur.execute(
            "update etl.load_batches set finished_at = finished_at - interval '2 minutes' where batch_id = %s",
            (batch_id,),
        )
    return batch_id


def _build(url: str, day: str, full_refresh: bool = False) -> None:
    dbt_vars = json.dumps({"business_date": day})
    args = ["run", "--quiet", "--select", *MODELS.split(), "--vars", dbt_vars, *target_for(dbt_vars)]
    assert run_dbt(args + (["--full-refresh"] if full_refresh else []), url), f"dbt run for {day} failed"


def _state(url: str) -> dict:
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute("select ro_number, ro_status, updated_at from staging.stg_dms__repair_orders order by 1")
        orders = cur.fetchall()
        cur.execute("select policy_no, issue_date from staging.stg_insurer__policies order by 1")
        policies = cur.fetchall()
        # the raw version each staging row was taken from (the same whether merged or rebuilt)
        cur.execute(
            "select ro_number, source_version_at, source_batch_id, source_locator from staging.stg_dms__repair_orders"
            " union all select policy_no, source_version_at, source_batch_id, source_locator"
            " from staging.stg_insurer__policies order by 1"
        )
        sources = cur.fetchall()
        cur.execute("select ro_number, merged_for_date::text from staging.stg_dms__repair_orders order by 1")
        merged_for = dict(cur.fetchall())
        cur.execute("select ro_number, merged_for_date::text from intermediate.int_visits order by 1")
        visits_merged_for = dict(cur.fetchall())
        cur.execute("select ro_number, customer_id, visit_date::text from intermediate.int_visits order by 1")
        visits = cur.fetchall()
        cur.execute("select model, business_date::text, full_rebuild from etl.staging_builds order by 1")
        builds = {model: (day, full) for model, day, full in cur.fetchall()}
    return {
        "orders": orders,
        "policies": policies,
        "sources": sources,
        "visits": visits,
        "builds": builds,
        "merged_for": merged_for,
        "visits_merged_for": visits_merged_for,
    }


def _rebuilt_from_raw(url: str, day: str) -> dict:
    _build(url, day, full_refresh=True)
    return _state(url)


@pytest.fixture
def db(dbt_db: str) -> str:
    _load_orders(dbt_db, _order("R1", "2026-11-01T10:00:00+08:00"), _order("R2", "2026-11-02T10:00:00+08:00"))
    _load_policy_file(dbt_db, "2026-11-05", _policy("P1", "2026-11-04"))
    _build(dbt_db, "2026-11-10")
    return dbt_db


def test_daily_builds_merge_what_changed_and_equal_a_build_from_raw(db: str):
    assert _state(db)["builds"]["stg_dms__repair_orders"] == ("2026-11-10", True), "the first build reads all of raw"

    _load_orders(
        db,
        _order("R1", "2026-11-10T10:00:00+08:00", status="closed"),  # a new version
        _order("R2", "2026-10-30T10:00:00+08:00", status="void"),  # arrives late, older than the one kept
        _order("R3", "2026-11-10T09:00:00+08:00"),  # a new record
        _order("R4", "2026-11-12T09:00:00+08:00"),
    )  # made after D 00:00: not yet
    _load_policy_file(db, "2026-11-10", _policy("P1", "2026-11-09"), _policy("P2", "2026-11-09"))
    _build(db, "2026-11-11")
    daily = _state(db)
    assert daily["builds"]["stg_dms__repair_orders"] == ("2026-11-11", False), "merged, not rebuilt"
    assert [(ro, status) for ro, status, _ in daily["orders"]] == [("R1", "closed"), ("R2", "open"), ("R3", "open")]
    assert daily["policies"] == [("P1", dt.date(2026, 11, 9)), ("P2", dt.date(2026, 11, 9))]
    assert daily["merged_for"] == {"R1": "2026-11-11", "R2": "2026-11-10", "R3": "2026-11-11"}, (
        "only the records whose latest version changed are rewritten (R2 keeps the version it held)"
    )

    _load_policy_file(db, "2026-11-12", _policy("P1", "2026-11-01"))  # a later file, an older issue date: loses
    _build(db, "2026-11-13")  # R4 was loaded before, and is made before this D
    merged = _state(db)
    assert [ro for ro, _, _ in merged["orders"]] == ["R1", "R2", "R3", "R4"]
    assert merged["policies"] == [("P1", dt.date(2026, 11, 9)), ("P2", dt.date(2026, 11, 9))]
    assert merged["merged_for"] == {"R1": "2026-11-11", "R2": "2026-11-10", "R3": "2026-11-11", "R4": "2026-11-13"}
    ignored = ("builds", "merged_for", "visits_merged_for")
    assert {k: v for k, v in merged.items() if k not in ignored} == {
        k: v for k, v in _rebuilt_from_raw(db, "2026-11-13").items() if k not in ignored
    }


def test_a_backfill_rebuilds_the_past_from_raw(db: str):
    _load_orders(
        db, _order("R1", "2026-11-10T10:00:00+08:00", status="closed"), _order("R3", "2026-11-10T09:00:00+08:00")
    )
    _build(db, "2026-11-11")
    _build(db, "2026-11-10")  # back to an earlier D
    state = _state(db)
    assert state["builds"]["stg_dms__repair_orders"] == ("2026-11-10", True)
    assert [(ro, status) for ro, status, _ in state["orders"]] == [("R1", "open"), ("R2", "open")]


def test_a_superseded_file_is_taken_out_by_a_rebuild(db: str):
    batch = _load_policy_file(db, "2026-11-08", _policy("P9", "2026-11-07"))
    _build(db, "2026-11-11")
    assert ("P9", dt.date(2026, 11, 7)) in _state(db)["policies"]
    with contextlib.closing(psycopg2.connect(db)) as conn, conn, conn.cursor() as cur:  # a correction replaced the file
        cur.execute("update etl.files set status = 'superseded' where batch_id = %s", (batch,))
    _build(db, "2026-11-12")
    state = _state(db)
    assert state["builds"]["stg_insurer__policies"] == ("2026-11-12", True)
    assert state["builds"]["stg_dms__repair_orders"] == ("2026-11-12", False), "other models still merge"
    assert state["policies"] == [("P1", dt.date(2026, 11, 4))]


def test_visits_follow_changed_orders_merges_and_close_dates(db: str):
    closed = {"status": "closed", "service_type": "REPAIR"}
    _load_dms(db, "customers", _customer("A", "2026-11-01T10:00:00+08:00"), _customer("C", "2026-11-01T10:00:00+08:00"))
    _load_orders(
        db,
        {**_order("R1", "2026-11-10T10:00:00+08:00"), **closed, "close_date": "2026-11-10"},
        {**_order("R3", "2026-11-10T11:00:00+08:00"), **closed, "customer_id": "A", "close_date": "2026-11-10"},
    )
    _build(db, "2026-11-11")
    assert _state(db)["visits"] == [("R1", "C1", "2026-11-10"), ("R3", "A", "2026-11-10")]
    assert _state(db)["builds"]["int_visits"] == ("2026-11-11", False), "merged, not rebuilt"

    _load_dms(db, "customers", _customer("A", "2026-11-11T10:00:00+08:00", merged_into="C"))  # no order changes
    _load_orders(db, {**_order("R5", "2026-11-11T12:00:00+08:00"), **closed, "close_date": "2026-11-13"})  # dated ahead
    _build(db, "2026-11-12")
    assert _state(db)["visits"] == [("R1", "C1", "2026-11-10"), ("R3", "C", "2026-11-10")], "R3 counts for C now"

    _load_orders(db, {**_order("R1", "2026-11-12T10:00:00+08:00"), "status": "void"})
    _load_dms(db, "customers", _customer("A", "2026-11-12T10:00:00+08:00"))  # the merge undone
    _build(db, "2026-11-14")
    state = _state(db)
    assert state["visits"] == [("R3", "A", "2026-11-10"), ("R5", "C1", "2026-11-13")], (
        "R1 voided, R3 back with A, R5's close date reached"
    )
    assert state["builds"]["int_visits"] == ("2026-11-14", False)
    assert state["visits_merged_for"] == {"R3": "2026-11-14", "R5": "2026-11-14"}, "the rows this build wrote"
    assert state["visits"] == _rebuilt_from_raw(db, "2026-11-14")["visits"]


def test_a_late_order_loaded_just_before_the_build_is_a_visit_that_day(db: str):
    """A repair order written late (its version dated before the last build), in a batch
    committed seconds before the build - the extraction DAG triggers the warehouse at
    once: staging merges it, and int_visits follows what staging merged, not only the
    batches staging has recorded (a batch committed less than a minute before a build is
    recorded at the next one). Before, the visit reached int_visits a day late."""
    closed = {"status": "closed", "service_type": "REPAIR"}
    batch_id = _load_orders(db, {**_order("R7", "2026-11-08T10:00:00+08:00"), **closed, "close_date": "2026-11-08"})
    with contextlib.closing(psycopg2.connect(db)) as conn, conn, conn.cursor() as cur:
        cur.execute("update etl.load_batches set finished_at = now() where batch_id = %s", (batch_id,))
    _build(db, "2026-11-11")
    state = _state(db)
    assert ("R7", "C1", "2026-11-08") in state["visits"]
    assert state["visits_merged_for"]["R7"] == "2026-11-11"


def test_a_rebuild_of_a_past_day_leaves_out_what_was_written_late(fresh_db: str):
    """Staging as of D is what the run for D could know: a version dated before D but
    loaded by a later run (written late in the DMS) is left out of a rebuild of D, which
    therefore reproduces D (issue 15: a wrong day can be rebuilt). A D before the first
    load (a backfill of history) sees every version dated before it."""
    _load_orders(fresh_db, _order("R8", "2026-11-03T10:00:00+08:00"), run_date=dt.date(2026, 11, 6))
    closed = {"status": "closed", "service_type": "REPAIR", "close_date": "2026-11-07"}
    _load_orders(fresh_db, {**_order("R8", "2026-11-07T10:00:00+08:00"), **closed}, run_date=dt.date(2026, 11, 9))

    _build(fresh_db, "2026-11-08", full_refresh=True)
    assert [(ro, status) for ro, status, _ in _state(fresh_db)["orders"]] == [("R8", "open")], (
        "the closing version was loaded by the run for 11-09: the run for 11-08 never saw it"
    )
    _build(fresh_db, "2026-11-09", full_refresh=True)
    assert [(ro, status) for ro, status, _ in _state(fresh_db)["orders"]] == [("R8", "closed")]
    _build(fresh_db, "2026-11-06", full_refresh=True)
    assert [(ro, status) for ro, status, _ in _state(fresh_db)["orders"]] == [("R8", "open")]
    _build(fresh_db, "2026-11-05", full_refresh=True)
    assert [(ro, status) for ro, status, _ in _state(fresh_db)["orders"]] == [("R8", "open")], (
        "11-05 is before the first load (by the run for 11-06): every version dated before it counts"
    )


def test_a_warehouse_staged_before_source_versions_is_upgraded_by_its_migration(db: str):
    """Migration 006 adds the source-version columns to staging tables built before them
    (dbt adds none to an existing incremental table) and has the next build fill them
    from all of raw."""
    from baoke.migrate import migrate

    with contextlib.closing(psycopg2.connect(db)) as conn, conn, conn.cursor() as cur:  # the schema before 006
        cur.execute(
            "alter table staging.stg_dms__repair_orders drop column source_version_at,"
            " drop column source_batch_id, drop column source_locator, drop column merged_for_date"
        )
        cur.execute("alter table intermediate.int_visits drop column merged_for_date")
        cur.execute(
            "select indexrelid::regclass::text from pg_index"
            " where indrelid = 'staging.stg_dms__customers'::regclass and indisunique"
        )
        cur.execute(f"drop index {cur.fetchone()[0]}")  # as the small models (dealers, ...) had none
        cur.execute("delete from etl.schema_migrations where name = '006_staging_source_versions.sql'")
    assert migrate(db) == ["006_staging_source_versions.sql"]
    with contextlib.closing(psycopg2.connect(db)) as conn, conn.cursor() as cur:
        cur.execute(
            "select count(*) from pg_index where indrelid = 'staging.stg_dms__repair_orders'::regclass and indisunique"
        )
        assert cur.fetchone() == (1,), "the key's unique index (dbt's) is not doubled"
        cur.execute(
            "select count(*) from pg_index where indrelid = 'staging.stg_dms__customers'::regclass and indisunique"
        )
        assert cur.fetchone() == (1,), "one for a key that had none"
    _load_orders(db, _order("R1", "2026-11-10T10:00:00+08:00", status="closed"))
    _build(db, "2026-11-11")
    upgraded = _state(db)
    assert upgraded["builds"]["stg_dms__repair_orders"] == ("2026-11-11", True), "rebuilt from raw once"
    assert set(upgraded["merged_for"].values()) == {"2026-11-11"}
    assert upgraded["builds"]["int_visits"] == ("2026-11-11", True)
    assert {k: v for k, v in upgraded.items() if k != "builds"} == {
        k: v for k, v in _rebuilt_from_raw(db, "2026-11-11").items() if k != "builds"
    }
    _load_orders(db, _order("R2", "2026-11-11T10:00:00+08:00", status="closed"))
    _build(db, "2026-11-12")
    assert _state(db)["builds"]["stg_dms__repair_orders"] == ("2026-11-12", False), "then merged again"


RENEWALS = "stg_insurer__policies stg_dms__dealers int_policy_renewals"


def _renewal_policy(number: str, vin: str, start: str, end: str, issued: str, dealer: str = "D001") -> dict:
    return {**_policy(number, issued), "车架号": vin, "起保日期": start, "终保日期": end, "出单机构": dealer}


def _renewals(url: str) -> dict[str, tuple]:
    """policy -> (its row's transaction id, then its renewal columns): a row the build did
    not rewrite keeps its xmin."""
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "select policy_no, xmin::text, vin, is_window_closed, is_renewed_anywhere, renewal_policy_no,"
            " is_renewed_via_group, group_renewal_policy_no from intermediate.int_policy_renewals"
        )
        return {row[0]: row[1:] for row in cur.fetchall()}


def _build_renewals(url: str, day: str, full_refresh: bool = False) -> None:
    dbt_vars = json.dumps({"business_date": day})
    args = ["run", "--quiet", "--select", *RENEWALS.split(), "--vars", dbt_vars, *target_for(dbt_vars)]
    assert run_dbt(args + (["--full-refresh"] if full_refresh else []), url), f"dbt run for {day} failed"


def test_policy_renewals_follow_changed_policies_and_closing_windows(db: str):
    """int_policy_renewals recomputes only the VINs whose policies changed (a corrected
    VIN: the old one's too) or whose renewal window closed, and ends with what a build
    from all policies gives."""
    _load_dms(db, "dealers", {"dealer_code": "D001", "updated_at": "2026-11-01T10:00:00+08:00"})
    _load_policy_file(
        db,
        "2026-11-06",
        _renewal_policy("A1", "VINA", "2025-11-01", "2026-10-31", "2025-10-20"),  # window to 11-30
        _renewal_policy("B0", "VINB", "2025-11-01", "2026-10-31", "2025-10-20"),
        _renewal_policy("B1", "VINB", "2026-11-01", "2027-10-31", "2026-10-25"),  # B0's renewal
        _renewal_policy("W0", "VINW", "2025-10-13", "2026-10-12", "2025-10-01"),  # window to 11-11
        _renewal_policy("Q0", "VINQ", "2026-03-01", "2027-02-28", "2026-02-20"),  # nothing happens to it
    )
    _build_renewals(db, "2026-11-10")
    first = _renewals(db)
    assert first["B0"][3:5] == (True, "B1")
    assert first["W0"][2] is False
    assert first["A1"][3] is False

    _load_policy_file(
        db,
        "2026-11-12",
        _renewal_policy("A2", "VINA", "2026-11-01", "2027-10-31", "2026-11-11", dealer="INS-DIRECT"),
        _renewal_policy("B1", "VINC", "2026-11-01", "2027-10-31", "2026-11-11"),  # its VIN corrected
    )
    _build_renewals(db, "2026-11-13")
    daily = _renewals(db)
    with contextlib.closing(psycopg2.connect(db)) as conn, conn.cursor() as cur:
        cur.execute(
            "select business_date::text, full_rebuild from etl.staging_builds where model = %s",
            ("int_policy_renewals",),
        )
        assert cur.fetchone() == ("2026-11-13", False), "merged, not rebuilt"
    assert daily["A1"][3:7] == (True, "A2", False, None), "renewed, not through the group"
    assert daily["B0"][3:5] == (False, None), "its renewal now belongs to another VIN"
    assert daily["B1"][1] == "VINC"
    assert daily["W0"][2] is True, "its window closed on 11-11"
    assert daily["Q0"][0] == first["Q0"][0], "an untouched VIN's row is not rewritten"

    _build_renewals(db, "2026-11-13", full_refresh=True)
    rebuilt = _renewals(db)
    assert {p: row[1:] for p, row in daily.items()} == {p: row[1:] for p, row in rebuilt.items()}


SUMMARIES = "stg_dms__repair_orders stg_dms__customers stg_dms__advisors int_customers_resolved int_visits"
SUMMARIES += " int_vehicle_latest_visits int_customer_advisor"


def _visit(ro: str, vin: str, customer: str, closed: str, advisor: str, updated_at: str, **changes) -> dict:
    order = {**_order(ro, updated_at, status="closed"), "vin": vin, "customer_id": customer}
    return {**order, "close_date": closed, "advisor_id": advisor, **changes}


def _summaries(url: str) -> dict[str, dict[str, tuple]]:
    """Each summary: key -> (its row's transaction id, then its columns)."""
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "select vin, xmin::text, last_visit_ro_number, last_maintenance_ro_number"
            " from intermediate.int_vehicle_latest_visits"
        )
        vehicles = {row[0]: row[1:] for row in cur.fetchall()}
        cur.execute(
            "select customer_id, xmin::text, advisor_id, advisor_is_active, last_visit_ro_number"
            " from intermediate.int_customer_advisor"
        )
        customers = {row[0]: row[1:] for row in cur.fetchall()}
    return {"vehicles": vehicles, "customers": customers}


def _build_summaries(url: str, day: str, full_refresh: bool = False) -> None:
    dbt_vars = json.dumps({"business_date": day})
    args = ["run", "--quiet", "--select", *SUMMARIES.split(), "--vars", dbt_vars, *target_for(dbt_vars)]
    assert run_dbt(args + (["--full-refresh"] if full_refresh else []), url), f"dbt run for {day} failed"


def _without_xmin(summaries: dict[str, dict[str, tuple]]) -> dict[str, dict[str, tuple]]:
    return {name: {key: row[1:] for key, row in rows.items()} for name, rows in summaries.items()}


def test_visit_summaries_follow_changed_visits_merges_and_advisors(db: str):
    """int_vehicle_latest_visits and int_customer_advisor recompute only the vehicles and
    customers whose visits (or advisor) changed, including a latest visit voided, moved to
    another vehicle or counted for a merged customer's survivor, and end with what a build
    from all visits gives."""
    first_day = "2026-11-01T10:00:00+08:00"
    _load_dms(db, "advisors", {"advisor_id": "A1", "active": True, "updated_at": first_day})
    _load_dms(db, "advisors", {"advisor_id": "A2", "active": True, "updated_at": first_day})
    _load_dms(db, "advisors", {"advisor_id": "A3", "active": True, "updated_at": first_day})
    _load_dms(db, "customers", _customer("C3", first_day), _customer("C4", first_day))
    _load_orders(
        db,
        _visit("V1", "VINX", "C1", "2026-11-01", "A1", first_day, service_type="MAINTENANCE"),
        _visit("V2", "VINX", "C1", "2026-11-05", "A2", first_day, service_type="REPAIR"),
        _visit("V3", "VINY", "C2", "2026-11-03", "A2", first_day),
        _visit("V4", "VINZ", "C3", "2026-11-02", "A2", first_day),  # nothing happens to it
        _visit("V5", "VINM", "C4", "2026-11-02", "A2", first_day),
        _visit("V6", "VINP", "C5", "2026-11-02", "A3", first_day),  # only its advisor will change
    )
    _build_summaries(db, "2026-11-10")
    first = _summaries(db)
    assert first["vehicles"]["VINX"][1:] == ("V2", "V1")
    assert first["customers"]["C1"][1:] == ("A2", True, "V2")

    changed = "2026-11-10T10:00:00+08:00"
    _load_orders(
        db,
        _visit("V2", "VINX", "C1", "2026-11-05", "A2", changed, status="void"),  # X's and C1's latest, voided
        _visit("V3", "VINW", "C2", "2026-11-03", "A2", changed),  # Y's only visit: another vehicle's
    )
    _load_dms(db, "advisors", {"advisor_id": "A1", "active": False, "updated_at": changed})  # C1's advisor again
    _load_dms(db, "advisors", {"advisor_id": "A3", "active": False, "updated_at": changed})  # C5's advisor left
    _load_dms(db, "customers", _customer("C4", changed, merged_into="C3"))  # C4's visit counts for C3 now
    _build_summaries(db, "2026-11-11")
    daily = _summaries(db)
    assert daily["vehicles"]["VINX"][1:] == ("V1", "V1")
    assert "VINY" not in daily["vehicles"]
    assert daily["vehicles"]["VINW"][1] == "V3"
    assert daily["customers"]["C1"][1:] == ("A1", False, "V1"), "its latest visit now, with an advisor who left"
    assert "C4" not in daily["customers"], "merged into C3"
    assert daily["customers"]["C5"][1:3] == ("A3", False), "its visits unchanged, its advisor left"
    assert daily["customers"]["C3"][3] == "V5", "V5 (11-02, a higher order number than V4) counts for C3"
    assert daily["vehicles"]["VINZ"][0] == first["vehicles"]["VINZ"][0], "an untouched vehicle is not rewritten"

    _build_summaries(db, "2026-11-11", full_refresh=True)
    assert _without_xmin(daily) == _without_xmin(_summaries(db))


CHURN = SUMMARIES.replace(" int_customer_advisor", "")
CHURN += " stg_dms__vehicles stg_dms__vehicle_versions int_vehicles_resolved int_vehicle_base_exits"
CHURN += " int_vehicle_churn_monthly stg_oem__lost_customers int_oem_churn_reconciliation"


def _vehicle(vin: str, customer: str, updated_at: str, status: str = "active") -> dict:
    return {
        "vin": vin,
        "customer_id": customer,
        "dealer_code": "D001",
        "delivery_date": "2024-01-01",
        "status": status,
        "updated_at": updated_at,
    }


def _rows_by_key(url: str, query: str) -> dict[tuple[str, str], tuple]:
    """The query's rows by their first two columns (the key): the rest, xmin first."""
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(query)
        return {(row[0], row[1]): row[2:] for row in cur.fetchall()}


def _churn_months(url: str) -> dict[tuple[str, str], tuple]:
    """(vin, month) -> (its row's transaction id, then its status columns)."""
    return _rows_by_key(
        url,
        "select vin, month::text, xmin::text, as_of_date::text, dealer_code, last_visit_date::text, churn_status,"
        " customer_id from intermediate.int_vehicle_churn_monthly",
    )


def _load_oem_list(url: str, period: str, generated_at: str, *listed: tuple[str, str]) -> int:
    """Load dealer D001's lost list for ``period``: (VIN, OEM status) pairs."""
    scope = f"D001 {period}"
    with contextlib.closing(psycopg2.connect(url)) as conn:
        ensure_raw_tables(conn)
        with Batch.open(conn, OEM_LOST_CUSTOMERS, scope, "test", dt.date(2026, 11, 20), dealer_code="D001") as batch:
            for n, (vin, status) in enumerate(listed):
                record = {**dict.fromkeys(OEM_LOST_CUSTOMERS.columns), "vin": vin, "oem_status": status}
                batch.add(record, f"row {n}", scope, generated_at)
            return _settled(conn, batch.load().batch_id)


def _reconciliation(url: str) -> dict[tuple[str, str], tuple]:
    """(period, vin) -> (its row's transaction id, then what it says)."""
    return _rows_by_key(
        url,
        "select period, vin, xmin::text, dealer_code, is_oem_listed, dealer_status, reconciliation_class"
        " from intermediate.int_oem_churn_reconciliation",
    )


def _without_xmin_rows(rows: dict) -> dict:
    return {key: row[1:] for key, row in rows.items()}


def _build_churn(url: str, day: str, full_refresh: bool = False, **other_vars) -> None:
    """Build the churn history and what follows it for ``day`` (the thresholds seeded once,
    by the first build)."""
    dbt_vars = json.dumps({"business_date": day, **other_vars})
    common = ["--quiet", "--vars", dbt_vars, *target_for(dbt_vars)]
    if not _churn_thresholds_seeded(url):
        assert run_dbt(["seed", "--select", "churn_status_thresholds", *common], url)
    args = ["run", "--select", *CHURN.split(), *common]
    assert run_dbt(args + (["--full-refresh"] if full_refresh else []), url), f"dbt run for {day} failed"


def _churn_thresholds_seeded(url: str) -> bool:
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute("select to_regclass('rules.churn_status_thresholds') is not null")
        return cur.fetchone()[0]


def test_churn_history_recomputes_open_months_and_changed_vehicles(db: str):
    """int_vehicle_churn_monthly rewrites, day to day, the months still open and every month
    of the vehicles whose history changed (a visit voided, a late visit, a sale), keeps the
    ended months of the others, drops the months leaving the window, and always equals a
    build from all visits. The OEM reconciliation follows it: it recomputes the vehicles
    whose ended months changed and the lists that arrived, and equals a full build too."""
    first_day = "2026-11-01T10:00:00+08:00"
    _load_dms(
        db,
        "vehicles",
        _vehicle("VINX", "C1", first_day),
        _vehicle("VINY", "C2", first_day),
        _vehicle("VINZ", "C3", first_day),
        _vehicle("VINS", "C1", first_day),
        _vehicle("VINW", "C4", first_day),
    )
    _load_orders(
        db,
        _visit("X1", "VINX", "C1", "2025-06-01", "A1", first_day),
        _visit("X2", "VINX", "C1", "2026-03-01", "A1", first_day),
        _visit("Y1", "VINY", "C2", "2025-01-15", "A1", first_day),
        _visit("Z1", "VINZ", "C3", "2026-10-01", "A1", first_day),
        _visit("S1", "VINS", "C1", "2025-08-01", "A1", first_day),
        _visit("W1", "VINW", "C4", "2026-05-20", "A1", first_day),  # lapsing on 11-11, at risk on 12-01
    )
    # the OEM's September list: VINX and VINY, and a car the group does not know
    _load_oem_list(db, "2026-09", "2026-10-03T08:00:00+08:00", ("VINX", "LOST"), ("VINY", "AT_RISK"), ("VINQ", "LOST"))
    _build_churn(db, "2026-11-10")
    first = _churn_months(db)
    assert first[("VINX", "2026-05-01")][3] == "2026-03-01"
    first_compared = _reconciliation(db)

    changed = "2026-11-10T10:00:00+08:00"
    _load_orders(
        db,
        _visit("X2", "VINX", "C1", "2026-03-01", "A1", changed, status="void"),
        _visit("Y2", "VINY", "C2", "2025-09-01", "A1", changed),  # dated long ago, loaded today
    )
    _load_dms(db, "vehicles", _vehicle("VINS", "C9", changed, status="sold"))
    _load_oem_list(db, "2026-10", "2026-11-10T09:00:00+08:00", ("VINZ", "AT_RISK"))  # October's, published today
    _load_oem_list(db, "2026-11", "2026-11-05T09:00:00+08:00", ("VINQ", "LOST"))  # compared once November has ended
    _build_churn(db, "2026-11-11")
    daily = _churn_months(db)
    compared = _reconciliation(db)
    assert compared[("2026-10", "VINZ")][1:] == ("D001", True, "active", "oem_late_seen_recently"), "a new list"
    assert compared[("2026-09", "VINQ")][0] == first_compared[("2026-09", "VINQ")][0], "unchanged: not rewritten"
    assert compared[("2026-09", "VINX")][0] != first_compared[("2026-09", "VINX")][0], "VINX's history changed"
    assert daily[("VINX", "2026-05-01")][3] == "2025-06-01", "X2 voided: an ended month changes"
    assert daily[("VINY", "2025-10-01")][3] == "2025-09-01", "the late visit counts in the months after it"
    assert ("VINS", "2026-11-01") not in daily, "sold on 11-10: not in the base as of 11-11"
    assert daily[("VINS", "2026-10-01")][1:3] == ("2026-11-01", "D001"), "still in October's base"
    assert daily[("VINZ", "2026-10-01")][0] == first[("VINZ", "2026-10-01")][0], "an ended month, unchanged"
    assert daily[("VINZ", "2026-11-01")][1] == "2026-11-11", "the open month is as of D"

    _build_churn(db, "2026-11-11", full_refresh=True)
    assert _without_xmin_rows(daily) == _without_xmin_rows(_churn_months(db))
    assert _without_xmin_rows(compared) == _without_xmin_rows(_reconciliation(db))

    # A run of the reconciliation alone for 12-02, before its staging and the churn history:
    # August's list has landed (as while the warehouse builds: after its staging model), and
    # November, ended, is compared with the churn history's November still open as of 11-11.
    # The next build finds the list, and November rewritten for every vehicle (the ledger's
    # first month rewritten, earlier than the reconciliation's own).
    _load_oem_list(db, "2026-08", "2026-09-02T08:00:00+08:00", ("VINZ", "LOST"))
    dbt_vars = json.dumps({"business_date": "2026-12-02"})
    only_reconciliation = ["run", "--quiet", "--select", "int_oem_churn_reconciliation", "--vars", dbt_vars]
    assert run_dbt([*only_reconciliation, *target_for(dbt_vars)], db)
    assert ("2026-08", "VINZ") not in _reconciliation(db), "not in staging yet"
    assert ("2026-11", "VINW") not in _reconciliation(db), "lapsing as of 11-11"

    _build_churn(db, "2026-12-02")  # November has ended, December begun, 2024-12 left the window
    later = _churn_months(db)
    assert min(month for _, month in later) == "2025-01-01"
    assert later[("VINZ", "2026-11-01")][1] == "2026-12-01"
    later_compared = _reconciliation(db)
    assert later_compared[("2026-08", "VINZ")][1:3] == ("D001", True), "the list that landed mid-build"
    assert later_compared[("2026-11", "VINW")][1:] == ("D001", False, "at_risk", "dealer_only_lost"), "as of 12-01"
    _build_churn(db, "2026-12-02", full_refresh=True)
    assert _without_xmin_rows(later) == _without_xmin_rows(_churn_months(db))
    assert _without_xmin_rows(later_compared) == _without_xmin_rows(_reconciliation(db))

    _build_churn(db, "2026-12-02", kpi_months=12)  # other rules: every month again
    assert min(month for _, month in _churn_months(db)) == "2026-01-01"
    assert all(row[0] != later[key][0] for key, row in _churn_months(db).items() if key in later)
