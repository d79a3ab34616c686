"""The ``baoke`` command: run a day, run the demo, manage the embedded warehouse, open
the Airflow UI. ``baoke --help`` lists everything; every command says what it did."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from typing import Annotated

import typer

from baoke import airflow_env
from baoke.cli_common import date_option
from baoke.config import NO_TELEMETRY_ENV, get_settings

os.environ.update({k: os.environ.get(k, v) for k, v in NO_TELEMETRY_ENV.items()})

app = typer.Typer(
    help="Baoke (保客): the after-sales retention data platform of a car-dealer group.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
warehouse_app = typer.Typer(help="The embedded warehouse (used when no `warehouse` connection is set).")
app.add_typer(warehouse_app, name="warehouse")


def _vars_option(value: str | None) -> dict:
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as err:
        raise typer.BadParameter(f"--vars must be a JSON object, e.g. '{{\"holdout_pct\": 0}}' ({err})") from err
    if not isinstance(parsed, dict):
        raise typer.BadParameter("--vars must be a JSON object, e.g. '{\"holdout_pct\": 0}'")
    return parsed


DateOpt = Annotated[str | None, typer.Option("--date", "-d", help="Business date D, YYYY-MM-DD.", metavar="YYYY-MM-DD")]
VarsOpt = Annotated[
    str | None, typer.Option("--vars", help="JSON object of rule overrides passed to dbt.", metavar="JSON")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show Airflow's and dbt's logs as they run.")]
RetriesOpt = Annotated[
    int | None, typer.Option("--retries", help="Override every task's retries (0: fail fast).", min=0)
]


class PrepareError(RuntimeError):
    """A run could not start; the message names what is missing."""


def _prepare() -> str:
    """Everything a run needs before Airflow starts: local Airflow env, warehouse,
    platform migrations, dbt manifest, Airflow metadata DB. Returns the warehouse URI."""
    import psycopg2

    from baoke import dbt, migrate, warehouse

    airflow_env.apply()
    try:
        url = warehouse.resolve_warehouse()
        typer.echo(f"warehouse: {warehouse.describe(url)}")
        applied = migrate.migrate(url)
    except (warehouse.WarehouseError, psycopg2.OperationalError) as err:
        raise PrepareError(f"cannot use the warehouse: {str(err).strip()}") from err
    if applied:
        typer.echo(f"migrations applied: {', '.join(applied)}")
    if dbt.manifest_is_stale():
        typer.echo("dbt manifest: rebuilding (dbt parse)")
        dbt.build_manifest()
    airflow_env.ensure_metadata_db()
    return url


def run_day_and_report(business_date: dt.date, dbt_vars: dict, retries: int | None, verbose: bool) -> bool:
    from baoke import report, runner

    url = _prepare()
    typer.echo(f"business date: {business_date.isoformat()}")
    log_path = get_settings().state_dir / "logs" / f"run_{business_date.isoformat()}.log"
    with report.output_to(None if verbose else log_path):
        results = runner.run_day(business_date, dbt_vars, retries)
    if not verbose:
        typer.echo(f"Airflow and dbt log: {log_path}")
    if not results:
        typer.secho("no DAG ran: dags/ holds none of the day's DAGs", fg="red", err=True)
        return False
    for result in results:
        typer.echo(report.dag_line(result))
    if not all(r.ok for r in results) and not verbose:
        typer.echo(report.log_tail(log_path))
    typer.echo(report.warehouse_summary(url))
    if any(r.dag_id == "baoke_outbound" for r in results):
        typer.echo(report.outbound_summary(business_date))
    return all(r.ok for r in results)


def guarded(job) -> bool:
    """Run ``job``; a run that cannot start exits 1 with its reason, not a traceback."""
    from baoke.runner import DagImportError

    try:
        return job()
    except (PrepareError, DagImportError) as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        raise typer.Exit(1) from err


@app.command()
def run(
    date: DateOpt = None,
    vars: VarsOpt = None,
    retries: RetriesOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run the day's DAGs for business date D (extract, build the warehouse, export)."""
    business_date = date_option(date)
    if business_date is None:
        raise typer.BadParameter("--date is required (YYYY-MM-DD)", param_hint="--date")
    ok = guarded(lambda: run_day_and_report(business_date, _vars_option(vars), retries, verbose))
    raise typer.Exit(0 if ok else 1)


