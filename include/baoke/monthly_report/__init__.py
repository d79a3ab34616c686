"""The monthly report (月度汇报, docs/outputs.md §3): one self-contained HTML file per
dealer and one for the group, written on the 1st of each month for the month before.

``figures`` reads the marts, ``sections`` lays them out as tables and charts
(``charts``, matplotlib SVG), ``fonts`` embeds the Chinese font, and this module renders
the page and writes it under ``OUTBOUND_DIR``::

    reports/<YYYY-MM>/report_<dealer_code>_<YYYYMM>.html
    reports/<YYYY-MM>/report_GROUP_<YYYYMM>.html

Nothing on the page depends on when it was written (only on what the marts hold), so
rerunning a month writes identical bytes. The report reads the marts as the export's
login, and holds no customer's name or phone number.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import html
import re
from dataclasses import dataclass
from typing import Any

from baoke.monthly_report import figures as figures_
from baoke.monthly_report import fonts, sections

REPORTS_FOLDER = "reports"


def report_month_for(business_date: dt.date) -> dt.date:
    """The month the run for D reports: the month before D's (the run for the 1st writes it)."""
    return figures_.month_start(business_date, 1)


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` as the month's first day; anything else is refused, saying the form."""
    if not re.fullmatch(r"\d{4}-\d{2}", text or ""):
        raise ValueError(f"month {text!r}: expected YYYY-MM, e.g. 2026-11")
    year, month = map(int, text.split("-"))
    if not 1 <= month <= 12:
        raise ValueError(f"month {text!r}: expected YYYY-MM with a month from 01 to 12")
    return dt.date(year, month, 1)


def file_path(scope_code: str, month: dt.date) -> str:
    """Where a scope's report of ``month`` goes under OUTBOUND_DIR."""
    return f"{REPORTS_FOLDER}/{month:%Y-%m}/report_{scope_code}_{month:%Y%m}.html"


def _template() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("baoke.monthly_report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template("report.html.j2")


def _visible_text(page: str) -> str:
    """The characters a page shows (its markup, styles and charts removed): what the
    embedded font must cover. Charts draw their own text as outlines."""
    page = re.sub(r"<(style|svg)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def render(figures: figures_.Figures) -> str:
    """The report page of one scope and month."""
    scope = figures.scope
    month_label = f"{figures.month.year}年{figures.month.month}月"
    title = f"{scope.name} 月度汇报 {month_label}"
    scope_line = (
        f"集团 · {len(scope.dealers)} 家门店：" + "、".join(f"{name}（{code}）" for code, name in scope.dealers)
        if scope.is_group
        else f"门店 {scope.code}"
    )
    context = {
        "title": title,
        "scope_line": scope_line,
        "month_label": month_label,
        "through": figures.figures_through.isoformat() if figures.figures_through else "—",
        "missing": figures.missing,
        "sections": sections.all_sections(figures),
        "family": fonts.FAMILY,
        "font_face": "",
    }
    template = _template()
    # the font is cut to the characters of the page without it, then embedded
    context["font_face"] = fonts.font_face_css(_visible_text(template.render(**context)))
    return str(template.render(**context))


@dataclass(frozen=True)
class WrittenReport:
    scope_code: str
    path: str
    bytes: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"scope": self.scope_code, "path": self.path, "bytes": self.bytes, "sha256": self.sha256}


def write_reports(conn: Any, drop: Any, month: dt.date, business_date: dt.date) -> list[WrittenReport]:
    """Every dealer's report of ``month`` and the group's, to ``drop`` (OUTBOUND_DIR),
    then one ``etl.export_audit`` row per file sent, for the run of ``business_date``."""
    written = []
    shared = figures_.reference(conn)
    for scope in figures_.scopes(conn):
        page = render(figures_.read(conn, scope, month, shared)).encode("utf-8")
        path = file_path(scope.code, month)
        drop.write_bytes(path, page)
        written.append(
            WrittenReport(scope.code, f"{drop.location}/{path}", len(page), hashlib.sha256(page).hexdigest())
        )
    record_audit(conn, written, month, business_date)
    return written


def record_audit(conn: Any, written: list[WrittenReport], month: dt.date, business_date: dt.date) -> None:
    """The export audit of the report's files (docs/outputs.md §5): its run id derived
    from the files' content, like the lists'; a rerun appends its own rows."""
    from psycopg2.extras import execute_values

    from baoke.outbound import who_runs

    os_user, airflow_run = who_runs()
    digest = hashlib.sha256("".join(w.sha256 for w in written).encode()).hexdigest()
    run_id = f"report-{month:%Y%m}-{digest[:12]}"
    with conn, conn.cursor() as cur:
        execute_values(
            cur,
            "insert into etl.export_audit (run_id, business_date, dealer_code, file_name, file_format, list_type,"
            " bytes, sha256, target, os_user, airflow_run) values %s",
            [
                (run_id, business_date, w.scope_code, w.path.rsplit("/", 1)[1], "html", "report", w.bytes, w.sha256,
                 w.path.rsplit("/", 1)[0], os_user, airflow_run)
                for w in written
            ],
        )  # fmt: skip


def write_month(
    month: dt.date, exporter_url: str | None = None, business_date: dt.date | None = None
) -> list[dict[str, Any]]:
    """The reports of ``month`` to ``OUTBOUND_DIR``, read as the export's login, for the
    run of ``business_date`` (default: today, for a report asked for on demand)."""
    from baoke.configured import open_folder
    from baoke.connections import warehouse
    from baoke.dates import recent_business_date
    from baoke.migrate import ready_url

    url = exporter_url or ready_url("exporter")
    with contextlib.closing(open_folder("OUTBOUND_DIR")) as drop, warehouse(url) as conn:
        written = write_reports(conn, drop, month, business_date or recent_business_date())
    return [w.to_dict() for w in written]


def summary(written: list[dict[str, Any]]) -> str:
    """Where the reports went: their folder, each file and its size, the group's first."""
    if not written:
        return "monthly report: none written"
    folder = written[0]["path"].rsplit("/", 1)[0]
    ordered = sorted(written, key=lambda w: (w["scope"] != figures_.GROUP, w["scope"]))
    lines = [f"monthly report: {len(written)} files in {folder}/"]
    lines += [f"  {w['path'].rsplit('/', 1)[1]} ({w['bytes'] / 1024:,.0f} KiB)" for w in ordered]
    return "\n".join(lines)


def months_with_figures(conn: Any) -> list[dt.date]:
    """The months kpi_dealer_monthly holds (the KPI history each build recomputes)."""
    with conn.cursor() as cur:
        cur.execute("select to_regclass('marts.kpi_dealer_monthly') is not null")
        if not cur.fetchone()[0]:
            return []
        cur.execute("select distinct month from marts.kpi_dealer_monthly order by month")
        return [row[0] for row in cur.fetchall()]


def built_for(conn: Any, business_date: dt.date) -> bool:
    """Whether every mart the report reads was built for D (``etl.model_builds``): the
    warehouse builds one mart per task, and a report must not mix D's build with the day
    before's."""
    with conn.cursor() as cur:
        cur.execute(
            "select count(*) from etl.model_builds where model = any(%s) and business_date >= %s",
            (list(figures_.REPORT_MARTS), business_date),
        )
        built = cur.fetchone()[0]
    return bool(built == len(figures_.REPORT_MARTS))


def warehouse_built(business_date: dt.date) -> bool:
    """The DAG's sensor: whether the marts are built for D."""
    from baoke.connections import warehouse
    from baoke.migrate import ready_url

    with warehouse(ready_url("exporter")) as conn:
        return built_for(conn, business_date)


def write_for(business_date: dt.date) -> list[dict[str, Any]]:
    """What the run for D writes: on the 1st, the month before's reports; else nothing."""
    if business_date.day != 1:
        return []
    return write_month(report_month_for(business_date), business_date=business_date)
