"""The report's sections as a page shows them: tables of formatted cells and the charts,
built from the figures the marts hold (``figures.py``). Formatting keeps every digit the
mart stores (a rate of 0.2490 reads 24.90%), so the page's numbers are the marts'.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from baoke.dates import TZ
from baoke.monthly_report import charts
from baoke.monthly_report.figures import Figures

#: Group figures are the dealers' combined over the denominator each rate divides by;
#: a KPI without one here has no group figure (its denominator is not in the mart).
GROUP_WEIGHT: dict[str, str | None] = {
    "first_service_return_rate": "first_service_due",
    "maintenance_return_rate": "maintenance_due",
    "appointment_rate": "visits",
    "reminder_completion_rate": "reminders_due",
    "churn_rate": "active_base",
    "csi_index": "csi_responses",
    "complaint_rate": "visits",
    "renewal_rate_via_dealer": "renewals_due",
    "renewal_rate_anywhere": "renewals_due",
    "recall_completion_rate": "recall_vehicles_affected",
    "declined_work_recapture_rate": "declined_work",
}
#: Counts and money the group sums.
GROUP_SUM = ("visits", "revenue")


def fmt(value: Any, unit: str) -> str:
    """A mart value as the page shows it: ``—`` for none, rates as percent with the
    mart's four decimals kept, money with thousands separators."""
    if value is None:
        return "—"
    if unit == "rate":
        return f"{Decimal(value) * 100:.2f}%"
    if unit == "money":
        return f"¥{Decimal(value):,.2f}"
    if unit == "index":
        return f"{Decimal(value):.2f}"
    return f"{int(value):,}"


@dataclass(frozen=True)
class Cell:
    text: str
    css: str = ""  # good | bad | open (not final) | ""
    kpi: str | None = None  # data attributes a test reads back
    dealer: str | None = None
    value: str | None = None
    sub: str = ""  # a second, smaller line (the code beside a Chinese label)


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Cell]]
    note: str = ""
    empty: str = "本月无数据"


@dataclass
class Chart:
    title: str
    svg: str


@dataclass
class Section:
    title: str
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    note: str = ""


def _judge(value: Any, kpi: dict[str, Any]) -> str:
    """good or bad against the KPI's target (or fine floor), '' where it has none."""
    target = kpi.get("target")
    if value is None or target is None:
        return ""
    if kpi["better"] == "higher":
        return "good" if value >= target else "bad"
    return "good" if value <= target else "bad"


def _is_final(row: dict[str, Any] | None, kpi: str) -> bool | None:
    if row is None:
        return None
    if kpi == "revenue_per_visit":
        kpi = "revenue"
    return row.get(f"{kpi}_is_final")


def figure_cell(
    value: Any, unit: str, final: bool = True, css: str = "", kpi: str | None = None, dealer: str | None = None
) -> Cell:
    """A figure as the page shows it (``fmt``). One that is not final (a window still open,
    rules §4) is starred and amber, never judged good or bad: an immature month must not
    read as a collapse. ``kpi`` and ``dealer`` name the cell for a test to read back."""
    shown = None if value is None else str(value)
    if not final:
        return Cell(fmt(value, unit) + " *", "open", kpi, dealer, shown)
    return Cell(fmt(value, unit), css, kpi, dealer, shown)


def _value_cell(row: dict[str, Any] | None, kpi: dict[str, Any], dealer: str) -> Cell:
    """A dealer's KPI of a month, judged against its target (no row: an empty, final cell)."""
    value = None if row is None else row.get(kpi["kpi"])
    final = _is_final(row, kpi["kpi"]) is not False
    return figure_cell(value, kpi["unit"], final, _judge(value, kpi), kpi["kpi"], dealer)


