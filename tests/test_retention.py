"""Retention (outputs.md §5): a purge for business date D removes exactly what is past
its age counted from D (what is dated just inside the age stays), records each thing it
removed in ``etl.purges``, and a second purge removes and records nothing more."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg2
import pytest

from baoke import retention
from baoke.filedrop import FolderDrop

D = dt.date(2026, 11, 20)


def write(path: Path, data: bytes = b"x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def purges(url: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("select business_date, kind, location, items, bytes, older_than from etl.purges order by purge_id")
        found = cur.fetchall()
    conn.close()
    return found


def test_list_folders_past_their_age_are_purged_and_recorded(fresh_db: str, tmp_path: Path) -> None:
    old, edge = D - dt.timedelta(days=91), D - dt.timedelta(days=90)  # 90 days: the last day kept
    for day in (old, edge, D):
        for dealer in ("D001", "D002"):
            write(tmp_path / day.isoformat() / dealer / f"call_list_{dealer}_{day:%Y%m%d}.csv", b"abc")
            write(tmp_path / day.isoformat() / dealer / "manifest.json", b"{}")
    write(tmp_path / "README.txt")  # not a day folder: never touched
    (tmp_path / "not-a-date").mkdir()
    before = files_under(tmp_path)
    conn = psycopg2.connect(fresh_db)
    try:
        result = retention.purge_lists(conn, FolderDrop(str(tmp_path)), D, 90)
        gone = {p for p in before if p.startswith(old.isoformat())}
        assert files_under(tmp_path) == before - gone
        assert (result.items, result.bytes, result.older_than) == (4, 10, edge)
        recorded = purges(fresh_db)
        assert sorted(r[2] for r in recorded) == sorted(
            f"{tmp_path}/{old.isoformat()}/{dealer}/{name}"
            for dealer in ("D001", "D002")
            for name in (f"call_list_{dealer}_{old:%Y%m%d}.csv", "manifest.json")
        )
        assert {(r[0], r[1], r[5]) for r in recorded} == {(D, "lists", edge)}
        again = retention.purge_lists(conn, FolderDrop(str(tmp_path)), D, 90)
        assert (again.items, purges(fresh_db)) == (0, recorded), "nothing more to purge, nothing recorded"
    finally:
        conn.close()


def test_inbox_files_past_their_age_are_purged_and_recorded(fresh_db: str, tmp_path: Path) -> None:
    insurer, callcenter = tmp_path / "insurer", tmp_path / "callcenter"
    old, edge = D - dt.timedelta(days=181), D - dt.timedelta(days=180)
    for day in (old, edge):
        write(insurer / "PICC" / f"POLICY_PICC_{day:%Y%m%d}.csv", b"policy")
        write(insurer / "CPIC" / f"CLAIM_CPIC_{day:%Y%m%d}.csv", b"claim")
        write(callcenter / f"OUTCOMES_D001_{day:%Y%m%d}.csv", b"outcome")
    write(callcenter / "notes.txt", b"undated: left alone")
    conn = psycopg2.connect(fresh_db)
    try:
        by_insurer = retention.purge_inbox(conn, FolderDrop(str(insurer)), D, 180, folders=True)
        by_callcenter = retention.purge_inbox(conn, FolderDrop(str(callcenter)), D, 180, folders=False)
        assert (by_insurer.items, by_insurer.bytes, by_callcenter.items) == (2, 11, 1)
        assert files_under(insurer) == {
            "PICC",
            "CPIC",
            f"PICC/POLICY_PICC_{edge:%Y%m%d}.csv",
            f"CPIC/CLAIM_CPIC_{edge:%Y%m%d}.csv",
        }
        assert files_under(callcenter) == {f"OUTCOMES_D001_{edge:%Y%m%d}.csv", "notes.txt"}
        recorded = purges(fresh_db)
        assert {r[2] for r in recorded} == {
            f"{insurer}/PICC/POLICY_PICC_{old:%Y%m%d}.csv",
            f"{insurer}/CPIC/CLAIM_CPIC_{old:%Y%m%d}.csv",
            f"{callcenter}/OUTCOMES_D001_{old:%Y%m%d}.csv",
        }
        assert {(r[1], r[3], r[5]) for r in recorded} == {("inbox", 1, edge)}
        assert retention.purge_inbox(conn, FolderDrop(str(insurer)), D, 180, folders=True).items == 0
        assert purges(fresh_db) == recorded
    finally:
        conn.close()


def add_batch(cur, business_date: dt.date, rejected: list[tuple[str, str]]) -> int:
    """A committed batch of ``business_date`` with these rejects (reason, record)."""
    cur.execute(
        "insert into etl.load_batches (feed, entity, scope, source, raw_table, business_date, started_at,"
        " extracted, loaded, rejected, duplicates_skipped) values ('dms', 'customers', 'D001', 'test',"
        " 'raw.dms_customers', %s, now(), %s, 0, %s, 0) returning batch_id",
        (business_date, len(rejected), len(rejected)),
    )
    batch_id = cur.fetchone()[0]
    for n, (reason, record) in enumerate(rejected):
        cur.execute(
            "insert into etl.rejects (batch_id, feed, entity, source, locator, field, reason, record, reject_key)"
            " values (%s, 'dms', 'customers', 'test', %s, 'birth_date', %s, %s, %s)",
            (batch_id, f"page 1 row {n + 1}", reason, record, f"{batch_id}-{n}"),
        )
    return batch_id


def test_rejected_records_past_their_age_lose_their_payload_and_keep_their_count(fresh_db: str) -> None:
    old, edge = D - dt.timedelta(days=366), D - dt.timedelta(days=365)
    payload = '{"customer_id":"C1","name":"张伟","mobile":"13800138000","birth_date":"1987-13-02"}'
    with psycopg2.connect(fresh_db) as conn, conn.cursor() as cur:
        old_batch = add_batch(cur, old, [("unparseable date: '1987-13-02'", payload), ("not a JSON object", "[1]")])
        edge_batch = add_batch(cur, edge, [("unparseable date: '1987-13-02'", payload)])
    try:
        result = retention.purge_rejects(conn, D, 365)
        assert (result.items, result.bytes) == (2, len(payload.encode()) + 3)
        with conn, conn.cursor() as cur:
            cur.execute("select batch_id, locator, reason, record, payload_purged_on from etl.rejects order by 1, 2")
            rows = cur.fetchall()
            cur.execute(
                "select r.batch_id, b.rejected, count(*) from etl.rejects r join etl.load_batches b"
                " using (batch_id) group by 1, 2 order by 1"
            )
            counts = cur.fetchall()
        assert rows == [
            (old_batch, "page 1 row 1", "unparseable date", "", D),
            (old_batch, "page 1 row 2", "not a JSON object", "", D),
            (edge_batch, "page 1 row 1", "unparseable date: '1987-13-02'", payload, None),
        ]
        assert counts == [(old_batch, 2, 2), (edge_batch, 1, 1)], "every reject still counted"
        assert purges(fresh_db) == [(D, "rejects", "etl.rejects", 2, len(payload.encode()) + 3, edge)]
        assert retention.purge_rejects(conn, D, 365).items == 0
        assert len(purges(fresh_db)) == 1
    finally:
        conn.close()


def test_a_backfill_purges_by_its_business_date_not_the_wall_clock(fresh_db: str, tmp_path: Path) -> None:
    day = dt.date(2026, 1, 10)
    write(tmp_path / day.isoformat() / "D001" / "manifest.json")
    conn = psycopg2.connect(fresh_db)
    try:
        assert retention.purge_lists(conn, FolderDrop(str(tmp_path)), day + dt.timedelta(days=90), 90).items == 0
        assert retention.purge_lists(conn, FolderDrop(str(tmp_path)), day + dt.timedelta(days=91), 90).items == 1
    finally:
        conn.close()


def test_the_purge_record_is_append_only(fresh_db: str, tmp_path: Path) -> None:
    write(tmp_path / "2020-01-01" / "D001" / "manifest.json")
    conn = psycopg2.connect(fresh_db)
    try:
        retention.purge_lists(conn, FolderDrop(str(tmp_path)), D, 90)
        for statement in ("update etl.purges set items = 0", "delete from etl.purges", "truncate etl.purges"):
            with pytest.raises(psycopg2.errors.RestrictViolation, match="append-only"), conn, conn.cursor() as cur:
                cur.execute(statement)
    finally:
        conn.close()
    assert len(purges(fresh_db)) == 1


def test_the_dag_purges_with_the_configured_ages(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbound, insurer, callcenter = tmp_path / "out", tmp_path / "ins", tmp_path / "cc"
    for folder in (outbound, insurer, callcenter):
        folder.mkdir()
    write(outbound / (D - dt.timedelta(days=11)).isoformat() / "D001" / "manifest.json")
    write(outbound / (D - dt.timedelta(days=10)).isoformat() / "D001" / "manifest.json")
    write(callcenter / f"OUTCOMES_D001_{D - dt.timedelta(days=21):%Y%m%d}.csv")
    for name, value in {
        "AIRFLOW_CONN_WAREHOUSE": fresh_db,
        "OUTBOUND_DIR": str(outbound),
        "INSURER_INBOX": str(insurer),
        "CALLCENTER_INBOX": str(callcenter),
        "BAOKE_RETENTION_LIST_DAYS": "10",
        "BAOKE_RETENTION_INBOX_DAYS": "20",
    }.items():
        monkeypatch.setenv(name, value)
    assert retention.purge_lists_for(D)["items"] == 1
    assert retention.purge_inboxes_for(D)["items"] == 1
    assert retention.purge_rejects_for(D)["items"] == 0
    assert [p.name for p in outbound.iterdir()] == [(D - dt.timedelta(days=10)).isoformat()]
    assert list(callcenter.iterdir()) == []
