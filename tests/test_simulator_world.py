"""The simulated dealer group: deterministic, shaped like the documents describe, and
served by the feed servers exactly as generated."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from typer.testing import CliRunner

from baoke.cli import app
from baoke_sim import store
from baoke_sim.dms_api import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DmsApi
from baoke_sim.identity import is_valid_vin, make_vins, vin_check_digit
from baoke_sim.oem_api import DEFAULT_API_KEY, OemApi
from baoke_sim.servers import ApiServer
from baoke_sim.world import Scale, Timeline, WorldGenerator, generate

BUSINESS_DATE = pd.Timestamp("2026-11-23")
EPOCH = dt.date(1970, 1, 1)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("world") / "world.sqlite"
    generate(path, "small", seed=7)
    return path


def latest(world: Path, entity: str, before: str = "2026-11-23T00:00:00+08:00") -> pd.DataFrame:
    """Each record's latest version visible before ``before`` (what a full extract sees)."""
    with sqlite3.connect(world) as conn:
        rows = conn.execute(
            "select record from (select record, row_number() over (partition by pk order by updated_at desc) as rn"
            " from dms_versions where entity = ? and visible_at < ?) where rn = 1",
            (entity, before),
        ).fetchall()
    return pd.DataFrame([json.loads(r[0]) for r in rows])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_same_seed_gives_a_byte_identical_world(world: Path, tmp_path: Path):
    again = tmp_path / "again.sqlite"
    generate(again, "small", seed=7)
    assert sha256(again) == sha256(world)
    other = tmp_path / "other.sqlite"
    generate(other, "small", seed=8)
    assert sha256(other) != sha256(world)


def test_vin_check_digits():
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"  # the textbook example
    vins = make_vins(np.random.default_rng(0), np.array([2019, 2021, 2024] * 100))
    assert all(is_valid_vin(v) for v in vins)
    assert not is_valid_vin("1M8GDM9A1KP042788")


def test_records_carry_exactly_the_contract_fields(world: Path):
    fields = {
        "dealers": "dealer_code name brand city province opened_date updated_at",
        "advisors": "advisor_id dealer_code name active role updated_at",
        "customers": "customer_id dealer_code name gender birth_date mobile city address consent_call consent_sms "
        "member_tier merged_into_customer_id created_at updated_at",
        "vehicles": "vin customer_id dealer_code brand model model_year plate_no delivery_date warranty_end_date "
        "warranty_end_km status sales_consultant_id updated_at",
        "repair_orders": "ro_number dealer_code vin customer_id advisor_id open_date close_date mileage_km "
        "service_type status labor_amount parts_amount total_amount appointment_id campaign_code "
        "insurance_claim_no updated_at",
        "appointments": "appointment_id dealer_code customer_id vin appointment_date slot source status "
        "created_at updated_at",
        "memberships": "card_no customer_id dealer_code tier points_balance points_expire_date updated_at",
        "campaigns": "campaign_code dealer_code name type start_date end_date cost_amount updated_at",
        "recommendations": "recommendation_id ro_number dealer_code vin customer_id advisor_id op_code description "
        "est_amount status defer_until done_ro_number created_at updated_at",
        "oem_recalls": "recall_code recall_name vin published_date remedy_available completed_date "
        "completed_dealer_code updated_at",
        "complaints": "complaint_id dealer_code customer_id vin ro_number source category severity opened_at "
        "first_response_at closed_at status updated_at",
    }
    with sqlite3.connect(world) as conn:
        for entity, names in fields.items():
            record = json.loads(
                conn.execute("select record from dms_versions where entity = ? limit 1", (entity,)).fetchone()[0]
            )
            assert list(record) == names.split(), entity


