"""Replaying many days of the simulated dealer group through the platform, quickly.

``baoke run`` goes through Airflow and Cosmos, a few seconds per task: right for one day,
too slow for the two months it takes to measure what the calls changed. A replay runs
the same code for each day D in order, as the DAGs would: the extraction jobs, each
mapped unit on its own (one dealer's DMS or OEM failure, one insurer's, is logged and
the others go on, as Airflow's mapped tasks do), each feed's ``feed_health`` check (its
freshness for D; the reports are counted, not raised), one ``dbt build``, the export
dealer by dealer (a dealer whose DMS extraction failed is held), then the simulated call
center works D's lists, which writes its outcome files and makes the called customers
come back (by the configured true uplift). After each day it checks the outreach
invariants of rules §3, and the complaint cases and complaints files against the
complaints the simulator caused (``complaint_truth``), and reports any breach.

    baoke simulate replay --start 2026-09-01 --days 60

With ``--fault-rate R`` (``FaultSettings``) every feed misbehaves: each DMS and OEM
request gets a transient fault (429, 5xx, stall, expired token, repeated page, HTML or
cut-short body, OEM page short of its total) with probability R and, independently of
that draw's outcome, a record fault (a damaged DMS record, a late change) with
probability R; each insurer file and each outcome file gets one of the file faults its
kind can have with probability R (``file_faults``). Every fault applied is collected
(the APIs' injection logs, the files' ``FaultyFile`` reports) with the day whose run
meets it, and after the replay ``fault_evidence.reconcile`` looks for each one's trace
in that day's records — its module docstring is the table of which fault must leave
which evidence. Each day's line then says how many of its faults were retried, matched,
needed no report, are pending (due after the replay) or are **unmatched**, which a
replay must end without.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2

from baoke.config import conn_env_name, get_settings
from baoke.dbt import run_dbt, test_failures
from baoke.extract import jobs
from baoke.filedrop import open_drop
from baoke.migrate import migrate
from baoke_sim import complaint_truth
from baoke_sim.fault_evidence import STATUSES, Evidence, InjectedFault, api_faults, file_faults, reconcile
from baoke_sim.faults import Fault, FaultPlan
from baoke_sim.file_faults import NO_FAULTS, FileFaults
from baoke_sim.servers import SimulatedApi

log = logging.getLogger(__name__)

#: The rules §3 invariants are the dbt data tests in dbt_project/tests/outreach (no
#: customer twice on a list, no do-not-call customer called, every due customer decided
#: and explained...); the replay adds the one only the export can break.
#: The listing whose next request a scripted late change goes to (``FaultSettings.late_change_on``).
LATE_CHANGE_PATH = "/v1/customers"

UNEXPORTED_LIST_ROWS = """
    select count(*) from intermediate.int_outreach_decisions d
    where business_date = %(d)s and is_list_row and disposition in ('call', 'sms')
      and not exists (select 1 from etl.sent_calls s where s.call_id = d.call_id)"""


@dataclass(frozen=True)
class FaultSettings:
    """What ``--fault-rate`` and ``--fault-seed`` turn on (see the module docstring). The
    DMS draws from ``seed``, the OEM from ``seed + 1`` (the same seed would make both
    fail on the same request numbers), the files from ``seed`` by their names."""

    rate: float = 0.0
    seed: int = 0
    #: Days on which the DMS's first customers listing gets a late change (a record changed
    #: now, dated before any daily window), besides the random faults: so a replay can
    #: count on one before a weekly deep read whatever its world and seed draw.
    late_change_on: tuple[dt.date, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 0.5:  # transient and record faults: 2 R per request at most 1
            raise ValueError(f"the fault rate must be between 0 and 0.5, got {self.rate}")

    def api_plan(self, offset: int) -> FaultPlan | None:
        """The plan of one API (None: the simulator's own, from BAOKE_SIM_* or none)."""
        return FaultPlan.random(self.rate, seed=self.seed + offset, record_rate=self.rate) if self.rate else None

    @property
    def files(self) -> FileFaults:
        return FileFaults(rate=self.rate, seed=self.seed) if self.rate else NO_FAULTS


@dataclass
class DayReport:
    business_date: dt.date
    listed: int
    outcomes: int
    returns: int
    breaches: dict[str, int] = field(default_factory=dict)
    build_seconds: float = 0.0
    slowest: list[tuple[str, float]] = field(default_factory=list)  # the build's slowest models
    dealers: int = 0  # the dealers the export wrote for
    held: list[str] = field(default_factory=list)  # of them, those whose lists were held
    failures: list[str] = field(default_factory=list)  # units that failed (logged; the others went on)
    feed_reports: dict[str, int] = field(default_factory=dict)  # D's etl.feed_reports by kind
    new_rejects: int = 0  # rejects kept by batches of D
    faults: list[InjectedFault] = field(default_factory=list)  # the faults D's run met
    requests: dict[str, int] = field(default_factory=dict)  # requests each simulated API answered for D
    seconds: float = 0.0  # the whole day, the call center included
    evidence: list[Evidence] = field(default_factory=list)  # what the reconciliation found for them
    unexplained_rejects: list[str] = field(default_factory=list)
    undelivered_complaints: int = 0  # complaints the simulator caused that no feed delivered (faults)
    complaints_heard: int = 0  # complaints the call center heard on D's calls ...
    complaints_registered: int = 0  # ... of which the dealer registers in the DMS

    @property
    def delivered(self) -> int:
        return self.dealers - len(self.held) - sum(1 for f in self.failures if f.startswith("export "))

    @property
    def unmatched(self) -> list[Evidence]:
        return [e for e in self.evidence if e.status == "unmatched"]

    def line(self) -> str:
        problems = ", ".join(f"{name}: {n}" for name, n in self.breaches.items() if n) or "all checks pass"
        slowest = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in self.slowest)
        held = f" ({', '.join(self.held)})" if self.held else ""
        reports = ", ".join(f"{kind} {n}" for kind, n in sorted(self.feed_reports.items())) or "none"
        faults = Counter(f.label for f in self.faults)
        met = ", ".join(f"{label} {n}" for label, n in sorted(faults.items()))
        failed = f"; FAILED: {'; '.join(self.failures)}" if self.failures else ""
        requests = ", ".join(f"{api} {n}" for api, n in self.requests.items())
        return (
            f"{self.business_date}: {self.delivered} of {self.dealers} dealers delivered, {len(self.held)} held{held};"
            f" {self.listed} listed, {self.outcomes} outcomes returned, {self.returns} return visits caused;"
            f" API requests: {requests}; feed reports: {reports}; {self.new_rejects} new rejects;"
            f" {self.complaints_heard} complaints heard on the calls ({self.complaints_registered} registered),"
            f" {self.undelivered_complaints} caused but not delivered by the feeds"
            + (f"; faults met: {len(self.faults)} ({met})" if self.faults else "")
            + f"{failed}; {problems}; day {self.seconds:.0f} s, dbt build {self.build_seconds:.0f} s"
            f" (slowest: {slowest})"
        )

    def reconciliation_line(self) -> str:
        counts = Counter(e.status for e in self.evidence)
        return (
            f"{self.business_date}: {len(self.evidence)} faults: "
            + ", ".join(f"{counts[status]} {status}" for status in STATUSES)
            + f"; {len(self.unexplained_rejects)} unexplained rejects"
        )


