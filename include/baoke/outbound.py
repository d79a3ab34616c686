"""The daily files for the call center (outputs.md §3): for business date D, per dealer,

    <outbound>/<YYYY-MM-DD>/<dealer_code>/
        call_list_<dealer>_<YYYYMMDD>.csv     list_type 'call'
        sms_list_<dealer>_<YYYYMMDD>.csv      list_type 'sms'
        exceptions_<dealer>_<YYYYMMDD>.csv    list_type 'exception', with exception_reason
        complaints_<dealer>_<YYYYMMDD>.csv    open complaint cases and breached service levels
        manifest.json                         written last: rows, reasons and sha256 per file

read from ``intermediate.int_outreach_export`` (one row per file row, built by dbt), the
complaints file from ``intermediate.int_complaints_export`` (one row per case, for the
service manager: rules.md §6), each list followed by its XLSX twin.
The dealers are those of ``marts.dim_dealer`` and those with export rows or decision rows
(``export_dealer_code``) on D: a dealer whose only rows are suppressed still gets its
(header-only) files, so that its rows are logged.

- CSV: UTF-8 with a BOM, English header, CRLF line ends, RFC 4180 quoting (Excel and
  LibreOffice open it as is); rows ordered by priority, advisor, customer, call id.
- Every file goes through the file drop's ``write_bytes`` (``baoke.filedrop``: temporary
  name, then rename), so the outbound location may be a folder or an ``sftp://`` URL. All four CSV files are
  written even when empty (header only): the call center sees the day was processed.
- The manifest is written last; a dealer folder without one is not (yet) delivered. A
  rerun whose content differs removes the old manifest before rewriting the files.
- Nothing in the files depends on the wall clock: rerunning D rewrites identical bytes,
  and the run id is derived from the files' sha256.
- After the files are delivered, one transaction records the export: a row of
  ``etl.outreach_exports`` (delivered or held, the manifest's run id, how many rows it
  logged); the dealer's rows of D in ``etl.outreach_log``, copied from
  ``intermediate.int_outreach_decisions`` (every disposition, suppressed included: the
  rows whose ``export_dealer_code`` is the dealer); and the call and SMS rows in
  ``etl.sent_calls`` (``on conflict do nothing``: a returned outcome must name one of
  them). The log is append-only (migration 008): a rerun of D appends a new export, and
  the warehouse reads the latest export of each date and dealer as what was listed
  before. A held dealer's export logs no row (nothing was sent). The same transaction
  appends one ``etl.export_audit`` row per file sent (lists, XLSX twins, manifest: name,
  rows, bytes, sha256, target without credentials, database and OS user, Airflow run;
  migration 013), which nobody may update or delete.
- The decisions must have the log's columns (``LOG_COLUMNS``) and ``export_dealer_code``,
  and the dealer's call and SMS rows in its files must be its logged list rows: otherwise
  ``ExportError`` before anything is written.
- A dealer whose DMS extraction for D did not complete is *held* (docs/feeds.md §5):
  its lists would be computed from an out-of-date copy of its DMS, so none go out. Its
  folder gets only a manifest with ``"status": "held"`` and ``held_because`` (the DMS
  entities not extracted for D), any list files an earlier attempt wrote for D are
  removed first (a manifest never sits beside stale lists), and D gets a ``held`` feed
  report. Every other dealer's lists go out. Whether a dealer is held is recomputed on
  every run from ``etl.extract_state``, so a rerun after the DMS recovered delivers (and
  drops the ``held`` report).
- A delivered manifest has ``"status": "delivered"`` and ``feed_reports``: every problem
  reported for D that affects the dealer (its own, and the group-wide ones such as a
  stale insurer), so the call center knows what the lists were built on.

No Airflow import at module level: the DAG file wires ``ready_dealers`` and
``export_dealer_files`` (which resolve the ``warehouse`` connection and ``OUTBOUND_DIR``,
and raise ``ListsHeld`` for a held dealer, which the DAG layer fails without retries).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import xlsxwriter
from psycopg2.extras import execute_values

from baoke import feedreports
from baoke.dates import TZ, day_start
from baoke.filedrop import FileDrop, open_drop

log = logging.getLogger(__name__)

#: The relation the export reads (one row per file row for a business date).
EXPORT_RELATION = "intermediate.int_outreach_export"

#: D's outreach decisions (one row per candidate and reason), copied into the log.
DECISIONS_RELATION = "intermediate.int_outreach_decisions"

#: The decisions' column naming the dealer whose export records the row: the dealer
#: whose files carry the row's list row, or the row's own dealer (holdout, suppressed).
EXPORT_DEALER_COLUMN = "export_dealer_code"

#: ``etl.outreach_log``'s columns after ``export_id`` (migrations 008_outreach_log.sql and
#: 009_outreach_log_queue.sql, same names, types and order), each taken from the
#: decisions' column of the same name.
LOG_COLUMNS: tuple[str, ...] = (
    "business_date",
    "customer_id",
    "vin",
    "dealer_code",
    "reason",
    "priority",
    "channel",
    "event_key",
    "due_date",
    "campaign_code",
    "source",
    "attempt_no",
    "disposition",
    "why_not_called",
    "is_list_row",
    "call_id",
    "preferred_slot",
    "advisor_id",
    "mobile",
    "is_failed_reminder",
    "routing_without_holdout",
    "leads_without_holdout",
    "queue",
)

#: outputs.md §3, in this order (a public interface: add columns, never rename or drop).
#: Beside each code column, its Chinese label (``<code>_zh``), so an agent never has to
#: decode an English code.
CALL_LIST_COLUMNS: tuple[str, ...] = (
    "call_id",
    "list_date",
    "dealer_code",
    "advisor_id",
    "advisor_name",
    "customer_id",
    "customer_name",
    "mobile",
    "vin",
    "plate_no",
    "model",
    "primary_reason",
    "primary_reason_zh",
    "other_reasons",
    "other_reasons_zh",
    "due_date",
    "last_visit_date",
    "days_since_last_visit",
    "churn_status",
    "churn_status_zh",
    "attempt_no",
    "preferred_slot",
    "preferred_slot_zh",
    "priority",
    "campaign_code",
    "script_hint",
    "queue",
    "queue_zh",
)
SMS_LIST_COLUMNS: tuple[str, ...] = (*CALL_LIST_COLUMNS, "sms_text")
EXCEPTION_COLUMNS: tuple[str, ...] = (*CALL_LIST_COLUMNS, "exception_reason", "mobile_as_recorded")
#: Every file column, as read from the export relation.
FILE_COLUMNS: tuple[str, ...] = (*SMS_LIST_COLUMNS, "exception_reason", "mobile_as_recorded")
#: The complaints file (outputs.md §3): one row per open or breached case (rules §6).
COMPLAINT_COLUMNS: tuple[str, ...] = (
    "case_id",
    "dealer_code",
    "customer_id",
    "customer_name",
    "mobile",
    "vin",
    "ro_number",
    "advisor_id",
    "source",
    "category",
    "severity",
    "opened_at",
    "status",
    "registered",
    "breached",
    "customer_said",
)
#: The relation the complaints file is read from (one row per case for a business date).
COMPLAINTS_RELATION = "intermediate.int_complaints_export"
#: The columns filled in from templates (``outreach_scripts``): none may keep a placeholder.
FILLED_COLUMNS: tuple[str, ...] = ("script_hint", "sms_text")
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "baoke-outbound/2"
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class ListKind:
    list_type: str  # the value of int_outreach_export.list_type
    prefix: str  # file name: <prefix>_<dealer>_<YYYYMMDD>.csv
    columns: tuple[str, ...]
    channel: str | None  # what etl.sent_calls records; None: not sent (exceptions, complaints)
    counted_by: str = "primary_reason"  # the manifest counts the file's rows by this column

    def file_name(self, dealer_code: str, business_date: dt.date, extension: str = "csv") -> str:
        return f"{self.prefix}_{dealer_code}_{business_date:%Y%m%d}.{extension}"


#: The four files, in the order they are written (the manifest comes after them).
KINDS: tuple[ListKind, ...] = (
    ListKind("call", "call_list", CALL_LIST_COLUMNS, "PHONE"),
    ListKind("sms", "sms_list", SMS_LIST_COLUMNS, "SMS"),
    ListKind("exception", "exceptions", EXCEPTION_COLUMNS, None),
    ListKind("complaint", "complaints", COMPLAINT_COLUMNS, None, counted_by="status"),
)
#: Each list as a CSV and as its XLSX twin (same rows and header), written in this order.
FORMATS: tuple[str, ...] = ("csv", "xlsx")
_KIND = {kind.list_type: kind for kind in KINDS}


class ExportError(RuntimeError):
    """The export or decisions relation is missing or breaks its contract (nothing was
    written)."""


class ListsHeld(RuntimeError):
    """A dealer's lists for D were held: its folder has a manifest saying why, no lists."""


