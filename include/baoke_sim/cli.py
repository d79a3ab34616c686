"""``baoke simulate``: generate the simulated dealer group, serve its feeds, move its clock."""

from __future__ import annotations

import datetime as dt
import signal
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from baoke.cli_common import date_option
from baoke.config import get_settings

app = typer.Typer(help="The simulated dealer group (DMS, OEM, insurers, call center).", no_args_is_help=True)

WorldOpt = Annotated[Path | None, typer.Option("--world", help="World file (default: .baoke/sim/world.sqlite).")]


def world_path(world: Path | None) -> Path:
    return world or get_settings().sim_world


@app.command()
def generate(
    scale: Annotated[str, typer.Option(help="small | medium | large")] = "small",
    seed: Annotated[int, typer.Option(help="Same seed, same world, byte for byte.")] = 1,
    until: Annotated[str | None, typer.Option(help="Last day of the six-year timeline.", metavar="YYYY-MM-DD")] = None,
    clock: Annotated[
        str | None, typer.Option(help="Start the world's clock here (default: --until).", metavar="YYYY-MM-DD")
    ] = None,
    world: WorldOpt = None,
) -> None:
    """Generate a world: customers, vehicles and six years of after-sales history."""
    from baoke_sim.world import SCALES
    from baoke_sim.world import generate as make_world

    if scale not in SCALES:
        raise typer.BadParameter(f"scale must be one of {', '.join(SCALES)}", param_hint="--scale")
    path = world_path(world)
    kwargs = {"until": date_option(until)} if until else {}
    counts = make_world(path, scale, seed, clock=date_option(clock), **kwargs)
    typer.echo(f"world written: {path}")
    for entity, count in counts.items():
        typer.echo(f"  {entity:<20} {count:>12,} records")


@app.command()
def advance(
    to: Annotated[str, typer.Option("--to", help="Move the clock to D 00:00 +08:00.", metavar="YYYY-MM-DD")],
    world: WorldOpt = None,
) -> None:
    """Move the world's clock: the feeds then show every change made before D."""
    from baoke_sim import store

    path = world_path(world)
    if not path.exists():
        typer.secho(f"no world at {path}: run `baoke simulate generate` first", fg="red", err=True)
        raise typer.Exit(1)
    day = date_option(to)
    meta = store.get_meta(path)
    if not (meta["start"] <= day.isoformat() <= meta["until"]):
        raise typer.BadParameter(f"the world spans {meta['start']} to {meta['until']}", param_hint="--to")
    import sqlite3

    with sqlite3.connect(path) as conn:
        store.set_meta(conn, clock=f"{day.isoformat()}T00:00:00+08:00")
    typer.echo(f"clock: {meta['clock']} -> {day.isoformat()}T00:00:00+08:00")
    _drop(path, since=min(meta["clock"][:10], day.isoformat()))


def _drop(path: Path, since: str | None = None, **faults: Any) -> None:
    """Deliver the insurers' files dated before the clock into INSURER_INBOX, with
    ``faults`` the fields of ``FileFaults``."""
    from baoke_sim.insurer_files import FileFaults, deliver

    inbox = Path(get_settings().folder("INSURER_INBOX"))
    try:
        delivery = deliver(path, inbox, FileFaults(**faults), since=since)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--fault") from None
    typer.echo(f"insurer files delivered: {len(delivery.written)} into {inbox}")
    for name, report in delivery.faulty.items():
        lines = ", ".join(f"line {d.line_no} {d.reason}" for d in report.damaged)
        typer.echo(
            f"  {name}: {report.fault} (trailer {report.trailer}, {report.data_rows} data rows"
            f"{'; ' + lines if lines else ''})"
        )


def _fault_script(values: list[str]) -> dict[str, str]:
    """``--fault FILE=KIND`` options as a FileFaults script."""
    from baoke_sim.insurer_files import FILE_FAULTS

    script = {}
    for value in values:
        name, _, kind = value.partition("=")
        if not name or kind not in FILE_FAULTS:
            raise typer.BadParameter(
                f"expected FILE=KIND with KIND one of {', '.join(FILE_FAULTS)}; got {value!r}", param_hint="--fault"
            )
        script[name] = kind
    return script


@app.command("drop-files")
def drop_files_command(
    since: Annotated[
        str | None, typer.Option(help="Only files dated on or after this day.", metavar="YYYY-MM-DD")
    ] = None,
    redeliver_rate: Annotated[float, typer.Option(help="Share of files delivered twice.")] = 0.0,
    correction_rate: Annotated[float, typer.Option(help="Share of files corrected after delivery.")] = 0.0,
    incomplete_latest: Annotated[bool, typer.Option(help="Leave the newest files half written.")] = False,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            metavar="FILE=KIND",
            help="Script a fault for one file, e.g. POLICY_PICC_20261120.csv=trailer_mismatch (repeatable). Kinds: "
            "redeliver, correction, incomplete, trailer_mismatch, ragged_row, malformed_row.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the fault draws.")] = 0,
    world: WorldOpt = None,
) -> None:
    """Deliver the insurers' daily files (dated before the clock) into INSURER_INBOX."""
    day = date_option(since)
    _drop(
        world_path(world),
        since=day.isoformat() if day else None,
        redeliver_rate=redeliver_rate,
        correction_rate=correction_rate,
        incomplete_latest=incomplete_latest,
        seed=seed,
        script=_fault_script(fault or []),
    )


