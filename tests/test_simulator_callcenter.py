"""The call-center simulator: outcome files per docs/feeds.md §4, and a known true uplift."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from baoke_sim import store
from baoke_sim.callcenter import (
    OUTCOME_COLUMNS,
    REACHED,
    TRUE_UPLIFT,
    UNKNOWN_OUTCOMES,
    CallCenterConfig,
    add_bad_rows,
    preferred_slot,
    slot_of,
    work_lists,
)
from baoke_sim.dms_api import ListingQuery, fetch_page
from baoke_sim.world import generate

LIST_COLUMNS = [
    "call_id",
    "list_date",
    "dealer_code",
    "advisor_id",
    "advisor_name",
    "customer_id",
    "customer_name",
    "mobile",
    "vin",
    "plate_no",
    "model",
    "primary_reason",
    "other_reasons",
    "due_date",
    "last_visit_date",
    "days_since_last_visit",
    "churn_status",
    "attempt_no",
    "preferred_slot",
    "priority",
    "campaign_code",
    "script_hint",
]
DAY = dt.date(2026, 11, 23)


def write_list(outbound: Path, kind: str, rows: list[dict]) -> None:
    folder = outbound / DAY.isoformat() / "D001"
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, LIST_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    (folder / f"{kind}_D001_{DAY:%Y%m%d}.csv").write_bytes(buffer.getvalue().encode("utf-8-sig"))


def list_row(i: int, reason: str, attempt: int = 1) -> dict:
    return {
        "call_id": f"D001-{DAY:%Y%m%d}-{i:05d}",
        "list_date": DAY.isoformat(),
        "dealer_code": "D001",
        "advisor_id": "D001-A01",
        "customer_id": f"C{i:08d}",
        "vin": f"LHXTEST{i:010d}",
        "primary_reason": reason,
        "attempt_no": str(attempt),
        "preferred_slot": "MORNING",
        "priority": "4",
    }


@pytest.fixture
def world(tmp_path: Path) -> Path:
    conn = store.create(tmp_path / "world.sqlite")
    store.set_meta(conn, clock=f"{DAY.isoformat()}T00:00:00+08:00", start="2020-12-31", until="2026-12-31")
    conn.close()
    return tmp_path / "world.sqlite"


def read_outcomes(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_outcome_files_follow_the_contract(world: Path, tmp_path: Path):
    write_list(tmp_path / "out", "call_list", [list_row(i, "LAPSING_WINBACK") for i in range(300)])
    write_list(tmp_path / "out", "sms_list", [list_row(1000 + i, "BIRTHDAY") for i in range(50)])
    result = work_lists(DAY, tmp_path / "out", tmp_path / "inbox", world)
    assert [p.name for p in result.outcomes] == ["OUTCOMES_D001_20261123.csv"]
    rows = read_outcomes(result.outcomes[0])
    assert list(rows[0]) == OUTCOME_COLUMNS
    assert 280 < len(rows) < 350, "a few rows are never attempted"
    phone = [r for r in rows if r["channel"] == "PHONE"]
    sms = [r for r in rows if r["channel"] == "SMS"]
    assert {r["outcome"] for r in sms} <= {"SMS_SENT", "SMS_FAILED", "UNSUBSCRIBED"}
    outcomes = {r["outcome"] for r in phone}
    assert {"NO_ANSWER", "DECLINED", "BOOKED", "CALLBACK_REQUESTED"} <= outcomes
    assert all(r["callback_date"] > DAY.isoformat() for r in phone if r["outcome"] == "CALLBACK_REQUESTED")
    assert all(r["appointment_date"] > DAY.isoformat() for r in phone if r["outcome"] == "BOOKED")
    assert all(r["called_at"].startswith(DAY.isoformat()) and r["called_at"].endswith("+08:00") for r in rows)


def work_one_list(world: Path, tmp_path: Path, kind: str, reason: str, n: int, seed: int):
    """Work a list of ``n`` first attempts for ``reason``; the returns it caused must be
    the true uplift's share of ``n`` (within 4 standard deviations)."""
    write_list(tmp_path / "out", kind, [list_row(i, reason) for i in range(n)])
    result = work_lists(DAY, tmp_path / "out", tmp_path / "inbox", world, CallCenterConfig(seed=seed))
    expected = TRUE_UPLIFT[reason] * n
    assert abs(result.returns - expected) < 4 * (expected**0.5)
    return result