#: The feed report a held dealer gets: feed 'outbound', kind 'held', this subject, scope
#: and dealer_code = the dealer.
HELD_FEED = "outbound"
HELD_SUBJECT = "lists"


# --- the files, as bytes -------------------------------------------------------------


#: A text cell starting with one of these is run as a formula by Excel and LibreOffice
#: (CSV injection): names typed at a dealer's counter must never be able to do that.
_FORMULA_START = ("=", "+", "@")


def _text(value: Any) -> str:
    """A value as the text of its cell, unguarded: what the XLSX twin stores, where a
    text cell is never a formula."""
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _cell(value: Any) -> str:
    """A value as the text of its CSV cell: a spreadsheet evaluates a CSV cell starting
    with a formula character, so such a text gets a leading apostrophe."""
    text = _text(value)
    if text.startswith(_FORMULA_START):
        return "'" + text  # shown as text, as OWASP recommends for CSV exports
    return text


def _order(row: dict[str, Any]) -> tuple:
    """Priority (missing last), advisor, customer, call id; then every cell, so that
    the order is total and does not depend on the database's collation."""
    priority = row.get("priority")
    return (
        priority is None,
        priority or 0,
        _text(row.get("advisor_id")),
        _text(row.get("customer_id")),
        _text(row.get("call_id")),
        tuple(_text(row.get(c)) for c in FILE_COLUMNS),
    )


