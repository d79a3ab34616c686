"""After a replay (`baoke simulate replay`), what the reasons that bring work into the
workshop did, measured against the simulator's own world (its SQLite store) rather than
against the warehouse's own counts:

1. accident leads (rules §3 reason 1, §7): every accident claim the insurers reported on a
   vehicle of the group's DMS, whose next morning is a replay date, is on that morning's
   outreach log, or the world says why it was no longer a lead (unexplained misses: 0);
2. the share of the called accident leads repaired in the group, towed-elsewhere claims
   apart, beside the towed-elsewhere claims nobody called (0 by the simulator's design);
3. declined work (§8): the recapture uplift the warehouse measures (followed up vs held
   out, the interval by its own `marts.campaign_uplift`) against the simulator's truth,
   the work the calls got done that would not have been done by the same horizon;
4. recalls (§8): completion as of the replay's dates, no recall listed again on a day
   the platform already knew it complete (must be 0), the recalls the calls remedied;
5. the OEM reconciliation (§9): `marts.oem_churn_reconciliation` per class against the
   same classes computed here from the world's own OEM lists and repair orders.

    BAOKE_HOME=<replay home> .venv/bin/python benchmarks/measure_revenue.py [--world <world.sqlite>]

The default world is $BAOKE_HOME/sim/world.sqlite. It is only read (a read-only SQLite
URI, in short statements: see ``read_paged``), and the warehouse only in read-only
transactions of one statement each, reached as `measure_uplift.py` does (a running
embedded server is reused), so that it can also look at a replay still running. About
two minutes and 1 GB of memory for a medium world.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import psycopg2

from baoke.config import get_settings
from baoke.warehouse import resolve_warehouse
from baoke_sim.caused_work import DECLINED_WORK, RECALL_OPEN
from baoke_sim.insurance import TOWED_PREFIX

ACCIDENT_LEAD = "ACCIDENT_LEAD"
REPORTED = "已报案"
#: The dispositions that put a row in front of the customer or of staff (rules §3).
LISTED = ("call", "sms", "exception")
#: Rules §2 thresholds (seed churn_status_thresholds): the lower bound of each status by days.
STATUS_BY_DAYS = ((365, "churned"), (180, "at_risk"), (90, "lapsing"), (0, "active"))
NEW_CAR_DAYS = 90
#: Rowids per statement reading the world (``read_paged``): a fraction of a second each.
PAGE_ROWS = 10_000
GONE = ("sold", "scrapped")
CLASSES = (
    "dealer_only_lost",
    "not_in_dealer_base",
    "oem_late_seen_recently",
    "lost_to_other_dealer",
    "agree_lost",
    "oem_ahead_lapsing",
)

LATEST_LOG = """
    with latest as (
        select distinct on (business_date, dealer_code) export_id
        from etl.outreach_exports
        order by business_date, dealer_code, export_id desc
    )
    select log.business_date, log.reason, log.event_key, log.vin, log.disposition, log.source, log.attempt_no
    from etl.outreach_log as log inner join latest using (export_id)
    where log.reason = any(%s)
"""

RECOMMENDATIONS = """
    select recommendation_id, recommended_date, followup_group, is_recaptured
    from marts.fct_recommendation
    where followup_group in ('followed_up', 'held_out')
"""

REPAIRED_CLAIMS = """
    select insurance_claim_no from marts.fct_service_visit where insurance_claim_no is not null
    union
    select insurance_claim_no from staging.stg_dms__repair_orders
    where insurance_claim_no is not null and ro_status <> 'void'
"""


# --- small helpers ------------------------------------------------------------------------


def day_start(day: dt.date) -> str:
    """D 00:00 +08:00 as the world's timestamps are written: a run for D sees what is
    visible before it (rules, "the business date"), and they sort as text."""
    return f"{day.isoformat()}T00:00:00+08:00"


def share(part: int, whole: int) -> str:
    return f"{part / whole:6.3f}" if whole else "     -"


def dbt_var(name: str, default: int) -> int:
    """A dbt var's default from dbt_project.yml (the replay runs with the defaults), read
    with a pattern: the project's YAML parser ships no type information."""
    text = (get_settings().dbt_project_dir / "dbt_project.yml").read_text(encoding="utf-8")
    found = re.search(rf"^\s+{name}:\s*(\d+)", text, flags=re.MULTILINE)
    return int(found.group(1)) if found else default


