"""One ``baoke run`` at a time per warehouse (docs/feeds.md §5, outputs.md §4).

Two runs at once would extract the same feeds twice, rebuild the same tables under each
other, and share one Airflow metadata database (SQLite under ``.baoke/airflow``). So a
run holds a PostgreSQL *session-level* advisory lock on the warehouse for as long as it
runs, taken before anything touches Airflow, and registers itself in ``etl.runs``
(business date, command, host, pid, log file). A second run fails to take the lock and
stops at once, naming the run in progress from its ``etl.runs`` row.

The lock lives and dies with its database session: a run that crashes (killed, machine
lost) releases it when its connection closes, so no stale lock ever blocks the next run.
Its ``etl.runs`` row stays without ``finished_at``. A reader tells such a row from the
run in progress by the lock: the holder of the lock names its row in its session's
``application_name`` (``baoke run #<run_id>``, visible in ``pg_stat_activity``), so an
unfinished row that :func:`in_progress` does not return is a run that died.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg2

#: The advisory lock key of ``baoke run`` (migrations use another). Below 2**31, so in
#: ``pg_locks`` it is ``classid = 0, objid = RUN_LOCK_KEY, objsubid = 1``.
RUN_LOCK_KEY = 0x5BA0_4F01
_APP_NAME = "baoke run #{run_id}"
_APP_NAME_RE = re.compile(r"^baoke run #(\d+)$")


class RunInProgress(RuntimeError):
    """Another run holds the warehouse; the message names it."""


@dataclass(frozen=True)
class RunRecord:
    """A row of ``etl.runs``."""

    run_id: int
    business_date: dt.date
    command: str
    host: str
    pid: int
    log_path: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    status: str | None = None

    def describe(self) -> str:
        """``run for 2026-11-20 started 2026-11-21 01:00:03+08:00 on host pid 4242 (log: ...)``."""
        started = self.started_at.isoformat(sep=" ", timespec="seconds")
        where = f" (log: {self.log_path})" if self.log_path else ""
        return f"run for {self.business_date.isoformat()} started {started} on {self.host} pid {self.pid}{where}"


_COLUMNS = "run_id, business_date, command, host, pid, log_path, started_at, finished_at, status"


def _row(cur: Any, run_id: int) -> RunRecord | None:
    cur.execute(f"select {_COLUMNS} from etl.runs where run_id = %s", (run_id,))
    row = cur.fetchone()
    return RunRecord(*row) if row else None


def in_progress(conn: Any) -> RunRecord | None:
    """The run holding the lock on this warehouse, if any (None also while the holder has
    not registered yet: it takes the lock first)."""
    with conn.cursor() as cur:
        cur.execute(
            "select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid"
            " where l.locktype = 'advisory' and l.granted and l.classid = 0 and l.objid = %s and l.objsubid = 1"
            " and l.database = (select oid from pg_database where datname = current_database())",
            (RUN_LOCK_KEY,),
        )
        holder = cur.fetchone()
        match = _APP_NAME_RE.match(holder[0] or "") if holder else None
        return _row(cur, int(match.group(1))) if match else None


def _in_progress_message(conn: Any) -> str:
    run = in_progress(conn)
    what = run.describe() if run else "a run that is starting (not registered in etl.runs yet)"
    return f"another baoke run is in progress on this warehouse: {what}"


@dataclass
class HeldRun:
    """The run holding the lock: its row, and the session the lock lives in."""

    record: RunRecord
    _conn: Any

    def finish(self, ok: bool) -> None:
        """Record how the run ended (the lock is released when ``hold`` exits)."""
        with self._conn.cursor() as cur:
            cur.execute(
                "update etl.runs set finished_at = now(), status = %s where run_id = %s",
                ("success" if ok else "failed", self.record.run_id),
            )


def _lock_session(url: str) -> Any:
    """A session for the whole run. TCP keepalives let the server notice a vanished
    client (and free the lock); an idle-session timeout would free it mid-run."""
    conn = psycopg2.connect(url, keepalives=1, keepalives_idle=60, keepalives_interval=10, keepalives_count=6)
    conn.autocommit = True
    if conn.server_version >= 140000:
        with conn.cursor() as cur:
            cur.execute("set idle_session_timeout = 0")
    return conn


@contextmanager
def hold(url: str, business_date: dt.date, command: str, log_path: str | None) -> Iterator[HeldRun]:
    """Hold the warehouse for one run, or raise :class:`RunInProgress` at once.

    The lock is taken before the run registers, so two runs never both register; the row
    is finished by :meth:`HeldRun.finish` (a run left without it ended abnormally)."""
    conn = _lock_session(url)
    try:
        with conn.cursor() as cur:
            cur.execute("select pg_try_advisory_lock(%s)", (RUN_LOCK_KEY,))
            (locked,) = cur.fetchone()
            if not locked:
                raise RunInProgress(_in_progress_message(conn))
            cur.execute(
                "insert into etl.runs (business_date, command, host, pid, log_path)"
                f" values (%s, %s, %s, %s, %s) returning {_COLUMNS}",
                (business_date, command, socket.gethostname(), os.getpid(), log_path),
            )
            record = RunRecord(*cur.fetchone())
            cur.execute("select set_config('application_name', %s, false)", (_APP_NAME.format(run_id=record.run_id),))
        yield HeldRun(record, conn)
    finally:
        conn.close()  # ends the session: the lock goes with it