def test_the_calls_cause_returns_at_the_true_uplift(world: Path, tmp_path: Path):
    result = work_one_list(world, tmp_path, "call_list", "MAINTENANCE_DUE", 3000, seed=4)
    with sqlite3.connect(world) as conn:
        closed = conn.execute(
            "select count(*) from dms_versions where entity = 'repair_orders'"
            " and json_extract(record, '$.status') = 'closed'"
        ).fetchone()[0]
        sources = {
            r[0]
            for r in conn.execute(
                "select json_extract(record, '$.source') from dms_versions where entity = 'appointments'"
            )
        }
    assert closed == result.returns
    assert sources == {"call_center"}


def test_sms_rows_cause_returns_too(world: Path, tmp_path: Path):
    work_one_list(world, tmp_path, "sms_list", "LAPSING_WINBACK", 3000, seed=5)


def test_the_calls_bring_back_only_customers_who_would_not_come_anyway(world: Path, tmp_path: Path):
    """Half the listed customers come back on their own within 30 days (their visits are in
    the world's future): the listing adds the true uplift to the return rate, so it brings
    back uplift / (1 - 0.5) of the others, and none of those who come anyway."""
    n = 4000
    anyway = {f"C{i:08d}" for i in range(0, n, 2)}
    with sqlite3.connect(world) as conn:
        conn.executemany(
            "insert into dms_versions (entity, pk, dealer_code, updated_at, visible_at, record)"
            " values (?, ?, ?, ?, ?, ?)",
            [
                (
                    "repair_orders",
                    f"RO{c}",
                    "D001",
                    "2026-12-01T16:00:00+08:00",
                    "2026-12-01T16:00:00+08:00",
                    json.dumps(
                        {
                            "ro_number": f"RO{c}",
                            "customer_id": c,
                            "status": "closed",
                            "service_type": "MAINTENANCE",
                            "open_date": "2026-12-01",
                            "vin": f"V{c}",
                        }
                    ),
                )
                for c in sorted(anyway)
            ],
        )
    work_one_list(world, tmp_path, "call_list", "MAINTENANCE_DUE", n, seed=6)
    with sqlite3.connect(world) as conn:
        brought_back = {
            r[0]
            for r in conn.execute(
                "select json_extract(record, '$.customer_id') from dms_versions where pk like 'ROD001-CC%'"
            )
        }
    assert brought_back
    assert not brought_back & anyway


def test_later_attempts_do_not_count_the_effect_twice(world: Path, tmp_path: Path):
    write_list(tmp_path / "out", "call_list", [list_row(i, "MAINTENANCE_DUE", attempt=2) for i in range(500)])
    assert work_lists(DAY, tmp_path / "out", tmp_path / "inbox", world).returns == 0


def test_outcomes_are_deterministic(world: Path, tmp_path: Path):
    write_list(tmp_path / "out", "call_list", [list_row(i, "LOST_WINBACK") for i in range(200)])
    a = work_lists(DAY, tmp_path / "out", tmp_path / "a", world, CallCenterConfig(seed=2)).outcomes[0].read_bytes()
    b = work_lists(DAY, tmp_path / "out", tmp_path / "b", world, CallCenterConfig(seed=2)).outcomes[0].read_bytes()
    assert a == b


# --- rows the platform must put aside ----------------------------------------------------------

KNOWN_OUTCOMES = {
    "BOOKED",
    "CALLBACK_REQUESTED",
    "DECLINED",
    "NO_ANSWER",
    "BUSY",
    "POWERED_OFF",
    "WRONG_NUMBER",
    "DO_NOT_CALL",
    "VEHICLE_SOLD",
    "MOVED_AWAY",
    "SERVICED_AT_OTHER_DEALER",
    "SERVICED_AT_INDEPENDENT_SHOP",
    "SMS_SENT",
    "SMS_FAILED",
}


