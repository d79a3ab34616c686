"""The insurers' daily file drop (feeds.md §2), written from the world into an inbox:
``<inbox>/<insurer>/<POLICY|CLAIM>_<insurer>_<YYYYMMDD>.csv``, in the insurer's encoding,
CRLF, Chinese header, the ``合计,<N>`` trailer. A file is dropped once its day is before
the world's clock. The faults insurers really show can be switched on: re-delivery of
identical bytes, a correction (the same name, different bytes), and a file still being
written (no trailer yet)."""

from __future__ import annotations

import csv
import io
import json
import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from baoke.simulator.insurance import CLAIM_HEADER, POLICY_HEADER

HEADERS = {"POLICY": POLICY_HEADER, "CLAIM": CLAIM_HEADER}


@dataclass(frozen=True)
class FileFaults:
    """Per-file probabilities (deterministic for ``seed``)."""

    redeliver_rate: float = 0.0  # the same bytes arrive again
    correction_rate: float = 0.0  # a corrected version replaces the file (one row changed)
    incomplete_latest: bool = False  # the newest day's files are still being written
    seed: int = 0


def file_name(kind: str, insurer: str, file_date: str) -> str:
    return f"{kind}_{insurer}_{file_date.replace('-', '')}.csv"


def render(kind: str, rows: list[list[str]], encoding: str, complete: bool = True) -> bytes:
    """A file's bytes: header, rows, trailer (left off while the file is being written)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS[kind])
    writer.writerows(rows)
    if not complete:  # cut off two thirds of the way, before the trailer
        text = buffer.getvalue()
        return text[: max(len(text) * 2 // 3, 1)].encode(encoding)
    writer.writerow(["合计", len(rows)])
    return buffer.getvalue().encode(encoding)


def correct(rows: list[list[str]], rng: random.Random) -> list[list[str]]:
    """A correction: the insurer fixes one row's amount."""
    fixed = [list(r) for r in rows]
    row = fixed[rng.randrange(len(fixed))]
    amount_col = 8 if len(row) == len(POLICY_HEADER) else 5
    row[amount_col] = f"{float(row[amount_col]) + 100:.2f}"
    return fixed


def drop_files(world: Path, inbox: Path, faults: FileFaults = FileFaults(), since: str | None = None) -> list[Path]:
    """Write every file dated before the clock (and on/after ``since``) into ``inbox``.
    Returns the paths written (re-deliveries and corrections included)."""
    rng = random.Random(faults.seed)
    written: list[Path] = []
    with sqlite3.connect(world) as conn:
        clock_day = conn.execute("select value from meta where key = 'clock'").fetchone()[0][:10]
        encodings = dict(conn.execute("select insurer_code, encoding from insurers"))
        files = conn.execute(
            "select insurer_code, kind, file_date from insurer_rows where file_date < ? and file_date >= ?"
            " group by 1, 2, 3 order by 3, 1, 2", (clock_day, since or "")).fetchall()
        latest = max((f[2] for f in files), default=None)
        for insurer, kind, file_date in files:
            rows = [json.loads(r[0]) for r in conn.execute(
                "select fields from insurer_rows where insurer_code = ? and kind = ? and file_date = ? order by line_no",
                (insurer, kind, file_date))]
            path = inbox / insurer / file_name(kind, insurer, file_date)
            path.parent.mkdir(parents=True, exist_ok=True)
            complete = not (faults.incomplete_latest and file_date == latest)
            path.write_bytes(render(kind, rows, encodings[insurer], complete))
            written.append(path)
            if complete and rng.random() < faults.redeliver_rate:
                path.write_bytes(path.read_bytes())
                written.append(path)
            if complete and rng.random() < faults.correction_rate:
                path.write_bytes(render(kind, correct(rows, rng), encodings[insurer]))
                written.append(path)
    return written
