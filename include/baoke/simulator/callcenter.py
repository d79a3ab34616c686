"""The call center: works a day's list files and returns what happened (feeds.md §4),
and the world feels it — a listed customer may come back because of the call.

The true effect is known and configured: ``TRUE_UPLIFT[reason]`` is how much more likely
a customer listed for that reason is to return within 30 days than an identical
customer who was not listed (intention to treat). The campaign-effectiveness mart must
recover it. Everything is deterministic for (seed, list date).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

OUTCOME_COLUMNS = ["call_id", "list_date", "dealer_code", "customer_id", "attempt_no", "called_at", "channel",
                   "outcome", "callback_date", "appointment_date", "note"]

#: Extra 30-day return probability caused by being listed, per reason.
TRUE_UPLIFT: dict[str, float] = {
    "POST_SERVICE_FOLLOWUP": 0.02, "NEW_CAR_FOLLOWUP": 0.03, "FIRST_SERVICE_DUE": 0.15, "MAINTENANCE_DUE": 0.12,
    "INSURANCE_RENEWAL": 0.04, "WARRANTY_EXPIRY": 0.08, "LAPSING_WINBACK": 0.10, "LOST_WINBACK": 0.06,
    "POINTS_EXPIRY": 0.05, "BIRTHDAY": 0.01,
}
REACH_BY_SLOT = {"MORNING": 0.45, "AFTERNOON": 0.5, "EVENING": 0.6}
SLOT_HOURS = {"MORNING": (9, 12), "AFTERNOON": (14, 17), "EVENING": (18, 20.5)}
REACHED = {"CALLBACK_REQUESTED": 0.2, "DECLINED": 0.5, "DO_NOT_CALL": 0.06, "VEHICLE_SOLD": 0.04, "MOVED_AWAY": 0.04,
           "SERVICED_AT_OTHER_DEALER": 0.08, "SERVICED_AT_INDEPENDENT_SHOP": 0.08}
NOT_REACHED = {"NO_ANSWER": 0.6, "BUSY": 0.2, "POWERED_OFF": 0.2}
NOTES = {
    "BOOKED": "客户已预约到店保养", "CALLBACK_REQUESTED": "客户在开会，约定改天回电", "DECLINED": "客户表示暂时不需要",
    "DO_NOT_CALL": "客户要求不要再打电话", "VEHICLE_SOLD": "车辆已出售", "MOVED_AWAY": "客户已搬到外地",
    "SERVICED_AT_OTHER_DEALER": "已在其他4S店保养", "SERVICED_AT_INDEPENDENT_SHOP": "在路边快修店保养",
    "NO_ANSWER": "无人接听", "BUSY": "占线", "POWERED_OFF": "关机", "WRONG_NUMBER": "号码错误，非本人",
    "SMS_SENT": "短信已发送", "SMS_FAILED": "短信发送失败",
}


@dataclass(frozen=True)
class CallCenterConfig:
    seed: int = 0
    uplift: dict[str, float] = field(default_factory=lambda: dict(TRUE_UPLIFT))
    wrong_number_rate: float = 0.03
    not_attempted_rate: float = 0.02  # rows the call center reports nothing for


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _read_list(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


@dataclass
class DayResult:
    outcomes: list[Path]
    rows: int
    returns: int  # visits the calls caused


def work_lists(list_date: dt.date, outbound: Path, inbox: Path, world: Path,
               config: CallCenterConfig = CallCenterConfig()) -> DayResult:
    """Work every dealer's call and SMS lists of ``list_date``; write OUTCOMES files and
    the visits the calls caused into the world."""
    stamp = list_date.strftime("%Y%m%d")
    day_dir = outbound / list_date.isoformat()
    inbox.mkdir(parents=True, exist_ok=True)
    written, rows, visits = [], 0, []
    for dealer_dir in sorted(p for p in day_dir.iterdir() if p.is_dir()) if day_dir.exists() else []:
        dealer = dealer_dir.name
        rng = random.Random(f"{config.seed}:{dealer}:{stamp}")
        outcomes = []
        for kind in ("call_list", "sms_list"):
            path = dealer_dir / f"{kind}_{dealer}_{stamp}.csv"
            for row in _read_list(path) if path.exists() else []:
                outcome = _work_row(rng, row, kind == "sms_list", list_date, config)
                if outcome is not None:
                    outcomes.append(outcome)
                    if outcome.pop("_returns"):
                        visits.append((row, outcome["appointment_date"] or _later(rng, list_date, 1, 25)))
        out = inbox / f"OUTCOMES_{dealer}_{stamp}.csv"
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, OUTCOME_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(outcomes)
        out.write_bytes(buffer.getvalue().encode("utf-8-sig"))
        written.append(out)
        rows += len(outcomes)
    _add_return_visits(world, visits, list_date)
    return DayResult(written, rows, len(visits))


def _later(rng: random.Random, day: dt.date, low: int, high: int) -> str:
    return (day + dt.timedelta(days=rng.randint(low, high))).isoformat()


def _work_row(rng: random.Random, row: dict[str, str], sms: bool, day: dt.date,
              config: CallCenterConfig) -> dict | None:
    """One list row's outcome; ``_returns`` says whether the customer comes back because of it."""
    if rng.random() < config.not_attempted_rate:
        return None
    reason = row.get("primary_reason", "")
    slot = row.get("preferred_slot") or "MORNING"
    returns = int(row.get("attempt_no") or 1) == 1 and rng.random() < config.uplift.get(reason, 0.0)
    hours = SLOT_HOURS.get(slot, (9, 12))
    seconds = int(rng.uniform(*hours) * 3600)
    called_at = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)
    appointment = callback = ""
    if sms:
        outcome, returns = ("SMS_SENT" if rng.random() < 0.95 else "SMS_FAILED"), False
    elif returns:
        outcome = "BOOKED"
        appointment = _later(rng, day, 1, 10)  # the call caused a kept appointment
    elif rng.random() < config.wrong_number_rate:
        outcome = "WRONG_NUMBER"
    elif rng.random() < REACH_BY_SLOT.get(slot, 0.5):
        outcome = _pick(rng, REACHED)
        callback = _later(rng, day, 1, 7) if outcome == "CALLBACK_REQUESTED" else ""
    else:
        outcome = _pick(rng, NOT_REACHED)
    return {
        "call_id": row["call_id"], "list_date": day.isoformat(), "dealer_code": row["dealer_code"],
        "customer_id": row["customer_id"], "attempt_no": row.get("attempt_no") or "1",
        "called_at": called_at.isoformat() + "+08:00", "channel": "SMS" if sms else "PHONE", "outcome": outcome,
        "callback_date": callback, "appointment_date": appointment, "note": NOTES[outcome], "_returns": returns,
    }


