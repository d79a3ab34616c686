"""Executors that import dbt and Cosmos once, before they fork the task processes.

Airflow's LocalExecutor forks a worker, which forks a process per task. Each of
baoke_warehouse's tasks (one per dbt model) then imported dbt, its Postgres adapter and
Cosmos again: about 1.5 s of CPU each, 43 times a run, which is a third of what Cosmos
adds to a bare `dbt build` (BENCHMARKS.md). Imported in the executor's process, they are
inherited by every fork instead, as a web server preloads its application.

    AIRFLOW__CORE__EXECUTOR=baoke.orchestration.executors.PreloadedLocalExecutor
"""

from __future__ import annotations

from airflow.executors.local_executor import LocalExecutor


def preload_dbt() -> None:
    """Import what every dbt task imports (no connection is opened, no thread started)."""
    import cosmos.operators.local
    import dbt.adapters.postgres
    import dbt.cli.main

    del cosmos, dbt  # imported for their side effect: loaded in this process


class PreloadedLocalExecutor(LocalExecutor):
    """The LocalExecutor, with dbt and Cosmos imported before its workers are forked."""

    def start(self) -> None:
        preload_dbt()
        super().start()
