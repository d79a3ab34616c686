"""What goes wrong with a delivered CSV file (docs/feeds.md §2, §4, §5), for the simulated
insurers (``insurer_files``) and call center (``callcenter``) to do on demand, so that an
extractor's skip / supersede / reject / report paths are exercised by tests, not first
met in production:

- ``redeliver``: the same bytes arrive again under the same name (to a reader of the
  inbox, the same as reading it again);
- ``resent_renamed``: the same bytes arrive again under another name
  (``<KIND>_<sender>_RESENT<n>_<YYYYMMDD>.csv``): a re-delivery;
- ``correction``: the same name with different bytes (one row changed);
- ``incomplete``: the file is still being written (cut mid-file, no trailer);
- ``trailer_mismatch``: ``合计,N`` with the wrong N;
- ``missing``: the file never arrives (a day without a file);
- ``empty``: the header (and ``合计,0``) and no data row;
- ``short``: a tenth of the rows, far fewer than the sender's usual;
- ``ragged_row``: one row with too few columns, one with too many;
- ``malformed_row``: rows with an unparseable date, a non-numeric amount, an empty key
  and, in claim files, an unknown 案件状态;
- ``stray_quote``: one line with a quote inside an unquoted field (``张"伟``), one with a
  quoted field never closed (which a tolerant CSV reader would let swallow every line
  after it);
- ``renamed_column``: a contract column under another name in the header (every row
  lacks the field; the new name is a column nobody announced);
- ``extra_column``: a column the contract does not name, on every row;
- ``without_v2``: the columns version 2 of the contract added left out (a sender not
  upgraded yet: still valid).

Which faults a kind of file can have depends on its ``FileShape`` (a call-center file has
no trailer to get wrong, an insurer file no version-2 columns). Faults come at random
rates, scripted for named files, or one file at a time; each reports exactly what it did
(``FaultyFile``: the damaged lines and why, the columns a loader must report), so tests
can assert exact outcomes.
"""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

FileFault = Literal[
    "redeliver",
    "resent_renamed",
    "correction",
    "incomplete",
    "trailer_mismatch",
    "missing",
    "empty",
    "short",
    "ragged_row",
    "malformed_row",
    "stray_quote",
    "renamed_column",
    "extra_column",
    "without_v2",
]
#: Every fault a file can be given.
FILE_FAULTS: tuple[str, ...] = get_args(FileFault)

#: Why a damaged line must be rejected (``DamagedLine.reason``).
RejectReason = Literal[
    "too_few_columns",
    "too_many_columns",
    "bad_date",
    "bad_amount",
    "empty_key",
    "unknown_status",
    "stray_quote",
    "unterminated_quote",
    "missing_column",
]
EXTRA_FIELD = "备注:客户要求更换发票抬头"  # the stray column of a too-long row
TRAILER_LABEL = "合计"
#: A ``short`` file keeps this share of its rows (at least one).
SHORT_SHARE = 0.1
_RAW = "@@raw@@"  # stands for a field written as is, unquoted (a stray quote)


@dataclass(frozen=True)
class FileShape:
    """How one kind of file is written, and what its faults damage."""

    kind: str  # POLICY, CLAIM, OUTCOMES: the first part of the file name
    header: tuple[str, ...]
    trailer: bool  # ends with 合计,<rows>
    text_column: str  # free text, where a stray quote goes
    corrected: str  # the column a correction changes (an amount: +100; text: marked)
    renamed: tuple[str, str]  # renamed_column: (contract column, the sender's new name for it)
    extra: tuple[str, str]  # extra_column: (a column nobody announced, its value)
    malformed: Mapping[RejectReason, str] = field(default_factory=dict)  # malformed_row: reason -> column
    optional: tuple[str, ...] = ()  # without_v2: the columns left out

    @property
    def faults(self) -> tuple[str, ...]:
        """The faults a file of this shape can be given."""
        excluded = set()
        if not self.trailer:
            excluded |= {"incomplete", "trailer_mismatch"}
        if not self.malformed:
            excluded.add("malformed_row")
        if not self.optional:
            excluded.add("without_v2")
        return tuple(f for f in FILE_FAULTS if f not in excluded)


