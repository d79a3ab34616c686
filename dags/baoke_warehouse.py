"""
### baoke_warehouse — build the warehouse with dbt

Runs the dbt project in `dbt_project/` for the business date D: one task per seed and
model, each followed by its tests, so a failing model is visible, stops what depends on
it, and can be retried on its own. Builds the retention rules (`rules`), the latest
version of every source record as of D (`staging`), identity, visits and churn
(`intermediate`), and the marts BI tools read (`marts`, for role `bi_reader`).

**Schedule**: when every raw table has been loaded (the Assets the extraction DAGs
publish). **Business date**: the run's `business_date` conf if given (`baoke run
--date D`), else the date the extraction runs stamped on their Asset events.
Extra dbt vars: conf `dbt_vars`.
"""

from airflow.sdk import dag
from cosmos import DbtTaskGroup

from baoke.extract.catalog import ALL
from baoke.orchestration.dbt_tasks import dbt_task_group_kwargs
from baoke.orchestration.defaults import DAG_KWARGS


@dag(
    dag_id="baoke_warehouse",
    schedule=[entity.asset for entity in ALL],
    tags=["baoke", "warehouse", "dbt"],
    doc_md=__doc__,
    **DAG_KWARGS,
)
def baoke_warehouse():
    DbtTaskGroup(group_id="dbt", **dbt_task_group_kwargs())


baoke_warehouse()
