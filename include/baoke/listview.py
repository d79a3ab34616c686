"""``baoke lists --date D [--dealer X]``: a day's call-center lists in the terminal, for a
quick look by the call-center manager (客服经理) before the agents start.

It reads the files that were delivered under ``OUTBOUND_DIR`` (a folder or an ``sftp://``
location), not the warehouse: what the manager checks is what the call center received,
byte for byte, and the files can be read where no warehouse connection is configured.
Each file is checked against its manifest's sha256, so a folder that changed since its
delivery (or one still being written: no manifest) says so instead of being shown as
delivered.

Per dealer: the rows of each list, then the rows per primary reason and per queue (the
codes with their Chinese labels, as in the files), then the call list itself as a table,
in file order (priority, advisor, customer). Mobiles are shown with their middle four
digits masked: a terminal is read over shoulders and kept in scrollback; the files have
them in full.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from baoke import outbound
from baoke.filedrop import FileDrop, open_drop

#: The list files in the order they are shown (the CSVs; the XLSX twins have the same rows).
LIST_LABELS = {"call": "call list 外呼", "sms": "SMS list 短信", "exception": "exceptions 异常"}

#: The call list's columns shown in the table: (column, heading).
CALL_TABLE = (
    ("advisor_name", "顾问 advisor"),
    ("queue_zh", "队列 queue"),
    ("customer_name", "客户 customer"),
    ("mobile", "手机 mobile"),
    ("plate_no", "车牌 plate"),
    ("model", "车型 model"),
    ("primary_reason_zh", "原因 reason"),
    ("other_reasons_zh", "其他 other"),
    ("due_date", "日期 due"),
    ("attempt_no", "次 try"),
    ("preferred_slot_zh", "时段 slot"),
)


@dataclass
class DealerLists:
    """One dealer's folder for D, as read back."""

    dealer_code: str
    manifest: dict[str, Any] | None  # None: no manifest (not delivered yet)
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # list_type -> CSV rows
    problems: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.manifest is None:
            return "incomplete (no manifest.json)"
        if self.manifest.get("status") == "held":
            return f"held — {self.manifest.get('held_because')}"
        return "delivered" if not self.problems else "damaged"


def mask_mobile(mobile: str) -> str:
    """``13800138000`` -> ``138****8000``; anything else as it is."""
    return f"{mobile[:3]}****{mobile[7:]}" if len(mobile) == 11 and mobile.isdigit() else mobile


def _read_dealer(drop: FileDrop, business_date: dt.date, dealer_code: str) -> DealerLists:
    folder = outbound.dealer_folder(business_date, dealer_code)
    manifest_path = f"{folder}/{outbound.MANIFEST_NAME}"
    if not drop.exists(manifest_path):
        return DealerLists(dealer_code, None)
    manifest = json.loads(drop.read_bytes(manifest_path))
    found = DealerLists(dealer_code, manifest)
    for entry in manifest.get("files", []):
        if entry.get("format", "csv") != "csv":
            continue
        data = drop.read_bytes(f"{folder}/{entry['name']}") if drop.exists(f"{folder}/{entry['name']}") else None
        if data is None:
            found.problems.append(f"{entry['name']} is missing")
            continue
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            found.problems.append(f"{entry['name']} differs from what its manifest vouches for")
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        found.rows[entry["list_type"]] = list(reader)
    return found


def read_day(location: str, business_date: dt.date, dealer_code: str | None = None) -> tuple[str, list[DealerLists]]:
    """(D's folder without credentials, each dealer's lists, by dealer code)."""
    day = business_date.isoformat()
    with contextlib.closing(open_drop(location)) as drop:
        codes = drop.folders(day)
        if dealer_code is not None:
            codes = [c for c in codes if c == dealer_code]
        return f"{drop.location.rstrip('/')}/{day}", [_read_dealer(drop, business_date, c) for c in codes]


def _labelled(rows: list[dict[str, str]], column: str) -> list[tuple[str, int]]:
    """(``CODE 中文``, rows) per value of ``column``, most frequent first."""
    counts = Counter(
        " ".join(part for part in (row.get(column) or "(none)", row.get(f"{column}_zh") or "") if part) for row in rows
    )
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _counts_table(lists: DealerLists) -> Table:
    table = Table(title="rows per list, reason and queue", title_justify="left", show_lines=False)
    table.add_column("list")
    table.add_column("rows", justify="right")
    table.add_column("by primary reason 主要原因")
    table.add_column("by queue 队列")
    for list_type, label in LIST_LABELS.items():
        rows = lists.rows.get(list_type, [])
        by_reason = ", ".join(f"{name} {n}" for name, n in _labelled(rows, "primary_reason"))
        by_queue = ", ".join(f"{name} {n}" for name, n in _labelled(rows, "queue")) if list_type == "call" else ""
        table.add_row(label, str(len(rows)), by_reason, by_queue)
    return table


def _call_table(lists: DealerLists) -> Table:
    calls = lists.rows.get("call", [])
    table = Table(title=f"call list {lists.dealer_code} ({len(calls)} rows)", title_justify="left")
    table.add_column("#", justify="right")
    for _, heading in CALL_TABLE:
        table.add_column(heading, overflow="fold")
    for n, row in enumerate(calls, start=1):
        cells = [mask_mobile(row.get(c, "")) if c == "mobile" else row.get(c, "") for c, _ in CALL_TABLE]
        table.add_row(str(n), *cells)
    return table


def show(console: Console, where: str, business_date: dt.date, dealers: list[DealerLists]) -> None:
    """Print D's lists, dealer after dealer."""
    console.print(f"lists for {business_date.isoformat()} in {where}", highlight=False)
    for lists in dealers:
        console.print()
        run_id = (lists.manifest or {}).get("run_id")
        console.print(
            f"[bold]{lists.dealer_code}[/bold]: {lists.status}" + (f" (run {run_id})" if run_id else ""),
            highlight=False,
        )
        for problem in lists.problems:
            console.print(f"  [red]{problem}[/red]", highlight=False)
        if lists.manifest is None or lists.manifest.get("status") == "held":
            continue
        console.print(_counts_table(lists))
        if lists.rows.get("call"):
            console.print(_call_table(lists))
