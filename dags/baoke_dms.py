"""
### baoke_dms — the dealer-management system into `raw.dms_*`

For the business date D, reads every DMS record changed before `D 00:00 +08:00`: the
group-wide listings (dealers, campaigns) first, then one mapped task per dealer
(advisors, customers, vehicles, repair orders, appointments, memberships, complaints). The first
run loads all history; later runs read from the last window's end minus the lookback
(`BAOKE_LOOKBACK_DAYS`, default 2) and skip versions already loaded. Each entity is one
atomic batch in `etl.load_batches`; bad records go to `etl.rejects`.

A dealer whose task fails does not stop the others: their Asset events still trigger
the warehouse, and `baoke_outbound` holds only that dealer's lists. `feed_health` (run
whatever happened before it) reports the dealers without a DMS change in the day before
D, and fails if the feed has any report for D or a task failed.

**Connection**: `dms_api` (login = client_id, password = client_secret); a missing one
fails the task at once, naming it.
**Rerun** any date safely: nothing is loaded twice.
"""

from airflow.sdk import TriggerRule, dag, task

from baoke.extract import jobs
from baoke.extract.catalog import DMS, DMS_GROUP_WIDE, DMS_PER_DEALER
from baoke.orchestration import tasks
from baoke.orchestration.defaults import DAG_KWARGS, DAILY_SCHEDULE


@dag(dag_id="baoke_dms", schedule=DAILY_SCHEDULE, tags=["baoke", "extract", "dms"], doc_md=__doc__, **DAG_KWARGS)
def baoke_dms():
    @task(outlets=[DMS[name].asset for name in DMS_GROUP_WIDE])
    def group_listings() -> list[str]:
        """Dealers and campaigns; returns the dealer codes to map over."""
        tasks.extraction(jobs.dms_group)
        return jobs.group_dealers()

    @task(outlets=[DMS[name].asset for name in DMS_PER_DEALER], map_index_template="{{ dealer_code }}")
    def dealer_records(dealer_code: str) -> list[str]:
        return tasks.extraction(jobs.dms_dealer, dealer_code, dealer_code=dealer_code).lines

    @task(task_id=tasks.FEED_HEALTH_TASK_ID, trigger_rule=TriggerRule.ALL_DONE)
    def feed_health() -> list[str]:
        return tasks.feed_health("dms")

    dealer_records.expand(dealer_code=group_listings()) >> feed_health()


baoke_dms()
