"""``baoke run --date D`` end to end on the simulated dealer group: every feed extracted
through Airflow, the warehouse built by dbt through Cosmos, the marts answering BI
questions as ``bi_reader``, every step connected as its own login and none as a
superuser — and a second run of the same date changing nothing."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import psycopg2
import pytest

from baoke import feedreports, migrate
from baoke.config import get_settings
from baoke_sim.demo import DEMO_SEED, simulated_feeds
from baoke_sim.world import generate
from extract_support import insurer_files_since
from test_cli import baoke, log_of

D = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def first_run(warehouse_url: str, manifest: Path, tmp_path_factory: pytest.TempPathFactory):
    """Run D once against the test warehouse and the simulated feeds: the demo's world,
    its insurers' files of the last two years, in an inbox of this module's own (the
    demo's run, test_cli.py, reads all six years through Airflow)."""
    world = get_settings().sim_world
    generate(world, "small", DEMO_SEED, until=D)
    insurer_files_since(world, D.replace(year=D.year - 2))
    env = {"AIRFLOW_CONN_WAREHOUSE": warehouse_url}
    for name in ("AIRFLOW_CONN_DMS_API", "AIRFLOW_CONN_OEM_API"):
        os.environ.pop(name, None)  # the demo's feeds set them only when unset
    with pytest.MonkeyPatch.context() as inbox:
        inbox.setenv("INSURER_INBOX", str(tmp_path_factory.mktemp("e2e-insurer")))
        runs = _run_twice(warehouse_url, env)
    yield runs
    world.unlink()  # a later demo makes its own, whole


def _run_twice(warehouse_url: str, env: dict[str, str]) -> dict:
    with pytest.MonkeyPatch.context() as mp, simulated_feeds(D):
        for name in ("AIRFLOW_CONN_DMS_API", "AIRFLOW_CONN_OEM_API"):
            mp.setenv(name, os.environ[name])  # restored after the runs
        connections_as_a_data_engineer_makes_them(mp)
        with SessionSampler(warehouse_url) as sessions:
            result = baoke(
                "run", "--date", D.isoformat(), "--vars", '{"holdout_pct": 0}', "--retries", "0", env=env, timeout=1500
            )
        if result.returncode != 0:
            pytest.fail(f"baoke run failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
            cur.execute("select coalesce(max(batch_id), 0) from etl.load_batches")
            last_batch_of_first_run = cur.fetchone()[0]
            cur.execute("select * from marts.kpi_dealer_monthly order by 1, 2")
            kpis = cur.fetchall()
        again = baoke(
            "run", "--date", D.isoformat(), "--vars", '{"holdout_pct": 0}', "--retries", "0", env=env, timeout=1500
        )
    return {
        "result": result,
        "again": again,
        "last_batch": last_batch_of_first_run,
        "kpis": kpis,
        "sessions": sessions.seen,
    }


class SessionSampler(threading.Thread):
    """Every client session of the run's database, from ``pg_stat_activity`` every 0.1 s
    while the run lasts: (login, whether it is a superuser, application name)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.seen: set[tuple[str, bool, str]] = set()
        self._done = threading.Event()
        self._started = threading.Event()

    def __enter__(self) -> SessionSampler:
        self.start()
        self._started.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self.join(30)

    def run(self) -> None:
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("select pg_backend_pid(), current_database()")
                me, database = cur.fetchone()
                self._started.set()
                while not self._done.is_set():
                    cur.execute(
                        "select a.usename, r.rolsuper, a.application_name from pg_stat_activity a"
                        " join pg_roles r on r.rolname = a.usename"
                        " where a.datname = %s and a.pid <> %s and a.backend_type = 'client backend'",
                        (database, me),
                    )
                    self.seen.update(cur.fetchall())
                    self._done.wait(0.1)
        finally:
            conn.close()


def connections_as_a_data_engineer_makes_them(mp: pytest.MonkeyPatch) -> None:
    """The feeds' connections in the forms Airflow users make them (docs/feeds.md): the
    DMS with `airflow connections add --conn-type http --conn-schema http` in Airflow's
    database (read by the tasks through Airflow), the OEM as JSON with a full-URL host."""
    from airflow.sdk import Connection

    from baoke import airflow_env

    dms = Connection.from_uri(os.environ["AIRFLOW_CONN_DMS_API"], conn_id="dms_api")
    airflow_env.ensure_metadata_db()
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "connections", "delete", "dms_api"], capture_output=True, timeout=120)
    subprocess.run(
        [str(airflow), "connections", "add", "dms_api", "--conn-type", "http", "--conn-host", dms.host,
         "--conn-port", str(dms.port), "--conn-schema", "http", "--conn-login", dms.login,
         "--conn-password", dms.password],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    mp.delenv("AIRFLOW_CONN_DMS_API", raising=False)
    oem = Connection.from_uri(os.environ["AIRFLOW_CONN_OEM_API"], conn_id="oem_api")
    full_url = json.dumps({"conn_type": "http", "host": f"http://{oem.host}:{oem.port}", "password": oem.password})
    mp.setenv("AIRFLOW_CONN_OEM_API", full_url)


def as_bi_reader(warehouse_url: str):
    admin = psycopg2.connect(warehouse_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("select 1 from pg_roles where rolname = 'bi_test'")
        if not cur.fetchone():
            cur.execute("create role bi_test login in role bi_reader")
    admin.close()
    base, db = warehouse_url.rsplit("/", 1)
    return psycopg2.connect(f"postgresql://bi_test@{base.rsplit('@', 1)[-1]}/{db}")


@pytest.mark.slow
def test_run_extracts_every_feed_and_builds_every_mart(first_run, warehouse_url, state_dir):
    result = first_run["result"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for dag_id in ("baoke_dms", "baoke_insurer", "baoke_oem", "baoke_callcenter", "baoke_warehouse"):
        assert f"{dag_id}: success" in result.stdout
    log = log_of(result).read_text()
    assert "business_date: '2026-11-20'" in log, "D reaches dbt"
    assert "holdout_pct: 0" in log, "--vars reach dbt"
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute("select table_name from information_schema.tables where table_schema = 'marts'")
        marts = {row[0] for row in cur.fetchall()}
        assert {
            "dim_dealer",
            "dim_customer",
            "dim_vehicle",
            "fct_service_visit",
            "vehicle_churn_status",
            "customer_churn_status",
            "kpi_dealer_monthly",
            "churn_rate_by_vehicle_age",
        } <= marts
        cur.execute("select max(version_at) < '2026-11-20T00:00:00+08:00' from raw.dms_repair_orders")
        assert cur.fetchone()[0], "the run for D reads nothing changed after D 00:00"


@pytest.mark.slow
def test_no_step_of_the_run_connects_as_a_superuser(first_run):
    """Extraction, dbt and the export each connect as their own login; the admin
    connection is the migration runner's alone (``baoke run`` migrates before any step)."""
    sessions = first_run["sessions"]
    logins = {login for login, _, _ in sessions}
    assert {"baoke_extract", "baoke_dbt", "baoke_export"} <= logins, sessions
    superuser = {(login, app) for login, is_super, app in sessions if is_super}
    assert superuser <= {("postgres", migrate.APPLICATION_NAME)}, superuser


@pytest.mark.slow
def test_the_summary_names_every_feed_report_of_the_day(first_run, warehouse_url):
    with psycopg2.connect(warehouse_url) as conn:
        reports = feedreports.for_day(conn, D)
    for report in reports:
        assert f"  {report.line()}" in first_run["result"].stdout
    if not reports:
        assert "feed reports: none" in first_run["result"].stdout


@pytest.mark.slow
def test_bi_reader_answers_the_dealers_questions_and_sees_nothing_else(first_run, warehouse_url):
    with as_bi_reader(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute(
            "select dealer_code, count(*) from marts.vehicle_churn_status"
            " where business_date = %s and churn_status = 'at_risk' group by 1",
            (D,),
        )
        at_risk = dict(cur.fetchall())
        assert at_risk, "vehicles at risk on D"
        assert all(n > 0 for n in at_risk.values()), "vehicles at risk on D, per dealer"
        cur.execute(
            "select dealer_code, first_service_return_rate from marts.kpi_dealer_monthly"
            " where month = date_trunc('month', %s::date - interval '1 month')",
            (D,),
        )
        rates = cur.fetchall()
        assert rates, "first-service return rate last month"
        assert all(0 < rate <= 1 for _, rate in rates), "first-service return rate last month"
        cur.execute(
            "select mobile_masked, customer_name_masked from marts.dim_customer"
            " where mobile_masked is not null limit 50"
        )
        for mobile, name in cur.fetchall():
            assert len(mobile) == 11
            assert mobile[3:7] == "****"
            assert "*" in name
    for relation in ("raw.dms_customers", "staging.stg_dms__customers", "intermediate.int_visits", "etl.rejects"):
        with (
            as_bi_reader(warehouse_url) as conn,
            conn.cursor() as cur,
            pytest.raises(psycopg2.errors.InsufficientPrivilege),
        ):
            cur.execute(f"select * from {relation} limit 1")
    with as_bi_reader(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute("select table_name, column_name from information_schema.columns where table_schema = 'marts'")
        columns = cur.fetchall()
    exposed = {c for _, c in columns}
    assert not exposed & {"mobile", "customer_name", "birth_date", "insured_name", "mobile_as_typed"}


@pytest.mark.slow
def test_a_second_run_of_the_same_date_loads_nothing_and_changes_no_mart(first_run, warehouse_url):
    again = first_run["again"]
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute(
            "select count(*), coalesce(sum(loaded), 0) from etl.load_batches where batch_id > %s",
            (first_run["last_batch"],),
        )
        batches, loaded = cur.fetchone()
        assert batches > 0, "the rerun read the feeds again"
        assert loaded == 0, "the rerun loaded nothing"
        cur.execute("select count(*), count(distinct (business_date, vin)) from marts.vehicle_churn_status")
        total, distinct = cur.fetchone()
        assert total == distinct > 1000, "a rerun replaces its date's history rows, never duplicates them"
        cur.execute("select * from marts.kpi_dealer_monthly order by 1, 2")
        assert cur.fetchall() == first_run["kpis"]
