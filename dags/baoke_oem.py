"""
### baoke_oem — the manufacturer's lost-customer lists and recalls into `raw.oem_lost_customers`, `raw.oem_recalls`

For the business date D, loads, per dealer, each monthly list published before
`D 00:00 +08:00` that is not loaded yet (looking back `BAOKE_OEM_HISTORY_MONTHS`, default
12). A month not yet published is simply tried again by the next run. The same task then
loads the dealer's recall items changed in its window (up to `D 00:00`, overlapping the
last one by `BAOKE_LOOKBACK_DAYS`), as the DMS entities are read.

`feed_health` (run whatever happened before it) reports, from the 6th on, the dealers
whose list of last month is not published, and fails if the feed has any report for D
or a task failed.

**Connection**: `oem_api` (password = API key); a missing one fails the task at once,
naming it.
"""

from airflow.sdk import TriggerRule, dag, task

from baoke.extract import jobs
from baoke.extract.catalog import OEM_LOST_CUSTOMERS, OEM_RECALLS
from baoke.orchestration import tasks
from baoke.orchestration.defaults import DAG_KWARGS, DAILY_SCHEDULE


@dag(dag_id="baoke_oem", schedule=DAILY_SCHEDULE, tags=["baoke", "extract", "oem"], doc_md=__doc__, **DAG_KWARGS)
def baoke_oem():
    @task
    def dealers() -> list[str]:
        return jobs.group_dealers()

    @task(outlets=[OEM_LOST_CUSTOMERS.asset, OEM_RECALLS.asset], map_index_template="{{ dealer_code }}")
    def dealer_lists(dealer_code: str) -> list[str]:
        return tasks.extraction(jobs.oem_lists, dealer_code, dealer_code=dealer_code).lines

    @task(task_id=tasks.FEED_HEALTH_TASK_ID, trigger_rule=TriggerRule.ALL_DONE)
    def feed_health() -> list[str]:
        return tasks.feed_health("oem")

    dealer_lists.expand(dealer_code=dealers()) >> feed_health()


baoke_oem()
