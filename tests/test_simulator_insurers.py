"""The insurers' file drop: real files in real encodings, with the faults of docs/feeds.md §2."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baoke.cli import app
from baoke_sim.insurance import CLAIM_HEADER, POLICY_HEADER
from baoke_sim.insurer_files import (
    FILE_FAULTS,
    FileFaults,
    WorldFile,
    deliver,
    drop_files,
    list_files,
    write_faulty_file,
)
from extract_support import world_at


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ins") / "world.sqlite"
    return world_at(path, "2026-11-23T00:00:00+08:00", seed=11)


def read(path: Path, encoding: str) -> list[list[str]]:
    text = path.read_bytes().decode(encoding)
    assert "\r\n" in text, "CRLF line ends"
    assert "\n" not in text.replace("\r\n", ""), "CRLF line ends only"
    return list(csv.reader(io.StringIO(text)))


def test_files_are_complete_in_each_insurers_encoding(world: Path, tmp_path: Path):
    written = drop_files(world, tmp_path)
    assert written
    names = {p.name for p in written}
    assert all(re.fullmatch(r"(POLICY|CLAIM)_(PICC|CPIC|PAIC)_\d{8}\.csv", n) for n in names)
    assert max(n[-12:-4] for n in names) < "20261123", "only files dated before the clock"
    bom = next(tmp_path.glob("CPIC/POLICY_*.csv")).read_bytes()
    assert bom.startswith(b"\xef\xbb\xbf")
    gb = next(tmp_path.glob("PICC/POLICY_*.csv")).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        gb.decode("utf-8")
    rows = read(next(tmp_path.glob("PICC/POLICY_*.csv")), "gb18030")
    assert rows[0] == POLICY_HEADER
    assert rows[-1] == ["合计", str(len(rows) - 2)]
    claims = read(next(tmp_path.glob("PICC/CLAIM_*.csv")), "gb18030")
    assert claims[0] == CLAIM_HEADER
    assert claims[-1][0] == "合计"
    assert {r[7] for r in claims[1:-1]} <= {"已报案", "已定损", "已结案"}


def test_both_date_formats_occur_within_files(world: Path, tmp_path: Path):
    drop_files(world, tmp_path)
    starts = [
        r[6]
        for p in tmp_path.glob("*/POLICY_*.csv")
        for r in read(p, "utf-8-sig" if "CPIC" in p.name else "gb18030")[1:-1]
    ]
    assert any("/" in d for d in starts)
    assert any("-" in d for d in starts)


def test_the_newest_file_can_still_be_in_writing(world: Path, tmp_path: Path):
    written = drop_files(world, tmp_path, FileFaults(incomplete_latest=True))
    newest = max(written, key=lambda p: p.name[-12:-4])
    text = newest.read_bytes().decode("utf-8-sig" if "CPIC" in newest.name else "gb18030", errors="replace")
    assert "合计" not in text


def test_redelivery_and_correction(world: Path, tmp_path: Path):
    clean = tmp_path / "clean"
    faulty = tmp_path / "faulty"
    drop_files(world, clean)
    written = drop_files(world, faulty, FileFaults(redeliver_rate=0.2, correction_rate=0.2, seed=3))
    assert len(written) > len(set(written)), "some files arrived more than once"
    differ = [p for p in faulty.rglob("*.csv") if p.read_bytes() != (clean / p.relative_to(faulty)).read_bytes()]
    assert differ, "corrected files replace the first delivery"
    assert len(differ) < len(list(faulty.rglob("*.csv")))


def test_drops_are_deterministic(world: Path, tmp_path: Path):
    a, b = tmp_path / "a", tmp_path / "b"
    drop_files(world, a, FileFaults(correction_rate=0.3, seed=5))
    drop_files(world, b, FileFaults(correction_rate=0.3, seed=5))
    assert all(p.read_bytes() == (b / p.relative_to(a)).read_bytes() for p in a.rglob("*.csv"))


# --- scripted faults ---------------------------------------------------------------------------

ENCODING = {"PICC": "gb18030", "CPIC": "utf-8-sig", "PAIC": "gb18030"}
DATE_COLUMNS = {"POLICY": ("起保日期", "终保日期", "签单日期"), "CLAIM": ("出险日期", "报案日期")}
AMOUNT = {"POLICY": "保费", "CLAIM": "定损金额"}
KEY = {"POLICY": "保单号", "CLAIM": "报案号"}
HEADER = {"POLICY": POLICY_HEADER, "CLAIM": CLAIM_HEADER}


def pick(world: Path, kind: str, insurer: str, min_rows: int = 1) -> WorldFile:
    """The newest file of that kind and insurer with at least ``min_rows`` rows."""
    return [f for f in list_files(world) if f.kind == kind and f.insurer == insurer and f.rows >= min_rows][-1]


def rejects(kind: str, lines: list[list[str]]) -> dict[int, str]:
    """What an independent validator rejects in a file's data lines: line number -> reason."""
    header = HEADER[kind]
    found = {}
    for line_no, row in enumerate(lines, start=2):
        if len(row) != len(header):
            found[line_no] = "too_few_columns" if len(row) < len(header) else "too_many_columns"
            continue
        field = dict(zip(header, row, strict=False))
        try:
            for column in DATE_COLUMNS[kind]:
                dt.date.fromisoformat(field[column].replace("/", "-"))
        except ValueError:
            found[line_no] = "bad_date"
            continue
        try:
            decimal.Decimal(field[AMOUNT[kind]])
        except decimal.InvalidOperation:
            found[line_no] = "bad_amount"
            continue
        if not field[KEY[kind]]:
            found[line_no] = "empty_key"
        elif kind == "CLAIM" and field["案件状态"] not in {"已报案", "已定损", "已结案"}:
            found[line_no] = "unknown_status"
    return found