def open_world(path: Path) -> sqlite3.Connection:
    """The world, read-only: the replay may still be writing it, and this must not."""
    if not path.exists():
        raise SystemExit(f"no world at {path}: pass --world")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=120)


def world_table(world: sqlite3.Connection, name: str) -> bool:
    return (
        world.execute("select 1 from sqlite_master where type = 'table' and name = ?", (name,)).fetchone() is not None
    )


def read_paged(world: sqlite3.Connection, table: str, columns: str, where: str, params: tuple = ()) -> pd.DataFrame:
    """``select columns from table where ...`` in windows of ``PAGE_ROWS`` rowids, one
    short statement each: the world's store keeps a rollback journal, a reader holds off
    every writer while its statement runs, and the simulator's writers wait 5 s at most
    (a replay still running would fail on a long read)."""
    (top,) = world.execute(f"select coalesce(max(rowid), 0) from {table}").fetchone()
    sql = f"select {columns} from {table} where rowid > ? and rowid <= ? and ({where})"
    pages = range(0, max(top, 1), PAGE_ROWS)  # one page at least: an empty table still gives the columns
    return pd.concat(
        [pd.read_sql_query(sql, world, params=(low, low + PAGE_ROWS, *params)) for low in pages], ignore_index=True
    )


def versions(world: sqlite3.Connection, entity: str, fields: Iterable[str]) -> pd.DataFrame:
    """Every version of an entity's records (pk, updated_at, visible_at and the named fields): the
    DMS's history, from which any day's state is read back with ``as_of``."""
    columns = ", ".join(f"json_extract(record, '$.{f}') as {f}" for f in fields)
    return read_paged(world, "dms_versions", f"pk, updated_at, visible_at, {columns}", "entity = ?", (entity,))


def as_of(history: pd.DataFrame, cutoff: str) -> pd.DataFrame:
    """Each record's latest version (by updated_at) of those visible before ``cutoff``: what
    a run of that day saw. A late write is visible after a later version: latest by
    visible_at would take it for the current one."""
    seen = history[history["visible_at"] < cutoff]
    return seen.sort_values(["pk", "updated_at"]).drop_duplicates("pk", keep="last")


def latest_log(cur: psycopg2.extensions.cursor, reasons: list[str]) -> pd.DataFrame:
    """The outreach log as the platform reads it (the latest export of each date and
    dealer), for some reasons."""
    cur.execute(LATEST_LOG, (reasons,))
    columns = ["business_date", "reason", "event_key", "vin", "disposition", "source", "attempt_no"]
    return pd.DataFrame(cur.fetchall(), columns=columns)


def model_date(cur: psycopg2.extensions.cursor, model: str) -> dt.date | None:
    """The business date a model was last built for: a mart reads as of that D."""
    cur.execute("select business_date from etl.model_builds where model = %s order by built_at desc limit 1", (model,))
    row = cur.fetchone()
    return row[0] if row else None


# --- 1 and 2: accident leads ---------------------------------------------------------------


def world_claims(world: sqlite3.Connection) -> pd.DataFrame:
    """Every claim row the insurers' files carry (insurance.CLAIM_HEADER), one per stage."""
    rows = read_paged(
        world,
        "insurer_rows",
        "file_date, line_no, json_extract(fields, '$[0]') as claim_no, json_extract(fields, '$[2]') as vin,"
        " replace(json_extract(fields, '$[4]'), '/', '-') as report_date, json_extract(fields, '$[6]') as repairer,"
        " json_extract(fields, '$[7]') as status",
        "kind = 'CLAIM'",
    )
    rows["report_date"] = pd.to_datetime(rows["report_date"]).dt.date
    return rows


