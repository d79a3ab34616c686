"""The call center: works a day's list files and returns what happened (docs/feeds.md §4),
and the world feels it — a listed customer may come back because of the call.

The DMS learns from the calls too, as it would at a real dealer: a customer who asks
not to be called gets ``consent_call = false`` a few hours later; a wrong number is
later blanked or corrected at the counter (sometimes); a vehicle reported sold is
(sometimes) marked ``sold`` some days later. And the files can carry rows the platform
must put aside (an unknown ``call_id`` or ``outcome``), for its reject path.

The true effect is known and configured: ``TRUE_UPLIFT[reason]`` is how much more likely
a customer listed for that reason (on the call or the SMS list, first attempt) is to
return within 30 days than an identical customer who was not listed (intention to treat).
The world already holds every customer's own future visits, so a call can only bring
back a customer who would not have come anyway: among those, the listing causes a return
with the probability that makes the difference in 30-day return rates exactly the
configured uplift (see ``_effect``), once per listing of a reason: a row listing a
customer for the same reason again within the window draws nothing (``_listed_before``).
The campaign-effectiveness mart must recover it. Everything is deterministic for (seed, list date).

The files carry the columns version 2 of the contract added (``csi_score`` and
``complaint_category``: what the customer felt about their last visit, and the dealer
registers some of the complaints heard, ``service_experience``; ``loss_reason``), and
can go wrong as any delivered file does
(``file_faults``: ``CallCenterConfig.files``, or ``write_faulty_outcomes`` for one file):
lost, empty, short, re-sent under another name, a stray quote, a renamed or extra
column, the version-2 columns left out. A fault damages the file, not what happened:
the world feels the calls all the same.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import random
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

import pandas as pd

from baoke_sim import caused_work, service_experience, store
from baoke_sim.file_faults import NO_FAULTS, FaultyFile, FileFaults, FileShape, write_file
from baoke_sim.insurance import TOWED_PREFIX

#: The columns of contract version 1; version 2 added ``V2_COLUMNS`` (optional).
OUTCOME_COLUMNS_V1 = [
    "call_id",
    "list_date",
    "dealer_code",
    "customer_id",
    "attempt_no",
    "called_at",
    "channel",
    "outcome",
    "callback_date",
    "appointment_date",
    "note",
]
V2_COLUMNS = ["csi_score", "complaint_category", "loss_reason"]
OUTCOME_COLUMNS = OUTCOME_COLUMNS_V1 + V2_COLUMNS
#: How an OUTCOMES file is written, and what its faults damage.
OUTCOMES_SHAPE = FileShape(
    "OUTCOMES",
    tuple(OUTCOME_COLUMNS),
    trailer=False,
    text_column="note",
    corrected="note",
    renamed=("called_at", "call_time"),
    extra=("agent_id", "AG017"),
    optional=tuple(V2_COLUMNS),
)
OUTCOMES_ENCODING = "utf-8-sig"  # UTF-8 with a BOM

#: Extra 30-day return probability caused by being listed, per reason.
TRUE_UPLIFT: dict[str, float] = {
    "ACCIDENT_LEAD": 0.30,  # the car towed to the group instead of elsewhere (``_win_accidents``)
    "POST_SERVICE_FOLLOWUP": 0.02,
    "NEW_CAR_FOLLOWUP": 0.03,
    "RECALL_OPEN": 0.25,  # the caused visit does the remedy (``caused_work``)
    "FIRST_SERVICE_DUE": 0.15,
    "MAINTENANCE_DUE": 0.12,
    "DECLINED_WORK": 0.10,  # the caused visit does the declined work (``caused_work``)
    "INSURANCE_RENEWAL": 0.04,
    "WARRANTY_EXPIRY": 0.08,
    "LAPSING_WINBACK": 0.10,
    "LOST_WINBACK": 0.06,
    "POINTS_EXPIRY": 0.05,
    "BIRTHDAY": 0.01,
}
#: When a call is made, by the list's ``preferred_slot``: MORNING before 12:00, AFTERNOON
#: 12:00-17:00, EVENING after 17:00 (rules §3 reads the slot back from ``called_at``).
SLOT_HOURS = {"MORNING": (9, 12), "AFTERNOON": (14, 17), "EVENING": (18, 20.5)}
#: Each customer's own best time of day (hidden from the platform), and the chance of
#: reaching them in it or in another slot: a platform that calls back in the slot of the
#: last reached call reaches more customers.
PREFERRED_SLOT_SHARES = {"MORNING": 0.3, "AFTERNOON": 0.25, "EVENING": 0.45}
REACH_IN_PREFERRED_SLOT = 0.7
REACH_IN_OTHER_SLOT = 0.35
#: Share of the delivered SMS whose recipient replies to opt out (outcome UNSUBSCRIBED).
UNSUBSCRIBE_RATE = 0.03
REACHED = {
    "CALLBACK_REQUESTED": 0.2,
    "DECLINED": 0.5,
    "DO_NOT_CALL": 0.06,
    "VEHICLE_SOLD": 0.04,
    "MOVED_AWAY": 0.04,
    "SERVICED_AT_OTHER_DEALER": 0.08,
    "SERVICED_AT_INDEPENDENT_SHOP": 0.08,
}
NOT_REACHED = {"NO_ANSWER": 0.6, "BUSY": 0.2, "POWERED_OFF": 0.2}
NOTES = {
    "BOOKED": "客户已预约到店保养",
    "CALLBACK_REQUESTED": "客户在开会，约定改天回电",
    "DECLINED": "客户表示暂时不需要",
    "DO_NOT_CALL": "客户要求不要再打电话",
    "VEHICLE_SOLD": "车辆已出售",
    "MOVED_AWAY": "客户已搬到外地",
    "SERVICED_AT_OTHER_DEALER": "已在其他4S店保养",
    "SERVICED_AT_INDEPENDENT_SHOP": "在路边快修店保养",
    "NO_ANSWER": "无人接听",
    "BUSY": "占线",
    "POWERED_OFF": "关机",
    "WRONG_NUMBER": "号码错误，非本人",
    "SMS_SENT": "短信已发送",
    "SMS_FAILED": "短信发送失败",
    "UNSUBSCRIBED": "客户回复TD退订短信",
}


#: Outcome codes the contract does not know (a call center's new codes), with their notes.
UNKNOWN_OUTCOMES = {"VOICEMAIL": "转语音信箱", "LINE_ERROR": "线路故障"}
#: Outcomes that change the customer's or vehicle's DMS record later.
FEEDBACK_OUTCOMES = ("DO_NOT_CALL", "WRONG_NUMBER", "VEHICLE_SOLD")
#: Outcomes without any effect on the world: the rows an unknown code or id may replace.
_INERT = set(NOT_REACHED) | {
    "DECLINED",
    "CALLBACK_REQUESTED",
    "MOVED_AWAY",
    "SERVICED_AT_OTHER_DEALER",
    "SERVICED_AT_INDEPENDENT_SHOP",
    "SMS_SENT",
    "SMS_FAILED",
}
_MOBILE_PREFIXES = ("135", "136", "138", "139", "151", "158", "159", "177", "186", "187", "188", "199")


@dataclass(frozen=True)
class CallCenterConfig:
    seed: int = 0
    uplift: dict[str, float] = field(default_factory=lambda: dict(TRUE_UPLIFT))
    wrong_number_rate: float = 0.03
    not_attempted_rate: float = 0.02  # rows the call center reports nothing for
    unsubscribe_rate: float = UNSUBSCRIBE_RATE  # delivered SMS answered with an opt-out
    # What the DMS learns from the calls (DO_NOT_CALL always sets consent_call = false):
    wrong_number_fix_rate: float = 0.5  # WRONG_NUMBER: the mobile is later blanked or corrected
    vehicle_sold_rate: float = 0.6  # VEHICLE_SOLD: the vehicle is later marked sold
    # Rows the platform must put aside (feeds.md §4), per OUTCOMES file:
    unknown_call_ids: int = 0  # rows whose call_id was on no list
    unknown_outcomes: int = 0  # rows whose outcome code feeds.md does not list
    files: FileFaults = NO_FAULTS  # what goes wrong with the OUTCOMES files themselves


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def preferred_slot(customer_id: str) -> str:
    """The time of day a customer answers best: a trait of the customer (a hash of the
    id, the same for every seed and day), which the platform can only learn from the
    slots its calls reached them in."""
    draw = int(hashlib.sha256(f"slot:{customer_id}".encode()).hexdigest()[:8], 16) / 16**8
    for slot, share in PREFERRED_SLOT_SHARES.items():
        if draw < share:
            return slot
        draw -= share
    return "EVENING"


def slot_of(called_at: str) -> str:
    """The slot a call was made in, from its ``called_at`` (rules §3)."""
    hour = int(called_at[11:13])
    return "MORNING" if hour < 12 else "AFTERNOON" if hour < 17 else "EVENING"


def _read_list(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


@dataclass(frozen=True)
class BadOutcomeRow:
    """A row the platform must keep aside, and why (``reason``)."""

    path: Path
    call_id: str
    outcome: str
    reason: Literal["unknown_call_id", "unknown_outcome"]


@dataclass(frozen=True)
class DmsChange:
    """A DMS version the calls caused (besides the return visits). ``change`` is
    ``consent_call_false``, ``mobile_blanked``, ``mobile_corrected`` or ``vehicle_sold``."""

    entity: str
    pk: str
    updated_at: str
    change: str
    call_id: str


@dataclass
class DayResult:
    outcomes: list[Path]
    rows: int  # outcome rows written, bad ones included
    returns: int  # visits the calls caused
    dms_changes: list[DmsChange] = field(default_factory=list)
    bad_rows: list[BadOutcomeRow] = field(default_factory=list)
    faulty: dict[str, FaultyFile] = field(default_factory=dict)  # files given a fault, by name
    complaints_heard: int = 0  # complaints the calls heard (service_experience)
    complaints_registered: int = 0  # of which the dealer registered in the DMS


def work_lists(
    list_date: dt.date, outbound: Path, inbox: Path, world: Path, config: CallCenterConfig = CallCenterConfig()
) -> DayResult:
    """Work every dealer's call and SMS lists of ``list_date``; write OUTCOMES files, and
    into the world the visits the calls caused and what the DMS learnt from them."""
    stamp = list_date.strftime("%Y%m%d")
    day_dir = outbound / list_date.isoformat()
    inbox.mkdir(parents=True, exist_ok=True)
    result = DayResult([], 0, 0)
    visits: list[tuple[dict[str, str], str]] = []
    closing: list[tuple[dict[str, str], dict]] = []
    dealer_dirs = sorted(p for p in day_dir.iterdir() if p.is_dir()) if day_dir.exists() else []
    lists = {
        (d.name, kind): _read_list(path)
        for d in dealer_dirs
        for kind in ("call_list", "sms_list")
        if (path := d / f"{kind}_{d.name}_{stamp}.csv").exists()
    }
    rows = [(row, kind == "sms_list") for (_, kind), rows in lists.items() for row in rows]
    coming_anyway = _coming_anyway(world, {row["customer_id"] for row, _ in rows}, list_date)
    already = _listed_before(world, rows, list_date)
    rows = [(row, sms) for row, sms in rows if (row["customer_id"], row.get("primary_reason", "")) not in already]
    effects = _effect(rows, coming_anyway, config)
    with sqlite3.connect(world) as conn:
        # every call row, further attempts and callbacks included (not only those that draw an effect)
        called = {row["customer_id"] for (_, kind), listed in lists.items() if kind == "call_list" for row in listed}
        last_visits = service_experience.last_visits(conn, called, list_date)
        heard_before = service_experience.already_heard(conn, list_date)
    heard: list[service_experience.Heard] = []
    for dealer_dir in dealer_dirs:
        dealer = dealer_dir.name
        rng = random.Random(f"{config.seed}:{dealer}:{stamp}")
        worked: list[tuple[dict[str, str], dict]] = []
        for kind in ("call_list", "sms_list"):
            for row in lists.get((dealer, kind), []):
                sms = kind == "sms_list"
                key = (row["customer_id"], row.get("primary_reason", ""))
                effect = (
                    0.0 if row["customer_id"] in coming_anyway or key in already else effects.get((key[1], sms), 0.0)
                )
                outcome = _work_row(rng, row, sms, list_date, config, effect)
                if outcome is not None:
                    visit = last_visits.get(row["customer_id"])
                    told = service_experience.hear(row, outcome, visit, heard_before, config.seed)
                    heard += [told] if told is not None else []
                    worked.append((row, outcome))
                    if outcome.pop("_returns"):
                        visits.append((row, outcome["appointment_date"] or _later(rng, list_date, 1, 25)))
        outcomes = [outcome for _, outcome in worked]
        closing += [(row, outcome) for row, outcome in worked if outcome["outcome"] in FEEDBACK_OUTCOMES]
        out = inbox / f"OUTCOMES_{dealer}_{stamp}.csv"
        bad_rng = random.Random(f"{config.seed}:{dealer}:{stamp}:bad")
        listed = {row["call_id"] for row, _ in worked}
        result.bad_rows += _damage(out, outcomes, listed, config.unknown_call_ids, config.unknown_outcomes, bad_rng)
        fault = config.files.pick(out.name, OUTCOMES_SHAPE)
        written = write_file(
            out, OUTCOMES_SHAPE, _outcome_rows(outcomes), fault, OUTCOMES_ENCODING, config.files.seed, first=True
        )
        if fault is not None:
            result.faulty[out.name] = written
        if written.deliveries:
            result.outcomes.append(out)
        if written.path != out:  # a renamed re-send
            result.outcomes.append(written.path)
        result.rows += len(outcomes)
    with sqlite3.connect(world) as conn:
        result.complaints_registered = service_experience.record(conn, list_date, heard, config.seed)
    result.complaints_heard = len(heard)
    result.returns = _add_return_visits(world, visits, list_date)
    result.dms_changes = _feed_back(world, _plan_feedback(closing, config, list_date))
    return result


SMS_DELIVERED = 0.95  # share of SMS_SENT among the SMS rows worked
ATTRIBUTION_DAYS = 30


def _listed_before(world: Path, rows: list[tuple[dict[str, str], bool]], list_date: dt.date) -> set[tuple[str, str]]:
    """The (customer, reason) pairs of this day's rows first listed within the attribution
    window before it, and records today's first listings. The true uplift is per listing
    of a reason (the platform's unit: a due event's first place, and the rows that follow
    it up): a row listing the customer for the same reason again within the window (a
    failed reminder's SMS, a callback, a carried or re-sent row) with ``attempt_no`` 1 or
    none must not draw the effect a second time. Recorded in the world, so working a day
    again gives the same outcomes."""
    since = (list_date - dt.timedelta(days=ATTRIBUTION_DAYS - 1)).isoformat()
    first = {
        (row["customer_id"], row.get("primary_reason", "")) for row, _ in rows if int(row.get("attempt_no") or 1) == 1
    }
    with sqlite3.connect(world) as conn:
        conn.execute(
            "create table if not exists cc_first_listings"
            " (customer_id text, reason text, list_date text, primary key (customer_id, reason, list_date))"
        )
        before = {
            (customer, reason)
            for customer, reason in conn.execute(
                "select customer_id, reason from cc_first_listings where list_date >= ? and list_date < ?",
                (since, list_date.isoformat()),
            )
        }
        conn.executemany(
            "insert or ignore into cc_first_listings values (?, ?, ?)",
            [(c, r, list_date.isoformat()) for c, r in sorted(first - before)],
        )
    return before & {(row["customer_id"], row.get("primary_reason", "")) for row, _ in rows}


def _coming_anyway(world: Path, customers: set[str], list_date: dt.date) -> set[str]:
    """The listed customers who come back within the attribution window on their own: a
    closed repair order (not a PDI) opened in it, already in the world's future. The
    visits this list date's calls caused are not counted, so working a day again gives
    the same outcomes."""
    if not customers:
        return set()
    caused_today = f"%-CC{list_date:%Y%m%d}%"
    since, until = list_date.isoformat(), (list_date + dt.timedelta(days=ATTRIBUTION_DAYS)).isoformat()
    with sqlite3.connect(world) as conn:
        conn.execute("create temp table if not exists listed_customers (customer_id text primary key)")
        conn.execute("delete from listed_customers")
        conn.executemany("insert or ignore into listed_customers values (?)", [(c,) for c in customers])
        return {
            c
            for (c,) in conn.execute(
                "select distinct json_extract(record, '$.customer_id') from dms_versions"
                " where entity = 'repair_orders' and json_extract(record, '$.status') = 'closed'"
                "   and json_extract(record, '$.service_type') <> 'PDI'"
                "   and json_extract(record, '$.open_date') > ? and json_extract(record, '$.open_date') <= ?"
                "   and json_extract(record, '$.customer_id') in (select customer_id from listed_customers)"
                "   and pk not like ?",
                (since, until, caused_today),
            )
        }


def _effect(
    rows: list[tuple[dict[str, str], bool]], coming_anyway: set[str], config: CallCenterConfig
) -> dict[tuple[str, bool], float]:
    """Per (reason, SMS or not): the probability that a worked first listing brings back a
    customer who would not have come anyway, such that the listed customers' 30-day return
    rate is the unlisted one's plus ``uplift[reason]``: with a share p0 coming anyway,
    p0 + (1 - p0) * worked * q = p0 + uplift, so q = uplift / ((1 - p0) * worked)."""
    groups: dict[tuple[str, bool], list[bool]] = {}
    for row, sms in rows:
        if int(row.get("attempt_no") or 1) == 1:
            groups.setdefault((row.get("primary_reason", ""), sms), []).append(row["customer_id"] in coming_anyway)
    effects = {}
    for (reason, sms), anyway in groups.items():
        p0 = sum(anyway) / len(anyway)
        worked = (1 - config.not_attempted_rate) * (SMS_DELIVERED if sms else 1.0)
        effects[(reason, sms)] = min(1.0, config.uplift.get(reason, 0.0) / max((1 - p0) * worked, 1e-9))
    return effects


def _outcome_rows(outcomes: list[dict], columns: list[str] = OUTCOME_COLUMNS) -> list[list[str]]:
    return [["" if o.get(c) is None else str(o[c]) for c in columns] for o in outcomes]


def _write_outcomes(path: Path, outcomes: list[dict], columns: list[str] = OUTCOME_COLUMNS) -> None:
    """An OUTCOMES file: UTF-8 with a BOM, CRLF, the English header."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(outcomes)
    path.write_bytes(buffer.getvalue().encode(OUTCOMES_ENCODING))


def write_faulty_outcomes(path: Path, fault: str, seed: int = 0) -> FaultyFile:
    """Deliver an existing OUTCOMES file again, now with ``fault`` (one call, one
    delivery, as ``insurer_files.write_faulty_file``): for tests that write or keep their
    own outcome files. A file without the version-2 columns gets them empty first."""
    outcomes = list(csv.DictReader(io.StringIO(path.read_bytes().decode(OUTCOMES_ENCODING))))
    return write_file(path, OUTCOMES_SHAPE, _outcome_rows(outcomes), fault, OUTCOMES_ENCODING, seed, first=False)


# --- rows the platform must put aside ------------------------------------------------------


def _damage(
    path: Path, outcomes: list[dict], listed: set[str], unknown_call_ids: int, unknown_outcomes: int, rng: random.Random
) -> list[BadOutcomeRow]:
    """Turn rows without any effect on the world (not reached, declined, SMS..., no
    complaint heard) into rows with an unknown call_id (the call center's own numbering
    leaked in) or an unknown outcome code, in place. Rows with an effect are never touched, so the world
    and the good rows stay consistent. Fewer rows are damaged only when the file has
    too few inert rows; the returned list is exactly what was damaged."""
    inert = [
        i for i, o in enumerate(outcomes) if o["outcome"] in _INERT and not service_experience.tells_a_complaint(o)
    ]
    chosen = rng.sample(inert, min(len(inert), unknown_call_ids + unknown_outcomes))
    bad = []
    for n, index in enumerate(chosen):
        row = outcomes[index]
        if n < unknown_call_ids:
            row["call_id"] = _foreign_call_id(row, n, listed)
            bad.append(BadOutcomeRow(path, row["call_id"], row["outcome"], "unknown_call_id"))
        else:
            code = list(UNKNOWN_OUTCOMES)[n % len(UNKNOWN_OUTCOMES)]
            row.update(outcome=code, note=UNKNOWN_OUTCOMES[code], callback_date="", appointment_date="")
            bad.append(BadOutcomeRow(path, row["call_id"], code, "unknown_outcome"))
    return bad


def _foreign_call_id(row: dict, n: int, listed: set[str]) -> str:
    call_id = f"CC-{row['dealer_code']}-{row['list_date'].replace('-', '')}-{n + 1:04d}"
    while call_id in listed:
        call_id += "X"
    return call_id


def add_bad_rows(
    path: Path, unknown_call_ids: int = 1, unknown_outcomes: int = 1, seed: int = 0
) -> list[BadOutcomeRow]:
    """Damage an existing OUTCOMES file in place (see ``CallCenterConfig.unknown_*``):
    for tests that write or keep their own outcome files. The call_ids already in the
    file count as listed."""
    reader = csv.DictReader(io.StringIO(path.read_bytes().decode(OUTCOMES_ENCODING)))
    outcomes = list(reader)
    listed = {row["call_id"] for row in outcomes}
    bad = _damage(path, outcomes, listed, unknown_call_ids, unknown_outcomes, random.Random(f"{seed}:{path.name}:bad"))
    _write_outcomes(path, outcomes, list(reader.fieldnames or OUTCOME_COLUMNS))
    return bad


def _later(rng: random.Random, day: dt.date, low: int, high: int) -> str:
    return (day + dt.timedelta(days=rng.randint(low, high))).isoformat()


def _work_row(
    rng: random.Random, row: dict[str, str], sms: bool, day: dt.date, config: CallCenterConfig, effect: float
) -> dict | None:
    """One list row's outcome; ``_returns`` says whether the customer comes back because of
    it (with probability ``effect`` on a first attempt that is worked)."""
    if rng.random() < config.not_attempted_rate:
        return None
    slot = row.get("preferred_slot") or "MORNING"
    slot = slot if slot in SLOT_HOURS else "MORNING"
    returns = int(row.get("attempt_no") or 1) == 1 and rng.random() < effect
    hours = SLOT_HOURS[slot]
    seconds = int(rng.uniform(*hours) * 3600)
    called_at = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)
    appointment = callback = ""
    if sms:  # a delivered SMS has the reason's effect too: the customer books at the counter
        outcome = "SMS_SENT" if rng.random() < SMS_DELIVERED else "SMS_FAILED"
        returns = returns and outcome == "SMS_SENT"
        # a recipient the message did not bring back may reply to opt out (its own draw:
        # the other outcomes do not move)
        opt_out = random.Random(f"{config.seed}:{row['call_id']}:unsubscribe").random() < config.unsubscribe_rate
        outcome = "UNSUBSCRIBED" if outcome == "SMS_SENT" and not returns and opt_out else outcome
    elif returns:
        outcome = "BOOKED"
        # the call caused a kept appointment; an accident's car is towed in the next day
        tow = row.get("primary_reason") == ACCIDENT_LEAD
        appointment = (day + dt.timedelta(days=1)).isoformat() if tow else _later(rng, day, 1, 10)
    elif rng.random() < config.wrong_number_rate:
        outcome = "WRONG_NUMBER"
    elif rng.random() < (
        REACH_IN_PREFERRED_SLOT if slot == preferred_slot(row["customer_id"]) else REACH_IN_OTHER_SLOT
    ):
        outcome = _pick(rng, REACHED)
        callback = _later(rng, day, 1, 7) if outcome == "CALLBACK_REQUESTED" else ""
    else:
        outcome = _pick(rng, NOT_REACHED)
    return {
        "call_id": row["call_id"],
        "list_date": day.isoformat(),
        "dealer_code": row["dealer_code"],
        "customer_id": row["customer_id"],
        "attempt_no": row.get("attempt_no") or "1",
        "called_at": called_at.isoformat() + "+08:00",
        "channel": "SMS" if sms else "PHONE",
        "outcome": outcome,
        "callback_date": callback,
        "appointment_date": appointment,
        "note": NOTES[outcome],
        **_loss_reason(outcome, random.Random(f"{config.seed}:{row['call_id']}:v2")),
        "_returns": returns,
    }


