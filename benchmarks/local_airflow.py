"""A real Airflow for benchmarks: api-server, scheduler and dag-processor as separate
processes (and a Celery worker for the CeleryExecutor, as the compose file runs it),
metadata in PostgreSQL, as a deployment runs them. `dag.test()` runs one task at a time
in one process; here the scheduler runs independent tasks side by side, up to
`parallelism`.

Used by `bench_warehouse.py --scheduler`. Everything lives in a throwaway AIRFLOW_HOME
and metadata database; the components are stopped on exit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql
from sqlalchemy.engine import make_url


@dataclass
class RunTimes:
    """A DAG run as the metadata database recorded it."""

    state: str
    seconds: float  # from the run's start to its end, as the scheduler stamped them
    tasks: int
    task_seconds: float  # the tasks' durations added up: above `seconds` when they overlap


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _fresh_database(server_url: str, name: str) -> str:
    """Create (again) database `name` on the warehouse's server; return its SQLAlchemy URL."""
    url = make_url(server_url)
    with contextlib.closing(
        psycopg2.connect(url.set(database="postgres").render_as_string(hide_password=False))
    ) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
            cur.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return url.set(drivername="postgresql+psycopg2", database=name).render_as_string(hide_password=False)


@contextlib.contextmanager
def local_airflow(
    home: Path, server_url: str, parallelism: int = 4, executor: str = "LocalExecutor"
) -> Iterator[LocalAirflow]:
    """Start the components with a fresh metadata database on the server of
    `server_url`; stop them on exit (the home keeps their logs)."""
    home.mkdir(parents=True, exist_ok=True)
    # a `kill` of the benchmark still stops the components (the finally below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    port = _free_port()
    metadata = _fresh_database(server_url, "airflow_bench")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        # CeleryExecutor only: the local Redis, results in the metadata database
        "AIRFLOW__CELERY__BROKER_URL": os.environ.get("BAOKE_BENCH_REDIS", "redis://127.0.0.1:6379/0"),
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata.replace("postgresql+psycopg2", "postgresql"),
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "baoke.orchestration.celery_config.CELERY_CONFIG",
    }
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    processes = []
    try:
        components = {"api-server": ["--host", "127.0.0.1", "--port", str(port)], "scheduler": [], "dag-processor": []}
        if executor == "CeleryExecutor":  # and its workers, as the compose file runs them
            components["celery"] = ["worker", "--concurrency", str(parallelism)]
        for component, flags in components.items():
            log = open(home / f"{component}.log", "w")  # noqa: SIM115 (closed with the process)
            processes.append(
                (
                    subprocess.Popen(
                        [airflow, component, *flags],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    ),
                    log,
                )
            )
        yield LocalAirflow(airflow, env, metadata.replace("postgresql+psycopg2", "postgresql"))
    finally:
        for process, _ in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process, log in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            log.close()


@dataclass
class LocalAirflow:
    airflow: str
    env: dict[str, str]
    metadata_url: str

    def _query(self, query: str, *args: object) -> list[tuple]:
        with contextlib.closing(psycopg2.connect(self.metadata_url)) as conn, conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall()

    def wait_for_dag(self, dag_id: str, timeout: float = 300) -> None:
        """Until the dag-processor has parsed and serialized `dag_id`."""
        deadline = time.monotonic() + timeout
        while not self._query("select 1 from serialized_dag where dag_id = %s", dag_id):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} was not parsed within {timeout:.0f} s: see dag-processor.log")
            time.sleep(2)

    def trigger(self, dag_id: str, logical_date: dt.datetime, conf: dict) -> str:
        """Unpause `dag_id` and trigger one run; return its run id."""
        run_id = f"bench__{logical_date.isoformat()}"
        subprocess.run([self.airflow, "dags", "unpause", dag_id], env=self.env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(
            [
                self.airflow,
                "dags",
                "trigger",
                dag_id,
                "--run-id",
                run_id,
                "--logical-date",
                logical_date.isoformat(),
                "--conf",
                json.dumps(conf),
            ],
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return run_id

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 3600) -> RunTimes:
        """Until the run has finished; its times as the scheduler recorded them."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self._query(
                "select state, extract(epoch from end_date - start_date) from dag_run"
                " where dag_id = %s and run_id = %s",
                dag_id,
                run_id,
            )
            if rows and rows[0][0] in ("success", "failed"):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} {run_id} still running after {timeout:.0f} s: see scheduler.log")
            time.sleep(2)
        state, seconds = rows[0]
        ((tasks, task_seconds),) = self._query(
            "select count(*), coalesce(sum(duration), 0) from task_instance where dag_id = %s and run_id = %s",
            dag_id,
            run_id,
        )
        return RunTimes(state, float(seconds), tasks, float(task_seconds))