def test_outcome_files_can_carry_unknown_call_ids_and_outcome_codes(world: Path, tmp_path: Path):
    rows = [list_row(i, "LOST_WINBACK") for i in range(300)]
    write_list(tmp_path / "out", "call_list", rows)
    clean = work_lists(DAY, tmp_path / "out", tmp_path / "clean", world, CallCenterConfig(seed=3))
    config = CallCenterConfig(seed=3, unknown_call_ids=2, unknown_outcomes=3)
    result = work_lists(DAY, tmp_path / "out", tmp_path / "bad", world, config)
    listed = {r["call_id"] for r in rows}
    good, bad = read_outcomes(clean.outcomes[0]), read_outcomes(result.outcomes[0])
    assert len(bad) == len(good) == result.rows == clean.rows, "rows are damaged, none added or lost"
    unknown_ids = [r for r in bad if r["call_id"] not in listed]
    unknown_codes = [r for r in bad if r["outcome"] not in KNOWN_OUTCOMES]
    assert len(unknown_ids) == 2
    assert len(unknown_codes) == 3
    assert {r["outcome"] for r in unknown_codes} <= set(UNKNOWN_OUTCOMES)
    assert sorted((b.call_id, b.reason) for b in result.bad_rows) == sorted(
        [(r["call_id"], "unknown_call_id") for r in unknown_ids]
        + [(r["call_id"], "unknown_outcome") for r in unknown_codes]
    )
    assert all(b.path == result.outcomes[0] for b in result.bad_rows)
    differ = [(g, b) for g, b in zip(good, bad, strict=False) if g != b]
    assert len(differ) == 5, "only the damaged rows differ from the clean file"
    assert all(g["outcome"] not in ("BOOKED", "DO_NOT_CALL", "WRONG_NUMBER", "VEHICLE_SOLD") for g, _ in differ)
    assert clean.returns == result.returns


def test_bad_rows_can_be_added_to_an_existing_outcomes_file(world: Path, tmp_path: Path):
    write_list(tmp_path / "out", "sms_list", [list_row(i, "BIRTHDAY") for i in range(40)])
    path = work_lists(DAY, tmp_path / "out", tmp_path / "inbox", world).outcomes[0]
    before = read_outcomes(path)
    bad = add_bad_rows(path, unknown_call_ids=1, unknown_outcomes=1, seed=9)
    after = read_outcomes(path)  # still UTF-8 with a BOM
    assert len(after) == len(before)
    assert [b.reason for b in bad] == ["unknown_call_id", "unknown_outcome"]
    assert [r["call_id"] for r in after if r["call_id"] not in {r["call_id"] for r in before}] == [bad[0].call_id]
    assert [r["outcome"] for r in after if r["outcome"] not in KNOWN_OUTCOMES] == [bad[1].outcome]
    assert b"\r\n" in path.read_bytes()


# --- the call center feeds back into the DMS world -------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cc") / "world.sqlite"
    generate(path, "small", seed=5)
    return path


@pytest.fixture
def real_world(generated: Path, tmp_path: Path) -> Path:
    """A copy of a generated world (the call center writes into it), clock at DAY."""
    path = tmp_path / "real.sqlite"
    shutil.copy(generated, path)
    with sqlite3.connect(path) as conn:
        store.set_meta(conn, clock=f"{DAY.isoformat()}T00:00:00+08:00")
    return path