@dataclass(frozen=True)
class FileFaults:
    """Which files go wrong: per-file probabilities (deterministic for ``seed`` and the
    file's name, whichever other files are delivered with it), and ``script``, faults for
    named files (``{"CLAIM_PICC_20261120.csv": "malformed_row"}``), which take the place
    of the random draws for those files. ``rate`` gives that share of the files one of
    ``kinds`` (default: every fault the file's kind can have) at random."""

    redeliver_rate: float = 0.0  # the same bytes arrive again
    correction_rate: float = 0.0  # a corrected version replaces the file (one row changed)
    incomplete_latest: bool = False  # the newest day's files are still being written
    seed: int = 0
    script: Mapping[str, str] = field(default_factory=dict)
    rate: float = 0.0
    kinds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = {name: kind for name, kind in self.script.items() if kind not in FILE_FAULTS}
        unknown |= {kind: kind for kind in self.kinds if kind not in FILE_FAULTS}
        if unknown:
            raise ValueError(f"unknown file faults {unknown}; faults: {', '.join(FILE_FAULTS)}")

    def pick(self, name: str, shape: FileShape) -> str | None:
        """The fault of file ``name``: scripted, else drawn at ``rate``, else None."""
        if name in self.script:
            return self.script[name]
        if not self.rate:
            return None
        rng = random.Random(f"{self.seed}:{name}:fault")
        kinds = [k for k in (self.kinds or shape.faults) if k in shape.faults]
        return rng.choice(kinds) if kinds and rng.random() < self.rate else None

    def draws(self, name: str) -> random.Random:
        """The generator of one file's re-delivery and correction draws."""
        return random.Random(f"{self.seed}:{name}")


@dataclass(frozen=True)
class DamagedLine:
    """One line a correct loader rejects. ``line_no`` is 1-based in the file as written:
    the header is line 1, data row ``i`` (0-based) is line ``i + 2`` (no field holds a
    line break, so lines and CSV records coincide)."""

    line_no: int
    reason: RejectReason
    column: str | None = None  # the damaged field's header; None for a ragged row
    value: str | None = None  # what that field holds now (as written, for a stray quote)


@dataclass(frozen=True)
class FaultyFile:
    """What a delivery of one file holds, for tests to assert exact outcomes.

    ``path`` is where this delivery's bytes went (a renamed re-send: the new name).
    ``data_rows`` counts the data lines of the file as complete (damaged ones included;
    for an ``incomplete`` file, what the finished file will hold). ``trailer`` is the N
    of ``合计,N``, None when the file has none. A file is loadable only when
    ``complete``; then ``good_rows`` load and the ``damaged`` lines are rejected.
    ``unannounced`` are the header's columns the contract does not name."""

    path: Path
    fault: str | None
    encoding: str
    data_rows: int
    trailer: int | None
    damaged: tuple[DamagedLine, ...] = ()
    changed_lines: tuple[int, ...] = ()  # a correction: lines that differ from the first delivery
    deliveries: int = 1  # files written by this call (2: re-delivery, renamed re-send, correction; 0: missing)
    header: tuple[str, ...] = ()
    unannounced: tuple[str, ...] = ()
    trailered: bool = True  # the kind of file ends with a trailer

    @property
    def complete(self) -> bool:
        return self.deliveries > 0 and (not self.trailered or self.trailer == self.data_rows)

    @property
    def good_rows(self) -> int:
        return self.data_rows - len(self.damaged) if self.complete else 0

    @property
    def rejected_rows(self) -> int:
        return len(self.damaged) if self.complete else 0


#: No fault at all (a default argument).
NO_FAULTS = FileFaults()


# --- one version of a file, with or without a fault ------------------------------------------


@dataclass(frozen=True)
class Version:
    """A file's content before it is written."""

    header: tuple[str, ...]
    rows: list[list[str]]
    trailer: int | None  # the N of its 合计 line; None: no trailer line
    cut: bool = False  # still being written: cut off two thirds of the way
    raw: Mapping[int, tuple[int, str]] = field(default_factory=dict)  # row -> (column, text written as is)
    damaged: tuple[DamagedLine, ...] = ()
    changed: tuple[int, ...] = ()
    unannounced: tuple[str, ...] = ()


def clean(shape: FileShape, rows: list[list[str]]) -> Version:
    return Version(shape.header, rows, len(rows) if shape.trailer else None)


