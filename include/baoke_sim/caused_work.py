"""What a visit the call center caused does besides the service: the recall it was
called about (RECALL_OPEN) is remedied on it, the declined work it was called about
(DECLINED_WORK) is done on it (docs/rules.md §8).

The world already holds each vehicle's own future, and in it some of these would have
been done later anyway (the recall at the next visit, here or at another brand dealer;
the declined work at the next visit). Done now, the later completion is taken out of
the world's future (the car is not remedied twice), and what it would have been is kept
in ``caused_work``: the simulator's truth of what the call changed. A recall or a
recommendation done earlier in ``caused_work`` is the call's doing only if it would
not have been done anyway within the window that measures it.

The open items of the day's called vehicles are read once per list date (``OpenWork``):
a lookup per caused visit would scan the world's versions once per returning customer.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import defaultdict

RECALL_OPEN = "RECALL_OPEN"
DECLINED_WORK = "DECLINED_WORK"
REASONS = (RECALL_OPEN, DECLINED_WORK)

LEDGER = (
    "create table if not exists caused_work (kind text, key text, list_date text, ro_number text,"
    " done_date text, organic_done_date text, primary key (kind, key))"
)

Item = tuple[str, str, dict]  # (pk, the dealer whose DMS holds it, the record)
Version = tuple[str, str, str | None, str, dict]  # (entity, pk, dealer, updated_at, record) to store


def _latest_by_vin(conn: sqlite3.Connection, entity: str, clock: str) -> dict[str, list[Item]]:
    """The latest version before ``clock`` of each record of ``entity`` whose VIN is in
    the temp table ``called_vins``, by VIN: one pass over the entity."""
    latest: dict[str, Item] = {}
    for pk, dealer, text in conn.execute(
        "select pk, dealer_code, record from dms_versions where entity = ? and updated_at < ?"
        " and json_extract(record, '$.vin') in (select vin from called_vins) order by pk, updated_at",
        (entity, clock),
    ):
        latest[pk] = (pk, dealer, json.loads(text))
    by_vin: dict[str, list[Item]] = defaultdict(list)
    for item in latest.values():
        by_vin[item[2]["vin"]].append(item)
    return by_vin


class OpenWork:
    """The recalls and recommendations open on the list date for the vehicles a RECALL_OPEN
    or DECLINED_WORK call brought back, and what doing them changes in the world."""

    def __init__(self, conn: sqlite3.Connection, vins: set[str], list_date: dt.date) -> None:
        self.conn, self.list_date = conn, list_date
        self.midnight = f"{list_date.isoformat()}T00:00:00+08:00"
        self.recalls: dict[str, list[Item]] = {}
        self.recommendations: dict[str, list[Item]] = {}
        self.remedied: dict[tuple[str, str], str] = {}  # (vin, recall code) -> day remedied
        if vins:
            conn.execute("create temp table if not exists called_vins (vin text primary key)")
            conn.execute("delete from called_vins")
            conn.executemany("insert or ignore into called_vins values (?)", [(v,) for v in vins])
            self.recalls = _latest_by_vin(conn, "oem_recalls", self.midnight)
            self.recommendations = _latest_by_vin(conn, "recommendations", self.midnight)

    def open_recall(self, vin: str) -> Item | None:
        """The VIN's recall open with its remedy available (the earliest published if several)."""
        items = [
            item
            for item in self.recalls.get(vin, [])
            if item[2].get("remedy_available") and not item[2].get("completed_date")
        ]
        return min(items, key=lambda item: (item[2]["published_date"], item[0]), default=None)

    def open_recommendation(self, vin: str, due_date: str) -> Item | None:
        """The declined or deferred recommendation a DECLINED_WORK row due on ``due_date`` is
        about: deferred to that date, or declined on a visit closed 3 days before it."""
        declined_on = (dt.date.fromisoformat(due_date) - dt.timedelta(days=3)).isoformat() if due_date else ""
        for item in self.recommendations.get(vin, []):
            record = item[2]
            if record.get("status") == "deferred" and record.get("defer_until") == due_date:
                return item
            if record.get("status") == "declined" and str(record.get("created_at", ""))[:10] == declined_on:
                return item
        return None

    def remedy_recall(self, item: Item, order: dict, day: str) -> list[Version]:
        """Do the recall on the caused order: the order carries the recall code, the OEM
        reports it completed by the order's dealer two days later; the completion in the
        world's future is taken out (``finish`` takes the code off later orders). Nothing
        if the world had it done by that day anyway (the OEM reports completions days late,
        so the list date's view can hold a recall already remedied)."""
        pk, rooftop, record = item
        recorded, organic = self._organic(RECALL_OPEN, pk)
        if not recorded:
            later = self._later("oem_recalls", pk)
            organic = next((v["completed_date"] for v in later if v.get("completed_date")), None)
        if organic is not None and organic <= day:
            return []  # done by then anyway (the manufacturer's report of it was still to come)
        order["campaign_code"] = record["recall_code"]
        self.remedied[(record["vin"], record["recall_code"])] = day
        reported = f"{(dt.date.fromisoformat(day) + dt.timedelta(days=2)).isoformat()}T10:00:00+08:00"
        self._take_later_out("oem_recalls", pk)
        self._record(RECALL_OPEN, pk, order["ro_number"], day, organic)
        self.recalls[record["vin"]].remove(item)  # done: a second visit of the car that day does not do it again
        done = {**record, "completed_date": day, "completed_dealer_code": order["dealer_code"], "updated_at": reported}
        return [("oem_recalls", pk, rooftop, reported, done)]

    def do_declined_work(self, item: Item, order: dict, closed_at: str) -> list[Version]:
        """Do the recommended work on the caused order: the recommendation becomes done,
        naming it; the later ``done`` of the world's future is taken out. Nothing if the
        world had it done by that day anyway."""
        pk, dealer, record = item
        recorded, organic = self._organic(DECLINED_WORK, pk)
        if not recorded:
            later = self._later("recommendations", pk)
            organic = next((str(v["updated_at"])[:10] for v in later if v.get("status") == "done"), None)
        if organic is not None and organic <= closed_at[:10]:
            return []  # done by then anyway
        self._take_later_out("recommendations", pk)
        self._record(DECLINED_WORK, pk, order["ro_number"], closed_at[:10], organic)
        self.recommendations[record["vin"]].remove(item)  # done once
        done = {**record, "status": "done", "done_ro_number": order["ro_number"], "updated_at": closed_at}
        return [("recommendations", pk, dealer, closed_at, done)]

    def finish(self) -> None:
        """Take each remedied recall's code off the vehicle's later group orders (the world
        had the remedy done there): one pass over the called vehicles' orders."""
        if not self.remedied:
            return
        later = [
            rowid
            for rowid, vin, code, opened in self.conn.execute(
                "select rowid, json_extract(record, '$.vin'), json_extract(record, '$.campaign_code'),"
                " json_extract(record, '$.open_date') from dms_versions where entity = 'repair_orders'"
                " and json_extract(record, '$.vin') in (select vin from called_vins)"
                " and json_extract(record, '$.campaign_code') is not null"
            )
            if (vin, code) in self.remedied and opened > self.remedied[(vin, code)]
        ]
        self.conn.executemany(
            "update dms_versions set record = json_set(record, '$.campaign_code', null) where rowid = ?",
            [(rowid,) for rowid in later],
        )

    def _organic(self, kind: str, key: str) -> tuple[bool, str | None]:
        """Whether an earlier run of this list date recorded doing it, and when the world
        would have done it then (a rerun: the world's later versions are gone, the call's
        own are there)."""
        self.conn.execute(LEDGER)
        row = self.conn.execute(
            "select organic_done_date from caused_work where kind = ? and key = ? and list_date = ?",
            (kind, key, self.list_date.isoformat()),
        ).fetchone()
        return (False, None) if row is None else (True, row[0])

    def _later(self, entity: str, pk: str) -> list[dict]:
        """The record's versions from the list date on: what the world would do later."""
        return [
            json.loads(text)
            for (text,) in self.conn.execute(
                "select record from dms_versions where entity = ? and pk = ? and updated_at > ? order by updated_at",
                (entity, pk, self.midnight),
            )
        ]

    def _take_later_out(self, entity: str, pk: str) -> None:
        """Remove the record's versions from the list date on (the call did it first)."""
        self.conn.execute(
            "delete from dms_versions where entity = ? and pk = ? and updated_at > ?", (entity, pk, self.midnight)
        )

    def _record(self, kind: str, key: str, ro: str, done: str, organic: str | None) -> None:
        self.conn.execute(LEDGER)
        self.conn.execute(  # a rerun of the day keeps what the first run learnt of the world's future
            "insert or ignore into caused_work values (?, ?, ?, ?, ?, ?)",
            (kind, key, self.list_date.isoformat(), ro, done, organic),
        )
