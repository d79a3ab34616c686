"""
### baoke_oem — the manufacturer's lost-customer lists into `raw.oem_lost_customers`

For the business date D, loads, per dealer, each monthly list published before
`D 00:00 +08:00` that is not loaded yet (looking back `BAOKE_OEM_HISTORY_MONTHS`, default
12). A month not yet published is simply tried again by the next run.

**Connection**: `oem_api` (password = API key).
"""

from airflow.sdk import dag, get_current_context, task

from baoke.extract import jobs
from baoke.extract.catalog import OEM_LOST_CUSTOMERS
from baoke.orchestration.context import task_business_date
from baoke.orchestration.defaults import DAG_KWARGS, DAILY_SCHEDULE


@dag(dag_id="baoke_oem", schedule=DAILY_SCHEDULE, tags=["baoke", "extract", "oem"], doc_md=__doc__, **DAG_KWARGS)
def baoke_oem():
    @task
    def dealers() -> list[str]:
        return jobs.oem_dealers()

    @task(outlets=[OEM_LOST_CUSTOMERS.asset], map_index_template="{{ dealer_code }}")
    def dealer_lists(dealer_code: str) -> list[str]:
        context = get_current_context()
        context["dealer_code"] = dealer_code
        return jobs.oem_lists(dealer_code, task_business_date(context))

    dealer_lists.expand(dealer_code=dealers())


baoke_oem()
