"""Late changes are found (docs/feeds.md §5): a DMS change dated further back than the
daily windows reach is missed by them, and found by the weekly deep read and by
``baoke reconcile``, through the same jobs the ``baoke_dms`` DAG runs, against the
simulated DMS (a real HTTP server) and a real PostgreSQL.

The simulator's ``late_change`` fault makes the change while day D2 is read: a customer
of D001 changes then, dated ten days before the world's clock, so D2's window (two
days of lookback) never sees it.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from typer.testing import CliRunner

from baoke import runlock
from baoke.cli import app
from baoke.extract import jobs
from baoke.extract.catalog import DMS_GROUP_WIDE, DMS_PER_DEALER
from baoke.migrate import migrate
from baoke_sim.connections import http_connection_uri
from baoke_sim.dms_api import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DmsApi, LateVersion
from baoke_sim.faults import Fault, FaultPlan, FaultRule
from baoke_sim.servers import ApiServer
from extract_support import batches, scalar, world_at

CLOCK = "2026-11-20T06:00:00+08:00"
D1 = dt.date(2026, 11, 13)  # the history
D2 = dt.date(2026, 11, 14)  # a Saturday: the daily window, during which the late change is made
SUNDAY = dt.date(2026, 11, 15)
LATE_DAYS = 10  # the change is dated 2026-11-10 06:00: before D2's window (from 11-11 00:00)
CST = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return world_at(tmp_path_factory.mktemp("deep") / "world.sqlite", CLOCK)


def point_at(mp: pytest.MonkeyPatch, dms_url: str, warehouse: str) -> None:
    """Configure the jobs as a deployment does: the two Airflow connections."""
    mp.setenv("AIRFLOW_CONN_DMS_API", http_connection_uri(dms_url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET))
    mp.setenv("AIRFLOW_CONN_WAREHOUSE", warehouse)


def dms_day(business_date: dt.date) -> None:
    """The baoke_dms DAG's two tasks for D, every dealer."""
    jobs.dms_group(business_date)
    for dealer in jobs.group_dealers():
        jobs.dms_dealer(dealer, business_date)


def database(admin_url: str, name: str, template: str | None = None) -> str:
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'create database "{name}"' + (f' template "{template}"' if template else ""))
    admin.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="module")
def history(world: Path, warehouse_url: str) -> str:
    """A database holding the DMS history up to D1 (every dealer), read without faults:
    each test starts from a copy of it."""
    url = database(warehouse_url, f"deep_history_{uuid.uuid4().hex[:6]}")
    with pytest.MonkeyPatch.context() as mp, ApiServer(DmsApi(world)) as server:
        point_at(mp, server.url, url)
        dms_day(D1)
    return url.rsplit("/", 1)[1]


@pytest.fixture
def after_d2(
    world: Path, warehouse_url: str, history: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, LateVersion]]:
    """D2 read by its daily window while the DMS makes a late change: the database and
    the late version; the DMS stays up (with its late change) for the test."""
    url = database(warehouse_url, f"deep_{uuid.uuid4().hex[:8]}", template=history)
    api = DmsApi(world, faults=FaultPlan.script(FaultRule(Fault.late_change(LATE_DAYS), path="/v1/customers", nth=1)))
    with ApiServer(api) as server:
        point_at(monkeypatch, server.url, url)
        dms_day(D2)
        [late] = api.late.versions()
        yield url, late


def late_rows(url: str, late: LateVersion) -> int:
    return scalar(
        url,
        "select count(*) from raw.dms_customers where record_key = %s and record_version = %s",
        late.pk,
        late.updated_at,
    )


def assert_accounted(url: str) -> None:
    for batch in batches(url, "dms"):
        assert batch["extracted"] == batch["loaded"] + batch["rejected"] + batch["duplicates_skipped"], batch


def test_the_daily_window_misses_a_change_dated_before_it(after_d2):
    url, late = after_d2
    assert late.updated_at == "2026-11-10T06:00:00+08:00"
    assert late.dealer_code == "D001"
    window_since = scalar(
        url,
        "select window_since from etl.load_batches where entity = 'customers' and business_date = %s"
        " and scope = 'D001'",
        D2,
    )
    assert window_since == dt.datetime(2026, 11, 11, tzinfo=CST), "D1's end minus the two-day lookback"
    assert dt.datetime.fromisoformat(late.updated_at) < window_since
    assert late_rows(url, late) == 0


