"""Freshness (docs/feeds.md §5): "A source past its freshness limit is reported stale."

Each feed's limit, for the run of business date D (which sees what happened before
``D 00:00 +08:00``), computed only from what the platform recorded when it loaded:

- **DMS, per dealer**: stale when the newest change loaded for the dealer — the latest
  ``etl.load_batches.newest_version_at`` (the newest ``updated_at`` a batch loaded) over
  the dealer's batches (``feed 'dms'``, ``scope`` = the dealer) of runs up to D — is older
  than ``D 00:00 +08:00`` minus 1 day, or there is none: nothing of the dealer changed
  in the DMS during the day before D. A dealer is one of ``raw.dms_dealers``.
- **An insurer** (a folder of the insurer inbox): stale when the newest complete file it
  delivered (``etl.files``, status loaded or superseded, dated before D: a re-delivery is not news) is
  dated before D - 2 days, or there is none: no file for D - 1 nor D - 2.
- **The OEM, per dealer**: from the 6th of a month on (``D.day > 5``: the run for the
  6th sees everything published by the end of the 5th), stale when the dealer's list for
  the previous month is not loaded (no ``etl.load_batches`` row of ``feed 'oem'`` with
  ``scope`` '<dealer> <YYYY-MM>' from a run up to D). The OEM publishes on the 3rd.
- **Call-center outcomes, per dealer**: stale when no outcome file came for the
  dealer's previous list — the latest ``etl.sent_calls.list_date`` before D — that is,
  ``etl.files`` holds no complete ``OUTCOMES_<dealer>_<YYYYMMDD of that list>.csv`` (one
  still incomplete has not come yet; one that came but was rejected is reported as such).

Each check replaces D's ``stale`` reports of its feed (``feedreports.clear`` then
``record``, in one transaction): a rerun of D recomputes them, and a source that caught
up is no longer reported.

Why not dbt ``source freshness``: it judges one ``loaded_at`` per table (``max`` of a
column, or one ``loaded_at_query``) against a warn/error age measured from the wall
clock. These limits are per dealer or per insurer inside one table, one of them is a
calendar rule (the 5th), one compares two feeds (lists sent vs. outcomes returned), and
all are relative to the business date D, not to now — a backfill of D must judge D as
it was. The raw sources keep their dbt freshness declarations (``_sources.yml``) as the
coarse, table-wide alarm for ``dbt source freshness`` run by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from baoke import feedreports
from baoke.dates import TZ, day_start

#: The limits above, as numbers.
DMS_QUIET_LIMIT = dt.timedelta(days=1)
INSURER_SILENCE_DAYS = 2
OEM_PUBLISHED_BY_DAY = 5
#: A file of these statuses was delivered whole (an incomplete one is still being written).
#: A re-delivery is not news: bytes sent again under another name do not make a sender
#: fresh.
COMPLETE_FILE = ("loaded", "superseded")


@dataclass(frozen=True)
class Stale:
    """One source past its limit on D (what ``feedreports.record`` is given)."""

    feed: str
    scope: str
    dealer_code: str | None  # the dealer it affects; None: every dealer
    subject: str
    message: str


def _stamp(value: dt.datetime) -> str:
    return value.astimezone(TZ).strftime("%Y-%m-%d %H:%M %z")


def dms_stale(conn: Any, business_date: dt.date, dealers: Sequence[str]) -> list[Stale]:
    """Dealers with no DMS change loaded in the day before ``D 00:00``."""
    limit = day_start(business_date) - DMS_QUIET_LIMIT
    with conn.cursor() as cur:
        cur.execute(
            "select scope, max(newest_version_at) from etl.load_batches"
            " where feed = 'dms' and scope = any(%s) and business_date <= %s group by scope",
            (list(dealers), business_date),
        )
        newest: dict[str, dt.datetime | None] = dict(cur.fetchall())
    stale = []
    for dealer in dealers:
        last = newest.get(dealer)
        if last is not None and last >= limit:
            continue
        since = f"the newest is from {_stamp(last)}" if last else "none was ever loaded"
        stale.append(
            Stale(
                "dms",
                dealer,
                dealer,
                "changes",
                f"DMS: no change for dealer {dealer} in the day before {business_date} 00:00 ({since})",
            )
        )
    return stale


def insurer_stale(conn: Any, business_date: dt.date) -> list[Stale]:
    """Insurers (folders the inbox has had files in) with no file for D-1 nor D-2."""
    limit = business_date - dt.timedelta(days=INSURER_SILENCE_DAYS)
    with conn.cursor() as cur:
        cur.execute(
            "select folder, max(file_date) filter (where status = any(%s) and file_date < %s)"
            " from etl.files where feed = 'insurer' group by folder order by folder",
            (list(COMPLETE_FILE), business_date),
        )
        newest = cur.fetchall()
    return [
        Stale(
            "insurer",
            folder,
            None,
            "files",
            f"insurer {folder}: no file dated {limit} or later"
            + (f" (the newest is dated {last})" if last else " (no complete file yet)"),
        )
        for folder, last in newest
        if last is None or last < limit
    ]


def previous_month(business_date: dt.date) -> str:
    first = business_date.replace(day=1) - dt.timedelta(days=1)
    return f"{first:%Y-%m}"


def oem_stale(conn: Any, business_date: dt.date, dealers: Sequence[str]) -> list[Stale]:
    """From the 6th on: dealers whose lost-customer list of last month is not loaded."""
    if business_date.day <= OEM_PUBLISHED_BY_DAY:
        return []
    period = previous_month(business_date)
    with conn.cursor() as cur:
        cur.execute(
            "select distinct scope from etl.load_batches"
            " where feed = 'oem' and scope = any(%s) and business_date <= %s",
            ([f"{dealer} {period}" for dealer in dealers], business_date),
        )
        loaded = {row[0] for row in cur.fetchall()}
    deadline = business_date.replace(day=OEM_PUBLISHED_BY_DAY)
    return [
        Stale(
            "oem",
            dealer,
            dealer,
            period,
            f"OEM: the lost-customer list {period} for {dealer} was not published by {deadline}",
        )
        for dealer in dealers
        if f"{dealer} {period}" not in loaded
    ]


def outcome_file_name(dealer_code: str, list_date: dt.date) -> str:
    return f"OUTCOMES_{dealer_code}_{list_date:%Y%m%d}.csv"


def callcenter_stale(conn: Any, business_date: dt.date) -> list[Stale]:
    """Dealers whose previous list (before D) has no outcome file."""
    with conn.cursor() as cur:
        cur.execute(
            "select dealer_code, max(list_date) from etl.sent_calls where list_date < %s"
            " group by dealer_code order by dealer_code",
            (business_date,),
        )
        previous = cur.fetchall()
        cur.execute(
            "select name from etl.files where feed = 'callcenter' and name = any(%s) and status <> 'incomplete'",
            ([outcome_file_name(dealer, day) for dealer, day in previous],),
        )
        came = {row[0] for row in cur.fetchall()}
    return [
        Stale(
            "callcenter",
            dealer,
            dealer,
            outcome_file_name(dealer, day),
            f"call center: no outcome file {outcome_file_name(dealer, day)} for {dealer}'s list of {day}",
        )
        for dealer, day in previous
        if outcome_file_name(dealer, day) not in came
    ]


#: feed -> its check, as (conn, D, the group's dealers) -> stale sources.
CHECKS: dict[str, Callable[[Any, dt.date, Sequence[str]], list[Stale]]] = {
    "dms": dms_stale,
    "insurer": lambda conn, day, dealers: insurer_stale(conn, day),
    "oem": oem_stale,
    "callcenter": lambda conn, day, dealers: callcenter_stale(conn, day),
}


def check(conn: Any, feed: str, business_date: dt.date, dealers: Sequence[str]) -> list[Stale]:
    """Compute ``feed``'s stale sources for D and make them D's ``stale`` reports of the
    feed (replacing those of an earlier run of D), in one transaction."""
    stale = CHECKS[feed](conn, business_date, dealers)
    with conn, conn.cursor() as cur:
        feedreports.clear(cur, business_date, feed, "stale")
        for item in stale:
            feedreports.record(
                cur, business_date, feed, item.scope, "stale", item.subject, item.message, dealer_code=item.dealer_code
            )
    return stale
