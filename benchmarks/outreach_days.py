"""After a replay (`baoke simulate replay`), what each day's lists did, from the outreach
log the export wrote (etl.outreach_log, the latest export of each date and dealer):

- call-list rows per queue, rows carried over a cap (the backlog) and rows that expired;
- the most rows any one person got, against the cap;
- earliest-due first: nobody is given a row due later than one of theirs carried at the
  same priority;
- rows held out although their lead reason has no holdout share (must be none).

    BAOKE_HOME=<replay home> .venv/bin/python benchmarks/outreach_days.py
"""

from __future__ import annotations

import contextlib

import psycopg2

from baoke.warehouse import resolve_warehouse

LATEST_LOG = """
    with latest as (
        select distinct on (business_date, dealer_code) export_id
        from etl.outreach_exports
        order by business_date, dealer_code, export_id desc
    )
    select log.* from etl.outreach_log as log inner join latest using (export_id)
"""

PER_DAY = f"""
    with log as ({LATEST_LOG})
    select
        business_date,
        count(*) filter (where disposition = 'call' and is_list_row) as called,
        count(*) filter (where disposition = 'call' and is_list_row and queue = 'service_advisor') as sa,
        count(*) filter (where disposition = 'call' and is_list_row and queue = 'renewal_specialist') as rs,
        count(*) filter (where disposition = 'call' and is_list_row and queue = 'followup_agent') as fa,
        count(*) filter (where disposition = 'call' and is_list_row and queue = 'sales_consultant') as sc,
        count(*) filter (where disposition = 'overflow' and is_list_row) as carried,
        count(*) filter (where disposition = 'expired') as expired,
        count(*) filter (where disposition = 'holdout') as held_out,
        count(*) filter (where disposition = 'sms' and is_list_row) as sms
    from log
    group by business_date
    order by business_date
"""

BUSIEST = f"""
    with log as ({LATEST_LOG})
    select business_date, max(n) from (
        select business_date, advisor_id, count(*) as n
        from log where disposition = 'call' and is_list_row
        group by business_date, advisor_id
    ) as per_person
    group by business_date
"""

EXPIRED_BY_REASON = f"""
    with log as ({LATEST_LOG})
    select reason, count(*) from log where disposition = 'expired' group by reason order by 2 desc
"""

ORDER_UNDER_CAP = f"""
    with log as ({LATEST_LOG}),
    per_person as (
        select business_date, queue, advisor_id, priority,
               max(due_date) filter (where disposition = 'call') as latest_due_placed,
               min(due_date) filter (where disposition = 'overflow') as earliest_due_carried
        from log
        where is_list_row and disposition in ('call', 'overflow')
        group by business_date, queue, advisor_id, priority
    )
    select business_date, queue,
           count(*) filter (where earliest_due_carried is not null) as people_with_carried_rows,
           count(*) filter (where latest_due_placed > earliest_due_carried) as placed_after_a_carried_one
    from per_person
    group by business_date, queue
    having count(*) filter (where earliest_due_carried is not null) > 0
    order by business_date, queue
"""

HOLDOUT_WITHOUT_SHARE = f"""
    with log as ({LATEST_LOG})
    select log.reason, count(*)
    from log inner join rules.outreach_reasons as reasons on log.reason = reasons.reason
    where log.disposition = 'holdout' and reasons.holdout_pct = 0
    group by log.reason
"""


def main() -> None:
    with contextlib.closing(psycopg2.connect(resolve_warehouse(start_embedded=True))) as conn, conn.cursor() as cur:
        cur.execute(BUSIEST)
        busiest = dict(cur.fetchall())
        cur.execute(PER_DAY)
        print("date        called   svc-adv renewal follow-up sales  carried expired held-out   sms  busiest")
        for day, called, sa, rs, fa, sc, carried, expired, held, sms in cur.fetchall():
            print(
                f"{day}  {called:6d}  {sa:7d} {rs:7d} {fa:9d} {sc:5d}  {carried:7d} {expired:7d} {held:8d} "
                f"{sms:5d}  {busiest.get(day, 0):7d}"
            )
        cur.execute(EXPIRED_BY_REASON)
        print("\nexpired rows by reason:", ", ".join(f"{reason} {n}" for reason, n in cur.fetchall()) or "none")
        cur.execute(ORDER_UNDER_CAP)
        rows = cur.fetchall()
        print("\ncarried over a cap, per day and queue: people with rows carried, and of them those who were")
        print("given a row due later than one carried at the same priority (earliest-due first: must be 0)")
        for day, queue, people, out_of_order in rows:
            print(f"  {day} {queue or '-':18s} {people:4d} people carried rows, {out_of_order} out of order")
        cur.execute(HOLDOUT_WITHOUT_SHARE)
        print("\nheld out with a 0% share:", cur.fetchall() or "none")


if __name__ == "__main__":
    main()
