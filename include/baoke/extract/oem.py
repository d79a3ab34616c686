"""The manufacturer's feed (docs/feeds.md §3), paged by number, ``X-Api-Key`` auth: the
lost-customer lists (one per dealer and month, published on the 3rd of the following
month) and the recalls (incremental windows on ``updated_at``, like the DMS entities).
Both are lists whose pages add up to a ``total``, read whole by one mechanism
(``read_whole``); each has only its query and its record versions of its own.

A period is loaded once, whole, as one batch. A period not published yet (404
``period_not_published``), or published only on or after ``D 00:00`` (which the run for
D must not see), is skipped and tried again by a later run. A read whose pages add up to
fewer items than the list's ``total`` loads nothing: the period is read again from its
first page a few times (``ApiClient.retried``), then the task fails naming it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from baoke.dates import day_start
from baoke.extract import state
from baoke.extract.catalog import OEM_LOST_CUSTOMERS, OEM_RECALLS
from baoke.extract.http import ApiClient, FeedError, Record, with_query
from baoke.extract.loader import Batch, BatchResult, known_versions
from baoke.extract.validate import parse_timestamp

log = logging.getLogger(__name__)
PATH = "/oem/v1/lost-customers"
RECALLS_PATH = "/oem/v1/recalls"


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
#: (record version, when the source says it was made) of an item, from its page's envelope and itself.
Version = Callable[[dict[str, Any], Any], tuple[str, str | None]]


def read_whole(
    client: OemClient,
    page: Callable[[int], Page],
    open_batch: Callable[[], Batch],
    version: Version,
    what: str,
    page_size: int,
    max_reject_share: float,
    after: Callable[[Any, BatchResult], None] | None = None,
    first: Page | None = None,
) -> BatchResult:
    """Read a paged list, first page to last, as one batch, and load it; a read whose
    pages come to fewer items than ``total`` loads nothing and is read again from page 1
    (``ApiClient.retried``), then fails naming ``what``. ``first``: page 1, already read."""
    unread = [first] if first is not None else []

    def once() -> BatchResult:
        body, items = unread.pop() if unread else page(1)  # a read again asks for page 1 again
        items_read: dict[int, int] = {}  # page number -> items: a page served twice counts once
        with open_batch() as batch:
            while True:
                served = int(body["page"])  # after a retry a gateway may serve an earlier page again
                batch.new_page()
                items_read[served] = len(items)
                for row_no, (item, text) in enumerate(items, 1):
                    batch.add(item, f"page {served} row {row_no}", *version(body, item), text)
                if served * page_size >= body["total"] or not items:
                    break
                body, items = page(served + 1)
            read, total = sum(items_read.values()), int(body["total"])
            if read != total:
                raise ShortRead(
                    f"{client.feed}: {what} came to {read} items of its total {total} ({batch.source});"
                    " nothing of it loaded"
                )
            return batch.load(max_reject_share, after=after)

    return client.retried(once, ShortRead)


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
    scope = f"{dealer_code} {period}"
    source = with_query(f"{client.base_url}{PATH}", {"dealer_code": dealer_code, "period": period})
    result = read_whole(
        client,
        page,
        lambda: Batch.open(conn, OEM_LOST_CUSTOMERS, scope, source, business_date, dealer_code=dealer_code),
        lambda body, _: (scope, body["generated_at"]),
        f"the list of dealer {dealer_code} for {period}",
        page_size,
        max_reject_share,
        first=first,
    )
    return PeriodOutcome(period, "loaded", result)


def extract_recalls(
    conn: Any,
    client: OemClient,
    dealer_code: str,
    business_date: dt.date,
    lookback: dt.timedelta,
    page_size: int = 1000,
    max_reject_share: float = 0.1,
) -> BatchResult:
    """Load the recall items of ``dealer_code`` changed in the run's window (up to ``D
    00:00``, overlapping the last window by ``lookback``; everything on the first run),
    one version per ``updated_at``; the window's end is recorded with the batch."""
    since, until = state.window(conn, "oem", OEM_RECALLS.name, dealer_code, business_date, lookback)
    known = known_versions(conn, OEM_RECALLS, since) if since else set()
    listing = {"dealer_code": dealer_code, "updated_since": state.iso(since), "updated_until": state.iso(until)}
    source = with_query(f"{client.base_url}{RECALLS_PATH}", listing)

    def page(number: int) -> Page:
        query = {**listing, "page": number, "page_size": page_size}
        return client.get_page(RECALLS_PATH, {k: v for k, v in query.items() if v is not None}, "items")

    def advance(cur: Any, result: BatchResult) -> None:
        state.advance(cur, "oem", OEM_RECALLS.name, dealer_code, until, result.batch_id)

    return read_whole(
        client,
        page,
        lambda: Batch.open(
            conn,
            OEM_RECALLS,
            dealer_code,
            source,
            business_date,
            window_since=since,
            window_until=until,
            known=known,
            dealer_code=dealer_code,
        ),
        lambda _, item: (str(item.get("updated_at")), item.get("updated_at")),
        f"the recalls of dealer {dealer_code}",
        page_size,
        max_reject_share,
        after=advance,
    )


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