def group_value(rows: Sequence[dict[str, Any]], kpi: str) -> Decimal | None:
    """The group's figure of a KPI from its dealers' rows of one month (``GROUP_WEIGHT``,
    ``GROUP_SUM``), rounded half up as PostgreSQL's round() rounds the dealers'; None where
    it has none. Rebuilt from the dealers' rounded rates, so its last digit may differ from
    a rate of the group's summed counts by one."""
    if kpi in GROUP_SUM:
        return sum((Decimal(r[kpi] or 0) for r in rows), Decimal(0))
    if kpi == "revenue_per_visit":
        visits = sum(int(r["visits"] or 0) for r in rows)
        revenue = sum((Decimal(r["revenue"] or 0) for r in rows), Decimal(0))
        return (revenue / visits).quantize(Decimal("0.01"), ROUND_HALF_UP) if visits else None
    weight = GROUP_WEIGHT.get(kpi)
    if weight is None:
        return None
    parts = [(Decimal(r[kpi]), int(r[weight] or 0)) for r in rows if r.get(kpi) is not None]
    total = sum(w for _, w in parts)
    if not total:
        return None
    digits = Decimal("0.01") if kpi == "csi_index" else Decimal("0.0001")
    return (sum((v * w for v, w in parts), Decimal(0)) / total).quantize(digits, ROUND_HALF_UP)


#: KPIs per table of the group's report: its dealers are its rows, so any number of
#: dealers fits an A4 page.
GROUP_TABLE_KPIS = 4
#: Up to this many dealers each get a coloured, named line in the group's trend charts;
#: past it, thin grey lines behind the group's.
NAMED_DEALER_LINES = 8
NOT_FINAL_NOTE = "* 未定稿：该指标的统计窗口尚未关闭（如定保 ±30 天、续保 30 天），数字还会变化，不代表下滑。"


def _group_cell(figures: Figures, kpi: dict[str, Any]) -> Cell:
    """The group's figure of a KPI this month (``group_value``), not final while any
    dealer's is not."""
    scope = figures.scope
    month_rows = [r for r in (figures.month_row(code) for code in scope.dealer_codes) if r is not None]
    value = group_value(month_rows, kpi["kpi"])
    final = all(_is_final(r, kpi["kpi"]) is not False for r in month_rows)
    return figure_cell(value, kpi["unit"], final, _judge(value, kpi), kpi["kpi"], "GROUP")


def kpi_tables(figures: Figures) -> list[Table]:
    """The month's KPIs against their targets: a dealer's with last month beside it; the
    group's as a few tables of four KPIs, a row per dealer and the group's combined row."""
    if figures.scope.is_group:
        return group_kpi_tables(figures)
    code = figures.scope.code
    previous = figures.months[-2] if len(figures.months) > 1 else None
    rows = []
    for kpi in figures.kpis:
        row = figures.month_row(code)
        before = figures.month_row(code, previous) if previous else None
        final = _is_final(row, kpi["kpi"])
        rows.append([
            Cell(kpi['label_zh'], sub=kpi['kpi']),
            _value_cell(row, kpi, code),
            _value_cell(before, kpi, code),
            Cell(_target_text(kpi)),
            Cell("—" if final is None else ("已定稿" if final else "未定稿")),
        ])  # fmt: skip
    return [Table("关键指标（KPI）与目标", ["指标", "本月", "上月", "目标", "状态"], rows, NOT_FINAL_NOTE)]


def group_kpi_tables(figures: Figures) -> list[Table]:
    """The group's KPIs, its dealers side by side: one row per dealer under the targets,
    the group's combined figure last."""
    kpis = figures.kpis
    chunks = [kpis[i : i + GROUP_TABLE_KPIS] for i in range(0, len(kpis), GROUP_TABLE_KPIS)]
    tables = []
    for number, chunk in enumerate(chunks, 1):
        header = ["门店", *[k["label_zh"] for k in chunk]]
        rows = [[Cell("目标"), *[Cell(_target_text(k)) for k in chunk]]]
        for code, name in figures.scope.dealers:
            row = figures.month_row(code)
            rows.append([Cell(name, sub=code), *[_value_cell(row, k, code) for k in chunk]])
        rows.append([Cell("集团合计"), *[_group_cell(figures, k) for k in chunk]])
        tables.append(Table(f"关键指标（{number}/{len(chunks)}）", header, rows))
    tables[-1].note = NOT_FINAL_NOTE + " 集团合计：各店按该指标的分母加权；无分母的指标不合计。"
    return tables


