"""Retention (outputs.md §5): what Baoke keeps of customers' personal data, and for how
long. A scheduled purge (the ``baoke_retention`` DAG) removes, for business date D,

- **lists**: the dated folders of the call-center files under ``OUTBOUND_DIR``
  (``<YYYY-MM-DD>/<dealer>/``) whose date is more than ``BAOKE_RETENTION_LIST_DAYS``
  (90) days before D;
- **inbox**: the files of the insurer inbox (``<insurer>/..._<YYYYMMDD>.csv``) and of
  the call-center inbox (``..._<YYYYMMDD>.csv``) whose date in the name is more than
  ``BAOKE_RETENTION_INBOX_DAYS`` (180) days before D. Their records are in ``raw`` and
  their digests in the ledger (``etl.files``), so nothing loaded is lost; a file whose
  name carries no date is left alone (its age cannot be told without the wall clock);
- **rejects**: the payload (the record as received) of every rejected record whose batch
  ran more than ``BAOKE_RETENTION_REJECT_DAYS`` (365) days before D, and the value its
  reason quoted. The reject's row stays (batch, source, locator, field, reason), so
  ``extracted = loaded + rejected + duplicates_skipped`` still holds and every reject
  can still be counted and traced to its batch; ``payload_purged_on`` records the run.

Ages are counted from D, never from the wall clock, so a backfill of D purges exactly
what the run of D purged; what is dated exactly ``age`` days before D stays. Every file
removed, and every purge of rejects, is recorded in ``etl.purges`` (append-only) in a
transaction of its own right after the removal: a purge that stops half-way has
recorded what it removed, and the next run removes the rest. A second purge for the
same D finds nothing left to remove and records nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from baoke.extract.files import file_date
from baoke.filedrop import FileDrop

log = logging.getLogger(__name__)

_DAY_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Purged:
    """One thing a purge removed: a file, or the payloads of a table's rejects."""

    kind: str  # lists | inbox | rejects
    location: str
    items: int
    bytes: int


@dataclass
class PurgeResult:
    business_date: dt.date
    kind: str
    older_than: dt.date
    purged: list[Purged] = field(default_factory=list)

    @property
    def items(self) -> int:
        return sum(p.items for p in self.purged)

    @property
    def bytes(self) -> int:
        return sum(p.bytes for p in self.purged)

    def line(self) -> str:
        what = "rejected records" if self.kind == "rejects" else "files"
        return f"{self.kind}: {self.items} {what} ({self.bytes} bytes) dated before {self.older_than} purged"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "older_than": self.older_than.isoformat(), "items": self.items, "bytes": self.bytes}


def cutoff(business_date: dt.date, age_days: int) -> dt.date:
    """The first date kept: what is dated before it is more than ``age_days`` days old on D."""
    return business_date - dt.timedelta(days=age_days)


def _record(conn: Any, business_date: dt.date, older_than: dt.date, purged: Purged) -> None:
    with conn, conn.cursor() as cur:
        cur.execute(
            "insert into etl.purges (business_date, kind, location, items, bytes, older_than)"
            " values (%s, %s, %s, %s, %s, %s)",
            (business_date, purged.kind, purged.location, purged.items, purged.bytes, older_than),
        )


def _remove_file(conn: Any, drop: FileDrop, relpath: str, size: int, result: PurgeResult) -> None:
    drop.remove(relpath)
    purged = Purged(result.kind, f"{drop.location.rstrip('/')}/{relpath}", 1, size)
    _record(conn, result.business_date, result.older_than, purged)
    result.purged.append(purged)


def purge_lists(conn: Any, drop: FileDrop, business_date: dt.date, age_days: int) -> PurgeResult:
    """Remove the outbound day folders dated before ``D - age_days``: every file in them
    (a dealer's lists, their XLSX twins, its manifest, any temporary file left by a
    crash), then the emptied folders."""
    result = PurgeResult(business_date, "lists", cutoff(business_date, age_days))
    for day in drop.folders():
        if not _DAY_FOLDER.match(day) or dt.date.fromisoformat(day) >= result.older_than:
            continue
        for dealer in drop.folders(day):
            for file in drop.files(f"{day}/{dealer}"):
                _remove_file(conn, drop, file.relpath, file.size, result)
            drop.remove_folder(f"{day}/{dealer}")
        for file in drop.files(day):
            _remove_file(conn, drop, file.relpath, file.size, result)
        drop.remove_folder(day)
    log.info("%s: %s", drop.location, result.line())
    return result


