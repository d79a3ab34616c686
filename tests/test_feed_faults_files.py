"""When a file feed misbehaves (docs/feeds.md §5, contract version 2): every fault is
injected through the simulated insurers and call center into a real inbox, loaded into a
real PostgreSQL, and then the promise is checked on what the warehouse holds: every
record read is loaded, skipped or rejected once (extracted = loaded + rejected +
skipped, no row twice, no reject twice), and what was wrong is in etl.feed_reports.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
import statistics
from pathlib import Path

import psycopg2
import pytest

from baoke import feedreports
from baoke.extract import callcenter, insurer, jobs
from baoke.extract.catalog import DMS
from baoke.extract.files import VOLUME_MIN_MEDIAN, VOLUME_SHARE
from baoke.extract.loader import Batch, known_versions
from baoke.filedrop import FolderDrop
from baoke_sim.callcenter import OUTCOME_COLUMNS, V2_COLUMNS, write_faulty_outcomes
from baoke_sim.insurer_files import FileFaults, deliver, list_files, write_faulty_file
from extract_support import connect, scalar, world_at

D = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return world_at(tmp_path_factory.mktemp("faults") / "world.sqlite", "2026-11-20T06:00:00+08:00")


@pytest.fixture(scope="module")
def biggest(world: Path) -> dict[tuple[str, str], str]:
    """The date of the largest file per (insurer, kind)."""
    best: dict[tuple[str, str], tuple[int, str]] = {}
    for f in list_files(world):
        if f.rows > best.get((f.insurer, f.kind), (0, ""))[0]:
            best[(f.insurer, f.kind)] = (f.rows, f.file_date)
    return {key: day for key, (_, day) in best.items()}


def load_insurer(url: str, inbox: Path, code: str, business_date: dt.date = D, share: float = 0.1):
    conn = connect(url)
    try:
        return insurer.extract(conn, FolderDrop(str(inbox)), code, business_date, share)
    finally:
        conn.close()


def load_outcomes(url: str, inbox: Path, business_date: dt.date = D, share: float = 0.1):
    conn = connect(url)
    try:
        return callcenter.extract(conn, FolderDrop(str(inbox)), business_date, share)
    finally:
        conn.close()


def query(url: str, sql: str, *params) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def assert_accounted(url: str) -> None:
    """Every batch adds up and its loaded rows are in raw, no record version landed
    twice, no reject kept twice."""
    unbalanced = "select batch_id from etl.load_batches where extracted <> loaded + rejected + duplicates_skipped"
    assert query(url, unbalanced) == []
    for (table,) in query(url, "select distinct raw_table from etl.load_batches"):
        assert query(url, f"select record_key, record_version from {table} group by 1, 2 having count(*) > 1") == []
        assert (
            query(
                url,
                "select b.batch_id from etl.load_batches b where b.raw_table = %s"
                f" and b.loaded <> (select count(*) from {table} r where r.batch_id = b.batch_id)",
                table,
            )
            == []
        )
    assert query(url, "select reject_key from etl.rejects group by feed, entity, reject_key having count(*) > 1") == []
    assert (
        query(
            url,
            "select b.batch_id from etl.load_batches b"
            " where b.rejected <> (select count(*) from etl.rejects r where r.batch_id = b.batch_id)",
        )
        == []
    )


def reports(url: str, business_date: dt.date = D) -> list[tuple]:
    """(feed, scope, dealer_code, kind, subject, message) of D's reports."""
    return query(
        url,
        "select feed, scope, dealer_code, kind, subject, message from etl.feed_reports"
        " where business_date = %s order by feed, scope, kind, subject",
        business_date,
    )


def resent_name(name: str, n: int) -> str:
    """``POLICY_PICC_20261120.csv`` sent again as ``POLICY_PICC_RESENT<n>_20261120.csv``."""
    return f"{name[:-12]}RESENT{n}_{name[-12:]}"


# --- nothing lost, nothing twice ----------------------------------------------------------