def _case_order(row: dict[str, Any]) -> tuple:
    """The complaints file: oldest case first (the one waiting longest), then case id."""
    return (_text(row.get("opened_at")), _text(row.get("case_id")))


def render_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    """UTF-8 with a BOM, a header row, CRLF line ends, minimal RFC 4180 quoting."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return BOM + buffer.getvalue().encode("utf-8")


def _display_width(text: str) -> int:
    """Columns a text takes on screen: a Chinese character takes two. (Most cells are
    ASCII - ids, mobiles, VINs, dates - and are measured by their length.)"""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def render_xlsx(
    columns: Sequence[str], rows: Sequence[dict[str, Any]], business_date: dt.date, sheet_name: str, title: str
) -> bytes:
    """The CSV's twin as a workbook, for those who open the lists in a spreadsheet: the
    same header and cells, every cell a text cell formatted as text, so that a mobile, a
    VIN, an id or a code is never turned into a number (a CSV cannot say so: LibreOffice
    reads 13800138000 as a number). A text cell is never evaluated, so the cells carry
    the plain text, without the CSV's formula guard: a mobile recorded as "+86 138..."
    (the exceptions file's number to correct) reads "+86 138...", not "'+86 138...". The bytes
    depend on the content only: the workbook's creation date is D, and xlsxwriter dates
    the archive's members 1980-01-01, so a rerun rewrites identical files."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
    )
    workbook.set_properties(
        {
            "title": title,
            "author": "Baoke",
            "created": dt.datetime.combine(business_date, dt.time(), tzinfo=dt.UTC),
        }
    )
    sheet = workbook.add_worksheet(sheet_name)
    text = workbook.add_format({"num_format": "@"})
    header = workbook.add_format({"num_format": "@", "bold": True})
    cells = [[_text(row.get(c)) for c in columns] for row in rows]
    for col, name in enumerate(columns):
        widest = max([_display_width(name), *(_display_width(r[col].split("\n", 1)[0]) for r in cells)])
        sheet.set_column(col, col, min(widest, 60) + 2, text)
        sheet.write_string(0, col, name, header)
    for line, values in enumerate(cells, start=1):
        for col, value in enumerate(values):
            sheet.write_string(line, col, value, text)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(cells), 1), len(columns) - 1)
    workbook.close()
    return buffer.getvalue()


def _counts(rows: list[dict[str, Any]], column: str) -> dict[str, int]:
    """Rows per value of ``column`` (most frequent first, then by name)."""
    counts = Counter(_text(row.get(column)) or "(none)" for row in rows)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


@dataclass(frozen=True)
class DealerFiles:
    """One dealer's files for D, ready to deliver: name -> bytes, the manifest last."""

    business_date: dt.date
    dealer_code: str
    rows: dict[str, list[dict[str, Any]]]  # list_type -> rows in file order
    files: dict[str, bytes]  # the CSV files, in the order they are written
    manifest: dict[str, Any]
    manifest_bytes: bytes

    @property
    def folder(self) -> str:
        return dealer_folder(self.business_date, self.dealer_code)

    def sent_calls(self) -> list[tuple[str, dt.date, str, str, str]]:
        """(call_id, list_date, dealer_code, customer_id, channel) of every sent row."""
        return [
            (
                row["call_id"],
                row.get("list_date") or self.business_date,
                self.dealer_code,
                row["customer_id"],
                kind.channel,
            )
            for kind in KINDS
            if kind.channel
            for row in self.rows[kind.list_type]
        ]


def dealer_folder(business_date: dt.date, dealer_code: str) -> str:
    """``<YYYY-MM-DD>/<dealer_code>``, relative to the outbound location."""
    return f"{business_date.isoformat()}/{dealer_code}"


