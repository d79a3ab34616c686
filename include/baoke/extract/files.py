"""File feeds (insurer policies and claims, call-center outcomes): reading a delivered
CSV file safely and keeping the file ledger (``etl.files``).

Every file is identified by its content (sha256), so the ledger can tell apart
- a file seen for the first time: loaded (one batch, committed with its ledger row);
- the same name with the same bytes: the inbox read again (files stay there): skipped,
  and not counted as anything, it is no delivery;
- the same bytes under another name of the same sender (folder): a re-delivery. Nothing
  loads; the ledger records it as ``redelivered`` (``redelivery_of`` the file first
  loaded) and counts it on that file (``redeliveries``). A file without data rows is
  never taken for a re-delivery: every empty file of a sender has the same bytes;
- the same name with different bytes: a correction, which supersedes the earlier
  version as a whole, in the same transaction that loads it (staging reads only rows
  of files whose ledger status is ``loaded``);
- a file without its ``合计,N`` trailer or with the wrong N: incomplete (still being
  written, or cut off): not loaded, recorded, and tried again on the next run;
- a file that cannot be read at all (not decodable, a header without the key column):
  rejected, recorded, and reported (``etl.feed_reports``, kind ``degraded``): the task
  goes on with the other files.
A file with no data rows, or with far fewer than its sender's usual (see ``VOLUME_*``),
loads and is reported (``empty``, ``volume``).

Encodings are detected, never assumed: a BOM means UTF-8, else strict UTF-8, else GB18030.

The CSV is read line by line (RFC 4180, CRLF; a bare LF is accepted too). No field of
these feeds holds a line break (feeds.md §2, §4: one data row per line, which the
trailer count relies on), so a record never spans lines, and a line that is not valid
CSV (a quote inside an unquoted field, ``ab"c``, or a quoted field never closed) is
rejected naming its line, while the lines after it load: a tolerant reader would load
``ab"c`` as is, or swallow every line after an open quote into one field. Columns are
matched by name: the header must hold the key column (else the file is rejected); a
contract column it lacks rejects every row naming that column, and a column the
contract does not name lands in raw and is reported (``loader.Batch``).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import logging
import re
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from baoke import feedreports
from baoke.extract.catalog import RawEntity
from baoke.extract.loader import Batch, BatchResult, record_text
from baoke.filedrop import DropFile, FileDrop

log = logging.getLogger(__name__)

TRAILER_LABEL = "合计"
_DATE_IN_NAME = re.compile(r"_(\d{8})\.csv$")
_FIELD = r'(?:"(?:[^"]|"")*"|[^",]*)'
_CSV_LINE = re.compile(f"{_FIELD}(?:,{_FIELD})*")

#: A file is reported as a volume anomaly when it holds fewer than ``VOLUME_SHARE`` of the
#: median data rows of its sender's last ``VOLUME_HISTORY`` loaded files of the same kind
#: (dated before it), provided there are at least ``VOLUME_MIN_FILES`` of them and their
#: median is at least ``VOLUME_MIN_MEDIAN`` rows: below that, a quiet day is no signal.
VOLUME_HISTORY = 10
VOLUME_MIN_FILES = 3
VOLUME_MIN_MEDIAN = 20
VOLUME_SHARE = 0.2

#: Ledger statuses of a same-name, same-bytes file that make a new read of it a re-scan
#: ('incomplete' is read again: the same bytes may now parse, never in practice).
_SEEN = ("loaded", "superseded", "rejected", "redelivered")


class IncompleteFile(ValueError):
    """The file is not complete yet (no trailer, or a trailer that disagrees)."""


class UnreadableFile(ValueError):
    """The file cannot be decoded or has no key column in its header."""


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): BOM → UTF-8; else strict UTF-8; else strict GB18030."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise UnreadableFile("neither UTF-8 nor GB18030")


def file_date(name: str) -> dt.date | None:
    """The day a file's records belong to, from ``..._YYYYMMDD.csv``."""
    match = _DATE_IN_NAME.search(name)
    if not match:
        return None
    try:
        return dt.datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None


def csv_fields(line: str) -> list[str] | None:
    """The fields of one CSV line, or None when it is not valid RFC 4180 (a stray or
    unbalanced quote). Most lines hold no quote at all and are simply split."""
    if '"' not in line:
        return line.split(",")
    if _CSV_LINE.fullmatch(line) is None:
        return None
    return next(csv.reader([line]))