def accident_population(claims: pd.DataFrame, dates: list[dt.date], vehicles: pd.DataFrame) -> pd.DataFrame:
    """The claims reported on R with R + 1 a replay date, on a vehicle the group's DMS
    held by then, each with its state in the files a run of R + 1 reads (dated before it:
    the repairer the world names later, once a call won the car, is not there yet)."""
    claims = claims.assign(lead_date=claims["report_date"] + dt.timedelta(days=1))
    claims = claims[claims["lead_date"].isin(set(dates))]
    known = claims[claims["file_date"] < claims["lead_date"].map(dt.date.isoformat)]
    state = known.sort_values(["claim_no", "file_date", "line_no"]).drop_duplicates("claim_no", keep="last")
    first_seen = vehicles.groupby("pk")["visible_at"].min()
    held = state["vin"].map(first_seen) < state["lead_date"].map(day_start)
    return state[held.fillna(False).astype(bool)].reset_index(drop=True)


def why_not_a_lead(claim: pd.Series, vehicles: pd.DataFrame, orders: pd.DataFrame) -> str:
    """Why a claim was not on the next morning's log, from the world as a run of that day
    saw it (rules §3 reason 1), in the rule's order; 'other' is a miss nothing explains."""
    if claim["repairer"]:
        return "claim names a repairer"
    if claim["status"] != REPORTED:
        return "claim no longer only reported"
    cutoff = day_start(claim["lead_date"])
    in_workshop = as_of(orders[orders["vin"] == claim["vin"]], cutoff)
    in_workshop = in_workshop[in_workshop["status"] != "void"]
    if (in_workshop["status"] == "open").any() or (in_workshop["insurance_claim_no"] == claim["claim_no"]).any():
        return "car in a group workshop"
    vehicle = as_of(vehicles[vehicles["pk"] == claim["vin"]], cutoff)
    if vehicle["status"].isin(GONE).any():
        return "vehicle sold or scrapped"
    if vehicle["customer_id"].isna().all():
        return "vehicle has no owner in the DMS"
    return "other"


def report_accident_leads(
    population: pd.DataFrame, log: pd.DataFrame, vehicles: pd.DataFrame, orders: pd.DataFrame
) -> None:
    """Section 1: the next morning's log against every claim that could be a lead."""
    leads = log[log["reason"] == ACCIDENT_LEAD]
    on_day = leads.drop_duplicates(["event_key", "business_date"]).set_index(["event_key", "business_date"])
    keys = list(zip(population["claim_no"], population["lead_date"], strict=True))
    disposition = pd.Series([on_day["disposition"].get(key) for key in keys], index=population.index)
    listed = population[disposition.notna()]
    missed = population[disposition.isna()]
    lead_orders = orders[orders["vin"].isin(set(missed["vin"]))]
    why = missed.apply(lambda claim: why_not_a_lead(claim, vehicles, lead_orders), axis=1)
    towed = population["claim_no"].str.startswith(TOWED_PREFIX)
    print("1. ACCIDENT LEADS: claims reported on R, R + 1 a replay date, on a vehicle of the group's DMS")
    print(
        f"   claims {len(population)} (towed elsewhere {int(towed.sum())}, repaired in the group {int((~towed).sum())})"
    )
    print(f"   on the log of R + 1 as ACCIDENT_LEAD: {len(listed)}")
    for name, count in disposition.dropna().value_counts().items():
        print(f"     {name:28s} {count:6d}")
    print(f"   not on it: {len(missed)}")
    for name, count in why.value_counts().items() if len(why) else []:
        print(f"     {name:28s} {count:6d}")
    unexplained = missed[why == "other"] if len(why) else missed
    print(f"   unexplained misses: {len(unexplained)} (must be 0)")
    for _, claim in unexplained.head(5).iterrows():
        later = leads[leads["event_key"] == claim["claim_no"]]
        print(
            f"     e.g. {claim['claim_no']} vin {claim['vin']} reported {claim['report_date']}: logged "
            f"{list(zip(later['business_date'].astype(str), later['disposition'], strict=True)) or 'never'}"
        )


