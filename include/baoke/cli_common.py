"""Option parsing shared by the ``baoke`` commands and sub-commands."""

from __future__ import annotations

import datetime as dt
from typing import Optional

import typer

from baoke.dates import parse_business_date


def date_option(value: Optional[str]) -> Optional[dt.date]:
    """A ``YYYY-MM-DD`` option; anything else is a usage error (exit 2) saying why."""
    if value is None:
        return None
    try:
        return parse_business_date(value)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from err
