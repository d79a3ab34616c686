"""The monthly report (docs/outputs.md §3) on a real warehouse built by dbt, with two
dealers whose marts hold figures chosen here: every dealer and the group get a file from
`baoke report --month` (read as the export's login), the numbers on the page are the
marts' (the group's combined over each rate's denominator), immature figures are marked
as such, a rerun writes the same bytes, and the page renders in a real headless Chromium
with its charts drawn, its Chinese text in the embedded font and its tables inside an A4
page. `baoke docs` serves the data dictionary. The replayed warehouse's report (real
figures from three replayed days) is checked against its marts in test_replay.py, beside
the replay's other checks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import re
import shutil
import subprocess
import time
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import psycopg2
import pytest
import requests

from baoke import monthly_report
from baoke.filedrop import open_drop
from baoke.monthly_report import figures, fonts
from dbt_support import built_from_empty_feeds
from test_cli import BAOKE, baoke

pytestmark = pytest.mark.slow  # runs dbt

MONTH = dt.date(2026, 10, 1)
BEFORE = dt.date(2026, 9, 1)
VARS = json.dumps({"business_date": "2026-11-01"})
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

#: Each dealer's kpi_dealer_monthly figures of October (September: the same, visits less).
KPIS = {
    "D001": {
        "visits": 100, "revenue": Decimal("50000.00"), "revenue_per_visit": Decimal("500.00"),
        "appointment_rate": Decimal("0.2500"), "first_service_due": 10, "first_service_return_rate": Decimal("0.8000"),
        "maintenance_due": 20, "maintenance_return_rate": Decimal("0.5000"), "reminders_due": 40,
        "reminder_completion_rate": Decimal("0.9500"), "active_base": 1000, "churn_rate": Decimal("0.1000"),
        "renewals_due": 8, "renewal_rate_via_dealer": Decimal("0.5000"), "renewal_rate_anywhere": Decimal("0.7500"),
        "csi_responses": 10, "csi_index": Decimal("90.00"), "csi_target": 93, "complaint_cases": 2,
        "complaint_rate": Decimal("0.0200"), "complaints_closed_in_24h_rate": Decimal("0.5000"),
    },
    "D002": {
        "visits": 300, "revenue": Decimal("120000.00"), "revenue_per_visit": Decimal("400.00"),
        "appointment_rate": Decimal("0.5000"), "first_service_due": 30, "first_service_return_rate": Decimal("0.6000"),
        "maintenance_due": 60, "maintenance_return_rate": Decimal("0.7000"), "reminders_due": 60,
        "reminder_completion_rate": Decimal("1.0000"), "active_base": 3000, "churn_rate": Decimal("0.2000"),
        "renewals_due": 12, "renewal_rate_via_dealer": Decimal("0.2500"), "renewal_rate_anywhere": Decimal("0.5000"),
        "csi_responses": 30, "csi_index": Decimal("96.00"), "csi_target": 93, "complaint_cases": 3,
        "complaint_rate": Decimal("0.0100"), "complaints_closed_in_24h_rate": Decimal("1.0000"),
    },
}  # fmt: skip
#: The group's October, worked out by hand: each rate over its denominator's total.
GROUP = {
    "first_service_return_rate": Decimal("0.6500"),  # (8 + 18) / 40
    "maintenance_return_rate": Decimal("0.6500"),  # (10 + 42) / 80
    "appointment_rate": Decimal("0.4375"),  # (25 + 150) / 400
    "reminder_completion_rate": Decimal("0.9800"),  # (38 + 60) / 100
    "churn_rate": Decimal("0.1750"),  # (100 + 600) / 4000
    "csi_index": Decimal("94.50"),  # (900 + 2880) / 40
    "complaint_rate": Decimal("0.0125"),  # 5 / 400
    "renewal_rate_via_dealer": Decimal("0.3500"),  # (4 + 3) / 20
    "renewal_rate_anywhere": Decimal("0.6000"),  # (6 + 6) / 20
    "visits": Decimal(400),
    "revenue": Decimal("170000.00"),
    "revenue_per_visit": Decimal("425.00"),
}
#: The figures whose window is still open on D (the group's too: one dealer's is open).
NOT_FINAL = {"maintenance_return_rate"}


def _insert(cur, table: str, row: dict) -> None:
    columns = ", ".join(row)
    cur.execute(f"insert into marts.{table} ({columns}) values ({', '.join(['%s'] * len(row))})", list(row.values()))


def _fill(cur) -> None:
    """The two dealers' marts: October's and September's KPIs, churn by age, a campaign,
    an advisor each, a reason for leaving, an open complaint, a reminder rate."""
    finals = [c[: -len("_is_final")] for c in _columns(cur, "kpi_dealer_monthly") if c.endswith("_is_final")]
    for code, name in (("D001", "苏州一店"), ("D002", "无锡二店")):
        _insert(cur, "dim_dealer", {"dealer_code": code, "dealer_name": name, "brand": "B", "city": "苏州"})
        _insert(
            cur, "dim_advisor", {"advisor_id": f"{code}-A01", "dealer_code": code, "advisor_name": f"顾问{code[-1]}"}
        )
        for month, through in ((BEFORE, dt.date(2026, 9, 30)), (MONTH, dt.date(2026, 10, 31))):
            row = {**KPIS[code], "dealer_code": code, "month": month, "figures_through": through}
            if month == BEFORE:
                row["visits"] = KPIS[code]["visits"] - 10
            for kpi in finals:
                row[f"{kpi}_is_final"] = not (month == MONTH and kpi in NOT_FINAL and code == "D001")
            _insert(cur, "kpi_dealer_monthly", row)
            for order, (bucket, target) in enumerate(
                (("<=1y", "0.05"), ("<=2y", "0.08"), ("<=3y", "0.12"), (">3y", None)), 1
            ):
                _insert(cur, "churn_rate_by_vehicle_age", {
                    "dealer_code": code, "month": month, "age_bucket": bucket, "bucket_order": order,
                    "active_base": 100 * order, "churned_or_at_risk": 4 * order,
                    "churn_rate": Decimal(4 * order) / (100 * order), "target_churn_rate": target,
                    "meets_target": None if target is None else Decimal("0.04") < Decimal(target),
                    "is_final": True,
                })  # fmt: skip
        _insert(cur, "kpi_reminder_monthly", {
            "dealer_code": code, "month": MONTH, "reason": "MAINTENANCE_DUE", "reason_zh": "定保提醒", "due_events": 45,
            "held_out": 0, "reminders_due": 40, "expired": 0, "reminders_attempted": 38,
            "reminder_completion_rate": Decimal("0.9500"), "is_final": True,
        })  # fmt: skip
        _insert(cur, "kpi_advisor_monthly", {
            "advisor_id": f"{code}-A01", "dealer_code": code, "month": MONTH, "calls_listed": 50, "calls_reached": 30,
            "calls_booked": 10, "calls_returned": 12, "calls_returned_is_final": True,
            "visits": 40, "csi_responses": 5, "csi_index": Decimal("88.00"), "csi_target": 93,
            "complaint_cases": 1, "complaints_closed_in_24h_rate": Decimal("1.0000"), "is_final": True,
        })  # fmt: skip
        _insert(cur, "campaign_effectiveness", {
            "campaign_code": "RSN-LAPSING", "reason": "LAPSING_WINBACK", "campaign_source": "outreach",
            "dealer_code": code, "month": MONTH, "outcome": "visit", "due": 100, "treated": 90, "held_out": 10,
            "listed": 90, "attempted": 80, "reached": 50, "booked": 20, "returned": 25, "treated_returned": 24,
            "holdout_returned": 1, "treated_return_rate": Decimal("0.2667"), "holdout_return_rate": Decimal("0.1000"),
            "uplift": Decimal("0.1667"), "uplift_ci_low": Decimal("-0.0700"), "uplift_ci_high": Decimal("0.2800"),
            "p_value": Decimal("0.2500"), "has_holdout": True, "revenue": Decimal("9000.00"), "cost": Decimal("120.00"),
            "attribution_complete": False, "is_final": False,
        })  # fmt: skip
    _insert(cur, "campaign_effectiveness_pooled", {
        "campaign_code": "RSN-LAPSING", "reason": "LAPSING_WINBACK", "campaign_source": "outreach", "outcome": "visit",
        "period": "2026-10", "first_month": MONTH, "last_month": MONTH, "dealers": 2, "due": 200, "held_out": 20,
        "treated": 180, "listed": 180, "attempted": 160, "reached": 100, "booked": 40, "returned": 50,
        "treated_returned": 48, "holdout_returned": 2, "treated_return_rate": Decimal("0.2667"),
        "holdout_return_rate": Decimal("0.1000"), "uplift": Decimal("0.1667"), "uplift_ci_low": Decimal("0.0010"),
        "uplift_ci_high": Decimal("0.2500"), "p_value": Decimal("0.0800"), "has_holdout": True,
        "revenue": Decimal("18000.00"), "cost": Decimal("240.00"), "is_final": False,
    })  # fmt: skip
    _insert(cur, "loss_reasons_monthly", {
        "dealer_code": "D001", "month": MONTH, "source": "call_center", "reason": "PRICE", "reached_winback_calls": 3,
        "customers": 3, "customers_returned_within_30d": 1, "return_rate": Decimal("0.3333"), "is_final": True,
    })  # fmt: skip
    _insert(cur, "fct_complaint_case", {
        "case_id": "CASE-D002-1", "dealer_code": "D002", "customer_id": "C-42", "advisor_id": "D002-A01",
        "case_source": "dms", "complaint_category": "service_attitude", "severity": "major",
        "opened_at": dt.datetime(2026, 10, 30, 1, 15, tzinfo=dt.UTC), "opened_date": dt.date(2026, 10, 30),
        "case_status": "open", "is_open": True, "is_registered": True, "breached": "response",
    })  # fmt: skip
    # open at October's end, closed since: on October's report, with how it ended
    _insert(cur, "fct_complaint_case", {
        "case_id": "CASE-D002-2", "dealer_code": "D002", "customer_id": "C-43", "case_source": "dms",
        "complaint_category": "price", "severity": "normal",
        "opened_at": dt.datetime(2026, 10, 31, 2, 0, tzinfo=dt.UTC), "opened_date": dt.date(2026, 10, 31),
        "closed_date": dt.date(2026, 11, 1), "case_status": "closed",
        "is_open": False, "is_registered": True,
    })  # fmt: skip
    # closed within October: not open at its end
    _insert(cur, "fct_complaint_case", {
        "case_id": "CASE-D002-3", "dealer_code": "D002", "customer_id": "C-44", "case_source": "dms",
        "opened_at": dt.datetime(2026, 10, 2, 2, 0, tzinfo=dt.UTC), "opened_date": dt.date(2026, 10, 2),
        "closed_date": dt.date(2026, 10, 3), "case_status": "closed", "is_open": False, "is_registered": True,
    })  # fmt: skip


def _columns(cur, table: str) -> list[str]:
    cur.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' and table_name = %s"
        " order by ordinal_position",
        (table,),
    )
    return [r[0] for r in cur.fetchall()]


@pytest.fixture(scope="module")
def marts(warehouse_url: str) -> str:
    """A database built by dbt from empty feeds (every mart, grant and policy as a run
    leaves them), its marts then given the two dealers' figures."""
    url = built_from_empty_feeds(warehouse_url, "t_monthly_report", VARS)
    with contextlib.closing(psycopg2.connect(url)) as conn, conn, conn.cursor() as cur:
        _fill(cur)
    return url