def test_people_and_vehicles_look_real(world: Path):
    customers = latest(world, "customers")
    vehicles = latest(world, "vehicles")
    assert customers["name"].str.fullmatch(r"[\u4e00-\u9fff]{2,4}").mean() > 0.99
    assert vehicles["vin"].map(is_valid_vin).all()
    assert vehicles["vin"].is_unique
    mobiles = customers["mobile"]
    clean = mobiles.dropna().str.fullmatch(r"1\d{10}")
    assert 0.7 < clean.sum() / len(mobiles) < 0.9, "most mobiles typed cleanly"
    assert mobiles.isna().any()
    assert (mobiles == "").any()
    assert mobiles.dropna().str.startswith("+86 ").any()
    local = (customers["city"] == "苏州市").mean()
    assert 0.7 < local < 0.9, "about 80% local customers"
    assert customers["merged_into_customer_id"].notna().any(), "duplicates merged in the DMS"
    assert (vehicles["status"] != "active").any(), "vehicles sold on"
    assert vehicles["customer_id"].str.startswith("N").any(), "vehicles sold on to new customers"


def test_churn_shape_matches_the_documents(world: Path):
    vehicles = latest(world, "vehicles")
    orders = latest(world, "repair_orders")
    visits = orders[(orders.status == "closed") & (orders.service_type != "PDI")]
    last = pd.to_datetime(visits.groupby("vin").close_date.max())
    active = vehicles[vehicles.status == "active"].copy()
    active["last"] = active.vin.map(last).fillna(pd.to_datetime(active.delivery_date))
    days = (BUSINESS_DATE - active["last"]).dt.days
    shares = pd.cut(days, [-1, 89, 179, 364, 10**6]).value_counts(normalize=True)
    assert (shares > 0.05).all(), f"each of 0-3, 3-6, 6-12, 12+ months is non-trivial: {shares.to_dict()}"
    age = (BUSINESS_DATE - pd.to_datetime(active.delivery_date)).dt.days / 365.25
    churn = (days >= 180).groupby(pd.cut(age, [0, 1, 3, 7])).mean()
    assert churn.is_monotonic_increasing, churn.to_dict()
    assert churn.iloc[-1] > churn.iloc[0] + 0.3, churn.to_dict()


def test_orders_land_on_duplicate_records_that_are_later_merged(world: Path):
    customers = latest(world, "customers").set_index("customer_id")
    orders = latest(world, "repair_orders")
    on_duplicate = orders[orders.customer_id.map(customers["merged_into_customer_id"]).notna()]
    assert len(on_duplicate) > 0, "some orders were opened on a duplicate customer record"
    assert set(orders.customer_id) <= set(customers.index) | set(latest(world, "customers", "2099-01-01").customer_id)
    assert (orders.service_type == "CAMPAIGN").any()
    assert orders[orders.service_type == "CAMPAIGN"].campaign_code.notna().all()


def test_recommendations_are_declined_or_deferred_and_some_done_on_a_later_visit(world: Path):
    recommendations = latest(world, "recommendations")
    orders = latest(world, "repair_orders").set_index("ro_number")
    assert set(recommendations.status) == {"declined", "deferred", "done"}
    deferred = recommendations[recommendations.status == "deferred"]
    assert (deferred.defer_until > deferred.created_at.str.slice(0, 10)).all()
    done = recommendations[recommendations.status == "done"]
    later = orders.loc[done.done_ro_number]
    assert (later.vin.to_numpy() == done.vin.to_numpy()).all()
    assert (later.open_date.to_numpy() > orders.loc[done.ro_number].close_date.to_numpy()).all()


def test_recalls_are_completed_at_the_group_with_their_code_elsewhere_or_not_at_all(world: Path):
    recalls = latest(world, "oem_recalls")
    orders = latest(world, "repair_orders")
    assert recalls.groupby("recall_code").vin.count().min() > 10
    done_here = recalls[recalls.completed_dealer_code == "D001"]
    redeemed = orders[orders.campaign_code.isin(recalls.recall_code.unique())]
    assert set(zip(done_here.recall_code, done_here.vin, strict=True)) <= set(
        zip(redeemed.campaign_code, redeemed.vin, strict=True)
    )
    assert recalls.completed_dealer_code.str.startswith("X").any(), "some remedies done at other brand dealers"
    assert recalls.completed_date.isna().any(), "some recalls still open"
    assert (~recalls.remedy_available).any(), "a recall whose parts are not there yet"