def _check(business_date: dt.date, dealer_code: str, rows: list[dict[str, Any]]) -> None:
    """Refuse rows the files cannot carry faithfully (before anything is written)."""
    problems = []
    unknown = sorted({str(r.get("list_type")) for r in rows} - set(_KIND))
    if unknown:
        problems.append(f"unknown list_type {', '.join(unknown)}")
    sent = [r for r in rows if r.get("list_type") in ("call", "sms")]
    if any(not r.get("call_id") or not r.get("customer_id") for r in sent):
        problems.append("a call or sms row without call_id or customer_id")
    duplicates = sorted(k for k, n in Counter(r.get("call_id") for r in sent).items() if n > 1 and k)
    if duplicates:
        problems.append(f"call_id listed twice: {', '.join(duplicates[:5])}")
    channels = sorted(
        {
            f"{r['list_type']} row with channel {r['channel']}"
            for r in sent
            if r.get("channel") and r["channel"] != _KIND[r["list_type"]].channel
        }
    )
    problems += channels
    others = sorted({_text(r.get("dealer_code")) for r in rows} - {dealer_code})
    if others:
        problems.append(f"rows of other dealers: {', '.join(others)}")
    unfilled = sorted(
        {
            f"{column} {found}"
            for r in rows
            for column in FILLED_COLUMNS
            for found in _PLACEHOLDER.findall(_text(r.get(column)))
        }
    )
    if unfilled:
        problems.append(f"placeholders not filled in: {', '.join(unfilled[:5])}")
    if problems:
        raise ExportError(f"{EXPORT_RELATION} for {business_date} dealer {dealer_code}: " + "; ".join(problems))


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def build_files(
    business_date: dt.date,
    dealer_code: str,
    rows: Iterable[dict[str, Any]],
    feed_reports: Sequence[dict[str, Any]] = (),
) -> DealerFiles:
    """The dealer's three CSV files, each followed by its XLSX twin, and the manifest for
    D from its export rows, naming the feed reports that affect the dealer (pure)."""
    rows = list(rows)
    _check(business_date, dealer_code, rows)
    by_type = {
        kind.list_type: sorted(
            (r for r in rows if r.get("list_type") == kind.list_type),
            key=_case_order if kind.list_type == "complaint" else _order,
        )
        for kind in KINDS
    }
    files: dict[str, bytes] = {}
    entries = []
    for kind in KINDS:
        listed = by_type[kind.list_type]
        for extension in FORMATS:
            name = kind.file_name(dealer_code, business_date, extension)
            if extension == "csv":
                data = render_csv(kind.columns, listed)
            else:
                data = render_xlsx(kind.columns, listed, business_date, kind.prefix, name.rsplit(".", 1)[0])
            files[name] = data
            entry: dict[str, Any] = {
                "name": name,
                "list_type": kind.list_type,
                "format": extension,
                "rows": len(listed),
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                f"by_{kind.counted_by}": _counts(listed, kind.counted_by),
            }
            if kind.list_type == "call":
                entry["by_queue"] = _counts(listed, "queue")
            if kind.list_type == "exception":
                entry["by_exception_reason"] = _counts(listed, "exception_reason")
            if kind.list_type == "complaint":
                entry["by_breached"] = _counts(listed, "breached")
            entries.append(entry)
    digest = hashlib.sha256(f"{business_date.isoformat()}\n{dealer_code}\n".encode())
    for entry in entries:
        digest.update(f"{entry['name']} {entry['sha256']}\n".encode())
    manifest = {
        "format": MANIFEST_FORMAT,
        "business_date": business_date.isoformat(),
        "dealer_code": dealer_code,
        "status": "delivered",
        "run_id": f"{business_date:%Y%m%d}-{dealer_code}-{digest.hexdigest()[:16]}",
        "files": entries,
        "feed_reports": list(feed_reports),
    }
    return DealerFiles(business_date, dealer_code, by_type, files, manifest, _manifest_bytes(manifest))


def held_files(
    business_date: dt.date, dealer_code: str, reason: str, feed_reports: Sequence[dict[str, Any]] = ()
) -> DealerFiles:
    """What a held dealer's folder gets for D: no list file, a manifest saying why (pure)."""
    digest = hashlib.sha256(f"{business_date.isoformat()}\n{dealer_code}\nheld\n{reason}\n".encode())
    manifest = {
        "format": MANIFEST_FORMAT,
        "business_date": business_date.isoformat(),
        "dealer_code": dealer_code,
        "status": "held",
        "run_id": f"{business_date:%Y%m%d}-{dealer_code}-{digest.hexdigest()[:16]}",
        "held_because": reason,
        "files": [],
        "feed_reports": list(feed_reports),
    }
    rows: dict[str, list[dict[str, Any]]] = {kind.list_type: [] for kind in KINDS}
    return DealerFiles(business_date, dealer_code, rows, {}, manifest, _manifest_bytes(manifest))


# --- holding a dealer whose DMS extraction failed ------------------------------------