@dataclass(frozen=True)
class CsvLine:
    number: int  # 1-based line number in the file (the header is line 1)
    fields: list[str] | None  # None: not valid CSV
    text: str  # the line as written


@dataclass(frozen=True)
class CsvFile:
    header: list[str]
    rows: list[CsvLine]


def parse_csv(text: str, must_have: tuple[str, ...], trailer: bool) -> CsvFile:
    """Header and data lines; the header must hold the ``must_have`` columns (the key),
    each column once. With ``trailer``, the last line must be ``合计,<data lines>``."""
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()  # the final line end
    if not lines:
        raise IncompleteFile("the file is empty")
    header = csv_fields(lines[0])
    if header is None:
        raise UnreadableFile(f"the header is not valid CSV: {lines[0]!r}")
    header = [name.strip() for name in header]
    absent = [name for name in must_have if name not in header]
    if absent:
        raise UnreadableFile(f"the header {header} has no {', '.join(absent)} column")
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise UnreadableFile(f"the header {header} names {', '.join(twice)} more than once")
    body = [CsvLine(number, csv_fields(line), line) for number, line in enumerate(lines[1:], start=2)]
    if trailer:
        last = body[-1].fields if body else None
        if not last or last[0] != TRAILER_LABEL:
            raise IncompleteFile(f"no {TRAILER_LABEL} trailer: the file is still being written or was cut off")
        stated = last[1:2]
        body.pop()
        if stated != [str(len(body))]:
            raise IncompleteFile(f"trailer says {stated[0] if stated else '?'} rows, the file holds {len(body)}")
    return CsvFile(header, body)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FileOutcome:
    """What became of one file, for the task log: ``status`` is loaded | duplicate (the
    inbox read again) | redelivered | incomplete | rejected; ``reported`` the kinds of
    problem recorded in ``etl.feed_reports`` for it (rejected, empty, volume, degraded,
    unannounced fields). Nothing here is an error to raise: the jobs layer logs it."""

    file: DropFile
    status: str
    message: str = ""
    result: BatchResult | None = None
    reported: list[str] = field(default_factory=list)

    @property
    def problem(self) -> bool:
        """Worth a warning in the task log."""
        return self.status in ("incomplete", "rejected") or bool(self.reported)

    def line(self) -> str:
        reported = f" [reported: {', '.join(self.reported)}]" if self.reported else ""
        return f"{self.file.relpath}: {self.status} — {self.message}{reported}"


@dataclass(frozen=True)
class Sender:
    """Who a file is from, as its reports name it: ``scope`` an insurer or a dealer code;
    ``dealer_code`` the dealer a problem with it affects (None: every dealer)."""

    scope: str
    dealer_code: str | None = None


def _same_name(conn: Any, feed: str, file: DropFile) -> dict[str, tuple[int, str]]:
    """sha256 -> (file_id, status) of every version of this file name seen so far."""
    with conn.cursor() as cur:
        cur.execute(
            "select sha256, file_id, status from etl.files where feed = %s and folder = %s and name = %s",
            (feed, file.folder, file.name),
        )
        return {sha: (file_id, status) for sha, file_id, status in cur.fetchall()}


def _landed(conn: Any, entity: RawEntity, keys: set[str], version_prefix: str) -> set[tuple[str, str]]:
    """(key, version) of these records already in raw as versions of this file's bytes
    (loaded from another folder, say): duplicates, never an error."""
    if not keys:
        return set()
    with conn.cursor() as cur:
        cur.execute(
            f"select record_key, record_version from {entity.table}"
            " where record_key = any(%s) and record_version like %s",
            (list(keys), version_prefix + "%"),
        )
        return set(cur.fetchall())


