"""The insurers' daily file drop (docs/feeds.md §2), written from the world into an inbox:
``<inbox>/<insurer>/<POLICY|CLAIM>_<insurer>_<YYYYMMDD>.csv``, in the insurer's encoding,
CRLF, Chinese header, the ``合计,<N>`` trailer. A file is dropped once its day is before
the world's clock.

The faults insurers really show can be produced on demand (``file_faults``: re-sent
under the same or another name, corrected, incomplete, a wrong trailer, missing, empty,
short, ragged, malformed or stray-quoted rows, a renamed or an extra column): at random
rates (``FileFaults``), scripted for named files
(``FileFaults(script={"POLICY_PICC_20261120.csv": "trailer_mismatch"})``), or one file at
a time (``write_faulty_file``). Each faulty file reports exactly what was done to it
(``FaultyFile``), so tests can assert exact outcomes.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from baoke_sim.file_faults import (
    FILE_FAULTS,
    NO_FAULTS,
    DamagedLine,
    FaultyFile,
    FileFaults,
    FileShape,
    RejectReason,
    Version,
    faulty_version,
    write_file,
)
from baoke_sim.file_faults import render as render_version
from baoke_sim.insurance import CLAIM_HEADER, POLICY_HEADER

__all__ = ["FILE_FAULTS", "DamagedLine", "FaultyFile", "FileFaults", "RejectReason"]

#: How each kind of insurer file is written, and what its faults damage.
SHAPES: dict[str, FileShape] = {
    "POLICY": FileShape(
        "POLICY",
        tuple(POLICY_HEADER),
        trailer=True,
        text_column="被保险人",
        corrected="保费",
        renamed=("联系电话", "手机号码"),
        extra=("业务员", "王强"),
        malformed={"bad_date": "起保日期", "bad_amount": "保费", "empty_key": "保单号"},
    ),
    "CLAIM": FileShape(
        "CLAIM",
        tuple(CLAIM_HEADER),
        trailer=True,
        text_column="维修单位代码",
        corrected="定损金额",
        renamed=("维修单位代码", "修理厂代码"),
        extra=("查勘员", "李明"),
        malformed={
            "bad_date": "出险日期",
            "bad_amount": "定损金额",
            "empty_key": "报案号",
            "unknown_status": "案件状态",
        },
    ),
}
HEADERS = {kind: list(shape.header) for kind, shape in SHAPES.items()}


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
    and the report of each faulty file (scripted or drawn), by file name."""

    written: list[Path] = field(default_factory=list)
    faulty: dict[str, FaultyFile] = field(default_factory=dict)


def file_name(kind: str, insurer: str, file_date: str) -> str:
    return f"{kind}_{insurer}_{file_date.replace('-', '')}.csv"


def render(kind: str, rows: list[list[str]], encoding: str, complete: bool = True, trailer: int | None = None) -> bytes:
    """A file's bytes: header, rows, trailer (left off while the file is being written;
    ``trailer`` overrides the count it states)."""
    counted = len(rows) if trailer is None else trailer
    return render_version(Version(SHAPES[kind].header, rows, counted, cut=not complete), encoding)


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
    bytes again, ``resent_renamed`` them under the next ``RESENT<n>`` name, and
    ``correction`` the corrected bytes, so a test delivers the file clean first, runs
    the extractor, then calls this again with the fault; ``missing`` writes nothing.
    Raises ``ValueError`` when the world has no such file."""
    day = file_date.isoformat() if isinstance(file_date, dt.date) else file_date
    with sqlite3.connect(world) as conn:
        encoding = conn.execute("select encoding from insurers where insurer_code = ?", (insurer,)).fetchone()
        rows = _rows(conn, insurer, kind, day)
    if encoding is None or not rows:
        raise ValueError(f"the world holds no {kind} file of {insurer} dated {day}")
    path = inbox / insurer / file_name(kind, insurer, day)
    return write_file(path, SHAPES[kind], rows, fault, encoding[0], seed, first=False)


def deliver(world: Path, inbox: Path, faults: FileFaults = NO_FAULTS, since: str | None = None) -> Delivery:
    """Write every file dated before the clock (and on/after ``since``) into ``inbox``,
    with the faults asked for. Every draw is the file's own (``FileFaults``), so a drop
    repeated with a later ``since`` writes the same bytes for the files both hold.
    Raises ``ValueError`` when a scripted name is not among the files of this drop (a
    typo would otherwise test nothing)."""
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
            fault = faults.pick(f.name, SHAPES[f.kind])
            if fault is None and faults.incomplete_latest and f.file_date == latest:
                fault = "incomplete"
            if fault is not None:
                report = write_file(path, SHAPES[f.kind], rows, fault, encodings[f.insurer], faults.seed, first=True)
                if report.deliveries:  # the last delivery went to report.path (a renamed re-send)
                    delivery.written += [path] * (report.deliveries - 1) + [report.path]
                delivery.faulty[f.name] = report
                continue
            _deliver_clean(path, f.kind, rows, encodings[f.insurer], faults, delivery)
    return delivery


def _deliver_clean(
    path: Path, kind: str, rows: list[list[str]], encoding: str, faults: FileFaults, delivery: Delivery
) -> None:
    """A file without a fault of its own, perhaps delivered twice or corrected (the
    ``*_rate`` draws, the file's own)."""
    rng = faults.draws(path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render(kind, rows, encoding))
    delivery.written.append(path)
    if rng.random() < faults.redeliver_rate:
        path.write_bytes(path.read_bytes())
        delivery.written.append(path)
    if rng.random() < faults.correction_rate:
        path.write_bytes(render(kind, correct(kind, rows, rng), encoding))
        delivery.written.append(path)


def correct(kind: str, rows: list[list[str]], rng: random.Random) -> list[list[str]]:
    """A correction: the insurer fixes one row's amount."""
    return faulty_version(SHAPES[kind], rows, "correction", rng).rows


def drop_files(world: Path, inbox: Path, faults: FileFaults = NO_FAULTS, since: str | None = None) -> list[Path]:
    """Write every file dated before the clock (and on/after ``since``) into ``inbox``.
    Returns the paths written (re-deliveries and corrections included)."""
    return deliver(world, inbox, faults, since).written
