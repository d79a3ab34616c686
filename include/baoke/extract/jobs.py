"""What each extraction task does, as plain functions of the business date: resolve the
connections and folders, make sure the warehouse is migrated, run one feed unit, and
return what it did (a line per batch or file for the task log and XCom, and the counts
per raw table for the task's Asset events). The DAG files only wire these up.

A configured folder or connection that does not exist raises ``MissingConfiguration``
(``baoke.configured``), which the DAG layer turns into a failure without retries.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from baoke import feedreports
from baoke.config import get_settings
from baoke.configured import feed_endpoint, open_folder
from baoke.connections import warehouse
from baoke.extract import callcenter, dms, freshness, insurer, oem
from baoke.extract.catalog import DMS_GROUP_WIDE, DMS_PER_DEALER
from baoke.extract.files import FileOutcome
from baoke.extract.loader import BatchResult
from baoke.migrate import ready_url

log = logging.getLogger(__name__)


@dataclass
class JobResult:
    """What one extraction task did: a line per batch or file (its log, and its XCom)
    and, per raw table, the summed counts of the batches it committed (the extra of the
    Asset event the task emits for that table; a table it loaded nothing into is absent)."""

    lines: list[str]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


def tally(results: Iterable[BatchResult | None]) -> dict[str, dict[str, int]]:
    """The batches' counts (``BatchResult.counts()``) summed per raw table."""
    totals: dict[str, Counter[str]] = {}
    for result in results:
        if result is not None:
            totals.setdefault(result.table, Counter()).update(result.counts())
    return {table: dict(counts) for table, counts in totals.items()}


@contextlib.contextmanager
def _warehouse() -> Iterator[Any]:
    """The warehouse as the loader's login, migrated (which puts every raw table in
    place)."""
    with warehouse(ready_url("loader")) as conn:
        yield conn


def _dms_client() -> dms.DmsClient:
    settings = get_settings()
    endpoint = feed_endpoint("dms_api")
    return dms.DmsClient(
        endpoint.base_url,
        endpoint.login,
        endpoint.password,
        timeout=settings.http_timeout,
        retries=settings.http_retries,
    )


def _oem_client() -> oem.OemClient:
    settings = get_settings()
    endpoint = feed_endpoint("oem_api")
    return oem.OemClient(
        endpoint.base_url, endpoint.password, timeout=settings.http_timeout, retries=settings.http_retries
    )


def _batches(result: list[BatchResult]) -> JobResult:
    return JobResult([r.summary() for r in result], tally(result))


def deep_read(business_date: dt.date, reconcile_days: float | None = None) -> dt.timedelta | None:
    """How far back the DMS run for D reads at least: ``reconcile_days`` when given (``baoke
    reconcile``), else ``BAOKE_RECONCILE_DAYS`` when D falls on ``BAOKE_RECONCILE_WEEKDAY``
    (the weekly deep read, feeds.md §5), else None (the daily window)."""
    settings = get_settings()
    if reconcile_days is None and business_date.isoweekday() == settings.reconcile_weekday:
        reconcile_days = settings.reconcile_days
    return dt.timedelta(days=reconcile_days) if reconcile_days else None


def _dms_entities(names: Iterable[str], scope: str, business_date: dt.date, reconcile_days: float | None) -> JobResult:
    """Load DMS entities for one scope (a dealer, or '' for the group-wide listings)."""
    settings = get_settings()
    client = _dms_client()
    lookback = dt.timedelta(days=settings.lookback_days)
    deep = deep_read(business_date, reconcile_days)
    with _warehouse() as conn:
        return _batches(
            [
                dms.extract(
                    conn,
                    client,
                    name,
                    scope,
                    business_date,
                    lookback,
                    settings.page_size,
                    settings.max_reject_share,
                    deep,
                )
                for name in names
            ]
        )


def dms_group(business_date: dt.date, reconcile_days: float | None = None) -> JobResult:
    """Load the group-wide DMS listings (dealers, campaigns); ``group_dealers()`` then
    names the dealers they list."""
    return _dms_entities(DMS_GROUP_WIDE, "", business_date, reconcile_days)


def dealer_codes(conn: Any) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("select distinct record_key from raw.dms_dealers order by 1")
        return [row[0] for row in cur.fetchall()]


def dms_dealer(dealer_code: str, business_date: dt.date, reconcile_days: float | None = None) -> JobResult:
    """Load one dealer's DMS records (advisors to complaints)."""
    return _dms_entities(DMS_PER_DEALER, dealer_code, business_date, reconcile_days)


def _report(feed: str, outcomes: list[FileOutcome]) -> JobResult:
    """Log every file's fate. A rejected file does not fail the task: it is in the
    ledger and in etl.feed_reports, which the feed_health task and the run read."""
    lines = [o.line() for o in outcomes]
    for outcome, line in zip(outcomes, lines, strict=True):
        (log.warning if outcome.problem else log.info)("%s: %s", feed, line)
    return JobResult(lines, tally(o.result for o in outcomes))


def insurer_folders() -> list[str]:
    with contextlib.closing(open_folder("INSURER_INBOX")) as inbox:
        return insurer.insurers(inbox)


def insurer_files(insurer_code: str, business_date: dt.date) -> JobResult:
    """Load one insurer's new policy and claim files dated before D."""
    settings = get_settings()
    with contextlib.closing(open_folder("INSURER_INBOX")) as inbox, _warehouse() as conn:
        return _report(
            f"insurer {insurer_code}",
            insurer.extract(conn, inbox, insurer_code, business_date, settings.max_reject_share),
        )


def callcenter_files(business_date: dt.date) -> JobResult:
    """Load the call center's new outcome files dated before D."""
    settings = get_settings()
    with contextlib.closing(open_folder("CALLCENTER_INBOX")) as inbox, _warehouse() as conn:
        return _report("call center", callcenter.extract(conn, inbox, business_date, settings.max_reject_share))


def group_dealers() -> list[str]:
    """The group's dealers, as the DMS lists them (one DMS task and one OEM list each)."""
    with _warehouse() as conn:
        return dealer_codes(conn)


def oem_lists(dealer_code: str, business_date: dt.date) -> JobResult:
    """Load one dealer's lost-customer lists published before D and not loaded yet, and
    its recalls changed in the run's window."""
    settings = get_settings()
    client = _oem_client()
    with _warehouse() as conn:
        outcomes = oem.extract(
            conn,
            client,
            dealer_code,
            business_date,
            settings.oem_history_months,
            settings.page_size,
            settings.max_reject_share,
        )
        recalls = oem.extract_recalls(
            conn,
            client,
            dealer_code,
            business_date,
            dt.timedelta(days=settings.lookback_days),
            settings.page_size,
            settings.max_reject_share,
        )
    return JobResult(
        [f"{o.period}: {o.status}" + (f" ({o.result.summary()})" if o.result else "") for o in outcomes]
        + [f"recalls: {recalls.summary()}"],
        tally([*(o.result for o in outcomes), recalls]),
    )


def feed_health(feed: str, business_date: dt.date) -> list[str]:
    """Check ``feed``'s freshness for D (``baoke.extract.freshness``), then return every
    problem reported for the feed on D, one line each (none: the feed is healthy)."""
    with _warehouse() as conn:
        freshness.check(conn, feed, business_date, dealer_codes(conn))
        return [report.line() for report in feedreports.for_day(conn, business_date, feed=feed)]