def test_a_file_resent_under_other_names_is_a_redelivery_loaded_once(fresh_db, world, biggest, tmp_path):
    day = biggest[("PICC", "POLICY")]
    first = write_faulty_file(tmp_path, "PICC", "POLICY", day, None, world)
    [loaded] = load_insurer(fresh_db, tmp_path, "PICC")
    assert loaded.status == "loaded"
    copies = [write_faulty_file(tmp_path, "PICC", "POLICY", day, "resent_renamed", world) for _ in range(2)]
    assert [c.path.name for c in copies] == [resent_name(first.path.name, 1), resent_name(first.path.name, 2)]
    assert all(c.path.read_bytes() == first.path.read_bytes() for c in copies)
    outcomes = load_insurer(fresh_db, tmp_path, "PICC")
    assert {o.file.name: o.status for o in outcomes} == {
        first.path.name: "duplicate",
        copies[0].path.name: "redelivered",
        copies[1].path.name: "redelivered",
    }
    assert all(first.path.name in o.message for o in outcomes if o.status == "redelivered")
    for _ in range(2):  # later runs read the inbox again: nothing more is loaded, or counted
        assert {o.status for o in load_insurer(fresh_db, tmp_path, "PICC")} == {"duplicate"}
    ledger = query(fresh_db, "select file_id, name, status, redeliveries, redelivery_of, batch_id from etl.files")
    [(original_id, _, _, redeliveries, _, batch_id)] = [row for row in ledger if row[2] == "loaded"]
    assert redeliveries == 2, "one per real re-delivery, none per re-scan"
    assert sorted((name, status, of, batch) for _, name, status, _, of, batch in ledger if status != "loaded") == [
        (copies[0].path.name, "redelivered", original_id, None),
        (copies[1].path.name, "redelivered", original_id, None),
    ]
    assert scalar(fresh_db, "select count(*) from raw.insurer_policies") == first.data_rows
    assert query(fresh_db, "select batch_id from etl.load_batches") == [(batch_id,)]
    assert_accounted(fresh_db)
    assert reports(fresh_db) == []


def test_a_redelivery_of_a_superseded_version_loads_nothing(fresh_db, world, biggest, tmp_path):
    day = biggest[("CPIC", "CLAIM")]
    first = write_faulty_file(tmp_path, "CPIC", "CLAIM", day, None, world)
    load_insurer(fresh_db, tmp_path, "CPIC")
    kept = first.path.read_bytes()
    write_faulty_file(tmp_path, "CPIC", "CLAIM", day, "correction", world)
    load_insurer(fresh_db, tmp_path, "CPIC")
    (tmp_path / "CPIC" / resent_name(first.path.name, 1)).write_bytes(kept)  # the old bytes again
    [_, resent] = load_insurer(fresh_db, tmp_path, "CPIC")
    assert resent.status == "redelivered"
    assert "superseded" in resent.message
    assert scalar(fresh_db, "select count(*) from raw.insurer_claims") == 2 * first.data_rows
    assert_accounted(fresh_db)


def test_records_already_landed_are_duplicates_even_without_a_ledger_row(fresh_db, world, biggest, tmp_path):
    """The same bytes in another insurer's folder (a misplaced file): no ledger row of that
    sender knows them, yet every row is a version already in raw: skipped, never an error."""
    day = biggest[("PAIC", "POLICY")]
    original = write_faulty_file(tmp_path, "PAIC", "POLICY", day, None, world)
    load_insurer(fresh_db, tmp_path, "PAIC")
    misplaced = tmp_path / "CPIC" / original.path.name.replace("PAIC", "CPIC")
    misplaced.parent.mkdir()
    misplaced.write_bytes(original.path.read_bytes())
    [outcome] = load_insurer(fresh_db, tmp_path, "CPIC")
    assert outcome.status == "loaded"
    result = outcome.result
    assert (result.extracted, result.loaded, result.duplicates_skipped) == (original.data_rows, 0, original.data_rows)
    assert scalar(fresh_db, "select count(*) from raw.insurer_policies") == original.data_rows
    assert_accounted(fresh_db)


# --- a record missing a field, a field nobody announced -------------------------------------