def _add_return_visits(world: Path, visits: list[tuple[dict[str, str], str]], list_date: dt.date) -> None:
    """The visits the calls caused: an appointment (source call_center) and a closed
    maintenance order on its date, visible once the clock passes them."""
    if not visits:
        return
    with sqlite3.connect(world) as conn:
        records = []
        for n, (row, day) in enumerate(visits):
            last_km = conn.execute(
                "select max(cast(json_extract(record, '$.mileage_km') as integer)) from dms_versions"
                " where entity = 'repair_orders' and json_extract(record, '$.vin') = ?", (row["vin"],)).fetchone()[0]
            number = f"RO{row['dealer_code']}-CC{list_date:%Y%m%d}{n:05d}"
            appointment = number.replace("RO", "AP")
            booked_at = f"{list_date.isoformat()}T15:00:00+08:00"
            opened_at, closed_at = f"{day}T09:00:00+08:00", f"{day}T16:00:00+08:00"
            base_appt = {"appointment_id": appointment, "dealer_code": row["dealer_code"], "customer_id": row["customer_id"],
                         "vin": row["vin"], "appointment_date": day, "slot": "09:00", "source": "call_center"}
            records += [
                ("appointments", appointment, row["dealer_code"], booked_at,
                 {**base_appt, "status": "booked", "created_at": booked_at, "updated_at": booked_at}),
                ("appointments", appointment, row["dealer_code"], f"{day}T08:30:00+08:00",
                 {**base_appt, "status": "arrived", "created_at": booked_at, "updated_at": f"{day}T08:30:00+08:00"}),
            ]
            order = {"ro_number": number, "dealer_code": row["dealer_code"], "vin": row["vin"],
                     "customer_id": row["customer_id"], "advisor_id": row.get("advisor_id") or None,
                     "open_date": day, "close_date": None, "mileage_km": (last_km or 0) + 1500,
                     "service_type": "MAINTENANCE", "status": "open", "labor_amount": "180.00",
                     "parts_amount": "420.00", "total_amount": "600.00", "appointment_id": appointment,
                     "campaign_code": None, "insurance_claim_no": None}
            records += [
                ("repair_orders", number, row["dealer_code"], opened_at, {**order, "updated_at": opened_at}),
                ("repair_orders", number, row["dealer_code"], closed_at,
                 {**order, "close_date": day, "status": "closed", "updated_at": closed_at}),
            ]
        conn.executemany(
            "insert or replace into dms_versions (entity, pk, dealer_code, updated_at, visible_at, record)"
            " values (?, ?, ?, ?, ?, ?)",
            [(e, pk, d, ts, ts, json.dumps(r, ensure_ascii=False)) for e, pk, d, ts, r in records],
        )
