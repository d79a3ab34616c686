"""The insurers' daily file drop (docs/feeds.md §2), written from the world into an inbox:
``<inbox>/<insurer>/<POLICY|CLAIM>_<insurer>_<YYYYMMDD>.csv``, in the insurer's encoding,
CRLF, Chinese header, the ``合计,<N>`` trailer. A file is dropped once its day is before
the world's clock.

The faults insurers really show can be produced on demand, so that an extractor's
skip / supersede / reject paths are exercised by tests, not first met in production:

- ``redeliver``: the same bytes arrive again (already loaded: skip);
- ``correction``: the same name with different bytes (one row's amount fixed);
- ``incomplete``: the file is still being written (cut mid-file, no trailer);
- ``trailer_mismatch``: ``合计,N`` with the wrong N;
- ``ragged_row``: one row with too few columns, one with too many;
- ``malformed_row``: rows with an unparseable date, a non-numeric amount, an empty key
  (保单号 / 报案号) and, in claim files, an unknown 案件状态.

Faults come at random rates (``FileFaults``), scripted for named files
(``FileFaults(script={"POLICY_PICC_20261120.csv": "trailer_mismatch"})``), or one file at
a time (``write_faulty_file``). Scripted faults report exactly which lines were damaged
and why (``FaultyFile``), so tests can assert exact reject counts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple, get_args

from baoke_sim.insurance import CLAIM_HEADER, POLICY_HEADER

HEADERS = {"POLICY": POLICY_HEADER, "CLAIM": CLAIM_HEADER}

FileFault = Literal["redeliver", "correction", "incomplete", "trailer_mismatch", "ragged_row", "malformed_row"]
#: Every fault a file can be scripted with.
FILE_FAULTS: tuple[str, ...] = get_args(FileFault)

#: Why a damaged line must be rejected (``DamagedLine.reason``).
RejectReason = Literal["too_few_columns", "too_many_columns", "bad_date", "bad_amount", "empty_key", "unknown_status"]

#: The damages each row-level fault makes, one line each, per file kind.
ROW_DAMAGES: dict[str, dict[str, tuple[RejectReason, ...]]] = {
    "ragged_row": {"POLICY": ("too_few_columns", "too_many_columns"), "CLAIM": ("too_few_columns", "too_many_columns")},
    "malformed_row": {
        "POLICY": ("bad_date", "bad_amount", "empty_key"),
        "CLAIM": ("bad_date", "bad_amount", "empty_key", "unknown_status"),
    },
}
#: The field each damage breaks, per file kind (a header of ``HEADERS``).
DAMAGED_COLUMN = {
    "bad_date": {"POLICY": "起保日期", "CLAIM": "出险日期"},
    "bad_amount": {"POLICY": "保费", "CLAIM": "定损金额"},
    "empty_key": {"POLICY": "保单号", "CLAIM": "报案号"},
    "unknown_status": {"CLAIM": "案件状态"},
}
UNKNOWN_CLAIM_STATUS = "已注销"  # a real insurer status the contract does not list
EXTRA_FIELD = "备注:客户要求更换发票抬头"  # the stray column of a too-long row


@dataclass(frozen=True)
class FileFaults:
    """Which files go wrong: per-file probabilities (deterministic for ``seed``), and
    ``script``, faults for named files (``{"CLAIM_PICC_20261120.csv": "malformed_row"}``),
    which take the place of the random draws for those files."""

    redeliver_rate: float = 0.0  # the same bytes arrive again
    correction_rate: float = 0.0  # a corrected version replaces the file (one row changed)
    incomplete_latest: bool = False  # the newest day's files are still being written
    seed: int = 0
    script: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = {name: kind for name, kind in self.script.items() if kind not in FILE_FAULTS}
        if unknown:
            raise ValueError(f"unknown file faults {unknown}; faults: {', '.join(FILE_FAULTS)}")


@dataclass(frozen=True)
class DamagedLine:
    """One line a correct loader rejects. ``line_no`` is 1-based in the file as written:
    the header is line 1, data row ``i`` (0-based) is line ``i + 2`` (no field holds a
    line break, so lines and CSV records coincide)."""

    line_no: int
    reason: RejectReason
    column: str | None = None  # the damaged field's header; None for a ragged row
    value: str | None = None  # what that field holds now


@dataclass(frozen=True)
class FaultyFile:
    """What a delivery of one file holds, for tests to assert exact outcomes.

    ``data_rows`` counts the data lines of the file as complete (damaged ones included;
    for an ``incomplete`` file, what the finished file will hold). ``trailer`` is the N
    of ``合计,N``, None when the file has none. A file is loadable only when
    ``complete``; then ``good_rows`` load and the ``damaged`` lines are rejected."""

    path: Path
    fault: str | None
    encoding: str
    data_rows: int
    trailer: int | None
    damaged: tuple[DamagedLine, ...] = ()
    changed_lines: tuple[int, ...] = ()  # a correction: lines that differ from the first delivery
    deliveries: int = 1  # times the file was written by this call (2: re-delivery, correction)

    @property
    def complete(self) -> bool:
        return self.trailer is not None and self.trailer == self.data_rows

    @property
    def good_rows(self) -> int:
        return self.data_rows - len(self.damaged) if self.complete else 0

    @property
    def rejected_rows(self) -> int:
        return len(self.damaged) if self.complete else 0


class WorldFile(NamedTuple):
    """One insurer file the world holds: who, what, which day, how many rows."""

    insurer: str
    kind: str
    file_date: str  # YYYY-MM-DD
    rows: int

    @property
    def name(self) -> str:
        return file_name(self.kind, self.insurer, self.file_date)


@dataclass
class Delivery:
    """What ``deliver`` wrote: every path in order (a path twice when it arrived twice),
    and the report of each scripted file, by file name."""

    written: list[Path] = field(default_factory=list)
    faulty: dict[str, FaultyFile] = field(default_factory=dict)


def file_name(kind: str, insurer: str, file_date: str) -> str:
    return f"{kind}_{insurer}_{file_date.replace('-', '')}.csv"


def render(kind: str, rows: list[list[str]], encoding: str, complete: bool = True, trailer: int | None = None) -> bytes:
    """A file's bytes: header, rows, trailer (left off while the file is being written;
    ``trailer`` overrides the count it states)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS[kind])
    writer.writerows(rows)
    if not complete:  # cut off two thirds of the way, before the trailer
        text = buffer.getvalue()
        return text[: max(len(text) * 2 // 3, 1)].encode(encoding)
    writer.writerow(["合计", len(rows) if trailer is None else trailer])
    return buffer.getvalue().encode(encoding)


def correct(rows: list[list[str]], rng: random.Random) -> list[list[str]]:
    """A correction: the insurer fixes one row's amount."""
    return _corrected(rows, rng)[0]


def _corrected(rows: list[list[str]], rng: random.Random) -> tuple[list[list[str]], int]:
    fixed = [list(r) for r in rows]
    index = rng.randrange(len(fixed))
    row = fixed[index]
    amount_col = 8 if len(row) == len(POLICY_HEADER) else 5
    row[amount_col] = f"{float(row[amount_col]) + 100:.2f}"
    return fixed, index


# --- one version of a file, with or without a fault ------------------------------------------


@dataclass(frozen=True)
class _Version:
    rows: list[list[str]]
    trailer: int | None  # None: cut mid-file, no trailer
    damaged: tuple[DamagedLine, ...] = ()
    changed: tuple[int, ...] = ()


def _break(kind: str, row: list[str], reason: RejectReason) -> tuple[str | None, str | None]:
    """Damage ``row`` in place for ``reason``; returns (damaged column, its new value)."""
    if reason == "too_few_columns":
        del row[-3:]
        return None, None
    if reason == "too_many_columns":
        row.append(EXTRA_FIELD)
        return None, None
    column = DAMAGED_COLUMN[reason][kind]
    index = HEADERS[kind].index(column)
    if reason == "bad_date":  # an impossible date, in the format the field had
        value = "2026/13/45" if "/" in row[index] else "2026-13-45"
    else:
        value = {"bad_amount": "abc", "empty_key": "", "unknown_status": UNKNOWN_CLAIM_STATUS}[reason]
    row[index] = value
    return column, value


def _damage_rows(kind: str, rows: list[list[str]], reasons: tuple[RejectReason, ...], rng: random.Random) -> _Version:
    """Damage one distinct row per reason. A file with fewer rows than reasons gets
    copies of its rows appended first, so every fault always damages the same number
    of lines (tests can count rejects without looking at the file)."""
    padded = [list(r) for r in rows] + [list(rows[i % len(rows)]) for i in range(max(0, len(reasons) - len(rows)))]
    targets = rng.sample(range(len(padded)), len(reasons))
    damaged = []
    for index, reason in zip(targets, reasons, strict=False):
        column, value = _break(kind, padded[index], reason)
        damaged.append(DamagedLine(index + 2, reason, column, value))
    return _Version(padded, len(padded), tuple(sorted(damaged, key=lambda d: d.line_no)))


def _wrong_count(n: int, rng: random.Random) -> int:
    """A trailer count that is off by a little, never right and never negative."""
    return rng.choice([n + d for d in (1, 2, 3)] + [n - d for d in (1, 2) if n - d >= 0])


def _version(kind: str, rows: list[list[str]], fault: str | None, rng: random.Random) -> _Version:
    """The file as delivered with ``fault`` (None, ``redeliver``: the clean file)."""
    if fault in (None, "redeliver"):
        return _Version(rows, len(rows))
    if fault == "correction":
        fixed, index = _corrected(rows, rng)
        return _Version(fixed, len(fixed), changed=(index + 2,))
    if fault == "incomplete":
        return _Version(rows, None)
    if fault == "trailer_mismatch":
        return _Version(rows, _wrong_count(len(rows), rng))
    if fault in ROW_DAMAGES:
        return _damage_rows(kind, rows, ROW_DAMAGES[fault][kind], rng)
    raise ValueError(f"unknown file fault {fault!r}; faults: {', '.join(FILE_FAULTS)}")


def _bytes(kind: str, version: _Version, encoding: str) -> bytes:
    return render(kind, version.rows, encoding, complete=version.trailer is not None, trailer=version.trailer)


def _fault_rng(seed: int, name: str, fault: str | None) -> random.Random:
    """Each scripted file draws from its own generator: the damage to one file does not
    depend on which other files are delivered with it."""
    return random.Random(f"{seed}:{name}:{fault}")


# --- reading the world --------------------------------------------------------------------


def _clock_day(conn: sqlite3.Connection) -> str:
    return conn.execute("select value from meta where key = 'clock'").fetchone()[0][:10]


def _rows(conn: sqlite3.Connection, insurer: str, kind: str, file_date: str) -> list[list[str]]:
    return [
        json.loads(r[0])
        for r in conn.execute(
            "select fields from insurer_rows where insurer_code = ? and kind = ? and file_date = ? order by line_no",
            (insurer, kind, file_date),
        )
    ]


def list_files(world: Path, since: str | None = None, all_dates: bool = False) -> list[WorldFile]:
    """The files the world holds, dated before the clock (every file with ``all_dates``)
    and on/after ``since``, by date, insurer, kind: for a test to pick one to damage."""
    with sqlite3.connect(world) as conn:
        until = "9999-12-31" if all_dates else _clock_day(conn)
        return [
            WorldFile(*row)
            for row in conn.execute(
                "select insurer_code, kind, file_date, count(*) from insurer_rows"
                " where file_date < ? and file_date >= ? group by 1, 2, 3 order by 3, 1, 2",
                (until, since or ""),
            )
        ]


# --- delivering -----------------------------------------------------------------------------


def write_faulty_file(
    inbox: Path, insurer: str, kind: str, file_date: str | dt.date, fault: str | None, world: Path, seed: int = 0
) -> FaultyFile:
    """Deliver one of the world's files into ``inbox`` now (whatever the clock), with
    ``fault`` (None: clean). One call is one delivery: ``redeliver`` writes the clean
    bytes again and ``correction`` the corrected bytes, so a test delivers the file
    clean first, runs the extractor, then calls this again with the fault.
    Raises ``ValueError`` when the world has no such file."""
    day = file_date.isoformat() if isinstance(file_date, dt.date) else file_date
    with sqlite3.connect(world) as conn:
        encoding = conn.execute("select encoding from insurers where insurer_code = ?", (insurer,)).fetchone()
        rows = _rows(conn, insurer, kind, day)
    if encoding is None or not rows:
        raise ValueError(f"the world holds no {kind} file of {insurer} dated {day}")
    name = file_name(kind, insurer, day)
    version = _version(kind, rows, fault, _fault_rng(seed, name, fault))
    path = inbox / insurer / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_bytes(kind, version, encoding[0]))
    return FaultyFile(path, fault, encoding[0], len(version.rows), version.trailer, version.damaged, version.changed)


def deliver(world: Path, inbox: Path, faults: FileFaults = FileFaults(), since: str | None = None) -> Delivery:
    """Write every file dated before the clock (and on/after ``since``) into ``inbox``,
    with the faults asked for. Raises ``ValueError`` when a scripted name is not among
    the files of this drop (a typo would otherwise test nothing)."""
    rng = random.Random(faults.seed)
    delivery = Delivery()
    files = list_files(world, since)
    missing = set(faults.script) - {f.name for f in files}
    if missing:
        raise ValueError(f"scripted files not in this drop (dated before the clock, on/after since): {sorted(missing)}")
    latest = max((f.file_date for f in files), default=None)
    with sqlite3.connect(world) as conn:
        encodings = dict(conn.execute("select insurer_code, encoding from insurers"))
        for f in files:
            rows = _rows(conn, f.insurer, f.kind, f.file_date)
            path = inbox / f.insurer / f.name
            path.parent.mkdir(parents=True, exist_ok=True)
            if f.name in faults.script:
                report = _deliver_scripted(path, f.kind, rows, faults.script[f.name], encodings[f.insurer], faults.seed)
                delivery.written += [path] * report.deliveries
                delivery.faulty[f.name] = report
                continue
            complete = not (faults.incomplete_latest and f.file_date == latest)
            path.write_bytes(render(f.kind, rows, encodings[f.insurer], complete))
            delivery.written.append(path)
            if complete and rng.random() < faults.redeliver_rate:
                path.write_bytes(path.read_bytes())
                delivery.written.append(path)
            if complete and rng.random() < faults.correction_rate:
                path.write_bytes(render(f.kind, correct(rows, rng), encodings[f.insurer]))
                delivery.written.append(path)
    return delivery


def _deliver_scripted(path: Path, kind: str, rows: list[list[str]], fault: str, encoding: str, seed: int) -> FaultyFile:
    """A scripted file: re-deliveries and corrections arrive after a clean first delivery."""
    deliveries = 1
    if fault in ("redeliver", "correction"):
        path.write_bytes(render(kind, rows, encoding))
        deliveries = 2
    version = _version(kind, rows, fault, _fault_rng(seed, path.name, fault))
    path.write_bytes(_bytes(kind, version, encoding))
    return FaultyFile(
        path, fault, encoding, len(version.rows), version.trailer, version.damaged, version.changed, deliveries
    )


def drop_files(world: Path, inbox: Path, faults: FileFaults = FileFaults(), since: str | None = None) -> list[Path]:
    """Write every file dated before the clock (and on/after ``since``) into ``inbox``.
    Returns the paths written (re-deliveries and corrections included)."""
    return deliver(world, inbox, faults, since).written
