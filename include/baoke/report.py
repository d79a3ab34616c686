"""What a run prints: each DAG's outcome, what the feeds were reported for, what the
warehouse now holds, where the lists are, and one line per failure naming what to fix.

Counts are read back from the warehouse, never assumed from what a job meant to do.
"""

from __future__ import annotations

import datetime as dt

import psycopg2

from baoke import feedreports
from baoke.connections import BUILDER_ROLE
from baoke.feedreports import FeedReport
from baoke.runner import DagResult

#: The schemas a run writes to, in the order data flows through them.
SCHEMAS: tuple[str, ...] = ("raw", "etl", "rules", "staging", "intermediate", "marts")


def duration(seconds: float) -> str:
    """``4.2 s``, ``3 m 07 s``, ``1 h 02 m``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} m {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} m"


def dag_line(result: DagResult) -> str:
    """``baoke_dms: success (7/7 tasks succeeded, 1 m 03 s)``; a DAG whose steps all did
    their work but whose feed was reported still reads ``success``, with the report noted."""
    if result.state == "skipped":
        return f"{result.dag_id}: skipped ({result.error})"
    if result.error is not None:
        return f"{result.dag_id}: failed: {result.error}"
    done = sum(1 for s in result.tasks.values() if s == "success")
    took = f", {duration((result.ended - result.started).total_seconds())}" if result.started and result.ended else ""
    counts = f"({done}/{len(result.tasks)} tasks succeeded{took})"
    if result.ok:
        reported = "; feed reported: feed_health failed, see below" if result.feed_reported else ""
        return f"{result.dag_id}: success {counts}{reported}"
    return f"{result.dag_id}: failed {counts}; failed: " + ", ".join(result.failed_tasks or result.blocking_failures)


def feed_reports(url: str, business_date: dt.date) -> list[FeedReport]:
    """D's reports (docs/feeds.md §5), read back from ``etl.feed_reports``."""
    conn = psycopg2.connect(url)
    try:
        return feedreports.for_day(conn, business_date)
    finally:
        conn.close()


def feed_report_summary(reports: list[FeedReport]) -> str:
    """Every report of D, the held lists apart: what a person reads after a run."""
    if not reports:
        return "feed reports: none"
    groups = (
        ("degraded or stale feeds:", [r for r in reports if r.kind not in feedreports.BLOCKING]),
        ("held lists:", [r for r in reports if r.kind in feedreports.BLOCKING]),
    )
    return "\n".join(line for title, group in groups if group for line in (title, *(f"  {r.line()}" for r in group)))


def failure_lines(results: list[DagResult], reports: list[FeedReport]) -> list[str]:
    """One short line per failure, naming what to fix: the failed task and its error's
    last line (the traceback is in the run's log), a DAG that could not run, held lists."""
    lines = []
    for result in results:
        if result.state != "skipped" and result.error is not None:
            lines.append(f"{result.dag_id} could not run: {result.error}")
        for task in result.blocking_failures:
            error = result.errors.get(task)
            state = result.tasks[task]
            if error:
                lines.append(f"{result.dag_id}.{task} failed: {error}")
            elif state != "upstream_failed":  # its upstream's line says why
                lines.append(f"{result.dag_id}.{task} ended {state}")
    held = sorted({r.dealer_code or r.scope or r.feed for r in reports if r.kind in feedreports.BLOCKING})
    if held:
        lines.append(f"lists held for {', '.join(held)} (see held lists above)")
    return lines


def table_counts(url: str) -> list[tuple[str, str, int]]:
    """(schema, relation, rows) for every table and view in Baoke's schemas. ``url`` is
    the transformer's login, which reads them all as the builder role, the way dbt does."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(f"set role {BUILDER_ROLE}")
            cur.execute(
                "select table_schema, table_name from information_schema.tables"
                " where table_schema = any(%s) order by 1, 2",
                (list(SCHEMAS),),
            )
            relations = cur.fetchall()
            counts = []
            for schema, name in relations:
                cur.execute(f'select count(*) from "{schema}"."{name}"')
                (count,) = cur.fetchone() or (0,)  # count(*) always returns its one row
                counts.append((schema, name, count))
            return counts
    finally:
        conn.close()


def warehouse_summary(url: str) -> str:
    counts = [c for c in table_counts(url) if c[0] != "etl" or c[1] != "schema_migrations"]
    if not counts:
        return "warehouse: no tables yet"
    width = max(len(f"{s}.{t}") for s, t, _ in counts)
    lines = ["warehouse now holds:"] + [f"  {f'{s}.{t}':<{width}}  {n:>10,} rows" for s, t, n in counts]
    return "\n".join(lines)


def outbound_summary(business_date: dt.date, location: str | None = None) -> str:
    """Where D's call-center files are and their counts per reason, read back from the
    manifests under ``<outbound>/<D>/`` (default location: ``OUTBOUND_DIR``)."""
    from baoke import outbound
    from baoke.config import get_settings
    from baoke.filedrop import public_location

    location = location or get_settings().folder("OUTBOUND_DIR")
    try:
        where, manifests = outbound.read_manifests(location, business_date)
    except Exception as err:  # the end of a run reports, it does not fail
        return f"call lists for {business_date.isoformat()}: cannot read {public_location(location)}: {err}"
    if not manifests:
        return f"call lists for {business_date.isoformat()}: none in {where}"
    lines = [f"call lists for {business_date.isoformat()} in {where}:"]
    for dealer_code, manifest in manifests.items():
        lines.append(
            "  "
            + (outbound.describe(manifest) if manifest is not None else f"{dealer_code}: incomplete (no manifest.json)")
        )
    return "\n".join(lines)


def monthly_report_summary(business_date: dt.date, location: str | None = None) -> str:
    """Where the monthly report the run for D (a 1st) wrote is, read back from the folder."""
    import contextlib

    from baoke import monthly_report
    from baoke.config import get_settings
    from baoke.filedrop import open_drop, public_location

    location = location or get_settings().folder("OUTBOUND_DIR")
    month = monthly_report.report_month_for(business_date)
    folder = monthly_report.file_path("GROUP", month).rsplit("/", 1)[0]
    try:
        with contextlib.closing(open_drop(location)) as drop:
            files = drop.files(folder, "report_*.html")
    except Exception as err:  # the end of a run reports, it does not fail
        return f"monthly report {month:%Y-%m}: cannot read {public_location(location)}: {err}"
    written = [
        {"scope": f.name.split("_")[1], "path": f"{public_location(location)}/{f.relpath}", "bytes": f.size}
        for f in files
    ]
    return monthly_report.summary(written)
