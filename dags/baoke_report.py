"""
### baoke_report — the monthly report (月度汇报) for the store managers

On the 1st of each month (business date D), once every mart it reads was built for D
(`etl.model_builds`), writes the report of the month before under `OUTBOUND_DIR`,
`reports/<YYYY-MM>/`: one self-contained HTML file per dealer (`report_<dealer>_<YYYYMM>.html`) and one for the
group with its dealers side by side (`report_GROUP_<YYYYMM>.html`). The KPIs against
their targets, each marked final or not; 12-month trend charts; each campaign's uplift
with its 95% interval; the advisor scorecard; reasons for leaving; open complaints
(docs/outputs.md §3). Opens with no network, prints to A4; rerunning D rewrites
identical bytes (while the marts hold D's build: a rerun after later builds shows
their figures). `baoke report --month YYYY-MM` writes a month on demand.
"""

from airflow.sdk import PokeReturnValue, dag, task

from baoke import monthly_report
from baoke.orchestration import tasks
from baoke.orchestration.context import task_business_date
from baoke.orchestration.defaults import DAG_KWARGS, MONTHLY_SCHEDULE


@dag(
    dag_id="baoke_report",
    schedule=MONTHLY_SCHEDULE,
    tags=["baoke", "report"],
    doc_md=__doc__,
    **DAG_KWARGS,
)
def baoke_report():
    @task.sensor(poke_interval=600, timeout=8 * 3600, mode="reschedule")
    def warehouse_built() -> PokeReturnValue:
        return PokeReturnValue(is_done=monthly_report.warehouse_built(task_business_date()))

    @task
    def reports() -> list:
        return tasks.export(monthly_report.write_for)

    warehouse_built() >> reports()


baoke_report()
