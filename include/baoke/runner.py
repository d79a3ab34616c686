"""``baoke run --date D``: the day's DAGs, in order, through Airflow's own code path.

Each DAG runs with ``dag.test()`` (the scheduler's task-readiness loop in this process,
no scheduler daemon needed), for the logical date D 01:00 Asia/Shanghai, with the
business date and any dbt vars in the run's conf.

The four extraction DAGs are independent: each runs whatever another did, so one bad
feed costs only its own data (and, for a DMS dealer, that dealer's lists). The
warehouse is built from whatever was extracted; the lists go out only from a warehouse
that was built. Each extraction DAG ends with a ``feed_health`` task that fails, in the
UI, when its feed has reports for D: that failure reports, it is not a failed step
(docs/feeds.md §5), so it does not fail the day (:func:`day_succeeded`).

What happens is told as it happens to a :class:`Watch` (progress on the terminal, task
log files) through an Airflow listener, which ``dag.test()`` calls in this process at
every task's start and end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import traceback
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from baoke.dates import run_logical_date
from baoke.feedreports import BLOCKING, REPORTED, FeedReport

EXTRACTION_DAGS: tuple[str, ...] = ("baoke_dms", "baoke_insurer", "baoke_oem", "baoke_callcenter")
WAREHOUSE_DAG = "baoke_warehouse"
OUTBOUND_DAG = "baoke_outbound"
#: The monthly report (outputs.md §3): run on the 1st only, for the month before.
REPORT_DAG = "baoke_report"
#: The purge of what is past its retention period, last (outputs.md §5).
RETENTION_DAG = "baoke_retention"
#: The day's DAGs in dependency order. Only those present in dags/ run.
DAY_ORDER: tuple[str, ...] = (*EXTRACTION_DAGS, WAREHOUSE_DAG, OUTBOUND_DAG, REPORT_DAG, RETENTION_DAG)
#: The DAGs that read what the warehouse built, not run when its build failed, and why.
BUILT_DAGS: dict[str, str] = {OUTBOUND_DAG: "no lists can be built", REPORT_DAG: "no report can be written"}
#: The task ending each extraction DAG: it fails when its feed was reported for D.
FEED_HEALTH = "feed_health"
#: Final task states that are not a failed step.
_FINE = frozenset({"success", "skipped"})

log = logging.getLogger(__name__)
#: Marks listener hooks the way ``airflow.listeners.hookimpl`` does (pluggy, project
#: "airflow"), without importing Airflow before its environment is set.
_hookimpl = pluggy.HookimplMarker("airflow")


class DagImportError(RuntimeError):
    """A DAG file failed to import; the message names each file and its error."""


@dataclass(frozen=True)
class TaskEvent:
    """A task instance changed state (as a listener saw it, or at the end of its DAG)."""

    dag_id: str
    task: str  # task_id, with the mapped instance: "dealer_records[D001]"
    state: str  # running | success | failed | up_for_retry | skipped | upstream_failed | ...
    try_number: int = 1
    max_tries: int = 0
    error: str | None = None  # the exception's message, one line
    log_file: Path | None = None  # where the Airflow UI reads this attempt's log


@dataclass
class DagResult:
    dag_id: str
    state: str  # the DAG run's state, or "skipped" when it was not run
    tasks: dict[str, str] = field(default_factory=dict)  # task -> final state
    errors: dict[str, str] = field(default_factory=dict)  # failed task -> its error, one line
    error: str | None = None  # why the DAG did not run (skipped) or could not finish
    started: dt.datetime | None = None
    ended: dt.datetime | None = None

    @property
    def failed_tasks(self) -> list[str]:
        return sorted(t for t, s in self.tasks.items() if s in {"failed", "upstream_failed"})

    def _reported(self, task: str, state: str) -> bool:
        """``task`` is a ``feed_health`` that failed only to report its feed (any other
        failure of it, a crashed freshness check included, is a broken step)."""
        return (
            task_id_of(task) == FEED_HEALTH and state == "failed" and (self.errors.get(task) or "").find(REPORTED) >= 0
        )

    @property
    def blocking_failures(self) -> list[str]:
        """Tasks that did not do their work (a ``feed_health`` that only reports did)."""
        return sorted(t for t, s in self.tasks.items() if s not in _FINE and not self._reported(t, s))

    @property
    def feed_reported(self) -> bool:
        """``feed_health`` failed to report this DAG's feed for D."""
        return any(self._reported(t, s) for t, s in self.tasks.items())

    @property
    def ok(self) -> bool:
        """Every step did its work (the run may still have reported its feed)."""
        if self.error is not None or self.state == "skipped" or self.blocking_failures:
            return False
        return self.state == "success" or (self.state == "failed" and self.feed_reported)