def test_a_renamed_column_rejects_every_row_naming_the_field_and_the_new_name_is_reported(
    fresh_db, world, biggest, tmp_path
):
    file = write_faulty_file(tmp_path, "PAIC", "POLICY", biggest[("PAIC", "POLICY")], "renamed_column", world)
    assert "联系电话" not in file.header
    assert file.unannounced == ("手机号码",)
    [outcome] = load_insurer(fresh_db, tmp_path, "PAIC")
    assert outcome.status == "loaded"
    result = outcome.result
    assert (result.extracted, result.loaded, result.rejected) == (file.data_rows, 0, file.data_rows)
    assert {d.column for d in file.damaged} == {"联系电话"}
    rejects = query(fresh_db, "select locator, field, reason from etl.rejects order by locator")
    assert sorted(loc for loc, _, _ in rejects) == sorted(f"line {d.line_no}" for d in file.damaged)
    assert {(field, reason) for _, field, reason in rejects} == {
        ("联系电话", "missing field '联系电话' (renamed or dropped by the source?)")
    }
    found = {
        (kind, subject): (scope, dealer, message) for _, scope, dealer, kind, subject, message in reports(fresh_db)
    }
    assert set(found) == {
        ("degraded", f"policies [PAIC] batch {result.batch_id}"),
        ("unannounced_field", "policies.手机号码"),
    }
    assert "联系电话" in found[("degraded", f"policies [PAIC] batch {result.batch_id}")][2]
    scope, dealer, message = found[("unannounced_field", "policies.手机号码")]
    assert (scope, dealer) == ("PAIC", None)
    assert "'手机号码'" in message
    assert "line 2" in message
    assert f"batch {result.batch_id}" in message
    load_insurer(fresh_db, tmp_path, "PAIC")  # a rerun rejects nothing again
    assert scalar(fresh_db, "select count(*) from etl.rejects") == file.data_rows
    assert_accounted(fresh_db)


def _customers(world: Path, count: int) -> list[dict]:
    with sqlite3.connect(world) as conn:
        return [
            json.loads(r)
            for (r,) in conn.execute(
                "select record from dms_versions where entity = 'customers' order by pk, updated_at limit ?", (count,)
            )
        ]


