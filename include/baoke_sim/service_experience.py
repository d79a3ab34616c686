"""What a customer felt about their last visit, and what the call center hears of it
(contract version 2's ``csi_score`` and ``complaint_category``; rules §6 measures it).

The world decides which visits went badly: a repair that repeats one of the same car
within 30 days (the fix did not hold). The DMS holds the complaints customers made at the
dealer (``world._complaints``: a quarter of the repeat repairs, 1.5 % of other visits).
Other customers leave aggrieved without saying so at the counter: half of the repeat
repairs the dealer has no complaint for, 3 % of other visits (a draw of the visit's own,
``_aggrieved``). An aggrieved customer tells the first call that reaches them within 30
days of the visit: a complaint on any call, a score of 1 or 2 on a satisfaction call
(回访: ``POST_SERVICE_FOLLOWUP``, ``NEW_CAR_FOLLOWUP``; with a complaint category most of
the time). The dealer registers 60 % of what the call center passes on in the DMS, 1 to
40 hours after the call (source ``call_center``); the rest never reach the DMS. Every
other score follows the visit — lower after a repeat repair, middling after a complaint
the dealer handled — and is never 2 or less: no hot alert without a cause.

Each complaint heard is recorded in the world (table ``heard_complaints``). With the DMS
complaints made at the dealer, that is the simulator's truth of the complaints it caused
(``caused_complaints``): the platform's complaint cases must be exactly these.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import sqlite3
from dataclasses import dataclass

import pandas as pd

from baoke_sim import store

#: The satisfaction calls (回访), on which the customer is asked for a score.
FOLLOWUP_REASONS = ("POST_SERVICE_FOLLOWUP", "NEW_CAR_FOLLOWUP")
#: Outcomes of a call on which the customer spoke to the agent (and may complain) ...
SPOKEN = (
    "BOOKED",
    "CALLBACK_REQUESTED",
    "DECLINED",
    "MOVED_AWAY",
    "SERVICED_AT_OTHER_DEALER",
    "SERVICED_AT_INDEPENDENT_SHOP",
)
#: ... of which the reached ones: a satisfaction call gets to its score only there (a
#: closing outcome ends the call first; feeds.md §4).
SCORED = ("BOOKED", "CALLBACK_REQUESTED", "DECLINED")
#: Share of the visits whose customer leaves aggrieved without complaining at the dealer.
AGGRIEVED_AFTER_REPEAT = 0.5
AGGRIEVED_OTHERWISE = 0.03
#: How long after the visit an aggrieved customer still tells a call about it.
TELLS_WITHIN_DAYS = 30
#: Share of the satisfaction calls on which the agent asks for the score.
SCORE_ASKED = 0.9
#: Share of the complaints heard that the dealer registers in the DMS.
REGISTERED_SHARE = 0.6
#: The scores, by what the customer felt about the visit.
SCORES = {
    "aggrieved": {"1": 0.5, "2": 0.5},
    "complained": {"3": 0.6, "4": 0.4},  # complained at the dealer, who dealt with it
    "repeat": {"3": 0.4, "4": 0.4, "5": 0.2},  # a repeat repair that left no grievance
    "fine": {"3": 0.1, "4": 0.4, "5": 0.5},
}
CATEGORIES = {"service_attitude": 0.3, "price": 0.25, "waiting_time": 0.25, "parts": 0.1, "repair_quality": 0.1}
#: The DMS complaint fields (feeds.md §1), in order.
COMPLAINT_FIELDS = [
    "complaint_id",
    "dealer_code",
    "customer_id",
    "vin",
    "ro_number",
    "source",
    "category",
    "severity",
    "opened_at",
    "first_response_at",
    "closed_at",
    "status",
    "updated_at",
]

_SCHEMA = """
create table if not exists heard_complaints (
    ro_number    text primary key,  -- the visit the customer complained about
    call_id      text not null,
    list_date    text not null,
    dealer_code  text not null,
    customer_id  text not null,
    called_at    text not null,
    category     text,              -- null: a hot alert (a score of 1 or 2) without words
    complaint_id text               -- the DMS complaint the dealer registered, if it did
)
"""


@dataclass(frozen=True)
class LastVisit:
    """A customer's latest visit closed in the ``TELLS_WITHIN_DAYS`` before a list date."""

    ro_number: str
    vin: str
    repeat: bool  # a repair within 30 days of the same car's previous repair
    complained: bool  # the customer complained at the dealer (a DMS complaint of the visit)

    def feeling(self, seed: int) -> str:
        if self.complained:
            return "complained"
        aggrieved = AGGRIEVED_AFTER_REPEAT if self.repeat else AGGRIEVED_OTHERWISE
        if _chance(f"{seed}:{self.ro_number}:aggrieved") < aggrieved:
            return "aggrieved"
        return "repeat" if self.repeat else "fine"


