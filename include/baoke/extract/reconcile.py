"""``baoke reconcile``: the DMS deep read on demand (docs/feeds.md §5).

The daily DMS windows overlap by ``BAOKE_LOOKBACK_DAYS``: enough for a change that shows
up a day or two after its ``updated_at``. A change dated further back (a DMS job that
backdates its writes, a correction keyed to last month) falls before every window still
being read. The deep read re-reads the last ``BAOKE_RECONCILE_DAYS`` of every entity for
every dealer, through the very functions the ``baoke_dms`` DAG runs (which do the same by
themselves on ``BAOKE_RECONCILE_WEEKDAY``). Versions already in raw are skipped as
always, so what it loads is exactly what the daily windows missed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import psycopg2

from baoke.config import get_settings
from baoke.connections import step_url
from baoke.dates import TZ
from baoke.extract import jobs
from baoke.migrate import migrate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EntityRead:
    """One entity's deep read, as its batch row in ``etl.load_batches`` has it."""

    entity: str
    scope: str
    window_since: dt.datetime | None
    window_until: dt.datetime
    extracted: int
    loaded: int
    rejected: int
    duplicates_skipped: int

    def line(self) -> str:
        since = _local(self.window_since) if self.window_since else "the beginning"
        return (
            f"{self.entity} [{self.scope or 'group'}] {since} → {_local(self.window_until)}: read {self.extracted},"
            f" loaded {self.loaded} new, {self.duplicates_skipped} already loaded, {self.rejected} rejected"
        )


@dataclass
class Reconciliation:
    """What a deep read found, entity by entity, and what failed (a dealer's reads fail
    alone: the other dealers are still read)."""

    business_date: dt.date
    days: float
    reads: list[EntityRead] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def loaded(self) -> int:
        return sum(read.loaded for read in self.reads)

    def lines(self) -> list[str]:
        """The report ``baoke reconcile`` prints."""
        return [
            f"deep read of the DMS for {self.business_date}: the last {self.days:g} days of every entity",
            *(read.line() for read in self.reads),
            *(f"FAILED {failure}" for failure in self.failures),
            f"{self.loaded} record version(s) loaded that raw did not hold: what the daily windows had missed",
        ]


def _local(stamp: dt.datetime) -> str:
    return stamp.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def reconcile(url: str, business_date: dt.date, days: float | None = None) -> Reconciliation:
    """Deep-read every DMS entity of every dealer for the run of ``business_date``,
    ``days`` back (default ``BAOKE_RECONCILE_DAYS``), into the warehouse at ``url``
    (the one the jobs use)."""
    result = Reconciliation(business_date, days or get_settings().reconcile_days)
    migrate(url)
    url = step_url("loader", url)  # what follows reads the loader's ledger, as the loader
    first_batch = _reserve_batch_id(url)
    try:
        jobs.dms_group(business_date, result.days)
        dealers = jobs.group_dealers()
    except Exception as exc:  # reported with the others; the command exits 1
        log.exception("DMS group listings")
        result.failures.append(f"group listings: {exc}")
        dealers = []
    for dealer in dealers:
        try:
            jobs.dms_dealer(dealer, business_date, result.days)
        except Exception as exc:
            log.exception("DMS dealer %s", dealer)
            result.failures.append(f"dealer {dealer}: {exc}")
    result.reads = _reads(url, business_date, first_batch)
    return result


def _reserve_batch_id(url: str) -> int:
    """A batch id below every batch this deep read makes (batch ids only grow)."""
    with contextlib.closing(psycopg2.connect(url)) as conn, conn, conn.cursor() as cur:
        cur.execute("select nextval(pg_get_serial_sequence('etl.load_batches', 'batch_id'))")
        row: Any = cur.fetchone()
        return int(row[0])


def _reads(url: str, business_date: dt.date, after_batch: int) -> list[EntityRead]:
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "select entity, scope, window_since, window_until, extracted, loaded, rejected, duplicates_skipped"
            " from etl.load_batches where feed = 'dms' and business_date = %s and batch_id > %s order by batch_id",
            (business_date, after_batch),
        )
        return [EntityRead(*row) for row in cur.fetchall()]
