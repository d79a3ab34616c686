"""Option parsing and warehouse opening shared by the ``baoke`` commands and sub-commands."""

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


def migrated_warehouse_or_exit() -> str:
    """For the administrative commands (deep read, erasure): the local Airflow
    environment applied, the configured warehouse migrated; its admin URL. A warehouse
    that cannot be resolved ends the command with its reason (exit 1)."""
    from baoke import airflow_env, migrate, warehouse

    airflow_env.apply()
    try:
        url = warehouse.resolve_warehouse()
    except warehouse.WarehouseError as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        raise typer.Exit(1) from err
    migrate.migrate(url)
    return url