def _target_text(kpi: dict[str, Any]) -> str:
    if kpi["kpi"] == "churn_rate":
        return "按车龄，见流失率图"
    if kpi.get("target") is None:
        return "—"
    text = ("≥ " if kpi["better"] == "higher" else "≤ ") + fmt(kpi["target"], kpi["unit"])
    if kpi.get("floor") is not None:
        text += f"（低于 {fmt(kpi['floor'], kpi['unit'])} 处罚）"
    return text


def revenue_table(figures: Figures) -> Table:
    """产值 by service type (rules §4): visits, revenue, revenue per visit and share."""
    rows = [
        [
            *([Cell(r["dealer_code"])] if figures.scope.is_group else []),
            Cell(figures.label("service_type", r["service_type"]), sub=r["service_type"]),
            Cell(fmt(r["visits"], "count")),
            Cell(fmt(r["revenue"], "money"), "open" if not r["is_final"] else ""),
            Cell(fmt(r["revenue_per_visit"], "money")),
            Cell(fmt(r["revenue_share"], "rate")),
        ]
        for r in figures.revenue
    ]
    header = ["服务类型", "进厂台次", "产值", "单车产值", "占比"]
    return Table("产值（按服务类型）", ["门店", *header] if figures.scope.is_group else header, rows)


def declined_work_table(figures: Figures) -> Table:
    """Declined or deferred work done within 90 days, followed-up customers beside the
    held-out ones (rules §8): what the follow-up calls are worth."""
    rows = []
    for code, name in figures.scope.dealers:
        r = figures.month_row(code)
        if r is None:
            continue
        final = r["declined_work_recapture_rate_is_final"]
        rows.append([
            Cell(name, sub=code),
            Cell(fmt(r["declined_work"], "count")),
            figure_cell(r["declined_work_recapture_rate"], "rate", final),
            Cell(fmt(r["declined_work_followed_up"], "count")),
            figure_cell(r["declined_work_recapture_rate_followed_up"], "rate", final),
            Cell(fmt(r["declined_work_held_out"], "count")),
            figure_cell(r["declined_work_recapture_rate_held_out"], "rate", final),
        ])  # fmt: skip
    header = ["门店", "未修项目", "回修率", "跟进", "回修率(跟进)", "对照组", "回修率(对照)"]
    return Table("未修项目回修（90天内）", header, rows)


def reminder_table(figures: Figures) -> Table:
    """The reminder rate per reason: 首保 and 定保 must reach 100%, below 95% is fined."""
    rows = []
    for r in figures.reminders:
        strict = r["reason"] in ("FIRST_SERVICE_DUE", "MAINTENANCE_DUE")
        rate = r["reminder_completion_rate"]
        css = "" if rate is None or not strict else ("good" if rate >= 1 else "bad")
        rows.append(
            [
                *([Cell(r["dealer_code"])] if figures.scope.is_group else []),
                Cell(r["reason_zh"], sub=r["reason"]),
                Cell(fmt(r["due_events"], "count")),
                Cell(fmt(r["held_out"], "count")),
                Cell(fmt(r["reminders_due"], "count")),
                Cell(fmt(r["reminders_attempted"], "count")),
                figure_cell(rate, "rate", r["is_final"], css, "reminder_completion_rate", r["dealer_code"]),
                Cell("100%（低于 95% 处罚）" if strict else "—"),
            ]
        )
    header = ["原因", "到期", "对照组", "应提醒", "已提醒", "提醒率", "要求"]
    if figures.scope.is_group:
        header = ["门店", *header]
    return Table("提醒率（按原因）", header, rows)


#: The colour (charts.COLOURS) of the dealers' lines behind the group's when there are many.
GREY = 7


def _series(figures: Figures, dealer: str, kpi: str, label: str, colour: int | None = None) -> charts.Series:
    """A dealer's KPI over the trend's months (a label starting with ``_`` stays out of
    the legend)."""
    rows = [figures.month_row(dealer, m) for m in figures.months]
    return charts.Series(
        label,
        [None if r is None or r.get(kpi) is None else float(r[kpi]) for r in rows],
        [bool(r and _is_final(r, kpi)) for r in rows],
        colour=colour,
        thin=colour == GREY,
    )


