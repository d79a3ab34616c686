"""The ``baoke`` command: run a day, run the demo, manage the embedded warehouse, open
the Airflow UI. ``baoke --help`` lists everything; every command says what it did."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from baoke import airflow_env
from baoke.access import access_app
from baoke.cli_common import date_option, migrated_warehouse_or_exit
from baoke.config import NO_TELEMETRY_ENV, get_settings
from baoke.privacy import app as privacy_app

os.environ.update({k: os.environ.get(k, v) for k, v in NO_TELEMETRY_ENV.items()})

app = typer.Typer(
    help="Baoke (保客): the after-sales retention data platform of a car-dealer group.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
warehouse_app = typer.Typer(help="The embedded warehouse (used when no `warehouse` connection is set).")
app.add_typer(warehouse_app, name="warehouse")
app.add_typer(access_app, name="access")
app.add_typer(privacy_app, name="privacy")


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


def _open_warehouse() -> str:
    """The local Airflow environment, the warehouse and its platform migrations (safe to
    run concurrently: they take a lock of their own). Returns the warehouse URI."""
    import psycopg2

    from baoke import migrate, warehouse

    airflow_env.apply()
    try:
        url = warehouse.resolve_warehouse()
        typer.echo(f"warehouse: {warehouse.describe(url)}")
        applied = migrate.migrate(url)
    except (warehouse.WarehouseError, psycopg2.OperationalError) as err:
        raise PrepareError(f"cannot use the warehouse: {str(err).strip()}") from err
    if applied:
        typer.echo(f"migrations applied: {', '.join(applied)}")
    return url


def _prepare() -> None:
    """What Airflow needs before it starts: the dbt manifest and Airflow's metadata DB.
    `baoke run` calls it holding the run lock: both are shared by every run of this
    checkout."""
    from baoke import dbt

    if dbt.manifest_is_stale():
        typer.echo("dbt manifest: rebuilding (dbt parse)")
        dbt.build_manifest()
    airflow_env.ensure_metadata_db()


def _preflight() -> None:
    """What a run reads must exist: checked before any DAG runs (after ``_prepare``: the
    metadata DB exists, so connections stored in it are found), instead of minutes of
    task retries ending in a traceback."""
    from baoke.configured import preflight

    problems = preflight()
    if problems:
        raise PrepareError("; ".join(problems))


def run_day_and_report(
    business_date: dt.date, dbt_vars: dict, retries: int | None, verbose: bool, command: str | None = None
) -> bool:
    """Hold the warehouse for one run (or stop at once, naming the run that holds it),
    run the day's DAGs with live progress, print the summary; True when the day succeeded
    (outputs.md §4: every step did its work and no dealer's lists were held)."""
    import psycopg2

    from baoke import runlock, runlog
    from baoke.connections import step_url

    url = step_url("loader", _open_warehouse())  # the run's own session: the loader's login
    log_path = runlog.new_log_path(get_settings().state_dir / "logs", business_date)
    command = command or f"baoke run --date {business_date.isoformat()}"
    with runlock.hold(url, business_date, command, str(log_path)) as held:
        ok = False
        try:
            _prepare()
            _preflight()
            ok = _run_and_report(url, business_date, dbt_vars, retries, verbose, log_path)
        finally:
            with contextlib.suppress(psycopg2.Error):  # the lock goes with the session anyway
                held.finish(ok)
    return ok


def _run_and_report(
    url: str, business_date: dt.date, dbt_vars: dict, retries: int | None, verbose: bool, log_path: Path
) -> bool:
    from baoke import progress, report, runlog, runner

    typer.echo(f"business date: {business_date.isoformat()}")
    typer.echo(f"log (Airflow, dbt): {log_path}")
    typer.echo("parsing the DAGs, then running them:")
    output = runlog.RunOutput(log_path, echo=verbose)
    display = progress.for_terminal(output.terminal, plain=verbose)
    with output, display:
        results = runner.run_day(business_date, dbt_vars, retries, runner.Watches(runlog.TaskLogs(output), display))
    if not results:
        typer.secho("error: no DAG ran: dags/ holds none of the day's DAGs", fg="red", err=True)
        return False
    for result in results:
        typer.echo(report.dag_line(result))
    from baoke.connections import step_url

    reports = report.feed_reports(url, business_date)
    typer.echo(report.feed_report_summary(reports))
    typer.echo(report.warehouse_summary(step_url("transformer", url)))
    if any(r.dag_id == runner.OUTBOUND_DAG and r.state != "skipped" for r in results):
        typer.echo(report.outbound_summary(business_date))
    if any(r.dag_id == runner.REPORT_DAG and r.ok for r in results):
        typer.echo(report.monthly_report_summary(business_date))
    typer.echo(f"log (Airflow, dbt): {log_path}")
    for line in report.failure_lines(results, reports):
        typer.secho(f"error: {line}", fg="red", err=True)
    return runner.day_succeeded(results, reports)


def guarded(job) -> bool:
    """Run ``job``; a run that cannot start exits 1 with its reason, not a traceback."""
    from baoke.runlock import RunInProgress
    from baoke.runner import DagImportError

    try:
        return job()
    except (PrepareError, DagImportError, RunInProgress) as err:
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
    dbt_vars = _vars_option(vars)
    command = shlex.join(["baoke", "run", "--date", business_date.isoformat(), *(["--vars", vars] if vars else [])])
    ok = guarded(lambda: run_day_and_report(business_date, dbt_vars, retries, verbose, command))
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
    from baoke.extract.reconcile import reconcile as deep_read

    business_date = date_option(date)
    if business_date is None:
        raise typer.BadParameter("--date is required (YYYY-MM-DD)", param_hint="--date")
    url = migrated_warehouse_or_exit()
    from baoke import runlock
    from baoke.connections import step_url

    days_args = ["--days", str(days)] if days else []
    command = shlex.join(["baoke", "reconcile", "--date", business_date.isoformat(), *days_args])
    try:  # one run at a time: a deep read beside a day's run would load the same versions
        with runlock.hold(step_url("loader", url), business_date, command, None) as held:
            result = deep_read(url, business_date, days)
            held.finish(result.ok)
    except runlock.RunInProgress as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        raise typer.Exit(1) from err
    for line in result.lines():
        typer.secho(line, fg="red" if line.startswith("FAILED") else None)
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def lists(
    date: DateOpt = None,
    dealer: Annotated[str | None, typer.Option("--dealer", help="Only this dealer (its code, e.g. D001).")] = None,
) -> None:
    """Show a day's call-center lists in the terminal: rows per list, reason and queue,
    then each dealer's call list. Read from the files delivered under OUTBOUND_DIR (what
    the call center received, checked against each manifest); mobiles shown masked."""
    from rich.console import Console

    from baoke import listview
    from baoke.filedrop import public_location

    business_date = date_option(date)
    if business_date is None:
        raise typer.BadParameter("--date is required (YYYY-MM-DD)", param_hint="--date")
    location = get_settings().folder("OUTBOUND_DIR")
    try:
        where, found = listview.read_day(location, business_date, dealer)
    except OSError as err:
        typer.secho(f"error: cannot read {public_location(location)}: {err}", fg="red", err=True)
        raise typer.Exit(1) from err
    if not found:
        which = f" for dealer {dealer}" if dealer else ""
        typer.secho(f"no lists for {business_date.isoformat()}{which} in {where}", fg="red", err=True)
        raise typer.Exit(1)
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200)  # piped or captured: no wrapping at 80 columns
    listview.show(console, where, business_date, found)


