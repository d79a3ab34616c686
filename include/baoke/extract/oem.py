"""The manufacturer's lost-customer lists (docs/feeds.md §3): one list per dealer and month,
published on the 3rd of the following month, paged by number, ``X-Api-Key`` auth.

A period is loaded once, whole, as one batch. A period not published yet (404
``period_not_published``), or published only on or after ``D 00:00`` (which the run for
D must not see), is skipped and tried again by a later run. A read whose pages add up to
fewer items than the list's ``total`` loads nothing: the period is read again from its
first page a few times (``ApiClient.retried``), then the task fails naming it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from baoke.dates import day_start
from baoke.extract.catalog import OEM_LOST_CUSTOMERS
from baoke.extract.http import ApiClient, FeedError, Record, with_query
from baoke.extract.loader import Batch, BatchResult
from baoke.extract.validate import parse_timestamp

log = logging.getLogger(__name__)
PATH = "/oem/v1/lost-customers"


class OemClient(ApiClient):
    feed = "OEM API"
    auth_hint = "check connection oem_api: password = API key"

    def __init__(self, base_url: str, api_key: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self.api_key = api_key

    def headers(self) -> dict[str, str]:
        return {"X-Api-Key": self.api_key}


def periods_to_read(business_date: dt.date, history_months: int) -> list[str]:
    """The months whose lists could be out by D: the ``history_months`` before D's month."""
    year, month = business_date.year, business_date.month
    periods = []
    for _ in range(history_months):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        periods.append(f"{year:04d}-{month:02d}")
    return sorted(periods)


def loaded_periods(conn: Any, dealer_code: str) -> set[str]:
    with conn.cursor() as cur:
        cur.execute(
            "select distinct split_part(scope, ' ', 2) from etl.load_batches where feed = 'oem' and scope like %s",
            (f"{dealer_code} %",),
        )
        return {row[0] for row in cur.fetchall()}


@dataclass
class PeriodOutcome:
    period: str
    status: str  # loaded | not_published | published_after_d
    result: BatchResult | None = None


class ShortRead(FeedError):
    """A list read to its last page does not add up to its ``total`` (pages short)."""


Page = tuple[dict[str, Any], list[Record]]


def extract_period(
    conn: Any,
    client: OemClient,
    dealer_code: str,
    period: str,
    business_date: dt.date,
    page_size: int = 1000,
    max_reject_share: float = 0.1,
) -> PeriodOutcome:
    """Load one dealer's list for one month, or say why not yet."""

    def page(number: int) -> Page:
        query = {"dealer_code": dealer_code, "period": period, "page": number, "page_size": page_size}
        return client.get_page(PATH, query, "items")

    try:
        first = page(1)
    except FeedError as exc:
        if exc.status == 404 and exc.code == "period_not_published":
            return PeriodOutcome(period, "not_published")
        raise
    if parse_timestamp(first[0]["generated_at"]) >= day_start(business_date):
        return PeriodOutcome(period, "published_after_d")
    source = with_query(f"{client.base_url}{PATH}", {"dealer_code": dealer_code, "period": period})
    unread = [first]

    def read_whole() -> BatchResult:
        """One read of the list, first page to last, as one batch; ShortRead (nothing
        loaded) if its pages come to fewer items than ``total``."""
        body, items = unread.pop() if unread else page(1)  # a read again asks for page 1 again
        items_read: dict[int, int] = {}  # page number -> items: a page served twice counts once
        with Batch.open(
            conn, OEM_LOST_CUSTOMERS, f"{dealer_code} {period}", source, business_date, dealer_code=dealer_code
        ) as batch:
            while True:
                served = int(body["page"])  # after a retry a gateway may serve an earlier page again
                batch.new_page()
                items_read[served] = len(items)
                for row_no, (item, text) in enumerate(items, 1):
                    locator = f"page {served} row {row_no}"
                    batch.add(item, locator, f"{dealer_code} {period}", body["generated_at"], text)
                if served * page_size >= body["total"] or not items:
                    break
                body, items = page(served + 1)
            read, total = sum(items_read.values()), int(body["total"])
            if read != total:
                raise ShortRead(
                    f"{client.feed}: the list of dealer {dealer_code} for {period} came to {read} items"
                    f" of its total {total} ({source}); nothing of it loaded"
                )
            return batch.load(max_reject_share)

    return PeriodOutcome(period, "loaded", client.retried(read_whole, ShortRead))


def extract(
    conn: Any,
    client: OemClient,
    dealer_code: str,
    business_date: dt.date,
    history_months: int = 12,
    page_size: int = 1000,
    max_reject_share: float = 0.1,
) -> list[PeriodOutcome]:
    """Load every list of ``dealer_code`` published before D and not loaded yet."""
    done = loaded_periods(conn, dealer_code)
    outcomes = []
    for period in periods_to_read(business_date, history_months):
        if period in done:
            continue
        outcome = extract_period(conn, client, dealer_code, period, business_date, page_size, max_reject_share)
        if outcome.status != "loaded":
            log.info("OEM list %s %s: %s; a later run will load it", dealer_code, period, outcome.status)
        outcomes.append(outcome)
    return outcomes