def test_both_date_formats_occur_within_single_files(world: Path, tmp_path: Path):
    drop_files(world, tmp_path)
    for kind in ("POLICY", "CLAIM"):
        mixed = 0
        for path in tmp_path.glob(f"*/{kind}_*.csv"):
            rows = read(path, ENCODING[path.parent.name])
            dates = [dict(zip(rows[0], r, strict=False))[c] for r in rows[1:-1] for c in DATE_COLUMNS[kind]]
            assert all(re.fullmatch(r"\d{4}([-/])\d{2}\1\d{2}", d) for d in dates)
            mixed += any("/" in d for d in dates) and any("-" in d for d in dates)
        assert mixed > 10, f"{kind}: YYYY-MM-DD and YYYY/MM/DD in the same file"


@pytest.mark.parametrize(
    ("kind", "insurer"), [("POLICY", "PICC"), ("POLICY", "CPIC"), ("CLAIM", "PAIC"), ("CLAIM", "CPIC")]
)
def test_malformed_rows_are_reported_line_by_line(world: Path, tmp_path: Path, kind: str, insurer: str):
    f = pick(world, kind, insurer, min_rows=2)
    report = write_faulty_file(tmp_path, insurer, kind, f.file_date, "malformed_row", world)
    assert report.path == tmp_path / insurer / f.name
    assert report.encoding == ENCODING[insurer]
    rows = read(report.path, ENCODING[insurer])
    assert rows[0] == HEADER[kind]
    assert rows[-1] == ["合计", str(len(rows) - 2)]
    expected = {"bad_date", "bad_amount", "empty_key"} | ({"unknown_status"} if kind == "CLAIM" else set())
    assert {d.line_no: d.reason for d in report.damaged} == rejects(kind, rows[1:-1])
    assert {d.reason for d in report.damaged} == expected
    assert report.complete
    assert report.data_rows == len(rows) - 2 == max(f.rows, len(expected))
    assert report.good_rows == report.data_rows - len(expected)
    assert report.rejected_rows == len(expected)
    bad_date = next(d for d in report.damaged if d.reason == "bad_date")
    assert bad_date.value in ("2026-13-45", "2026/13/45")
    assert dict(zip(rows[0], rows[bad_date.line_no - 1], strict=False))[bad_date.column] == bad_date.value


def test_ragged_rows_have_too_few_and_too_many_columns(world: Path, tmp_path: Path):
    f = pick(world, "POLICY", "PICC", min_rows=3)
    report = write_faulty_file(tmp_path, "PICC", "POLICY", f.file_date, "ragged_row", world)
    rows = read(report.path, "gb18030")
    assert {d.line_no: d.reason for d in report.damaged} == rejects("POLICY", rows[1:-1])
    assert sorted(d.reason for d in report.damaged) == ["too_few_columns", "too_many_columns"]
    assert report.complete
    assert report.data_rows == f.rows
    assert report.good_rows == f.rows - 2


def test_a_wrong_trailer_count_and_a_missing_trailer(world: Path, tmp_path: Path):
    f = pick(world, "POLICY", "CPIC", min_rows=2)
    mismatch = write_faulty_file(tmp_path / "a", "CPIC", "POLICY", f.file_date, "trailer_mismatch", world)
    rows = read(mismatch.path, "utf-8-sig")
    assert rows[-1][0] == "合计"
    assert int(rows[-1][1]) == mismatch.trailer != len(rows) - 2 == f.rows
    assert not mismatch.complete
    assert mismatch.good_rows == 0
    incomplete = write_faulty_file(tmp_path / "b", "CPIC", "POLICY", f.file_date, "incomplete", world)
    text = incomplete.path.read_bytes().decode("utf-8-sig")
    assert "合计" not in text
    assert incomplete.trailer is None
    assert not incomplete.complete
    clean = write_faulty_file(tmp_path / "c", "CPIC", "POLICY", f.file_date, None, world).path.read_bytes()
    assert clean.decode("utf-8-sig").startswith(text)
    assert len(text) < len(clean.decode("utf-8-sig"))