@dataclass
class _Delivered:
    """One file being taken in: what is known of it so far, and the ledger writes."""

    conn: Any
    entity: RawEntity
    file: DropFile
    sender: Sender
    business_date: dt.date
    day: dt.date
    digest: str
    source: str
    encoding: str | None = None

    def ledger(
        self, cur: Any, status: str, message: str = "", batch_id: int | None = None, redelivery_of: int | None = None
    ) -> int:
        """The file's ledger row (one per name and content)."""
        cur.execute(
            "insert into etl.files (feed, name, folder, file_date, size_bytes, sha256, encoding, status, message,"
            " batch_id, redelivery_of) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " on conflict (feed, folder, name, sha256) do update set status = excluded.status,"
            "  message = excluded.message, batch_id = excluded.batch_id, status_at = now()"
            " returning file_id",
            (
                self.entity.feed,
                self.file.name,
                self.file.folder,
                self.day,
                self.file.size,
                self.digest,
                self.encoding,
                status,
                message or None,
                batch_id,
                redelivery_of,
            ),
        )
        return cur.fetchone()[0]

    def report(self, cur: Any, kind: feedreports.Kind, message: str, batch_id: int | None = None) -> None:
        feedreports.record(
            cur,
            self.business_date,
            self.entity.feed,
            self.sender.scope,
            kind,
            self.file.name,
            message,
            self.sender.dealer_code,
            batch_id,
        )

    def incomplete(self, reason: str) -> FileOutcome:
        """A file not complete yet: tried again by the next run, and reported for D (a
        file cut off for good must not wait unseen)."""
        return self._set_aside("incomplete", reason, "the next run reads it again")

    def rejected(self, reason: str) -> FileOutcome:
        """A file that cannot be read at all."""
        return self._set_aside(
            "rejected", reason, "it stays in the inbox, and a corrected file under the same name will load"
        )

    def _set_aside(self, status: str, reason: str, what_next: str) -> FileOutcome:
        """Nothing of the file loads: its ledger row and a ``degraded`` report, in one
        transaction."""
        with self.conn, self.conn.cursor() as cur:
            self.ledger(cur, status, reason)
            self.report(
                cur,
                "degraded",
                f"{self.file.name} {'rejected whole' if status == 'rejected' else status}: {reason}."
                f" Nothing of it loaded; {what_next} ({self.source}).",
            )
        return FileOutcome(self.file, status, f"{self.source}: {reason}", reported=["degraded"])

    def first_loaded_as(self) -> tuple[int, str, str] | None:
        """(file_id, name, status) of the file of this sender these bytes were loaded as."""
        with self.conn.cursor() as cur:
            cur.execute(
                "select file_id, name, status from etl.files where feed = %s and folder = %s and sha256 = %s"
                " and name <> %s and status in ('loaded', 'superseded') order by file_id limit 1",
                (self.entity.feed, self.file.folder, self.digest, self.file.name),
            )
            return cur.fetchone()

    def redelivered(self, original: tuple[int, str, str]) -> FileOutcome:
        """Record a re-delivery (nothing loads) and count it on the file first loaded."""
        original_id, name, status = original
        message = f"the same bytes as {name} (file {original_id}, {status}): a re-delivery, nothing loaded"
        with self.conn, self.conn.cursor() as cur:
            self.ledger(cur, "redelivered", message, redelivery_of=original_id)
            cur.execute("update etl.files set redeliveries = redeliveries + 1 where file_id = %s", (original_id,))
        return FileOutcome(self.file, "redelivered", message)

    def usual_rows(self, cur: Any) -> float | None:
        """The median data rows of the sender's last loaded files of this kind dated
        before this one; None when there are too few to tell."""
        cur.execute(
            "select b.extracted from etl.files f join etl.load_batches b on b.batch_id = f.batch_id"
            " where f.feed = %s and f.status = 'loaded' and b.entity = %s and b.scope = %s and f.file_date < %s"
            " order by f.file_date desc, f.file_id desc limit %s",
            (self.entity.feed, self.entity.name, self.sender.scope, self.day, VOLUME_HISTORY),
        )
        counts = [row[0] for row in cur.fetchall()]
        return statistics.median(counts) if len(counts) >= VOLUME_MIN_FILES else None

    def report_size(self, cur: Any, rows: int, batch_id: int) -> str | None:
        """Report a file with no data rows (``empty``) or far fewer than usual (``volume``)."""
        if rows == 0:
            self.report(
                cur,
                "empty",
                f"{self.file.name} holds no data rows: nothing to load. Did the sender fail to export that day?",
                batch_id,
            )
            return "empty"
        usual = self.usual_rows(cur)
        if usual is None or usual < VOLUME_MIN_MEDIAN or rows >= VOLUME_SHARE * usual:
            return None
        self.report(
            cur,
            "volume",
            f"{self.file.name} holds {rows} data rows, under {VOLUME_SHARE:.0%} of the usual {usual:g} (median of"
            f" the last {VOLUME_HISTORY} {self.entity.name} files of {self.sender.scope}): loaded; is it cut short?",
            batch_id,
        )
        return "volume"

    def load(
        self,
        parsed: CsvFile,
        max_reject_share: float,
        check: Callable[[Mapping[str, str]], tuple[str, str] | None] | None,
    ) -> FileOutcome:
        """One batch for the file's data lines, committed with its ledger row and reports."""
        width = len(parsed.header)
        records = {
            line.number: dict(zip(parsed.header, line.fields, strict=True))
            for line in parsed.rows
            if line.fields is not None and len(line.fields) == width
        }
        prefix = f"{self.digest[:16]}:"
        known = _landed(self.conn, self.entity, {self.entity.spec.record_key(r) for r in records.values()}, prefix)
        reported: list[str] = []

        def register(cur: Any, result: BatchResult) -> None:
            file_id = self.ledger(cur, "loaded", batch_id=result.batch_id)
            cur.execute(
                "update etl.files set status = 'superseded', superseded_by = %s, status_at = now()"
                " where feed = %s and folder = %s and name = %s and status = 'loaded' and file_id <> %s",
                (file_id, self.entity.feed, self.file.folder, self.file.name, file_id),
            )
            size = self.report_size(cur, len(parsed.rows), result.batch_id)
            if size:
                reported.append(size)

        version_at = f"{self.day.isoformat()}T00:00:00+08:00"
        with Batch.open(
            self.conn,
            self.entity,
            self.sender.scope,
            self.source,
            self.business_date,
            known=known,
            dealer_code=self.sender.dealer_code,
        ) as batch:
            for line in parsed.rows:
                locator, version = f"line {line.number}", f"{prefix}{line.number}"
                record = records.get(line.number)
                if record is None:
                    batch.reject(locator, "", _unreadable(line, width), line.text, version)
                    continue
                problem = check(record) if check else None
                if problem:
                    batch.reject(locator, *problem, record_text(record), version)
                    continue
                batch.add(record, locator, version, version_at)
            result = batch.load(max_reject_share, after=register)
        if result.degraded:
            reported.append("degraded")
        if result.new_fields:
            reported.append("unannounced_field")
        return FileOutcome(self.file, "loaded", result.summary(), result, reported)


