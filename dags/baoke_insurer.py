"""
### baoke_insurer — insurers' policy and claim files into `raw.insurer_*`

For the business date D, loads every file dated before D in the insurer inbox
(`INSURER_INBOX`: a folder or an `sftp://` URL), one mapped task per insurer folder.
Every file is recorded in `etl.files`: identical re-deliveries are skipped, corrections
supersede the earlier version wholly, files without a matching `合计` trailer are left
for the next run. A file with too many bad rows fails the task and names its reasons.
An `INSURER_INBOX` that does not exist fails the run at once, naming it.

`feed_health` (run whatever happened before it) reports the insurers without a file for
D-1 nor D-2, and fails if the feed has any report for D or a task failed.
"""

from airflow.sdk import TriggerRule, dag, task

from baoke.extract import jobs
from baoke.extract.catalog import INSURER
from baoke.orchestration import tasks
from baoke.orchestration.defaults import DAG_KWARGS, DAILY_SCHEDULE


@dag(
    dag_id="baoke_insurer", schedule=DAILY_SCHEDULE, tags=["baoke", "extract", "insurer"], doc_md=__doc__, **DAG_KWARGS
)
def baoke_insurer():
    @task
    def insurers() -> list[str]:
        with tasks.failing_at_once():
            return jobs.insurer_folders()

    @task(outlets=[entity.asset for entity in INSURER.values()], map_index_template="{{ insurer }}")
    def insurer_files(insurer: str) -> list[str]:
        return tasks.extraction(jobs.insurer_files, insurer, insurer=insurer).lines

    @task(task_id=tasks.FEED_HEALTH_TASK_ID, trigger_rule=TriggerRule.ALL_DONE)
    def feed_health() -> list[str]:
        return tasks.feed_health("insurer")

    insurer_files.expand(insurer=insurers()) >> feed_health()


baoke_insurer()