def report_called_leads(
    population: pd.DataFrame, log: pd.DataFrame, orders: pd.DataFrame, repaired_in_warehouse: set[str]
) -> None:
    """Section 2: of the accident leads called, the share the group repaired; of the
    towed-elsewhere accidents nobody called, the same share (the world's counterfactual)."""
    latest = as_of(orders, "9999")
    in_world = set(latest.loc[latest["status"] != "void", "insurance_claim_no"].dropna())
    leads = log[log["reason"] == ACCIDENT_LEAD]
    called = set(leads.loc[leads["disposition"] == "call", "event_key"])
    contacted = set(leads.loc[leads["disposition"].isin(["call", "sms"]), "event_key"])
    print("\n2. CALLED ACCIDENT LEADS repaired in the group (an order carrying the claim number)")
    print(f"   {'claims':38s} {'claims':>7s} {'warehouse':>9s} {'share':>6s} {'world':>7s} {'share':>6s}")
    groups = {
        "called, towed elsewhere (CLX-)": {c for c in called if c.startswith(TOWED_PREFIX)},
        "called, others": {c for c in called if not c.startswith(TOWED_PREFIX)},
        # an SMS lead can win the car too (callcenter._win_accidents): not "nobody called"
        "towed elsewhere, never called nor sent": {
            c for c in population["claim_no"] if c.startswith(TOWED_PREFIX) and c not in contacted
        },
    }
    for name, claims in groups.items():
        stored, world = len(claims & repaired_in_warehouse), len(claims & in_world)
        print(
            f"   {name:38s} {len(claims):7d} {stored:9d} {share(stored, len(claims))} "
            f"{world:7d} {share(world, len(claims))}"
        )
    print("   (the last row: the simulator's rate for accidents nobody called, by construction 0; a call of")
    print("   the replay's last date is towed in the day after, so the warehouse has not seen its order yet)")


# --- 3: declined work ---------------------------------------------------------------------


def caused(world: sqlite3.Connection, kind: str) -> pd.DataFrame:
    """The world's ledger of what the calls got done (caused_work), empty before any."""
    columns = ["key", "list_date", "ro_number", "done_date", "organic_done_date"]
    if not world_table(world, "caused_work"):
        return pd.DataFrame(columns=columns)
    return pd.read_sql_query(f"select {', '.join(columns)} from caused_work where kind = ?", world, params=(kind,))


def report_declined_work(cur: psycopg2.extensions.cursor, world: sqlite3.Connection, recapture_days: int) -> None:
    """Section 3: the measured recapture uplift, and the share of the treated whose work
    the call got done by the horizon that would not have been done by it anyway."""
    cur.execute(RECOMMENDATIONS)
    recs = pd.DataFrame(cur.fetchall(), columns=["recommendation_id", "recommended_date", "group", "is_recaptured"])
    treated, holdout = recs[recs["group"] == "followed_up"], recs[recs["group"] == "held_out"]
    n1, r1, n2, r2 = (
        len(treated),
        int(treated["is_recaptured"].sum()),
        len(holdout),
        int(holdout["is_recaptured"].sum()),
    )
    print("\n3. DECLINED WORK recaptured (done within 90 days; so far: by the last run's date)")
    print(f"   followed up (treated) {n1:6d}  recaptured {r1:5d}  rate {share(r1, n1)}")
    print(f"   held out              {n2:6d}  recaptured {r2:5d}  rate {share(r2, n2)}")
    if not n1 or not n2:
        print("   no holdout or no treated yet: no uplift to measure")
        return
    cur.execute(
        "select uplift, uplift_ci_low, uplift_ci_high from marts.campaign_uplift(%s, %s, %s, %s)", (r1, n1, r2, n2)
    )
    uplift, low, high = cur.fetchone() or (None, None, None)
    # The mart's run for D saw the work done before D.
    last = model_date(cur, "fct_recommendation") or dt.date.max
    horizon = treated["recommended_date"].map(
        lambda d: min(last - dt.timedelta(days=1), d + dt.timedelta(recapture_days))
    )
    ledger = caused(world, DECLINED_WORK).set_index("key")
    never = "9999-12-31"
    done = treated["recommendation_id"].map(ledger["done_date"]).astype(object).fillna(never)
    organic = treated["recommendation_id"].map(ledger["organic_done_date"]).astype(object).fillna(never)
    horizon_text = horizon.map(dt.date.isoformat)
    by_call, anyway = done <= horizon_text, organic <= horizon_text
    truth = int((by_call & ~anyway).sum()) / n1
    print(f"   uplift {uplift:+.4f}, 95% interval [{low:+.4f}, {high:+.4f}] (marts.campaign_uplift)")
    print(
        f"   the simulator's truth: {int(by_call.sum())} of the treated done by a call's visit by the horizon, "
        f"{int((by_call & anyway).sum())} of them done anyway by it: {truth:+.4f}"
    )
    print(f"   the interval contains the truth: {'yes' if low <= truth <= high else 'NO'}")