#: Why a reached customer went elsewhere or declines (contract version 2's ``loss_reason``;
#: the score and complaint are ``service_experience``'s).
LOSS_REASONS = {
    "SERVICED_AT_OTHER_DEALER": "OTHER_DEALER",
    "SERVICED_AT_INDEPENDENT_SHOP": "INDEPENDENT_SHOP",
    "MOVED_AWAY": "DISTANCE",
}
DECLINE_REASONS = {"PRICE": 0.35, "NO_NEED": 0.4, "SERVICE_QUALITY": 0.15, "INSURER_ASSIGNED": 0.1}


def _loss_reason(outcome: str, rng: random.Random) -> dict[str, str]:
    """The call's ``loss_reason``, from a generator of its own (so adding it changed no
    outcome): empty unless the customer was reached."""
    loss = LOSS_REASONS.get(outcome) or (_pick(rng, DECLINE_REASONS) if outcome == "DECLINED" else "")
    return {"csi_score": "", "complaint_category": "", "loss_reason": loss}


def _last_mileages(conn: sqlite3.Connection, vins: set[str], list_date: dt.date) -> dict[str, int]:
    """Each vehicle's highest odometer reading, in one pass over the repair orders (a
    query per vehicle would scan them once per returning customer); not those the calls
    of ``list_date`` caused, so that working the day again gives the same orders."""
    conn.execute("create temp table if not exists wanted_vins (vin text primary key)")
    conn.execute("delete from wanted_vins")
    conn.executemany("insert or ignore into wanted_vins values (?)", [(v,) for v in vins])
    return dict(
        conn.execute(
            "select json_extract(record, '$.vin') as vin, max(cast(json_extract(record, '$.mileage_km') as integer))"
            " from dms_versions where entity = 'repair_orders'"
            "   and json_extract(record, '$.vin') in (select vin from wanted_vins) and pk not like ? group by 1",
            (f"%-CC{list_date:%Y%m%d}%",),
        )
    )