def task_id_of(task: str) -> str:
    """``dealer_records[D001]`` -> ``dealer_records``."""
    return task.split("[", 1)[0]


def task_key(task_id: str, map_index: int, label: str | None = None) -> str:
    return task_id if map_index < 0 else f"{task_id}[{label or map_index}]"


def one_line(error: BaseException | str | None) -> str | None:
    """What to fix, in one line: the exception's type and message, not its traceback."""
    if error is None:
        return None
    if isinstance(error, BaseException):
        text = traceback.format_exception_only(error)[-1]
    else:
        text = next((line for line in reversed(error.splitlines()) if line.strip()), error)
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def day_succeeded(results: Sequence[DagResult], reports: Iterable[FeedReport]) -> bool:
    """The day's exit status (outputs.md §4): every step did its work and no dealer's
    lists were held. Feeds reported degraded or stale do not change it."""
    return bool(results) and all(r.ok for r in results) and not any(r.kind in BLOCKING for r in reports)


class Watch:
    """Told what a run does, as it happens. Does nothing; subclasses pick what they need."""

    def dag_started(self, dag_id: str) -> None: ...

    def task_changed(self, event: TaskEvent) -> None: ...

    def dag_finished(self, result: DagResult) -> None: ...


class Watches(Watch):
    """Several watches, each told everything in turn."""

    def __init__(self, *watches: Watch) -> None:
        self.watches = watches

    def dag_started(self, dag_id: str) -> None:
        for watch in self.watches:
            watch.dag_started(dag_id)

    def task_changed(self, event: TaskEvent) -> None:
        for watch in self.watches:
            watch.task_changed(event)

    def dag_finished(self, result: DagResult) -> None:
        for watch in self.watches:
            watch.dag_finished(result)


