"""`baoke run`'s exit status and summary (outputs.md §4): 0 when every step did its work
and every dealer's lists went out; a feed reported degraded or stale is named in the
summary and changes nothing else; held lists or a failed step make it 1."""

from __future__ import annotations

import datetime as dt

import psycopg2
import pytest

from baoke import feedreports
from baoke.report import dag_line, failure_lines, feed_report_summary, feed_reports
from baoke.runner import DagResult, day_succeeded

D = dt.date(2026, 11, 20)


def extraction(dag_id: str, feed_health: str = "success", health_error: str | None = None, **tasks: str) -> DagResult:
    """An extraction DAG's result; a failed ``feed_health`` failed to report its feed
    unless ``health_error`` says otherwise."""
    state = "success" if feed_health == "success" and all(s == "success" for s in tasks.values()) else "failed"
    errors = {}
    if feed_health == "failed":
        errors["feed_health"] = health_error or f"AirflowFailException: {feedreports.REPORTED}: 2 report(s)"
    return DagResult(dag_id, state, {**tasks, "feed_health": feed_health}, errors)


def a_good_day() -> list[DagResult]:
    return [
        extraction("baoke_dms", **{"group_listings": "success", "dealer_records[D001]": "success"}),
        extraction("baoke_insurer", files="success"),
        extraction("baoke_oem", lists="success"),
        extraction("baoke_callcenter", outcomes="success"),
        DagResult("baoke_warehouse", "success", {"staging.stg_a_run": "success", "marts.b_run": "success"}),
        DagResult("baoke_outbound", "success", {"warehouse_built": "success", "dealer_files[D001]": "success"}),
    ]


@pytest.fixture
def reports_db(fresh_db: str):
    conn = psycopg2.connect(fresh_db)
    yield conn
    conn.close()


def report(conn, feed: str, scope: str, kind: str, subject: str, message: str, dealer: str | None = None) -> None:
    with conn, conn.cursor() as cur:
        feedreports.record(cur, D, feed, scope, kind, subject, message, dealer_code=dealer)


def test_a_day_whose_steps_all_succeeded_exits_0(reports_db, fresh_db: str):
    assert day_succeeded(a_good_day(), feed_reports(fresh_db, D))


def test_a_feed_reported_degraded_or_stale_is_named_and_does_not_fail_the_day(reports_db, fresh_db: str):
    report(reports_db, "dms", "D002", "degraded", "repair_orders", "12 of 80 new records rejected", dealer="D002")
    report(reports_db, "insurer", "PICC", "stale", "POLICY", "no file for 2 days")
    day = a_good_day()
    day[0] = extraction("baoke_dms", "failed", group_listings="success")
    day[1] = extraction("baoke_insurer", "failed", files="success")
    reports = feed_reports(fresh_db, D)
    assert day_succeeded(day, reports), "feed_health fails to report, not as a failed step"
    assert dag_line(day[0]).startswith("baoke_dms: success (1/2 tasks succeeded)")
    assert feed_report_summary(reports).splitlines() == [
        "degraded or stale feeds:",
        "  dms [D002] degraded: 12 of 80 new records rejected",
        "  insurer [PICC] stale: no file for 2 days",
    ]
    assert failure_lines(day, reports) == []


def test_a_feed_health_check_that_crashed_is_a_failed_step_not_a_report(reports_db, fresh_db: str):
    day = a_good_day()
    day[1] = extraction(
        "baoke_insurer", "failed", "psycopg2.errors.InsufficientPrivilege: permission denied", files="success"
    )
    reports = feed_reports(fresh_db, D)
    assert not day_succeeded(day, reports)
    assert not day[1].feed_reported
    assert day[1].blocking_failures == ["feed_health"]


def test_a_dealers_held_lists_fail_the_day(reports_db, fresh_db: str):
    report(reports_db, "outbound", "D003", "held", "lists", "DMS extraction failed for D003", dealer="D003")
    report(reports_db, "dms", "D001", "degraded", "customers", "3 of 10 new records rejected", dealer="D001")
    reports = feed_reports(fresh_db, D)
    assert not day_succeeded(a_good_day(), reports)
    assert feed_report_summary(reports).splitlines() == [
        "degraded or stale feeds:",
        "  dms [D001] degraded: 3 of 10 new records rejected",
        "held lists:",
        "  outbound [D003] held: DMS extraction failed for D003",
    ]
    assert failure_lines(a_good_day(), reports) == ["lists held for D003 (see held lists above)"]


def test_a_failed_step_fails_the_day_and_names_what_to_fix_in_one_line(reports_db, fresh_db: str):
    day = a_good_day()
    day[0] = extraction("baoke_dms", "upstream_failed", **{"dealer_records[D002]": "failed"})
    day[0].errors["dealer_records[D002]"] = "ConnectionError: dms.example.com:443 refused the connection"
    assert not day_succeeded(day, feed_reports(fresh_db, D))
    assert failure_lines(day, []) == [
        "baoke_dms.dealer_records[D002] failed: ConnectionError: dms.example.com:443 refused the connection"
    ]


def test_a_dag_skipped_or_unable_to_run_fails_the_day():
    skipped = DagResult("baoke_outbound", "skipped", error="not run: baoke_warehouse failed, so no lists can be built")
    broken = DagResult("baoke_oem", "failed", error="OperationalError: database is locked")
    for day in ([*a_good_day()[:5], skipped], [broken, *a_good_day()[1:]]):
        assert not day_succeeded(day, [])
    assert dag_line(skipped) == "baoke_outbound: skipped (not run: baoke_warehouse failed, so no lists can be built)"
    assert failure_lines([broken], []) == ["baoke_oem could not run: OperationalError: database is locked"]
    assert not day_succeeded([], []), "a day with no DAG is no success"


# --- which DAGs a day runs --------------------------------------------------------------


def _days_dags(monkeypatch: pytest.MonkeyPatch, business_date: dt.date, warehouse_ok: bool = True) -> list[DagResult]:
    """run_day with every DAG of DAY_ORDER present, each 'run' by recording it."""
    from baoke import runner

    monkeypatch.setattr(runner, "load_dags", lambda: {dag_id: dag_id for dag_id in runner.DAY_ORDER})

    def run_dag(dag_id, date, dbt_vars, retries, watch):
        failed = dag_id == runner.WAREHOUSE_DAG and not warehouse_ok
        return DagResult(dag_id, "failed" if failed else "success", {"t": "failed" if failed else "success"})

    monkeypatch.setattr(runner, "run_dag", run_dag)
    return runner.run_day(business_date)


def test_the_monthly_report_runs_on_the_first_only_after_the_lists(monkeypatch: pytest.MonkeyPatch):
    assert "baoke_report" not in [r.dag_id for r in _days_dags(monkeypatch, D)]
    first = [r.dag_id for r in _days_dags(monkeypatch, dt.date(2026, 12, 1))]
    assert first[-3:] == ["baoke_outbound", "baoke_report", "baoke_retention"]


def test_no_report_from_a_warehouse_that_failed_to_build(monkeypatch: pytest.MonkeyPatch):
    results = {r.dag_id: r for r in _days_dags(monkeypatch, dt.date(2026, 12, 1), warehouse_ok=False)}
    assert results["baoke_report"].state == "skipped"
    assert dag_line(results["baoke_report"]) == (
        "baoke_report: skipped (not run: baoke_warehouse failed, so no report can be written)"
    )