def _vehicles_of(conn: sqlite3.Connection, customers: set[str], list_date: dt.date) -> dict[str, str]:
    """Each customer's vehicle changed most recently, as the DMS knew it on the list date
    (what a customer listed for a reason without a vehicle, a birthday, comes back with)."""
    if not customers:
        return {}
    conn.execute("create temp table if not exists wanted_customers (customer_id text primary key)")
    conn.execute("delete from wanted_customers")
    conn.executemany("insert or ignore into wanted_customers values (?)", [(c,) for c in customers])
    until = f"{list_date + dt.timedelta(days=1):%Y-%m-%d}T00:00:00+08:00"
    return {
        customer: vin
        for customer, vin, _ in conn.execute(
            "select json_extract(record, '$.customer_id') as customer, pk, max(updated_at) from dms_versions"
            " where entity = 'vehicles' and visible_at < ?"
            "   and json_extract(record, '$.customer_id') in (select customer_id from wanted_customers)"
            " group by customer",
            (until,),
        )
    }


#: The reason whose call can win an accident towed elsewhere (``insurance.towed_elsewhere_rows``).
ACCIDENT_LEAD = "ACCIDENT_LEAD"


class _Won(NamedTuple):
    claim_no: str
    amount: str


def _win_accidents(conn: sqlite3.Connection, rows: list[dict[str, str]], list_date: dt.date) -> dict[str, _Won]:
    """The accidents the ACCIDENT_LEAD calls won, by VIN: of each called vehicle, the claim
    towed elsewhere that was reported 1-2 days before the call. The car is towed to the
    caller's dealer instead: the claim's rows in the insurer files of the call's day and
    later name that dealer as the repairer (维修单位代码). A lead on an accident the group
    repairs anyway (its order not yet opened) wins nothing: the car was coming."""
    won: dict[str, _Won] = {}
    for row in rows:
        claims = conn.execute(
            "select json_extract(fields, '$[0]'), replace(json_extract(fields, '$[4]'), '/', '-'),"
            " max(cast(json_extract(fields, '$[5]') as real))"
            " from insurer_rows where kind = 'CLAIM' and json_extract(fields, '$[2]') = ?"
            "   and json_extract(fields, '$[0]') like ? group by 1, 2",
            (row["vin"], f"{TOWED_PREFIX}%"),
        ).fetchall()
        first, last = (list_date - dt.timedelta(days=2)).isoformat(), (list_date - dt.timedelta(days=1)).isoformat()
        for claim_no, reported, amount in claims:
            if first <= reported <= last:
                conn.execute(
                    "update insurer_rows set fields = json_set(fields, '$[6]', ?)"
                    " where kind = 'CLAIM' and json_extract(fields, '$[0]') = ? and file_date >= ?",
                    (row["dealer_code"], claim_no, list_date.isoformat()),
                )
                won[row["vin"]] = _Won(claim_no, f"{amount:.2f}")
                break
    return won


