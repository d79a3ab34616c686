"""After a replay (`baoke simulate replay`), compare the uplift the warehouse measured per
outreach reason with the simulator's true uplift (`TRUE_UPLIFT`): pooled over dealers and
every list whose attribution window has ended, treated vs holdout return rates, the
uplift, its 95% interval (Newcomb's, by the warehouse's own `marts.campaign_uplift`), and
whether the interval holds the true value.

    BAOKE_HOME=<replay home> .venv/bin/python benchmarks/measure_uplift.py [--world <world.sqlite>]

With the replay's world (default ``$BAOKE_HOME/sim/world.sqlite``) it then splits each
reason's returns as only the simulator can: the treated and held-out units' *own* returns
(visits the world held before any call) and the treated units' returns the calls caused
(the call center's orders, ``RO<dealer>-CC<list date>…``). Randomisation makes the first
two equal in expectation, so a measured uplift far from the true one is either a holdout
that drew customers who return less on their own (chance, or a bias in who is held out),
or calls that cause more than the true uplift. ``TRUE_UPLIFT`` is per listing; the units
are due events, some carried over the advisors' cap and listed late or never, so the
uplift these very units had (the caused returns of the treated beyond the held-out ones')
is the truth the interval is also checked against.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
from collections import defaultdict
from pathlib import Path

import psycopg2

from baoke.warehouse import resolve_warehouse
from baoke_sim.callcenter import ATTRIBUTION_DAYS, TRUE_UPLIFT

QUERY = """
with pooled as (
    select reason,
           sum(treated)::bigint as treated, sum(treated_returned)::bigint as treated_returned,
           sum(held_out)::bigint as holdout, sum(holdout_returned)::bigint as holdout_returned
    from marts.campaign_effectiveness
    where campaign_source = 'outreach' and attribution_complete
    group by reason
)
select pooled.*, uplift.uplift_ci_low, uplift.uplift_ci_high
from pooled
cross join lateral marts.campaign_uplift(treated_returned, treated, holdout_returned, holdout) as uplift
order by reason
"""


#: The units campaign_effectiveness compares (a due event on the day it is newly due, of a
#: customer the reason would lead a call or SMS row for: held out or not, whatever came
#: next), from what the export recorded, in the dealer-months whose windows have all closed
#: (the ones QUERY pools).
UNITS = """
with latest as (
    select distinct on (business_date, dealer_code) export_id
    from etl.outreach_exports
    order by business_date, dealer_code, export_id desc
),
complete as (
    select reason, dealer_code, month
    from marts.campaign_effectiveness
    where campaign_source = 'outreach' and attribution_complete
)
select log.business_date, log.customer_id, log.reason, log.disposition = 'holdout'
from etl.outreach_log as log
inner join latest using (export_id)
inner join complete
    on log.reason = complete.reason and log.dealer_code = complete.dealer_code
    and date_trunc('month', log.business_date)::date = complete.month
where log.source = 'due'
  and log.routing_without_holdout in ('call', 'sms') and log.leads_without_holdout
  and log.reason <> 'INSURANCE_RENEWAL'