def customers_with_vehicles(world: Path, n: int) -> list[dict]:
    """List rows for ``n`` real customers of D001, each with an active vehicle of theirs (listed
    for a birthday: few calls cause visits, which this file tests elsewhere)."""
    with sqlite3.connect(world) as conn:
        pairs = conn.execute(
            "select json_extract(record, '$.customer_id'), pk from dms_versions where entity = 'vehicles'"
            " and updated_at < ? group by pk having max(updated_at) and json_extract(record, '$.status') = 'active'"
            " order by pk limit ?",
            (f"{DAY.isoformat()}T00:00:00+08:00", n),
        ).fetchall()
    rows = [
        list_row(i, "BIRTHDAY") | {"customer_id": c, "vin": v, "preferred_slot": "EVENING"}
        for i, (c, v) in enumerate(pairs)
    ]
    return list({r["customer_id"]: r for r in rows}.values())


def versions(world: Path, entity: str, pk: str) -> list[dict]:
    with sqlite3.connect(world) as conn:
        return [
            json.loads(r[0])
            for r in conn.execute(
                "select record from dms_versions where entity = ? and pk = ? order by updated_at", (entity, pk)
            )
        ]


def around(world: Path, entity: str, pk: str, at: str) -> tuple[dict, dict, list[dict]]:
    """The version before ``at``, the one at ``at`` and the later ones (generated future edits)."""
    every = versions(world, entity, pk)
    index = next(i for i, v in enumerate(every) if v["updated_at"] == at)
    return every[index - 1], every[index], every[index + 1 :]


def worked(result, outcome: str) -> list[dict]:
    return [r for r in read_outcomes(result.outcomes[0]) if r["outcome"] == outcome]


def test_do_not_call_sets_consent_call_false_hours_after_the_call(real_world: Path, tmp_path: Path):
    write_list(tmp_path / "out", "call_list", customers_with_vehicles(real_world, 800))
    result = work_lists(DAY, tmp_path / "out", tmp_path / "inbox", real_world, CallCenterConfig(seed=1))
    dnc = worked(result, "DO_NOT_CALL")
    assert len(dnc) >= 5
    changes = {c.pk: c for c in result.dms_changes if c.change == "consent_call_false"}
    assert set(changes) == {r["customer_id"] for r in dnc}
    for row in dnc:
        change = changes[row["customer_id"]]
        before, new, later = around(real_world, "customers", row["customer_id"], change.updated_at)
        assert versions(real_world, "customers", row["customer_id"])[-1]["consent_call"] is False, "latest version"
        assert new == {**before, "consent_call": False, "updated_at": change.updated_at}
        assert all(v["consent_call"] is False for v in later), "later edits keep the opt-out"
        lag = dt.datetime.fromisoformat(change.updated_at) - dt.datetime.fromisoformat(row["called_at"])
        assert dt.timedelta(hours=2) <= lag <= dt.timedelta(hours=8)
        assert change.call_id == row["call_id"]
    # The DMS API shows the new versions once the clock passes them.
    with sqlite3.connect(real_world) as conn:
        page = fetch_page(
            conn,
            "2026-11-25T00:00:00+08:00",
            ListingQuery("customers", "D001", since=f"{DAY.isoformat()}T00:00:00+08:00", limit=1000),
        )
    shown = {json.loads(r)["customer_id"]: json.loads(r) for _, _, r in page}
    assert all(
        shown[pk]["updated_at"] >= c.updated_at and shown[pk]["consent_call"] is False for pk, c in changes.items()
    )


