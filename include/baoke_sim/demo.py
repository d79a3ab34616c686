"""The demo's stand-in for a dealer group: a ``small`` simulated world whose feeds are
served for real (DMS and OEM APIs on 127.0.0.1, insurer files in the inbox) for as long
as the day's run takes. Connections the user has configured are left alone."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from baoke.cli_common import date_option
from baoke.config import get_settings
from baoke.dates import recent_business_date
from baoke_sim import store
from baoke_sim.connections import feed_connections
from baoke_sim.dms_api import DmsApi
from baoke_sim.insurer_files import drop_files
from baoke_sim.oem_api import OemApi
from baoke_sim.servers import ApiServer
from baoke_sim.world import generate

DEMO_SEED = 1


def demo_world(business_date: dt.date) -> Path:
    """The demo world, generated once (seed 1, ending on D), its clock set to D 00:00."""
    path = get_settings().sim_world
    meta = store.get_meta(path) if path.exists() else {}
    if not meta or not (meta["start"] <= business_date.isoformat() <= meta["until"]):
        generate(path, "small", DEMO_SEED, until=business_date)
    with sqlite3.connect(path) as conn:
        store.set_meta(conn, clock=f"{business_date.isoformat()}T00:00:00+08:00")
    return path


@contextlib.contextmanager
def simulated_feeds(business_date: dt.date) -> Iterator[list[str]]:
    """Serve the demo world's feeds while the block runs; yields lines describing them."""
    world = demo_world(business_date)
    inbox = Path(get_settings().folder("INSURER_INBOX"))
    files = drop_files(world, inbox)
    with ApiServer(DmsApi(world)) as dms, ApiServer(OemApi(world)) as oem:
        for name, uri in feed_connections(dms.url, oem.url).items():
            os.environ.setdefault(name, uri)
        counts = store.get_meta(world)
        yield [
            f"simulated dealer group: {world} (scale {counts['scale']}, seed {counts['seed']}, clock {business_date})",
            f"  DMS API {dms.url}, OEM API {oem.url}, {len(files)} insurer files in {inbox}",
            "  (served for the run: baoke_dms, baoke_oem and baoke_insurer read them)",
        ]


def latest_report(business_date: dt.date) -> str:
    """The monthly report of the last whole month before D (written now unless the run,
    on a 1st, already did): where it is, to open in a browser."""
    from baoke import monthly_report, warehouse
    from baoke.connections import step_url
    from baoke.filedrop import public_location

    month = monthly_report.report_month_for(business_date)
    if business_date.day != 1:
        monthly_report.write_month(month, step_url("exporter", warehouse.resolve_warehouse()))
    where = public_location(get_settings().folder("OUTBOUND_DIR"))
    return (
        f"latest monthly report ({month:%Y-%m}): {where}/{monthly_report.file_path('GROUP', month)}"
        " (the group's; each dealer's beside it)"
    )


def demo(
    date: Annotated[
        str | None, typer.Option("--date", "-d", help="Business date D, YYYY-MM-DD.", metavar="YYYY-MM-DD")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show Airflow's and dbt's logs as they run.")
    ] = False,
) -> None:
    """Run the platform's daily job end to end on the embedded warehouse and a small
    simulated dealer group, for a recent date (the ``baoke demo`` command)."""
    from baoke import airflow_env
    from baoke.cli import guarded, run_day_and_report

    # before the feeds' connections are built (they import Airflow, which reads its
    # configuration once): without it a user's shell parses ~/airflow/dags, not ours
    airflow_env.apply()
    business_date = date_option(date) or recent_business_date()
    typer.echo(f"Baoke demo: the daily run for {business_date.isoformat()}")
    with simulated_feeds(business_date) as feeds:
        for line in feeds:
            typer.echo(line)
        ok = guarded(lambda: run_day_and_report(business_date, {}, retries=0, verbose=verbose))
    if ok:
        typer.echo(latest_report(business_date))
        typer.secho("demo finished: every DAG succeeded", fg="green")
        typer.echo(
            "next: `make ui` opens the Airflow UI with these DAGs; `baoke warehouse url` prints the database URL"
        )
    else:
        typer.secho("demo failed: see the failed tasks above", fg="red", err=True)
    raise typer.Exit(0 if ok else 1)
