"""Benchmark: who calls (`int_outreach_assignment`) on a synthetic backlog day.

The assignment walks each pool of staff (a dealer and a role) row by row in placement
order (a recursive query), so its time grows with the rows of a day: this times the
model's compiled SQL alone on a day of `--rows` call rows (default 60,000, a backlog day
of the `medium` world and then some; `large` is about ten times `medium`), in a scratch
embedded warehouse, without building the rest of the project. `--before FILE` also times
another version of the model (e.g. `git show REV:dbt_project/models/.../int_outreach_assignment.sql`)
on the same day and compares the two: the same rows over the cap, the same person for
every row under it.

    .venv/bin/python benchmarks/bench_assignment.py --rows 60000 [--before old.sql]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

MODEL = Path(__file__).resolve().parents[1] / "dbt_project/models/intermediate/outreach/int_outreach_assignment.sql"
# (reason, priority, queue): the seed's phone reasons
REASONS = [
    ("POST_SERVICE_FOLLOWUP", 2, "followup_agent"),
    ("NEW_CAR_FOLLOWUP", 4, "sales_consultant"),
    ("FIRST_SERVICE_DUE", 6, "service_advisor"),
    ("MAINTENANCE_DUE", 7, "service_advisor"),
    ("INSURANCE_RENEWAL", 9, "renewal_specialist"),
    ("WARRANTY_EXPIRY", 10, "service_advisor"),
    ("LAPSING_WINBACK", 11, "service_advisor"),
    ("LOST_WINBACK", 12, "service_advisor"),
    ("POINTS_EXPIRY", 13, "service_advisor"),
]
STAFF = {"service_advisor": 8, "sales_consultant": 4, "followup_agent": 2, "renewal_specialist": 2}


def render(sql: str) -> tuple[str, str]:
    """The model's SQL with its refs on the scratch tables (no dbt: the model alone), and
    its pre-hook (the planner settings it runs with)."""
    import jinja2

    config: dict[str, Any] = {}
    env = jinja2.Environment()
    rendered = env.from_string(sql).render(
        ref=lambda name: f"bench.{name}",
        var=lambda name, default=None: {"max_calls_per_advisor": 40}.get(name, default),
        config=lambda **kwargs: config.update(kwargs) or "",
    )
    return rendered, config.get("pre_hook", "")


def synthetic_day(cur: Any, rows: int, dealers: int, holdout: float, seed: int = 16) -> None:
    """A day of `rows` call rows over `dealers` dealers, staffed as STAFF says, 70% of
    customers with an advisor of their own (a few of them gone), a share `holdout` of
    them drawing the holdout (0 to compare with a model that walked held-out rows)."""
    from psycopg2.extras import execute_values

    rng = random.Random(seed)
    cur.execute("drop schema if exists bench cascade; create schema bench")
    cur.execute("create table bench.outreach_reasons (reason text, priority int, queue text)")
    cur.executemany("insert into bench.outreach_reasons values (%s, %s, %s)", REASONS)
    cur.execute("create table bench.queue_caps (queue text, max_calls int)")
    cur.execute("create table bench.stg_dms__advisors (advisor_id text, dealer_code text, is_active bool, role text)")
    advisors = []
    for d in range(dealers):
        for role, n in STAFF.items():
            for i in range(n):
                advisors.append((f"{role[:2].upper()}{d:03d}{i:02d}", f"DL{d:03d}", rng.random() > 0.05, role))
    cur.executemany("insert into bench.stg_dms__advisors values (%s, %s, %s, %s)", advisors)
    by_dealer: dict[str, list[str]] = {}
    for advisor_id, dealer, _, role in advisors:
        by_dealer.setdefault(f"{dealer}/{role}", []).append(advisor_id)
    cur.execute(
        "create table bench.int_outreach_routing (customer_id text, vin text, dealer_code text, reason text,"
        " priority int, event_key text, due_date date, source text, routing text, rank_without_holdout int,"
        " lead_draws_holdout bool)"
    )
    cur.execute("create table bench.int_customer_advisor (customer_id text, advisor_id text)")
    cur.execute("create table bench.stg_dms__vehicles (vin text, sales_consultant_id text)")
    routed, own, vehicles = [], [], []
    for k in range(rows):
        dealer = f"DL{rng.randrange(dealers):03d}"
        reason, priority, _ = rng.choices(REASONS, weights=[3, 1, 2, 8, 10, 3, 30, 30, 13])[0]
        customer, vin = f"K{k:07d}", f"V{k:07d}"
        due = f"2026-{rng.randint(6, 8):02d}-{rng.randint(1, 28):02d}"
        source = rng.choices(["due", "overflow", "retry", "callback"], weights=[80, 10, 8, 2])[0]
        draws = rng.random() < holdout
        routed.append((customer, vin, dealer, reason, priority, f"E{k}", due, source, "call", 1, draws))
        if rng.random() < 0.7:
            own.append((customer, rng.choice(by_dealer[f"{dealer}/service_advisor"])))
        vehicles.append((vin, rng.choice(by_dealer[f"{dealer}/sales_consultant"])))
    execute_values(cur, "insert into bench.int_outreach_routing values %s", routed)
    execute_values(cur, "insert into bench.int_customer_advisor values %s", own)
    execute_values(cur, "insert into bench.stg_dms__vehicles values %s", vehicles)
    cur.execute("analyze")


def timed(cur: Any, sql: str, table: str) -> float:
    """Seconds to build `table` from the model's SQL, with the model's pre-hook."""
    query, pre_hook = render(sql)
    started = time.monotonic()
    cur.execute("begin")
    if pre_hook:
        cur.execute(pre_hook)
    cur.execute(f"create table bench.{table} as {query}")
    cur.execute("commit")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=60_000, help="call rows of the day")
    parser.add_argument("--dealers", type=int, default=20)
    parser.add_argument("--holdout", type=float, default=0.0, help="share of rows drawing the holdout")
    parser.add_argument("--before", type=Path, help="another version of the model, to time and compare")
    args = parser.parse_args()

    import psycopg2

    from baoke.warehouse import EmbeddedWarehouse

    with tempfile.TemporaryDirectory() as scratch:
        warehouse = EmbeddedWarehouse(Path(scratch) / "wh")
        conn = psycopg2.connect(warehouse.up())
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                synthetic_day(cur, args.rows, args.dealers, args.holdout)
                print(f"{args.rows} call rows, {args.dealers} dealers")
                print(f"now:    {timed(cur, MODEL.read_text(), 'after'):.1f} s")
                if args.before:
                    print(f"before: {timed(cur, args.before.read_text(), 'before'):.1f} s")
                    cur.execute(
                        "select count(*) filter (where a.over_cap),"
                        " count(*) filter (where a.over_cap is distinct from b.over_cap),"
                        " count(*) filter (where not a.over_cap and a.advisor_id is distinct from b.advisor_id),"
                        " count(*) filter (where b.customer_id is null)"
                        " from bench.after a left join bench.before b using (customer_id)"
                    )
                    over, differ, other_person, missing = cur.fetchone()
                    print(
                        f"over the cap: {over}; differing over_cap: {differ}; other person under the cap:"
                        f" {other_person}; not in before: {missing}"
                    )
        finally:
            conn.close()
            warehouse.down()


if __name__ == "__main__":
    main()
