"""After a replay (`baoke simulate replay`), compare the uplift the warehouse measured per
outreach reason with the simulator's true uplift (`TRUE_UPLIFT`): pooled over dealers and
every list whose attribution window has ended, treated vs holdout return rates, the
uplift, its 95% interval (Newcomb's, by the warehouse's own `marts.campaign_uplift`), and
whether the interval holds the true value.

    BAOKE_HOME=<replay home> .venv/bin/python benchmarks/measure_uplift.py
"""

from __future__ import annotations

import psycopg2

from baoke.warehouse import resolve_warehouse
from baoke_sim.callcenter import TRUE_UPLIFT

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


def main() -> None:
    with psycopg2.connect(resolve_warehouse(start_embedded=True)) as conn, conn.cursor() as cur:
        cur.execute(QUERY)
        rows = cur.fetchall()
    held = 0
    print(
        f"{'reason':24s} {'treated':>8s} {'rate':>6s} {'holdout':>8s} {'rate':>6s} {'uplift':>7s} "
        f"{'95% CI':>17s} {'true':>5s}  contains"
    )
    for reason, n1, r1, n2, r2, low, high in rows:
        if not n1 or not n2:
            print(f"{reason:24s} {n1:8d} {'':6s} {n2:8d}   no holdout: no uplift to measure")
            continue
        p1, p2 = r1 / n1, r2 / n2
        true = TRUE_UPLIFT[reason]
        inside = low <= true <= high
        held += inside
        print(
            f"{reason:24s} {n1:8d} {p1:6.3f} {n2:8d} {p2:6.3f} {p1 - p2:+7.3f} [{low:+.3f}, {high:+.3f}] "
            f"{true:5.2f}  {'yes' if inside else 'NO'}"
        )
    print(f"the 95% interval holds the true uplift for {held} of {len(rows)} reasons")


if __name__ == "__main__":
    main()