def _slowest_nodes(run_results: Path, n: int = 3) -> list[tuple[str, float]]:
    """The ``n`` slowest nodes of a dbt run: where a day's build time went."""
    results = json.loads(run_results.read_text())["results"]
    timed = sorted(((r["unique_id"].split(".")[-1], r["execution_time"]) for r in results), key=lambda t: -t[1])
    return timed[:n]


@dataclass
class _Apis:
    """The simulated APIs a replay runs against (their injection logs are read daily)."""

    dms: SimulatedApi
    oem: SimulatedApi

    def requests(self) -> dict[str, int]:
        """How many requests each has answered so far."""
        return {"dms": self.dms.faults.requests(), "oem": self.oem.faults.requests()}


@contextlib.contextmanager
def _feeds(world: Path, faults: FaultSettings) -> Iterator[_Apis]:
    """Serve the world's DMS and OEM APIs and point the connections at them."""
    from baoke_sim.connections import feed_connections
    from baoke_sim.dms_api import DmsApi
    from baoke_sim.oem_api import OemApi
    from baoke_sim.servers import ApiServer

    names = [conn_env_name("dms_api"), conn_env_name("oem_api")]
    saved = {name: os.environ.get(name) for name in names}
    apis = _Apis(DmsApi(world, faults=faults.api_plan(0)), OemApi(world, faults=faults.api_plan(1)))
    with ApiServer(apis.dms) as dms, ApiServer(apis.oem) as oem:
        os.environ.update(feed_connections(dms.url, oem.url))
        try:
            yield apis
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


def _isolated(failures: list[str], unit: str, job: Callable[..., Any], *args: Any) -> Any:
    """``job(*args)``, or None if it raised: logged and added to ``failures``, as a mapped
    Airflow task fails alone."""
    try:
        return job(*args)
    except Exception as exc:
        log.exception("%s failed", unit)
        failures.append(f"{unit}: {exc}")
        return None


