"""The one replay test_replay.py reads (the session fixture
``replayed`` in conftest.py): three days of the small world with faults at a few
percent on every feed (docs/feeds.md §5), dbt's data tests on in every day's build.

Why one: a replay's first day reads the world's whole history and every day is a full
``dbt build``, minutes each; the clean replay's claims (every day keeps the outreach
rules, the call center's outcomes drive the next days' lists, every build passes its
data tests) must hold on days whose feeds misbehave too, and the faults' own claims
(each is found, none is lost or kept twice) are checked by the reconciliation of the
same days.

Friday to Sunday: the first day reads the whole history (the DMS's six years, the
insurers' files of the last two), Sunday's DMS run is the weekly deep read, which must
find Saturday's late change. Pages of 100 records give the APIs ten times the requests
to fault; a 3 s timeout makes a stalled answer cheap. The fault seed was picked so that
every class of fault occurs (``test_every_class_of_fault_was_injected`` says which);
Saturday's late change, which Sunday's deep read must find, is scripted.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import NamedTuple

import psycopg2
import pytest

from baoke_sim.replay import DayReport, FaultSettings, replay
from extract_support import generated, insurer_files_since

START = dt.date(2026, 10, 16)  # a Friday
DAYS = 3
SUNDAY = START + dt.timedelta(days=2)
#: Saturday's late change is scripted (the random draws of a seed depend on the world's
#: requests, which every change of the simulated world moves).
FAULTS = FaultSettings(rate=0.05, seed=1397, late_change_on=(SUNDAY - dt.timedelta(days=1),))
#: The insurers' files of the last two years (``extract_support.insurer_files_since``):
#: about 1,600 files, a hundred of them faulty, every kind of file fault among them.
INSURER_FILES_SINCE = START.replace(year=START.year - 2)


class Replayed(NamedTuple):
    """The replayed warehouse, each day's report, and the folder of the inboxes and the
    exported lists (``outbound_dir``)."""

    url: str
    reports: list[DayReport]
    folder: Path


def replay_with_faults(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Replayed:
    """Run the replay into a database of its own on the test server."""
    world = tmp_path_factory.mktemp("replay") / "world.sqlite"
    generated(world, "small", seed=21, until=START + dt.timedelta(days=60))
    insurer_files_since(world, INSURER_FILES_SINCE)
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("replay-folders")
        for name in ("INSURER_INBOX", "CALLCENTER_INBOX", "OUTBOUND_DIR"):
            mp.setenv(name, str(folder / name.lower()))
        admin = psycopg2.connect(warehouse_url)
        admin.autocommit = True
        admin.cursor().execute("create database replay")
        admin.close()
        url = warehouse_url.rsplit("/", 1)[0] + "/replay"
        mp.setenv("AIRFLOW_CONN_WAREHOUSE", url)
        mp.setenv("BAOKE_PAGE_SIZE", "100")
        mp.setenv("BAOKE_HTTP_TIMEOUT", "3")
        reports = replay(world, START, DAYS, with_tests=True, faults=FAULTS)
    return Replayed(url, reports, folder)
