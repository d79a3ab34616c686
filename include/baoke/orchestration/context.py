"""What a Baoke task needs from its Airflow context."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from baoke.dates import business_date_from_context, stamp_business_date


def task_business_date(context: Mapping[str, Any] | None = None) -> dt.date:
    """The business date D of the running task, also stamped on every Asset event the
    task emits (so the warehouse run those events trigger builds for the same D)."""
    if context is None:
        from airflow.sdk import get_current_context

        context = get_current_context()
    business_date = business_date_from_context(context)
    stamp_business_date(context, business_date)
    return business_date


#: The counts an Asset event carries for a table the task loaded nothing into.
NO_BATCH: dict[str, int] = {"extracted": 0, "loaded": 0, "rejected": 0, "duplicates_skipped": 0}


def stamp_counts(context: Mapping[str, Any], counts: Mapping[str, Mapping[str, int]]) -> None:
    """Add to each Asset event the running task emits the counts of the batches it
    committed into that raw table (``BatchResult.counts()``, summed), beside the business
    date: whoever reads the event (the warehouse run, the UI) sees what the load did."""
    task = context.get("task")
    outlet_events = context.get("outlet_events")
    if task is None or outlet_events is None:
        return
    for outlet in task.outlets:
        event = outlet_events[outlet]
        event.extra = {**event.extra, **(counts.get(outlet.name) or NO_BATCH)}