def extract_day(business_date: dt.date) -> list[str]:
    """Every feed for D, as the four extraction DAGs do it; returns the units that failed.
    The DMS dealers are mapped over what the group listings task returns (its failure
    leaves them unread, as Airflow marks them upstream_failed); the OEM's over the
    dealers known."""
    failures: list[str] = []
    if _isolated(failures, "dms group listings", jobs.dms_group, business_date) is not None:
        for dealer in _isolated(failures, "dms dealers", jobs.group_dealers) or []:
            _isolated(failures, f"dms {dealer}", jobs.dms_dealer, dealer, business_date)
    for insurer in _isolated(failures, "insurer folders", jobs.insurer_folders) or []:
        _isolated(failures, f"insurer {insurer}", jobs.insurer_files, insurer, business_date)
    for dealer in _isolated(failures, "oem dealers", jobs.group_dealers) or []:
        _isolated(failures, f"oem {dealer}", jobs.oem_lists, dealer, business_date)
    _isolated(failures, "call center", jobs.callcenter_files, business_date)
    return failures


def check_feeds(business_date: dt.date, failures: list[str]) -> None:
    """Each extraction DAG's last task: the feed's freshness for D, and its reports (logged
    here; the task would fail with them while the lists go out)."""
    for feed in ("dms", "insurer", "oem", "callcenter"):
        for line in _isolated(failures, f"{feed} feed_health", jobs.feed_health, feed, business_date) or []:
            log.warning("feed_health %s: %s", business_date, line)


def export_lists(url: str, outbound: str, business_date: dt.date, failures: list[str]) -> tuple[int, list[Any]]:
    """The export, one dealer at a time as the outbound DAG maps it: (dealers to write
    for, their ``DealerExport``s). A held dealer gets its manifest saying why."""
    from baoke import outbound as lists

    with contextlib.closing(psycopg2.connect(url)) as conn, contextlib.closing(open_drop(outbound)) as drop:
        codes = lists.dealers(conn, business_date)
        exports = []
        for code in codes:
            export = _isolated(failures, f"export {code}", lists.export_dealer, conn, drop, business_date, code)
            if export is None:
                conn.rollback()
            else:
                exports.append(export)
    return len(codes), exports


def day_records(url: str, business_date: dt.date) -> tuple[dict[str, int], int]:
    """D's feed reports by kind, and the rejects kept by D's batches."""
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute("select kind, count(*) from etl.feed_reports where business_date = %s group by 1", (business_date,))
        reports = dict(cur.fetchall())
        cur.execute(
            "select count(*) from etl.rejects r join etl.load_batches b using (batch_id) where b.business_date = %s",
            (business_date,),
        )
        (rejects,) = cur.fetchone() or (0,)
    return reports, rejects


def check_day(url: str, business_date: dt.date, dbt_args: list[str]) -> dict[str, int]:
    """Failing rows per invariant for D: the outreach data tests, and list rows missing
    from the exported files."""
    breaches = test_failures(["--select", "path:tests/outreach", *dbt_args], url)
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(UNEXPORTED_LIST_ROWS, {"d": business_date})
        (unexported,) = cur.fetchone() or (0,)  # count(*) always returns its one row
        breaches["list row not in the exported files"] = unexported
    return breaches


def _build(url: str, day: dt.date, dbt_dir: Path, dbt_vars: dict[str, Any] | None, with_tests: bool) -> list[str]:
    """One ``dbt build`` for D; returns the dbt arguments the day's checks reuse."""
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
    if not run_dbt(["build", *dbt_args, *excluded], url):
        raise RuntimeError(f"dbt build failed for {day}: see {dbt_dir / 'logs' / 'dbt.log'}")
    return dbt_args


