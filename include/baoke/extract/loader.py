"""Landing records in the raw schema: one mechanism for every feed.

A ``Batch`` is one extraction unit (a DMS entity for a dealer and window, an OEM list,
one insurer or call-center file). Records are checked as they arrive and streamed, as
PostgreSQL ``COPY`` text, into the raw table (``CopyStream``: PostgreSQL parses while
Python extracts, in bounded memory). Rejected records go to a spool with their reason.
``Batch.load`` then, in the SAME transaction, ends the COPY, inserts the batch's log row,
copies the rejects and lets the caller record its state (high-water mark, file ledger),
and commits. A crash at any point, even SIGKILL in the middle of the COPY, leaves no
trace of the batch, and the rerun loads it whole. Use a batch as a context manager: a
batch left without ``load`` (an extraction error) is rolled back.

Duplicates: a version already in the raw table (same record key and version, e.g. a DMS
row re-read through the lookback window) or served twice in the same batch (a page
repeated after a retry) is counted and skipped, so every batch satisfies
``extracted = loaded + rejected + duplicates_skipped`` (a CHECK constraint in the log).

Rejects are facts about a record version too (docs/feeds.md §5): each has a key (its
version and text), and one already kept in ``etl.rejects`` is counted as skipped
(``rejects_repeated``), not rejected again, however often a lookback re-reads it. The
reject share is taken over the batch's *new* records; a batch above
``BAOKE_MAX_REJECT_SHARE`` still loads its good records and is reported *degraded*
(``etl.feed_reports``), in the same transaction.

The contract's field list is checked here, for every feed (docs/feeds.md §5): a record
missing a field the contract names is rejected naming it (a source that renamed
``mobile`` to ``phone`` would otherwise load customers without mobiles, silently); a
field nobody announced lands in raw with the record and is recorded once in
``etl.unannounced_fields``, reported the first time it appears. Records of one source
share a handful of shapes, so a record is only compared with the previous one's field
names; the set work runs when the shape changes (this check runs for every record of
the large world, 18M of them).

A record of a customer erased on request (``etl.erasures``, ``baoke privacy erase``) is
pseudonymised before it is checked and stored (``baoke.privacy``): a DMS customer
version's name, mobile, address and birth date, an insurer policy's or OEM item's name
and phone on a car the customer owns, never land, in raw nor in the rejects.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from baoke import feedreports
from baoke.extract.catalog import ALL, RawEntity
from baoke.extract.copystream import CopyStream
from baoke.extract.validate import Shape, problem, shape
from baoke.privacy import PERSONAL_FIELDS, erased_owners, pseudonymise_record

log = logging.getLogger(__name__)

#: The rejects spool stays in memory up to this size, then moves to a temporary file.
SPOOL_MEMORY_BYTES = 8 * 1024 * 1024
#: How many recent pages a batch remembers to recognise a page served twice.
RECENT_PAGES = 4
#: Rejects named in a failure message.
REASONS_SHOWN = 5

RAW_COLUMNS = (
    "batch_id",
    "extracted_at",
    "source",
    "locator",
    "record_key",
    "record_version",
    "version_at",
    "record_hash",
    "record",
)
REJECT_COLUMNS = ("batch_id", "feed", "entity", "source", "locator", "field", "reason", "record", "reject_key")

_RAW_DDL = """
create table if not exists {table} (
    batch_id        bigint      not null,  -- etl.load_batches
    extracted_at    timestamptz not null,
    source          text        not null,  -- URL (no credentials) or file path
    locator         text        not null,  -- page and row, or file line
    record_key      text        not null,  -- the source's primary key
    record_version  text        not null,  -- updated_at, list period, or file digest and line
    version_at      timestamptz,           -- when the source says this version was made
    record_hash     text        not null,  -- blake2b of the record text
    record          jsonb       not null   -- the record as received
);
create unique index if not exists {name}_key_version on {table} (record_key, record_version);
create index if not exists {name}_version_at on {table} (version_at);
create index if not exists {name}_batch on {table} (batch_id);  -- incremental staging reads new batches
"""


def create_raw_tables(cur: Any, entities: Iterable[RawEntity] = ALL) -> None:
    """Create the raw tables (idempotent), in the cursor's transaction. The migration
    runner calls it as the owner role: the loader's login may not create tables."""
    for entity in entities:
        cur.execute(_RAW_DDL.format(table=entity.table, name=entity.table.replace(".", "_")))