# --- 4: recalls ---------------------------------------------------------------------------


def report_recall_completion(cur: psycopg2.extensions.cursor, dates: list[dt.date]) -> None:
    """Section 4a: the completion rate as of each fifth replay date and the last, from the
    warehouse's recall status (completion dates as the last run knows them)."""
    cur.execute("select published_date, completed_date from intermediate.int_recall_status")
    recalls = pd.DataFrame(cur.fetchall(), columns=["published", "completed"])
    print("\n4. RECALLS: completion as of the replay's dates (intermediate.int_recall_status of the last run)")
    print(f"   {'date':10s} {'affected':>9s} {'completed':>9s} {'rate':>6s}")
    for day in sorted(set(dates[::5]) | {dates[-1]}):
        affected = recalls[recalls["published"] < day]
        completed = int((affected["completed"].notna() & (affected["completed"] < day)).sum())
        print(f"   {day} {len(affected):9d} {completed:9d} {share(completed, len(affected))}")


def known_complete(rows: pd.DataFrame, orders: pd.DataFrame, oem: pd.DataFrame) -> pd.Series:
    """Per RECALL_OPEN row (recall|vin on date d): whether the platform could know the
    recall complete before d (rules §8): a group order carrying the code, opened before d,
    not void, as the DMS showed it before d; or the OEM's completion visible before d."""
    rows = rows.assign(code=rows["event_key"].str.split("|").str[0], cutoff=rows["business_date"].map(day_start))
    carrying = orders.loc[orders["campaign_code"].notna(), ["pk", "vin", "campaign_code"]].drop_duplicates("pk")
    candidate = rows.reset_index().merge(carrying, left_on=["vin", "code"], right_on=["vin", "campaign_code"])
    seen = candidate.merge(orders, on="pk", suffixes=("", "_v"))
    seen = seen[seen["visible_at"] < seen["cutoff"]].sort_values("updated_at")
    seen = seen.drop_duplicates(["index", "pk"], keep="last")
    done_here = seen[
        (seen["campaign_code_v"] == seen["code"])
        & (seen["status"] != "void")
        & (seen["open_date"] < seen["business_date"].map(dt.date.isoformat))
    ]["index"]
    reported = rows.reset_index().merge(oem, left_on="event_key", right_on="pk")
    reported = reported[reported["visible_at"] < reported["cutoff"]]
    reported = reported.sort_values("updated_at").drop_duplicates("index", keep="last")
    done_elsewhere = reported.loc[reported["completed_date"].notna(), "index"]
    return rows.index.isin(set(done_here) | set(done_elsewhere))


