"""What the monthly report shows, read from the marts (docs/outputs.md §3): nothing is
computed here that a mart already holds, so that the report's numbers are the marts'.

A report covers one scope: a dealer, or the group with its dealers side by side. Every
query is filtered by the scope's dealers and ordered, so that the same warehouse gives
the same report byte for byte.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from psycopg2.extras import RealDictCursor

GROUP = "GROUP"
#: Months of trend the charts show, the report's month last.
TREND_MONTHS = 12


@dataclass(frozen=True)
class Scope:
    """A report's subject: one dealer, or the group (``code`` = ``GROUP``) and all its dealers."""

    code: str
    name: str
    dealers: tuple[tuple[str, str], ...]  # (dealer_code, dealer_name), by code

    @property
    def is_group(self) -> bool:
        return self.code == GROUP

    @property
    def dealer_codes(self) -> list[str]:
        return [code for code, _ in self.dealers]


@dataclass
class Figures:
    """Everything one report shows, as rows read from the marts."""

    scope: Scope
    month: dt.date
    figures_through: dt.date | None
    kpis: list[dict[str, Any]]  # dim_kpi, in report order
    months: list[dt.date]  # the trend's months, oldest first
    dealer_months: list[dict[str, Any]]  # kpi_dealer_monthly over the trend's months
    reminders: list[dict[str, Any]]  # kpi_reminder_monthly of the month
    revenue: list[dict[str, Any]]  # kpi_revenue_by_service_type of the month
    churn_by_age: list[dict[str, Any]]  # churn_rate_by_vehicle_age over the trend's months
    campaigns: list[dict[str, Any]]  # campaign_effectiveness (dealer) or _pooled (group) of the month
    advisors: list[dict[str, Any]]  # kpi_advisor_monthly of the month
    loss_reasons: list[dict[str, Any]]  # loss_reasons_monthly of the month
    open_complaints: list[dict[str, Any]]  # fct_complaint_case open at the month's end
    labels: dict[tuple[str, str], str] = field(default_factory=dict)  # (code type, code) -> 中文
    missing: list[str] = field(default_factory=list)  # marts this warehouse does not have

    def label(self, code_type: str, code: str | None) -> str:
        """A code's Chinese label (dim_code_label), the code itself where it has none."""
        if code is None:
            return "—"
        return self.labels.get((code_type, code), code)

    def month_row(self, dealer_code: str, month: dt.date | None = None) -> dict[str, Any] | None:
        """A dealer's kpi_dealer_monthly row of ``month`` (default: the report's)."""
        wanted = month or self.month
        return next((r for r in self.dealer_months if r["dealer_code"] == dealer_code and r["month"] == wanted), None)


def month_start(month: dt.date, back: int = 0) -> dt.date:
    """The first day of ``month``, ``back`` months earlier."""
    index = month.year * 12 + month.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def scopes(conn: Any) -> list[Scope]:
    """One scope per dealer, then the group's."""
    dealers = tuple(
        (r["dealer_code"], r["dealer_name"] or r["dealer_code"])
        for r in _rows(conn, "select dealer_code, dealer_name from marts.dim_dealer order by dealer_code")
    )
    return [Scope(code, name, ((code, name),)) for code, name in dealers] + [Scope(GROUP, "集团", dealers)]


