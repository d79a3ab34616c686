"""
### baoke_warehouse — build the warehouse with dbt

Runs the dbt project in `dbt_project/` for the business date of the run: one task per
seed and model, each followed by its tests, so a failing model is visible and can be
retried on its own. Today it loads the retention rules (`rules` schema: churn thresholds
and bands, churn-rate targets, service intervals); the staging, intermediate and mart
models join it as the feeds land.

**Business date**: the run's `business_date` conf if given (`baoke run --date D`),
else the data interval in Asia/Shanghai. Extra dbt vars: conf `dbt_vars`.
"""

from airflow.sdk import dag
from cosmos import DbtTaskGroup

from baoke.orchestration.dbt_tasks import dbt_task_group_kwargs
from baoke.orchestration.defaults import DAG_KWARGS, DAILY_SCHEDULE


@dag(
    dag_id="baoke_warehouse",
    schedule=DAILY_SCHEDULE,
    tags=["baoke", "warehouse", "dbt"],
    doc_md=__doc__,
    **DAG_KWARGS,
)
def baoke_warehouse():
    DbtTaskGroup(group_id="dbt", **dbt_task_group_kwargs())


baoke_warehouse()