def _load_customers(url: str, records: list[dict], business_date: dt.date = D):
    conn = connect(url)
    try:
        known = known_versions(conn, DMS["customers"], dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        source = "https://dms.example/v1/customers"
        with Batch.open(conn, DMS["customers"], "D001", source, business_date, known=known) as batch:
            for n, record in enumerate(records, 1):
                batch.add(record, f"page 1 row {n}", record["updated_at"], record["updated_at"])
            return batch.load(max_reject_share=0.1)
    finally:
        conn.close()


def test_a_dms_field_renamed_upstream_is_rejected_naming_it_and_reported_once(fresh_db, world):
    """A DMS upgrade renames ``mobile`` to ``phone`` on some customers: those are rejected
    naming ``mobile``, never loaded without one; ``phone`` is reported once."""
    records = _customers(world, 40)
    upgraded = {i for i in range(len(records)) if i % 4 == 3}
    for i in upgraded:
        records[i] = {("phone" if k == "mobile" else k): v for k, v in records[i].items()}
    result = _load_customers(fresh_db, records)
    assert (result.extracted, result.loaded, result.rejected) == (40, 40 - len(upgraded), len(upgraded))
    assert result.degraded
    assert result.new_fields == ("phone",)
    rejects = query(fresh_db, "select locator, field, reason from etl.rejects")
    assert sorted((loc, f) for loc, f, _ in rejects) == sorted((f"page 1 row {i + 1}", "mobile") for i in upgraded)
    assert all("missing field 'mobile'" in reason for _, _, reason in rejects)
    assert query(fresh_db, "select feed, entity, field, first_locator from etl.unannounced_fields") == [
        ("dms", "customers", "phone", f"page 1 row {min(upgraded) + 1}")
    ]
    again = _load_customers(fresh_db, records, D + dt.timedelta(days=1))  # a lookback reads them again
    assert (again.rejected, again.rejects_repeated, again.new_fields) == (0, len(upgraded), ())
    assert [r[3] for r in reports(fresh_db, D + dt.timedelta(days=1))] == []
    assert [(r[3], r[4]) for r in reports(fresh_db)] == [
        ("degraded", f"customers [D001] batch {result.batch_id}"),
        ("unannounced_field", "customers.phone"),
    ]
    assert_accounted(fresh_db)


def test_v2_fields_may_be_absent_and_are_checked_when_sent(fresh_db):
    """``advisors.role`` (v2): an older DMS does not send it; a newer one must send a known role."""
    stamp = "2026-11-19T10:00:00+08:00"
    base = {"advisor_id": "D001-A01", "dealer_code": "D001", "name": "王芳", "active": True, "updated_at": stamp}
    records = [
        base,
        {**base, "advisor_id": "D001-A02", "role": "service_advisor"},
        {**base, "advisor_id": "D001-A03", "role": None},
        {**base, "advisor_id": "D001-A04", "role": "mechanic"},
    ]
    conn = connect(fresh_db)
    with Batch.open(conn, DMS["advisors"], "D001", "test", D) as batch:
        for n, record in enumerate(records, 1):
            batch.add(record, f"row {n}", stamp, stamp)
        result = batch.load()
    conn.close()
    assert (result.loaded, result.rejected, result.new_fields) == (3, 1, ())
    assert query(fresh_db, "select locator, field, reason from etl.rejects") == [
        ("row 4", "role", "unknown code: 'mechanic'")
    ]
    assert scalar(fresh_db, "select count(*) from etl.unannounced_fields") == 0


def write_outcomes(inbox: Path, dealer: str, day: dt.date, count: int, sent: list[str], v2: bool = True) -> Path:
    """An OUTCOMES file as the call center writes it (rows whose call_ids we sent)."""
    columns = OUTCOME_COLUMNS if v2 else [c for c in OUTCOME_COLUMNS if c not in V2_COLUMNS]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\r\n")
    writer.writeheader()
    for i in range(count):
        call_id = f"{dealer}-{day:%Y%m%d}-{i:05d}"
        sent.append(call_id)
        row = {
            "call_id": call_id,
            "list_date": day.isoformat(),
            "dealer_code": dealer,
            "customer_id": f"C{i:08d}",
            "attempt_no": "1",
            "called_at": f"{day.isoformat()}T10:{i % 60:02d}:00+08:00",
            "channel": "PHONE",
            "outcome": "DECLINED" if i % 3 else "NO_ANSWER",
            "note": "客户表示暂时不需要" if i % 3 else "无人接听",
            "csi_score": "4" if i % 3 else "",
            "complaint_category": "price" if i % 6 == 1 else "",
            "loss_reason": "NO_NEED" if i % 3 else "",
        }
        writer.writerow({c: row.get(c, "") for c in columns})
    path = inbox / f"OUTCOMES_{dealer}_{day:%Y%m%d}.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    return path


def register_sent(url: str, sent: list[str]) -> None:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            "insert into etl.sent_calls values (%s, %s, %s, 'C', 'PHONE') on conflict do nothing",
            [(c, f"{c[5:9]}-{c[9:11]}-{c[11:13]}", c[:4]) for c in sent],
        )


def test_outcome_files_with_or_without_the_v2_columns_load_whole(fresh_db, tmp_path):
    sent: list[str] = []
    with_v2 = write_outcomes(tmp_path, "D001", dt.date(2026, 11, 18), 30, sent)
    without = write_outcomes(tmp_path, "D002", dt.date(2026, 11, 18), 30, sent)
    faulty = write_faulty_outcomes(without, "without_v2")
    assert not set(V2_COLUMNS) & set(faulty.header)
    register_sent(fresh_db, sent)
    outcomes = load_outcomes(fresh_db, tmp_path)
    assert [(o.file.name, o.status, o.result.loaded, o.result.rejected) for o in outcomes] == [
        (with_v2.name, "loaded", 30, 0),
        (without.name, "loaded", 30, 0),
    ]
    assert scalar(fresh_db, "select count(*) from raw.callcenter_outcomes where record ? 'csi_score'") == 30
    assert reports(fresh_db) == []
    assert scalar(fresh_db, "select count(*) from etl.unannounced_fields") == 0
    assert_accounted(fresh_db)