def test_the_weekly_deep_read_finds_the_late_change(after_d2):
    url, late = after_d2
    dms_day(SUNDAY)  # the DAG's own jobs; Sunday is BAOKE_RECONCILE_WEEKDAY's default
    assert late_rows(url, late) == 1
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "select distinct window_since from etl.load_batches where feed = 'dms' and business_date = %s", (SUNDAY,)
        )
        assert cur.fetchall() == [(dt.datetime(2026, 10, 16, tzinfo=CST),)], "every entity read 30 days back"
    assert_accounted(url)
    assert scalar(url, "select count(*) = count(distinct (record_key, record_version)) from raw.dms_customers")


def test_baoke_reconcile_loads_exactly_what_the_daily_windows_missed(after_d2):
    url, late = after_d2
    result = CliRunner().invoke(app, ["reconcile", "--date", D2.isoformat(), "--days", "30"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "deep read of the DMS for 2026-11-14: the last 30 days of every entity"
    assert lines[-1] == "1 record version(s) loaded that raw did not hold: what the daily windows had missed"
    reads = lines[1:-1]
    dealers = scalar(url, "select count(distinct record_key) from raw.dms_dealers")
    assert len(reads) == len(DMS_GROUP_WIDE) + len(DMS_PER_DEALER) * dealers, "every entity of every dealer"
    assert all(" 2026-10-15 00:00 → 2026-11-14 00:00: " in line for line in reads)
    found = [line for line in reads if " loaded 0 new" not in line]
    assert len(found) == 1
    assert re.match(r"customers \[D001\] .*: read \d+, loaded 1 new, \d+ already loaded, 0 rejected$", found[0])
    assert late_rows(url, late) == 1
    assert_accounted(url)
    again = CliRunner().invoke(app, ["reconcile", "--date", D2.isoformat()])
    assert again.exit_code == 0, again.output
    assert (
        again.output.splitlines()[-1]
        == "0 record version(s) loaded that raw did not hold: what the daily windows had missed"
    )


def test_the_deep_read_day_and_span_are_settings(monkeypatch):
    assert jobs.deep_read(SUNDAY) == dt.timedelta(days=30)
    assert jobs.deep_read(D2) is None
    assert jobs.deep_read(D2, 7) == dt.timedelta(days=7), "baoke reconcile --days, any day"
    monkeypatch.setenv("BAOKE_RECONCILE_DAYS", "45")
    monkeypatch.setenv("BAOKE_RECONCILE_WEEKDAY", "6")
    assert jobs.deep_read(D2) == dt.timedelta(days=45)
    assert jobs.deep_read(SUNDAY) is None
    monkeypatch.setenv("BAOKE_RECONCILE_WEEKDAY", "0")
    assert [jobs.deep_read(D2 + dt.timedelta(days=n)) for n in range(7)] == [None] * 7, "0: never"


def test_baoke_reconcile_needs_a_date():
    result = CliRunner().invoke(app, ["reconcile"])
    assert result.exit_code == 2
    assert "--date is required" in result.output


def test_baoke_reconcile_exits_1_naming_what_failed(fresh_db, monkeypatch):
    monkeypatch.setenv("BAOKE_HTTP_RETRIES", "0")
    point_at(monkeypatch, "http://127.0.0.1:9", fresh_db)  # nothing listens on the discard port
    result = CliRunner().invoke(app, ["reconcile", "--date", D2.isoformat()])
    assert result.exit_code == 1
    assert "FAILED group listings: DMS API: POST http://127.0.0.1:9/oauth/token failed after retries" in result.output


def test_baoke_reconcile_during_a_run_stops_at_once_naming_the_run_in_progress(fresh_db, monkeypatch):
    point_at(monkeypatch, "http://127.0.0.1:9", fresh_db)
    migrate(fresh_db)
    with runlock.hold(fresh_db, D2, "baoke run --date 2026-11-14", "/tmp/run.log"):
        result = CliRunner().invoke(app, ["reconcile", "--date", D2.isoformat()])
    assert result.exit_code == 1
    assert "another baoke run is in progress on this warehouse: run for 2026-11-14" in result.output
    assert "FAILED" not in result.output, "nothing was read"
    assert scalar(fresh_db, "select count(*) from etl.load_batches") == 0