def held_because(conn: Any, business_date: dt.date, dealer_code: str) -> str | None:
    """Why the dealer's lists for D must be held, or None. Its DMS extraction for D
    completed only if ``etl.extract_state`` (which moves in the same transaction as each
    batch) reaches ``D 00:00`` for every per-dealer entity of the dealer and every
    group-wide one; the entities that do not are named, with how far they got."""
    from baoke.extract.catalog import DMS_GROUP_WIDE, DMS_PER_DEALER  # imports Airflow's Asset

    wanted = [(name, dealer_code) for name in DMS_PER_DEALER] + [(name, "") for name in DMS_GROUP_WIDE]
    with conn.cursor() as cur:
        cur.execute(
            "select entity, scope, high_water from etl.extract_state where feed = 'dms' and scope in (%s, '')",
            (dealer_code,),
        )
        reached = {(entity, scope): high_water for entity, scope, high_water in cur.fetchall()}
    conn.rollback()
    until = day_start(business_date)
    behind: dict[tuple[str, dt.datetime | None], list[str]] = {}
    for name, scope in wanted:
        high_water = reached.get((name, scope))
        if high_water is None or high_water < until:
            behind.setdefault((scope, high_water), []).append(name)
    if not behind:
        return None
    return "; ".join(
        f"DMS {', '.join(names)} {f'for {scope}' if scope else '(group-wide)'} not extracted for {business_date}"
        + (
            f" (last extracted up to {high_water.astimezone(TZ):%Y-%m-%d %H:%M %z})"
            if high_water
            else " (never extracted)"
        )
        for (scope, high_water), names in behind.items()
    )


def manifest_reports(conn: Any, business_date: dt.date, dealer_code: str) -> list[dict[str, Any]]:
    """D's feed reports affecting the dealer, as its manifest lists them (the dealer's
    own ``held`` report is the manifest's status, not listed again)."""
    reports = feedreports.for_day(conn, business_date, dealer_code=dealer_code)
    conn.rollback()
    return [r.to_dict() for r in reports if (r.feed, r.kind) != (HELD_FEED, "held")]


def record_hold(conn: Any, business_date: dt.date, dealer_code: str, reason: str | None) -> None:
    """Record the dealer's ``held`` report for D, or drop one an earlier run recorded."""
    with conn, conn.cursor() as cur:
        feedreports.clear(cur, business_date, HELD_FEED, "held", scope=dealer_code)
        if reason is not None:
            feedreports.record(
                cur,
                business_date,
                HELD_FEED,
                dealer_code,
                "held",
                HELD_SUBJECT,
                f"lists for {dealer_code} held: {reason}",
                dealer_code=dealer_code,
            )


# --- reading the warehouse -----------------------------------------------------------


