"""Checking that a wrong day can be rebuilt: after a replay, each day's lists come out of
a rebuild from scratch byte for byte (issue: the outreach engine over an explicit history).

The outreach keeps no hidden state: what was listed before is the export's log
(``etl.outreach_log``), and staging is computed as of D from raw. So for each replayed
day D, ``dbt build --full-refresh`` for D followed by the export of every dealer into a
scratch folder must write exactly the files the replay delivered for D. The check
writes nothing but the rebuild: the files are rendered in memory (``outbound.dealer_files``)
and the log, the sent calls and the hold reports are left as the replay recorded them. A
dealer the replay held on D is reported, not compared (whether a dealer is held is read
from the extraction as it stands now). Days are rebuilt in order, so checking up to the
newest replayed day leaves the warehouse as of that day, with the marts' day-by-day
history (`why_not_called`) complete again from the log.

    baoke simulate rebuild-check --start 2026-10-20 --days 14
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

from baoke import outbound
from baoke.config import get_settings
from baoke.dbt import run_dbt


@dataclass
class DayRebuild:
    """What the rebuild of one day wrote, against what was delivered."""

    business_date: dt.date
    identical: list[str] = field(default_factory=list)  # <dealer>/<file> with the same bytes
    different: list[str] = field(default_factory=list)  # same name, other bytes
    missing: list[str] = field(default_factory=list)  # delivered, not rewritten
    extra: list[str] = field(default_factory=list)  # rewritten, never delivered
    held: list[str] = field(default_factory=list)  # dealers held on D by the replay: not compared

    @property
    def reproduced(self) -> bool:
        return bool(self.identical) and not (self.different or self.missing or self.extra)

    def line(self) -> str:
        held = f" ({len(self.held)} held dealers not compared)" if self.held else ""
        if self.reproduced:
            return f"{self.business_date}: {len(self.identical)} files identical{held}"
        problems = [
            f"{label} {', '.join(names)}"
            for label, names in (("different:", self.different), ("missing:", self.missing), ("extra:", self.extra))
            if names
        ]
        return f"{self.business_date}: {len(self.identical)} files identical; " + "; ".join(problems)


def _delivered(folder: Path) -> dict[str, bytes]:
    """``<dealer>/<file>`` -> bytes of every file in a day's outbound folder."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _build_from_scratch(url: str, day: dt.date, dbt_dir: Path) -> None:
    arguments = [
        "build",
        "--full-refresh",
        "--quiet",
        "--exclude-resource-type",
        "unit_test",
        "--exclude-resource-type",
        "test",
        "--vars",
        json.dumps({"business_date": day.isoformat()}),
        "--target-path",
        str(dbt_dir / "target"),
        "--log-path",
        str(dbt_dir / "logs"),
    ]
    if not run_dbt(arguments, url):
        raise RuntimeError(f"dbt build --full-refresh failed for {day}: see {dbt_dir / 'logs' / 'dbt.log'}")


def rebuild_day(url: str, day: dt.date, delivered: Path, dbt_dir: Path) -> DayRebuild:
    """Rebuild D from scratch, render every dealer's files and compare them with those
    delivered for D (``delivered`` is the outbound location's root)."""
    _build_from_scratch(url, day, dbt_dir)
    before = _delivered(delivered / day.isoformat())
    held = {
        name.split("/")[0]
        for name, data in before.items()
        if name.endswith("/" + outbound.MANIFEST_NAME) and json.loads(data).get("status") == "held"
    }
    rebuilt: dict[str, bytes] = {}
    with contextlib.closing(psycopg2.connect(url)) as conn:
        for dealer_code in sorted(set(outbound.dealers(conn, day)) - held):
            files = outbound.dealer_files(conn, day, dealer_code)
            for name, data in {**files.files, outbound.MANIFEST_NAME: files.manifest_bytes}.items():
                rebuilt[f"{dealer_code}/{name}"] = data
    result = DayRebuild(day, held=sorted(held))
    for name in sorted(before.keys() | rebuilt.keys()):
        if name.split("/")[0] in held:
            continue
        if name not in rebuilt:
            result.missing.append(name)
        elif name not in before:
            result.extra.append(name)
        elif before[name] == rebuilt[name]:
            result.identical.append(name)
        else:
            result.different.append(name)
    return result


def rebuild_check(days: Sequence[dt.date]) -> list[DayRebuild]:
    """Rebuild each of ``days`` from scratch, in order, and compare its files with those
    delivered (``OUTBOUND_DIR``, a local folder)."""
    from baoke.warehouse import resolve_warehouse

    settings = get_settings()
    url = resolve_warehouse()
    delivered = Path(settings.folder("OUTBOUND_DIR"))
    dbt_dir = settings.state_dir / "rebuild-dbt"
    results = []
    for day in sorted(days):
        result = rebuild_day(url, day, delivered, dbt_dir)
        print(result.line(), flush=True)
        results.append(result)
    return results