@pytest.fixture(scope="module")
def written(marts: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`baoke report --month 2026-10` as a user runs it, into a folder of its own."""
    outbound = tmp_path_factory.mktemp("outbound")
    result = baoke("report", "--month", "2026-10", env={"AIRFLOW_CONN_WAREHOUSE": marts, "OUTBOUND_DIR": str(outbound)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "monthly report: 3 files in" in result.stdout
    return outbound / "reports" / "2026-10"


class _Cells(HTMLParser):
    """The cells a test reads back: (kpi, dealer) -> (value, text, css)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], tuple[str | None, str, str]] = {}
        self._open: tuple[str, str, str | None, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "td" and "data-kpi" in found:
            self._open = (found["data-kpi"], found["data-dealer"], found.get("data-value"), found.get("class") or "")
            self._text = []

    def handle_data(self, data):
        if self._open:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._open:
            kpi, dealer, value, css = self._open
            self.cells.setdefault((kpi, dealer), (value, "".join(self._text).strip(), css))
            self._open = None


def cells(path: Path) -> dict[tuple[str, str], tuple[str | None, str, str]]:
    parser = _Cells()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.cells


def test_every_dealer_and_the_group_get_a_self_contained_file(written: Path):
    assert sorted(p.name for p in written.iterdir()) == [
        "report_D001_202610.html",
        "report_D002_202610.html",
        "report_GROUP_202610.html",
    ]
    for path in written.iterdir():
        page = path.read_text(encoding="utf-8")
        assert "月度汇报 2026年10月" in page
        # nothing fetched from anywhere: no external script, stylesheet, image or font
        assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", page), path.name
        assert "<script" not in page
        assert "@media print" in page
        assert "@page { size: A4" in page
    assert "苏州一店 月度汇报" in (written / "report_D001_202610.html").read_text(encoding="utf-8")
    group = (written / "report_GROUP_202610.html").read_text(encoding="utf-8")
    assert "苏州一店（D001）" in group
    assert "无锡二店（D002）" in group


def test_a_dealers_numbers_are_its_marts(written: Path, marts: str):
    with contextlib.closing(psycopg2.connect(marts)) as conn, conn.cursor() as cur:
        cur.execute("select kpi from marts.dim_kpi")
        kpis = [r[0] for r in cur.fetchall()]
        for code in ("D001", "D002"):
            shown = cells(written / f"report_{code}_202610.html")
            cur.execute(
                f"select {', '.join(kpis)} from marts.kpi_dealer_monthly where dealer_code = %s and month = %s",
                (code, MONTH),
            )
            for kpi, value in zip(kpis, cur.fetchone(), strict=True):
                assert shown[(kpi, code)][0] == (None if value is None else str(value)), (code, kpi)
    # the rate as it reads: every digit the mart keeps
    assert cells(written / "report_D001_202610.html")[("first_service_return_rate", "D001")][1] == "80.00%"
    assert cells(written / "report_D001_202610.html")[("revenue", "D001")][1] == "¥50,000.00"


def test_the_group_report_sets_the_dealers_side_by_side_with_the_groups_figure(written: Path):
    shown = cells(written / "report_GROUP_202610.html")
    for kpi, value in GROUP.items():
        assert Decimal(shown[(kpi, "GROUP")][0]) == value, kpi
        for code in ("D001", "D002"):
            assert Decimal(shown[(kpi, code)][0]) == Decimal(KPIS[code][kpi]), (kpi, code)
    # a KPI whose denominator the mart does not hold has no group figure
    assert shown[("complaints_closed_in_24h_rate", "GROUP")][1] == "—"


def test_an_immature_figure_is_marked_not_final(written: Path):
    dealer = cells(written / "report_D001_202610.html")
    _value, text, css = dealer[("maintenance_return_rate", "D001")]
    assert text == "50.00% *"
    assert css == "open"
    assert dealer[("first_service_return_rate", "D001")][2] != "open"
    assert cells(written / "report_GROUP_202610.html")[("maintenance_return_rate", "GROUP")][2] == "open"
    page = (written / "report_D001_202610.html").read_text(encoding="utf-8")
    assert "未定稿" in page
    assert "不代表下滑" in page


def test_targets_judge_the_figures(written: Path):
    dealer = cells(written / "report_D001_202610.html")
    assert dealer[("reminder_completion_rate", "D001")][2] == "bad"  # 95% < the required 100%
    assert dealer[("csi_index", "D001")][2] == "bad"  # 90 < 93
    assert cells(written / "report_D002_202610.html")[("csi_index", "D002")][2] == "good"  # 96 >= 93
    page = (written / "report_D001_202610.html").read_text(encoding="utf-8")
    assert "≥ 100.00%（低于 95.00% 处罚）" in page


def test_each_section_is_on_the_page(written: Path):
    page = (written / "report_D002_202610.html").read_text(encoding="utf-8")
    for title in ("关键指标", "近 12 个月趋势", "活动效果", "顾问绩效", "客户流失原因", "未结投诉"):
        assert title in page
    assert "CASE-D002-1" in page
    assert "2026-10-30 09:15" in page  # Beijing time, whatever the session's time zone
    assert "服务态度" in page  # labels, not codes
    assert "重大" in page
    assert "响应超时" in page
    assert "CASE-D002-2" in page  # open at the month's end, closed since
    assert "已结案" in page
    assert "CASE-D002-3" not in page
    assert "顾问2" in page  # the advisor scorecard
    assert cells(written / "report_D002_202610.html")[("advisor_calls_returned", "D002-A01")][:2] == ("12", "12")
    assert "[-7.00%, 28.00%]" in page  # the campaign's interval
    assert page.count("<svg") == 6  # return, appointment and reminder, CSI, renewal, churn by age, uplift
    assert "价格高" in (written / "report_D001_202610.html").read_text(encoding="utf-8")  # PRICE
    assert "3年以上" in page  # the age bucket >3y


def test_every_file_sent_is_in_the_export_audit(written: Path, marts: str):
    """One etl.export_audit row per report file (outputs.md §5), as the files are."""
    import hashlib

    with contextlib.closing(psycopg2.connect(marts)) as conn, conn.cursor() as cur:
        cur.execute(
            "select dealer_code, file_name, file_format, list_type, bytes, sha256, target, db_user, export_id"
            " from etl.export_audit where list_type = 'report' order by audit_id limit 3"
        )
        audited = cur.fetchall()
    assert sorted(row[0] for row in audited) == ["D001", "D002", "GROUP"]
    for dealer, name, file_format, _, size, sha256, target, db_user, export_id in audited:
        data = (written / name).read_bytes()
        assert name == f"report_{dealer}_202610.html"
        assert (file_format, size, sha256) == ("html", len(data), hashlib.sha256(data).hexdigest())
        assert target == str(written)
        assert db_user == "baoke_export"  # the export's login, not an admin
        assert export_id is None


def test_a_rerun_writes_identical_bytes(written: Path, marts: str, tmp_path: Path):
    before = {p.name: p.read_bytes() for p in written.iterdir()}
    with contextlib.closing(psycopg2.connect(marts)) as conn, contextlib.closing(open_drop(str(tmp_path))) as drop:
        again = monthly_report.write_reports(conn, drop, MONTH, dt.date(2026, 11, 1))
    assert len(again) == 3
    assert {p.name: p.read_bytes() for p in (tmp_path / "reports" / "2026-10").iterdir()} == before


def test_the_embedded_font_covers_every_character_on_the_page(written: Path):
    for path in written.iterdir():
        page = path.read_text(encoding="utf-8")
        font = re.search(r"url\(data:font/otf;base64,([A-Za-z0-9+/=]+)\)", page)
        assert font, path.name
        import base64

        assert fonts.missing_glyphs(base64.b64decode(font.group(1)), monthly_report._visible_text(page)) == set()
        # the charts draw their text as outlines: no text element a browser would need a font for
        assert "<text" not in page


def test_a_month_is_asked_for_as_yyyy_mm():
    assert monthly_report.parse_month("2026-10") == MONTH
    for bad in ("2026-13", "202610", "Oct 2026"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            monthly_report.parse_month(bad)
    result = baoke("report", "--month", "2026-1")
    assert result.returncode != 0
    assert "YYYY-MM" in result.stderr


def test_a_month_the_warehouse_holds_no_figures_for_is_refused(marts: str, tmp_path: Path):
    result = baoke("report", "--month", "2030-01", env={"AIRFLOW_CONN_WAREHOUSE": marts, "OUTBOUND_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert "no KPI figures for 2030-01" in result.stderr
    assert "2026-09 to 2026-10" in result.stderr
    assert not (tmp_path / "reports").exists()


def test_the_report_waits_for_ds_build_of_every_mart_it_reads(marts: str):
    """dbt records the D each mart was built for (etl.model_builds): built for 2026-11-01."""
    with contextlib.closing(psycopg2.connect(marts)) as conn:
        assert monthly_report.built_for(conn, dt.date(2026, 11, 1))
        assert not monthly_report.built_for(conn, dt.date(2026, 11, 2))
        with conn.cursor() as cur:
            cur.execute("select count(*) from etl.model_builds where business_date = '2026-11-01'")
            assert cur.fetchone()[0] >= len(figures.REPORT_MARTS)


def test_the_run_for_the_first_reports_the_month_before():
    assert monthly_report.report_month_for(dt.date(2026, 11, 1)) == MONTH
    assert monthly_report.report_month_for(dt.date(2026, 1, 1)) == dt.date(2025, 12, 1)
    assert monthly_report.write_for(dt.date(2026, 11, 2)) == []  # not the 1st: nothing to write
    assert figures.month_start(dt.date(2026, 3, 1), 11) == dt.date(2025, 4, 1)


# --- in a real browser -------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@needs_chromium
def test_the_report_renders_offline_with_charts_drawn_and_chinese_legible(
    browser, written: Path, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.route(re.compile(r"^https?://"), lambda route: route.abort())
    page.goto((written / "report_GROUP_202610.html").as_uri())
    page.wait_for_load_state("load")
    assert [url for url in requested if not url.startswith(("file:", "data:"))] == []
    # the embedded font is the one the page's text uses, and it covers that text
    assert page.evaluate("document.fonts.check(\"13px 'Noto Sans CJK SC'\", document.body.innerText)")
    assert page.evaluate(
        "[...document.fonts].some(f => f.family.includes('Noto Sans CJK SC') && f.status === 'loaded')"
    )
    # every chart is drawn: many shapes, a real size on the page, and ink in its screenshot
    charts = page.locator("figure.chart svg")
    assert charts.count() == 9  # the group's: one chart per KPI, each dealer a line; churn by age; uplift
    for index in range(charts.count()):
        chart = charts.nth(index)
        assert chart.evaluate("svg => svg.querySelectorAll('path, use').length") > 30
        box = chart.bounding_box()
        assert box
        assert box["width"] > 400
        assert box["height"] > 100
        shot = tmp_path / f"chart{index}.png"
        chart.screenshot(path=str(shot))
        assert _ink(shot) > 0.02, f"chart {index} is blank"
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert _ink(tmp_path / "report.png") > 0.02


def _ink(png: Path) -> float:
    """The share of the image's pixels that are not (near) white."""
    from PIL import Image

    with Image.open(png) as image:
        grey = image.convert("L")
        histogram = grey.histogram()
    return sum(histogram[:240]) / sum(histogram)


@needs_chromium
def test_the_a4_print_cuts_no_table(browser, written: Path, tmp_path: Path) -> None:
    page = browser.new_page()
    page.goto((written / "report_GROUP_202610.html").as_uri())
    page.emulate_media(media="print")
    # A4 less the page margins (10 mm each side): 190 mm at 96 px per inch
    page.set_viewport_size({"width": round(190 / 25.4 * 96), "height": 1000})
    overflowing = page.evaluate(
        "[...document.querySelectorAll('table')].filter(t => t.scrollWidth > t.parentElement.clientWidth + 1)"
        ".map(t => t.previousElementSibling ? t.previousElementSibling.innerText : '?')"
    )
    assert overflowing == []
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
    boxes = set(re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf.read_bytes()))
    assert boxes
    assert all(abs(float(w) - 595.92) < 2 and abs(float(h) - 842.88) < 2 for w, h in boxes), boxes  # A4, in points
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        for last_column in ("目标", "说明", "24小时结案率", "超时"):
            assert last_column in text


@needs_chromium
def test_a_group_of_twenty_dealers_still_fits_a4(browser, marts: str, tmp_path: Path) -> None:
    """The group's KPIs are tables of four KPIs with a row per dealer, and its charts show
    many dealers as grey lines behind the group's: twenty dealers fit the page as two do."""
    with contextlib.closing(psycopg2.connect(marts)) as conn:
        base = figures.read(conn, figures.scopes(conn)[-1], MONTH)
    dealers = tuple((f"D{n:03d}", f"第{n}店") for n in range(1, 21))
    first = [r for r in base.dealer_months if r["dealer_code"] == "D001"]
    many = dataclasses.replace(
        base,
        scope=figures.Scope(figures.GROUP, "集团", dealers),
        dealer_months=[{**row, "dealer_code": code} for code, _ in dealers for row in first],
    )
    path = tmp_path / "many.html"
    path.write_text(monthly_report.render(many), encoding="utf-8")
    shown = cells(path)
    assert all((kpi, code) in shown for kpi in ("visits", "csi_index") for code, _ in dealers)
    assert Decimal(shown[("visits", "GROUP")][0]) == 20 * KPIS["D001"]["visits"]
    page = browser.new_page()
    page.goto(path.as_uri())
    page.emulate_media(media="print")
    page.set_viewport_size({"width": round(190 / 25.4 * 96), "height": 1000})
    kpi_columns = page.evaluate(
        "[...document.querySelectorAll('table')].filter(t => t.previousElementSibling.innerText.startsWith('关键指标'))"
        ".map(t => t.rows[0].cells.length)"
    )
    assert kpi_columns
    assert max(kpi_columns) == 5  # 门店 and four KPIs
    overflowing = "[...document.querySelectorAll('table')].filter(t => t.scrollWidth > t.parentElement.clientWidth + 1)"
    assert page.evaluate(overflowing + ".length") == 0
    assert "灰线为各店" in path.read_text(encoding="utf-8")


# --- the data dictionary -----------------------------------------------------------------


def test_baoke_docs_serves_the_data_dictionary(marts: str):
    process = subprocess.Popen(
        [BAOKE, "docs"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**__import__("os").environ, "AIRFLOW_CONN_WAREHOUSE": marts},
    )
    try:
        deadline = time.monotonic() + 300
        url = None
        assert process.stdout is not None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line or process.poll() is None, "baoke docs ended without serving"
            found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            url = found.group(1) if found else None
        assert url, "baoke docs printed no address"
        assert "<html" in requests.get(url, timeout=10).text.lower()
        catalog = requests.get(url + "catalog.json", timeout=10).json()
        assert "model.baoke.kpi_dealer_monthly" in catalog["nodes"]
        manifest = requests.get(url + "manifest.json", timeout=10).json()
        described = manifest["nodes"]["model.baoke.kpi_dealer_monthly"]
        assert "月度汇报" in described["description"]
        assert all(column["description"] for column in described["columns"].values())
    finally:
        process.terminate()
        process.wait(timeout=30)
