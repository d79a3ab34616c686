"""Test session setup: everything runs against a real PostgreSQL that the suite starts
itself (the embedded warehouse, in a temporary folder, on a free TCP port) and a
throwaway Airflow home — never against the project's own .baoke/ or a server on 5432.

The environment is set at import time, before any test imports Airflow (which reads its
configuration once, on first import).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_STATE = Path(tempfile.mkdtemp(prefix="baoke-test-"))

os.environ["BAOKE_HOME"] = str(_STATE)
os.environ["AIRFLOW_HOME"] = str(_STATE / "airflow")
# The suite runs in two worker processes (pytest-xdist, `-n 2`): each builds the dbt
# project into its own target and log folders, never the other's half-written manifest.
os.environ["DBT_TARGET_PATH"] = str(_STATE / "dbt-target")
os.environ["DBT_LOG_PATH"] = str(_STATE / "dbt-logs")
for _name in (
    "AIRFLOW_CONN_WAREHOUSE",
    "AIRFLOW_CONN_WAREHOUSE_LOADER",
    "AIRFLOW_CONN_WAREHOUSE_TRANSFORMER",
    "AIRFLOW_CONN_WAREHOUSE_EXPORTER",
    "AIRFLOW_CONN_DMS_API",
    "AIRFLOW_CONN_OEM_API",
    "BAOKE_SIM_FAULT_RATE",  # a shell's simulator fault settings must not reach the suite
    "BAOKE_SIM_RECORD_FAULT_RATE",
    "BAOKE_SIM_FAULT_SEED",
):
    os.environ.pop(_name, None)

# Every PostgreSQL session of the suite and of the commands it runs (`baoke demo` starts
# a warehouse of its own) commits without waiting for the disk: no test crashes a server,
# and what a commit leaves and others see is the same (see _without_waiting_for_the_disk).
os.environ["PGOPTIONS"] = "-c synchronous_commit=off"

from baoke import airflow_env  # noqa: E402
from baoke.config import get_settings  # noqa: E402

# This session's Airflow is its own: a value inherited from the parent process (the
# pytest-xdist controller, which ran this file before starting the workers, or a shell)
# would point every worker at one metadata database.
for _name in airflow_env.airflow_environment(get_settings()):
    if _name.startswith("AIRFLOW__"):
        os.environ.pop(_name, None)
airflow_env.apply()

#: How `make test` shares the suite between its two workers (pytest-xdist, `-n 2 --dist
#: loadfile --no-loadscope-reorder`): each module runs whole on one worker (its module
#: fixtures are built once), in this order, longest first, so that both workers start on
#: the long ones rather than one finishing the suite alone; modules not named here
#: follow in their own order.
LONGEST_FIRST = (
    "test_run_e2e.py",  # two `baoke run`s of a whole day
    "test_cli.py",  # `baoke demo`
    "test_replay.py",  # three replayed days
    "test_staging_incremental.py",
    "test_dbt_unit.py",
    "test_monthly_report.py",
    "test_feed_faults_files.py",
    "test_run_progress.py",
    "test_dealer_access.py",
    "test_privacy_erase.py",
    "test_ui.py",
    "test_dags.py",
    "test_feed_health.py",
    "test_outbound.py",
)


def pytest_unconfigure(config: pytest.Config) -> None:
    """The xdist controller imported this file too, and runs no test: its state folder
    (each worker has its own, removed by ``state_dir``) goes with it."""
    if getattr(config.option, "numprocesses", None) and "PYTEST_XDIST_WORKER" not in os.environ:
        shutil.rmtree(_STATE, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a module keeps its order


_STEP_CONNECTIONS = (
    "AIRFLOW_CONN_WAREHOUSE_LOADER",
    "AIRFLOW_CONN_WAREHOUSE_TRANSFORMER",
    "AIRFLOW_CONN_WAREHOUSE_EXPORTER",
)


@pytest.fixture(autouse=True)
def _step_connections_stay_in_their_test():
    """``resolve_warehouse`` exports the steps' connections derived from the warehouse it
    found; a later test, on another database, must derive its own."""
    yield
    for name in _STEP_CONNECTIONS:
        os.environ.pop(name, None)


@pytest.fixture(scope="session")
def state_dir() -> Path:
    """The suite's BAOKE_HOME (removed at the end)."""
    yield _STATE
    from baoke.warehouse import EmbeddedWarehouse

    for sub in ("warehouse", "test-warehouse"):
        EmbeddedWarehouse(_STATE / sub).down()
    shutil.rmtree(_STATE, ignore_errors=True)


@pytest.fixture(scope="session")
def warehouse_url(state_dir: Path) -> str:
    """A real, empty PostgreSQL started for this test session (embedded, TCP)."""
    from baoke.warehouse import EmbeddedWarehouse

    url = EmbeddedWarehouse(state_dir / "test-warehouse").up()
    _without_waiting_for_the_disk(url)
    return url


def _without_waiting_for_the_disk(url: str) -> None:
    """No test crashes the test server, and its data dies with the session: it need not
    wait for the disk at each commit (a few ms each, and an insurer history is thousands
    of commits) nor flush the tables dbt creates. What a transaction leaves, and what
    other sessions see, is the same."""
    import psycopg2

    admin = psycopg2.connect(url)
    admin.autocommit = True
    with admin.cursor() as cur:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            cur.execute(f"alter system set {setting} = off")
        cur.execute("select pg_reload_conf()")
    admin.close()


@pytest.fixture(scope="session")
def manifest(state_dir: Path) -> Path:
    """The dbt manifest the warehouse DAG is rendered from (dbt parse, no database)."""
    from baoke.dbt import build_manifest

    return build_manifest()


@pytest.fixture(scope="session")
def replayed(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory):
    """Three replayed days with faults on every feed, read by test_replay.py
    (tests/replay_support.py says why one replay serves all its checks)."""
    from replay_support import replay_with_faults

    return replay_with_faults(warehouse_url, tmp_path_factory)


@pytest.fixture
def warehouse_env(warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test warehouse configured the way a deployment does it: AIRFLOW_CONN_WAREHOUSE."""
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", warehouse_url)
    return warehouse_url


@pytest.fixture
def fresh_db(warehouse_url: str, request: pytest.FixtureRequest) -> str:
    """A new, empty, migrated database on the test server, for one test: extraction
    tests compare whole raw tables, so they must not see each other's rows."""
    import re
    import uuid

    name = "t_" + re.sub(r"\W", "_", request.node.name.lower())[:40] + "_" + uuid.uuid4().hex[:6]
    return _new_database(warehouse_url, name)


@pytest.fixture
def dbt_db(warehouse_url: str) -> str:
    """A new, empty, migrated database for one test that runs dbt, under the same name for
    every such test (the last one's is dropped): dbt parses the whole project again
    (seconds) whenever the database in its profile changes, and keeps its parse when only
    the database's content does."""
    return _new_database(warehouse_url, "t_dbt", replace=True)


def _new_database(warehouse_url: str, name: str, replace: bool = False) -> str:
    import psycopg2

    from baoke.migrate import migrate

    admin = psycopg2.connect(warehouse_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        if replace:
            cur.execute(f'drop database if exists "{name}" with (force)')
        cur.execute(f'create database "{name}"')
    admin.close()
    url = warehouse_url.rsplit("/", 1)[0] + "/" + name
    migrate(url)
    return url
