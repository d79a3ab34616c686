"""What a replay injected, and where the platform must have recorded each fault.

A replay with faults (``baoke simulate replay --fault-rate R``) collects every fault the
simulators applied — the APIs' ``InjectionLog`` (``faults.Injected``), the insurers' and
the call center's ``FaultyFile`` reports — as ``InjectedFault``s, each with the business
date D of the run that meets it: the day's API requests and the insurer files of the
day's drop are met by the run of D; an outcome file written after D's export by the run
of D + 1. After the replay, ``reconcile`` looks for each fault's trace in D's records:

Fault → the trace required (E: the entity; "recorded as unannounced": the field is in
``etl.unannounced_fields`` for the feed and E, first seen on D with an
``unannounced_field`` report of D, or first seen earlier — not reported again, by design):

- API ``error`` (429/5xx), ``stall``, ``token_expired``, ``repeat_page``, ``html_body``,
  ``truncated_body``, OEM ``short_page``: none, they are **retried** and must leave no
  trace. Counted; that they left none is the reverse check below.
- DMS ``bad_record`` ``bad_updated_at``, ``null_updated_at``, ``null_pk``,
  ``bad_number``: a reject (``etl.rejects``) by a DMS batch of D (or kept once before:
  the same damaged version), of E, naming ``updated_at`` / E's key / the number field,
  holding the record as served.
- DMS ``bad_record`` ``renamed_field``: that reject naming the old name, and the new
  name recorded as unannounced.
- DMS ``bad_record`` ``unannounced_field``: the field recorded as unannounced (the
  record itself loads).
- DMS ``late_change``: raw holds the late version (key, backdated ``updated_at``), loaded
  on D (a window reaching that far: the first load, a deep read) or by the first deep
  read after D (``BAOKE_RECONCILE_WEEKDAY``, Sunday); the day it was found is printed.
  Or a newer version of the record reached raw before any deep read after D (the late
  one is no longer served: overtaken). **Pending** when no deep read ran after D within
  the replay.
- file ``redeliver``, ``correction``: **no report due** — a reader of the inbox sees
  only the last bytes (the same ones again; a correction made before the file was read),
  so ``etl.files`` must hold the name once, loaded, with the bytes the inbox holds now.
- file ``resent_renamed``: the re-sent name in ``etl.files`` as ``redelivered``,
  ``redelivery_of`` the original.
- insurer ``incomplete``, ``trailer_mismatch``: the name in ``etl.files`` as
  ``incomplete``, with the bytes the inbox holds (not loaded; read again each run).
- file ``missing``: no ``etl.files`` row for the name, and — call center: a ``stale``
  report of D (the day after its list) naming the file, if the dealer's list had rows
  that day (else no file was owed); insurer: a ``stale`` report of D for the insurer
  when its newest complete file dated before D is older than D - 2
  (``freshness.INSURER_SILENCE_DAYS``), else **no report due** (its other files keep it
  within its limit).
- file ``empty``: an ``empty`` report of D naming the file.
- file ``short``: a ``volume`` report of D naming the file when it holds under
  ``VOLUME_SHARE`` of its sender's usual rows (``baoke.extract.files``: the median of the
  last ``VOLUME_HISTORY`` loaded files of its kind, from ``VOLUME_MIN_FILES`` files and
  ``VOLUME_MIN_MEDIAN`` rows); else **no report due** (too little history, too small a
  sender), and the file loaded.
- file ``ragged_row``, ``stray_quote``, ``malformed_row``: one reject per damaged line
  in the file's batch, locator ``line N``, naming the damaged column, or '' for a line
  that is no record (too few or many fields, a stray or unclosed quote).
- file ``renamed_column``: every data line rejected naming the old column, and the new
  name recorded as unannounced.
- file ``extra_column``: the column recorded as unannounced.
- call center ``without_v2``: the file loaded, its batch without a reject (version-1
  files stay valid).
- any file fault that leaves no data row: the ``empty`` report of D naming the file
  (nothing else in it can show).

A fault whose trace is missing is **unmatched** (the replay must end with none). The
reverse check: every reject kept by a batch of a replayed day must be one of the
rejects above; one that is not is **unexplained** (a transient fault that left a trace,
or a bad record the world itself holds).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from baoke.extract.catalog import CALLCENTER_OUTCOMES, INSURER
from baoke.extract.files import VOLUME_HISTORY, VOLUME_MIN_FILES, VOLUME_MIN_MEDIAN, VOLUME_SHARE, file_date
from baoke.extract.freshness import COMPLETE_FILE, INSURER_SILENCE_DAYS
from baoke_sim.faults import Injected
from baoke_sim.file_faults import FaultyFile

#: The API faults a retry absorbs (faults.py: "transient").
TRANSIENT = frozenset({"error", "stall", "token_expired", "repeat_page", "html_body", "truncated_body", "short_page"})
#: Damaged lines the platform rejects whole (not a record: no field to name).
_UNREADABLE_LINES = frozenset({"too_few_columns", "too_many_columns", "stray_quote", "unterminated_quote"})

Status = Literal["retried", "matched", "no report due", "pending", "unmatched"]
STATUSES: tuple[Status, ...] = ("retried", "matched", "no report due", "pending", "unmatched")


@dataclass(frozen=True)
class InjectedFault:
    """One fault a simulator applied, and the business date ``due`` whose run meets it."""

    feed: str  # dms | oem | insurer | callcenter
    kind: str  # the fault's kind; a damaged DMS record's is bad_record:<damage>
    subject: str  # what it hit: the request, or the file's name (as the sender meant it)
    due: dt.date
    detail: Mapping[str, Any] = field(default_factory=dict)
    file: FaultyFile | None = None

    @property
    def transient(self) -> bool:
        return self.kind in TRANSIENT

    @property
    def label(self) -> str:
        return f"{self.feed} {self.kind}"

    @property
    def category(self) -> str:
        """A coarse class of fault, for saying that a replay met every class: per feed,
        retried (API), damaged record, late change, or file fault."""
        if self.transient:
            return f"{self.feed} retried"
        if self.kind == "late_change":
            return "dms late change"
        return f"{self.feed} {'damaged record' if self.feed == 'dms' else 'file'}"


def api_faults(feed: str, injected: Iterable[Injected], due: dt.date) -> list[InjectedFault]:
    """The faults an API applied during the run of ``due``."""
    faults = []
    for item in injected:
        kind = f"bad_record:{item.detail['damage']}" if item.kind == "bad_record" else item.kind
        query = "&".join(f"{k}={v}" for k, v in sorted(item.query.items()) if k not in ("cursor",))
        faults.append(InjectedFault(feed, kind, f"{item.path}?{query}" if query else item.path, due, item.detail))
    return faults


def file_faults(feed: str, reports: Mapping[str, FaultyFile], due: dt.date) -> list[InjectedFault]:
    """The faults of files first delivered for the run of ``due`` (by the name the sender
    meant; ``FaultyFile.path`` is where its last delivery went)."""
    return [
        InjectedFault(feed, report.fault, name, due, file=report)
        for name, report in sorted(reports.items())
        if report.fault is not None
    ]


@dataclass(frozen=True)
class Evidence:
    """What ``reconcile`` found for one fault."""

    fault: InjectedFault
    status: Status
    found: str

    def line(self) -> str:
        f = self.fault
        return f"{f.due} {f.label} {f.subject}: {self.status} — {self.found}"


@dataclass
class Reconciliation:
    """Every fault's evidence, and the rejects of the replayed days no fault explains."""

    evidence: list[Evidence]
    unexplained_rejects: dict[dt.date, list[str]]

    def for_day(self, day: dt.date) -> list[Evidence]:
        return [e for e in self.evidence if e.fault.due == day]

    def counts(self, day: dt.date | None = None) -> Counter[str]:
        """Faults per status (of one due day, or all)."""
        return Counter(e.status for e in self.evidence if day is None or e.fault.due == day)

    @property
    def unmatched(self) -> list[Evidence]:
        return [e for e in self.evidence if e.status == "unmatched"]