def _service_advisors(
    conn: sqlite3.Connection, visits: list[tuple[dict[str, str], str]], list_date: dt.date
) -> dict[str, str | None]:
    """Who receives each returning customer at the counter: a service advisor, never the
    回访员, 续保专员 or 销售顾问 who may have made the call. The list row's advisor if an
    active service advisor on the list date; else the advisor of the customer's latest
    order if still active; else one of the dealer's active service advisors (the same
    for a customer every time); None if the dealer has none."""
    until = f"{list_date + dt.timedelta(days=1):%Y-%m-%d}T00:00:00+08:00"
    staff = [
        json.loads(record)
        for (record,) in conn.execute(
            "select record from (select record, row_number() over (partition by pk order by updated_at desc) as rn"
            " from dms_versions where entity = 'advisors' and visible_at < ?) where rn = 1 order by 1",
            (until,),
        )
    ]
    active = {
        a["advisor_id"]: a["dealer_code"]
        for a in staff
        if a.get("active") and (a.get("role") or "service_advisor") == "service_advisor"
    }
    by_dealer: dict[str, list[str]] = {}
    for advisor, dealer in sorted(active.items()):
        by_dealer.setdefault(dealer, []).append(advisor)
    customers = {row["customer_id"] for row, _ in visits}
    conn.execute("create temp table if not exists wanted_customers (customer_id text primary key)")
    conn.execute("delete from wanted_customers")
    conn.executemany("insert or ignore into wanted_customers values (?)", [(c,) for c in customers])
    latest = {
        customer: advisor
        for customer, advisor, _ in conn.execute(
            "select json_extract(record, '$.customer_id'), json_extract(record, '$.advisor_id'), max(updated_at)"
            " from dms_versions where entity = 'repair_orders' and visible_at < ?"
            "   and json_extract(record, '$.customer_id') in (select customer_id from wanted_customers)"
            " group by 1",
            (until,),
        )
    }
    chosen: dict[str, str | None] = {}
    for row, _ in visits:
        customer = row["customer_id"]
        pool = by_dealer.get(row["dealer_code"], [])
        candidates = [row.get("advisor_id"), latest.get(customer)]
        known = [a for a in candidates if a in active and active[a] == row["dealer_code"]]
        digest = int(hashlib.sha256(customer.encode()).hexdigest()[:8], 16)
        chosen[customer] = known[0] if known else (pool[digest % len(pool)] if pool else None)
    return chosen