def _relation_exists(conn: Any, relation: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("select to_regclass(%s) is not null", (relation,))
        return bool(cur.fetchone()[0])


def _require(conn: Any, relation: str) -> None:
    if not _relation_exists(conn, relation):
        conn.rollback()
        raise ExportError(f"{relation} does not exist: build the warehouse (baoke_warehouse) first")


def check_decisions(conn: Any) -> None:
    """Refuse decisions the log cannot copy: every column of ``LOG_COLUMNS`` and
    ``export_dealer_code`` must be there (by name; a missing one is named)."""
    _require(conn, DECISIONS_RELATION)
    with conn.cursor() as cur:
        cur.execute(
            "select attname from pg_attribute where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped",
            (DECISIONS_RELATION,),
        )
        present = {row[0] for row in cur.fetchall()}
    conn.rollback()
    missing = [c for c in (*LOG_COLUMNS, EXPORT_DEALER_COLUMN) if c not in present]
    if missing:
        raise ExportError(
            f"{DECISIONS_RELATION} lacks the outreach log's columns {', '.join(missing)}: nothing was exported"
        )


def _built_for(conn: Any, relation: str, business_date: dt.date) -> bool:
    with conn.cursor() as cur:
        cur.execute(
            f"select exists (select from {relation} where business_date = %s), exists (select from {relation})",
            (business_date,),
        )
        of_d, any_rows = cur.fetchone()
    conn.rollback()
    return bool(of_d or not any_rows)


def export_ready(conn: Any, business_date: dt.date) -> bool:
    """Whether the export and decisions relations were built for D: each holds rows of
    D, or no rows at all (nothing due anywhere). Rows of other dates only: the warehouse
    run for D has not finished yet (the export at 01:00 must not send yesterday's lists,
    nor log yesterday's decisions)."""
    _require(conn, EXPORT_RELATION)
    check_decisions(conn)
    return _built_for(conn, EXPORT_RELATION, business_date) and _built_for(conn, DECISIONS_RELATION, business_date)


def dealers(conn: Any, business_date: dt.date) -> list[str]:
    """The dealers to export on D: those with export rows on D, those whose export
    records decision rows of D (a dealer with suppressed rows only: they must be logged),
    and every dealer of ``marts.dim_dealer`` (one with nothing due gets header-only files)."""
    _require(conn, EXPORT_RELATION)
    check_decisions(conn)
    sql = (
        f"select dealer_code from {EXPORT_RELATION} where business_date = %(d)s"
        f" union select {EXPORT_DEALER_COLUMN} from {DECISIONS_RELATION} where business_date = %(d)s"
    )
    if _relation_exists(conn, "marts.dim_dealer"):
        sql += " union select dealer_code from marts.dim_dealer"
    with conn.cursor() as cur:
        cur.execute(
            f"select distinct dealer_code from ({sql}) d where dealer_code is not null order by 1", {"d": business_date}
        )
        found = [row[0] for row in cur.fetchall()]
    conn.rollback()
    return found


def _fetch(
    conn: Any, relation: str, columns: Sequence[str], business_date: dt.date, dealer_code: str
) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(
            f"select {', '.join(columns)} from {relation} where business_date = %s and dealer_code = %s",
            (business_date, dealer_code),
        )
        found = [dict(zip(columns, row, strict=False)) for row in cur.fetchall()]
    conn.rollback()
    return found


def fetch_rows(conn: Any, business_date: dt.date, dealer_code: str) -> list[dict[str, Any]]:
    """The dealer's export rows for D, as dicts (contract columns plus list_type, channel),
    and its complaints file rows (list_type ``complaint``)."""
    _require(conn, COMPLAINTS_RELATION)
    return _fetch(conn, EXPORT_RELATION, ("list_type", *FILE_COLUMNS, "channel"), business_date, dealer_code) + _fetch(
        conn, COMPLAINTS_RELATION, ("list_type", *COMPLAINT_COLUMNS), business_date, dealer_code
    )


def logged_list_calls(conn: Any, business_date: dt.date, dealer_code: str) -> set[str]:
    """The call ids of the call and SMS list rows the dealer's export will log for D."""
    with conn.cursor() as cur:
        cur.execute(
            f"select call_id from {DECISIONS_RELATION} where business_date = %s and {EXPORT_DEALER_COLUMN} = %s"
            " and is_list_row and disposition in ('call', 'sms')",
            (business_date, dealer_code),
        )
        found = {row[0] for row in cur.fetchall()}
    conn.rollback()
    return found


def _check_log_matches(files: DealerFiles, logged: set[str]) -> None:
    """The calls the files send must be the list rows the log records: the next days'
    decisions read what was listed from the log, and outcomes name what was sent."""
    sent = {call_id for call_id, *_ in files.sent_calls()}
    if sent == logged:
        return
    only_files, only_log = sorted(sent - logged), sorted(logged - sent)
    raise ExportError(
        f"{DECISIONS_RELATION} for {files.business_date} dealer {files.dealer_code} disagrees with"
        f" {EXPORT_RELATION} on the call and SMS list rows"
        + (f"; only in the files: {', '.join(map(str, only_files[:5]))}" if only_files else "")
        + (f"; only in the decisions: {', '.join(map(str, only_log[:5]))}" if only_log else "")
    )


# --- delivery ------------------------------------------------------------------------


def _existing_manifest(drop: FileDrop, folder: str) -> bytes | None:
    relpath = f"{folder}/{MANIFEST_NAME}"
    return drop.read_bytes(relpath) if drop.exists(relpath) else None


def deliver(drop: FileDrop, files: DealerFiles) -> None:
    """Write the CSV files, then the manifest, each atomically. If the folder holds a
    manifest for other content, it is removed first: while the files are replaced (or
    if that fails half-way) the folder has no manifest, so nobody takes it as complete.
    D's list files that are not part of this delivery (a held dealer's) are removed
    before the manifest is written."""
    folder = files.folder
    old = _existing_manifest(drop, folder)
    if old is not None and old != files.manifest_bytes:
        drop.remove(f"{folder}/{MANIFEST_NAME}")
    for kind in KINDS:
        for extension in FORMATS:
            name = kind.file_name(files.dealer_code, files.business_date, extension)
            if name not in files.files and drop.exists(f"{folder}/{name}"):
                drop.remove(f"{folder}/{name}")
    for name, data in files.files.items():
        drop.write_bytes(f"{folder}/{name}", data)
    drop.write_bytes(f"{folder}/{MANIFEST_NAME}", files.manifest_bytes)


def _record_sent_calls(cur: Any, files: DealerFiles) -> int:
    """Record the call and SMS rows in ``etl.sent_calls`` (rows already there are kept
    as first sent); return how many were new."""
    rows = files.sent_calls()
    if not rows:
        return 0
    inserted = execute_values(
        cur,
        "insert into etl.sent_calls (call_id, list_date, dealer_code, customer_id, channel) values %s"
        " on conflict (call_id) do nothing returning call_id",
        rows,
        fetch=True,
        page_size=1000,
    )
    return len(inserted)


@dataclass(frozen=True)
class Recorded:
    """What one export recorded in the warehouse."""

    export_id: int
    rows_logged: int
    new_sent_calls: int


def who_runs() -> tuple[str, str | None]:
    """(operating-system user, Airflow run) of this process, for the export audit: the
    database records its own session user. The Airflow run is what Airflow puts in a
    task's environment (``dag_id/run_id/task_id``), None outside Airflow."""
    import getpass
    import os

    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
        os_user = f"uid {os.getuid()}"
    parts = [os.environ.get(f"AIRFLOW_CTX_{name}") for name in ("DAG_ID", "DAG_RUN_ID", "TASK_ID")]
    return os_user, "/".join(p for p in parts if p) or None


def _record_audit(cur: Any, export_id: int, files: DealerFiles, target: str) -> int:
    """One ``etl.export_audit`` row per file sent (the lists, then the manifest), as the
    manifest describes them; return how many."""
    os_user, airflow_run = who_runs()
    sent = [
        (entry["name"], entry.get("format", "csv"), entry["list_type"], entry["rows"], entry["bytes"], entry["sha256"])
        for entry in files.manifest["files"]
    ]
    sent.append(
        (
            MANIFEST_NAME,
            "json",
            None,
            None,
            len(files.manifest_bytes),
            hashlib.sha256(files.manifest_bytes).hexdigest(),
        )
    )
    execute_values(
        cur,
        "insert into etl.export_audit (export_id, run_id, business_date, dealer_code, file_name, file_format,"
        " list_type, rows, bytes, sha256, target, os_user, airflow_run) values %s",
        [
            (
                export_id,
                files.manifest["run_id"],
                files.business_date,
                files.dealer_code,
                *file,
                target,
                os_user,
                airflow_run,
            )
            for file in sent
        ],
    )
    return len(sent)


def record_export(conn: Any, files: DealerFiles, target: str) -> Recorded:
    """Record the delivered (or held) files in one transaction: the dealer's decision
    rows of D in ``etl.outreach_log`` (none when held: nothing was sent), the
    ``etl.outreach_exports`` row that counts them, the sent calls, and one
    ``etl.export_audit`` row per file sent to ``target`` (the dealer's folder, without
    credentials). The log rows go first under an export id drawn beforehand (the
    foreign key is checked at commit), so the count is the rows inserted, not a second
    read of the decisions."""
    columns = ", ".join(LOG_COLUMNS)
    held = files.manifest["status"] == "held"
    with conn, conn.cursor() as cur:
        cur.execute("select nextval(pg_get_serial_sequence('etl.outreach_exports', 'export_id'))")
        export_id = cur.fetchone()[0]
        rows_logged = 0
        if not held:
            cur.execute(
                f"insert into etl.outreach_log (export_id, {columns})"
                f" select %s, {columns} from {DECISIONS_RELATION}"
                f" where business_date = %s and {EXPORT_DEALER_COLUMN} = %s",
                (export_id, files.business_date, files.dealer_code),
            )
            rows_logged = cur.rowcount
        cur.execute(
            "insert into etl.outreach_exports (export_id, business_date, dealer_code, status, run_id, rows_logged)"
            " values (%s, %s, %s, %s, %s, %s)",
            (
                export_id,
                files.business_date,
                files.dealer_code,
                files.manifest["status"],
                files.manifest["run_id"],
                rows_logged,
            ),
        )
        new = _record_sent_calls(cur, files)
        _record_audit(cur, export_id, files, target)
    return Recorded(export_id, rows_logged, new)


@dataclass
class DealerExport:
    """What was delivered for one dealer (the task's summary, and its XCom)."""

    location: str  # where the dealer's folder is (no credentials)
    manifest: dict[str, Any]
    new_sent_calls: int = 0
    rows_logged: int = 0  # decision rows recorded in etl.outreach_log
    export_id: int | None = None  # its etl.outreach_exports row

    @property
    def dealer_code(self) -> str:
        return self.manifest["dealer_code"]

    @property
    def held(self) -> bool:
        return self.manifest.get("status") == "held"

    def line(self) -> str:
        return describe(self.manifest)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dealer_code": self.dealer_code,
            "path": self.location,
            "status": self.manifest["status"],
            **({"held_because": self.manifest["held_because"]} if self.held else {}),
            "run_id": self.manifest["run_id"],
            "files": {
                f["name"]: {
                    "rows": f["rows"],
                    **{key: f[key] for key in ("by_primary_reason", "by_status") if key in f},
                    **({"by_exception_reason": f["by_exception_reason"]} if "by_exception_reason" in f else {}),
                }
                for f in self.manifest["files"]
            },
            "new_sent_calls": self.new_sent_calls,
            "export_id": self.export_id,
            "rows_logged": self.rows_logged,
        }