@app.command()
def serve(
    dms_port: Annotated[int, typer.Option(help="DMS API port (0: any free port).")] = 0,
    oem_port: Annotated[int, typer.Option(help="OEM API port (0: any free port).")] = 0,
    world: WorldOpt = None,
) -> None:
    """Serve the DMS and OEM APIs over the world until interrupted."""
    from baoke_sim.connections import feed_connections
    from baoke_sim.dms_api import DmsApi
    from baoke_sim.oem_api import OemApi
    from baoke_sim.servers import ApiServer

    path = world_path(world)
    with ApiServer(DmsApi(path), port=dms_port) as dms, ApiServer(OemApi(path), port=oem_port) as oem:
        typer.echo(f"DMS API: {dms.url}\nOEM API: {oem.url}\nexport these to point Baoke at them:")
        for name, uri in feed_connections(dms.url, oem.url).items():
            typer.echo(f"  {name}={uri}")
        try:
            while True:
                signal.pause()
        except KeyboardInterrupt:
            typer.echo("stopped")


@app.command()
def callcenter(
    date: Annotated[str, typer.Option("--date", help="Work the lists of this day.", metavar="YYYY-MM-DD")],
    seed: Annotated[int, typer.Option(help="Seed of the call outcomes.")] = 0,
    world: WorldOpt = None,
) -> None:
    """Work the day's call and SMS lists (OUTBOUND_DIR) and write OUTCOMES files (CALLCENTER_INBOX)."""
    from baoke_sim.callcenter import CallCenterConfig, work_lists

    settings = get_settings()
    result = work_lists(
        date_option(date),
        Path(settings.folder("OUTBOUND_DIR")),
        Path(settings.folder("CALLCENTER_INBOX")),
        world_path(world),
        CallCenterConfig(seed=seed),
    )
    typer.echo(
        f"outcome rows: {result.rows} in {len(result.outcomes)} files; visits caused by the calls: {result.returns}"
    )


@app.command()
def replay(
    start: Annotated[str, typer.Option("--start", help="First business date.", metavar="YYYY-MM-DD")],
    days: Annotated[int, typer.Option("--days", min=1, help="How many days to run.")] = 30,
    tests: Annotated[bool, typer.Option(help="Run dbt's data tests every day (slower).")] = True,
    fault_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=0.5,
            help="Faults on every feed: each DMS/OEM request gets a transient fault with this probability and a "
            "record fault (damaged record, late change) with it too; each insurer and outcome file a file fault.",
        ),
    ] = 0.0,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault draws.")] = 0,
    world: WorldOpt = None,
) -> None:
    """Run many days in a row — extract, dbt build, export, the call center works the
    lists — checking the outreach invariants every day (faster than `baoke run`). With
    --fault-rate, then finds each injected fault in the records of the day that met it."""
    from baoke_sim.fault_evidence import STATUSES
    from baoke_sim.replay import FaultSettings
    from baoke_sim.replay import replay as run_days

    path = world_path(world)
    if not path.exists():
        typer.secho(f"no world at {path}: run `baoke simulate generate` first", fg="red", err=True)
        raise typer.Exit(1)
    reports = run_days(path, date_option(start), days, with_tests=tests, faults=FaultSettings(fault_rate, fault_seed))
    breaches = sum(n for r in reports for n in r.breaches.values())
    not_delivered = sum(r.dealers - r.delivered for r in reports)
    failures = sum(len(r.failures) for r in reports)
    statuses = Counter(e.status for r in reports for e in r.evidence)
    unexplained = sum(len(r.unexplained_rejects) for r in reports)
    typer.echo(
        f"{len(reports)} days replayed; {breaches} invariant breaches; {not_delivered} dealer-days without lists;"
        f" {failures} failed units; {sum(statuses.values())} faults injected: "
        + ", ".join(f"{statuses[status]} {status}" for status in STATUSES)
        + f"; {unexplained} unexplained rejects"
    )
    raise typer.Exit(1 if breaches or not_delivered or failures or statuses["unmatched"] or unexplained else 0)


@app.command("rebuild-check")
def rebuild_check(
    start: Annotated[str, typer.Option("--start", help="First business date.", metavar="YYYY-MM-DD")],
    days: Annotated[int, typer.Option("--days", min=1, help="How many days to check.")] = 14,
) -> None:
    """After a replay: rebuild each day from scratch (dbt build --full-refresh), export its
    lists into a scratch folder and compare them byte for byte with those delivered.
    Check up to the newest replayed day: the warehouse is left as of the last day checked."""
    from baoke_sim.rebuild_check import rebuild_check as check_days

    first = date_option(start)
    results = check_days([first + dt.timedelta(days=n) for n in range(days)])
    reproduced = sum(r.reproduced for r in results)
    typer.echo(f"{reproduced} of {len(results)} days reproduced byte for byte")
    raise typer.Exit(0 if reproduced == len(results) else 1)
