"""What a call the simulated call center makes does besides bringing the customer back
(docs/rules.md §8): a RECALL_OPEN call's visit does the remedy (the order carries the
recall code, the manufacturer reports it completed by the dealer), a DECLINED_WORK call's
visit does the declined work (the recommendation is done, naming the order); what the
world would have done later instead is taken out of its future and kept as the truth."""

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
from extract_support import world_at

DAY = dt.date(2026, 11, 10)


@pytest.fixture(scope="module")
def generated_world(tmp_path_factory) -> Path:
    """The accident tests' world (seed 11): open recalls and recommendations on DAY."""
    path = tmp_path_factory.mktemp("caused") / "world.sqlite"
    return world_at(path, "2026-11-23T00:00:00+08:00", seed=11)


@pytest.fixture
def world(generated_world: Path, tmp_path: Path) -> Path:
    """A copy each test may change (the call center writes into the world)."""
    return Path(shutil.copy(generated_world, tmp_path / "world.sqlite"))


def latest(conn: sqlite3.Connection, entity: str, before: str) -> dict[str, dict]:
    """Each record's latest version updated before ``before``, by pk."""
    out: dict[str, dict] = {}
    for pk, text in conn.execute(
        "select pk, record from dms_versions where entity = ? and updated_at < ? order by pk, updated_at",
        (entity, before),
    ):
        out[pk] = json.loads(text)
    return out


