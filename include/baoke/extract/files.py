"""File feeds (insurer policies and claims, call-center outcomes): reading a delivered
CSV file safely and keeping the file ledger (``etl.files``).

Every file is identified by its content (sha256), so the ledger can tell apart
- a file seen for the first time: loaded (one batch, committed with its ledger row);
- the same bytes delivered again: skipped, nothing loaded twice;
- the same name with different bytes: a correction, which supersedes the earlier
  version as a whole, in the same transaction that loads it (staging reads only rows
  of files whose ledger status is ``loaded``);
- a file without its ``合计,N`` trailer or with the wrong N: incomplete (still being
  written, or cut off): not loaded, recorded, and tried again on the next run;
- a file whose records are mostly unreadable: rejected, with the first reasons.
Encodings are detected, never assumed: a BOM means UTF-8, else strict UTF-8, else GB18030.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from baoke.extract.catalog import RawEntity
from baoke.extract.loader import Batch, BatchResult, record_text
from baoke.filedrop import DropFile, FileDrop

log = logging.getLogger(__name__)

TRAILER_LABEL = "合计"
_DATE_IN_NAME = re.compile(r"_(\d{8})\.csv$")


class IncompleteFile(ValueError):
    """The file is not complete yet (no trailer, or a trailer that disagrees)."""


class UnreadableFile(ValueError):
    """The file cannot be decoded or has an unexpected header."""


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


@dataclass(frozen=True)
class CsvFile:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line number, fields)


def parse_csv(text: str, columns: tuple[str, ...], trailer: bool) -> CsvFile:
    """Header and data rows; with ``trailer``, the last row must be ``合计,<rows>``."""
    records = list(csv.reader(io.StringIO(text, newline="")))
    while records and not any(records[-1]):
        records.pop()  # a final empty line
    if not records:
        raise IncompleteFile("the file is empty")
    header = [h.strip() for h in records[0]]
    if header != list(columns):
        raise UnreadableFile(f"unexpected header {header}; expected {list(columns)}")
    body = records[1:]
    if trailer:
        if not body or body[-1][:1] != [TRAILER_LABEL]:
            raise IncompleteFile(f"no {TRAILER_LABEL} trailer: the file is still being written or was cut off")
        stated = body.pop()[1:2]
        if stated != [str(len(body))]:
            raise IncompleteFile(f"trailer says {stated[0] if stated else '?'} rows, the file holds {len(body)}")
    return CsvFile(header, [(number, row) for number, row in enumerate(body, start=2)])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FileOutcome:
    file: DropFile
    status: str  # loaded | duplicate | incomplete | rejected
    message: str = ""
    result: BatchResult | None = None


def _ledger(conn: Any, feed: str, file: DropFile) -> dict[str, tuple[int, str]]:
    """sha256 -> (file_id, status) of every version of this file seen so far."""
    with conn.cursor() as cur:
        cur.execute(
            "select sha256, file_id, status from etl.files where feed = %s and folder = %s and name = %s",
            (feed, file.folder, file.name),
        )
        return {sha: (file_id, status) for sha, file_id, status in cur.fetchall()}


def _record_file(
    cur: Any,
    feed: str,
    file: DropFile,
    day: dt.date,
    digest: str,
    encoding: str | None,
    status: str,
    message: str = "",
    batch_id: int | None = None,
) -> int:
    cur.execute(
        "insert into etl.files (feed, name, folder, file_date, size_bytes, sha256, encoding, status, message, batch_id)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " on conflict (feed, folder, name, sha256) do update set status = excluded.status,"
        "  message = excluded.message, batch_id = excluded.batch_id, status_at = now()"
        " returning file_id",
        (feed, file.name, file.folder, day, file.size, digest, encoding, status, message or None, batch_id),
    )
    return cur.fetchone()[0]


def load_file(
    conn: Any,
    inbox: FileDrop,
    file: DropFile,
    entity: RawEntity,
    columns: tuple[str, ...],
    business_date: dt.date,
    max_reject_share: float,
    trailer: bool = True,
    check: Callable[[Mapping[str, str]], tuple[str, str] | None] | None = None,
) -> FileOutcome:
    """Load one delivered file (see the module docstring for what happens when)."""
    feed = entity.feed
    day = file_date(file.name)
    if day is None:  # files_before lists only dated files
        raise ValueError(f"{file.name}: no date in the name (..._YYYYMMDD.csv)")
    data = inbox.read_bytes(file.relpath)
    digest = sha256(data)
    seen = _ledger(conn, feed, file)
    if digest in seen and seen[digest][1] in ("loaded", "superseded", "rejected"):
        with conn, conn.cursor() as cur:
            cur.execute("update etl.files set redeliveries = redeliveries + 1 where file_id = %s", (seen[digest][0],))
        return FileOutcome(file, "duplicate", f"already {seen[digest][1]} (identical bytes): skipped")
    source = f"{inbox.location.rstrip('/')}/{file.relpath}"
    encoding = None
    try:
        text, encoding = decode(data)
        parsed = parse_csv(text, columns, trailer)
    except (IncompleteFile, UnreadableFile) as exc:
        status = "incomplete" if isinstance(exc, IncompleteFile) else "rejected"
        with conn, conn.cursor() as cur:
            _record_file(cur, feed, file, day, digest, encoding, status, str(exc))
        return FileOutcome(file, status, f"{source}: {exc}")

    def register(cur: Any, result: BatchResult) -> None:
        file_id = _record_file(cur, feed, file, day, digest, encoding, "loaded", batch_id=result.batch_id)
        cur.execute(
            "update etl.files set status = 'superseded', superseded_by = %s, status_at = now()"
            " where feed = %s and folder = %s and name = %s and status = 'loaded' and file_id <> %s",
            (file_id, feed, file.folder, file.name, file_id),
        )

    version_at = f"{day.isoformat()}T00:00:00+08:00"
    with Batch.open(conn, entity, file.folder, source, business_date) as batch:
        for line, fields in parsed.rows:
            version = f"{digest[:16]}:{line}"
            if len(fields) != len(parsed.header):
                batch.reject(
                    f"line {line}",
                    "",
                    f"ragged row: {len(fields)} fields, header has {len(parsed.header)}",
                    ",".join(fields),
                    version,
                )
                continue
            record = dict(zip(parsed.header, fields, strict=False))
            reason = check(record) if check else None
            if reason:
                batch.reject(f"line {line}", *reason, record_text(record), version)
                continue
            batch.add(record, f"line {line}", version, version_at)
        result = batch.load(max_reject_share, after=register)
    return FileOutcome(file, "loaded", result.summary(), result)


def files_before(inbox: FileDrop, folder: str, pattern: str, business_date: dt.date) -> list[DropFile]:
    """The files of ``folder`` dated before D (the run for D reads only those), oldest first."""
    dated = [(file_date(f.name), f) for f in inbox.files(folder, pattern)]
    return [
        f
        for day, f in sorted(dated, key=lambda p: (p[0] or dt.date.min, p[1].name))
        if day is not None and day < business_date
    ]