def ensure_raw_tables(conn: Any, entities: Iterable[RawEntity] = ALL) -> None:
    """``create_raw_tables`` in a transaction of its own (tests building a raw table
    outside the migrations)."""
    with conn, conn.cursor() as cur:
        create_raw_tables(cur, entities)


def copy_text(value: str) -> str:
    """A value escaped for PostgreSQL's COPY text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_bytes(value: bytes) -> bytes:
    """``copy_text`` for UTF-8 bytes (the hot path: records are spooled as received)."""
    return value.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r")


def record_text(record: Mapping[str, Any]) -> str:
    """The record as compact JSON, keys in the order received."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def known_versions(conn: Any, entity: RawEntity, since: dt.datetime) -> set[tuple[str, str]]:
    """(key, version) already landed for versions made at or after ``since``: what a
    window reading back over that time would otherwise load twice."""
    with conn.cursor() as cur:
        cur.execute(f"select record_key, record_version from {entity.table} where version_at >= %s", (since,))
        return set(cur.fetchall())


def public_reason(reason: str) -> str:
    """A reject's reason without the value it quotes (``unparseable date: '1987-13-02'``
    -> ``unparseable date``): reports go to manifests and logs, which must never carry a
    customer's data; the value stays in ``etl.rejects``, readable by the loader role only."""
    if reason.startswith(("unparseable ", "unknown code")):
        return reason.split(":", 1)[0]
    return reason


@dataclass
class BatchResult:
    batch_id: int
    table: str
    scope: str
    extracted: int
    loaded: int
    rejected: int
    duplicates_skipped: int
    rejects_repeated: int = 0  # of duplicates_skipped: records already kept as rejects
    degraded: bool = False  # new rejects above the configured share (reported)
    new_fields: tuple[str, ...] = ()  # fields nobody announced, first seen in this batch (reported)

    def summary(self) -> str:
        text = (
            f"{self.table} [{self.scope or 'group'}] batch {self.batch_id}: extracted {self.extracted}, "
            f"loaded {self.loaded}, rejected {self.rejected}, duplicates skipped {self.duplicates_skipped}"
        )
        if self.rejects_repeated:
            text += f" (of which {self.rejects_repeated} rejected before)"
        if self.new_fields:
            text += f"; new fields nobody announced: {', '.join(self.new_fields)} (reported)"
        return text + (" — DEGRADED" if self.degraded else "")

    def counts(self) -> dict[str, int]:
        """The batch's counts, as an Asset event's extra carries them."""
        return {
            "extracted": self.extracted,
            "loaded": self.loaded,
            "rejected": self.rejected,
            "duplicates_skipped": self.duplicates_skipped,
        }