class _Finder:
    """The queries behind ``reconcile``, on one connection. Rejects it matches are
    remembered (``explained``) for the reverse check."""

    def __init__(self, conn: Any, days: Sequence[dt.date], deep_read_days: set[dt.date]) -> None:
        self.conn = conn
        self.last = max(days)
        self.deep_read_days = deep_read_days
        self.explained: set[tuple[str, str, str]] = set()  # (feed, entity, reject_key)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def report(self, day: dt.date, feed: str, kind: str, subject: str | None = None, scope: str | None = None) -> bool:
        sql = "select 1 from etl.feed_reports where business_date = %s and feed = %s and kind = %s"
        params: list[Any] = [day, feed, kind]
        for column, value in (("subject", subject), ("scope", scope)):
            if value is not None:
                sql += f" and {column} = %s"
                params.append(value)
        return bool(self.rows(sql, *params))

    def unannounced(self, feed: str, entity: str, name: str, due: dt.date) -> tuple[bool, str]:
        """A field nobody announced: recorded, and reported on the day it was first seen."""
        found = self.rows(
            "select first_seen_on from etl.unannounced_fields where feed = %s and entity = %s and field = %s",
            feed,
            entity,
            name,
        )
        subject = f"{entity}.{name}"
        if not found:
            return False, f"{subject} is not in etl.unannounced_fields"
        (first,) = found[0]
        if first < due:
            return True, f"{subject} known since {first} (not reported again)"
        if first > due:
            return False, f"{subject} first recorded only on {first}"
        if self.report(due, feed, "unannounced_field", subject):
            return True, f"{subject} reported 'unannounced_field'"
        return False, f"{subject} first seen on {due} but no 'unannounced_field' report"

    # --- the DMS -------------------------------------------------------------------------

    def damaged_record(self, f: InjectedFault) -> tuple[Status, str]:
        d = f.detail
        entity, damage, name = d["entity"], d["damage"], d["field"]
        found: list[str] = []
        if damage != "unannounced_field":
            rejects = self.rows(
                "select r.reject_key, b.business_date, r.locator from etl.rejects r"
                " join etl.load_batches b using (batch_id)"
                " where r.feed = 'dms' and r.entity = %s and r.field = %s and b.business_date <= %s"
                " and (case when r.feed = 'dms' then r.record::jsonb end) = %s::jsonb"
                " order by b.business_date",
                entity,
                name,
                f.due,
                json.dumps(d["record"], ensure_ascii=False),
            )
            if not rejects:
                return "unmatched", f"no reject of {entity} naming {name!r} holding record {d['pk']!r}"
            key, day, locator = rejects[0]
            self.explained.add(("dms", entity, key))
            kept = "" if day == f.due else f" (kept once, on {day})"
            found.append(f"rejected naming {name!r} at {locator}{kept}")
        if damage in ("renamed_field", "unannounced_field"):
            ok, text = self.unannounced("dms", entity, d["to"] if damage == "renamed_field" else name, f.due)
            if not ok:
                return "unmatched", "; ".join([*found, text])
            found.append(text)
        return "matched", "; ".join(found)

    def late_change(self, f: InjectedFault) -> tuple[Status, str]:
        d = f.detail
        table = f"raw.dms_{d['entity']}"
        loaded = self.rows(
            f"select b.business_date from {table} r join etl.load_batches b using (batch_id)"
            " where r.record_key = %s and r.record_version = %s",
            d["pk"],
            d["updated_at"],
        )
        if loaded:
            (day,) = loaded[0]
            how = "a deep read" if day in self.deep_read_days else "a window reaching it"
            return "matched", f"{d['entity']} {d['pk']} @ {d['updated_at']} found on {day} by {how}"
        later_reads = sorted(day for day in self.deep_read_days if day > f.due)
        newer = self.rows(
            f"select min(b.business_date) from {table} r join etl.load_batches b using (batch_id)"
            " where r.record_key = %s and r.version_at > %s::timestamptz",
            d["pk"],
            d["updated_at"],
        )[0][0]
        if newer is not None and not any(day < newer for day in later_reads):
            return "matched", f"overtaken: a newer version of {d['entity']} {d['pk']} loaded on {newer}"
        if not later_reads:
            return "pending", f"no deep read after {f.due} in the replay; due on the next one"
        return "unmatched", f"{d['entity']} {d['pk']} @ {d['updated_at']} missed by the deep read of {later_reads[0]}"

    # --- files ------------------------------------------------------------------------------

    def ledger(self, feed: str, name: str) -> list[tuple[Any, ...]]:
        """(file_id, status, sha256, batch_id, redelivery_of) of every version of a file name."""
        return self.rows(
            "select file_id, status, sha256, batch_id, redelivery_of from etl.files where feed = %s and name = %s"
            " order by file_id",
            feed,
            name,
        )

    def file(self, f: InjectedFault) -> tuple[Status, str]:
        report = f.file
        assert report is not None
        if report.fault == "missing":
            return self.missing(f)
        if f.due > self.last:
            return "pending", f"met by the run of {f.due}, after the replay"
        if report.complete and report.data_rows == 0:  # nothing in it can show but its emptiness
            return self.reported(f, "empty", report.path.name)
        check: Callable[[InjectedFault], tuple[Status, str]] = {
            "redeliver": self.last_bytes_loaded,
            "correction": self.last_bytes_loaded,
            "resent_renamed": self.redelivered,
            "incomplete": self.incomplete,
            "trailer_mismatch": self.incomplete,
            "empty": lambda f: self.reported(f, "empty", f.subject),
            "short": self.volume,
            "renamed_column": self.columns,
            "extra_column": self.columns,
            "without_v2": self.clean_load,
        }.get(report.fault or "", self.damaged_lines)
        return check(f)

    def reported(self, f: InjectedFault, kind: str, name: str) -> tuple[Status, str]:
        if self.report(f.due, f.feed, kind, name):
            return "matched", f"reported {kind!r}"
        return "unmatched", f"no {kind!r} report naming {name}"

    def last_bytes_loaded(self, f: InjectedFault) -> tuple[Status, str]:
        assert f.file is not None
        digest = hashlib.sha256(f.file.path.read_bytes()).hexdigest()
        versions = self.ledger(f.feed, f.subject)
        if [(status, sha) for _, status, sha, _, _ in versions] == [("loaded", digest)]:
            return "no report due", "the last bytes delivered loaded once (a reader sees only those)"
        return "unmatched", f"etl.files holds {[(status, sha[:8]) for _, status, sha, _, _ in versions]}"

    def redelivered(self, f: InjectedFault) -> tuple[Status, str]:
        assert f.file is not None
        original = [file_id for file_id, status, *_ in self.ledger(f.feed, f.subject) if status == "loaded"]
        resent = self.ledger(f.feed, f.file.path.name)
        if original and any(status == "redelivered" and of == original[0] for _, status, _, _, of in resent):
            return "matched", f"{f.file.path.name} recorded 'redelivered' (of file {original[0]}), nothing loaded"
        return "unmatched", f"{f.file.path.name}: {[status for _, status, *_ in resent]} (original {original})"

    def incomplete(self, f: InjectedFault) -> tuple[Status, str]:
        assert f.file is not None
        digest = hashlib.sha256(f.file.path.read_bytes()).hexdigest()
        if any(status == "incomplete" and sha == digest for _, status, sha, _, _ in self.ledger(f.feed, f.subject)):
            return "matched", "recorded 'incomplete' in etl.files (not loaded; read again each run)"
        return "unmatched", "no 'incomplete' row in etl.files"

    def missing(self, f: InjectedFault) -> tuple[Status, str]:
        if self.ledger(f.feed, f.subject):
            return "unmatched", "a file that never arrived is in etl.files"
        if f.due > self.last:
            return "pending", f"its absence is judged by the run of {f.due}, after the replay"
        day = file_date(f.subject)
        if f.feed == "callcenter":
            dealer = f.subject.split("_")[1]
            if not self.rows("select 1 from etl.sent_calls where dealer_code = %s and list_date = %s", dealer, day):
                return "no report due", f"{dealer} had no list rows on {day}: no outcome file was owed"
            return self.reported(f, "stale", f.subject)
        assert f.file is not None
        folder = f.file.path.parent.name
        (newest,) = self.rows(
            "select max(file_date) from etl.files where feed = 'insurer' and folder = %s and status = any(%s)"
            " and file_date < %s",
            folder,
            list(COMPLETE_FILE),
            f.due,
        )[0]
        limit = f.due - dt.timedelta(days=INSURER_SILENCE_DAYS)
        stale = newest is None or newest < limit
        if stale == self.report(f.due, "insurer", "stale", scope=folder):
            if stale:
                return "matched", f"insurer {folder} reported 'stale' (newest complete file: {newest})"
            return "no report due", f"insurer {folder} within its freshness limit (newest complete file: {newest})"
        return "unmatched", f"insurer {folder} {'not ' if stale else ''}reported stale, newest complete file {newest}"

    def batch_of(self, f: InjectedFault) -> tuple[int, int, int] | None:
        """(batch_id, extracted, rejected) of the file's load."""
        batch = [b for _, status, _, b, _ in self.ledger(f.feed, f.subject) if status == "loaded" and b is not None]
        if not batch:
            return None
        found = self.rows("select batch_id, extracted, rejected from etl.load_batches where batch_id = %s", batch[0])
        return found[0] if found else None

    def volume(self, f: InjectedFault) -> tuple[Status, str]:
        batch = self.batch_of(f)
        if batch is None:
            return "unmatched", "the short file did not load"
        _, rows, _ = batch
        entity, scope = self.entity(f), self.scope(f)
        usual_rows = [
            n
            for (n,) in self.rows(
                "select b.extracted from etl.files f join etl.load_batches b on b.batch_id = f.batch_id"
                " where f.feed = %s and f.status = 'loaded' and b.entity = %s and b.scope = %s and f.file_date < %s"
                " order by f.file_date desc, f.file_id desc limit %s",
                f.feed,
                entity,
                scope,
                file_date(f.subject),
                VOLUME_HISTORY,
            )
        ]
        usual = statistics.median(usual_rows) if len(usual_rows) >= VOLUME_MIN_FILES else None
        due = usual is not None and usual >= VOLUME_MIN_MEDIAN and rows < VOLUME_SHARE * usual
        reported = self.report(f.due, f.feed, "volume", f.subject)
        if due and reported:
            return "matched", f"reported 'volume' ({rows} rows, usually {usual:g})"
        if not due and not reported:
            return "no report due", f"loaded {rows} rows; the sender's usual ({usual}) is below the volume check"
        return "unmatched", f"{rows} rows, usual {usual}: volume report {'missing' if due else 'unexpected'}"

    def damaged_lines(self, f: InjectedFault) -> tuple[Status, str]:
        assert f.file is not None
        batch = self.batch_of(f)
        if batch is None:
            return "unmatched", "the file did not load"
        rejects = {
            (locator, name): key
            for key, locator, name in self.rows(
                "select reject_key, locator, field from etl.rejects where batch_id = %s", batch[0]
            )
        }
        missing = []
        for line in f.file.damaged:
            wanted = (f"line {line.line_no}", "" if line.reason in _UNREADABLE_LINES else line.column or "")
            key = rejects.get(wanted)
            if key is None:
                missing.append(f"{wanted[0]} ({line.reason})")
            else:
                self.explained.add((f.feed, self.entity(f), key))
        if missing:
            return "unmatched", f"no reject for {', '.join(missing)}"
        return "matched", f"{len(f.file.damaged)} line(s) rejected, each naming its line" + (
            " and field" if any(line.reason not in _UNREADABLE_LINES for line in f.file.damaged) else ""
        )

    def columns(self, f: InjectedFault) -> tuple[Status, str]:
        assert f.file is not None
        found = []
        if f.file.damaged:
            status, text = self.damaged_lines(f)
            if status != "matched":
                return status, text
            found.append(text)
        for name in f.file.unannounced:
            ok, text = self.unannounced(f.feed, self.entity(f), name, f.due)
            if not ok:
                return "unmatched", text
            found.append(text)
        return "matched", "; ".join(found)

    def clean_load(self, f: InjectedFault) -> tuple[Status, str]:
        batch = self.batch_of(f)
        if batch is None or batch[2]:
            return "unmatched", f"a version-1 file should load without rejects: batch {batch}"
        return "matched", "loaded without rejects (version-1 columns are valid)"

    def entity(self, f: InjectedFault) -> str:
        if f.feed == "callcenter":
            return CALLCENTER_OUTCOMES.name
        return INSURER[f.subject.split("_")[0]].name

    def scope(self, f: InjectedFault) -> str:
        assert f.file is not None
        return f.subject.split("_")[1] if f.feed == "callcenter" else f.file.path.parent.name

    # --- all of them ---------------------------------------------------------------------

    def evidence(self, f: InjectedFault) -> Evidence:
        if f.transient:
            return Evidence(f, "retried", "absorbed by the client's retries")
        if f.kind == "late_change":
            status, found = self.late_change(f)
        elif f.kind.startswith("bad_record"):
            status, found = self.damaged_record(f)
        else:
            status, found = self.file(f)
        self.conn.rollback()
        return Evidence(f, status, found)

    def unexplained(self, days: Sequence[dt.date]) -> dict[dt.date, list[str]]:
        found: dict[dt.date, list[str]] = {}
        for day, feed, entity, key, locator, name, reason, source in self.rows(
            "select b.business_date, r.feed, r.entity, r.reject_key, r.locator, r.field, r.reason, r.source"
            " from etl.rejects r join etl.load_batches b using (batch_id)"
            " where b.business_date between %s and %s order by b.business_date, r.source, r.locator",
            min(days),
            max(days),
        ):
            if (feed, entity, key) not in self.explained:
                found.setdefault(day, []).append(f"{feed} {entity} {source} {locator}: {name or 'record'}: {reason}")
        self.conn.rollback()
        return found


def reconcile(
    conn: Any, faults: Iterable[InjectedFault], days: Sequence[dt.date], deep_read_days: set[dt.date]
) -> Reconciliation:
    """Each fault's evidence in the warehouse after a replay of ``days`` (see the module
    docstring), and the rejects no fault explains."""
    finder = _Finder(conn, days, deep_read_days)
    evidence = [finder.evidence(f) for f in faults]
    return Reconciliation(evidence, finder.unexplained(days))