def test_one_call_is_one_delivery_redelivery_identical_correction_different(world: Path, tmp_path: Path):
    f = pick(world, "CLAIM", "PICC")
    first = write_faulty_file(tmp_path, "PICC", "CLAIM", f.file_date, None, world)
    clean = first.path.read_bytes()
    assert write_faulty_file(tmp_path, "PICC", "CLAIM", f.file_date, "redeliver", world).path.read_bytes() == clean
    corrected = write_faulty_file(tmp_path, "PICC", "CLAIM", f.file_date, "correction", world)
    after = corrected.path.read_bytes()
    assert after != clean
    assert corrected.complete
    assert corrected.good_rows == f.rows
    before_lines, after_lines = clean.decode("gb18030").split("\r\n"), after.decode("gb18030").split("\r\n")
    changed = tuple(n for n, (a, b) in enumerate(zip(before_lines, after_lines, strict=False), start=1) if a != b)
    assert changed == corrected.changed_lines
    assert len(changed) == 1


def test_a_script_faults_named_files_and_reports_them(world: Path, tmp_path: Path):
    files = list_files(world, since="2026-11-15")
    policy = [f for f in files if f.kind == "POLICY" and f.rows >= 2]
    claim = [f for f in files if f.kind == "CLAIM"]
    script = {
        policy[0].name: "trailer_mismatch",
        policy[1].name: "redeliver",
        policy[2].name: "correction",
        claim[0].name: "malformed_row",
        claim[1].name: "incomplete",
    }
    clean = tmp_path / "clean"
    drop_files(world, clean, since="2026-11-15")
    delivery = deliver(world, tmp_path / "faulty", FileFaults(script=script), since="2026-11-15")
    assert set(delivery.faulty) == set(script)
    assert {r.fault for r in delivery.faulty.values()} == set(script.values())
    assert len(delivery.written) == len(files) + 2, "the re-delivery and the correction arrive twice"
    for name, report in delivery.faulty.items():
        same = report.path.read_bytes() == (clean / report.path.relative_to(tmp_path / "faulty")).read_bytes()
        assert same == (report.fault == "redeliver"), name
        assert report.deliveries == (2 if report.fault in ("redeliver", "correction") else 1)
    assert [r.complete for r in delivery.faulty.values()].count(False) == 2
    malformed = delivery.faulty[claim[0].name]
    assert len(malformed.damaged) == 4
    assert malformed.good_rows == malformed.data_rows - 4
    untouched = [p for p in (tmp_path / "faulty").rglob("*.csv") if p.name not in script]
    assert untouched
    assert all(p.read_bytes() == (clean / p.relative_to(tmp_path / "faulty")).read_bytes() for p in untouched)
    again = deliver(world, tmp_path / "again", FileFaults(script=script), since="2026-11-15")
    assert again.faulty[claim[0].name].damaged == malformed.damaged, "deterministic"


def test_a_script_naming_a_missing_file_or_an_unknown_fault_is_refused(world: Path, tmp_path: Path):
    with pytest.raises(ValueError, match="not in this drop"):
        deliver(world, tmp_path, FileFaults(script={"POLICY_PICC_20201231.csv": "incomplete"}), since="2026-11-01")
    with pytest.raises(ValueError, match="unknown file faults"):
        FileFaults(script={"POLICY_PICC_20261120.csv": "on_fire"})
    with pytest.raises(ValueError, match="no CLAIM file"):
        write_faulty_file(tmp_path, "PICC", "CLAIM", "2030-01-01", "incomplete", world)
    assert set(FILE_FAULTS) == {
        "redeliver",
        "resent_renamed",
        "correction",
        "incomplete",
        "trailer_mismatch",
        "missing",
        "empty",
        "short",
        "ragged_row",
        "malformed_row",
        "stray_quote",
        "renamed_column",
        "extra_column",
        "without_v2",
    }
    with pytest.raises(ValueError, match="POLICY files cannot have the fault 'without_v2'"):
        write_faulty_file(tmp_path, "PICC", "POLICY", pick(world, "POLICY", "PICC").file_date, "without_v2", world)


def test_drop_files_command_scripts_faults(world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("INSURER_INBOX", str(tmp_path))
    f = pick(world, "POLICY", "PAIC", min_rows=2)
    args = ["simulate", "drop-files", "--world", str(world), "--since", f.file_date, "--fault", f"{f.name}=ragged_row"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"{f.name}: ragged_row" in result.output
    assert "too_many_columns" in result.output
    assert sorted(rejects("POLICY", read(tmp_path / "PAIC" / f.name, "gb18030")[1:-1]).values()) == [
        "too_few_columns",
        "too_many_columns",
    ]
    bad = CliRunner().invoke(app, [*args[:-1], f"{f.name}=on_fire"])
    assert bad.exit_code == 2
    assert "FILE=KIND" in bad.output