def test_an_unannounced_column_lands_and_is_reported_once_across_runs(fresh_db, world, tmp_path):
    files = [f for f in list_files(world, since="2026-11-01") if f.insurer == "CPIC" and f.kind == "POLICY"][:2]
    first = write_faulty_file(tmp_path, "CPIC", "POLICY", files[0].file_date, "extra_column", world)
    day1 = dt.date.fromisoformat(files[0].file_date) + dt.timedelta(days=1)
    [outcome] = load_insurer(fresh_db, tmp_path, "CPIC", business_date=day1)
    assert (outcome.result.loaded, outcome.result.rejected, outcome.result.new_fields) == (
        first.data_rows,
        0,
        ("业务员",),
    )
    assert "unannounced_field" in outcome.reported
    assert (
        scalar(fresh_db, "select count(*) from raw.insurer_policies where record->>'业务员' = '王强'")
        == first.data_rows
    )
    write_faulty_file(tmp_path, "CPIC", "POLICY", files[1].file_date, "extra_column", world)
    day2 = dt.date.fromisoformat(files[1].file_date) + dt.timedelta(days=1)
    [_, second] = load_insurer(fresh_db, tmp_path, "CPIC", business_date=day2)
    assert second.status == "loaded"
    assert second.result.new_fields == ()
    assert second.reported == []
    assert query(
        fresh_db, "select field, first_batch_id, first_locator, first_seen_on from etl.unannounced_fields"
    ) == [("业务员", outcome.result.batch_id, "line 2", day1)]
    assert [(r[3], r[4]) for r in reports(fresh_db, day1)] == [("unannounced_field", "policies.业务员")]
    assert reports(fresh_db, day2) == []
    assert_accounted(fresh_db)


# --- empty and small files --------------------------------------------------------------------


def test_an_empty_file_loads_nothing_and_is_reported_empty(fresh_db, world, biggest, tmp_path):
    file = write_faulty_file(tmp_path, "PICC", "CLAIM", biggest[("PICC", "CLAIM")], "empty", world)
    assert (file.data_rows, file.trailer) == (0, 0)
    [outcome] = load_insurer(fresh_db, tmp_path, "PICC")
    assert outcome.status == "loaded"
    assert outcome.reported == ["empty"]
    assert (outcome.result.extracted, outcome.result.loaded) == (0, 0)
    [(feed, scope, dealer, kind, subject, message)] = reports(fresh_db)
    assert (feed, scope, dealer, kind, subject) == ("insurer", "PICC", None, "empty", file.path.name)
    assert "no data rows" in message
    assert query(fresh_db, "select status from etl.files") == [("loaded",)]
    # every empty file of a sender has the same bytes: the next one is no re-delivery
    other = next(f for f in list_files(world) if f.insurer == "PICC" and f.kind == "CLAIM" and f.name != file.path.name)
    second = write_faulty_file(tmp_path, "PICC", "CLAIM", other.file_date, "empty", world)
    assert second.path.read_bytes() == file.path.read_bytes()
    outcomes = load_insurer(fresh_db, tmp_path, "PICC", business_date=D + dt.timedelta(days=1))
    [next_empty] = [o for o in outcomes if o.file.name == second.path.name]
    assert next_empty.status == "loaded"
    assert next_empty.reported == ["empty"]
    assert_accounted(fresh_db)


def test_a_file_cut_off_is_left_for_the_next_run_and_reported(fresh_db, world, biggest, tmp_path):
    file = write_faulty_file(tmp_path, "PICC", "CLAIM", biggest[("PICC", "CLAIM")], "incomplete", world)
    [outcome] = load_insurer(fresh_db, tmp_path, "PICC")
    assert outcome.status == "incomplete"
    assert outcome.reported == ["degraded"]
    [(feed, scope, dealer, kind, subject, message)] = reports(fresh_db)
    assert (feed, scope, dealer, kind, subject) == ("insurer", "PICC", None, "degraded", file.path.name)
    assert "incomplete" in message
    assert "next run" in message
    assert scalar(fresh_db, "select count(*) from raw.insurer_claims") == 0
    assert_accounted(fresh_db)


