"""
### baoke_callcenter — what the call center did, into `raw.callcenter_outcomes`

For the business date D, loads every `OUTCOMES_<dealer>_<YYYYMMDD>.csv` dated before D
from `CALLCENTER_INBOX`. Rows naming a `call_id` we never sent, or an unknown outcome
code, are kept in `etl.rejects` with the reason. A `CALLCENTER_INBOX` that does not
exist fails the run at once, naming it.

`feed_health` (run whatever happened before it) reports the dealers whose previous list
has no outcome file, and fails if the feed has any report for D or a task failed.
"""

from airflow.sdk import TriggerRule, dag, task

from baoke.extract import jobs
from baoke.extract.catalog import CALLCENTER_OUTCOMES
from baoke.orchestration import tasks
from baoke.orchestration.defaults import DAG_KWARGS, DAILY_SCHEDULE


@dag(
    dag_id="baoke_callcenter",
    schedule=DAILY_SCHEDULE,
    tags=["baoke", "extract", "callcenter"],
    doc_md=__doc__,
    **DAG_KWARGS,
)
def baoke_callcenter():
    @task(outlets=[CALLCENTER_OUTCOMES.asset])
    def outcome_files() -> list[str]:
        return tasks.extraction(jobs.callcenter_files).lines

    @task(task_id=tasks.FEED_HEALTH_TASK_ID, trigger_rule=TriggerRule.ALL_DONE)
    def feed_health() -> list[str]:
        return tasks.feed_health("callcenter")

    outcome_files() >> feed_health()


baoke_callcenter()