def test_some_writes_become_visible_late_never_early(world: Path):
    with sqlite3.connect(world) as conn:
        stamps = pd.read_sql("select entity, updated_at, visible_at from dms_versions", conn)
    updated = pd.to_datetime(stamps.updated_at.str.slice(0, 19))
    visible = pd.to_datetime(stamps.visible_at.str.slice(0, 19))
    delay = (visible - updated).dt.total_seconds()
    assert (delay >= 0).all(), "nothing is visible before it was written"
    late = delay[delay > 0]
    assert 0.002 < len(late) / len(delay) < 0.02, "about 1% of order and appointment writes land late"
    assert late.between(3600, 30 * 3600).all()
    assert set(stamps.entity[delay > 0]) == {"repair_orders", "appointments"}


def test_orders_open_then_close_and_some_are_void(world: Path):
    with sqlite3.connect(world) as conn:
        pairs = pd.read_sql(
            "select pk, updated_at, json_extract(record, '$.status') as status from dms_versions"
            " where entity = 'repair_orders' order by pk, updated_at",
            conn,
        )
    first = pairs.groupby("pk").status.first()
    final = pairs.groupby("pk").status.last()
    assert (first == "open").all()
    assert set(final) == {"closed", "void"}
    assert (final == "void").mean() < 0.03


def test_complaints_follow_visits_above_all_repeat_repairs_and_mostly_meet_the_service_levels(world: Path):
    complaints = latest(world, "complaints")
    orders = latest(world, "repair_orders")
    assert complaints["ro_number"].isin(orders["ro_number"]).all(), "each complaint is about a visit"
    visits = orders[(orders.status == "closed") & (orders.service_type != "PDI")]
    assert 0.005 < len(complaints) / len(visits) < 0.05
    repairs = visits[visits.service_type.isin(["REPAIR", "WARRANTY"])].sort_values(["vin", "open_date"])
    gap = pd.to_datetime(repairs.open_date) - pd.to_datetime(repairs.groupby("vin").close_date.shift())
    repeat = repairs[gap.dt.days <= 30]
    repeat_share = repeat.ro_number.isin(complaints.ro_number).mean()
    other_share = visits[~visits.ro_number.isin(repeat.ro_number)].ro_number.isin(complaints.ro_number).mean()
    assert repeat_share > 5 * other_share, "a repair that did not hold brings complaints"
    opened = pd.to_datetime(complaints.opened_at)
    answer = (pd.to_datetime(complaints.first_response_at) - opened).dt.total_seconds()
    close = (pd.to_datetime(complaints.closed_at) - opened).dt.total_seconds()
    assert 0.75 < (answer <= 3600).mean() < 0.95, "mostly answered within the hour, some late"
    assert complaints.first_response_at.isna().any(), "a few closed with no answer on record"
    assert 0.65 < (close <= 24 * 3600).mean() < 0.95
    assert (close.dropna() > 0).all()
    assert (complaints.status == "closed").mean() > 0.95, "all but the last days' are closed"


def test_the_dms_api_serves_the_world_as_of_its_clock(world: Path, tmp_path: Path):
    served = serve_all(world, "vehicles", "2026-11-23T00:00:00+08:00", tmp_path, dealer_code="D001")
    expected = latest(world, "vehicles")
    assert len(served) == len(expected)
    assert served["vin"].is_unique
    assert (served["updated_at"] < "2026-11-23T00:00:00+08:00").all()
    assert set(served["vin"]) == set(expected["vin"])


def test_the_oem_publishes_monthly_lists_on_the_third(world: Path, tmp_path: Path):
    with sqlite3.connect(world) as conn:
        lists = pd.read_sql("select period, generated_at, record from oem_lost_customers", conn)
    items = pd.DataFrame([json.loads(r) for r in lists.record])
    assert set(items.oem_status) == {"LOST", "AT_RISK"}
    assert (items.reason_hint == "SERVICED_AT_OTHER_DEALER").any()
    assert items.mobile_masked.str.fullmatch(r"1\d\d\*{4}\d{4}").all()
    published_day = lists.generated_at.str.slice(8, 10).astype(int)
    assert (published_day >= 3).all()
    assert lists.period.nunique() == 12
    copy = tmp_path / "oem.sqlite"
    copy.write_bytes(world.read_bytes())
    with sqlite3.connect(copy) as conn:
        store.set_meta(conn, clock="2026-11-02T00:00:00+08:00")
    with ApiServer(OemApi(copy)) as server:

        def ask(period):
            return requests.get(
                f"{server.url}/oem/v1/lost-customers",
                timeout=5,
                params={"dealer_code": "D001", "period": period},
                headers={"X-Api-Key": DEFAULT_API_KEY},
            )

        assert ask("2026-10").status_code == 404, "October is published on 3 November"
        september = ask("2026-09").json()
        assert september["total"] == (lists.period == "2026-09").sum() > 0