def _caused_work(
    work: caused_work.OpenWork, row: dict[str, str], order: dict, day: str, closed_at: str
) -> list[caused_work.Version]:
    """What the caused visit does for the reason it was called about (``caused_work``):
    the open recall remedied, the declined work done; nothing if it is no longer open."""
    reason = row.get("primary_reason")
    if reason == caused_work.RECALL_OPEN and (recall := work.open_recall(row["vin"])):
        return work.remedy_recall(recall, order, day)
    if reason == caused_work.DECLINED_WORK and (item := work.open_recommendation(row["vin"], row.get("due_date", ""))):
        return work.do_declined_work(item, order, closed_at)
    return []


def _add_return_visits(world: Path, visits: list[tuple[dict[str, str], str]], list_date: dt.date) -> int:
    """The visits the calls caused: an appointment (source call_center) and a closed
    maintenance order on its date, visible once the clock passes them; returns how many.
    A customer listed without a vehicle comes with theirs (none: nothing to service). An
    ACCIDENT_LEAD call brings the car towed in the next day, if it won the accident
    (``_win_accidents``): a BODY_PAINT order paid by the claim."""
    if not visits:
        return 0
    with sqlite3.connect(world) as conn:
        cars = _vehicles_of(conn, {row["customer_id"] for row, _ in visits if not row.get("vin")}, list_date)
        visits = [({**row, "vin": row.get("vin") or cars.get(row["customer_id"], "")}, day) for row, day in visits]
        visits = [(row, day) for row, day in visits if row["vin"]]
        leads = [row for row, _ in visits if row.get("primary_reason") == ACCIDENT_LEAD]
        won = _win_accidents(conn, leads, list_date)
        tow_day = (list_date + dt.timedelta(days=1)).isoformat()
        visits = [
            (row, tow_day if row.get("primary_reason") == ACCIDENT_LEAD else day)
            for row, day in visits
            if row.get("primary_reason") != ACCIDENT_LEAD or row["vin"] in won
        ]
        last_kms = _last_mileages(conn, {row["vin"] for row, _ in visits}, list_date)
        advisors = _service_advisors(conn, visits, list_date)
        called_about = {row["vin"] for row, _ in visits if row.get("primary_reason") in caused_work.REASONS}
        work = caused_work.OpenWork(conn, called_about, list_date)
        records: list[caused_work.Version] = []
        for n, (row, day) in enumerate(visits):
            accident = won.get(row["vin"]) if row.get("primary_reason") == ACCIDENT_LEAD else None
            last_km = last_kms.get(row["vin"])
            number = f"RO{row['dealer_code']}-CC{list_date:%Y%m%d}{n:05d}"
            appointment = number.replace("RO", "AP")
            booked_at = f"{list_date.isoformat()}T15:00:00+08:00"
            opened_at, closed_at = f"{day}T09:00:00+08:00", f"{day}T16:00:00+08:00"
            base_appt = {
                "appointment_id": appointment,
                "dealer_code": row["dealer_code"],
                "customer_id": row["customer_id"],
                "vin": row["vin"],
                "appointment_date": day,
                "slot": "09:00",
                "source": "call_center",
            }
            records += [
                (
                    "appointments",
                    appointment,
                    row["dealer_code"],
                    booked_at,
                    {**base_appt, "status": "booked", "created_at": booked_at, "updated_at": booked_at},
                ),
                (
                    "appointments",
                    appointment,
                    row["dealer_code"],
                    f"{day}T08:30:00+08:00",
                    {**base_appt, "status": "arrived", "created_at": booked_at, "updated_at": f"{day}T08:30:00+08:00"},
                ),
            ]
            order = {
                "ro_number": number,
                "dealer_code": row["dealer_code"],
                "vin": row["vin"],
                "customer_id": row["customer_id"],
                "advisor_id": advisors[row["customer_id"]],
                "open_date": day,
                "close_date": None,
                "mileage_km": (last_km or 0) + 1500,
                "service_type": "MAINTENANCE",
                "status": "open",
                "labor_amount": "180.00",
                "parts_amount": "420.00",
                "total_amount": "600.00",
                "appointment_id": appointment,
                "campaign_code": None,
                "insurance_claim_no": None,
            }
            records += _caused_work(work, row, order, day, closed_at)
            if accident is not None:
                order |= {
                    "service_type": "BODY_PAINT",
                    "labor_amount": "0.00",
                    "parts_amount": accident.amount,
                    "total_amount": accident.amount,
                    "insurance_claim_no": accident.claim_no,
                }
            records += [
                ("repair_orders", number, row["dealer_code"], opened_at, {**order, "updated_at": opened_at}),
                (
                    "repair_orders",
                    number,
                    row["dealer_code"],
                    closed_at,
                    {**order, "close_date": day, "status": "closed", "updated_at": closed_at},
                ),
            ]
        work.finish()
        conn.executemany(
            "insert or replace into dms_versions (entity, pk, dealer_code, updated_at, visible_at, record)"
            " values (?, ?, ?, ?, ?, ?)",
            [(e, pk, d, ts, ts, json.dumps(r, ensure_ascii=False)) for e, pk, d, ts, r in records],
        )
    return len(visits)


