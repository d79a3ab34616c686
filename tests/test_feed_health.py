"""When a feed misbehaves (docs/feeds.md §5), through Airflow's own code path
(``dag.test()``, as ``baoke run`` runs the DAGs) against a real PostgreSQL and the
simulated DMS served over HTTP:

- a dealer whose DMS extraction failed fails its own task only; the other dealers' Asset
  events (carrying the batch counts) still queue the warehouse; the export holds that
  dealer's lists (a manifest saying why, no list file; its task fails without retrying)
  and writes every other dealer's;
- each extraction DAG's ``feed_health`` task fails, listing the feed's reports, while the
  lists still go out;
- a configured folder or connection that does not exist fails the run at once, naming it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from baoke.config import get_settings
from baoke_sim.connections import feed_connections
from baoke_sim.dms_api import DmsApi
from baoke_sim.servers import ApiError, ApiServer, Request, Response
from test_outbound import build_export_relations, insert, row

pytestmark = pytest.mark.slow  # runs DAGs through Airflow

D = dt.date(2026, 11, 20)
STAMP = "20261120"


class DmsFailingFor(DmsApi):
    """The simulated DMS, answering 500 to every request for one dealer's ``entity``."""

    def __init__(self, world: Path, dealer_code: str, entity: str) -> None:
        super().__init__(world)
        self.dealer_code = dealer_code
        self.entity = entity

    def handle(self, request: Request) -> Response:
        if request.path == f"/v1/{self.entity}" and request.query.get("dealer_code") == self.dealer_code:
            return ApiError(500, "server_error", "simulated outage for one dealer").response()
        return super().handle(request)


@pytest.fixture(scope="module")
def two_dealer_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated group of two dealers (D001, D002), its clock early on D."""
    from baoke_sim import store, world

    path = tmp_path_factory.mktemp("world") / "world.sqlite"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(world.SCALES, "two_dealers", world.Scale(dealers=2, customers=600))
        world.generate(path, "two_dealers", seed=3)
    with sqlite3.connect(path) as conn:
        store.set_meta(conn, clock="2026-11-20T06:00:00+08:00")
    return path


@pytest.fixture
def airflow(fresh_db: str, tmp_path: Path, manifest: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Airflow's metadata database, the test warehouse as ``warehouse``, and every folder
    setting pointing at an empty folder of this test."""
    from baoke import airflow_env

    airflow_env.ensure_metadata_db()
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", fresh_db)
    monkeypatch.setenv("BAOKE_HTTP_RETRIES", "0")  # the task fails on the first 500
    for name in ("INSURER_INBOX", "CALLCENTER_INBOX", "OUTBOUND_DIR"):
        (tmp_path / name.lower()).mkdir()
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    for name in ("AIRFLOW_CONN_DMS_API", "AIRFLOW_CONN_OEM_API", "AIRFLOW_CONN_BAOKE_ALERTS"):
        monkeypatch.delenv(name, raising=False)
    return fresh_db


def load_dag(dag_id: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(get_settings().dags_dir / f"{dag_id}.py"))
    assert bag.import_errors == {}
    return bag.dags[dag_id]


def run(dag_id: str, retries: int | None = None) -> tuple[Any, dict[str, tuple[str, int]]]:
    """Run the DAG for D (with its own retries unless ``retries`` is given), as ``baoke
    run`` does; (dag run, task[map index] -> (state, try number))."""
    from baoke.dates import run_logical_date

    dag = load_dag(dag_id)
    for task in dag.tasks if retries is not None else ():
        task.retries = retries
    dag_run = dag.test(logical_date=run_logical_date(D), run_conf={"business_date": D.isoformat()})
    tasks = {
        ti.task_id + (f"[{ti.rendered_map_index or ti.map_index}]" if ti.map_index >= 0 else ""): (
            str(getattr(ti.state, "value", ti.state)),
            ti.try_number,
        )
        for ti in dag_run.get_task_instances()
    }
    return dag_run, tasks


def output(capfd: Any) -> str:
    """What this process wrote since the last call (Airflow's logs and the tasks')."""
    sys.stdout.flush()
    sys.stderr.flush()
    return "".join(capfd.readouterr())


def unpause(dag_id: str) -> None:
    """Register the project's DAGs in Airflow's database as the DAG processor does, with
    ``dag_id`` active (Airflow queues Asset-triggered runs only for unpaused DAGs)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        sync_bag_to_db(bag, bundle.name, bundle.version)
    with create_session() as session:
        session.get(DagModel, dag_id).is_paused = False


def asset_events(dag_run: Any) -> list[tuple[str, int, dict]]:
    """(asset name, map index, extra) of every Asset event the run emitted."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        events = session.scalars(
            select(AssetEvent).where(
                AssetEvent.source_dag_id == dag_run.dag_id, AssetEvent.source_run_id == dag_run.run_id
            )
        ).all()
        return sorted((e.asset.name, e.source_map_index, dict(e.extra)) for e in events)


