"""
### baoke_insurer — insurers' policy and claim files into `raw.insurer_*`

For the business date D, loads every file dated before D in the insurer inbox
(`INSURER_INBOX`: a folder or an `sftp://` URL), one mapped task per insurer folder.
Every file is recorded in `etl.files`: identical re-deliveries are skipped, corrections
supersede the earlier version wholly, files without a matching `合计` trailer are left
for the next run. A file with too many bad rows fails the task and names its reasons.
"""

from airflow.sdk import dag, get_current_context, task

from baoke.extract import jobs
from baoke.extract.catalog import INSURER
from baoke.orchestration.context import task_business_date
from baoke.orchestration.defaults import DAG_KWARGS, DAILY_SCHEDULE


@dag(
    dag_id="baoke_insurer", schedule=DAILY_SCHEDULE, tags=["baoke", "extract", "insurer"], doc_md=__doc__, **DAG_KWARGS
)
def baoke_insurer():
    @task
    def insurers() -> list[str]:
        return jobs.insurer_folders()

    @task(outlets=[entity.asset for entity in INSURER.values()], map_index_template="{{ insurer }}")
    def insurer_files(insurer: str) -> list[str]:
        context = get_current_context()
        context["insurer"] = insurer
        return jobs.insurer_files(insurer, task_business_date(context))

    insurer_files.expand(insurer=insurers())


baoke_insurer()