def report_recall_relisting(log: pd.DataFrame, orders: pd.DataFrame, world: sqlite3.Connection) -> None:
    """Section 4b: no recall listed on a day the platform already knew it complete, and
    what the RECALL_OPEN calls remedied (the world's caused_work)."""
    rows = log[(log["reason"] == RECALL_OPEN) & log["disposition"].isin(LISTED)].reset_index(drop=True)
    oem = versions(world, "oem_recalls", ["completed_date"])
    again = rows[known_complete(rows, orders, oem)]
    print(f"   RECALL_OPEN rows listed (call, sms, exception): {len(rows)}")
    print(f"   listed although known complete before the day: {len(again)} (must be 0)")
    for source, count in again["source"].value_counts().items():
        print(f"     as {source:26s} {count:6d}")
    for _, row in again.head(5).iterrows():
        print(
            f"     e.g. {row['business_date']} {row['event_key']} ({row['disposition']}, {row['source']}, "
            f"attempt {row['attempt_no']})"
        )
    ledger = caused(world, RECALL_OPEN)
    anyway = ledger["organic_done_date"].notna()
    twice = anyway & (ledger["organic_done_date"] <= ledger["done_date"])
    print(
        f"   recalls the calls remedied (caused_work): {len(ledger)}; the world would have remedied "
        f"{int(anyway.sum())} of them anyway, {int(twice.sum())} on or before the call's visit"
    )
    if twice.any():
        print("     (a remedy the world did on or before the call's visit: the car remedied twice, the call no cause)")
        for _, row in ledger[twice].head(3).iterrows():
            print(
                f"     e.g. {row['key']}: listed {row['list_date']}, the world's own remedy "
                f"{row['organic_done_date']}, the call's {row['done_date']} ({row['ro_number']})"
            )


# --- 5: the OEM reconciliation ------------------------------------------------------------


def resolved_customers(customers: pd.DataFrame) -> pd.Series:
    """Each customer record's surviving record through merges (rules §1), chains followed."""
    into = customers.set_index("pk")["merged_into_customer_id"].dropna()
    into = into[into.index != into]
    resolved = pd.Series(customers["pk"].to_numpy(), index=customers["pk"].to_numpy())
    for _ in range(10):
        step = resolved.map(into)
        moved = step.notna() & (step != resolved)
        if not moved.any():
            break
        resolved[moved] = step[moved]
    return resolved


def churn_status(days: pd.Series, never_visited: pd.Series) -> pd.Series:
    """Rules §2: the status by days since the last visit (delivery if never visited)."""
    status = pd.Series("active", index=days.index)
    for floor, name in reversed(STATUS_BY_DAYS):
        status[days >= floor] = name
    status[never_visited & (days < NEW_CAR_DAYS)] = "new"
    return status


def period_statuses(
    month: pd.Period, visits: pd.DataFrame, vehicles: pd.DataFrame, customers: pd.DataFrame, base_at: str
) -> pd.DataFrame:
    """Every vehicle's status (rules §2) on the day after the period's last day, from the
    group's visits before it, with the dealer responsible for it (the dealer of its latest
    visit, else its selling dealer, else its owner's home dealer); the base and the owner
    as the DMS held them before ``base_at``."""
    as_of_day = (month + 1).start_time.date()
    owned = as_of(vehicles, base_at)
    owned = owned[~owned["status"].isin(GONE) & owned["status"].notna()]
    people = as_of(customers, base_at)
    home = people.set_index("pk")["dealer_code"]
    owner = owned["customer_id"].map(resolved_customers(people))
    before = visits[visits["close_date"] < as_of_day.isoformat()]
    latest = before.sort_values(["vin", "close_date", "pk"]).drop_duplicates("vin", keep="last").set_index("vin")
    frame = pd.DataFrame({"vin": owned["pk"].to_numpy(), "delivery": owned["delivery_date"].to_numpy()})
    frame["last_visit"] = frame["vin"].map(latest["close_date"])
    frame = frame[frame["last_visit"].notna() | (frame["delivery"] < as_of_day.isoformat())]
    last = pd.to_datetime(frame["last_visit"].fillna(frame["delivery"]))
    days = (pd.Timestamp(as_of_day) - last).dt.days
    dealer = frame["vin"].map(latest["dealer_code"])
    dealer = dealer.fillna(frame["vin"].map(owned.set_index("pk")["dealer_code"]))
    dealer = dealer.fillna(frame["vin"].map(owner.set_axis(owned["pk"]).map(home)))
    return frame.assign(status=churn_status(days, frame["last_visit"].isna()), dealer_code=dealer)


