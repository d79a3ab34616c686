"""The business date: the one notion of "today" every Baoke job uses.

docs/rules.md: the run for business date D happens in the early morning of D (Asia/Shanghai)
and sees every source change made before ``D 00:00 +08:00``. Jobs take D from their
Airflow data interval (or, for runs triggered by Assets or by ``baoke run``, from the
run's conf), never from the wall clock, so a backfill reproduces the day it replays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
#: The daily runs start at 01:00 in the dealers' time zone.
DAILY_RUN_TIME = dt.time(1, 0)


def parse_business_date(value: str) -> dt.date:
    """Parse ``YYYY-MM-DD`` strictly; the error message says what was expected."""
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise ValueError(f"business date must be YYYY-MM-DD (e.g. 2026-11-21), got {value!r}")


def run_logical_date(business_date: dt.date) -> dt.datetime:
    """The logical date of the daily run for ``business_date``: D 01:00 Asia/Shanghai."""
    return dt.datetime.combine(business_date, DAILY_RUN_TIME, tzinfo=TZ)


def day_start(business_date: dt.date) -> dt.datetime:
    """``D 00:00 +08:00``: the exclusive upper bound of what the run for D may see."""
    return dt.datetime.combine(business_date, dt.time(0, 0), tzinfo=TZ)


def business_date_from_context(context: Mapping[str, Any]) -> dt.date:
    """D for a running task: the run conf's ``business_date`` if given; for a run
    triggered by Assets (which has no data interval), the latest ``business_date`` the
    triggering asset events carry; else the end of the data interval (or the logical
    date) in Asia/Shanghai."""
    dag_run = context.get("dag_run")
    conf = getattr(dag_run, "conf", None) or {}
    if conf.get("business_date"):
        return parse_business_date(str(conf["business_date"]))
    from_events = business_date_from_asset_events(context)
    if from_events is not None:
        return from_events
    for key in ("data_interval_end", "logical_date"):
        stamp = context.get(key)
        if stamp is not None:
            return stamp.astimezone(TZ).date()
    raise ValueError(
        "this run has no data interval and no business_date in its conf; "
        "trigger it with conf {'business_date': 'YYYY-MM-DD'}"
    )


def recent_business_date(now: dt.datetime | None = None) -> dt.date:
    """Today in Asia/Shanghai: the date a run starting now would serve (for the demo)."""
    return (now or dt.datetime.now(TZ)).astimezone(TZ).date()


def business_date_from_asset_events(context: Mapping[str, Any]) -> dt.date | None:
    """The latest business date stamped on the events that triggered this run, if any
    (extraction tasks stamp ``{"business_date": D}`` on every Asset event they emit)."""
    events = context.get("triggering_asset_events") or {}
    dates = [
        parse_business_date(str(event.extra["business_date"]))
        for asset in events
        for event in events[asset]
        if (getattr(event, "extra", None) or {}).get("business_date")
    ]
    return max(dates, default=None)


def stamp_business_date(context: Mapping[str, Any], business_date: dt.date) -> None:
    """Carry D on every Asset event the running task emits, so that the runs these
    events trigger know which day they serve (an Asset-triggered run has no interval)."""
    task = context.get("task")
    outlet_events = context.get("outlet_events")
    if task is None or outlet_events is None:
        return
    for outlet in task.outlets:
        outlet_events[outlet].extra = {"business_date": business_date.isoformat()}
