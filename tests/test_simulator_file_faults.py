"""The file faults of the simulated insurers and call center (baoke_sim.file_faults), read
back from the bytes on disk by an independent reader: each does what it says, to the
file it names, the same way every time."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest

from baoke_sim.callcenter import OUTCOME_COLUMNS, V2_COLUMNS, CallCenterConfig, work_lists
from baoke_sim.file_faults import FileFaults
from baoke_sim.insurer_files import SHAPES, deliver, drop_files, list_files, write_faulty_file
from extract_support import world_at

ENCODING = {"PICC": "gb18030", "CPIC": "utf-8-sig", "PAIC": "gb18030"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return world_at(tmp_path_factory.mktemp("ff") / "world.sqlite", "2026-11-23T00:00:00+08:00", seed=11)


def lines(path: Path) -> list[str]:
    """The file's lines as written (CRLF), without the final line end."""
    text = path.read_bytes().decode(ENCODING[path.parent.name])
    assert text.endswith("\r\n")
    return text[:-2].split("\r\n")


def fields(line: str) -> list[str]:
    return next(csv.reader([line]))


def biggest(world: Path, insurer: str, kind: str) -> str:
    return max(
        (f for f in list_files(world) if f.insurer == insurer and f.kind == kind), key=lambda f: f.rows
    ).file_date


def test_a_renamed_resend_has_the_same_bytes_under_the_next_name(world: Path, tmp_path: Path):
    day = biggest(world, "PICC", "POLICY")
    first = write_faulty_file(tmp_path, "PICC", "POLICY", day, None, world)
    resent = [write_faulty_file(tmp_path, "PICC", "POLICY", day, "resent_renamed", world) for _ in range(2)]
    stamp = day.replace("-", "")
    assert [r.path.name for r in resent] == [f"POLICY_PICC_RESENT{n}_{stamp}.csv" for n in (1, 2)]
    assert all(r.path.read_bytes() == first.path.read_bytes() for r in resent)
    assert [r.deliveries for r in resent] == [1, 1]


