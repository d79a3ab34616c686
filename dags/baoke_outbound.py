"""
### baoke_outbound — the day's call and SMS lists, to the call center

For the business date D, writes per dealer, under `OUTBOUND_DIR` (a folder or an
`sftp://` URL), `<YYYY-MM-DD>/<dealer_code>/`: `call_list_*.csv`, `sms_list_*.csv`,
`exceptions_*.csv` (UTF-8 with BOM, CRLF; header-only when empty) and, last,
`manifest.json` (rows and reasons per file, sha256, run id). Each file is written to a
temporary name then renamed. The rows come from `intermediate.int_outreach_export`; then
one transaction records the export (`etl.outreach_exports`), the dealer's decision rows
of D (`etl.outreach_log`, append-only: what the next days read as listed before) and the
call and SMS rows (`etl.sent_calls`: outcomes must name one of them), and one row per
file sent in the append-only export audit (`etl.export_audit`).

`warehouse_built` waits until the warehouse holds D's export (the run at 01:00 must not
send yesterday's lists). Rerunning D rewrites identical files.

A dealer whose DMS extraction for D failed is **held**: its folder gets only a manifest
with `"status": "held"` and the reason, and its task fails (without retries) while every
other dealer's lists go out. Delivered manifests name the feed problems reported for the
dealer on D.
"""

from airflow.sdk import PokeReturnValue, dag, task

from baoke import outbound
from baoke.orchestration import tasks
from baoke.orchestration.context import task_business_date
from baoke.orchestration.defaults import DAG_KWARGS, DAILY_SCHEDULE


@dag(
    dag_id="baoke_outbound",
    schedule=DAILY_SCHEDULE,
    tags=["baoke", "export", "callcenter"],
    doc_md=__doc__,
    **DAG_KWARGS,
)
def baoke_outbound():
    @task.sensor(poke_interval=600, timeout=8 * 3600, mode="reschedule")
    def warehouse_built() -> PokeReturnValue:
        dealers = outbound.ready_dealers(task_business_date())
        return PokeReturnValue(is_done=dealers is not None, xcom_value=dealers)

    @task(map_index_template="{{ dealer_code }}")
    def dealer_files(dealer_code: str) -> dict:
        return tasks.export(outbound.export_dealer_files, dealer_code, dealer_code=dealer_code)

    dealer_files.expand(dealer_code=warehouse_built())


baoke_outbound()
