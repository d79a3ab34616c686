"""The file feeds end to end (feeds.md §2 and §4): real files in their real encodings,
written by the simulated insurers and call center into an inbox, loaded into a real
PostgreSQL — with every fault insurers and call centers really show."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from baoke.extract import callcenter, insurer
from baoke.extract.files import IncompleteFile, decode, parse_csv
from baoke.filedrop import FolderDrop
from baoke_sim.callcenter import OUTCOME_COLUMNS, add_bad_rows
from baoke_sim.insurer_files import list_files, write_faulty_file
from extract_support import batches, connect, rows, scalar, world_at

D = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return world_at(tmp_path_factory.mktemp("files") / "world.sqlite", "2026-11-20T06:00:00+08:00")


@pytest.fixture(scope="module")
def biggest(world: Path) -> dict[tuple[str, str], str]:
    """The date of the largest file per (insurer, kind): enough rows for reject shares."""
    best: dict[tuple[str, str], tuple[int, str]] = {}
    for f in list_files(world):
        key = (f.insurer, f.kind)
        if f.rows > best.get(key, (0, ""))[0]:
            best[key] = (f.rows, f.file_date)
    return {key: day for key, (_, day) in best.items()}


def load(url: str, inbox: Path, code: str, business_date: dt.date = D, share: float = 0.1):
    conn = connect(url)
    try:
        return insurer.extract(conn, FolderDrop(str(inbox)), code, business_date, share)
    finally:
        conn.close()


def ledger(url: str) -> list[tuple]:
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("select name, status, encoding, redeliveries from etl.files order by file_id")
        return cur.fetchall()


@pytest.mark.parametrize(("code", "encoding"), [("PICC", "gb18030"), ("CPIC", "utf-8-sig")])
def test_encodings_are_detected_and_chinese_text_survives(fresh_db, world, biggest, tmp_path, code, encoding):
    file = write_faulty_file(tmp_path, code, "POLICY", biggest[(code, "POLICY")], None, world)
    assert file.encoding == encoding
    [outcome] = load(fresh_db, tmp_path, code)
    assert outcome.status == "loaded"
    assert outcome.result.loaded == file.data_rows
    assert ledger(fresh_db) == [(file.path.name, "loaded", encoding, 0)]
    text, _ = decode(file.path.read_bytes())
    insured = {r[3] for r in list(csv.reader(io.StringIO(text)))[1:-1]}  # 被保险人, header and trailer left out
    with connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("select record->>'被保险人' from raw.insurer_policies order by locator")
        names = {row[0] for row in cur.fetchall()}
    assert names == insured
    assert all("\ufffd" not in n and not n.isascii() for n in names), "no mojibake"


def test_both_date_formats_are_accepted(fresh_db, world, tmp_path):
    for f in list_files(world, since="2026-10-01"):
        if f.insurer == "PAIC":
            write_faulty_file(tmp_path, f.insurer, f.kind, f.file_date, None, world)
    outcomes = load(fresh_db, tmp_path, "PAIC")
    assert outcomes
    assert all(o.status == "loaded" for o in outcomes)
    formats = scalar(
        fresh_db,
        "select array_agg(distinct translate(record->>'起保日期', '0123456789', 'dddddddddd'))"
        " from raw.insurer_policies",
    )
    assert sorted(formats) == ["dddd-dd-dd", "dddd/dd/dd"]
    assert scalar(fresh_db, "select count(*) from etl.rejects") == 0


@pytest.mark.parametrize("fault", ["trailer_mismatch", "incomplete"])
def test_an_incomplete_file_is_not_loaded_and_is_retried_next_run(fresh_db, world, biggest, tmp_path, fault):
    day = biggest[("PICC", "CLAIM")]
    broken = write_faulty_file(tmp_path, "PICC", "CLAIM", day, fault, world)
    [outcome] = load(fresh_db, tmp_path, "PICC")
    assert outcome.status == "incomplete"
    assert "trailer" in outcome.message
    assert scalar(fresh_db, "select count(*) from raw.insurer_claims") == 0
    finished = write_faulty_file(tmp_path, "PICC", "CLAIM", day, None, world)
    [outcome] = load(fresh_db, tmp_path, "PICC")
    assert outcome.status == "loaded"
    assert outcome.result.loaded == finished.data_rows
    assert [status for _, status, _, _ in ledger(fresh_db)] == ["incomplete", "loaded"]
    assert broken.path == finished.path


def test_the_same_name_with_the_same_bytes_is_skipped_and_is_no_redelivery(fresh_db, world, biggest, tmp_path):
    """Files stay in the inbox: reading it again, or the same file written over itself,
    is indistinguishable from a re-scan and counts as nothing."""
    day = biggest[("CPIC", "POLICY")]
    first = write_faulty_file(tmp_path, "CPIC", "POLICY", day, None, world)
    load(fresh_db, tmp_path, "CPIC")
    again = write_faulty_file(tmp_path, "CPIC", "POLICY", day, "redeliver", world)
    assert again.path.read_bytes() == first.path.read_bytes()
    [outcome] = load(fresh_db, tmp_path, "CPIC")
    assert outcome.status == "duplicate"
    assert ledger(fresh_db) == [(first.path.name, "loaded", "utf-8-sig", 0)]
    assert scalar(fresh_db, "select count(*) from raw.insurer_policies") == first.data_rows


def test_a_correction_supersedes_the_earlier_version_wholly(fresh_db, world, biggest, tmp_path):
    day = biggest[("PICC", "POLICY")]
    write_faulty_file(tmp_path, "PICC", "POLICY", day, None, world)
    load(fresh_db, tmp_path, "PICC")
    corrected = write_faulty_file(tmp_path, "PICC", "POLICY", day, "correction", world)
    [outcome] = load(fresh_db, tmp_path, "PICC")
    assert outcome.status == "loaded"
    assert [status for _, status, _, _ in ledger(fresh_db)] == ["superseded", "loaded"]
    with connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute(
            "select r.record->>'保费' from raw.insurer_policies r"
            " join etl.files f on f.batch_id = r.batch_id and f.status = 'loaded' order by r.locator"
        )
        current = [row[0] for row in cur.fetchall()]
    text, _ = decode(corrected.path.read_bytes())
    wanted = parse_csv(text, insurer.INSURER["POLICY"].columns, trailer=True)
    assert sorted(current) == sorted(line.fields[8] for line in wanted.rows), "only the corrected version is current"


@pytest.mark.parametrize(
    ("kind", "fault"), [("POLICY", "ragged_row"), ("POLICY", "malformed_row"), ("CLAIM", "malformed_row")]
)
def test_bad_rows_are_rejected_with_line_and_reason_and_the_rest_load(fresh_db, world, biggest, tmp_path, kind, fault):
    file = write_faulty_file(tmp_path, "PAIC", kind, biggest[("PAIC", kind)], fault, world)
    [outcome] = load(fresh_db, tmp_path, "PAIC", share=1.0)  # the reject threshold is tested below
    assert outcome.status == "loaded"
    result = outcome.result
    assert (result.extracted, result.loaded, result.rejected) == (file.data_rows, file.good_rows, len(file.damaged))
    with connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("select locator, field, reason from etl.rejects order by locator")
        rejects = cur.fetchall()
    assert sorted(int(loc.split()[1]) for loc, _, _ in rejects) == sorted(d.line_no for d in file.damaged)
    for damaged in file.damaged:
        _, field, reason = next(r for r in rejects if r[0] == f"line {damaged.line_no}")
        expected = {
            "too_few_columns": "ragged row",
            "too_many_columns": "ragged row",
            "bad_date": "unparseable date",
            "bad_amount": "unparseable amount",
            "empty_key": "missing key",
            "unknown_status": "unknown code",
        }[damaged.reason]
        assert reason.startswith(expected), (damaged, reason)
        if damaged.column:
            assert field == damaged.column


def test_a_file_with_too_many_bad_rows_loads_its_good_rows_and_is_reported_degraded(fresh_db, world, tmp_path):
    small = min((f for f in list_files(world) if f.insurer == "CPIC" and f.kind == "CLAIM"), key=lambda f: f.rows)
    write_faulty_file(tmp_path, "CPIC", "CLAIM", small.file_date, "malformed_row", world)
    [outcome] = load(fresh_db, tmp_path, "CPIC", share=0.1)
    assert outcome.status == "loaded"
    assert outcome.result is not None
    assert outcome.result.degraded
    assert scalar(fresh_db, "select count(*) from raw.insurer_claims") == outcome.result.loaded
    assert [status for _, status, _, _ in ledger(fresh_db)] == ["loaded"]
    message = scalar(fresh_db, "select message from etl.feed_reports where kind = 'degraded' and feed = 'insurer'")
    assert "new records rejected" in message
    assert "line " in message


def test_only_files_dated_before_d_are_read_and_a_rerun_loads_nothing(fresh_db, world, tmp_path):
    for f in list_files(world, since="2026-11-15"):
        if f.insurer == "PICC":
            write_faulty_file(tmp_path, f.insurer, f.kind, f.file_date, None, world)
    first = load(fresh_db, tmp_path, "PICC", business_date=dt.date(2026, 11, 18))
    assert first
    assert all(o.file.name[-12:-4] < "20261118" for o in first)
    assert all(o.status == "duplicate" for o in load(fresh_db, tmp_path, "PICC", business_date=dt.date(2026, 11, 18)))
    later = load(fresh_db, tmp_path, "PICC", business_date=dt.date(2026, 11, 20))
    assert {o.status for o in later} <= {"duplicate", "loaded"}
    assert all(o.file.name[-12:-4] in ("20261118", "20261119") for o in later if o.status == "loaded")
    landed = rows(fresh_db, "raw.insurer_policies") + rows(fresh_db, "raw.insurer_claims")
    assert len(landed) == len(set(landed)) == sum(b["loaded"] for b in batches(fresh_db, "insurer"))


def test_quoted_fields_are_read_and_only_broken_quoting_is_refused_line_by_line():
    text = (
        "报案号,备注\r\n"
        'X1,"北京,朝阳"\r\n'  # a comma inside a quoted field
        'X2,"他说""好的"""\r\n'  # a quote doubled inside a quoted field
        'X3,张"伟\r\n'  # a stray quote
        'X4,"未结束\r\n'  # a quoted field never closed: it must not swallow the next lines
        "X5,\r\n"
        "X6\n"  # a bare LF ends a line too
        "合计,6\r\n"
    )
    parsed = parse_csv(text, ("报案号",), trailer=True)
    assert [(line.number, line.fields) for line in parsed.rows] == [
        (2, ["X1", "北京,朝阳"]),
        (3, ["X2", '他说"好的"']),
        (4, None),
        (5, None),
        (6, ["X5", ""]),
        (7, ["X6"]),
    ]
    assert parsed.rows[3].text == 'X4,"未结束'


