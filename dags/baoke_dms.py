"""
### baoke_dms — the dealer-management system into `raw.dms_*`

For the business date D, reads every DMS record changed before `D 00:00 +08:00`: the
group-wide listings (dealers, campaigns) first, then one mapped task per dealer
(advisors, customers, vehicles, repair orders, appointments, memberships). The first
run loads all history; later runs read from the last window's end minus the lookback
(`BAOKE_LOOKBACK_DAYS`, default 2) and skip versions already loaded. Each entity is one
atomic batch in `etl.load_batches`; bad records go to `etl.rejects`.

**Connection**: `dms_api` (login = client_id, password = client_secret).
**Rerun** any date safely: nothing is loaded twice.
"""

from airflow.sdk import dag, get_current_context, task

from baoke.extract import jobs
from baoke.extract.catalog import DMS, DMS_GROUP_WIDE, DMS_PER_DEALER
from baoke.orchestration.context import task_business_date
from baoke.orchestration.defaults import DAG_KWARGS, DAILY_SCHEDULE


@dag(dag_id="baoke_dms", schedule=DAILY_SCHEDULE, tags=["baoke", "extract", "dms"], doc_md=__doc__, **DAG_KWARGS)
def baoke_dms():
    @task(outlets=[DMS[name].asset for name in DMS_GROUP_WIDE])
    def group_listings() -> list[str]:
        """Dealers and campaigns; returns the dealer codes to map over."""
        return jobs.dms_group(task_business_date())

    @task(outlets=[DMS[name].asset for name in DMS_PER_DEALER], map_index_template="{{ dealer_code }}")
    def dealer_records(dealer_code: str) -> list[str]:
        context = get_current_context()
        context["dealer_code"] = dealer_code
        return jobs.dms_dealer(dealer_code, task_business_date(context))

    dealer_records.expand(dealer_code=group_listings())


baoke_dms()