def owners(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(
        conn.execute(
            "select pk, json_extract(record, '$.customer_id') from dms_versions where entity = 'vehicles'"
            " order by updated_at"
        )
    )


def work(world: Path, tmp: Path, rows: list[dict[str, str]], reason: str, uplift: float = 1.0, day: dt.date = DAY):
    folder = tmp / "out" / day.isoformat() / "D001"
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    (folder / f"call_list_D001_{day:%Y%m%d}.csv").write_bytes(buffer.getvalue().encode("utf-8-sig"))
    config = CallCenterConfig(uplift={reason: uplift}, not_attempted_rate=0.0, wrong_number_rate=0.0)
    return work_lists(day, tmp / "out", tmp / "inbox", world, config)


def call_rows(
    vins: list[tuple[str, str]], owner: dict[str, str], reason: str, day: dt.date = DAY
) -> list[dict[str, str]]:
    return [
        {
            "call_id": f"CA-D001-{day:%Y%m%d}-{i:05d}",
            "list_date": day.isoformat(),
            "dealer_code": "D001",
            "customer_id": owner[vin],
            "vin": vin,
            "primary_reason": reason,
            "due_date": due,
            "attempt_no": "1",
            "preferred_slot": "MORNING",
            "priority": "5",
        }
        for i, (vin, due) in enumerate(vins)
        if vin in owner
    ]


def caused_orders(conn: sqlite3.Connection) -> dict[str, dict]:
    """The closed orders the calls caused, by VIN."""
    return {
        (record := json.loads(text))["vin"]: record
        for (text,) in conn.execute(
            "select record from dms_versions where entity = 'repair_orders' and pk like '%-CC%'"
            " and json_extract(record, '$.status') = 'closed'"
        )
    }


def open_recalls(world: Path) -> tuple[dict[str, str], dict[str, tuple[str, dict]]]:
    """The vehicles' owners, and the recalls open with a remedy on DAY's morning by VIN (pk, item)."""
    with sqlite3.connect(world) as conn:
        items = latest(conn, "oem_recalls", f"{DAY.isoformat()}T00:00:00+08:00")
        owner = owners(conn)
    return owner, {
        item["vin"]: (pk, item)
        for pk, item in sorted(items.items())
        if item["remedy_available"] and not item["completed_date"] and item["vin"] in owner
    }


def test_a_recall_call_that_brings_the_car_back_remedies_it(world: Path, tmp_path: Path):
    owner, open_items = open_recalls(world)
    assert len(open_items) >= 5, "the world has open recalls with a remedy"
    with sqlite3.connect(world) as conn:
        done_soon = {pk for pk, item in latest(conn, "oem_recalls", "9999").items() if item["completed_date"]}
    vins = sorted(vin for vin, (pk, _) in open_items.items() if pk not in done_soon)[:20]
    rows = call_rows([(vin, DAY.isoformat()) for vin in vins], owner, "RECALL_OPEN")
    result = work(world, tmp_path, rows, "RECALL_OPEN")
    with sqlite3.connect(world) as conn:
        orders = caused_orders(conn)
        after = latest(conn, "oem_recalls", "9999")
        ledger = {pk: (ro, done) for pk, ro, done in conn.execute("select key, ro_number, done_date from caused_work")}
        later_with_code = conn.execute(
            "select count(*) from dms_versions where entity = 'repair_orders' and pk not like '%-CC%'"
            " and json_extract(record, '$.open_date') > ?"
            " and json_extract(record, '$.campaign_code') like 'GRP-RECALL%'"
            " and json_extract(record, '$.vin') in (select value from json_each(?))",
            (DAY.isoformat(), json.dumps(vins)),
        ).fetchone()[0]
    assert result.returns == len(orders) >= len(vins) // 2, "all but those coming anyway"
    assert set(orders) <= set(vins)
    for vin in orders:
        pk, item = open_items[vin]
        order = orders[vin]
        assert order["campaign_code"] == item["recall_code"], "the remedy is on the caused order"
        done = after[pk]
        assert done["completed_date"] == order["open_date"]
        assert done["completed_dealer_code"] == "D001"
        assert done["updated_at"] > f"{order['open_date']}T00:00:00", "reported after the visit, once"
        assert ledger[pk] == (order["ro_number"], order["open_date"])
    assert later_with_code == 0, "no later order remedies it again"
    assert set(ledger) == {open_items[vin][0] for vin in orders}
    untouched = [open_items[vin][0] for vin in vins if vin not in orders]
    assert all(not after[pk]["completed_date"] or after[pk]["completed_date"] > DAY.isoformat() for pk in untouched)


def test_a_recall_the_world_remedies_later_is_remedied_now_and_taken_out_of_its_future(world: Path, tmp_path: Path):
    """The world would have remedied these recalls after the call's visit (its own later
    order carries the code): the call's visit does it, the later completion and the later
    order's code go, and the ledger keeps when the world would have done it."""
    with sqlite3.connect(world) as conn:
        now = latest(conn, "oem_recalls", "9999")
        owner = owners(conn)
    # the day 15 days before the most completions: remedied by the world after any caused visit (1-10 days on)
    completions = Counter(item["completed_date"] for item in now.values() if item["completed_date"])
    day = dt.date.fromisoformat(max(completions, key=lambda d: (completions[d], d))) - dt.timedelta(days=15)
    with sqlite3.connect(world) as conn:
        before = latest(conn, "oem_recalls", f"{day.isoformat()}T00:00:00+08:00")
    last_visit = (day + dt.timedelta(days=10)).isoformat()
    open_items = {
        item["vin"]: (pk, item)
        for pk, item in sorted(before.items())
        if item["remedy_available"]
        and not item["completed_date"]
        and item["vin"] in owner
        and (now[pk]["completed_date"] or "") > last_visit
    }
    vins = sorted(open_items)[:20]
    assert vins, "recalls the world remedies after the calls' visits"
    rows = call_rows([(vin, day.isoformat()) for vin in vins], owner, "RECALL_OPEN", day)
    work(world, tmp_path, rows, "RECALL_OPEN", day=day)
    with sqlite3.connect(world) as conn:
        orders = caused_orders(conn)
        after = latest(conn, "oem_recalls", "9999")
        ledger = dict(conn.execute("select key, organic_done_date from caused_work"))
        later_codes = conn.execute(
            "select count(*) from dms_versions where entity = 'repair_orders' and pk not like '%-CC%'"
            " and json_extract(record, '$.campaign_code') like 'GRP-RECALL%'"
            " and json_extract(record, '$.open_date') > ?"
            " and json_extract(record, '$.vin') in (select value from json_each(?))",
            (day.isoformat(), json.dumps(sorted(orders))),
        ).fetchone()[0]
    assert orders
    for vin in orders:
        pk = open_items[vin][0]
        assert after[pk]["completed_date"] == orders[vin]["open_date"] < now[pk]["completed_date"]
        assert ledger[pk] == now[pk]["completed_date"], "when the world would have done it"
    assert later_codes == 0, "the world's later order no longer remedies it"


def test_a_recall_the_world_remedies_by_the_visit_anyway_is_not_remedied_twice(world: Path, tmp_path: Path):
    """The manufacturer reports a completion days late: a recall open in the list date's
    view may already be remedied (the car was at a dealer that day). The call's visit then
    leaves it as the world had it."""
    with sqlite3.connect(world) as conn:
        now = latest(conn, "oem_recalls", "9999")
        owner = owners(conn)
    # the day with the most recalls the world remedies on it or the next day, still open in its view
    completions = Counter(item["completed_date"] for item in now.values() if item["completed_date"])
    day = dt.date.fromisoformat(max(completions, key=lambda d: (completions[d], d)))
    with sqlite3.connect(world) as conn:
        before = latest(conn, "oem_recalls", f"{day.isoformat()}T00:00:00+08:00")
    next_day = (day + dt.timedelta(days=1)).isoformat()
    already = {
        item["vin"]: pk
        for pk, item in sorted(before.items())
        if item["remedy_available"]
        and not item["completed_date"]
        and item["vin"] in owner
        and day.isoformat() <= (now[pk]["completed_date"] or "9999") <= next_day
    }
    assert already, "recalls the world remedies on the list date or the day after"
    rows = call_rows([(vin, day.isoformat()) for vin in sorted(already)], owner, "RECALL_OPEN", day)
    work(world, tmp_path, rows, "RECALL_OPEN", day=day)
    with sqlite3.connect(world) as conn:
        orders = caused_orders(conn)
        after = latest(conn, "oem_recalls", "9999")
        ledger = conn.execute("select name from sqlite_master where name = 'caused_work'").fetchall()
        remedied = conn.execute("select count(*) from caused_work").fetchone()[0] if ledger else 0
    assert orders, "the calls brought cars back"
    assert all(order["campaign_code"] is None for order in orders.values()), "no second remedy"
    assert all(after[pk] == now[pk] for pk in already.values()), "the world's own completion stays"
    assert remedied == 0


def test_a_declined_work_call_that_brings_the_car_back_gets_the_work_done(world: Path, tmp_path: Path):
    stamp = f"{DAY.isoformat()}T00:00:00+08:00"
    with sqlite3.connect(world) as conn:
        recommendations = latest(conn, "recommendations", stamp)
        owner = owners(conn)
    deferred = {
        rec["vin"]: (pk, rec)
        for pk, rec in sorted(recommendations.items())
        if rec["status"] == "deferred" and rec["defer_until"] >= DAY.isoformat() and rec["vin"] in owner
    }
    assert len(deferred) >= 5
    vins = sorted(deferred)[:20]
    rows = call_rows([(vin, deferred[vin][1]["defer_until"]) for vin in vins], owner, "DECLINED_WORK")
    other = sorted(set(deferred) - set(vins))[0]  # a row due on another date than its deferral
    rows.append(
        {**rows[0], "call_id": "CA-D001-OTHERDATE", "customer_id": owner[other], "vin": other, "due_date": "2020-01-01"}
    )
    work(world, tmp_path, rows, "DECLINED_WORK")
    with sqlite3.connect(world) as conn:
        orders = caused_orders(conn)
        after = latest(conn, "recommendations", "9999")
        ledger = dict(conn.execute("select key, ro_number from caused_work where kind = 'DECLINED_WORK'"))
    assert len(orders) >= len(vins) // 2, "all but those coming anyway"
    for vin in set(orders) & set(vins):
        pk, rec = deferred[vin]
        assert after[pk]["status"] == "done"
        assert after[pk]["done_ro_number"] == orders[vin]["ro_number"] == ledger[pk]
        assert after[pk]["description"] == rec["description"]
    assert set(ledger) == {deferred[vin][0] for vin in orders if vin in vins}, "a row due on another date: no work"
    assert after[deferred[other][0]]["status"] != "done" or after[deferred[other][0]]["done_ro_number"] != orders.get(
        other, {}
    ).get("ro_number")


def test_working_the_day_again_leaves_the_same_world(world: Path, tmp_path: Path):
    owner, open_items = open_recalls(world)
    vins = sorted(open_items)[:10]
    rows = call_rows([(vin, DAY.isoformat()) for vin in vins], owner, "RECALL_OPEN")

    def snapshot() -> list[tuple]:
        with sqlite3.connect(world) as conn:
            return (
                conn.execute(
                    "select entity, pk, updated_at, record from dms_versions where entity in ('oem_recalls',"
                    " 'repair_orders', 'recommendations') order by 1, 2, 3"
                ).fetchall()
                + conn.execute("select * from caused_work order by 1, 2").fetchall()
            )

    work(world, tmp_path, rows, "RECALL_OPEN")
    first = snapshot()
    work(world, tmp_path, rows, "RECALL_OPEN")
    assert snapshot() == first
