"""Accidents in the simulated world (docs/rules.md §3 ACCIDENT_LEAD, §7): some insured
vehicles' accidents are towed elsewhere and repaired outside the group (no 维修单位代码 in
any of the claim's files), and a claim names its repairer only once the car is there; a
reached ACCIDENT_LEAD call wins some of the towed ones, so the cars nobody called in time
are the ones repaired elsewhere."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from baoke_sim.callcenter import CallCenterConfig, work_lists
from baoke_sim.insurance import TOWED_ELSEWHERE_RATE, TOWED_PREFIX
from baoke_sim.insurer_files import drop_files
from extract_support import world_at


@pytest.fixture(scope="module")
def generated_world(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("acc") / "world.sqlite"
    return world_at(path, "2026-11-23T00:00:00+08:00", seed=11)


@pytest.fixture
def world(generated_world: Path, tmp_path: Path) -> Path:
    """A copy each test may change (the call center writes into the world)."""
    return Path(shutil.copy(generated_world, tmp_path / "world.sqlite"))


def claims(world: Path) -> dict[str, list[tuple[str, list[str]]]]:
    """Every claim's rows in file order: (file date, fields as in CLAIM_HEADER)."""
    out: dict[str, list[tuple[str, list[str]]]] = {}
    with sqlite3.connect(world) as conn:
        for file_date, fields in conn.execute(
            "select file_date, fields from insurer_rows where kind = 'CLAIM' order by file_date, line_no"
        ):
            row = json.loads(fields)
            out.setdefault(row[0], []).append((file_date, row))
    return out


def test_some_accidents_are_towed_elsewhere_and_never_name_a_repairer(generated_world: Path, tmp_path: Path):
    every = claims(generated_world)
    towed = {no: rows for no, rows in every.items() if no.startswith(TOWED_PREFIX)}
    assert towed, "accidents repaired outside the group"
    assert all(fields[6] == "" for rows in towed.values() for _, fields in rows), "no repairer at any stage"
    assert all(rows[0][1][7] == "已报案" for rows in towed.values()), "reported first"
    with sqlite3.connect(generated_world) as conn:
        commercial = conn.execute(
            "select count(*) from insurer_rows where kind = 'POLICY' and json_extract(fields, '$[5]') = '商业险'"
        ).fetchone()[0]
    assert 0.5 * TOWED_ELSEWHERE_RATE < len(towed) / commercial < 1.5 * TOWED_ELSEWHERE_RATE
    # and the insurers' files say so: an empty 维修单位代码 on the towed claims' lines
    drop_files(generated_world, tmp_path)
    lines = [
        row
        for path in tmp_path.glob("*/CLAIM_*.csv")
        for row in csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig" if "CPIC" in path.name else "gb18030")))
        if row[0].startswith(TOWED_PREFIX)
    ]
    assert lines
    assert {row[6] for row in lines} == {""}


def test_a_claim_names_its_repairer_once_the_car_is_there(generated_world: Path):
    group = {no: rows for no, rows in claims(generated_world).items() if not no.startswith(TOWED_PREFIX)}
    assert group
    assessed = [fields for rows in group.values() for _, fields in rows if fields[7] != "已报案"]
    assert assessed
    assert all(fields[6] for fields in assessed), "assessed in the group: the dealer's code"
    reported = Counter(bool(fields[6]) for rows in group.values() for _, fields in rows if fields[7] == "已报案")
    assert reported[False] > 0, "reported before the order opened: no repairer yet (a lead to call)"
    assert reported[True] > 0, "reported once the car was in the workshop"


def _leads(world: Path) -> tuple[dt.date, list[dict[str, str]]]:
    """The day with the most towed accidents reported the day before, and a call-list row
    for each of those vehicles' owners, plus one for a vehicle without an accident."""
    towed = [rows for no, rows in claims(world).items() if no.startswith(TOWED_PREFIX)]
    reported = Counter(rows[0][1][4].replace("/", "-") for rows in towed)
    day = dt.date.fromisoformat(max(reported, key=lambda d: (reported[d], d))) + dt.timedelta(days=1)
    vins = [
        rows[0][1][2] for rows in towed if rows[0][1][4].replace("/", "-") == (day - dt.timedelta(days=1)).isoformat()
    ]
    with sqlite3.connect(world) as conn:
        owner = dict(
            conn.execute(
                "select pk, json_extract(record, '$.customer_id') from dms_versions where entity = 'vehicles'"
                " order by updated_at"
            )
        )
    rows = [
        {
            "call_id": f"D001-{day:%Y%m%d}-{i:05d}",
            "list_date": day.isoformat(),
            "dealer_code": "D001",
            "customer_id": owner.get(vin, f"C{i:08d}"),
            "vin": vin,
            "primary_reason": "ACCIDENT_LEAD",
            "attempt_no": "1",
            "preferred_slot": "MORNING",
            "priority": "1",
        }
        for i, vin in enumerate([*vins, "LHXNOACCIDENT0000"])
    ]
    return day, rows


def _work(world: Path, tmp: Path, day: dt.date, rows: list[dict[str, str]], uplift: float):
    folder = tmp / "out" / day.isoformat() / "D001"
    folder.mkdir(parents=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    (folder / f"call_list_D001_{day:%Y%m%d}.csv").write_bytes(buffer.getvalue().encode("utf-8-sig"))
    config = CallCenterConfig(uplift={"ACCIDENT_LEAD": uplift}, not_attempted_rate=0.0, wrong_number_rate=0.0)
    return work_lists(day, tmp / "out", tmp / "inbox", world, config)


def _body_paint_orders(world: Path) -> dict[str, dict]:
    with sqlite3.connect(world) as conn:
        return {
            record["insurance_claim_no"]: record
            for (text,) in conn.execute(
                "select record from dms_versions where entity = 'repair_orders' and pk like '%-CC%'"
            )
            if (record := json.loads(text))["service_type"] == "BODY_PAINT"
        }


def test_a_call_in_time_wins_the_towed_car_and_nobody_calling_leaves_it_outside(world: Path, tmp_path: Path):
    day, rows = _leads(world)
    assert len(rows) > 1
    before = claims(world)
    result = _work(world, tmp_path, day, rows, uplift=1.0)
    orders = _body_paint_orders(world)
    after = claims(world)
    assert orders, "the calls won accidents"
    assert result.returns == len(orders), "a lead without an accident to win brings no visit"
    for claim_no, order in orders.items():
        assert claim_no.startswith(TOWED_PREFIX)
        assert order["dealer_code"] == "D001"
        assert order["status"] == "closed"
        assert order["open_date"] == (day + dt.timedelta(days=1)).isoformat(), "towed in the next day"
        for (file_date, was), (_, now) in zip(before[claim_no], after[claim_no], strict=True):
            assert now[6] == ("D001" if file_date >= day.isoformat() else ""), (
                "the files from the call on name the dealer"
            )
            assert now[:6] + now[7:] == was[:6] + was[7:]
        assert float(order["total_amount"]) == max(float(fields[5]) for _, fields in after[claim_no])
    untouched = {no for no in before if no not in orders}
    assert all(before[no] == after[no] for no in untouched), "accidents not won stay outside"


def test_without_a_call_that_works_every_towed_car_stays_outside(world: Path, tmp_path: Path):
    day, rows = _leads(world)
    before = claims(world)
    result = _work(world, tmp_path, day, rows, uplift=0.0)
    assert result.returns == 0
    assert _body_paint_orders(world) == {}
    assert claims(world) == before