def dealer_files(conn: Any, business_date: dt.date, dealer_code: str) -> DealerFiles:
    """What the dealer's folder gets for D, read from the warehouse and not yet written
    anywhere: its lists and manifest, or, if its DMS extraction for D did not complete,
    a held manifest. Contract breaches raise ``ExportError``."""
    check_decisions(conn)
    reason = held_because(conn, business_date, dealer_code)
    reports = manifest_reports(conn, business_date, dealer_code)
    if reason is not None:
        return held_files(business_date, dealer_code, reason, reports)
    files = build_files(business_date, dealer_code, fetch_rows(conn, business_date, dealer_code), reports)
    _check_log_matches(files, logged_list_calls(conn, business_date, dealer_code))
    return files


def export_dealer(conn: Any, drop: FileDrop, business_date: dt.date, dealer_code: str) -> DealerExport:
    """Read the dealer's rows for D, deliver its files (manifest last), then record the
    export (its log rows and sent calls, ``record_export``); or, if its DMS extraction
    for D did not complete, hold its lists (a manifest saying why, no list file) and
    record the hold and a held export. Contract breaches raise ``ExportError`` before
    anything is written."""
    files = dealer_files(conn, business_date, dealer_code)
    record_hold(conn, business_date, dealer_code, files.manifest.get("held_because"))
    deliver(drop, files)
    location = f"{drop.location.rstrip('/')}/{files.folder}"
    recorded = record_export(conn, files, location)
    export = DealerExport(
        location,
        files.manifest,
        recorded.new_sent_calls,
        recorded.rows_logged,
        recorded.export_id,
    )
    log.info(
        "%s: %s (export %d: %d rows logged, %d new sent calls)",
        export.location,
        export.line(),
        recorded.export_id,
        recorded.rows_logged,
        recorded.new_sent_calls,
    )
    return export