def purge_inbox(conn: Any, drop: FileDrop, business_date: dt.date, age_days: int, folders: bool) -> PurgeResult:
    """Remove the inbox files dated (in their name) before ``D - age_days``: in the
    drop's sub-folders (``folders``: the insurer inbox, one per insurer) or in the drop
    itself (the call-center inbox). The folders stay: senders deliver into them."""
    result = PurgeResult(business_date, "inbox", cutoff(business_date, age_days))
    for folder in drop.folders() if folders else [""]:
        for file in drop.files(folder):
            dated = file_date(file.name)
            if dated is not None and dated < result.older_than:
                _remove_file(conn, drop, file.relpath, file.size, result)
    log.info("%s: %s", drop.location, result.line())
    return result


def purge_rejects(conn: Any, business_date: dt.date, age_days: int) -> PurgeResult:
    """Blank the payload of the rejects whose batch ran before ``D - age_days`` (and cut
    the value a reason quotes, as ``loader.public_reason`` does for reports); keep their
    rows. One transaction: the rows blanked and their ``etl.purges`` row."""
    result = PurgeResult(business_date, "rejects", cutoff(business_date, age_days))
    with conn, conn.cursor() as cur:
        cur.execute(
            "with old as ("
            "  select r.ctid as row_id, octet_length(r.record) as size from etl.rejects r"
            "  join etl.load_batches b using (batch_id)"
            "  where b.business_date < %(cutoff)s and r.payload_purged_on is null"
            "), blanked as ("
            "  update etl.rejects r set record = '', payload_purged_on = %(d)s,"
            "    reason = case when r.reason like 'unparseable %%' or r.reason like 'unknown code%%'"
            "                  then split_part(r.reason, ':', 1) else r.reason end"
            "  from old where r.ctid = old.row_id returning old.size"
            ") select count(*), coalesce(sum(size), 0) from blanked",
            {"cutoff": result.older_than, "d": business_date},
        )
        rows, size = cur.fetchone()
        if rows:
            purged = Purged("rejects", "etl.rejects", rows, size)
            cur.execute(
                "insert into etl.purges (business_date, kind, location, items, bytes, older_than)"
                " values (%s, %s, %s, %s, %s, %s)",
                (business_date, purged.kind, purged.location, purged.items, purged.bytes, result.older_than),
            )
            result.purged.append(purged)
    log.info("%s", result.line())
    return result


# --- what the DAG calls (connections, folders and settings resolved here) --------------


@contextlib.contextmanager
def _warehouse() -> Iterator[Any]:
    """The purge connects as the loader (it writes ``etl.purges`` and blanks the payload of
    old rejects, which the loader wrote): never as the admin connection (outputs.md §5)."""
    from baoke.connections import warehouse
    from baoke.migrate import ready_url

    with warehouse(ready_url("loader")) as conn:
        yield conn


def purge_lists_for(business_date: dt.date) -> dict[str, Any]:
    """The lists purge of D, on ``OUTBOUND_DIR`` with ``BAOKE_RETENTION_LIST_DAYS``."""
    from baoke.config import get_settings
    from baoke.configured import open_folder

    days = get_settings().retention_list_days
    with contextlib.closing(open_folder("OUTBOUND_DIR")) as drop, _warehouse() as conn:
        return purge_lists(conn, drop, business_date, days).to_dict()


def purge_inboxes_for(business_date: dt.date) -> dict[str, Any]:
    """The inbox purge of D, on ``INSURER_INBOX`` and ``CALLCENTER_INBOX`` with
    ``BAOKE_RETENTION_INBOX_DAYS``."""
    from baoke.config import get_settings
    from baoke.configured import open_folder

    days = get_settings().retention_inbox_days
    results = []
    with _warehouse() as conn:
        for env_name, folders in (("INSURER_INBOX", True), ("CALLCENTER_INBOX", False)):
            with contextlib.closing(open_folder(env_name)) as drop:
                results.append(purge_inbox(conn, drop, business_date, days, folders))
    return {
        "kind": "inbox",
        "older_than": results[0].older_than.isoformat(),
        "items": sum(r.items for r in results),
        "bytes": sum(r.bytes for r in results),
    }


def purge_rejects_for(business_date: dt.date) -> dict[str, Any]:
    """The rejects purge of D, with ``BAOKE_RETENTION_REJECT_DAYS``."""
    from baoke.config import get_settings

    with _warehouse() as conn:
        return purge_rejects(conn, business_date, get_settings().retention_reject_days).to_dict()