def test_wrong_numbers_are_later_blanked_or_corrected_and_sold_vehicles_marked(real_world: Path, tmp_path: Path):
    write_list(tmp_path / "out", "call_list", customers_with_vehicles(real_world, 800))
    config = CallCenterConfig(seed=2, wrong_number_rate=0.1, wrong_number_fix_rate=1.0, vehicle_sold_rate=1.0)
    result = work_lists(DAY, tmp_path / "out", tmp_path / "inbox", real_world, config)
    wrong = worked(result, "WRONG_NUMBER")
    assert len(wrong) >= 20
    kinds = {c.pk: c.change for c in result.dms_changes if c.entity == "customers" and c.change.startswith("mobile")}
    assert set(kinds) == {r["customer_id"] for r in wrong}
    assert {"mobile_blanked", "mobile_corrected"} <= set(kinds.values())
    for change in (c for c in result.dms_changes if c.change.startswith("mobile")):
        before, new, later = around(real_world, "customers", change.pk, change.updated_at)
        if change.change == "mobile_blanked":
            assert new["mobile"] == ""
            assert change.updated_at[:10] <= "2026-11-26"
        else:
            assert re.fullmatch(r"1\d{10}", new["mobile"])
            assert "2026-11-30" <= change.updated_at[:10] <= "2027-01-22"
        assert new == {**before, "mobile": new["mobile"], "updated_at": change.updated_at}
        assert all(v["mobile"] == new["mobile"] for v in later)
    sold = worked(result, "VEHICLE_SOLD")
    vehicles = [c for c in result.dms_changes if c.change == "vehicle_sold"]
    assert sold
    assert len(vehicles) == len(sold)
    for change in vehicles:
        latest = versions(real_world, "vehicles", change.pk)[-1]
        assert latest["status"] == "sold"
        assert latest["updated_at"] == change.updated_at
        assert dt.date(2026, 11, 26) <= dt.date.fromisoformat(change.updated_at[:10]) <= dt.date(2026, 12, 23)


def test_feedback_is_deterministic_and_idempotent(real_world: Path, tmp_path: Path):
    write_list(tmp_path / "out", "call_list", customers_with_vehicles(real_world, 500))
    other = tmp_path / "other.sqlite"
    shutil.copy(real_world, other)
    config = CallCenterConfig(seed=6, wrong_number_fix_rate=0.5, vehicle_sold_rate=0.5)
    first = work_lists(DAY, tmp_path / "out", tmp_path / "a", real_world, config)
    assert first.dms_changes

    def dump(world: Path) -> list[tuple]:
        with sqlite3.connect(world) as conn:
            return conn.execute(
                "select * from dms_versions where entity in ('customers', 'vehicles') order by 1, 2, 4"
            ).fetchall()

    once = dump(real_world)
    again = work_lists(DAY, tmp_path / "out", tmp_path / "b", real_world, config)
    assert again.dms_changes == first.dms_changes, "a rerun adds nothing"
    assert dump(real_world) == once, "a rerun adds nothing"
    assert work_lists(DAY, tmp_path / "out", tmp_path / "c", other, config).dms_changes == first.dms_changes
    assert dump(other) == once


def test_no_fix_rates_no_mobile_or_vehicle_changes(real_world: Path, tmp_path: Path):
    write_list(tmp_path / "out", "call_list", customers_with_vehicles(real_world, 400))
    config = CallCenterConfig(seed=1, wrong_number_rate=0.2, wrong_number_fix_rate=0.0, vehicle_sold_rate=0.0)
    result = work_lists(DAY, tmp_path / "out", tmp_path / "inbox", real_world, config)
    assert worked(result, "WRONG_NUMBER")
    assert {c.change for c in result.dms_changes} == {"consent_call_false"}


# --- time slots, opt-outs, and lists of contract version 2 ---------------------------------------------

SLOTS = ("MORNING", "AFTERNOON", "EVENING")


def test_calls_are_made_in_the_listed_slot_and_reach_more_in_the_customers_own(world: Path, tmp_path: Path):
    rows = [list_row(i, "LAPSING_WINBACK") | {"preferred_slot": SLOTS[i % 3]} for i in range(6000)]
    write_list(tmp_path / "out", "call_list", rows)
    result = work_lists(DAY, tmp_path / "out", tmp_path / "inbox", world, CallCenterConfig(seed=3))
    slot_listed = {r["call_id"]: r["preferred_slot"] for r in rows}
    outcomes = read_outcomes(result.outcomes[0])
    assert {slot_of(o["called_at"]) for o in outcomes} == set(SLOTS)
    assert all(slot_of(o["called_at"]) == slot_listed[o["call_id"]] for o in outcomes)
    reached = {"BOOKED", "CALLBACK_REQUESTED", "DECLINED", *REACHED}
    tried = [o for o in outcomes if o["outcome"] not in ("BOOKED", "WRONG_NUMBER")]  # reach drawn for these
    own = [o["outcome"] in reached for o in tried if preferred_slot(o["customer_id"]) == slot_listed[o["call_id"]]]
    other = [o["outcome"] in reached for o in tried if preferred_slot(o["customer_id"]) != slot_listed[o["call_id"]]]
    assert sum(own) / len(own) > sum(other) / len(other) + 0.25