@dataclass(frozen=True)
class Heard:
    """A complaint the call center heard on one call."""

    visit: LastVisit
    call_id: str
    dealer_code: str
    customer_id: str
    called_at: str
    category: str


def last_visits(conn: sqlite3.Connection, customers: set[str], list_date: dt.date) -> dict[str, LastVisit]:
    """Each customer's latest visit (no PDI) closed in the ``TELLS_WITHIN_DAYS`` before
    ``list_date``, whether it repeated a repair and whether the customer complained of it
    at the dealer. One pass over the repair orders."""
    if not customers:
        return {}
    conn.execute("create temp table if not exists experience_customers (customer_id text primary key)")
    conn.execute("delete from experience_customers")
    conn.executemany("insert or ignore into experience_customers values (?)", [(c,) for c in customers])
    orders = pd.read_sql_query(
        "select pk as ro_number, json_extract(record, '$.vin') as vin,"
        " json_extract(record, '$.customer_id') as customer_id, json_extract(record, '$.service_type') as service_type,"
        " json_extract(record, '$.open_date') as open_date, json_extract(record, '$.close_date') as close_date"
        " from dms_versions where entity = 'repair_orders' and json_extract(record, '$.status') = 'closed'"
        " and json_extract(record, '$.customer_id') in (select customer_id from experience_customers)"
        " and json_extract(record, '$.close_date') < ?",
        conn,
        params=(list_date.isoformat(),),
    ).drop_duplicates("ro_number")
    if orders.empty:
        return {}
    repairs = orders[orders.service_type.isin(["REPAIR", "WARRANTY"])].sort_values(["vin", "open_date", "ro_number"])
    previous_close = repairs.groupby("vin")["close_date"].shift()
    gap = pd.to_datetime(repairs["open_date"]) - pd.to_datetime(previous_close)
    repeats = set(repairs.loc[gap.dt.days <= 30, "ro_number"])
    since = (list_date - dt.timedelta(days=TELLS_WITHIN_DAYS)).isoformat()
    recent = orders[(orders.service_type != "PDI") & (orders.close_date >= since)]
    latest = recent.sort_values(["customer_id", "close_date", "ro_number"]).groupby("customer_id").tail(1)
    complaint_ids = {ro.replace("RO", "CP"): ro for ro in latest.ro_number}  # as world._complaints numbers them
    complained = {
        complaint_ids[pk]
        for (pk,) in conn.execute(
            "select distinct pk from dms_versions where entity = 'complaints'"
            f" and pk in ({','.join('?' * len(complaint_ids))})",
            list(complaint_ids),
        )
    }
    return {
        row.customer_id: LastVisit(row.ro_number, row.vin, row.ro_number in repeats, row.ro_number in complained)
        for row in latest.itertuples()
    }


def already_heard(conn: sqlite3.Connection, list_date: dt.date) -> set[str]:
    """The visits whose complaint a call of another day than ``list_date`` heard (a rerun
    of the day hears its own again, and never one a later day heard)."""
    conn.execute(_SCHEMA)
    return {
        ro for (ro,) in conn.execute("select ro_number from heard_complaints where list_date <> ?", (str(list_date),))
    }


def hear(
    row: dict[str, str], outcome: dict, visit: LastVisit | None, heard_before: set[str], seed: int = 0
) -> Heard | None:
    """Fill the call's ``csi_score`` and ``complaint_category`` from what the customer
    felt about ``visit``; the complaint heard, if any. ``heard_before`` (the visits
    already told about) grows with it: a grievance is told once."""
    outcome["csi_score"] = outcome["complaint_category"] = ""
    if outcome["channel"] != "PHONE" or outcome["outcome"] not in SPOKEN:
        return None
    draw = random.Random(f"{seed}:{row['call_id']}:{outcome['attempt_no']}:experience")
    asked = draw.random() < SCORE_ASKED
    scored = row.get("primary_reason") in FOLLOWUP_REASONS and outcome["outcome"] in SCORED and asked
    feeling = visit.feeling(seed) if visit is not None else "fine"
    tells = visit is not None and feeling == "aggrieved" and visit.ro_number not in heard_before
    if not tells:
        feeling = "complained" if feeling == "aggrieved" else feeling  # told already: it was dealt with
        outcome["csi_score"] = _pick(draw, SCORES[feeling]) if scored else ""
        return None
    assert visit is not None
    heard_before.add(visit.ro_number)
    category = "repair_quality" if visit.repeat else _pick(draw, CATEGORIES)
    outcome["csi_score"] = _pick(draw, SCORES["aggrieved"]) if scored else ""
    outcome["complaint_category"] = category if not scored or draw.random() < 0.7 else ""
    return Heard(
        visit,
        row["call_id"],
        row["dealer_code"],
        row["customer_id"],
        outcome["called_at"],
        outcome["complaint_category"],
    )