def export_day(
    conn: Any, drop: FileDrop, business_date: dt.date, dealer_codes: Sequence[str] | None = None
) -> list[DealerExport]:
    """Every dealer's files for D (``dealer_codes``, default: ``dealers()``)."""
    codes = list(dealer_codes) if dealer_codes is not None else dealers(conn, business_date)
    return [export_dealer(conn, drop, business_date, code) for code in codes]


# --- what the DAG calls (connections and folders resolved here) -----------------------


@contextlib.contextmanager
def _warehouse() -> Any:
    """The warehouse as the exporter's login (docs/outputs.md, "Least privilege")."""
    from baoke.connections import warehouse
    from baoke.migrate import ready_url

    with warehouse(ready_url("exporter")) as conn:
        yield conn


def ready_dealers(business_date: dt.date) -> list[str] | None:
    """The dealers to export for D, or None while the warehouse is not built for D."""
    with _warehouse() as conn:
        return dealers(conn, business_date) if export_ready(conn, business_date) else None


def export_dealer_files(dealer_code: str, business_date: dt.date) -> dict[str, Any]:
    """One dealer's files for D, to ``OUTBOUND_DIR``; returns the summary, or raises
    ``ListsHeld`` once the held dealer's manifest is written."""
    from baoke.configured import open_folder

    with contextlib.closing(open_folder("OUTBOUND_DIR")) as drop, _warehouse() as conn:
        export = export_dealer(conn, drop, business_date, dealer_code)
    if export.held:
        raise ListsHeld(
            f"lists for {dealer_code} on {business_date} held: {export.manifest['held_because']}"
            f" (manifest: {export.location}/{MANIFEST_NAME})"
        )
    return export.to_dict()


# --- reading back what was delivered (baoke run / demo) ------------------------------


def read_manifests(location: str, business_date: dt.date) -> tuple[str, dict[str, dict[str, Any] | None]]:
    """(D's folder without credentials, dealer -> its manifest or None if it has none)."""
    day = business_date.isoformat()
    with contextlib.closing(open_drop(location)) as drop:
        found: dict[str, dict[str, Any] | None] = {}
        for dealer_code in drop.folders(day):
            manifest = _existing_manifest(drop, f"{day}/{dealer_code}")
            found[dealer_code] = json.loads(manifest) if manifest is not None else None
        return f"{drop.location.rstrip('/')}/{day}", found


def describe(manifest: dict[str, Any]) -> str:
    """``D001: call 37 (MAINTENANCE_DUE 12, ...), sms 5 (BIRTHDAY 5), exceptions 2 (invalid_mobile 2)``,
    or ``D002: held — DMS repair_orders for D002 not extracted for ...``."""
    if manifest.get("status") == "held":
        return f"{manifest['dealer_code']}: held — {manifest['held_because']}"
    label = {"call": "call", "sms": "sms", "exception": "exceptions", "complaint": "complaints"}
    parts = []
    for entry in manifest["files"]:
        if entry.get("format", "csv") != "csv":
            continue  # the XLSX twin has the CSV's rows
        reasons = entry.get("by_exception_reason") or entry.get("by_primary_reason") or entry.get("by_status", {})
        detail = ", ".join(f"{reason} {n}" for reason, n in reasons.items())
        parts.append(
            f"{label.get(entry['list_type'], entry['list_type'])} {entry['rows']}" + (f" ({detail})" if detail else "")
        )
    return f"{manifest['dealer_code']}: " + ", ".join(parts)
