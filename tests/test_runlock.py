"""One `baoke run` at a time per warehouse (docs/feeds.md §5): a second run stops at once
naming the one in progress; a crashed run blocks nobody and its row is told apart."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
from typer.testing import CliRunner

from baoke import runlock
from baoke.cli import app

D = dt.date(2026, 11, 20)


def runs(url: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("select run_id, business_date, finished_at, status from etl.runs order by run_id")
        return cur.fetchall()


def wait_until(condition, seconds: float = 30) -> None:
    """For the server to notice a killed client (it does within moments)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.2)


def test_a_second_run_stops_at_once_naming_the_run_in_progress(
    fresh_db: str, state_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", fresh_db)
    with runlock.hold(fresh_db, D, "baoke run --date 2026-11-20", "/var/log/baoke/first.log") as first:
        result = CliRunner().invoke(app, ["run", "--date", "2026-11-21"])
        during = runs(fresh_db)
    assert result.exit_code == 1, result.output
    started = first.record.started_at.isoformat(sep=" ", timespec="seconds")
    assert (
        "another baoke run is in progress on this warehouse: run for 2026-11-20"
        f" started {started} on {socket.gethostname()} pid {os.getpid()} (log: /var/log/baoke/first.log)"
    ) in result.output
    assert "Traceback" not in result.output
    assert [row[0] for row in during] == [first.record.run_id], "the second run registered nothing"
    assert not list((state_dir / "logs").glob("run_2026-11-21_*")), "nor wrote a log"


def test_a_finished_run_records_how_it_ended_and_frees_the_warehouse(fresh_db: str):
    with runlock.hold(fresh_db, D, "baoke run --date 2026-11-20", None) as run:
        run.finish(ok=True)
    [(run_id, business_date, finished_at, status)] = runs(fresh_db)
    assert (run_id, business_date, status) == (run.record.run_id, D, "success")
    assert finished_at is not None
    with runlock.hold(fresh_db, D, "baoke run --date 2026-11-20", None) as again:
        again.finish(ok=False)
    assert [row[3] for row in runs(fresh_db)] == ["success", "failed"]


def test_a_crashed_runs_lock_dies_with_it_and_its_row_is_told_apart(fresh_db: str):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import datetime as dt, time\n"
            "from baoke import runlock\n"
            f"with runlock.hold({fresh_db!r}, dt.date(2026, 11, 19), 'baoke run --date 2026-11-19', None) as run:\n"
            "    print(run.record.run_id, flush=True)\n"
            "    time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        crashed_id = int(holder.stdout.readline())
        conn = psycopg2.connect(fresh_db)
        conn.autocommit = True
        assert runlock.in_progress(conn).run_id == crashed_id
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    wait_until(lambda: runlock.in_progress(conn) is None)
    with runlock.hold(fresh_db, D, "baoke run --date 2026-11-20", None) as next_run:
        assert runlock.in_progress(conn).run_id == next_run.record.run_id
        unfinished = [row[0] for row in runs(fresh_db) if row[2] is None]
        assert unfinished == [crashed_id, next_run.record.run_id]
        dead = [run_id for run_id in unfinished if run_id != runlock.in_progress(conn).run_id]
        assert dead == [crashed_id], "an unfinished row the lock holder does not name is a run that died"
    conn.close()