def _unreadable(line: CsvLine, width: int) -> str:
    """Why a line is not a record of the file."""
    if line.fields is None:
        return "not valid CSV: a stray or unbalanced quote (a field holding a quote must be quoted whole)"
    return f"ragged row: {len(line.fields)} fields, header has {width}"


def load_file(
    conn: Any,
    inbox: FileDrop,
    file: DropFile,
    entity: RawEntity,
    business_date: dt.date,
    max_reject_share: float,
    trailer: bool = True,
    check: Callable[[Mapping[str, str]], tuple[str, str] | None] | None = None,
    sender: Sender | None = None,
) -> FileOutcome:
    """Load one delivered file (see the module docstring for what happens when).
    ``sender`` (default: the file's folder, every dealer) is who its reports are about."""
    day = file_date(file.name)
    if day is None:  # files_before lists only dated files
        raise ValueError(f"{file.name}: no date in the name (..._YYYYMMDD.csv)")
    data = inbox.read_bytes(file.relpath)
    digest = sha256(data)
    seen = _same_name(conn, entity.feed, file).get(digest)
    if seen is not None and seen[1] in _SEEN:
        return FileOutcome(file, "duplicate", f"already {seen[1]} (same name, same bytes): not read again")
    source = f"{inbox.location.rstrip('/')}/{file.relpath}"
    delivered = _Delivered(conn, entity, file, sender or Sender(file.folder), business_date, day, digest, source)
    try:
        text, delivered.encoding = decode(data)
        parsed = parse_csv(text, entity.spec.key, trailer)
    except IncompleteFile as exc:
        return delivered.incomplete(str(exc))
    except UnreadableFile as exc:
        return delivered.rejected(str(exc))
    original = delivered.first_loaded_as() if parsed.rows else None
    if original is not None:
        return delivered.redelivered(original)
    return delivered.load(parsed, max_reject_share, check)


def files_before(inbox: FileDrop, folder: str, pattern: str, business_date: dt.date) -> list[DropFile]:
    """The files of ``folder`` dated before D (the run for D reads only those), oldest first."""
    dated = [(file_date(f.name), f) for f in inbox.files(folder, pattern)]
    return [
        f
        for day, f in sorted(dated, key=lambda p: (p[0] or dt.date.min, p[1].name))
        if day is not None and day < business_date
    ]