def load_dags() -> dict[str, Any]:
    """Parse the project's DAG folder; an import error stops everything, naming each
    file and its error's last line (the whole traceback goes to the log)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag()
    if bag.import_errors:
        for path, err in bag.import_errors.items():
            log.error("DAG file %s failed to import:\n%s", path, err)
        details = "; ".join(f"{Path(path).name}: {one_line(err)}" for path, err in bag.import_errors.items())
        raise DagImportError(f"DAG files failed to import: {details}")
    return bag.dags


class _TaskListener:
    """An Airflow listener for one DAG run: the task runner calls it in-process at each
    task's start and end. It tells the watch and keeps each failed task's error."""

    def __init__(self, watch: Watch, dag_id: str, started: dt.datetime) -> None:
        self.watch = watch
        self.dag_id = dag_id
        self.started: dt.datetime | None = started  # until the run's true start is recorded
        self.seen: set[str] = set()
        self.errors: dict[str, str] = {}  # task -> its last error

    @_hookimpl
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
        ti = task_instance
        self._tell(ti, "running", log_file=task_log_file(ti))
        if self.started is not None and ti.dag_id == self.dag_id:
            set_true_start(ti.dag_id, ti.run_id, self.started)  # the UI shows it from now on
            self.started = None

    @_hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        self._tell(task_instance, "success")

    @_hookimpl
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any) -> None:
        state = getattr(task_instance.state, "value", task_instance.state)
        self._tell(task_instance, str(state or "failed"), error=one_line(error))

    def _tell(self, ti: Any, state: str, error: str | None = None, log_file: Path | None = None) -> None:
        if ti.dag_id != self.dag_id:
            return
        key = task_key(ti.task_id, ti.map_index, _map_label(ti))
        self.seen.add(key)
        if error:
            self.errors[key] = error
        self.watch.task_changed(TaskEvent(ti.dag_id, key, state, ti.try_number, ti.max_tries, error, log_file))


def _map_label(ti: Any) -> str | None:
    """A mapped instance's name: its rendered ``map_index_template`` once known, before
    that (at its start) the value it was expanded with, when it has one argument."""
    if ti.map_index < 0:
        return None
    if getattr(ti, "rendered_map_index", None):
        return str(ti.rendered_map_index)
    kwargs = getattr(ti.task, "op_kwargs", None) or {}
    return str(next(iter(kwargs.values()))) if len(kwargs) == 1 else None


def task_log_file(ti: Any) -> Path:
    """The file the Airflow UI reads this attempt's log from: Airflow's log filename
    template under the base log folder (what an executor gives a worker)."""
    from airflow.configuration import conf
    from airflow.utils.helpers import log_filename_template_renderer

    return Path(conf.get("logging", "base_log_folder")) / log_filename_template_renderer()(ti=ti)


def set_true_start(dag_id: str, run_id: str, started: dt.datetime) -> None:
    """``dag.test()`` starts a run at its logical date (D 01:00, hours before a backfill
    or a replay actually ran), so the UI showed hours-long durations: record when it
    really started. A failure to say so is logged, and costs the run nothing."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import update
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with create_session() as session:
            session.execute(
                update(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id).values(start_date=started)
            )
    except SQLAlchemyError:
        log.warning("could not record the true start of %s %s", dag_id, run_id, exc_info=True)


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """Each of Cosmos' dbt tasks ends with a full ``gc.collect()`` (it resets dbt's
    adapters: astronomer-cosmos#2334), and in this process that walked every object
    Airflow, dbt, the loaded DAGs and the in-process API hold: about half a second of
    CPU a task, 50 tasks a run. Objects alive when a DAG starts are moved out of the
    collector's sight for its run (``gc.freeze``, as Airflow does before it forks
    workers), so each collection walks only what the tasks made; they are handed back
    afterwards (``gc.unfreeze``), so nothing is kept longer than the run."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run_dag(
    dag: Any,
    business_date: dt.date,
    dbt_vars: dict | None = None,
    retries: int | None = None,
    watch: Watch | None = None,
) -> DagResult:
    """Run one DAG for ``business_date``; return each task's final state. A failure of
    Airflow itself (not of a task) fails the DAG with its message; the traceback is logged."""
    from airflow.sdk.listener import get_listener_manager

    watch = watch or Watch()
    if retries is not None:
        for task in dag.tasks:
            task.retries = retries
    conf = {"business_date": business_date.isoformat(), "dbt_vars": dbt_vars or {}}
    started = dt.datetime.now(dt.UTC)
    listener = _TaskListener(watch, dag.dag_id, started)
    manager = get_listener_manager()
    manager.add_listener(listener)
    watch.dag_started(dag.dag_id)
    try:
        with _heap_frozen():
            dag_run = dag.test(logical_date=run_logical_date(business_date), run_conf=conf)
    except Exception as err:
        log.exception("%s could not run", dag.dag_id)
        result = DagResult(dag.dag_id, "failed", error=one_line(err), started=started, ended=dt.datetime.now(dt.UTC))
    else:
        set_true_start(dag.dag_id, dag_run.run_id, started)  # also when no task ran
        result = _result(dag_run, listener.errors, started)
        for task, state in result.tasks.items():  # those that never ran: upstream_failed, ...
            if task not in listener.seen:
                watch.task_changed(TaskEvent(dag.dag_id, task, state))
    finally:
        manager.pm.unregister(listener)
    watch.dag_finished(result)
    return result


def _result(dag_run: Any, errors: dict[str, str], started: dt.datetime) -> DagResult:
    tasks = {
        task_key(ti.task_id, ti.map_index, ti.rendered_map_index): str(getattr(ti.state, "value", ti.state))
        for ti in dag_run.get_task_instances()
    }
    state = str(getattr(dag_run.state, "value", dag_run.state))
    ended = dag_run.end_date or dt.datetime.now(dt.UTC)
    return DagResult(dag_run.dag_id, state, tasks, errors, started=started, ended=ended)


def run_day(
    business_date: dt.date, dbt_vars: dict | None = None, retries: int | None = None, watch: Watch | None = None
) -> list[DagResult]:
    """Run the day's DAGs: every extraction DAG, then the warehouse, then the lists (and
    on the 1st the monthly report) if the warehouse was built (else they are skipped,
    saying why), then the retention purge."""
    watch = watch or Watch()
    dags = load_dags()
    results: list[DagResult] = []
    for dag_id in DAY_ORDER:
        if dag_id not in dags or (dag_id == REPORT_DAG and business_date.day != 1):
            continue
        warehouse = next((r for r in results if r.dag_id == WAREHOUSE_DAG), None)
        if dag_id in BUILT_DAGS and warehouse is not None and not warehouse.ok:
            skipped = DagResult(dag_id, "skipped", error=f"not run: {WAREHOUSE_DAG} failed, so {BUILT_DAGS[dag_id]}")
            watch.dag_finished(skipped)
            results.append(skipped)
            continue
        log.info("running %s for %s", dag_id, business_date)
        results.append(run_dag(dags[dag_id], business_date, dbt_vars, retries, watch))
    return results
