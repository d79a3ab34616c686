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