def classify(listed: pd.DataFrame, statuses: pd.DataFrame, dealer: str) -> pd.Series:
    """One dealer's period, classed as rules §9 and int_oem_churn_reconciliation say (first
    match): the listed VINs by the dealer's status; the dealer's at_risk and churned
    vehicles it does not list are dealer_only_lost. Returns the count per class."""
    status = listed["vin"].map(statuses.set_index("vin")["status"])
    other_dealer = listed["reason_hint"] == "SERVICED_AT_OTHER_DEALER"
    classes = pd.Series("oem_ahead_lapsing", index=listed.index)
    classes[status.isin(["at_risk", "churned"])] = "agree_lost"
    classes[other_dealer & status.notna()] = "lost_to_other_dealer"
    classes[status.isin(["new", "active"])] = "oem_late_seen_recently"
    classes[status.isna()] = "not_in_dealer_base"
    lost = statuses[(statuses["dealer_code"] == dealer) & statuses["status"].isin(["at_risk", "churned"])]
    counts = classes.value_counts()
    counts["dealer_only_lost"] = int((~lost["vin"].isin(set(listed["vin"]))).sum())
    return counts


def world_reconciliation(
    world: sqlite3.Connection, orders: pd.DataFrame, vehicles: pd.DataFrame, as_of_d: dt.date, kpi_months: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per (dealer, period, class), the counts from the world: its OEM lists published
    before D in the periods the platform compares, against statuses from its own repair
    orders. Twice: the base and owners at the period's end (rules §2 applied on that day),
    and as of D (what int_vehicle_churn_monthly's comment says the platform uses)."""
    first = (pd.Period(as_of_d - dt.timedelta(days=1), "M") - (kpi_months - 1)).start_time.date().isoformat()
    items = read_paged(
        world,
        "oem_lost_customers",
        "dealer_code, period, json_extract(record, '$.vin') as vin,"
        " json_extract(record, '$.reason_hint') as reason_hint",
        "generated_at < ? and period || '-01' >= ? and period || '-01' < ?",
        (day_start(as_of_d), first, as_of_d.replace(day=1).isoformat()),
    )
    cutoff = day_start(as_of_d)
    known = as_of(orders, cutoff)
    visits = known[(known["status"] == "closed") & (known["service_type"] != "PDI") & known["close_date"].notna()]
    visits = visits[visits["close_date"] < as_of_d.isoformat()]
    customers = versions(world, "customers", ["dealer_code", "merged_into_customer_id"])
    counts: dict[str, list[pd.DataFrame]] = {"period_end": [], "as_of_d": []}
    for period, in_period in items.groupby("period"):
        month = pd.Period(str(period), "M")
        for variant, base_at in (("period_end", day_start((month + 1).start_time.date())), ("as_of_d", cutoff)):
            statuses = period_statuses(month, visits, vehicles, customers, base_at)
            for dealer, listed in in_period.groupby("dealer_code"):
                per_class = classify(listed, statuses, str(dealer))
                counts[variant].append(
                    pd.DataFrame(
                        {"dealer_code": dealer, "period": period, "class": per_class.index, "vehicles": per_class}
                    )
                )
    empty = pd.DataFrame(columns=["dealer_code", "period", "class", "vehicles"])
    return (
        pd.concat(counts["period_end"], ignore_index=True) if counts["period_end"] else empty,
        pd.concat(counts["as_of_d"], ignore_index=True) if counts["as_of_d"] else empty,
    )


def report_oem_reconciliation(
    cur: psycopg2.extensions.cursor, world: sqlite3.Connection, orders: pd.DataFrame, vehicles: pd.DataFrame
) -> None:
    """Section 5: the mart's counts per class beside the world's, and where they differ."""
    as_of_d = model_date(cur, "oem_churn_reconciliation")
    if as_of_d is None:
        print("\n5. OEM RECONCILIATION: marts.oem_churn_reconciliation not built yet")
        return
    cur.execute(
        "select dealer_code, period, reconciliation_class, sum(vehicles)::bigint"
        " from marts.oem_churn_reconciliation group by 1, 2, 3"
    )
    stored = pd.DataFrame(cur.fetchall(), columns=["dealer_code", "period", "class", "vehicles"])
    at_end, at_d = world_reconciliation(world, orders, vehicles, as_of_d, dbt_var("kpi_months", 24))
    keys = ["dealer_code", "period", "class"]
    cells = (
        stored.merge(at_end, on=keys, how="outer", suffixes=("", "_end"))
        .merge(at_d, on=keys, how="outer", suffixes=("", "_d"))
        .fillna({"vehicles": 0, "vehicles_end": 0, "vehicles_d": 0})
    )
    print(f"\n5. OEM RECONCILIATION as of {as_of_d}: marts.oem_churn_reconciliation against the world")
    print(f"   periods compared: {', '.join(sorted(cells['period'].unique()))}")
    print("   the world's base and owners at the period's end (rules §2, §9: what the model reads) / as of D")
    header = f"{'warehouse':>9s} {'world@end':>9s} {'diff':>7s} {'cells≠':>7s} {'world@D':>9s} {'diff':>7s}"
    print(f"   {'class':24s} {header}")
    for name in CLASSES:
        rows = cells[cells["class"] == name]
        w, e, d = int(rows["vehicles"].sum()), int(rows["vehicles_end"].sum()), int(rows["vehicles_d"].sum())
        off = int((rows["vehicles"] != rows["vehicles_end"]).sum())
        print(f"   {name:24s} {w:9d} {e:9d} {w - e:+7d} {off:7d} {d:9d} {w - d:+7d}")
    off = cells[cells["vehicles"] != cells["vehicles_end"]]
    print(
        "   every cell recomputed exactly from the world, with the base at each period's end"
        if off.empty
        else f"   {len(off)} cells differ from the independent recomputation with the base at the period's end"
    )
    print("   (world@D - world@end: the vehicles sold or scrapped between the period's end and D)")
    if len(off):
        print("   the largest differences (dealer, period, class: warehouse vs world at the period's end):")
        worst = off.assign(gap=(off["vehicles"] - off["vehicles_end"]).abs()).nlargest(5, "gap")
        for _, row in worst.iterrows():
            print(
                f"     {row['dealer_code']} {row['period']} {row['class']}: "
                f"{int(row['vehicles'])} vs {int(row['vehicles_end'])}"
            )


# --- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", type=Path, default=get_settings().sim_world, help="the simulator's world.sqlite")
    args = parser.parse_args()
    with (
        contextlib.closing(open_world(args.world)) as world,
        contextlib.closing(psycopg2.connect(resolve_warehouse(start_embedded=True))) as conn,
        conn.cursor() as cur,
    ):
        # each statement its own read-only transaction: a replay's dbt build may replace the
        # tables read here meanwhile, and must not wait for this script to end
        conn.set_session(readonly=True, autocommit=True)
        cur.execute("select distinct business_date from etl.outreach_log order by 1")
        dates = [day for (day,) in cur.fetchall()]
        if not dates:
            raise SystemExit("no outreach log yet: run a replay first")
        print(f"replay dates {dates[0]} .. {dates[-1]} ({len(dates)} days), world {args.world}\n")
        log = latest_log(cur, [ACCIDENT_LEAD, RECALL_OPEN])
        vehicles = versions(world, "vehicles", ["customer_id", "dealer_code", "delivery_date", "status"])
        orders = versions(
            world,
            "repair_orders",
            [
                "dealer_code",
                "vin",
                "status",
                "service_type",
                "open_date",
                "close_date",
                "campaign_code",
                "insurance_claim_no",
            ],
        )
        population = accident_population(world_claims(world), dates, vehicles)
        report_accident_leads(population, log, vehicles, orders)
        cur.execute(REPAIRED_CLAIMS)
        report_called_leads(population, log, orders, {claim for (claim,) in cur.fetchall()})
        report_declined_work(cur, world, dbt_var("recapture_days", 90))
        report_recall_completion(cur, dates)
        report_recall_relisting(log, orders, world)
        report_oem_reconciliation(cur, world, orders, vehicles)


if __name__ == "__main__":
    main()