@app.command("report")
def monthly_report_command(
    month: Annotated[str, typer.Option("--month", "-m", help="The month to report, YYYY-MM.", metavar="YYYY-MM")],
) -> None:
    """Write the monthly report (月度汇报) of MONTH for every dealer and for the group:
    one HTML file each under OUTBOUND_DIR/reports/YYYY-MM/, from the marts as built now."""
    from baoke import monthly_report
    from baoke.connections import step_url, warehouse

    try:
        first_day = monthly_report.parse_month(month)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--month") from err
    url = step_url("exporter", migrated_warehouse_or_exit())
    with warehouse(url) as conn:
        months = monthly_report.months_with_figures(conn)
    if first_day not in months:
        held = f"{months[0]:%Y-%m} to {months[-1]:%Y-%m}" if months else "none: build it first (`baoke run --date ...`)"
        typer.secho(f"error: no KPI figures for {month} in the warehouse (months it holds: {held})", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(monthly_report.summary(monthly_report.write_month(first_day, url)))


@app.command()
def docs(
    port: Annotated[int, typer.Option("--port", help="Port to serve on (default: a free one).")] = 0,
) -> None:
    """Generate the dbt docs site (the BI users' data dictionary: every mart, column and
    description) against the warehouse and serve it on 127.0.0.1 until Ctrl-C."""
    from baoke import docs_site
    from baoke.connections import step_url

    url = migrated_warehouse_or_exit()
    site = docs_site.generate(step_url("transformer", url), get_settings().state_dir / "dbt-docs")
    httpd = docs_site.server(site, port=port)
    bound = httpd.server_address[1]
    typer.echo(f"data dictionary (dbt docs) for the warehouse: http://127.0.0.1:{bound}/  (Ctrl-C stops it)")
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


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
    from baoke.connections import step_url

    raise typer.Exit(0 if dbt_runner.run_dbt(list(ctx.args), step_url("transformer", url)) else 1)


@app.command()
def ui(port: Annotated[int, typer.Option(help="Port of the Airflow UI.")] = 8080) -> None:
    """Open the Airflow UI locally (`airflow standalone`, project-local AIRFLOW_HOME)."""
    _open_warehouse()
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
