"""The service-quality loop (rules §6) against the simulator's truth, for a replay.

The simulator knows every complaint it caused (``service_experience.caused_complaints``:
those made at the dealer and those a call heard, registered or not). Each replayed day D
checks that the platform's complaint cases are exactly those opened before D: each is
one case — its DMS record's once the feed delivered it, else its call's — none is two
(a call left beside the DMS complaint that registered it), no case is without a cause;
and that the dealers' complaints files of D carry every open case and every case closed
on D-1 past a service level. Rule §6 may legitimately fold two caused complaints into one
case (a call heard within 2 days before an unrelated DMS complaint of the same customer):
no check fails, and the summary's caused count is then above the cases'. After the replay,
``summary`` sets the complaint rate per dealer and month beside the simulator's, and the
satisfaction scores after repeat repairs beside the others'.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg2

from baoke_sim.service_experience import caused_complaints

CASES = """
    select case_id, dealer_code, complaint_id, call_id, is_open, breached, closed_date
    from marts.fct_complaint_case"""

#: Each satisfaction score given on a 回访 call, with whether the visit followed up
#: repeated a repair of the same car within 30 days (as the platform's visits show it).
SCORES_BY_REPEAT = """
    with repairs as (
        select ro_number, open_date - lag(visit_date) over (partition by vin order by visit_date, ro_number) as gap
        from intermediate.int_visits where service_type in ('REPAIR', 'WARRANTY')
    )
    select coalesce(repairs.gap <= 30, false) as repeat_repair, count(*) as scores,
           round(avg(csi_score)::numeric / 5 * 100, 1) as csi_index
    from intermediate.int_csi_responses as scores
    left join repairs on scores.ro_number = repairs.ro_number
    where scores.call_reason = 'POST_SERVICE_FOLLOWUP'
    group by 1 order by 1"""

MONTHLY = """
    select dealer_code, month, visits, complaint_cases
    from marts.kpi_dealer_monthly where month >= %(first)s order by 1, 2"""


#: What the feeds delivered of the complaints: each DMS complaint loaded, and each
#: outcome row loaded with a complaint or a score of 2 or less (a file lost, cut short
#: or sent without its version-2 columns delivered nothing of what the calls heard).
DELIVERED = """
    select distinct record->>'complaint_id' from raw.dms_complaints
    union
    select distinct record->>'call_id' from raw.callcenter_outcomes
    where coalesce(record->>'complaint_category', '') <> '' or record->>'csi_score' in ('1', '2')"""


def day_breaches(url: str, world: Path, outbound: Path, day: dt.date, held: set[str]) -> tuple[dict[str, int], int]:
    """D's service-quality breaches, by check (0: it holds), and the caused complaints no
    feed delivered (a fault's doing: the platform cannot know them, so they are counted
    apart, not as breaches)."""
    with sqlite3.connect(world) as conn:
        caused = caused_complaints(conn, day)
    with contextlib.closing(psycopg2.connect(url)) as conn:
        cases = _frame(conn, CASES)
        with conn.cursor() as cur:
            cur.execute(DELIVERED)
            delivered = {key for (key,) in cur.fetchall()}
    delivered.discard(None)
    of_dms = set(cases.complaint_id.dropna())
    of_calls = set(cases.call_id.dropna())
    call_cases = set(cases.loc[cases.complaint_id.isna(), "call_id"])
    registered = caused.complaint_id.isin(delivered)  # the DMS record reached the platform
    found = caused.complaint_id.isin(of_dms).where(registered, caused.call_id.isin(of_calls))
    reached = registered | caused.call_id.isin(delivered)
    twice = caused.complaint_id.isin(of_dms) & caused.call_id.isin(call_cases)
    causes = set(caused.complaint_id.dropna()) | set(caused.call_id.dropna())
    uncaused = ~(cases.complaint_id.isin(causes) | cases.call_id.isin(causes))
    due = cases[(cases.is_open | (cases.breached.notna() & (cases.closed_date == day - dt.timedelta(days=1))))]
    due = due[~due.dealer_code.isin(held)]
    on_file = _complaints_on_file(outbound, day)
    breaches = {
        "caused complaint not a case": int((~found & reached).sum()),
        "caused complaint in two cases": int(twice.sum()),
        "case without a caused complaint": int(uncaused.sum()),
        "open or breached case not on the complaints file": int((~due.case_id.isin(on_file)).sum()),
    }
    return breaches, int((~found & ~reached).sum())


def summary(url: str, world: Path, first: dt.date, until: dt.date) -> list[str]:
    """The replay's closing lines: complaint cases and rate per dealer and month beside
    the simulator's caused complaints; CSI after repeat repairs and after other visits."""
    with sqlite3.connect(world) as conn:
        caused = caused_complaints(conn, until)
    caused["month"] = pd.to_datetime(caused.opened_at.str[:10]).dt.to_period("M").dt.start_time.dt.date
    truth = caused.groupby(["dealer_code", "month"]).size()
    with contextlib.closing(psycopg2.connect(url)) as conn:
        months = _frame(conn, MONTHLY, {"first": first.replace(day=1)})
        scores = _frame(conn, SCORES_BY_REPEAT)
    lines = ["dealer  month    visits  cases  caused  complaint_rate  caused/visits"]
    for row in months.itertuples():
        n = int(truth.get((row.dealer_code, row.month), 0))
        rate = row.complaint_cases / row.visits if row.visits else float("nan")
        lines.append(
            f"{row.dealer_code}  {row.month:%Y-%m}  {row.visits:6d}  {row.complaint_cases:5d}  {n:6d}"
            f"  {rate:14.4f}  {n / row.visits if row.visits else float('nan'):13.4f}"
        )
    for row in scores.itertuples():
        label = "after a repeat repair" if row.repeat_repair else "after other visits"
        lines.append(f"CSI {label}: {row.csi_index} over {row.scores} scores")
    return lines


def _frame(conn: Any, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """A query's rows as a frame, through a psycopg2 cursor (pandas reads only SQLAlchemy
    connections without a warning)."""
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


def _complaints_on_file(outbound: Path, day: dt.date) -> set[str]:
    """The case ids on D's complaints files, every dealer's."""
    ids: set[str] = set()
    for path in (outbound / day.isoformat()).glob(f"*/complaints_*_{day:%Y%m%d}.csv"):
        ids |= {row["case_id"] for row in csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig")))}
    return ids