def test_an_empty_outcome_file_is_reported_for_its_dealer(fresh_db, tmp_path):
    sent: list[str] = []
    path = write_outcomes(tmp_path, "D002", dt.date(2026, 11, 19), 12, sent)
    write_faulty_outcomes(path, "empty")
    [outcome] = load_outcomes(fresh_db, tmp_path)
    assert outcome.status == "loaded"
    assert outcome.result.extracted == 0
    assert [r[:5] for r in reports(fresh_db)] == [("callcenter", "D002", "D002", "empty", path.name)]
    with psycopg2.connect(fresh_db) as conn:
        assert [r.kind for r in feedreports.for_day(conn, D, dealer_code="D002")] == ["empty"]
        assert feedreports.for_day(conn, D, dealer_code="D001") == []


def test_a_file_far_smaller_than_its_senders_usual_is_reported_volume(fresh_db, tmp_path):
    sent: list[str] = []
    start = dt.date(2026, 11, 1)
    usual = [40, 44, 38, 41, 39]
    assert min(usual) >= VOLUME_MIN_MEDIAN
    for n, count in enumerate(usual):
        write_outcomes(tmp_path, "D001", start + dt.timedelta(days=n), count, sent)
    quiet = write_outcomes(tmp_path, "D001", start + dt.timedelta(days=5), 30, sent)  # fewer, but not far fewer
    short_day = start + dt.timedelta(days=6)
    short = write_faulty_outcomes(write_outcomes(tmp_path, "D001", short_day, 40, sent), "short")
    assert short.data_rows < VOLUME_SHARE * 40
    register_sent(fresh_db, sent)
    outcomes = load_outcomes(fresh_db, tmp_path, business_date=short_day + dt.timedelta(days=1))
    assert [o.reported for o in outcomes] == [[]] * 6 + [["volume"]]
    assert quiet.name in {o.file.name for o in outcomes if not o.reported}
    [(feed, scope, dealer, kind, subject, message)] = reports(fresh_db, short_day + dt.timedelta(days=1))
    assert (feed, scope, dealer, kind, subject) == ("callcenter", "D001", "D001", "volume", short.path.name)
    assert f"holds {short.data_rows} data rows" in message
    assert f"usual {statistics.median([*usual, 30]):g}" in message
    assert scalar(fresh_db, "select count(*) from raw.callcenter_outcomes") == sum(usual) + 30 + short.data_rows
    assert_accounted(fresh_db)


# --- a stray quote -------------------------------------------------------------------------------


def test_a_stray_quote_is_a_reject_naming_its_line_and_the_other_lines_load(fresh_db, world, biggest, tmp_path):
    file = write_faulty_file(tmp_path, "PICC", "POLICY", biggest[("PICC", "POLICY")], "stray_quote", world)
    assert sorted(d.reason for d in file.damaged) == ["stray_quote", "unterminated_quote"]
    text = file.path.read_bytes().decode(file.encoding)
    assert len(list(csv.reader(io.StringIO(text)))) < file.data_rows + 2, "a tolerant reader swallows lines"
    [outcome] = load_insurer(fresh_db, tmp_path, "PICC", share=1.0)
    assert outcome.status == "loaded"
    result = outcome.result
    assert (result.extracted, result.loaded, result.rejected) == (file.data_rows, file.good_rows, 2)
    rejects = query(fresh_db, "select locator, field, reason, record from etl.rejects order by locator")
    assert [loc for loc, _, _, _ in rejects] == sorted(f"line {d.line_no}" for d in file.damaged)
    assert all(reason.startswith("not valid CSV: a stray or unbalanced quote") for _, _, reason, _ in rejects)
    assert all(any(d.value in record for d in file.damaged) for _, _, _, record in rejects), "the line as written"
    landed = {r[0] for r in query(fresh_db, "select record->>'被保险人' from raw.insurer_policies")}
    assert not any('"' in name for name in landed), "no name with a quote loaded silently"
    assert_accounted(fresh_db)