def _group_series(figures: Figures, kpi: str, label: str, colour: int | None = None) -> charts.Series:
    """The group's KPI over the trend's months, combined as ``group_value`` does."""
    values, finals = [], []
    for month in figures.months:
        rows = [r for r in (figures.month_row(c, month) for c in figures.scope.dealer_codes) if r is not None]
        value = group_value(rows, kpi)
        values.append(None if value is None else float(value))
        finals.append(bool(rows) and all(_is_final(r, kpi) for r in rows))
    return charts.Series(label, values, finals, colour=colour)


def _target_series(figures: Figures, label: str, target: Any) -> charts.Series:
    n = len(figures.months)
    return charts.Series(label, [float(target)] * n, [True] * n, dashed=True)


def trend_charts(figures: Figures) -> list[Chart]:
    """The 12-month trends: return rates, appointment and reminder rates, CSI and renewals,
    each dealer a line in the group's report; churn by vehicle age against its targets."""
    kpis = {k["kpi"]: k for k in figures.kpis}
    label = {k: v["label_zh"] for k, v in kpis.items()}
    groups: list[tuple[str, list[str], bool]] = [
        ("回厂率", ["first_service_return_rate", "maintenance_return_rate"], True),
        ("预约率与提醒率", ["appointment_rate", "reminder_completion_rate"], True),
        ("满意度指数（CSI）", ["csi_index"], False),
        ("续保率", ["renewal_rate_via_dealer", "renewal_rate_anywhere"], True),
    ]
    out = []
    for title, names, percent in groups:
        names = [n for n in names if n in kpis]
        if figures.scope.is_group:
            named = len(figures.scope.dealers) <= NAMED_DEALER_LINES
            for name in names:
                series = [
                    _series(figures, code, name, dealer_name if named else f"_{code}", None if named else GREY)
                    for code, dealer_name in figures.scope.dealers
                ]
                series.append(_group_series(figures, name, "集团", None if named else 0))
                title = f"{label[name]}（各店）" if named else f"{label[name]}（集团；灰线为各店）"
                out.append(_trend(figures, title, series, kpis[name], percent, name))
        else:
            series = [_series(figures, figures.scope.code, name, label[name]) for name in names]
            target_kpi = next((kpis[n] for n in names if kpis[n].get("target") is not None), None)
            out.append(_trend(figures, title, series, target_kpi, percent, names[0]))
    out.append(churn_chart(figures))
    return out


def _trend(figures: Figures, title: str, series: list, kpi: dict | None, percent: bool, chart_id: str) -> Chart:
    if kpi is not None and kpi.get("target") is not None:
        sign = "≥" if kpi["better"] == "higher" else "≤"
        series = [*series, _target_series(figures, f"目标 {sign} {fmt(kpi['target'], kpi['unit'])}", kpi["target"])]
    top = 1.05 if percent else 100.0
    svg = charts.trend(f"{figures.scope.code}-{chart_id}", title, figures.months, series, percent, top)
    return Chart(title, svg)


def churn_chart(figures: Figures) -> Chart:
    """Churn (at risk or churned) by vehicle age, each age against its target; the group's
    combines its dealers' active bases."""
    buckets: dict[str, list[dict[str, Any]]] = {}
    for row in figures.churn_by_age:
        buckets.setdefault(row["age_bucket"], []).append(row)
    series = []
    for index, (bucket, rows) in enumerate(buckets.items()):
        values, finals = [], []
        for month in figures.months:
            of_month = [r for r in rows if r["month"] == month]
            base = sum(int(r["active_base"] or 0) for r in of_month)
            lost = sum(int(r["churned_or_at_risk"] or 0) for r in of_month)
            values.append(lost / base if base else None)
            finals.append(bool(of_month) and all(r["is_final"] for r in of_month))
        name = figures.label("age_bucket", bucket)
        series.append(charts.Series(f"车龄 {name}", values, finals, colour=index))
        target = rows[0]["target_churn_rate"]
        if target is not None:
            n = len(figures.months)
            label = f"{name} 目标 < {fmt(target, 'rate')}"
            series.append(charts.Series(label, [float(target)] * n, [True] * n, dashed=True, colour=index))
    title = "流失率（按车龄）与目标"
    return Chart(title, charts.trend(f"{figures.scope.code}-churn", title, figures.months, series, True, None))


