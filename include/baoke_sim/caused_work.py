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
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

RECALL_OPEN = "RECALL_OPEN"
DECLINED_WORK = "DECLINED_WORK"

LEDGER = (
    "create table if not exists caused_work (kind text, key text, list_date text, ro_number text,"
    " done_date text, organic_done_date text, primary key (kind, key))"
)


Item = tuple[str, str, dict]  # (pk, the dealer whose DMS holds it, the record)


def _latest(conn: sqlite3.Connection, entity: str, where: str, params: tuple, clock: str) -> list[Item]:
    """(pk, dealer_code, record) of the latest version, as of ``clock``, of each record
    of ``entity`` matching ``where``."""
    rows = conn.execute(
        f"select pk, dealer_code, updated_at, record from dms_versions where entity = ? and {where}"
        " and updated_at < ? order by pk, updated_at",
        (entity, *params, clock),
    ).fetchall()
    latest: dict[str, Item] = {}
    for pk, dealer, _, record in rows:
        latest[pk] = (pk, dealer, json.loads(record))
    return list(latest.values())


def open_recall(conn: sqlite3.Connection, vin: str, list_date: dt.date) -> Item | None:
    """The VIN's recall open on the list date with its remedy available (the one a
    RECALL_OPEN call is about; the earliest published if several)."""
    items = [
        item
        for item in _latest(conn, "oem_recalls", "json_extract(record, '$.vin') = ?", (vin,), list_date.isoformat())
        if item[2].get("remedy_available") and not item[2].get("completed_date")
    ]
    return min(items, key=lambda item: (item[2]["published_date"], item[0]), default=None)


def open_recommendation(conn: sqlite3.Connection, vin: str, due_date: str, list_date: dt.date) -> Item | None:
    """The declined or deferred recommendation a DECLINED_WORK row due on ``due_date`` is
    about: deferred to that date, or declined on a visit closed 3 days before it."""
    declined_on = (dt.date.fromisoformat(due_date) - dt.timedelta(days=3)).isoformat() if due_date else ""
    for item in _latest(conn, "recommendations", "json_extract(record, '$.vin') = ?", (vin,), list_date.isoformat()):
        record = item[2]
        if record.get("status") == "deferred" and record.get("defer_until") == due_date:
            return item
        if record.get("status") == "declined" and str(record.get("created_at", ""))[:10] == declined_on:
            return item
    return None


def _take_later_out(conn: sqlite3.Connection, entity: str, pk: str, after: str) -> list[dict]:
    """Remove the record's versions after ``after`` (what would have happened later) and
    return them."""
    later = [
        json.loads(text)
        for (text,) in conn.execute(
            "select record from dms_versions where entity = ? and pk = ? and updated_at > ? order by updated_at",
            (entity, pk, after),
        )
    ]
    conn.execute("delete from dms_versions where entity = ? and pk = ? and updated_at > ?", (entity, pk, after))
    return later


def _record(conn: sqlite3.Connection, kind: str, key: str, list_date: dt.date, ro: str, done: str, organic: str | None):
    conn.execute(LEDGER)
    conn.execute(  # a rerun of the day keeps what the first run learnt of the world's future
        "insert or ignore into caused_work values (?, ?, ?, ?, ?, ?)",
        (kind, key, list_date.isoformat(), ro, done, organic),
    )


def remedy_recall(
    conn: sqlite3.Connection, item: Item, order: dict, day: str, list_date: dt.date
) -> list[tuple[str, str, str | None, str, dict]]:
    """Do the recall on the caused order: the order carries the recall code, the OEM
    reports it completed by the order's dealer two days later; a later completion in the
    world's future (and the recall code on a later group order) is taken out. Returns the
    versions to store."""
    pk, rooftop, record = item
    order["campaign_code"] = record["recall_code"]
    reported = f"{(dt.date.fromisoformat(day) + dt.timedelta(days=2)).isoformat()}T10:00:00+08:00"
    later = _take_later_out(conn, "oem_recalls", pk, f"{list_date.isoformat()}T00:00:00+08:00")
    organic = next((v["completed_date"] for v in later if v.get("completed_date")), None)
    conn.execute(
        "update dms_versions set record = json_set(record, '$.campaign_code', null)"
        " where entity = 'repair_orders' and json_extract(record, '$.vin') = ?"
        "   and json_extract(record, '$.campaign_code') = ? and json_extract(record, '$.open_date') > ?",
        (record["vin"], record["recall_code"], day),
    )
    _record(conn, RECALL_OPEN, pk, list_date, order["ro_number"], day, organic)
    done = {**record, "completed_date": day, "completed_dealer_code": order["dealer_code"], "updated_at": reported}
    return [("oem_recalls", pk, rooftop, reported, done)]


def do_declined_work(
    conn: sqlite3.Connection, item: Item, order: dict, closed_at: str, list_date: dt.date
) -> list[tuple[str, str, str | None, str, dict]]:
    """Do the recommended work on the caused order: the recommendation becomes done,
    naming it; the later ``done`` of the world's future is taken out. Returns the
    version to store."""
    pk, dealer, record = item
    later = _take_later_out(conn, "recommendations", pk, f"{list_date.isoformat()}T00:00:00+08:00")
    organic = next((str(v["updated_at"])[:10] for v in later if v.get("status") == "done"), None)
    _record(conn, DECLINED_WORK, pk, list_date, order["ro_number"], closed_at[:10], organic)
    done = {**record, "status": "done", "done_ro_number": order["ro_number"], "updated_at": closed_at}
    return [("recommendations", pk, dealer, closed_at, done)]
