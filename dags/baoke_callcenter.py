"""
### baoke_callcenter — what the call center did, into `raw.callcenter_outcomes`

For the business date D, loads every `OUTCOMES_<dealer>_<YYYYMMDD>.csv` dated before D
from `CALLCENTER_INBOX`. Rows naming a `call_id` we never sent, or an unknown outcome
code, are kept in `etl.rejects` with the reason.
"""

from airflow.sdk import dag, task

from baoke.extract import jobs
from baoke.extract.catalog import CALLCENTER_OUTCOMES
from baoke.orchestration.context import task_business_date
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
        return jobs.callcenter_files(task_business_date())

    outcome_files()


baoke_callcenter()
