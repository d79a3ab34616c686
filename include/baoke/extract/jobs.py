"""What each extraction task does, as plain functions of the business date: resolve the
connections and folders, make sure the warehouse is migrated, run one feed unit, and
return a short summary for the task log (and XCom). The DAG files only wire these up."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

from baoke.config import get_settings
from baoke.connections import http_endpoint, warehouse, warehouse_url
from baoke.extract import callcenter, dms, insurer, oem
from baoke.extract.catalog import DMS_GROUP_WIDE, DMS_PER_DEALER
from baoke.extract.files import FileOutcome
from baoke.extract.loader import ensure_raw_tables
from baoke.filedrop import open_drop
from baoke.migrate import migrate

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _warehouse() -> Iterator[Any]:
    """The warehouse, migrated and with every raw table in place."""
    url = warehouse_url()
    migrate(url)
    with warehouse(url) as conn:
        ensure_raw_tables(conn)
        yield conn


def _dms_client() -> dms.DmsClient:
    settings = get_settings()
    endpoint = http_endpoint("dms_api")
    return dms.DmsClient(
        endpoint.base_url,
        endpoint.login,
        endpoint.password,
        timeout=settings.http_timeout,
        retries=settings.http_retries,
    )


def _oem_client() -> oem.OemClient:
    settings = get_settings()
    endpoint = http_endpoint("oem_api")
    return oem.OemClient(
        endpoint.base_url, endpoint.password, timeout=settings.http_timeout, retries=settings.http_retries
    )


def deep_read(business_date: dt.date, reconcile_days: float | None = None) -> dt.timedelta | None:
    """How far back the DMS run for D reads at least: ``reconcile_days`` when given (``baoke
    reconcile``), else ``BAOKE_RECONCILE_DAYS`` when D falls on ``BAOKE_RECONCILE_WEEKDAY``
    (the weekly deep read, feeds.md §5), else None (the daily window)."""
    settings = get_settings()
    if reconcile_days is None and business_date.isoweekday() == settings.reconcile_weekday:
        reconcile_days = settings.reconcile_days
    return dt.timedelta(days=reconcile_days) if reconcile_days else None


def dms_group(business_date: dt.date, reconcile_days: float | None = None) -> list[str]:
    """Load the group-wide DMS listings (dealers, campaigns); return the dealer codes."""
    settings = get_settings()
    client = _dms_client()
    deep = deep_read(business_date, reconcile_days)
    with _warehouse() as conn:
        for name in DMS_GROUP_WIDE:
            dms.extract(
                conn,
                client,
                name,
                "",
                business_date,
                dt.timedelta(days=settings.lookback_days),
                settings.page_size,
                settings.max_reject_share,
                deep,
            )
        return dealer_codes(conn)


def dealer_codes(conn: Any) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("select distinct record_key from raw.dms_dealers order by 1")
        return [row[0] for row in cur.fetchall()]


def dms_dealer(dealer_code: str, business_date: dt.date, reconcile_days: float | None = None) -> list[str]:
    """Load one dealer's DMS records (advisors to memberships)."""
    settings = get_settings()
    client = _dms_client()
    deep = deep_read(business_date, reconcile_days)
    with _warehouse() as conn:
        return [
            dms.extract(
                conn,
                client,
                name,
                dealer_code,
                business_date,
                dt.timedelta(days=settings.lookback_days),
                settings.page_size,
                settings.max_reject_share,
                deep,
            ).summary()
            for name in DMS_PER_DEALER
        ]


def _report(feed: str, outcomes: list[FileOutcome]) -> list[str]:
    """Log every file's fate. A rejected file does not fail the task: it is in the
    ledger and in etl.feed_reports, which the feed_health task and the run read."""
    lines = [o.line() for o in outcomes]
    for outcome, line in zip(outcomes, lines, strict=True):
        (log.warning if outcome.problem else log.info)("%s: %s", feed, line)
    return lines


def insurer_folders() -> list[str]:
    with contextlib.closing(open_drop(get_settings().folder("INSURER_INBOX"))) as inbox:
        return insurer.insurers(inbox)


def insurer_files(insurer_code: str, business_date: dt.date) -> list[str]:
    """Load one insurer's new policy and claim files dated before D."""
    settings = get_settings()
    with contextlib.closing(open_drop(settings.folder("INSURER_INBOX"))) as inbox, _warehouse() as conn:
        return _report(
            f"insurer {insurer_code}",
            insurer.extract(conn, inbox, insurer_code, business_date, settings.max_reject_share),
        )


def callcenter_files(business_date: dt.date) -> list[str]:
    """Load the call center's new outcome files dated before D."""
    settings = get_settings()
    with contextlib.closing(open_drop(settings.folder("CALLCENTER_INBOX"))) as inbox, _warehouse() as conn:
        return _report("call center", callcenter.extract(conn, inbox, business_date, settings.max_reject_share))


def oem_dealers() -> list[str]:
    """The group's dealers, as the DMS lists them (the OEM publishes one list per dealer)."""
    with _warehouse() as conn:
        return dealer_codes(conn)


def oem_lists(dealer_code: str, business_date: dt.date) -> list[str]:
    """Load one dealer's lost-customer lists published before D and not loaded yet."""
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
    return [f"{o.period}: {o.status}" + (f" ({o.result.summary()})" if o.result else "") for o in outcomes]