# --- what the DMS learns from the calls ---------------------------------------------------


@dataclass(frozen=True)
class _Planned:
    entity: str  # customers or vehicles
    pk: str
    at: dt.datetime  # local time of the new version
    change: str
    updates: dict  # fields the new version changes
    call_id: str


def _plan_feedback(
    closing: list[tuple[dict[str, str], dict]], config: CallCenterConfig, list_date: dt.date
) -> list[_Planned]:
    """The DMS changes the closing outcomes lead to, with their times. One generator per
    (seed, list date): the outcomes themselves do not shift when this changes."""
    rng = random.Random(f"{config.seed}:{list_date:%Y%m%d}:dms")
    planned = []
    for row, outcome in closing:
        called = dt.datetime.fromisoformat(outcome["called_at"][:19])
        kind, call_id = outcome["outcome"], outcome["call_id"]
        if kind == "DO_NOT_CALL":  # the agent logs the opt-out; it reaches the DMS hours later
            at = called + dt.timedelta(seconds=rng.randint(2 * 3600, 8 * 3600))
            planned.append(
                _Planned("customers", row["customer_id"], at, "consent_call_false", {"consent_call": False}, call_id)
            )
        elif kind == "WRONG_NUMBER" and rng.random() < config.wrong_number_fix_rate:
            if rng.random() < 0.5:  # the CRM team blanks the number within days
                at = _office_time(rng, called.date() + dt.timedelta(days=rng.randint(1, 3)))
                planned.append(_Planned("customers", row["customer_id"], at, "mobile_blanked", {"mobile": ""}, call_id))
            else:  # fixed at the counter on a later visit
                at = _office_time(rng, called.date() + dt.timedelta(days=rng.randint(7, 60)))
                mobile = rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
                planned.append(
                    _Planned("customers", row["customer_id"], at, "mobile_corrected", {"mobile": mobile}, call_id)
                )
        elif kind == "VEHICLE_SOLD" and row.get("vin") and rng.random() < config.vehicle_sold_rate:
            at = _office_time(rng, called.date() + dt.timedelta(days=rng.randint(3, 30)))
            planned.append(_Planned("vehicles", row["vin"], at, "vehicle_sold", {"status": "sold"}, call_id))
    return planned