def test_parse_csv_refuses_a_file_without_trailer():
    with pytest.raises(IncompleteFile, match="no 合计 trailer"):
        parse_csv("报案号\r\nX1\r\n", ("报案号",), trailer=True)


# --- call-center outcomes -------------------------------------------------------------


def write_outcomes(path: Path, count: int, bom: bool) -> list[str]:
    call_ids = [f"CL-D001-20261119-{i:04d}" for i in range(count)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(OUTCOME_COLUMNS)
    for i, call_id in enumerate(call_ids):
        writer.writerow(
            [
                call_id,
                "2026-11-19",
                "D001",
                f"C{i:08d}",
                1,
                "2026-11-19T10:15:00+08:00",
                "PHONE",
                "NO_ANSWER" if i % 2 else "BOOKED",
                "",
                "2026-11-25" if i % 2 == 0 else "",
                "无人接听",
            ]
        )
    path.write_bytes(("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8"))
    return call_ids


@pytest.mark.parametrize("bom", [True, False], ids=["bom", "no-bom"])
def test_outcomes_with_unknown_call_ids_or_codes_are_kept_aside(fresh_db, tmp_path, bom):
    path = tmp_path / "OUTCOMES_D001_20261119.csv"
    sent = write_outcomes(path, 30, bom)
    bad = add_bad_rows(path, unknown_call_ids=1, unknown_outcomes=1)
    conn = connect(fresh_db)
    with conn, conn.cursor() as cur:
        cur.executemany(
            "insert into etl.sent_calls values (%s, '2026-11-19', 'D001', 'C', 'PHONE')", [(c,) for c in sent]
        )
    [outcome] = callcenter.extract(conn, FolderDrop(str(tmp_path)), D, max_reject_share=0.2)
    conn.close()
    assert outcome.status == "loaded"
    assert (outcome.result.extracted, outcome.result.loaded, outcome.result.rejected) == (30, 28, 2)
    with connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("select field, reason from etl.rejects order by field")
        rejects = cur.fetchall()
    assert [f for f, _ in rejects] == ["call_id", "outcome"]
    assert "not on any list we sent" in rejects[0][1]
    assert rejects[1][1].startswith("unknown code")
    assert {b.reason for b in bad} == {"unknown_call_id", "unknown_outcome"}


def test_columns_are_matched_by_name_not_position(fresh_db, world, biggest, tmp_path):
    file = write_faulty_file(tmp_path, "PICC", "POLICY", biggest[("PICC", "POLICY")], None, world)
    table = list(csv.reader(io.StringIO(decode(file.path.read_bytes())[0])))
    reordered = [row[::-1] for row in table[:-1]] + [table[-1]]  # every column in reverse, the trailer as is
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(reordered)
    file.path.write_bytes(buffer.getvalue().encode(file.encoding))
    [outcome] = load(fresh_db, tmp_path, "PICC")
    assert (outcome.result.loaded, outcome.result.rejected) == (file.data_rows, 0)
    with connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("select record->>'保单号', record->>'保费' from raw.insurer_policies")
        landed = set(cur.fetchall())
    assert landed == {(row[0], row[8]) for row in table[1:-1]}