def queued_for(dag_id: str) -> set[str]:
    """The Assets whose events wait to trigger ``dag_id`` (Airflow's asset_dag_run_queue)."""
    from airflow.models.asset import AssetDagRunQueue, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return set(
            session.scalars(
                select(AssetModel.name)
                .join(AssetDagRunQueue, AssetDagRunQueue.asset_id == AssetModel.id)
                .where(AssetDagRunQueue.target_dag_id == dag_id)
            )
        )


def test_a_dealer_whose_dms_extraction_failed_is_held_while_the_others_lists_go_out(
    airflow: str, two_dealer_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    from baoke import feedreports
    from baoke.extract.catalog import DMS, DMS_PER_DEALER

    unpause("baoke_warehouse")
    capfd.readouterr()
    with ApiServer(DmsFailingFor(two_dealer_world, "D002", "repair_orders")) as dms:
        monkeypatch.setenv("AIRFLOW_CONN_DMS_API", feed_connections(dms.url, dms.url)["AIRFLOW_CONN_DMS_API"])
        dms_run, tasks = run("baoke_dms", retries=0)  # a real outage would also fail its retries

    logs = output(capfd)
    assert tasks["group_listings"] == ("success", 1)
    assert tasks["dealer_records[D001]"][0] == "success"
    assert tasks["dealer_records[D002]"][0] == "failed", "the outage fails D002's task only"
    assert tasks["feed_health"][0] == "failed", "the run shows the failure"
    assert "dms on 2026-11-20: 1 failed task(s), 0 feed report(s)\ntask dealer_records[1] failed" in logs
    assert str(getattr(dms_run.state, "value", dms_run.state)) == "failed"

    # Airflow 3.3 registers a task's Asset events when that task instance succeeds: each
    # mapped instance for itself. D001's events queue the warehouse; D002 emitted none.
    events = asset_events(dms_run)
    per_dealer = {name: extra for name, _, extra in events if name in {DMS[n].table for n in DMS_PER_DEALER}}
    assert len([e for e in events if e[0] == "raw.dms_repair_orders"]) == 1, "one event: D001's"
    assert set(per_dealer) == {DMS[n].table for n in DMS_PER_DEALER}
    for extra in per_dealer.values():
        assert extra["business_date"] == "2026-11-20"
        assert extra["extracted"] == extra["loaded"] + extra["rejected"] + extra["duplicates_skipped"]
    assert per_dealer["raw.dms_repair_orders"]["loaded"] > 0, "the counts of D001's batch"
    assert queued_for("baoke_warehouse") == {entity.table for entity in DMS.values()}, (
        "every DMS Asset waits to trigger the warehouse, the failed dealer's included"
    )

    # the warehouse built D's lists for both dealers (made by hand here: no dbt)
    build_export_relations(airflow, ["D001", "D002"])
    insert(airflow, [row("call", "D001", 1), row("call", "D002", 2), row("sms", "D002", 3)])
    out = Path(os.environ["OUTBOUND_DIR"]) / D.isoformat()
    (out / "D002").mkdir(parents=True)
    (out / "D002" / f"call_list_D002_{STAMP}.csv").write_bytes(b"an earlier attempt's list")

    capfd.readouterr()
    _, tasks = run("baoke_outbound")
    logs = output(capfd)
    assert tasks["dealer_files[D001]"][0] == "success"
    assert tasks["dealer_files[D002]"] == ("failed", 1), "held: failed, and not retried"
    assert sorted(os.listdir(out / "D001")) == [
        f"call_list_D001_{STAMP}.csv",
        f"call_list_D001_{STAMP}.xlsx",
        f"complaints_D001_{STAMP}.csv",
        f"complaints_D001_{STAMP}.xlsx",
        f"exceptions_D001_{STAMP}.csv",
        f"exceptions_D001_{STAMP}.xlsx",
        "manifest.json",
        f"sms_list_D001_{STAMP}.csv",
        f"sms_list_D001_{STAMP}.xlsx",
    ]
    assert os.listdir(out / "D002") == ["manifest.json"], "no list file, the earlier one removed"
    held = json.loads((out / "D002" / "manifest.json").read_text(encoding="utf-8"))
    assert held["status"] == "held"
    assert held["files"] == []
    assert held["held_because"].startswith(
        "DMS repair_orders, appointments, memberships, recommendations, complaints"
        " for D002 not extracted for 2026-11-20"
    )
    assert "lists for D002 on 2026-11-20 held: DMS repair_orders" in logs, "the task says why"
    delivered = json.loads((out / "D001" / "manifest.json").read_text(encoding="utf-8"))
    assert delivered["status"] == "delivered"
    with psycopg2.connect(airflow) as conn:
        [report] = feedreports.for_day(conn, D, feed="outbound")
    conn.close()
    assert (report.kind, report.dealer_code) == ("held", "D002")


def test_feed_health_fails_listing_the_reports_while_the_lists_still_go_out(
    airflow: str, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    """An insurer without a file for two days: its files load, ``feed_health`` fails with
    the stale report, and the export (which does not wait on it) delivers every dealer's
    lists, their manifests naming the stale insurer."""
    from test_extract_sftp import POLICY
    from test_outbound import dms_extracted

    inbox = Path(os.environ["INSURER_INBOX"])
    (inbox / "PICC").mkdir()
    (inbox / "PICC" / "POLICY_PICC_20261116.csv").write_bytes(POLICY)  # D-4: nothing since
    capfd.readouterr()
    insurer_run, tasks = run("baoke_insurer")
    logs = output(capfd)
    assert tasks["insurers"][0] == tasks["insurer_files[PICC]"][0] == "success", "the files load"
    assert tasks["feed_health"] == ("failed", 1), "reported, visibly, and not retried"
    assert str(getattr(insurer_run.state, "value", insurer_run.state)) == "failed"
    assert (
        "feed reported: insurer on 2026-11-20: 1 report(s)\n"
        "insurer [PICC] stale: insurer PICC: no file dated 2026-11-18 or later (the newest is dated 2026-11-16)"
    ) in logs

    build_export_relations(airflow, ["D001", "D002"])
    insert(airflow, [row("call", "D001", 1)])
    dms_extracted(airflow, D, ["D001", "D002"])
    outbound_run, tasks = run("baoke_outbound")
    assert str(getattr(outbound_run.state, "value", outbound_run.state)) == "success", tasks
    for dealer in ("D001", "D002"):
        manifest = json.loads((Path(os.environ["OUTBOUND_DIR"]) / D.isoformat() / dealer / "manifest.json").read_text())
        assert manifest["status"] == "delivered"
        assert [(r["feed"], r["scope"], r["kind"]) for r in manifest["feed_reports"]] == [("insurer", "PICC", "stale")]


def test_a_missing_feed_connection_fails_the_run_at_once_naming_it(airflow: str, capfd, caplog) -> None:
    """No ``dms_api``: the first task fails on its first try (not after Airflow's retries
    and their back-off), saying which connection and how to define it. Without a
    ``baoke_alerts`` connection the failed run notifies nobody (alerts are off by default)."""
    capfd.readouterr()
    dms_run, tasks = run("baoke_dms")
    logs = output(capfd)
    assert tasks["group_listings"] == ("failed", 1), "failed at once, not retried"
    assert tasks["feed_health"][0] == "failed"
    assert str(getattr(dms_run.state, "value", dms_run.state)) == "failed"
    assert "Airflow connection 'dms_api' is not defined: define it as an HTTP connection" in logs
    assert "no connection 'baoke_alerts': failure alerts are off" in caplog.text, "the notifier ran, sent nothing"


class Webhook:
    """A real local HTTP server recording the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, self.headers["Content-Type"], json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_failed_run_notifies_the_webhook_of_baoke_alerts(
    airflow: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    """A CALLCENTER_INBOX that does not exist fails the run at once, naming it; the failed
    run POSTs its JSON message to the webhook the connection ``baoke_alerts`` names."""
    monkeypatch.setenv("CALLCENTER_INBOX", str(tmp_path / "no-such-inbox"))
    with Webhook() as hook:
        connection = {"conn_type": "http", "host": f"{hook.url}/hooks/baoke"}
        monkeypatch.setenv("AIRFLOW_CONN_BAOKE_ALERTS", json.dumps(connection))
        capfd.readouterr()
        _, tasks = run("baoke_callcenter")
        logs = output(capfd)
    assert tasks["outcome_files"] == ("failed", 1), "failed at once, not retried"
    assert f"CALLCENTER_INBOX is set to {tmp_path}/no-such-inbox, which does not exist" in logs
    [(path, content_type, message)] = hook.received
    assert path == "/hooks/baoke"
    assert content_type == "application/json"
    assert message["dag_id"] == "baoke_callcenter"
    assert message["business_date"] == "2026-11-20"
    assert message["failed_tasks"] == ["feed_health", "outcome_files"]
    assert message["run_id"].startswith("manual__")
    assert message["text"].startswith("Baoke: baoke_callcenter failed for business date 2026-11-20")