def churn_table(figures: Figures) -> Table:
    """This month's churn by vehicle age, per dealer, against the targets."""
    rows = []
    for r in figures.churn_by_age:
        if r["month"] != figures.month:
            continue
        css = "" if r["meets_target"] is None else ("good" if r["meets_target"] else "bad")
        rows.append(
            [
                Cell(r["dealer_code"]),
                Cell(figures.label("age_bucket", r["age_bucket"])),
                Cell(fmt(r["active_base"], "count")),
                Cell(fmt(r["churned_or_at_risk"], "count")),
                figure_cell(r["churn_rate"], "rate", r["is_final"], css, "churn_rate_by_vehicle_age", r["dealer_code"]),
                Cell("—" if r["target_churn_rate"] is None else f"< {fmt(r['target_churn_rate'], 'rate')}"),
            ]
        )
    rows.sort(key=lambda row: (row[0].text,))
    return Table("本月流失率（按车龄）", ["门店", "车龄", "保有基盘", "流失/流失风险", "流失率", "目标"], rows)


def campaign_section(figures: Figures, title: str) -> Section:
    """Each campaign's uplift with its 95% interval (chart), and its figures (table)."""
    rows, intervals = [], []
    for c in figures.campaigns:
        if c["has_holdout"] and c["uplift"] is not None and c["uplift_ci_low"] is not None:
            label = c["campaign_label"] + ("" if c["is_final"] else " *")
            intervals.append(
                charts.Interval(label, float(c["uplift"]), float(c["uplift_ci_low"]), float(c["uplift_ci_high"]))
            )
        interval = (
            "—"
            if c["uplift_ci_low"] is None
            else f"[{fmt(c['uplift_ci_low'], 'rate')}, {fmt(c['uplift_ci_high'], 'rate')}]"
        )
        rows.append(
            [
                Cell(c["campaign_label"], sub=c["campaign_code"]),
                Cell(fmt(c["due"], "count")),
                Cell(fmt(c["held_out"], "count")),
                Cell(fmt(c["reached"], "count")),
                Cell(fmt(c["treated_return_rate"], "rate")),
                Cell(fmt(c["holdout_return_rate"], "rate")),
                figure_cell(c["uplift"], "rate", c["is_final"], "", "uplift", c.get("dealer_code", "GROUP")),
                Cell(interval),
                Cell("—" if c["p_value"] is None else f"{Decimal(c['p_value']):.4f}"),
                Cell(fmt(c["revenue"], "money")),
                Cell(fmt(c["cost"], "money")),
                Cell(_campaign_note(c)),
            ]
        )
    header = [
        "活动",
        "到期",
        "对照组",
        "接通",
        "回厂率(联系)",
        "回厂率(对照)",
        "提升",
        "95%区间",
        "p值",
        "回厂产值",
        "成本",
        "说明",
    ]
    section = Section(
        title,
        [Table("各活动本月效果" + ("（各店合并）" if figures.scope.is_group else ""), header, rows)],
    )
    if intervals:
        title = "回厂率提升及其 95% 置信区间（Newcomb）"
        section.charts.append(Chart(title, charts.uplift(f"{figures.scope.code}-uplift", title, intervals)))
    section.note = (
        "提升 = 联系组回厂率 - 对照组回厂率；区间跨过 0 表示尚无把握说有效。无对照组的活动不计提升。"
        "* 归因窗口未关闭，数字还会变化。"
    )
    return section


def _campaign_note(c: dict[str, Any]) -> str:
    """Why a campaign has no uplift, or that its figures may still change, in Chinese."""
    notes = []
    if not c["has_holdout"]:
        notes.append("店内/厂家活动，按核销计效果，无对照组" if c["campaign_source"] == "dms" else "无对照组，不计提升")
    elif c["uplift"] is None:
        notes.append("联系组或对照组为空，无法计算提升")
    if not c["is_final"]:
        notes.append("归因窗口未关闭，数字还会变化")
    return "；".join(notes)


def _advisor_csi_css(a: dict[str, Any]) -> str:
    """An advisor's CSI against the target: green or red."""
    if a["csi_index"] is None:
        return ""
    return "good" if a["csi_index"] >= a["csi_target"] else "bad"


