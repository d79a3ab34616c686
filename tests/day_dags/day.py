"""The day's six DAGs, small: stand-ins with the real DAGs' ids for tests of how
`baoke run` runs a day (order, failures, progress, logs), not of what the DAGs do.

- baoke_dms extracts fine but its feed was reported: its `feed_health` task fails;
- baoke_insurer fails (its inbox is missing): the run must go on without it;
- baoke_oem and baoke_callcenter extract fine (the callcenter one over mapped dealers);
- baoke_warehouse fails unless BAOKE_TEST_WAREHOUSE_BUILDS is set, so baoke_outbound is
  skipped, saying why.
"""

import datetime as dt
import os

from airflow.sdk import dag, task

from baoke.feedreports import REPORTED

ARGS = {"start_date": dt.datetime(2026, 1, 1), "schedule": None, "catchup": False}


@dag(dag_id="baoke_dms", **ARGS)
def baoke_dms():
    @task
    def extract() -> None:
        print("dms: 12 records loaded")

    @task
    def feed_health() -> None:
        raise RuntimeError(f"{REPORTED}: dms on D: see etl.feed_reports")  # as the real task says it

    extract() >> feed_health()


@dag(dag_id="baoke_insurer", **ARGS)
def baoke_insurer():
    @task
    def extract() -> None:
        raise FileNotFoundError("INSURER_INBOX /nowhere/insurer does not exist: set INSURER_INBOX")

    @task
    def feed_health() -> None:
        print("insurer: nothing reported")

    extract() >> feed_health()


@dag(dag_id="baoke_oem", **ARGS)
def baoke_oem():
    @task
    def extract() -> None:
        print("oem: 3 lists loaded")

    extract()


@dag(dag_id="baoke_callcenter", **ARGS)
def baoke_callcenter():
    @task
    def dealers() -> list[str]:
        return ["D001", "D002"]

    @task(map_index_template="{{ dealer_code }}")
    def outcomes(dealer_code: str) -> None:
        from airflow.sdk import get_current_context

        get_current_context()["dealer_code"] = dealer_code
        print(f"callcenter: outcomes of {dealer_code} loaded")

    outcomes.expand(dealer_code=dealers())


@dag(dag_id="baoke_warehouse", **ARGS)
def baoke_warehouse():
    @task
    def build() -> None:
        if not os.environ.get("BAOKE_TEST_WAREHOUSE_BUILDS"):
            raise RuntimeError("dbt: model marts.dim_dealer failed")

    build()


@dag(dag_id="baoke_outbound", **ARGS)
def baoke_outbound():
    @task
    def export() -> None:
        print("lists written")

    export()


for make in (baoke_dms, baoke_insurer, baoke_oem, baoke_callcenter, baoke_warehouse, baoke_outbound):
    make()
