"""The insurers' file drop: real files in real encodings, with the faults of feeds.md §2."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from pathlib import Path

import pytest

from baoke.simulator import store
from baoke.simulator.insurance import CLAIM_HEADER, POLICY_HEADER
from baoke.simulator.insurer_files import FileFaults, drop_files
from baoke.simulator.world import generate


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ins") / "world.sqlite"
    generate(path, "small", seed=11)
    with sqlite3.connect(path) as conn:
        store.set_meta(conn, clock="2026-11-23T00:00:00+08:00")
    return path


def read(path: Path, encoding: str) -> list[list[str]]:
    text = path.read_bytes().decode(encoding)
    assert "\r\n" in text and "\n" not in text.replace("\r\n", ""), "CRLF line ends"
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
    assert claims[0] == CLAIM_HEADER and claims[-1][0] == "合计"
    assert {r[7] for r in claims[1:-1]} <= {"已报案", "已定损", "已结案"}


def test_both_date_formats_occur_within_files(world: Path, tmp_path: Path):
    drop_files(world, tmp_path)
    starts = [r[6] for p in tmp_path.glob("*/POLICY_*.csv")
              for r in read(p, "utf-8-sig" if "CPIC" in p.name else "gb18030")[1:-1]]
    assert any("/" in d for d in starts) and any("-" in d for d in starts)


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