def _bad_value(reason: RejectReason, current: str) -> str:
    if reason == "bad_date":  # an impossible date, in the format the field had
        return "2026/13/45" if "/" in current else "2026-13-45"
    return {"bad_amount": "abc", "empty_key": "", "unknown_status": "已注销"}[reason]


def _quote_damage(value: str, reason: RejectReason) -> str:
    """A field as written with a stray quote: inside it, or opening it and never closed."""
    value = value or "无"
    return f'{value[:1]}"{value[1:]}' if reason == "stray_quote" else f'"{value}'


def _damage_rows(
    shape: FileShape, rows: list[list[str]], reasons: tuple[RejectReason, ...], rng: random.Random
) -> Version:
    """Damage one distinct row per reason. A file with fewer rows than reasons gets
    copies of its rows appended first, so every fault always damages the same number
    of lines (tests can count rejects without looking at the file)."""
    padded = [list(r) for r in rows] + [list(rows[i % len(rows)]) for i in range(max(0, len(reasons) - len(rows)))]
    targets = rng.sample(range(len(padded)), len(reasons))
    damaged, raw = [], {}
    for index, reason in zip(targets, reasons, strict=True):
        row = padded[index]
        column: str | None = None
        value: str | None = None
        if reason == "too_few_columns":
            del row[-3:]
        elif reason == "too_many_columns":
            row.append(EXTRA_FIELD)
        elif reason in ("stray_quote", "unterminated_quote"):
            column = shape.text_column
            position = shape.header.index(column)
            value = _quote_damage(row[position], reason)
            raw[index] = (position, value)
        else:
            column = shape.malformed[reason]
            position = shape.header.index(column)
            value = row[position] = _bad_value(reason, row[position])
        damaged.append(DamagedLine(index + 2, reason, column, value))
    return Version(
        shape.header,
        padded,
        len(padded) if shape.trailer else None,
        raw=raw,
        damaged=tuple(sorted(damaged, key=lambda d: d.line_no)),
    )


def _corrected(shape: FileShape, rows: list[list[str]], rng: random.Random) -> tuple[list[list[str]], int]:
    """The sender fixes one row: an amount raised by 100, or a text marked corrected."""
    fixed = [list(r) for r in rows]
    index = rng.randrange(len(fixed))
    position = shape.header.index(shape.corrected)
    value = fixed[index][position]
    try:
        fixed[index][position] = f"{float(value) + 100:.2f}"
    except ValueError:
        fixed[index][position] = f"{value} 已更正"
    return fixed, index


def _wrong_count(n: int, rng: random.Random) -> int:
    """A trailer count that is off by a little, never right and never negative."""
    return rng.choice([n + d for d in (1, 2, 3)] + [n - d for d in (1, 2) if n - d >= 0])


def _columns_changed(shape: FileShape, rows: list[list[str]], fault: str) -> Version:
    """The header changed: a column renamed, one added, or the version-2 ones left out."""
    header, trailer = list(shape.header), len(rows) if shape.trailer else None
    if fault == "renamed_column":
        old, new = shape.renamed
        header[header.index(old)] = new
        damaged = tuple(DamagedLine(i + 2, "missing_column", old) for i in range(len(rows)))
        return Version(tuple(header), rows, trailer, damaged=damaged, unannounced=(new,))
    if fault == "extra_column":
        name, value = shape.extra
        return Version((*header, name), [[*r, value] for r in rows], trailer, unannounced=(name,))
    keep = [i for i, name in enumerate(header) if name not in shape.optional]
    return Version(tuple(header[i] for i in keep), [[r[i] for i in keep] for r in rows], trailer)


_ROW_DAMAGES: dict[str, tuple[RejectReason, ...]] = {
    "ragged_row": ("too_few_columns", "too_many_columns"),
    "stray_quote": ("stray_quote", "unterminated_quote"),
}