def advisor_table(figures: Figures) -> Table:
    """The advisor scorecard: calls, reached, booked, returned, visits, CSI of their
    visits, complaints."""
    rows = []
    for a in figures.advisors:
        rows.append(
            [
                *([Cell(a["dealer_code"])] if figures.scope.is_group else []),
                Cell(a["advisor_name"], sub=a["advisor_id"]),
                Cell(fmt(a["calls_listed"], "count")),
                Cell(fmt(a["calls_reached"], "count")),
                Cell(fmt(a["calls_booked"], "count")),
                figure_cell(
                    a["calls_returned"],
                    "count",
                    a["calls_returned_is_final"],
                    "",
                    "advisor_calls_returned",
                    a["advisor_id"],
                ),
                Cell(fmt(a["visits"], "count")),
                figure_cell(
                    a["csi_index"], "index", a["is_final"], _advisor_csi_css(a), "advisor_csi_index", a["advisor_id"]
                ),
                Cell(fmt(a["complaint_cases"], "count")),
                Cell(fmt(a["complaints_closed_in_24h_rate"], "rate")),
            ]
        )
    header = ["顾问", "名单数", "接通", "预约", "回厂", "进厂台次", "CSI", "客诉", "24小时结案率"]
    if figures.scope.is_group:
        header = ["门店", *header]
    return Table("顾问绩效", header, rows)


def loss_table(figures: Figures) -> Table:
    """Why customers left: what reached win-back customers said, and the OEM's hints."""
    rows = []
    for r in figures.loss_reasons:
        reason = figures.label("oem_reason_hint" if r["source"] == "oem" else "loss_reason", r["reason"])
        rows.append(
            [
                *([Cell(r["dealer_code"])] if figures.scope.is_group else []),
                Cell(figures.label("loss_source", r["source"])),
                Cell(reason),
                Cell(fmt(r["reached_winback_calls"], "count")),
                Cell(fmt(r["customers"], "count")),
                Cell(fmt(r["customers_returned_within_30d"], "count")),
                figure_cell(r["return_rate"], "rate", r["is_final"]),
                Cell(fmt(r["oem_listed_vehicles"], "count")),
            ]
        )
    header = ["来源", "原因", "接通招揽电话", "客户数", "30天内回厂", "回厂率", "厂家名单车辆"]
    if figures.scope.is_group:
        header = ["门店", *header]
    return Table("客户流失原因", header, rows)


def complaint_table(figures: Figures) -> Table:
    """The complaint cases open at the month's end, oldest first, with their service
    levels and their status now (a later report shows how each ended)."""
    rows = []
    for c in figures.open_complaints:
        rows.append(
            [
                Cell(c["case_id"]),
                *([Cell(c["dealer_code"])] if figures.scope.is_group else []),
                Cell(c["customer_id"] or "—"),
                Cell(c["advisor_id"] or "—"),
                Cell(figures.label("complaint_category", c["complaint_category"])),
                Cell(figures.label("complaint_severity", c["severity"])),
                Cell(_when(c["opened_at"])),
                Cell(figures.label("case_status", c["case_status"])),
                Cell(figures.label("breached", c["breached"]), "bad" if c["breached"] else ""),
            ]
        )
    header = ["案件", "客户", "顾问", "类别", "严重程度", "开启时间", "现状", "超时"]
    if figures.scope.is_group:
        header = ["案件", "门店", *header[1:]]
    return Table("月末未结投诉", header, rows, empty="月末无未结投诉")


def _when(value: dt.datetime | None) -> str:
    """A moment as the store reads it: Beijing time, whatever the session's time zone."""
    return "—" if value is None else value.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def all_sections(figures: Figures) -> list[Section]:
    """The report's sections in reading order (outputs.md §3)."""
    return [
        Section(
            "一、关键指标",
            [*kpi_tables(figures), reminder_table(figures), revenue_table(figures), declined_work_table(figures)],
        ),
        Section(
            "二、近 12 个月趋势",
            [churn_table(figures)],
            trend_charts(figures),
            note="实心点、实线：已定稿；空心点、点线：未定稿（窗口未关闭）；虚线：目标。",
        ),
        campaign_section(figures, "三、活动效果（对照组）"),
        Section("四、顾问绩效", [advisor_table(figures)]),
        Section("五、客户流失原因", [loss_table(figures)]),
        Section("六、未结投诉", [complaint_table(figures)]),
    ]