def tells_a_complaint(outcome: dict) -> bool:
    """Whether an outcome row tells the platform of a complaint: a category, or a score of
    2 or less (a hot alert, rules §6)."""
    return bool(outcome["complaint_category"]) or outcome["csi_score"] in ("1", "2")


def record(conn: sqlite3.Connection, list_date: dt.date, heard: list[Heard], seed: int = 0) -> int:
    """Record the day's complaints heard, and register in the DMS those the dealer does.
    A rerun of the day replaces what its earlier run recorded and registered, the DMS
    complaints included. Returns how many were registered."""
    conn.execute(_SCHEMA)
    conn.execute(
        "delete from dms_versions where entity = 'complaints' and pk in"
        " (select complaint_id from heard_complaints where list_date = ?)",
        (str(list_date),),
    )
    conn.execute("delete from heard_complaints where list_date = ?", (str(list_date),))
    versions = []
    for h in heard:
        draw = random.Random(f"{seed}:{h.call_id}:registered")
        complaint_id = f"CPC{h.call_id}" if draw.random() < REGISTERED_SHARE else None
        conn.execute(
            "insert or replace into heard_complaints values (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                h.visit.ro_number,
                h.call_id,
                str(list_date),
                h.dealer_code,
                h.customer_id,
                h.called_at,
                h.category or None,
                complaint_id,
            ),
        )
        if complaint_id is not None:
            versions += _registered_versions(draw, h, complaint_id)
    if versions:
        frame = pd.DataFrame(versions, columns=COMPLAINT_FIELDS, dtype=object)
        store.add_versions(conn, "complaints", frame, "complaint_id", replace=True)
    return len({v[0] for v in versions})


def caused_complaints(conn: sqlite3.Connection, until: dt.date) -> pd.DataFrame:
    """The simulator's truth: every complaint it caused opened before ``until`` — each made
    at the dealer (a DMS complaint not registered from a call) and each heard by a call
    (registered or not) — with its dealer, customer, Beijing-time opening (a call's: when
    it was heard), the DMS complaint (if the DMS holds it) and the call. One row each."""
    conn.execute(_SCHEMA)
    stop = f"{until.isoformat()}T00:00:00+08:00"
    return pd.read_sql_query(
        "select pk as complaint_id, null as call_id, dealer_code, json_extract(record, '$.customer_id') as customer_id,"
        "  min(json_extract(record, '$.opened_at')) as opened_at"
        " from dms_versions where entity = 'complaints' and pk not like 'CPC%'"
        "  and json_extract(record, '$.opened_at') < ? group by pk, dealer_code"
        " union all"
        " select complaint_id, call_id, dealer_code, customer_id, called_at from heard_complaints where called_at < ?",
        conn,
        params=(stop, stop),
    )


def _registered_versions(draw: random.Random, h: Heard, complaint_id: str) -> list[list[object]]:
    """The DMS complaint the dealer opens from the call center's report: opened 1-40 hours
    after the call, mostly answered within the hour and closed within the day."""
    called = dt.datetime.fromisoformat(h.called_at)
    opened = called + dt.timedelta(seconds=draw.randint(3600, 40 * 3600))
    responded = opened + dt.timedelta(
        seconds=draw.randint(300, 3600) if draw.random() < 0.85 else draw.randint(3601, 6 * 3600)
    )
    closed = responded + dt.timedelta(hours=draw.randint(2, 20) if draw.random() < 0.8 else draw.randint(25, 96))
    base = [
        complaint_id,
        h.dealer_code,
        h.customer_id,
        h.visit.vin,
        h.visit.ro_number,
        "call_center",
        h.category or "other",
        "normal",
        _stamp(opened),
    ]
    return [
        [*base, None, None, "open", _stamp(opened)],
        [*base, _stamp(responded), None, "responded", _stamp(responded)],
        [*base, _stamp(responded), _stamp(closed), "closed", _stamp(closed)],
    ]


def _stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _chance(key: str) -> float:
    """A uniform draw in [0, 1) of its own for ``key`` (stable across runs and processes)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]