def faulty_version(shape: FileShape, rows: list[list[str]], fault: str | None, rng: random.Random) -> Version:
    """The file as delivered with ``fault`` (None, ``redeliver``, ``resent_renamed``: the
    clean file). Raises ``ValueError`` for a fault this kind of file cannot have."""
    if fault in (None, "redeliver", "resent_renamed", "missing"):
        return clean(shape, rows)
    if fault not in shape.faults:
        can = ", ".join(shape.faults)
        raise ValueError(f"{shape.kind} files cannot have the fault {fault!r}; they can have: {can}")
    if not rows and fault in ("correction", "malformed_row", *_ROW_DAMAGES):
        return clean(shape, rows)  # a file without data rows (nothing listed that day) has none to change
    if fault == "correction":
        fixed, index = _corrected(shape, rows, rng)
        return Version(shape.header, fixed, len(fixed) if shape.trailer else None, changed=(index + 2,))
    if fault == "incomplete":
        return Version(shape.header, rows, None, cut=True)
    if fault == "trailer_mismatch":
        return Version(shape.header, rows, _wrong_count(len(rows), rng))
    if fault in ("empty", "short"):
        kept = rows[: max(1, int(len(rows) * SHORT_SHARE))] if fault == "short" else []
        return clean(shape, kept)
    if fault in _ROW_DAMAGES:
        return _damage_rows(shape, rows, _ROW_DAMAGES[fault], rng)
    if fault == "malformed_row":
        return _damage_rows(shape, rows, tuple(shape.malformed), rng)
    return _columns_changed(shape, rows, fault)


def csv_text(
    header: tuple[str, ...] | list[str], rows: list[list[str]], raw: Mapping[int, tuple[int, str]] | None = None
) -> str:
    """Header and rows as RFC 4180 text (CRLF); ``raw`` fields are written as is."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    raw = raw or {}
    for index, row in enumerate(rows):
        if index not in raw:
            writer.writerow(row)
            continue
        position, text = raw[index]
        line = io.StringIO()
        csv.writer(line, lineterminator="\r\n").writerow([*row[:position], _RAW, *row[position + 1 :]])
        buffer.write(line.getvalue().replace(_RAW, text))
    return buffer.getvalue()


def render(version: Version, encoding: str) -> bytes:
    """A version's bytes: header, rows, then the trailer, or cut short while being written."""
    text = csv_text(version.header, version.rows, version.raw)
    if version.cut:  # cut off two thirds of the way, before the trailer
        return text[: max(len(text) * 2 // 3, 1)].encode(encoding)
    if version.trailer is not None:
        text += f"{TRAILER_LABEL},{version.trailer}\r\n"
    return text.encode(encoding)


def fault_rng(seed: int, name: str, fault: str | None) -> random.Random:
    """Each faulty file draws from its own generator: the damage to one file does not
    depend on which other files are delivered with it."""
    return random.Random(f"{seed}:{name}:{fault}")


_DATE_PART = re.compile(r"_(\d{8}\.csv)$")


def resent_path(path: Path, first: bool) -> Path:
    """Where a renamed re-send of ``path`` goes: ``..._RESENT<n>_<YYYYMMDD>.csv``, n = 1
    for a drop (written again by the next drop, as the file itself is), else the next
    free n (each call one more re-send)."""
    n = 1
    while not first and path.with_name(_DATE_PART.sub(rf"_RESENT{n}_\1", path.name)).exists():
        n += 1
    return path.with_name(_DATE_PART.sub(rf"_RESENT{n}_\1", path.name))


def write_file(
    path: Path, shape: FileShape, rows: list[list[str]], fault: str | None, encoding: str, seed: int, first: bool
) -> FaultyFile:
    """Deliver one file at ``path`` with ``fault``. With ``first`` (a drop: the file was
    not there yet), a re-delivery, a renamed re-send and a correction come after a clean
    first delivery; without (one call, one delivery), only the faulty delivery is made:
    the clean bytes again, the renamed copy, the corrected bytes."""
    version = faulty_version(shape, rows, fault, fault_rng(seed, path.name, fault))
    target, deliveries = path, 0
    if fault != "missing":
        path.parent.mkdir(parents=True, exist_ok=True)
        if first and fault in ("redeliver", "resent_renamed", "correction"):
            path.write_bytes(render(clean(shape, rows), encoding))
            deliveries += 1
        if fault == "resent_renamed":
            target = resent_path(path, first)
        target.write_bytes(render(version, encoding))
        deliveries += 1
    return FaultyFile(
        target,
        fault,
        encoding,
        len(version.rows),
        version.trailer,
        version.damaged,
        version.changed,
        deliveries,
        version.header,
        version.unannounced,
        shape.trailer,
    )