def _office_time(rng: random.Random, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9)) + dt.timedelta(seconds=rng.randint(0, 9 * 3600))


def _feed_back(world: Path, planned: list[_Planned]) -> list[DmsChange]:
    """Write the planned changes as new DMS versions (store.add_versions, idempotent):
    each copies the record's latest version before it and changes the planned fields.
    A customer's later versions (already generated: edits, another change) keep the
    change, as the DMS would. A vehicle whose world already holds a later version is
    left alone (its future is written); records the world does not hold are skipped.
    One change at a time, so two changes to one record both show in the later one."""
    changes: list[DmsChange] = []
    with sqlite3.connect(world) as conn:
        for plan in planned:
            at = plan.at.strftime("%Y-%m-%dT%H:%M:%S+08:00")
            before = conn.execute(
                "select dealer_code, record from dms_versions where entity = ? and pk = ? and updated_at < ?"
                " order by updated_at desc limit 1",
                (plan.entity, plan.pk, at),
            ).fetchone()
            if before is None:
                continue
            record = json.loads(before[1])
            if plan.entity == "vehicles":
                later = conn.execute(
                    "select 1 from dms_versions where entity = ? and pk = ? and updated_at > ?",
                    (plan.entity, plan.pk, at),
                ).fetchone()
                if later or record.get("status") != "active":
                    continue
            for name, value in plan.updates.items():
                conn.execute(
                    "update dms_versions set record = json_set(record, ?, json(?))"
                    " where entity = ? and pk = ? and updated_at > ?",
                    (f"$.{name}", json.dumps(value), plan.entity, plan.pk, at),
                )
            version = pd.DataFrame([{**record, **plan.updates, "updated_at": at}], dtype=object)
            store.add_versions(
                conn,
                plan.entity,
                version,
                "customer_id" if plan.entity == "customers" else "vin",
                dealer_code=pd.Series([before[0]], dtype=object),
                replace=True,
            )
            changes.append(DmsChange(plan.entity, plan.pk, at, plan.change, plan.call_id))
    return changes
