"""What a run found wrong with a feed (docs/feeds.md §5), recorded as data.

A feed can misbehave without stopping the group: a batch with too many new rejects
still loads but is *degraded*; a source past its freshness limit is *stale*; a file
with no rows is *empty*, one far smaller than its sender's usual is a *volume*
anomaly; a field nobody announced is an *unannounced_field*; a dealer whose DMS
extraction failed has its lists *held*. Each is one row of ``etl.feed_reports`` for the
business date, written by whoever found it (in the same transaction as the batch when
there is one) and read back by three readers, so that "reported" means the same
everywhere: ``baoke run``'s summary, each extraction DAG's ``feed_health`` task (which
fails visibly while the lists still go out) and the affected dealers' manifests.

Recording is idempotent: a rerun of D that finds the same problem adds nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["degraded", "stale", "empty", "volume", "unannounced_field", "held", "failed"]

#: How a ``feed_health`` task's failure begins when it fails only because its feed was
#: reported: ``baoke run`` tells it from a broken step by this (outputs.md §4: a
#: degraded or stale feed alone does not change the exit status).
REPORTED = "feed reported"

#: Kinds that mean a dealer's lists did not go out (the run exits 1); the others are
#: reported and change nothing else (outputs.md §4).
BLOCKING: frozenset[str] = frozenset({"held"})


@dataclass(frozen=True)
class FeedReport:
    business_date: dt.date
    feed: str
    scope: str
    dealer_code: str | None
    kind: str
    subject: str
    message: str

    def line(self) -> str:
        """One line for a summary or a task log: ``dms [D001] degraded: repair_orders: ...``."""
        where = f" [{self.scope}]" if self.scope else ""
        return f"{self.feed}{where} {self.kind}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """As it appears in a manifest (no date: the manifest has it)."""
        return {
            "feed": self.feed,
            "scope": self.scope,
            "kind": self.kind,
            "subject": self.subject,
            "message": self.message,
        }


_COLUMNS = "business_date, feed, scope, dealer_code, kind, subject, message"


def record(
    cur: Any,
    business_date: dt.date,
    feed: str,
    scope: str,
    kind: Kind,
    subject: str,
    message: str,
    dealer_code: str | None = None,
    batch_id: int | None = None,
) -> None:
    """Record a problem for D (nothing if the same one is already recorded). ``cur`` is
    the caller's cursor: the report commits with whatever found it."""
    cur.execute(
        f"insert into etl.feed_reports ({_COLUMNS}, batch_id) values (%s, %s, %s, %s, %s, %s, %s, %s)"
        " on conflict (business_date, feed, scope, kind, subject) do nothing",
        (business_date, feed, scope, dealer_code, kind, subject, message, batch_id),
    )


def clear(cur: Any, business_date: dt.date, feed: str, kind: Kind, scope: str | None = None) -> None:
    """Forget D's reports of one kind for a feed before they are computed again (a
    freshness check or a hold that no longer applies on a rerun)."""
    sql = "delete from etl.feed_reports where business_date = %s and feed = %s and kind = %s"
    params: list[Any] = [business_date, feed, kind]
    if scope is not None:
        sql += " and scope = %s"
        params.append(scope)
    cur.execute(sql, params)


def for_day(
    conn: Any, business_date: dt.date, feed: str | None = None, dealer_code: str | None = None
) -> list[FeedReport]:
    """D's reports, optionally of one feed, or those affecting one dealer (its own and
    the group-wide ones), in a stable order."""
    sql = f"select {_COLUMNS} from etl.feed_reports where business_date = %s"
    params: list[Any] = [business_date]
    if feed is not None:
        sql += " and feed = %s"
        params.append(feed)
    if dealer_code is not None:
        sql += " and (dealer_code = %s or dealer_code is null)"
        params.append(dealer_code)
    sql += " order by feed, scope, kind, subject"
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return [FeedReport(*row) for row in cur.fetchall()]