def test_a_stray_quote_in_an_outcome_note_rejects_that_row_only(fresh_db, tmp_path):
    sent: list[str] = []
    path = write_outcomes(tmp_path, "D001", dt.date(2026, 11, 19), 25, sent)
    file = write_faulty_outcomes(path, "stray_quote", seed=2)
    register_sent(fresh_db, sent)
    [outcome] = load_outcomes(fresh_db, tmp_path, share=1.0)
    assert (outcome.result.loaded, outcome.result.rejected) == (23, 2)
    assert sorted(r[0] for r in query(fresh_db, "select locator from etl.rejects")) == sorted(
        f"line {d.line_no}" for d in file.damaged
    )
    assert_accounted(fresh_db)


# --- a file that cannot be read at all ----------------------------------------------------------


def test_a_rejected_file_is_reported_and_the_task_goes_on(fresh_db, world, tmp_path, monkeypatch):
    """An insurer sends a file saved as UTF-16 (Excel does): it is rejected whole, in the
    ledger and in feed_reports, and the task loads the insurer's other files and ends well."""
    picc = [f for f in list_files(world, since="2026-11-01") if f.insurer == "PICC"][:2]
    good = write_faulty_file(tmp_path, "PICC", picc[0].kind, picc[0].file_date, None, world)
    bad = write_faulty_file(tmp_path, "PICC", picc[1].kind, picc[1].file_date, None, world)
    bad.path.write_bytes(bad.path.read_bytes().decode(bad.encoding).encode("utf-16"))
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", fresh_db)
    monkeypatch.setenv("INSURER_INBOX", str(tmp_path))
    lines = jobs.insurer_files("PICC", D).lines
    assert any(bad.path.name in line and "rejected" in line for line in lines)
    statuses = dict(query(fresh_db, "select name, status from etl.files"))
    assert statuses == {good.path.name: "loaded", bad.path.name: "rejected"}
    [(feed, scope, dealer, kind, subject, message)] = reports(fresh_db)
    assert (feed, scope, dealer, kind, subject) == ("insurer", "PICC", None, "degraded", bad.path.name)
    assert "neither UTF-8 nor GB18030" in message
    assert jobs.insurer_files("PICC", D).lines  # the next run skips it quietly: still no error
    assert len(reports(fresh_db)) == 1
    assert_accounted(fresh_db)


def test_a_header_without_the_key_column_is_rejected_whole_and_reported(fresh_db, tmp_path):
    sent: list[str] = []
    path = write_outcomes(tmp_path, "D003", dt.date(2026, 11, 19), 5, sent)
    text = path.read_bytes().decode("utf-8-sig")
    path.write_bytes(text.replace("call_id,", "id,", 1).encode("utf-8-sig"))
    [outcome] = load_outcomes(fresh_db, tmp_path)
    assert outcome.status == "rejected"
    assert outcome.reported == ["degraded"]
    [report] = reports(fresh_db)
    assert report[:5] == ("callcenter", "D003", "D003", "degraded", path.name)
    assert "no call_id column" in report[5]


# --- faults at random, every feed file at once -----------------------------------------------


