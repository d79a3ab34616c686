"""
### baoke_retention — purge personal data past its retention period

For the business date D, removes what Baoke no longer needs of customers' personal data
(docs/outputs.md §5, "Retention"):

- `lists`: the call-list folders under `OUTBOUND_DIR` dated more than
  `BAOKE_RETENTION_LIST_DAYS` (90) days before D;
- `inbox`: insurer and call-center inbox files dated more than
  `BAOKE_RETENTION_INBOX_DAYS` (180) days before D (their records stay in `raw`);
- `rejects`: the payload of rejected records (`etl.rejects`) whose batch ran more than
  `BAOKE_RETENTION_REJECT_DAYS` (365) days before D (their rows and counts stay).

Ages are counted from D, never the wall clock: a backfill purges what the day purged.
Everything removed is recorded in `etl.purges`; a rerun of D removes nothing more.
"""

from airflow.sdk import dag, task

from baoke import retention
from baoke.orchestration import tasks
from baoke.orchestration.defaults import DAG_KWARGS, DAILY_SCHEDULE


@dag(
    dag_id="baoke_retention",
    schedule=DAILY_SCHEDULE,
    tags=["baoke", "retention", "privacy"],
    doc_md=__doc__,
    **DAG_KWARGS,
)
def baoke_retention():
    @task
    def lists() -> dict:
        return tasks.export(retention.purge_lists_for)

    @task
    def inbox() -> dict:
        return tasks.export(retention.purge_inboxes_for)

    @task
    def rejects() -> dict:
        return tasks.export(retention.purge_rejects_for)

    lists()
    inbox()
    rejects()


baoke_retention()
