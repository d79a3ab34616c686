"""Every DAG file imports cleanly, without touching a database or the network, and
follows the conventions data engineers rely on in the Airflow UI."""

from __future__ import annotations

import socket
from pathlib import Path

import psycopg2
import pytest

from baoke.config import get_settings
from baoke.runner import DAY_ORDER

# every test here parses the DAGs with Airflow (DagBag) or imports Airflow and Cosmos
pytestmark = pytest.mark.slow

DAG_FILES = sorted(p for p in get_settings().dags_dir.glob("*.py") if p.name != "__init__.py")


class NoIOAtImport(AssertionError):
    pass


@pytest.fixture(scope="module")
def dagbag(manifest: Path):
    """The project's DagBag, parsed while any socket connection or database connect
    raises: a DAG file that does work at import time fails to import here."""
    from airflow.dag_processing.dagbag import DagBag

    def refuse(*args, **kwargs):
        raise NoIOAtImport(f"network or database access while importing DAG files: {args!r}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket.socket, "connect_ex", refuse)
        mp.setattr(psycopg2, "connect", refuse)
        return DagBag(dag_folder=str(get_settings().dags_dir))


def test_dag_files_exist_and_are_not_named_dbt():
    assert DAG_FILES, "dags/ holds no DAG file"
    for path in DAG_FILES:
        assert not path.name.startswith("dbt_"), f"{path.name}: Cosmos skips dbt_*.py files (#1673)"


def test_every_dag_file_imports_without_io(dagbag):
    assert dagbag.import_errors == {}
    assert {Path(d.fileloc).name for d in dagbag.dags.values()} == {p.name for p in DAG_FILES}


def test_every_dag_is_one_of_the_days_dags(dagbag):
    assert set(dagbag.dag_ids) <= set(DAY_ORDER), "baoke run would silently skip a DAG not in DAY_ORDER"


@pytest.mark.parametrize("dag_file", [p.name for p in DAG_FILES])
def test_dag_conventions(dagbag, dag_file: str):
    dags = [d for d in dagbag.dags.values() if Path(d.fileloc).name == dag_file]
    assert dags, f"{dag_file} defines no DAG"
    for dag in dags:
        assert dag.dag_id.startswith("baoke_")
        assert dag.doc_md, f"{dag.dag_id}: doc_md should explain the DAG"
        assert len(dag.doc_md.strip()) > 80, f"{dag.dag_id}: doc_md should explain the DAG"
        assert dag.tags
        assert "baoke" in dag.tags
        assert dag.schedule is not None, f"{dag.dag_id}: needs an explicit schedule"
        assert dag.catchup is False or dag.max_active_runs == 1
        assert dag.tasks, f"{dag.dag_id} has no task"
        for task in dag.tasks:
            assert task.owner not in {"", "airflow"}, f"{task.task_id}: set an owner"
            assert task.retries >= 1, f"{task.task_id}: set retries"


def test_warehouse_dag_has_one_task_per_dbt_node_building_it_with_its_tests(dagbag, manifest: Path):
    """Each seed and model is one `dbt build` task (the node, then its data and unit
    tests), downstream of the tasks of the nodes it reads: a failing test fails its
    task, which stops everything built on it."""
    import json

    nodes = json.loads(manifest.read_text())["nodes"].values()
    expected = {f"dbt.{n['name']}_{n['resource_type']}_build" for n in nodes if n["resource_type"] in ("model", "seed")}
    dag = dagbag.dags["baoke_warehouse"]
    assert set(dag.task_ids) == expected
    for seed in ("churn_status_thresholds", "churn_bands", "churn_rate_targets", "service_intervals"):
        assert f"dbt.{seed}_seed_build" in expected


def test_cosmos_tasks_run_dbt_with_the_projects_threads():
    """A model's task runs its data tests side by side, as a bare `dbt build` does."""
    import yaml

    from baoke.orchestration.dbt_tasks import dbt_task_group_kwargs

    profiles = yaml.safe_load((get_settings().dbt_project_dir / "profiles.yml").read_text())
    threads = profiles["baoke"]["outputs"]["warehouse"]["threads"]
    assert dbt_task_group_kwargs()["profile_config"].profile_mapping.profile_args["threads"] == threads


def test_extraction_dags_publish_one_asset_per_raw_table(dagbag):
    from baoke.extract.catalog import ALL

    published = {}
    for dag_id in ("baoke_dms", "baoke_insurer", "baoke_oem", "baoke_callcenter"):
        for task in dagbag.dags[dag_id].tasks:
            for outlet in task.outlets:
                published[outlet.name] = dag_id
    assert set(published) == {entity.table for entity in ALL}
    assert dagbag.dags["baoke_dms"].task_dict["dealer_records"].is_mapped, "one DMS task per dealer"
    for dag_id in ("baoke_dms", "baoke_insurer", "baoke_oem", "baoke_callcenter"):
        assert dagbag.dags[dag_id].schedule == "0 1 * * *"
        assert str(dagbag.dags[dag_id].timezone) == "Asia/Shanghai"


@pytest.mark.parametrize("dag_id", ["baoke_dms", "baoke_insurer", "baoke_oem", "baoke_callcenter"])
def test_every_extraction_dag_ends_with_feed_health_whatever_happened_before(dagbag, dag_id: str):
    """feeds.md §5: the feed's problems are reported by a task that runs even after a
    failure (trigger rule all_done) and fails visibly; `baoke run` knows it by its id."""
    dag = dagbag.dags[dag_id]
    health = dag.task_dict["feed_health"]
    assert health.trigger_rule == "all_done"
    assert health.downstream_task_ids == set(), "the leaf: its state is the run's"
    assert dag.task_dict.keys() - {"feed_health"} == health.get_flat_relative_ids(upstream=True)
    assert not health.outlets


def test_every_dag_notifies_its_failure_through_baoke_alerts(dagbag):
    from baoke.orchestration.notify import FailureNotifier

    for dag in dagbag.dags.values():
        assert isinstance(dag.on_failure_callback, FailureNotifier), dag.dag_id


def test_the_warehouse_is_built_when_every_raw_table_has_been_loaded(dagbag):
    from baoke.extract.catalog import ALL

    dag = dagbag.dags["baoke_warehouse"]
    assert {asset.name for asset in dag.schedule} == {entity.table for entity in ALL}
    kpis = dag.task_dict["dbt.kpi_dealer_monthly_model_build"]
    churn = "dbt.int_churn_monthly_counts_model_build"
    assert churn in kpis.upstream_task_ids, "a failing test stops what depends on it"


def test_the_local_executor_preloads_dbt_for_its_task_processes():
    """PreloadedLocalExecutor imports dbt and Cosmos in its own process, which the task
    processes are forked from; importing the module alone (as Airflow does to find the
    executor) imports neither."""
    import subprocess
    import sys

    probe = (
        "import sys; import baoke.orchestration.executors as e; before = 'dbt.cli.main' in sys.modules; "
        # the LocalExecutor's own start (its worker processes) is not what is tested here
        "e.LocalExecutor.start = lambda self: None; e.PreloadedLocalExecutor().start(); "
        "print(before, 'dbt.cli.main' in sys.modules, 'cosmos.operators.local' in sys.modules, "
        "issubclass(e.PreloadedLocalExecutor, __import__('airflow.executors.local_executor', "
        "fromlist=['LocalExecutor']).LocalExecutor))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.split()[-4:] == ["False", "True", "True", "True"], result.stdout + result.stderr


def test_the_report_dag_runs_on_the_first_once_the_warehouse_is_built(dagbag):
    """The monthly report (outputs.md §3): the 1st at 01:00, its writer after a sensor that
    waits for D's build (the run at 01:00 must not report from yesterday's marts)."""
    dag = dagbag.dags["baoke_report"]
    assert dag.schedule == "0 1 1 * *"
    assert dag.task_dict["warehouse_built"].downstream_task_ids == {"reports"}