def _rows(conn: Any, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(sql, params or {})
        return [dict(r) for r in cur.fetchall()]


def _exists(conn: Any, relation: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("select to_regclass(%s) is not null", (relation,))
        return bool(cur.fetchone()[0])


#: The marts each section reads (a section whose mart is missing says so).
SECTION_MARTS: dict[str, str] = {
    "dealer_months": "marts.kpi_dealer_monthly",
    "reminders": "marts.kpi_reminder_monthly",
    "revenue": "marts.kpi_revenue_by_service_type",
    "churn_by_age": "marts.churn_rate_by_vehicle_age",
    "campaigns": "marts.campaign_effectiveness",
    "advisors": "marts.kpi_advisor_monthly",
    "loss_reasons": "marts.loss_reasons_monthly",
    "open_complaints": "marts.fct_complaint_case",
}

#: The marts that name and label what the sections show.
LABEL_MARTS = (
    "marts.dim_kpi",
    "marts.dim_code_label",
    "marts.dim_outreach_reason",
    "marts.dim_campaign",
    "marts.dim_advisor",
)
#: Every mart a report reads: the report waits for D's build of each (etl.model_builds).
REPORT_MARTS = tuple(m.removeprefix("marts.") for m in (*dict.fromkeys(SECTION_MARTS.values()), *LABEL_MARTS))

_QUERIES: dict[str, str] = {
    "dealer_months": """
        select * from marts.kpi_dealer_monthly
        where dealer_code = any(%(dealers)s) and month between %(first)s and %(month)s
        order by dealer_code, month""",
    "reminders": """
        select r.*, coalesce(d.priority, 99) as priority
        from marts.kpi_reminder_monthly as r
        left join marts.dim_outreach_reason as d on d.reason = r.reason
        where r.dealer_code = any(%(dealers)s) and r.month = %(month)s
        order by coalesce(d.priority, 99), r.reason, r.dealer_code""",
    "revenue": """
        select * from marts.kpi_revenue_by_service_type
        where dealer_code = any(%(dealers)s) and month = %(month)s
        order by dealer_code, revenue desc, service_type""",
    "churn_by_age": """
        select * from marts.churn_rate_by_vehicle_age
        where dealer_code = any(%(dealers)s) and month between %(first)s and %(month)s
        order by bucket_order, dealer_code, month""",
    "campaigns": """
        select c.*, coalesce(r.reason_zh, dc.campaign_name, c.campaign_code) as campaign_label
        from marts.campaign_effectiveness as c
        left join marts.dim_outreach_reason as r on r.reason = c.reason
        left join marts.dim_campaign as dc on dc.campaign_code = c.campaign_code
        where c.dealer_code = any(%(dealers)s) and c.month = %(month)s
        order by c.campaign_source desc, coalesce(r.priority, 99), c.campaign_code""",
    "campaigns_pooled": """
        select c.*, coalesce(r.reason_zh, dc.campaign_name, c.campaign_code) as campaign_label
        from marts.campaign_effectiveness_pooled as c
        left join marts.dim_outreach_reason as r on r.reason = c.reason
        left join marts.dim_campaign as dc on dc.campaign_code = c.campaign_code
        where c.period = to_char(%(month)s::date, 'YYYY-MM')
        order by c.campaign_source desc, coalesce(r.priority, 99), c.campaign_code""",
    "advisors": """
        select k.*, coalesce(a.advisor_name, k.advisor_id) as advisor_name
        from marts.kpi_advisor_monthly as k
        left join marts.dim_advisor as a on a.advisor_id = k.advisor_id
        where k.dealer_code = any(%(dealers)s) and k.month = %(month)s
        order by k.dealer_code, k.calls_listed desc, k.visits desc, k.advisor_id""",
    "loss_reasons": """
        select * from marts.loss_reasons_monthly
        where dealer_code = any(%(dealers)s) and month = %(month)s
        order by source, dealer_code, customers desc nulls last, oem_listed_vehicles desc nulls last, reason""",
    # open at the month's end: opened by then, not closed by then (a case that lapsed
    # unregistered is closed on its lapse date); only the columns the table shows (no
    # `customer_said`: what a customer said may name them)
    "open_complaints": """
        select case_id, dealer_code, customer_id, advisor_id, complaint_category, severity,
            opened_at, case_status, is_open, breached
        from marts.fct_complaint_case
        where dealer_code = any(%(dealers)s)
            and opened_date <= %(month_end)s
            and (closed_date is null or closed_date > %(month_end)s)
        order by opened_at, case_id""",
}


@dataclass(frozen=True)
class Reference:
    """What every report of a month shares, read once: which marts the warehouse lacks,
    the KPI catalogue and the codes' Chinese labels."""

    missing: list[str]
    kpis: list[dict[str, Any]]
    labels: dict[tuple[str, str], str]


def reference(conn: Any) -> Reference:
    """The marts missing, the KPIs (dim_kpi, in report order) and the labels (dim_code_label)."""
    missing = [mart for mart in (*dict.fromkeys(SECTION_MARTS.values()), *LABEL_MARTS) if not _exists(conn, mart)]
    kpis = [] if "marts.dim_kpi" in missing else _rows(conn, "select * from marts.dim_kpi order by report_order")
    labels = (
        {}
        if "marts.dim_code_label" in missing
        else {
            (r["code_type"], r["code"]): r["label_zh"]
            for r in _rows(conn, "select code_type, code, label_zh from marts.dim_code_label")
        }
    )
    return Reference(missing, kpis, labels)


def read(conn: Any, scope: Scope, month: dt.date, shared: Reference | None = None) -> Figures:
    """The figures of ``scope`` for ``month`` (its first day), as the marts hold them now;
    ``shared``: what the month's other reports read already (default: read it here)."""
    shared = shared or reference(conn)
    month_end = month_start(month, -1) - dt.timedelta(days=1)
    params = {
        "dealers": scope.dealer_codes,
        "month": month,
        "month_end": month_end,
        "first": month_start(month, TREND_MONTHS - 1),
    }
    found: dict[str, list[dict[str, Any]]] = {}
    for section, mart in SECTION_MARTS.items():
        query = "campaigns_pooled" if section == "campaigns" and scope.is_group else section
        found[section] = [] if mart in shared.missing else _rows(conn, _QUERIES[query], params)
    rows_of_month = [r for r in found["dealer_months"] if r["month"] == month]
    through = max((r["figures_through"] for r in rows_of_month), default=None)
    return Figures(
        scope=scope,
        month=month,
        figures_through=through,
        months=[month_start(month, back) for back in range(TREND_MONTHS - 1, -1, -1)],
        kpis=shared.kpis,
        labels=shared.labels,
        missing=shared.missing,
        **found,
    )