def test_customers_prefer_every_slot_and_keep_their_preference():
    customers = [f"C{i:08d}" for i in range(3000)]
    shares = {s: sum(preferred_slot(c) == s for c in customers) / 3000 for s in SLOTS}
    assert all(0.15 < share < 0.6 for share in shares.values()), shares
    assert [preferred_slot(c) for c in customers] == [preferred_slot(c) for c in customers]


def test_slot_of_a_call_follows_rules_hours():
    assert slot_of("2026-11-23T11:59:59+08:00") == "MORNING"
    assert slot_of("2026-11-23T12:00:00+08:00") == "AFTERNOON"
    assert slot_of("2026-11-23T16:59:00+08:00") == "AFTERNOON"
    assert slot_of("2026-11-23T17:00:00+08:00") == "EVENING"


def test_some_sms_recipients_unsubscribe_and_some_callers_refuse_calls(world: Path, tmp_path: Path):
    write_list(tmp_path / "out", "call_list", [list_row(i, "LAPSING_WINBACK") for i in range(2000)])
    write_list(tmp_path / "out", "sms_list", [list_row(5000 + i, "BIRTHDAY") for i in range(2000)])
    result = work_lists(DAY, tmp_path / "out", tmp_path / "inbox", world, CallCenterConfig(seed=8))
    outcomes = read_outcomes(result.outcomes[0])
    by_channel = {ch: [o["outcome"] for o in outcomes if o["channel"] == ch] for ch in ("PHONE", "SMS")}
    unsubscribed = by_channel["SMS"].count("UNSUBSCRIBED")
    assert 20 <= unsubscribed <= 110, unsubscribed  # about 3% of the delivered
    assert "UNSUBSCRIBED" not in by_channel["PHONE"]
    assert by_channel["PHONE"].count("DO_NOT_CALL") >= 10
    assert "DO_NOT_CALL" not in by_channel["SMS"]
    assert all(o["note"] for o in outcomes if o["outcome"] == "UNSUBSCRIBED")


def test_no_unsubscribe_rate_no_unsubscribed(world: Path, tmp_path: Path):
    write_list(tmp_path / "out", "sms_list", [list_row(i, "BIRTHDAY") for i in range(500)])
    result = work_lists(DAY, tmp_path / "out", tmp_path / "inbox", world, CallCenterConfig(unsubscribe_rate=0))
    assert "UNSUBSCRIBED" not in {o["outcome"] for o in read_outcomes(result.outcomes[0])}


#: Columns contract version 2 adds to the lists (outputs.md), which the call center must
#: accept wherever they stand.
V2_LIST_COLUMNS = {
    "queue": "followup_agent",
    "queue_zh": "回访员",
    "primary_reason_zh": "拟流失招揽",
    "preferred_slot_zh": "上午",
    "sms_text": "【苏州华夏】尊敬的客户，您好，\n欢迎回店保养，退订回T",
    "mobile_as_recorded": "+86 138-0013-8000",
    "exception_reason": "",
}


