"""How `baoke run` runs a day and shows it (outputs.md §4), through Airflow with small
stand-ins for the day's six DAGs (tests/day_dags: a feed reported, an extraction
failing, a warehouse failing then building): every extraction runs whatever another
did; progress is one line per task change off a terminal; a failure ends with one short
line while its traceback stays in the run's own log; the Airflow UI shows each run's
true duration and each task's log."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import psycopg2
import pytest

from baoke import feedreports
from baoke.migrate import migrate
from test_cli import baoke, log_of

D = dt.date(2026, 10, 5)  # a date of its own in the shared test warehouse
DAY_DAGS = Path(__file__).parent / "day_dags"
INSURER_ERROR = "FileNotFoundError: INSURER_INBOX /nowhere/insurer does not exist: set INSURER_INBOX"


@pytest.fixture(scope="module")
def day_runs(warehouse_url: str, manifest: Path, state_dir: Path):
    """The day run twice: with the warehouse failing, then building."""
    migrate(warehouse_url)
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        feedreports.record(cur, D, "dms", "D002", "degraded", "repair_orders", "12 of 80 new records rejected")
    env = {
        "AIRFLOW_CONN_WAREHOUSE": warehouse_url,
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAY_DAGS),
        # the run checks they are configured before any DAG runs; the stand-ins never call them
        "AIRFLOW_CONN_DMS_API": "http://client:secret@127.0.0.1:9/http",
        "AIRFLOW_CONN_OEM_API": "http://:key@127.0.0.1:9/http",
    }
    args = ("run", "--date", D.isoformat(), "--retries", "0")
    started = dt.datetime.now(dt.UTC)
    first = baoke(*args, env=env)
    between = dt.datetime.now(dt.UTC)
    second = baoke(*args, env={**env, "BAOKE_TEST_WAREHOUSE_BUILDS": "1"})
    ended = dt.datetime.now(dt.UTC)
    yield {"first": first, "second": second, "started": started, "between": between, "ended": ended}
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute("delete from etl.feed_reports where business_date = %s", (D,))


@pytest.mark.slow
def test_every_extraction_runs_past_a_failed_one_and_the_lists_wait_for_a_built_warehouse(day_runs):
    first, second = day_runs["first"], day_runs["second"]
    assert first.returncode == 1, first.stdout + first.stderr
    summary = first.stdout
    assert "\nbaoke_insurer: failed (0/2 tasks succeeded" in summary
    for dag_id in ("baoke_oem", "baoke_callcenter"):
        assert f"\n{dag_id}: success" in summary, f"{dag_id} ran after baoke_insurer failed"
    assert "\nbaoke_warehouse: failed" in summary
    assert "\nbaoke_outbound: skipped (not run: baoke_warehouse failed, so no lists can be built)" in summary
    assert second.returncode == 1, "baoke_insurer still failed"
    assert "\nbaoke_outbound: success (1/1 tasks succeeded" in second.stdout


@pytest.mark.slow
def test_a_reported_feed_is_named_in_the_summary_and_its_feed_health_fails_no_step(day_runs):
    summary = day_runs["first"].stdout
    assert "\nbaoke_dms: success (1/2 tasks succeeded" in summary
    assert "feed reported: feed_health failed" in summary
    assert "degraded or stale feeds:\n  dms [D002] degraded: 12 of 80 new records rejected\n" in summary
    assert "baoke_dms" not in day_runs["first"].stderr, "not a failure"


@pytest.mark.slow
def test_off_a_terminal_each_task_change_is_one_line_as_it_happens(day_runs):
    lines = [line[9:] for line in day_runs["first"].stdout.splitlines() if re.match(r"\d\d:\d\d:\d\d ", line)]
    for expected in (
        "baoke_dms: started",
        "baoke_dms.extract: running",
        "baoke_insurer.extract: running",
        "baoke_callcenter.outcomes[D001]: running",
        "baoke_callcenter.outcomes[D002]: running",
    ):
        assert expected in lines
    assert any(
        re.fullmatch(rf"baoke_insurer\.extract: failed in \d+\.\d s: {re.escape(INSURER_ERROR)}", line)
        for line in lines
    )
    assert any(re.fullmatch(r"baoke_dms\.extract: success in \d+\.\d s", line) for line in lines)
    assert any(
        re.fullmatch(r"baoke_dms\.feed_health: feed reported in .+ \(see the summary; not a failed step\)", line)
        for line in lines
    )
    assert lines.index("baoke_dms.extract: running") < lines.index("baoke_insurer.extract: running")


@pytest.mark.slow
def test_a_failed_run_ends_with_one_short_line_per_failure_and_its_traceback_in_its_log(day_runs):
    first = day_runs["first"]
    assert first.stderr.splitlines() == [
        f"error: baoke_insurer.extract failed: {INSURER_ERROR}",
        "error: baoke_warehouse.build failed: RuntimeError: dbt: model marts.dim_dealer failed",
    ]
    assert "Traceback" not in first.stdout + first.stderr
    log = log_of(first).read_text()
    assert "Traceback (most recent call last)" in log
    assert 'raise FileNotFoundError("INSURER_INBOX /nowhere/insurer does not exist' in log


@pytest.mark.slow
def test_each_run_writes_a_log_of_its_own(day_runs):
    first, second = log_of(day_runs["first"]), log_of(day_runs["second"])
    assert first != second
    assert first.parent == second.parent
    assert "dbt: model marts.dim_dealer failed" in first.read_text()
    assert "lists written" not in first.read_text()
    assert "lists written" in second.read_text()
    assert "dbt: model marts.dim_dealer failed" not in second.read_text()


@pytest.mark.slow
def test_the_ui_shows_each_runs_true_duration_and_each_tasks_log(day_runs):
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.log.log_reader import TaskLogReader
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from baoke.dates import run_logical_date

    with create_session() as session:
        runs = session.scalars(select(DagRun).where(DagRun.logical_date == run_logical_date(D))).all()
        assert {r.dag_id for r in runs} >= {"baoke_dms", "baoke_insurer", "baoke_warehouse", "baoke_outbound"}
        for run in runs:
            assert day_runs["between"] <= run.start_date <= run.end_date <= day_runs["ended"], run.dag_id

        def task_log(dag_id: str, task_id: str, map_index: int = -1) -> str:
            run = next(r for r in runs if r.dag_id == dag_id)
            ti = session.scalars(
                select(TaskInstance).where(
                    TaskInstance.dag_id == dag_id,
                    TaskInstance.run_id == run.run_id,
                    TaskInstance.task_id == task_id,
                    TaskInstance.map_index == map_index,
                )
            ).one()
            return "".join(TaskLogReader().read_log_stream(ti, ti.try_number, {}))

        insurer = task_log("baoke_insurer", "extract")
        assert INSURER_ERROR in insurer
        assert "Traceback" in insurer
        assert "outcomes of D002 loaded" in task_log("baoke_callcenter", "outcomes", map_index=1)
        assert "outcomes of D001" not in task_log("baoke_callcenter", "outcomes", map_index=1)
