"""The call-center simulator: outcome files per feeds.md §4, and a known true uplift."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
from pathlib import Path

import pytest

from baoke.simulator import store
from baoke.simulator.callcenter import OUTCOME_COLUMNS, TRUE_UPLIFT, CallCenterConfig, work_lists

LIST_COLUMNS = ["call_id", "list_date", "dealer_code", "advisor_id", "advisor_name", "customer_id", "customer_name",
                "mobile", "vin", "plate_no", "model", "primary_reason", "other_reasons", "due_date", "last_visit_date",
                "days_since_last_visit", "churn_status", "attempt_no", "preferred_slot", "priority", "campaign_code",
                "script_hint"]
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
    return {"call_id": f"D001-{DAY:%Y%m%d}-{i:05d}", "list_date": DAY.isoformat(), "dealer_code": "D001",
            "advisor_id": "D001-A01", "customer_id": f"C{i:08d}", "vin": f"LHXTEST{i:010d}",
            "primary_reason": reason, "attempt_no": str(attempt), "preferred_slot": "MORNING", "priority": "4"}


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
    assert {r["outcome"] for r in sms} <= {"SMS_SENT", "SMS_FAILED"}
    outcomes = {r["outcome"] for r in phone}
    assert {"NO_ANSWER", "DECLINED", "BOOKED", "CALLBACK_REQUESTED"} <= outcomes
    assert all(r["callback_date"] > DAY.isoformat() for r in phone if r["outcome"] == "CALLBACK_REQUESTED")
    assert all(r["appointment_date"] > DAY.isoformat() for r in phone if r["outcome"] == "BOOKED")
    assert all(r["called_at"].startswith(DAY.isoformat()) and r["called_at"].endswith("+08:00") for r in rows)


def test_the_calls_cause_returns_at_the_true_uplift(world: Path, tmp_path: Path):
    n = 3000
    write_list(tmp_path / "out", "call_list", [list_row(i, "MAINTENANCE_DUE") for i in range(n)])
    result = work_lists(DAY, tmp_path / "out", tmp_path / "inbox", world, CallCenterConfig(seed=4))
    expected = TRUE_UPLIFT["MAINTENANCE_DUE"] * n
    assert abs(result.returns - expected) < 4 * (expected ** 0.5)
    with sqlite3.connect(world) as conn:
        closed = conn.execute("select count(*) from dms_versions where entity = 'repair_orders'"
                              " and json_extract(record, '$.status') = 'closed'").fetchone()[0]
        sources = {r[0] for r in conn.execute("select json_extract(record, '$.source') from dms_versions"
                                              " where entity = 'appointments'")}
    assert closed == result.returns and sources == {"call_center"}


def test_later_attempts_do_not_count_the_effect_twice(world: Path, tmp_path: Path):
    write_list(tmp_path / "out", "call_list", [list_row(i, "MAINTENANCE_DUE", attempt=2) for i in range(500)])
    assert work_lists(DAY, tmp_path / "out", tmp_path / "inbox", world).returns == 0


def test_outcomes_are_deterministic(world: Path, tmp_path: Path):
    write_list(tmp_path / "out", "call_list", [list_row(i, "LOST_WINBACK") for i in range(200)])
    a = work_lists(DAY, tmp_path / "out", tmp_path / "a", world, CallCenterConfig(seed=2)).outcomes[0].read_bytes()
    b = work_lists(DAY, tmp_path / "out", tmp_path / "b", world, CallCenterConfig(seed=2)).outcomes[0].read_bytes()
    assert a == b