"""


def world_visits(world: Path, customers: set[str]) -> dict[str, list[tuple[str, str]]]:
    """Each customer's closed visits in the world (not PDI): (open date, order number). A
    duplicate customer record's id is its original's plus ``D`` (the platform merges them)."""
    visits: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with sqlite3.connect(f"file:{world}?mode=ro", uri=True) as conn:
        for customer, day, ro in conn.execute(
            "select distinct json_extract(record, '$.customer_id'), json_extract(record, '$.open_date'), pk"
            " from dms_versions where entity = 'repair_orders' and json_extract(record, '$.status') = 'closed'"
            "   and json_extract(record, '$.service_type') <> 'PDI'"
        ):
            customer = customer.removesuffix("D") if customer else customer
            if customer in customers:
                visits[customer].append((day, ro))
    return visits


def simulator_view(cur, world: Path) -> dict[str, tuple[int, int, int, int, int, int]]:
    """Per reason, the units' counts as only the simulator knows them: treated units, their
    own returns (visits the world would have had anyway) and their returns caused by a call
    (any call of theirs: a carried unit is called days after it was due), then the same for
    the held-out units (called, if at all, for another reason)."""
    cur.execute(UNITS)
    units = cur.fetchall()
    visits = world_visits(world, {customer for _, customer, _, _ in units})
    tally: dict[tuple[str, bool], list[int]] = defaultdict(lambda: [0, 0, 0])  # n, own, caused
    for day, customer, reason, held_out in units:
        first, last = day.isoformat(), (day + dt.timedelta(days=ATTRIBUTION_DAYS)).isoformat()
        window = [ro for visit_day, ro in visits.get(customer, []) if first < visit_day <= last]
        counts = tally[(reason, held_out)]
        counts[0] += 1
        counts[1] += any("-CC" not in ro for ro in window)
        counts[2] += any("-CC" in ro for ro in window)
    view = {}
    print()
    print("the simulator's view: returns on the customer's own (the world's visits) and caused by a call")
    print(
        f"{'reason':24s} {'treated':>8s} {'own':>6s} {'caused':>7s} {'holdout':>8s} {'own':>6s}"
        f" {'caused':>7s} {'own diff':>9s} {'truth':>6s}"
    )
    for reason in sorted({reason for reason, _ in tally}):
        n1, own1, caused1 = tally[(reason, False)]
        n2, own2, caused2 = tally[(reason, True)]
        if not n1 or not n2:
            continue
        view[reason] = (n1, own1, caused1, n2, own2, caused2)
        print(
            f"{reason:24s} {n1:8d} {own1 / n1:6.3f} {caused1 / n1:7.3f} {n2:8d} {own2 / n2:6.3f}"
            f" {caused2 / n2:7.3f} {own1 / n1 - own2 / n2:+9.3f} {caused1 / n1 - caused2 / n2:+6.3f}"
        )
    print(
        "   truth: the return rate the calls caused in the treated units beyond the held-out ones,\n"
        "   the uplift these very units had (TRUE_UPLIFT is per listing: a unit carried until it\n"
        "   expired was never listed, and a carried one is listed days after its window opened)"
    )
    return view


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    home = Path(os.environ.get("BAOKE_HOME", ".baoke"))
    parser.add_argument("--world", type=Path, default=home / "sim" / "world.sqlite")
    args = parser.parse_args()
    with psycopg2.connect(resolve_warehouse(start_embedded=True)) as conn, conn.cursor() as cur:
        cur.execute(QUERY)
        rows = cur.fetchall()
        view = simulator_view(cur, args.world) if args.world.exists() else {}
    report(rows, view)


def report(rows: list[tuple], view: dict[str, tuple[int, int, int, int, int, int]]) -> None:
    """The warehouse's measurement per reason, against the true uplift per listing and, with
    the world, against the uplift the calls caused in these very units."""
    print()
    print(
        f"{'reason':24s} {'treated':>8s} {'rate':>6s} {'holdout':>8s} {'rate':>6s} {'uplift':>7s} "
        f"{'95% CI':>17s} {'listing':>7s} {'in':>3s} {'units':>6s} {'in':>3s}"
    )
    measured = held = held_units = 0
    for reason, n1, r1, n2, r2, low, high in rows:
        if not n1 or not n2:
            print(f"{reason:24s} {n1:8d} {'':6s} {n2:8d}   no holdout: no uplift to measure")
            continue
        measured += 1
        p1, p2 = r1 / n1, r2 / n2
        true = TRUE_UPLIFT[reason]
        inside = low <= true <= high
        held += inside
        units = ""
        if reason in view:
            u1, _, caused1, u2, _, caused2 = view[reason]
            truth = caused1 / u1 - caused2 / u2
            held_units += low <= truth <= high
            units = f" {truth:+6.3f} {'yes' if low <= truth <= high else 'NO':>3s}"
        print(
            f"{reason:24s} {n1:8d} {p1:6.3f} {n2:8d} {p2:6.3f} {p1 - p2:+7.3f} [{low:+.3f}, {high:+.3f}] "
            f"{true:7.2f} {'yes' if inside else 'NO':>3s}{units}"
        )
    print(f"the 95% interval holds the true uplift per listing for {held} of {measured} reasons measured")
    if view:
        print(f"and the uplift the calls caused in the same units for {held_units} of {measured}")


if __name__ == "__main__":
    main()
