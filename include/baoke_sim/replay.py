"""Replaying many days of the simulated dealer group through the platform, quickly.

``baoke run`` goes through Airflow and Cosmos, a few seconds per task: right for one day,
too slow for the two months it takes to measure what the calls changed. A replay runs
the same code for each day D in order — the extraction jobs, one ``dbt build``, the
export — then lets the simulated call center work D's lists, which writes its outcome
files and makes the called customers come back (by the configured true uplift). After
each day it checks the outreach invariants of rules §3 and reports any breach.

    baoke simulate replay --start 2026-09-01 --days 60
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2

from baoke.config import conn_env_name, get_settings
from baoke.dbt import run_dbt, test_failures
from baoke.extract import jobs
from baoke.filedrop import open_drop
from baoke.migrate import migrate

log = logging.getLogger(__name__)

#: The rules §3 invariants are the dbt data tests in dbt_project/tests/outreach (no
#: customer twice on a list, no do-not-call customer called, every due customer decided
#: and explained...); the replay adds the one only the export can break.
UNEXPORTED_LIST_ROWS = """
    select count(*) from intermediate.int_outreach_decisions d
    where business_date = %(d)s and is_list_row and disposition in ('call', 'sms')
      and not exists (select 1 from etl.sent_calls s where s.call_id = d.call_id)"""


@dataclass
class DayReport:
    business_date: dt.date
    listed: int
    outcomes: int
    returns: int
    breaches: dict[str, int] = field(default_factory=dict)
    build_seconds: float = 0.0
    slowest: list[tuple[str, float]] = field(default_factory=list)  # the build's slowest models

    def line(self) -> str:
        problems = ", ".join(f"{name}: {n}" for name, n in self.breaches.items() if n) or "all checks pass"
        slowest = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in self.slowest)
        return (
            f"{self.business_date}: {self.listed} listed, {self.outcomes} outcomes returned, "
            f"{self.returns} return visits caused; {problems}; dbt build {self.build_seconds:.0f} s"
            f" (slowest: {slowest})"
        )


def _slowest_nodes(run_results: Path, n: int = 3) -> list[tuple[str, float]]:
    """The ``n`` slowest nodes of a dbt run: where a day's build time went."""
    results = json.loads(run_results.read_text())["results"]
    timed = sorted(((r["unique_id"].split(".")[-1], r["execution_time"]) for r in results), key=lambda t: -t[1])
    return timed[:n]


@contextlib.contextmanager
def _feeds(world: Path) -> Iterator[None]:
    """Serve the world's DMS and OEM APIs and point the connections at them."""
    from baoke_sim.connections import feed_connections
    from baoke_sim.dms_api import DmsApi
    from baoke_sim.oem_api import OemApi
    from baoke_sim.servers import ApiServer

    names = [conn_env_name("dms_api"), conn_env_name("oem_api")]
    saved = {name: os.environ.get(name) for name in names}
    with ApiServer(DmsApi(world)) as dms, ApiServer(OemApi(world)) as oem:
        os.environ.update(feed_connections(dms.url, oem.url))
        try:
            yield
        finally:  # the servers stop here: leave no connection pointing at them
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _set_clock(world: Path, business_date: dt.date) -> None:
    from baoke_sim import store

    with sqlite3.connect(world) as conn:
        store.set_meta(conn, clock=f"{business_date.isoformat()}T00:00:00+08:00")


def extract_day(business_date: dt.date) -> None:
    """Every feed for D, as the four extraction DAGs do it."""
    jobs.dms_group(business_date)
    for dealer in jobs.group_dealers():
        jobs.dms_dealer(dealer, business_date)
    for insurer in jobs.insurer_folders():
        jobs.insurer_files(insurer, business_date)
    for dealer in jobs.group_dealers():
        jobs.oem_lists(dealer, business_date)
    jobs.callcenter_files(business_date)


def check_day(url: str, business_date: dt.date, dbt_args: list[str]) -> dict[str, int]:
    """Failing rows per invariant for D: the outreach data tests, and list rows missing
    from the exported files."""
    breaches = test_failures(["--select", "path:tests/outreach", *dbt_args], url)
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(UNEXPORTED_LIST_ROWS, {"d": business_date})
        (unexported,) = cur.fetchone() or (0,)  # count(*) always returns its one row
        breaches["list row not in the exported files"] = unexported
    return breaches


def replay(
    world: Path, start: dt.date, days: int, dbt_vars: dict[str, Any] | None = None, with_tests: bool = True
) -> list[DayReport]:
    """Run days ``start`` .. ``start + days - 1``; returns one report per day. Without
    ``with_tests`` dbt only builds (the invariants are still checked every day)."""
    from baoke.outbound import export_day
    from baoke.warehouse import resolve_warehouse
    from baoke_sim.callcenter import work_lists
    from baoke_sim.insurer_files import drop_files

    settings = get_settings()
    url = resolve_warehouse()
    migrate(url)
    insurer_inbox = Path(settings.folder("INSURER_INBOX"))
    callcenter_inbox = Path(settings.folder("CALLCENTER_INBOX"))
    outbound = settings.folder("OUTBOUND_DIR")
    for folder in (insurer_inbox, callcenter_inbox, Path(outbound)):
        folder.mkdir(parents=True, exist_ok=True)  # the platform refuses configured folders that do not exist
    dbt_dir = settings.state_dir / "replay-dbt"  # its own target and logs: a replay may run beside other dbt work
    reports = []
    with _feeds(world):
        for offset in range(days):
            day = start + dt.timedelta(days=offset)
            _set_clock(world, day)
            # the insurers' whole history on the first day (the policies now up for
            # renewal were issued a year ago), then each day's new files
            drop_files(world, insurer_inbox, since=None if offset == 0 else (day - dt.timedelta(days=3)).isoformat())
            extract_day(day)
            variables = {**(dbt_vars or {}), "business_date": day.isoformat()}
            dbt_args = [
                "--quiet",
                "--vars",
                json.dumps(variables),
                "--target-path",
                str(dbt_dir / "target"),
                "--log-path",
                str(dbt_dir / "logs"),
            ]
            excluded = ["--exclude-resource-type", "unit_test"]
            if not with_tests:
                excluded += ["--exclude-resource-type", "test"]
            started = time.perf_counter()
            if not run_dbt(["build", *dbt_args, *excluded], url):
                raise RuntimeError(f"dbt build failed for {day}: see {dbt_dir / 'logs' / 'dbt.log'}")
            build_seconds = time.perf_counter() - started
            slowest = _slowest_nodes(dbt_dir / "target" / "run_results.json")
            with contextlib.closing(psycopg2.connect(url)) as conn, contextlib.closing(open_drop(outbound)) as drop:
                exports = export_day(conn, drop, day)
            worked = work_lists(day, Path(outbound), callcenter_inbox, world)
            listed = sum(f["rows"] for e in exports for f in e.manifest["files"] if f["list_type"] != "exception")
            report = DayReport(
                day, listed, worked.rows, worked.returns, check_day(url, day, dbt_args), build_seconds, slowest
            )
            log.info(report.line())
            print(report.line(), flush=True)
            reports.append(report)
    return reports
