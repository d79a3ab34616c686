"""The bodies Baoke's tasks share, so that the DAG files stay wiring.

- ``extraction``: run one extraction job for the task's business date, stamp its batch
  counts on the task's Asset events, and fail at once (no retries) on what a retry cannot
  fix: a configured folder or connection that does not exist, a connection of the wrong
  form, a dealer whose lists were held.
- ``feed_health``: the last task of every extraction DAG (``trigger_rule`` all_done):
  check the feed's freshness for D, then fail, listing them, if D has any report for the
  feed or any other task of the run failed; the lists still go out (the export reads the
  reports, it does not wait on this task).

Why ``feed_health`` also fails for a failed task: Airflow sets a run's state from its
leaf tasks only, and ``feed_health`` is the leaf. Succeeding after a DMS dealer's task
failed would mark the run a success and keep the failure from the run's state and from
the failure notifier.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from baoke.configured import MissingConfiguration
from baoke.connections import ConnectionConfigError
from baoke.extract import jobs
from baoke.feedreports import REPORTED
from baoke.orchestration.context import stamp_counts, task_business_date
from baoke.outbound import ListsHeld

#: The task id ``baoke run`` reads as "reported, not broken" (outputs.md §4).
FEED_HEALTH_TASK_ID = "feed_health"

#: Errors a retry cannot fix: the task fails at once, with the error's one line.
PERMANENT_ERRORS: tuple[type[Exception], ...] = (MissingConfiguration, ConnectionConfigError, ListsHeld)

#: Task states that mean a task of the run did not do its work.
FAILED_STATES = frozenset({"failed", "upstream_failed"})


@contextlib.contextmanager
def failing_at_once() -> Iterator[None]:
    """Turn the errors in ``PERMANENT_ERRORS`` (and a connection Airflow does not know)
    into ``AirflowFailException``: the task fails now instead of retrying for minutes."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

    try:
        yield
    except PERMANENT_ERRORS as err:
        raise AirflowFailException(str(err)) from err
    except AirflowNotFoundException as err:
        raise AirflowFailException(
            f"{err}: define it (docs/feeds.md, 'Where each feed is configured'; `airflow connections add`)"
        ) from err


def _context() -> Any:
    from airflow.sdk import get_current_context

    return get_current_context()


def extraction(job: Callable[..., jobs.JobResult], *args: Any, **labels: str) -> jobs.JobResult:
    """Run ``job(*args, D)`` for the running task's business date D; ``labels`` go into
    the context (what ``map_index_template`` shows, e.g. ``dealer_code``)."""
    context = _context()
    for key, value in labels.items():
        context[key] = value
    business_date = task_business_date(context)
    with failing_at_once():
        result = job(*args, business_date)
    stamp_counts(context, result.counts)
    return result


def export(job: Callable[..., Any], *args: Any, **labels: str) -> Any:
    """Run a non-extracting job (the export, a retention purge) for the task's D, failing at once on a
    permanent error (a held dealer, a missing OUTBOUND_DIR)."""
    context = _context()
    for key, value in labels.items():
        context[key] = value
    business_date = task_business_date(context)
    with failing_at_once():
        return job(*args, business_date)


def failed_tasks(context: Any) -> list[str]:
    """The other tasks of the running DAG run that failed (or could not run because an
    upstream failed): ``task_id state``, a mapped one as ``task_id[map index] state``."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    ti = context["ti"]
    task_ids = set(context["dag"].task_ids)
    states = RuntimeTaskInstance.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {})
    found = []
    for key, state in states.items():
        task_id, _, index = (key, "", "") if key in task_ids else key.rpartition("_")
        if str(state) in FAILED_STATES and task_id != ti.task_id:
            found.append(f"{task_id}[{index}] {state}" if index else f"{task_id} {state}")
    return sorted(found)


def feed_health(feed: str) -> list[str]:
    """The body of a DAG's ``feed_health`` task for ``feed``; see the module docstring."""
    from airflow.sdk.exceptions import AirflowFailException

    context = _context()
    business_date: dt.date = task_business_date(context)
    with failing_at_once():
        reports = jobs.feed_health(feed, business_date)
    failed = failed_tasks(context)
    if failed:  # a broken step: not only a report
        raise AirflowFailException(
            f"{feed} on {business_date}: {len(failed)} failed task(s), {len(reports)} feed report(s)\n"
            + "\n".join([*(f"task {line}" for line in failed), *reports])
        )
    if reports:
        raise AirflowFailException(
            f"{REPORTED}: {feed} on {business_date}: {len(reports)} report(s)\n" + "\n".join(reports)
        )
    return []