@app.command()
def reconcile(
    date: DateOpt = None,
    days: Annotated[
        float | None, typer.Option("--days", min=0.01, help="How many days back (default: BAOKE_RECONCILE_DAYS, 30).")
    ] = None,
) -> None:
    """Deep-read the DMS: re-read the last N days of every entity for every dealer and
    load what the daily windows missed (a change dated further back than the lookback)."""
    from baoke import warehouse
    from baoke.extract.reconcile import reconcile as deep_read

    business_date = date_option(date)
    if business_date is None:
        raise typer.BadParameter("--date is required (YYYY-MM-DD)", param_hint="--date")
    airflow_env.apply()
    try:
        url = warehouse.resolve_warehouse()
    except warehouse.WarehouseError as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        raise typer.Exit(1) from err
    result = deep_read(url, business_date, days)
    for line in result.lines():
        typer.secho(line, fg="red" if line.startswith("FAILED") else None)
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def manifest() -> None:
    """Build dbt_project/target/manifest.json (dbt parse), from which the DAG is rendered."""
    from baoke import dbt

    typer.echo(f"dbt manifest written: {dbt.build_manifest()}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dbt(ctx: typer.Context) -> None:
    """Run a dbt command on the project against the configured warehouse (the `warehouse`
    connection, else the embedded one), e.g. `baoke dbt docs generate`."""
    from baoke import dbt as dbt_runner
    from baoke import warehouse

    try:
        url = warehouse.resolve_warehouse()
    except warehouse.WarehouseError as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        raise typer.Exit(1) from err
    raise typer.Exit(0 if dbt_runner.run_dbt(list(ctx.args), url) else 1)


@app.command()
def ui(port: Annotated[int, typer.Option(help="Port of the Airflow UI.")] = 8080) -> None:
    """Open the Airflow UI locally (`airflow standalone`, project-local AIRFLOW_HOME)."""
    _prepare()
    os.environ["AIRFLOW__API__PORT"] = str(port)
    home = os.environ["AIRFLOW_HOME"]
    typer.echo(
        f"Airflow UI on http://localhost:{port}"
        f" (login and password: {home}/simple_auth_manager_passwords.json.generated)"
    )
    airflow_bin = os.path.join(os.path.dirname(sys.executable), "airflow")
    os.execv(airflow_bin, [airflow_bin, "standalone"])


@warehouse_app.command("up")
def warehouse_up() -> None:
    """Start the embedded warehouse (initialising it the first time) and print its URI."""
    from baoke import warehouse

    typer.echo(warehouse.embedded().up())


@warehouse_app.command("down")
def warehouse_down() -> None:
    """Stop the embedded warehouse (its data stays in .baoke/warehouse)."""
    from baoke import warehouse

    typer.echo("stopped" if warehouse.embedded().down() else "not running")


@warehouse_app.command("url")
def warehouse_url() -> None:
    """Print the embedded warehouse's URI (exit 1 if it is not running)."""
    from baoke import warehouse

    url = warehouse.embedded().url()
    if url is None:
        typer.echo("embedded warehouse is not running: `baoke warehouse up`", err=True)
        raise typer.Exit(1)
    typer.echo(url)


def _add_plugin_commands() -> None:
    """Commands other packages contribute through the ``baoke.cli`` entry point group
    (the development tools' ``simulate`` and ``demo``): the product never imports them."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="baoke.cli"):
        command = entry.load()
        if isinstance(command, typer.Typer):
            app.add_typer(command, name=entry.name)
        else:
            app.command(name=entry.name)(command)


_add_plugin_commands()

if __name__ == "__main__":
    app()