def test_lists_with_new_columns_in_any_order_are_read_by_header(world: Path, tmp_path: Path):
    rows = [list_row(i, "LAPSING_WINBACK") | {"preferred_slot": SLOTS[i % 3]} for i in range(400)]
    write_list(tmp_path / "plain", "call_list", rows)
    write_list(tmp_path / "plain", "sms_list", rows[:100])
    columns = sorted([*LIST_COLUMNS, *V2_LIST_COLUMNS], reverse=True)  # another order, new columns
    for kind, kind_rows in (("call_list", rows), ("sms_list", rows[:100])):
        folder = tmp_path / "v2" / DAY.isoformat() / "D001"
        folder.mkdir(parents=True, exist_ok=True)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows([r | V2_LIST_COLUMNS for r in kind_rows])
        (folder / f"{kind}_D001_{DAY:%Y%m%d}.csv").write_bytes(buffer.getvalue().encode("utf-8-sig"))
    plain = work_lists(DAY, tmp_path / "plain", tmp_path / "a", world, CallCenterConfig(seed=4))
    v2 = work_lists(DAY, tmp_path / "v2", tmp_path / "b", world, CallCenterConfig(seed=4))
    assert v2.outcomes[0].read_bytes() == plain.outcomes[0].read_bytes()
    assert len(read_outcomes(v2.outcomes[0])) > 450


def staff_of(world: Path) -> dict[str, dict]:
    with sqlite3.connect(world) as conn:
        return {
            pk: json.loads(record)
            for pk, record, _ in conn.execute(
                "select pk, record, max(updated_at) from dms_versions where entity = 'advisors'"
                " and updated_at < ? group by pk",
                (f"{DAY.isoformat()}T00:00:00+08:00",),
            )
        }


def test_customers_brought_back_by_any_queue_are_received_by_a_service_advisor(real_world: Path, tmp_path: Path):
    staff = staff_of(real_world)
    callers = sorted(a for a, s in staff.items() if s["role"] != "service_advisor")
    rows = [
        r | {"advisor_id": callers[i % len(callers)], "primary_reason": "MAINTENANCE_DUE"}
        for i, r in enumerate(customers_with_vehicles(real_world, 600))
    ]
    write_list(tmp_path / "out", "call_list", rows)
    result = work_lists(DAY, tmp_path / "out", tmp_path / "inbox", real_world, CallCenterConfig(seed=2))
    assert result.returns > 10
    with sqlite3.connect(real_world) as conn:
        received = [
            r[0]
            for r in conn.execute(
                "select json_extract(record, '$.advisor_id') from dms_versions where pk like 'ROD001-CC%'"
            )
        ]
    assert received
    assert all(staff[a]["role"] == "service_advisor" and staff[a]["active"] for a in received), (
        "a 回访员, 续保专员 or 销售顾问 calls, a service advisor opens the order"
    )


def test_a_reason_listed_again_within_the_window_does_not_draw_its_effect_again(world: Path, tmp_path: Path):
    """A failed reminder's SMS or a re-sent row lists the customer for the same reason
    again with attempt 1: the true uplift is per listing, not per row."""
    rows = [list_row(i, "WARRANTY_EXPIRY") for i in range(3000)]
    write_list(tmp_path / "out", "call_list", rows)
    first = work_lists(DAY, tmp_path / "out", tmp_path / "inbox", world, CallCenterConfig(seed=4))
    assert first.returns > 100
    later = DAY + dt.timedelta(days=3)
    folder = tmp_path / "out" / later.isoformat() / "D001"
    folder.mkdir(parents=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, LIST_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows([r | {"list_date": later.isoformat(), "attempt_no": ""} for r in rows[:1500]])
    writer.writerows([list_row(i, "MAINTENANCE_DUE") | {"list_date": later.isoformat()} for i in range(1500, 3000)])
    (folder / f"sms_list_D001_{later:%Y%m%d}.csv").write_bytes(buffer.getvalue().encode("utf-8-sig"))
    again = work_lists(later, tmp_path / "out", tmp_path / "inbox", world, CallCenterConfig(seed=4))
    with sqlite3.connect(world) as conn:
        brought = {
            r[0]
            for r in conn.execute(
                "select json_extract(record, '$.customer_id') from dms_versions where pk like ?",
                (f"ROD001-CC{later:%Y%m%d}%",),
            )
        }
    assert again.returns == len(brought) > 50, "another reason is a new listing"
    assert not brought & {r["customer_id"] for r in rows[:1500]}, "the same reason again draws nothing"