def replay(
    world: Path,
    start: dt.date,
    days: int,
    dbt_vars: dict[str, Any] | None = None,
    with_tests: bool = True,
    faults: FaultSettings = FaultSettings(),
) -> list[DayReport]:
    """Run days ``start`` .. ``start + days - 1``; returns one report per day, each with
    the evidence found for the faults its run met. Without ``with_tests`` dbt only builds
    (the invariants are still checked every day)."""
    from baoke.warehouse import resolve_warehouse
    from baoke_sim.callcenter import CallCenterConfig, work_lists
    from baoke_sim.insurer_files import deliver

    settings = get_settings()
    url = resolve_warehouse()
    migrate(url)
    insurer_inbox = Path(settings.folder("INSURER_INBOX"))
    callcenter_inbox = Path(settings.folder("CALLCENTER_INBOX"))
    outbound = settings.folder("OUTBOUND_DIR")
    for folder in (insurer_inbox, callcenter_inbox, Path(outbound)):
        folder.mkdir(parents=True, exist_ok=True)  # the platform refuses configured folders that do not exist
    dbt_dir = settings.state_dir / "replay-dbt"  # its own target and logs: a replay may run beside other dbt work
    callcenter = CallCenterConfig(files=faults.files)
    reports: list[DayReport] = []
    delivered_files: set[str] = set()  # insurer files delivered so far (a later drop repeats their faults)
    outcome_faults: list[InjectedFault] = []  # of the outcome files written: met by the next day's run
    with _feeds(world, faults) as apis:
        for offset in range(days):
            day = start + dt.timedelta(days=offset)
            day_started = time.perf_counter()
            requests = apis.requests()
            _set_clock(world, day)
            # the insurers' whole history on the first day (the policies now up for
            # renewal were issued a year ago), then each day's new files
            since = None if offset == 0 else (day - dt.timedelta(days=3)).isoformat()
            drop = deliver(world, insurer_inbox, faults.files, since=since)
            if day in faults.late_change_on:
                apis.dms.faults.script_next(LATE_CHANGE_PATH, Fault.late_change())
            met = outcome_faults + file_faults(
                "insurer", {n: r for n, r in drop.faulty.items() if n not in delivered_files}, day
            )
            delivered_files |= {path.name for path in drop.written} | set(drop.faulty)
            failures = extract_day(day)
            met += api_faults("dms", apis.dms.injected.drain(), day) + api_faults("oem", apis.oem.injected.drain(), day)
            check_feeds(day, failures)
            started = time.perf_counter()
            dbt_args = _build(url, day, dbt_dir, dbt_vars, with_tests)
            build_seconds = time.perf_counter() - started
            slowest = _slowest_nodes(dbt_dir / "target" / "run_results.json")  # before the checks' dbt test
            dealers, exports = export_lists(url, outbound, day, failures)
            held = {e.dealer_code for e in exports if e.held}
            quality, undelivered = complaint_truth.day_breaches(url, world, Path(outbound), day, held)
            worked = work_lists(day, Path(outbound), callcenter_inbox, world, callcenter)
            outcome_faults = file_faults("callcenter", worked.faulty, day + dt.timedelta(days=1))
            feed_reports, new_rejects = day_records(url, day)
            report = DayReport(
                day,
                sum(
                    f["rows"]
                    for e in exports
                    for f in e.manifest["files"]
                    if f["list_type"] != "exception" and f.get("format", "csv") == "csv"  # not the XLSX twins' too
                ),
                worked.rows,
                worked.returns,
                {**check_day(url, day, dbt_args), **quality},
                build_seconds,
                slowest,
                dealers,
                [e.dealer_code for e in exports if e.held],
                failures,
                feed_reports,
                new_rejects,
                met,
                {api: n - requests[api] for api, n in apis.requests().items()},
                time.perf_counter() - day_started,
                undelivered_complaints=undelivered,
                complaints_heard=worked.complaints_heard,
                complaints_registered=worked.complaints_registered,
            )
            log.info(report.line())
            print(report.line(), flush=True)
            reports.append(report)
    if reports:
        reports[-1].faults += outcome_faults  # met by the run after the replay: pending
        _reconcile(url, reports, settings.state_dir / "replay-faults.txt")
        for line in complaint_truth.summary(url, world, start, reports[-1].business_date):
            log.info(line)
            print(line, flush=True)
    return reports


def _reconcile(url: str, reports: list[DayReport], evidence_file: Path) -> None:
    """Find each day's faults in the warehouse (``fault_evidence``); print each day's
    counts and the faults unmatched or pending, and write every fault's evidence (one
    line each) to ``evidence_file``."""
    days = [r.business_date for r in reports]
    deep_reads = {day for day in days if jobs.deep_read(day) is not None}
    with contextlib.closing(psycopg2.connect(url)) as conn:
        found = reconcile(conn, [f for r in reports for f in r.faults], days, deep_reads)
    by_fault = {id(e.fault): e for e in found.evidence}
    quiet = not found.evidence and not found.unexplained_rejects  # a replay without faults, as expected
    with evidence_file.open("w", encoding="utf-8") as out:
        for report in reports:
            report.evidence = [by_fault[id(f)] for f in report.faults]
            report.unexplained_rejects = found.unexplained_rejects.get(report.business_date, [])
            if not quiet:
                print(report.reconciliation_line(), flush=True)
            for evidence in report.evidence:
                out.write(evidence.line() + "\n")
                if evidence.status in ("unmatched", "pending"):
                    print(f"  {evidence.status.upper()}: {evidence.line()}", flush=True)
            for reject in report.unexplained_rejects:
                out.write(f"{report.business_date} UNEXPLAINED REJECT {reject}\n")
            for reject in report.unexplained_rejects[:10]:
                print(f"  UNEXPLAINED REJECT: {reject}", flush=True)
    if found.evidence:
        print(f"every fault and its evidence: {evidence_file}", flush=True)