@dataclass
class Batch:
    """One batch being extracted; see the module docstring."""

    conn: Any
    entity: RawEntity
    batch_id: int
    scope: str
    source: str
    business_date: dt.date
    window_since: dt.datetime | None = None
    window_until: dt.datetime | None = None
    known: set[tuple[str, str]] = field(default_factory=set)
    dealer_code: str | None = None  # the dealer a problem with this batch affects; None: all
    extracted: int = 0
    loaded: int = 0
    rejected: int = 0
    duplicates_skipped: int = 0
    rejects_repeated: int = 0

    def __post_init__(self) -> None:
        self.started_at = dt.datetime.now(dt.UTC)
        self._stamp = self.started_at.isoformat()
        # erased customers (PIPL): their later records land pseudonymised
        self._personal = PERSONAL_FIELDS.get(self.entity.table)
        self._erased = erased_owners(self.conn, self._personal) if self._personal else {}
        self._rows = CopyStream(self.conn, f"copy {self.entity.table} ({', '.join(RAW_COLUMNS)}) from stdin")
        self._done = False
        self._prefix = f"{self.batch_id}\t{self._stamp}\t{copy_text(self.source)}\t".encode()
        # lives as long as the batch: closed by load() or by leaving the batch's `with`
        self._rejects = tempfile.SpooledTemporaryFile(SPOOL_MEMORY_BYTES, mode="w+", encoding="utf-8")  # noqa: SIM115
        self._recent: deque[set[tuple[str, str]]] = deque([set()], maxlen=RECENT_PAGES)
        self.first_reasons: list[str] = []
        self._last_names: tuple[str, ...] | None = None
        self._last_shape = Shape((), ())
        self._shapes: dict[tuple[str, ...], Shape] = {}
        #: fields the contract does not name -> where the batch first met them
        self.unannounced: dict[str, str] = {}

    @classmethod
    def open(
        cls, conn: Any, entity: RawEntity, scope: str, source: str, business_date: dt.date, **window: Any
    ) -> Batch:
        """A new batch with its id reserved from the log's sequence; its COPY starts now,
        so ``conn`` belongs to the batch until ``load`` (or the end of the ``with``)."""
        with conn.cursor() as cur:
            cur.execute("select nextval(pg_get_serial_sequence('etl.load_batches', 'batch_id'))")
            (batch_id,) = cur.fetchone()
        conn.commit()
        return cls(conn, entity, batch_id, scope, source, business_date, **window)

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._done:
            self.abandon()

    def abandon(self) -> None:
        """Discard the batch: nothing of it reaches the warehouse."""
        self._done = True
        self._rows.abort()
        self.conn.rollback()
        self._rejects.close()

    def new_page(self) -> None:
        """Start remembering a new page (older pages are forgotten after a few)."""
        self._recent.append(set())

    def add(
        self,
        record: Mapping[str, Any],
        locator: str,
        version: str,
        version_at: str | None = None,
        text: bytes | None = None,
    ) -> None:
        """Take one record as received: reject it, skip it as a duplicate, or spool it.
        ``text`` is the record's JSON exactly as the source sent it, when there is one
        (API pages); it is stored as is instead of re-serialising ``record``."""
        self.extracted += 1
        if self._erased and self._personal and isinstance(record, Mapping):
            erased = self._erased.get(str(record.get(self._personal.owner_key)))
            if erased is not None:  # never stored as sent, not even as a reject
                record, text = pseudonymise_record(dict(record), erased, self._personal), None
        if text is None:
            text = record_text(record).encode("utf-8")
        if isinstance(record, Mapping):
            names = tuple(record)
            if names != self._last_names:
                self._last_names = names
                self._last_shape = self._shape(names, locator)
            reason = self._last_shape.problem or problem(self.entity.spec, record)
        else:
            reason = ("", "not a JSON object")
        if reason is not None:
            self._reject(locator, *reason, text.decode("utf-8", "replace"), version)
            return
        key = (self.entity.spec.record_key(record), version)
        if key in self.known or any(key in page for page in self._recent):
            self.duplicates_skipped += 1
            return
        self._recent[-1].add(key)
        digest = hashlib.blake2b(text, digest_size=16).hexdigest()
        self._rows.write(
            self._prefix
            + "\t".join(
                (
                    copy_text(locator),
                    copy_text(key[0]),
                    copy_text(version),
                    version_at or "\\N",
                    digest,
                )
            ).encode("utf-8")
            + b"\t"
            + copy_bytes(text)
            + b"\n"
        )
        self.loaded += 1

    def _shape(self, names: tuple[str, ...], locator: str) -> Shape:
        """The contract's verdict on these field names (once per distinct shape); a field
        it does not name is remembered with where it first appeared."""
        found = self._shapes.get(names)
        if found is None:
            found = self._shapes[names] = shape(self.entity.spec, names)
            for name in found.unannounced:
                self.unannounced.setdefault(name, locator)
        return found

    def reject(self, locator: str, field_name: str, reason: str, text: str, version: str) -> None:
        """Count and keep aside a record that could not even be read as one (a ragged CSV row)."""
        self.extracted += 1
        self._reject(locator, field_name, reason, text, version)

    def _reject(self, locator: str, field_name: str, reason: str, text: str, version: str) -> None:
        """Spool a reject; its key (version and text) makes it the same reject when a
        later read meets the same record version again."""
        self.rejected += 1
        key = hashlib.blake2b(f"{version}\x1f{text}".encode(), digest_size=16).hexdigest()
        self._rejects.write(
            "\t".join(
                copy_text(v)
                for v in (
                    str(self.batch_id),
                    self.entity.feed,
                    self.entity.name,
                    self.source,
                    locator,
                    field_name,
                    reason,
                    text,
                    key,
                )
            )
            + "\n"
        )

    def _keep_rejects(self, cur: Any) -> None:
        """Copy the spooled rejects into ``etl.rejects``, each record version once; those
        kept by an earlier batch become skipped (``rejects_repeated``), not rejected."""
        if not self.rejected:
            return
        self._rejects.seek(0)
        cur.execute("create temporary table batch_rejects (like etl.rejects) on commit drop")
        cur.copy_expert(f"copy batch_rejects ({', '.join(REJECT_COLUMNS)}) from stdin", self._rejects)
        cur.execute(
            f"insert into etl.rejects ({', '.join(REJECT_COLUMNS)})"
            f" select {', '.join(REJECT_COLUMNS)} from batch_rejects"
            " on conflict (feed, entity, reject_key) do nothing"
            " returning locator, field, reason"
        )
        new = cur.fetchall()
        self.first_reasons = [
            f"{locator}: {field or 'record'}: {public_reason(reason)}" for locator, field, reason in new[:REASONS_SHOWN]
        ]
        repeated = self.rejected - len(new)
        self.rejected -= repeated
        self.duplicates_skipped += repeated
        self.rejects_repeated = repeated

    def _degraded(self, max_share: float) -> bool:
        """Too many of the batch's new records rejected: something is wrong upstream."""
        new = self.loaded + self.rejected
        return bool(new) and self.rejected > max_share * new

    def _report_degraded(self, cur: Any, max_share: float) -> None:
        where = f" [{self.scope}]" if self.scope else ""
        feedreports.record(
            cur,
            self.business_date,
            self.entity.feed,
            self.scope,
            "degraded",
            f"{self.entity.name}{where} batch {self.batch_id}",
            f"{self.entity.name}: {self.rejected} of {self.loaded + self.rejected} new records rejected "
            f"(more than {max_share:.0%}) from {self.source}; the good ones loaded. First reasons: "
            + "; ".join(self.first_reasons),
            dealer_code=self.dealer_code,
            batch_id=self.batch_id,
        )

    def _keep_unannounced(self, cur: Any) -> tuple[str, ...]:
        """Record the fields nobody announced; report each the first time it is seen
        (a field already known from an earlier batch is not reported again). Returns
        those first seen here."""
        where = f" [{self.scope}]" if self.scope else ""
        new = []
        for name, locator in self.unannounced.items():
            cur.execute(
                "insert into etl.unannounced_fields (feed, entity, field, first_batch_id, first_locator, first_seen_on)"
                " values (%s, %s, %s, %s, %s, %s) on conflict do nothing returning field",
                (self.entity.feed, self.entity.name, name, self.batch_id, locator, self.business_date),
            )
            if cur.fetchone() is None:
                continue
            new.append(name)
            feedreports.record(
                cur,
                self.business_date,
                self.entity.feed,
                self.scope,
                "unannounced_field",
                f"{self.entity.name}.{name}",
                f"{self.entity.name}: field {name!r} is not in the contract (docs/feeds.md); first sent in batch"
                f" {self.batch_id}{where} at {locator} of {self.source}. It lands in raw with the records;"
                " announce it (catalog.py) or ask the source why it is there.",
                dealer_code=None,  # a source that changed shape did so for every dealer
                batch_id=self.batch_id,
            )
        return tuple(new)

    def load(
        self, max_reject_share: float = 1.0, after: Callable[[Any, BatchResult], None] | None = None
    ) -> BatchResult:
        """Commit the batch: rows, log row, rejects (each once), a degraded report when
        the new rejects pass ``max_reject_share``, the fields nobody announced (reported
        when new), and ``after(cursor, result)``, in one transaction."""
        self._done = True
        conn = self.conn
        try:
            with conn, conn.cursor() as cur:
                self._rows.finish()
                self._keep_rejects(cur)
                degraded = self._degraded(max_reject_share)
                cur.execute(
                    "insert into etl.load_batches (batch_id, feed, entity, scope, source, raw_table, business_date,"
                    " window_since, window_until, started_at, extracted, loaded, rejected, duplicates_skipped,"
                    " rejects_repeated, newest_version_at)"
                    f" values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                    f" (select max(version_at) from {self.entity.table} where batch_id = %s))",
                    (
                        self.batch_id,
                        self.entity.feed,
                        self.entity.name,
                        self.scope,
                        self.source,
                        self.entity.table,
                        self.business_date,
                        self.window_since,
                        self.window_until,
                        self.started_at,
                        self.extracted,
                        self.loaded,
                        self.rejected,
                        self.duplicates_skipped,
                        self.rejects_repeated,
                        self.batch_id,
                    ),
                )
                if degraded:
                    self._report_degraded(cur, max_reject_share)
                new_fields = self._keep_unannounced(cur)
                result = BatchResult(
                    self.batch_id,
                    self.entity.table,
                    self.scope,
                    self.extracted,
                    self.loaded,
                    self.rejected,
                    self.duplicates_skipped,
                    self.rejects_repeated,
                    degraded,
                    new_fields,
                )
                if after is not None:
                    after(cur, result)
        except BaseException:
            self._rows.abort()
            raise
        finally:
            self._rejects.close()
        log.info(result.summary())
        return result