def test_cli_generates_and_moves_the_clock(tmp_path: Path):
    runner = CliRunner()
    path = tmp_path / "cli.sqlite"
    result = runner.invoke(app, ["simulate", "generate", "--world", str(path), "--seed", "3", "--until", "2026-11-30"])
    assert result.exit_code == 0, result.output
    assert "repair_orders" in result.output
    assert store.get_meta(path)["clock"] == "2026-11-30T00:00:00+08:00"
    result = runner.invoke(app, ["simulate", "advance", "--world", str(path), "--to", "2026-11-01"])
    assert result.exit_code == 0
    assert store.get_meta(path)["clock"] == "2026-11-01T00:00:00+08:00"
    result = runner.invoke(app, ["simulate", "advance", "--world", str(path), "--to", "2030-01-01"])
    assert result.exit_code == 2
    assert "the world spans" in result.output
    result = runner.invoke(app, ["simulate", "generate", "--world", str(path), "--scale", "huge"])
    assert result.exit_code == 2


# --- staff (feeds.md: advisors' role, vehicles' sales_consultant_id) ----------------------------


def serve_all(world: Path, entity: str, clock: str, tmp_path: Path, dealer_code: str | None = None) -> pd.DataFrame:
    """Every record of ``entity`` the DMS API serves at ``clock`` (for ``dealer_code``, or
    every dealer), read over HTTP page by page."""
    copy = tmp_path / f"served-{entity}.sqlite"
    copy.write_bytes(world.read_bytes())
    with sqlite3.connect(copy) as conn:
        store.set_meta(conn, clock=clock)
    with ApiServer(DmsApi(copy)) as server:
        token = requests.post(
            f"{server.url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
            },
            timeout=5,
        ).json()["access_token"]
        rows, cursor = [], None
        while True:
            params = {
                "limit": 1000,
                **({"dealer_code": dealer_code} if dealer_code else {}),
                **({"cursor": cursor} if cursor else {}),
            }
            page = requests.get(
                f"{server.url}/v1/{entity}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=10
            ).json()
            rows += page["data"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    return pd.DataFrame(rows)


def tenure(world: Path) -> pd.DataFrame:
    """Each staff member's role, first day and (if they left) last day, from all versions."""
    with sqlite3.connect(world) as conn:
        every = pd.DataFrame(
            [json.loads(r[0]) for r in conn.execute("select record from dms_versions where entity = 'advisors'")]
        )
    every["day"] = every["updated_at"].str[:10]
    joined = (
        every[every.active]
        .groupby("advisor_id")
        .agg(role=("role", "first"), dealer=("dealer_code", "first"), hired=("day", "min"))
    )
    left = every[~every.active].groupby("advisor_id")["day"].min().rename("left")
    return joined.join(left)


@pytest.fixture(scope="module")
def group(tmp_path_factory) -> Path:
    """A group of five small dealers (the medium world's shape, fewer customers)."""
    path = tmp_path_factory.mktemp("group") / "world.sqlite"
    conn = store.create(path, bulk=True)
    timeline = Timeline(start=(dt.date(2020, 12, 31) - EPOCH).days, until=(dt.date(2026, 12, 31) - EPOCH).days)
    WorldGenerator(conn, Scale(dealers=5, customers=2_500), seed=3, timeline=timeline).run()
    store.finish(conn)
    store.set_meta(
        conn, seed=3, scale="group", start="2020-12-31", until="2026-12-31", clock="2026-11-23T00:00:00+08:00"
    )
    conn.close()
    return path


def test_the_dms_serves_each_staff_members_role(world: Path, tmp_path: Path):
    served = serve_all(world, "advisors", "2026-11-23T00:00:00+08:00", tmp_path)
    assert set(served["role"]) == {"service_advisor", "sales_consultant", "followup_agent", "renewal_specialist"}
    active = served[served.active].groupby("role").size()
    assert 1 <= active["followup_agent"] <= 2
    assert 1 <= active["renewal_specialist"] <= 2
    assert (~served.groupby("role").active.all()).all(), "someone of every role has left"


def test_service_advisors_are_one_per_8_to_10_visits_a_day(world: Path):
    staff = tenure(world)
    orders = latest(world, "repair_orders")
    visits = orders[(orders.status == "closed") & (orders.service_type != "PDI") & (orders.open_date >= "2025-11-23")]
    per_day = len(visits) / 365
    on_duty = staff[(staff.role == "service_advisor") & staff.left.isna()]
    assert per_day / 10 - 1 <= len(on_duty) <= max(2, per_day / 8 + 1), (per_day, len(on_duty))


def test_visits_are_taken_by_a_service_advisor_on_duty_that_day(world: Path):
    staff = tenure(world)
    orders = latest(world, "repair_orders", "2099-01-01").join(staff, on="advisor_id")
    assert (orders.role == "service_advisor").all()
    assert (orders.hired <= orders.open_date).all()
    assert (orders.left.isna() | (orders.open_date < orders.left)).all()
    assert orders.advisor_id.nunique() > 2, "successors take over the posts of those who left"


def test_vehicles_carry_the_sales_consultant_who_sold_them(world: Path, tmp_path: Path):
    vehicles = serve_all(world, "vehicles", "2026-11-23T00:00:00+08:00", tmp_path)
    staff = tenure(world)
    sold_here = vehicles[vehicles.dealer_code.notna()].join(staff, on="sales_consultant_id")
    assert (sold_here.role == "sales_consultant").all()
    assert (
        (sold_here.hired <= sold_here.delivery_date)
        & (sold_here.left.isna() | (sold_here.delivery_date < sold_here.left))
    ).all()
    assert vehicles[vehicles.dealer_code.isna()].sales_consultant_id.isna().all(), (
        "bought elsewhere: nobody here sold it"
    )
    assert sold_here.left.notna().any(), "some cars' consultants have left since (the platform falls back)"


def test_a_group_staffs_each_dealer_and_leaves_some_without_a_role(group: Path):
    staff = tenure(group)
    on_duty = staff[staff.left.isna()]
    roles = on_duty.groupby("dealer").role.agg(set).to_dict()
    assert all({"service_advisor", "sales_consultant"} <= r for r in roles.values())
    assert "renewal_specialist" not in roles["D003"], "a dealer without a 续保专员 (renewals fall back)"
    assert "followup_agent" not in roles["D005"], "a dealer without a 回访员"
    assert sum("renewal_specialist" in r and "followup_agent" in r for r in roles.values()) == 3


def test_staffing_keeps_the_world_deterministic(group: Path, tmp_path: Path):
    again = tmp_path / "again.sqlite"
    conn = store.create(again, bulk=True)
    timeline = Timeline(start=(dt.date(2020, 12, 31) - EPOCH).days, until=(dt.date(2026, 12, 31) - EPOCH).days)
    WorldGenerator(conn, Scale(dealers=5, customers=2_500), seed=3, timeline=timeline).run()
    store.finish(conn)
    store.set_meta(
        conn, seed=3, scale="group", start="2020-12-31", until="2026-12-31", clock="2026-11-23T00:00:00+08:00"
    )
    conn.close()
    assert sha256(again) == sha256(group)


# --- memberships' points expiry ------------------------------------------------------------------


def test_some_members_points_have_expired_and_some_will(world: Path):
    cards = latest(world, "memberships")
    with_points = cards[cards.points_balance > 0]
    clock = BUSINESS_DATE.date().isoformat()
    expired = with_points[with_points.points_expire_date < clock]
    future = with_points[with_points.points_expire_date >= clock]
    assert len(expired) >= 20, "a balance whose expiry date has passed (the DMS clears it only at the next visit)"
    assert len(future) >= 20
    assert with_points.points_expire_date.notna().all()