def test_random_file_faults_never_fail_the_load_and_every_record_is_accounted_for(fresh_db, world, tmp_path):
    faults = FileFaults(rate=0.5, seed=7)
    delivery = deliver(world, tmp_path, faults, since="2026-10-01")
    assert len({r.fault for r in delivery.faulty.values()}) >= 6, "many kinds of fault drawn"
    for code in ("PICC", "CPIC", "PAIC"):
        outcomes = load_insurer(fresh_db, tmp_path, code, share=1.0)
        again = load_insurer(fresh_db, tmp_path, code, share=1.0)
        assert {o.status for o in again} <= {"duplicate", "incomplete"}, "a rerun loads nothing new"
        for outcome in outcomes:
            report = delivery.faulty.get(outcome.file.name)
            if report is None or report.fault == "resent_renamed":
                continue
            if report.complete and outcome.status == "loaded":
                assert (outcome.result.loaded, outcome.result.rejected) == (report.good_rows, report.rejected_rows)
            else:
                assert outcome.status == "incomplete"
    resent = [r for r in delivery.faulty.values() if r.fault == "resent_renamed"]
    statuses = dict(query(fresh_db, "select name, status from etl.files"))
    assert all(statuses[r.path.name] == "redelivered" for r in resent)
    missing = [name for name, r in delivery.faulty.items() if r.fault == "missing"]
    assert missing
    assert not set(missing) & set(statuses)
    assert_accounted(fresh_db)


# --- a clean world ------------------------------------------------------------------------------


@pytest.mark.slow  # a whole world's history through every feed: about a minute
def test_a_clean_world_gives_no_rejects_no_unannounced_fields_and_no_reports(fresh_db, tmp_path):
    """What the simulators send matches the contract field for field: every feed, read
    whole, loads without a reject, an unannounced field or a report."""
    from baoke.extract import dms, oem
    from baoke_sim.callcenter import work_lists
    from baoke_sim.dms_api import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DmsApi
    from baoke_sim.insurer_files import drop_files
    from baoke_sim.oem_api import DEFAULT_API_KEY, OemApi
    from baoke_sim.servers import ApiServer

    clean_world = world_at(tmp_path / "world.sqlite", "2026-11-20T06:00:00+08:00")
    list_day = D - dt.timedelta(days=1)
    calls = [(f"D001-{list_day:%Y%m%d}-{i:05d}", f"C{i:08d}") for i in range(120)]
    lists = tmp_path / "outbound" / list_day.isoformat() / "D001"
    lists.mkdir(parents=True)
    for kind, rows in (("call_list", calls[:100]), ("sms_list", calls[100:])):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(["call_id", "list_date", "dealer_code", "customer_id", "vin", "primary_reason", "attempt_no"])
        # satisfaction calls: the customers are asked to score (contract version 2)
        writer.writerows([c, list_day, "D001", customer, "", "POST_SERVICE_FOLLOWUP", "1"] for c, customer in rows)
        (lists / f"{kind}_D001_{list_day:%Y%m%d}.csv").write_bytes(buffer.getvalue().encode("utf-8-sig"))
    work_lists(list_day, tmp_path / "outbound", tmp_path / "callcenter", clean_world)
    drop_files(clean_world, tmp_path / "insurer")
    register_sent(fresh_db, [c for c, _ in calls])

    conn = connect(fresh_db)
    try:
        with ApiServer(DmsApi(clean_world)) as server:
            client = dms.DmsClient(server.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
            for name in DMS:
                dms.extract(conn, client, name, "D001", D, dt.timedelta(days=2))
        with ApiServer(OemApi(clean_world)) as server:
            oem.extract(conn, oem.OemClient(server.url, DEFAULT_API_KEY), "D001", D, history_months=3)
        inbox = FolderDrop(str(tmp_path / "insurer"))
        files = [o for code in insurer.insurers(inbox) for o in insurer.extract(conn, inbox, code, D)]
        files += callcenter.extract(conn, FolderDrop(str(tmp_path / "callcenter")), D)
    finally:
        conn.close()
    assert {o.status for o in files} == {"loaded"}
    fed = dict(query(fresh_db, "select feed, sum(loaded) from etl.load_batches group by 1"))
    assert set(fed) == {"dms", "oem", "insurer", "callcenter"}
    assert all(loaded > 0 for loaded in fed.values())
    assert scalar(fresh_db, "select count(*) from raw.callcenter_outcomes where record->>'csi_score' <> ''") > 0
    assert query(fresh_db, "select feed, entity, field, reason from etl.rejects") == []
    assert query(fresh_db, "select feed, entity, field from etl.unannounced_fields") == []
    assert reports(fresh_db) == []
    assert_accounted(fresh_db)