def test_empty_short_and_missing_files(world: Path, tmp_path: Path):
    day = biggest(world, "CPIC", "CLAIM")
    size = next(f.rows for f in list_files(world) if f.name == f"CLAIM_CPIC_{day.replace('-', '')}.csv")
    empty = write_faulty_file(tmp_path / "a", "CPIC", "CLAIM", day, "empty", world)
    assert lines(empty.path) == [",".join(SHAPES["CLAIM"].header), "合计,0"]
    short = write_faulty_file(tmp_path / "b", "CPIC", "CLAIM", day, "short", world)
    written = lines(short.path)
    assert len(written) - 2 == short.data_rows == max(1, size // 10)
    assert written[-1] == f"合计,{short.data_rows}"
    missing = write_faulty_file(tmp_path / "c", "CPIC", "CLAIM", day, "missing", world)
    assert not missing.path.exists()
    assert (missing.deliveries, missing.complete) == (0, False)


def test_a_stray_quote_breaks_exactly_the_lines_it_reports(world: Path, tmp_path: Path):
    file = write_faulty_file(tmp_path, "PAIC", "POLICY", biggest(world, "PAIC", "POLICY"), "stray_quote", world)
    written = lines(file.path)
    valid = re.compile(r'(?:"(?:[^"]|"")*"|[^",]*)(?:,(?:"(?:[^"]|"")*"|[^",]*))*')
    broken = {n for n, line in enumerate(written, start=1) if not valid.fullmatch(line)}
    assert broken == {d.line_no for d in file.damaged}
    assert {d.reason for d in file.damaged} == {"stray_quote", "unterminated_quote"}
    for damaged in file.damaged:
        assert damaged.column == "被保险人"
        assert damaged.value in written[damaged.line_no - 1]
    assert written[-1] == f"合计,{file.data_rows}", "the trailer counts the broken lines"


def test_header_faults_rename_add_or_leave_out_columns(world: Path, tmp_path: Path):
    day = biggest(world, "PICC", "CLAIM")
    renamed = write_faulty_file(tmp_path / "a", "PICC", "CLAIM", day, "renamed_column", world)
    header = fields(lines(renamed.path)[0])
    assert "维修单位代码" not in header
    assert header[SHAPES["CLAIM"].header.index("维修单位代码")] == "修理厂代码"
    assert renamed.unannounced == ("修理厂代码",)
    assert len(renamed.damaged) == renamed.data_rows
    extra = write_faulty_file(tmp_path / "b", "PICC", "CLAIM", day, "extra_column", world)
    rows = [fields(line) for line in lines(extra.path)[:-1]]
    assert rows[0] == [*SHAPES["CLAIM"].header, "查勘员"]
    assert {r[-1] for r in rows[1:]} == {"李明"}
    assert (extra.damaged, extra.unannounced) == ((), ("查勘员",))


def test_random_faults_are_drawn_per_file_so_a_later_drop_repeats_them(world: Path, tmp_path: Path):
    faults = FileFaults(rate=0.4, seed=5, redeliver_rate=0.2, correction_rate=0.2)
    wide = deliver(world, tmp_path / "wide", faults, since="2026-10-01")
    narrow = deliver(world, tmp_path / "narrow", faults, since="2026-11-01")
    assert len({r.fault for r in wide.faulty.values()}) >= 6
    assert {n: r.fault for n, r in narrow.faulty.items()} == {
        n: r.fault for n, r in wide.faulty.items() if n[-12:-4] >= "20261101"
    }
    for path in (tmp_path / "narrow").rglob("*.csv"):
        assert path.read_bytes() == (tmp_path / "wide" / path.relative_to(tmp_path / "narrow")).read_bytes()
    only = deliver(world, tmp_path / "only", FileFaults(rate=1.0, kinds=("empty", "without_v2")), since="2026-11-01")
    assert {r.fault for r in only.faulty.values()} == {"empty"}, "only the kinds asked for that fit insurer files"
    assert len(drop_files(world, tmp_path / "none", FileFaults(), since="2026-11-01")) == len(
        list_files(world, since="2026-11-01")
    )


# --- call-center files --------------------------------------------------------------------------

DAY = dt.date(2026, 11, 22)


def write_call_list(outbound: Path, count: int, reason: str = "LOST_WINBACK") -> None:
    folder = outbound / DAY.isoformat() / "D001"
    folder.mkdir(parents=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["call_id", "list_date", "dealer_code", "customer_id", "vin", "primary_reason", "attempt_no"])
    writer.writerows(
        [f"D001-{DAY:%Y%m%d}-{i:05d}", DAY, "D001", f"C{i:08d}", f"LHXTEST{i:010d}", reason, 1] for i in range(count)
    )
    (folder / f"call_list_D001_{DAY:%Y%m%d}.csv").write_bytes(buffer.getvalue().encode("utf-8-sig"))


def read_outcomes(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig")))
    return list(reader.fieldnames or []), list(reader)


def test_outcome_files_carry_the_v2_columns_within_their_codes(world: Path, tmp_path: Path):
    write_call_list(tmp_path / "out", 400, "POST_SERVICE_FOLLOWUP")  # a 回访 call: the customer is asked to score
    [path] = work_lists(DAY, tmp_path / "out", tmp_path / "inbox", world).outcomes
    header, rows = read_outcomes(path)
    assert header == OUTCOME_COLUMNS
    scores = {r["csi_score"] for r in rows}
    assert scores <= {"", "1", "2", "3", "4", "5"}
    assert len(scores) >= 4, "scores are given, and they vary"
    assert {r["complaint_category"] for r in rows} <= {
        "",
        "service_attitude",
        "repair_quality",
        "price",
        "waiting_time",
        "parts",
    }
    assert {r["loss_reason"] for r in rows if r["outcome"] == "SERVICED_AT_OTHER_DEALER"} == {"OTHER_DEALER"}
    assert all(not r[c] for r in rows if r["outcome"] in ("NO_ANSWER", "BUSY", "POWERED_OFF") for c in V2_COLUMNS)


@pytest.mark.parametrize("fault", ["without_v2", "missing", "resent_renamed", "stray_quote"])
def test_outcome_files_can_be_damaged_without_changing_what_the_calls_did(world: Path, tmp_path: Path, fault: str):
    write_call_list(tmp_path / "out", 120)
    clean = work_lists(DAY, tmp_path / "out", tmp_path / "clean", world)
    name = f"OUTCOMES_D001_{DAY:%Y%m%d}.csv"
    config = CallCenterConfig(files=FileFaults(script={name: fault}))
    faulty = work_lists(DAY, tmp_path / "out", tmp_path / "faulty", world, config)
    assert faulty.rows == clean.rows
    assert faulty.returns == clean.returns, "the world feels the calls all the same"
    report = faulty.faulty[name]
    _, clean_rows = read_outcomes(clean.outcomes[0])
    if fault == "missing":
        assert faulty.outcomes == []
        assert not (tmp_path / "faulty" / name).exists()
    elif fault == "resent_renamed":
        assert [p.name for p in faulty.outcomes] == [name, name.replace("D001_", "D001_RESENT1_")]
        assert {p.read_bytes() for p in faulty.outcomes} == {clean.outcomes[0].read_bytes()}
    elif fault == "without_v2":
        header, rows = read_outcomes(faulty.outcomes[0])
        assert header == [c for c in OUTCOME_COLUMNS if c not in V2_COLUMNS]
        assert rows == [{c: r[c] for c in header} for r in clean_rows]
    else:
        assert len(report.damaged) == 2
        assert {d.column for d in report.damaged} == {"note"}
