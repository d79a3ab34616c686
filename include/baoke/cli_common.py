"""Option parsing shared by the ``baoke`` commands and sub-commands."""

from __future__ import annotations

import datetime as dt
from typing import overload

import typer

from baoke.dates import parse_business_date


@overload
def date_option(value: str) -> dt.date: ...
@overload
def date_option(value: None) -> None: ...
@overload
def date_option(value: str | None) -> dt.date | None: ...


def date_option(value: str | None) -> dt.date | None:
    """A ``YYYY-MM-DD`` option; anything else is a usage error (exit 2) saying why."""
    if value is None:
        return None
    try:
        return parse_business_date(value)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from err
