"""Defaults every Baoke DAG uses, so that the DAG files stay a screen long."""

from __future__ import annotations

import datetime as dt

import pendulum

from baoke.orchestration.notify import FailureNotifier

OWNER = "baoke-data"

#: Retries with exponential backoff: feeds fail transiently (429, 5xx, timeouts).
DEFAULT_ARGS: dict = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=30),
}

#: Daily runs at 01:00 in the dealers' time zone; the run at D 01:00 serves business date D.
DAILY_SCHEDULE = "0 1 * * *"
#: The monthly report's run: the 1st at 01:00, the same hour as the day's run it waits for.
MONTHLY_SCHEDULE = "0 1 1 * *"

#: No run is meaningful before the platform existed; backfills start from here.
START_DATE = pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai")

#: Keyword arguments shared by every ``@dag``: one place for the conventions. A failed
#: run notifies through the connection ``baoke_alerts``, if there is one (``notify.py``).
DAG_KWARGS: dict = {
    "start_date": START_DATE,
    "catchup": False,
    "max_active_runs": 1,
    "default_args": DEFAULT_ARGS,
    "on_failure_callback": FailureNotifier(),
}
