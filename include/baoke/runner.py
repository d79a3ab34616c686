"""``baoke run --date D``: the day's DAGs, in order, through Airflow's own code path.

Each DAG runs with ``dag.test()`` (the scheduler's task-readiness loop in this process,
no scheduler daemon needed), for the logical date D 01:00 Asia/Shanghai, with the
business date and any dbt vars in the run's conf. A failed DAG stops the day: later
DAGs would only build on missing data.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from baoke.dates import run_logical_date

#: The day's DAGs in dependency order. Only those present in dags/ run.
DAY_ORDER: tuple[str, ...] = (
    "baoke_dms",
    "baoke_insurer",
    "baoke_oem",
    "baoke_callcenter",
    "baoke_warehouse",
    "baoke_outbound",
)


class DagImportError(RuntimeError):
    """A DAG file failed to import; the message holds each file's error."""


@dataclass
class DagResult:
    dag_id: str
    state: str
    tasks: dict[str, str] = field(default_factory=dict)  # task_id -> final state

    @property
    def ok(self) -> bool:
        return self.state == "success"

    @property
    def failed_tasks(self) -> list[str]:
        return sorted(t for t, s in self.tasks.items() if s in {"failed", "upstream_failed"})


def load_dags() -> dict[str, Any]:
    """Parse the project's DAG folder; an import error stops everything, with its message."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag()
    if bag.import_errors:
        details = "\n".join(f"{path}:\n{err}" for path, err in bag.import_errors.items())
        raise DagImportError(f"DAG files failed to import:\n{details}")
    return bag.dags


def run_dag(dag: Any, business_date: dt.date, dbt_vars: dict | None = None, retries: int | None = None) -> DagResult:
    """Run one DAG for ``business_date``; return its final state per task."""
    if retries is not None:
        for task in dag.tasks:
            task.retries = retries
    conf = {"business_date": business_date.isoformat(), "dbt_vars": dbt_vars or {}}
    dag_run = dag.test(logical_date=run_logical_date(business_date), run_conf=conf)
    tasks = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in dag_run.get_task_instances()}
    return DagResult(dag.dag_id, str(getattr(dag_run.state, "value", dag_run.state)), tasks)


def run_day(business_date: dt.date, dbt_vars: dict | None = None, retries: int | None = None) -> list[DagResult]:
    """Run the day's DAGs in order, stopping at the first failure."""
    dags = load_dags()
    results: list[DagResult] = []
    for dag_id in DAY_ORDER:
        if dag_id not in dags:
            continue
        logging.getLogger(__name__).info("running %s for %s", dag_id, business_date)
        result = run_dag(dags[dag_id], business_date, dbt_vars, retries)
        results.append(result)
        if not result.ok:
            break
    return results
