"""Contract tests of the simulated DMS and OEM APIs (docs/feeds.md §1 and §3).

Each test starts a real HTTP server on a free port over a tiny hand-made world and talks
to it with ``requests``, exactly as an extractor would: if these pass, an extractor
written against the simulators sees what feeds.md promises of the real systems.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import requests

from baoke_sim.dms_api import (
    BAD_UPDATED_AT,
    ENTITIES,
    PRIMARY_KEYS,
    DmsApi,
    damaged,
    decode_cursor,
    encode_cursor,
    with_separators,
)
from baoke_sim.faults import Fault, FaultPlan, FaultRule, record_faults
from baoke_sim.oem_api import OemApi, publication_time
from baoke_sim.servers import ApiServer, normalise_timestamp

CLIENT_ID, CLIENT_SECRET, API_KEY = "test-client", "test-secret", "test-oem-key"
CLOCK = "2026-11-21T00:00:00+08:00"

CUSTOMER_FIELDS = {
    "customer_id", "dealer_code", "name", "gender", "birth_date", "mobile", "city", "address",
    "consent_call", "consent_sms", "member_tier", "merged_into_customer_id", "created_at", "updated_at",
}  # fmt: skip
OEM_ITEM_FIELDS = {
    "vin", "customer_name", "mobile_masked", "last_service_dealer_code", "last_service_date",
    "oem_status", "reason_hint",
}  # fmt: skip


# --- the tiny world ----------------------------------------------------------------------


def ts(day_time: str) -> str:
    """``"11-05T08:00:00"`` → ``"2026-11-05T08:00:00+08:00"``."""
    return f"2026-{day_time}+08:00"


def customer(pk: str, dealer: str, updated_at: str, name: str = "张三") -> dict[str, Any]:
    return {
        "customer_id": pk, "dealer_code": dealer, "name": name, "gender": "M",
        "birth_date": None, "mobile": "+86 138-0013-8000", "city": "杭州", "address": "西湖区",
        "consent_call": True, "consent_sms": False, "member_tier": None,
        "merged_into_customer_id": None, "created_at": ts("01-01T09:00:00"), "updated_at": updated_at,
    }  # fmt: skip


# (pk, dealer, updated_at, visible_at or None = same as updated_at, name)
CUSTOMER_VERSIONS = [
    ("C001", "D001", ts("11-01T10:00:00"), None, "张三"),
    ("C001", "D001", ts("11-10T09:00:00"), None, "张三丰"),  # v2 replaces v1
    ("C002", "D001", ts("11-05T08:00:00"), None, "李四"),
    ("C003", "D002", ts("11-05T08:00:00"), None, "王五"),  # same updated_at as C002
    ("C004", "D001", ts("11-20T23:00:00"), ts("11-21T02:00:00"), "赵六"),  # late write
    ("C005", "D001", ts("11-15T12:00:00"), None, "钱七"),
    ("C005", "D001", ts("11-25T12:00:00"), None, "钱七七"),  # future version
    ("C006", "D002", ts("11-02T08:00:00"), None, "孙八"),
    ("C006", "D002", ts("11-19T12:00:00"), ts("11-22T00:00:00"), "孙八八"),  # late v2
    ("C007", "D001", ts("10-31T23:59:59"), None, "周九"),
]
#: What /v1/customers shows at CLOCK, in (updated_at, pk) order.
VISIBLE_AT_CLOCK = ["C007", "C006", "C002", "C003", "C001", "C005"]


def oem_item(vin: str) -> dict[str, Any]:
    return {
        "vin": vin, "customer_name": "张*", "mobile_masked": "138****8000",
        "last_service_dealer_code": "D009", "last_service_date": "2026-03-01",
        "oem_status": "LOST", "reason_hint": "SERVICED_AT_OTHER_DEALER",
    }  # fmt: skip


# (dealer, period, generated_at, number of items)
OEM_LISTS = [
    ("D001", "2026-10", ts("11-03T00:00:00"), 3),
    ("D002", "2026-09", ts("11-25T00:00:00"), 2),  # published very late: not yet at CLOCK
]


def recall(vin: str, updated_at: str, completed: str | None = None) -> dict[str, Any]:
    return {
        "recall_code": "RC-01", "recall_name": "燃油泵召回", "vin": vin, "published_date": "2026-11-01",
        "remedy_available": completed is not None or updated_at > ts("11-05"), "completed_date": completed,
        "completed_dealer_code": "D001" if completed else None, "updated_at": updated_at,
    }  # fmt: skip


# (vin, dealer, updated_at, visible_at or None, completed_date): versions of recall items
RECALL_VERSIONS = [
    ("V1", "D001", ts("11-01T10:00:00"), None, None),
    ("V1", "D001", ts("11-12T10:00:00"), None, "2026-11-10"),  # completed: replaces the first
    ("V2", "D001", ts("11-01T10:00:00"), None, None),
    ("V3", "D001", ts("11-01T10:00:00"), None, None),
    ("V3", "D001", ts("11-06T09:00:00"), None, None),  # remedy available
    ("V4", "D001", ts("11-20T23:00:00"), ts("11-21T03:00:00"), None),  # visible after the clock
    ("V5", "D002", ts("11-02T10:00:00"), None, None),  # another dealer's
]


def set_clock(world: Path, clock: str) -> None:
    with sqlite3.connect(world) as conn:
        conn.execute("insert or replace into meta (key, value) values ('clock', ?)", (clock,))


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """A world.sqlite with two dealers, ten customer versions and two OEM lists."""
    path = tmp_path / "world.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(files("baoke_sim").joinpath("schema.sql").read_text())
        for code in ("D001", "D002"):
            dealer = {"dealer_code": code, "name": f"{code} 4S", "brand": "BK", "city": "杭州",
                      "province": "浙江", "opened_date": "2015-05-01", "updated_at": ts("01-01T00:00:00")}  # fmt: skip
            insert_version(conn, "dealers", code, code, dealer["updated_at"], None, dealer)
        for pk, dealer, updated_at, visible_at, name in CUSTOMER_VERSIONS:
            record = customer(pk, dealer, updated_at, name)
            insert_version(conn, "customers", pk, dealer, updated_at, visible_at, record)
        for vin, dealer, updated_at, visible_at, completed in RECALL_VERSIONS:
            record = recall(vin, updated_at, completed)
            insert_version(conn, "oem_recalls", f"RC-01|{vin}", dealer, updated_at, visible_at, record)
        for dealer, period, generated_at, count in OEM_LISTS:
            for n in range(1, count + 1):
                conn.execute(
                    "insert into oem_lost_customers values (?, ?, ?, ?, ?)",
                    (dealer, period, generated_at, n, json.dumps(oem_item(f"LVIN{dealer}{period}{n:05d}"))),
                )
    set_clock(path, CLOCK)
    return path


def insert_version(conn, entity, pk, dealer, updated_at, visible_at, record) -> None:
    conn.execute(
        "insert into dms_versions values (?, ?, ?, ?, ?, ?)",
        (entity, pk, dealer, updated_at, visible_at or updated_at, json.dumps(record, ensure_ascii=False)),
    )


# --- servers and client helpers ------------------------------------------------------------


@pytest.fixture
def serve(world: Path) -> Iterator[Callable[..., str]]:
    """``serve("dms" | "oem", faults=...)`` starts a server over the world; returns its URL."""
    with ExitStack() as stack:

        def start(kind: str, faults: FaultPlan | None = None) -> str:
            if kind == "dms":
                api = DmsApi(world, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, faults=faults)
            else:
                api = OemApi(world, api_key=API_KEY, faults=faults)
            return stack.enter_context(ApiServer(api)).url

        yield start


@pytest.fixture
def dms(serve: Callable[..., str]) -> str:
    return serve("dms")


@pytest.fixture
def oem(serve: Callable[..., str]) -> str:
    return serve("oem")


def get_token(url: str) -> str:
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    response = requests.post(f"{url}/oauth/token", data=form, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def list_page(url: str, token: str, entity: str = "customers", timeout: float = 5, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(f"{url}/v1/{entity}", params=params, headers=headers, timeout=timeout)


def list_all(
    url: str, token: str, entity: str = "customers", cursor: str | None = None, **params: Any
) -> list[dict[str, Any]]:
    """Every row of a listing from ``cursor`` on, following next_cursor (no fault handling)."""
    rows: list[dict[str, Any]] = []
    while True:
        body = list_page(url, token, entity, **params, **({"cursor": cursor} if cursor else {})).json()
        rows += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


def pks(rows: list[dict[str, Any]], key: str = "customer_id") -> list[str]:
    return [row[key] for row in rows]


def oem_get(url: str, key: str | None = API_KEY, path: str = "lost-customers", **params: Any) -> requests.Response:
    headers = {"X-Api-Key": key} if key is not None else {}
    return requests.get(f"{url}/oem/v1/{path}", params=params, headers=headers, timeout=5)


# --- DMS: auth -----------------------------------------------------------------------------


def test_token_endpoint_answers_a_bearer_token(dms: str) -> None:
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    response = requests.post(f"{dms}/oauth/token", data=form, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["access_token"], str)
    assert len(body["access_token"]) >= 32
    assert get_token(dms) != body["access_token"]


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "wrong"},
        {"grant_type": "client_credentials", "client_id": "someone", "client_secret": CLIENT_SECRET},
        {"grant_type": "client_credentials"},
    ],
)
def test_bad_credentials_get_401(dms: str, form: dict[str, str]) -> None:
    response = requests.post(f"{dms}/oauth/token", data=form, timeout=5)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


def test_a_grant_type_other_than_client_credentials_is_refused(dms: str) -> None:
    form = {"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    response = requests.post(f"{dms}/oauth/token", data=form, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}])
def test_listing_without_a_valid_bearer_token_gets_401_invalid_token(dms: str, headers: dict[str, str]) -> None:
    response = requests.get(f"{dms}/v1/customers", headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# --- DMS: listing --------------------------------------------------------------------------


def test_listing_shape_and_records_verbatim(dms: str) -> None:
    response = list_page(dms, get_token(dms))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert set(body) == {"data", "next_cursor"}
    assert body["next_cursor"] is None
    for row in body["data"]:
        assert set(row) == CUSTOMER_FIELDS
    c001 = next(row for row in body["data"] if row["customer_id"] == "C001")
    assert c001 == customer("C001", "D001", ts("11-10T09:00:00"), "张三丰")


def test_paging_with_a_small_limit_yields_every_row_once_in_order(dms: str) -> None:
    token = get_token(dms)
    first = list_page(dms, token, limit=2).json()
    assert len(first["data"]) == 2
    assert isinstance(first["next_cursor"], str)
    rows = list_all(dms, token, limit=2)
    assert pks(rows) == VISIBLE_AT_CLOCK
    assert [(r["updated_at"], r["customer_id"]) for r in rows] == sorted(
        (r["updated_at"], r["customer_id"]) for r in rows
    )
    assert pks(list_all(dms, token, limit=1)) == VISIBLE_AT_CLOCK
    assert pks(list_page(dms, token, limit=1000).json()["data"]) == VISIBLE_AT_CLOCK


def test_last_full_page_has_a_null_cursor(dms: str) -> None:
    token = get_token(dms)
    body = list_page(dms, token, limit=len(VISIBLE_AT_CLOCK)).json()
    assert len(body["data"]) == len(VISIBLE_AT_CLOCK)
    assert body["next_cursor"] is None


def test_window_is_inclusive_since_exclusive_until(dms: str) -> None:
    token = get_token(dms)
    at = ts("11-05T08:00:00")  # C002 and C003 were updated exactly then
    assert pks(list_all(dms, token, updated_since=at)) == ["C002", "C003", "C001", "C005"]
    assert pks(list_all(dms, token, updated_until=at)) == ["C007", "C006"]
    window = {"updated_since": ts("11-01T00:00:00"), "updated_until": ts("11-10T09:00:00")}
    assert pks(list_all(dms, token, **window)) == ["C006", "C002", "C003"]


def test_window_accepts_any_offset(dms: str) -> None:
    token = get_token(dms)
    expected = ["C002", "C003", "C001", "C005"]
    assert pks(list_all(dms, token, updated_since="2026-11-05T00:00:00Z")) == expected
    assert pks(list_all(dms, token, updated_since="2026-11-05T01:00:00+01:00")) == expected


def test_dealer_filter_and_dealers_ignore_it(dms: str) -> None:
    token = get_token(dms)
    assert pks(list_all(dms, token, dealer_code="D002")) == ["C006", "C003"]
    assert pks(list_all(dms, token, dealer_code="D001", limit=1)) == ["C007", "C002", "C001", "C005"]
    dealers = list_all(dms, token, "dealers", dealer_code="D001")
    assert pks(dealers, "dealer_code") == ["D001", "D002"]


def test_clock_hides_future_versions_and_late_writes_until_it_passes_them(dms: str, world: Path) -> None:
    token = get_token(dms)
    rows = {r["customer_id"]: r for r in list_all(dms, token)}
    assert "C004" not in rows  # updated 11-20 23:00, visible only from 11-21 02:00
    assert rows["C005"]["name"] == "钱七"  # v2 is dated 11-25
    assert rows["C006"]["name"] == "孙八"  # v2 (11-19) becomes visible only on 11-22

    set_clock(world, "2026-11-23")  # no restart: the clock is read per request
    rows_after = list_all(dms, token)
    assert pks(rows_after) == ["C007", "C002", "C003", "C001", "C005", "C006", "C004"]
    by_pk = {r["customer_id"]: r for r in rows_after}
    assert by_pk["C006"]["name"] == "孙八八"
    assert by_pk["C006"]["updated_at"] == ts("11-19T12:00:00")
    # the late write lands in a window an extractor may already have read: hence the lookback
    late = list_all(dms, token, updated_since=ts("11-20T00:00:00"), updated_until=ts("11-21T00:00:00"))
    assert pks(late) == ["C004"]


@pytest.mark.parametrize("limit", ["0", "1001", "abc", "-5"])
def test_limit_out_of_range_is_400(dms: str, limit: str) -> None:
    response = list_page(dms, get_token(dms), limit=limit)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_parameter"


@pytest.mark.parametrize("cursor", ["garbage!", encode_cursor("x", "y")[:-3], "bnVsbA"])
def test_a_cursor_not_from_the_api_is_400(dms: str, cursor: str) -> None:
    response = list_page(dms, get_token(dms), cursor=cursor)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_cursor"


def test_cursor_roundtrip() -> None:
    assert decode_cursor(encode_cursor(ts("11-05T08:00:00"), "C002")) == (ts("11-05T08:00:00"), "C002")


@pytest.mark.parametrize("value", ["2026-11-05T08:00:00", "2026-11-05", "yesterday"])
def test_a_timestamp_without_offset_is_400(dms: str, value: str) -> None:
    response = list_page(dms, get_token(dms), updated_since=value)
    assert response.status_code == 400
    assert "updated_since" in response.json()["message"]


def test_an_unencoded_plus_is_400_with_a_hint(dms: str) -> None:
    headers = {"Authorization": f"Bearer {get_token(dms)}"}
    response = requests.get(f"{dms}/v1/customers?updated_since=2026-11-05T08:00:00+08:00", headers=headers, timeout=5)
    assert response.status_code == 400
    assert "%2B" in response.json()["message"]


def test_unknown_entity_and_path_are_404_json(dms: str) -> None:
    token = get_token(dms)
    response = list_page(dms, token, "invoices")
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_entity"
    response = requests.get(f"{dms}/v2/customers", timeout=5)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_normalise_timestamp() -> None:
    assert normalise_timestamp("2026-11-20T16:00:00Z") == "2026-11-21T00:00:00+08:00"
    assert normalise_timestamp("2026-11-21", allow_date=True) == "2026-11-21T00:00:00+08:00"
    for value in ("2026-11-21T00:00:00", "2026-11-21"):
        with pytest.raises(ValueError, match="without offset"):
            normalise_timestamp(value)


# --- DMS: faults ---------------------------------------------------------------------------


def on_customers(fault: Fault, nth: int) -> FaultPlan:
    return FaultPlan.script(FaultRule(fault, path="/v1/customers", nth=nth))


def test_429_with_retry_after_then_the_retry_succeeds(serve: Callable[..., str]) -> None:
    url = serve("dms", on_customers(Fault.rate_limited(retry_after=1), nth=3))
    token = get_token(url)
    assert list_page(url, token).status_code == 200
    assert list_page(url, token).status_code == 200
    response = list_page(url, token)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json() == {"error": "rate_limited"}
    assert list_page(url, token).status_code == 200


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_answer_json(serve: Callable[..., str], status: int) -> None:
    url = serve("dms", on_customers(Fault.error(status), nth=1))
    token = get_token(url)
    response = list_page(url, token)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    assert "error" in response.json()
    assert list_page(url, token).status_code == 200


def test_a_stall_outlasts_the_client_timeout(serve: Callable[..., str]) -> None:
    url = serve("dms", on_customers(Fault.stall(1.5), nth=1))
    token = get_token(url)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        list_page(url, token, timeout=0.5)
    assert time.monotonic() - started < 1.4
    assert list_page(url, token, timeout=0.5).status_code == 200


def test_token_expires_in_the_middle_of_a_paging_loop(serve: Callable[..., str]) -> None:
    url = serve("dms", on_customers(Fault.token_expired(), nth=2))
    token = get_token(url)
    first = list_page(url, token, limit=2).json()
    cursor = first["next_cursor"]

    expired = list_page(url, token, limit=2, cursor=cursor)
    assert expired.status_code == 401
    assert expired.json() == {"error": "token_expired"}
    again = list_page(url, token, limit=2, cursor=cursor)  # the old token stays expired
    assert again.status_code == 401
    assert again.json() == {"error": "token_expired"}

    fresh = get_token(url)
    rest = list_all(url, fresh, limit=2, cursor=cursor)
    assert pks(first["data"] + rest) == VISIBLE_AT_CLOCK


def test_a_page_served_twice_after_a_retry(serve: Callable[..., str]) -> None:
    plan = FaultPlan.script(
        FaultRule(Fault.error(503), path="/v1/customers", nth=3),
        FaultRule(Fault.repeat_page(), path="/v1/customers", nth=4),
    )
    url = serve("dms", plan)
    token = get_token(url)
    page1 = list_page(url, token, limit=2).json()
    page2 = list_page(url, token, limit=2, cursor=page1["next_cursor"]).json()
    assert list_page(url, token, limit=2, cursor=page2["next_cursor"]).status_code == 503
    retried = list_page(url, token, limit=2, cursor=page2["next_cursor"]).json()
    assert retried == page2  # the previous page again, cursor included
    rest = list_all(url, token, limit=2, cursor=retried["next_cursor"])
    seen = pks(page1["data"] + page2["data"] + retried["data"] + rest)
    assert len(seen) == len(VISIBLE_AT_CLOCK) + 2
    assert list(dict.fromkeys(seen)) == VISIBLE_AT_CLOCK  # deduplicated: every row once


def test_repeat_page_never_applies_to_a_first_page(serve: Callable[..., str]) -> None:
    url = serve("dms", on_customers(Fault.repeat_page(), nth=1))
    assert pks(list_page(url, get_token(url)).json()["data"]) == VISIBLE_AT_CLOCK


def test_random_faults_are_deterministic_per_seed() -> None:
    def run(plan: FaultPlan) -> list[Fault | None]:
        return [plan.next_fault("/v1/customers") for _ in range(200)]

    first = run(FaultPlan.random(0.3, seed=7))
    assert first == run(FaultPlan.random(0.3, seed=7))
    assert first != run(FaultPlan.random(0.3, seed=8))
    assert 30 < sum(f is not None for f in first) < 90
    assert {f.kind for f in first if f} == {
        "error", "stall", "token_expired", "repeat_page", "html_body", "truncated_body", "short_page",
    }, "every transient kind, and only those"  # fmt: skip
    assert set(run(FaultPlan.random(0.0))) == {None}
    assert None not in run(FaultPlan.random(1.0))
    assert FaultPlan.random(1.0, path="/v1/").next_fault("/oauth/token") is None


def test_scripted_rules_count_requests_per_path() -> None:
    plan = FaultPlan.script(FaultRule(Fault.error(500), path="/v1/", nth=2))
    assert plan.next_fault("/v1/customers") is None
    assert plan.next_fault("/v1/vehicles") is None  # first request to this path
    assert plan.next_fault("/v1/customers") == Fault.error(500)
    assert plan.requests_to("/v1/customers") == 2


def test_a_fault_scripted_mid_run_goes_to_the_next_request_to_its_path() -> None:
    plan = FaultPlan.random(0.0)
    assert [plan.next_fault("/v1/customers") for _ in range(3)] == [None] * 3
    plan.script_next("/v1/customers", Fault.late_change())
    assert plan.next_fault("/v1/vehicles") is None, "another path's request is not it"
    assert plan.next_fault("/v1/customers") == Fault.late_change()
    assert plan.next_fault("/v1/customers") is None, "once"


def test_a_page_with_a_record_whose_updated_at_is_unparseable(serve: Callable[..., str]) -> None:
    url = serve("dms", on_customers(Fault.bad_record("bad_updated_at", row=1), nth=2))
    token = get_token(url)
    page1 = list_page(url, token, limit=2).json()
    response = list_page(url, token, limit=2, cursor=page1["next_cursor"])
    assert response.status_code == 200
    page2 = response.json()
    bad = page2["data"][1]
    assert bad["updated_at"] == BAD_UPDATED_AT
    with pytest.raises(ValueError, match="out of range"):  # the zero date, year 0
        normalise_timestamp(bad["updated_at"])
    assert set(bad) == CUSTOMER_FIELDS, "only updated_at is damaged"
    assert bad["customer_id"] == VISIBLE_AT_CLOCK[3], "only updated_at is damaged"
    assert all(normalise_timestamp(r["updated_at"]) for r in page1["data"] + page2["data"][:1])
    rest = list_all(url, token, limit=2, cursor=page2["next_cursor"])  # paging goes on
    assert pks(page1["data"] + page2["data"] + rest) == VISIBLE_AT_CLOCK
    clean = list_page(url, token, limit=2, cursor=page1["next_cursor"]).json()
    assert clean["data"][1]["updated_at"] != BAD_UPDATED_AT, "only that answer was damaged"
    assert clean["data"][0] == page2["data"][0]
    assert clean["next_cursor"] == page2["next_cursor"]


def test_a_page_with_a_record_whose_primary_key_is_null(serve: Callable[..., str]) -> None:
    plan = FaultPlan.script(
        FaultRule(Fault.bad_record("null_pk", row=99), path="/v1/customers", nth=1),
        FaultRule(Fault.repeat_page(), path="/v1/customers", nth=2),
    )
    url = serve("dms", plan)
    token = get_token(url)
    page1 = list_page(url, token, limit=3).json()
    assert [r["customer_id"] for r in page1["data"]] == [*VISIBLE_AT_CLOCK[:2], None], "row clamped to the last"
    assert page1["data"][2]["name"] == "李四"
    assert page1["data"][2]["updated_at"] == ts("11-05T08:00:00")
    repeated = list_page(url, token, limit=3, cursor=page1["next_cursor"]).json()  # page 1 served again
    assert pks(repeated["data"]) == VISIBLE_AT_CLOCK[:3], "the remembered page is the clean one"
    assert repeated["next_cursor"] == page1["next_cursor"]
    rest = list_all(url, token, limit=3, cursor=repeated["next_cursor"])
    assert pks(rest) == VISIBLE_AT_CLOCK[3:]


def test_bad_record_faults_are_scriptable_and_not_random_defaults(serve: Callable[..., str]) -> None:
    assert set(PRIMARY_KEYS) == set(ENTITIES)
    assert Fault.bad_record() == Fault("bad_record", damage="bad_updated_at", row=0)
    with pytest.raises(ValueError, match="damage must be"):
        Fault.bad_record("on_fire")  # type: ignore[arg-type]
    assert {rule.fault.kind for rule in FaultPlan.random(1.0).rules}.isdisjoint({"bad_record", "late_change"})
    url = serve("dms", FaultPlan.script(FaultRule(Fault.bad_record("null_pk"), path="/v1/dealers", nth=1)))
    dealers = list_page(url, get_token(url), entity="dealers").json()["data"]
    assert [d["dealer_code"] for d in dealers] == [None, "D002"]
    oem = serve("oem", FaultPlan.script(FaultRule(Fault.bad_record(), path="/oem/v1/lost-customers", nth=1)))
    items = oem_get(oem, dealer_code="D001", period="2026-10").json()["items"]
    assert items == [oem_item(f"LVIND0012026-10{n:05d}") for n in range(1, 4)], "the OEM ignores it"


def assert_gateway_page(response: requests.Response) -> None:
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.content.startswith(b"<!DOCTYPE html>")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()


def test_a_gateway_answers_200_with_its_html_error_page(serve: Callable[..., str]) -> None:
    plan = FaultPlan.script(
        FaultRule(Fault.html_body(), path="/oauth/token", nth=1),
        FaultRule(Fault.html_body(), path="/v1/customers", nth=2),
    )
    url = serve("dms", plan)
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    assert_gateway_page(requests.post(f"{url}/oauth/token", data=form, timeout=5))
    token = get_token(url)
    assert list_page(url, token).status_code == 200
    assert_gateway_page(list_page(url, token))
    assert pks(list_page(url, token).json()["data"]) == VISIBLE_AT_CLOCK, "the next answer is the API's again"


def test_a_body_cut_short_by_a_dropped_connection(serve: Callable[..., str]) -> None:
    url = serve("dms", on_customers(Fault.truncated_body(share=0.5), nth=1))
    token = get_token(url)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):  # Content-Length promised more
        list_page(url, token)
    assert pks(list_page(url, token).json()["data"]) == VISIBLE_AT_CLOCK


def test_a_body_cut_short_but_served_as_complete(serve: Callable[..., str]) -> None:
    url = serve("dms", on_customers(Fault.truncated_body(share=0.3, whole_length=False), nth=2))
    token = get_token(url)
    whole = list_page(url, token).content
    cut = list_page(url, token)
    assert cut.status_code == 200
    assert int(cut.headers["Content-Length"]) == len(cut.content) == int(len(whole) * 0.3)
    assert whole.startswith(cut.content)
    with pytest.raises(requests.exceptions.JSONDecodeError):
        cut.json()


def damaged_customer(serve: Callable[..., str], fault: Fault) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the record as damaged on the first page, the same record asked again)."""
    url = serve("dms", on_customers(fault, nth=1))
    token = get_token(url)
    bad = list_page(url, token).json()["data"][fault.row]
    return bad, list_page(url, token).json()["data"][fault.row]


def test_a_field_renamed_by_a_dms_upgrade(serve: Callable[..., str]) -> None:
    bad, clean = damaged_customer(serve, Fault.bad_record("renamed_field", row=2))
    assert "mobile" not in bad
    assert bad["phone"] == clean["mobile"] == "+86 138-0013-8000"
    assert list(bad) == ["phone" if name == "mobile" else name for name in clean], "same place, new name"
    renamed, _ = damaged_customer(serve, Fault.bad_record("renamed_field", field="city", to="city_name"))
    assert renamed["city_name"] == "杭州"
    assert "city" not in renamed


def test_a_null_updated_at_and_an_unannounced_field(serve: Callable[..., str]) -> None:
    bad, clean = damaged_customer(serve, Fault.bad_record("null_updated_at", row=1))
    assert bad == {**clean, "updated_at": None}
    bad, clean = damaged_customer(serve, Fault.bad_record("unannounced_field"))
    assert bad == {**clean, "dms_build": "5.2.0"}
    assert set(clean) == CUSTOMER_FIELDS


def test_a_number_with_a_thousands_separator(serve: Callable[..., str], world: Path) -> None:
    order = {"ro_number": "RO1", "dealer_code": "D001", "mileage_km": 12345, "updated_at": ts("11-06T10:00:00")}
    with sqlite3.connect(world) as conn:
        insert_version(conn, "repair_orders", "RO1", "D001", order["updated_at"], None, order)
    url = serve("dms", FaultPlan.script(FaultRule(Fault.bad_record("bad_number"), path="/v1/repair_orders", nth=1)))
    token = get_token(url)
    assert list_page(url, token, "repair_orders").json()["data"] == [{**order, "mileage_km": "12,345"}]
    assert list_page(url, token, "repair_orders").json()["data"] == [order]
    assert with_separators("1234.50") == "1,234.50"
    assert with_separators(7) == "12,000", "always a separator"
    assert damaged({"dealer_code": "D001"}, "dealers", Fault.bad_record("bad_number")) == {"dealer_code": "D001"}


def test_a_late_change_is_dated_before_the_windows_already_read(serve: Callable[..., str], world: Path) -> None:
    url = serve("dms", on_customers(Fault.late_change(days=10), nth=1))
    token = get_token(url)
    recent = list_page(url, token, updated_since=ts("11-15T00:00:00")).json()["data"]
    assert pks(recent) == ["C005"], "the answer the change happened during is unchanged"
    # C001 was the record changed most recently before CLOCK - 10 days: it changes now,
    # dated then, so a window reading from 11-15 never shows it, a deeper one does.
    assert pks(list_page(url, token, updated_since=ts("11-15T00:00:00")).json()["data"]) == ["C005"]
    everything = list_page(url, token).json()["data"]
    assert pks(everything) == VISIBLE_AT_CLOCK
    late = everything[VISIBLE_AT_CLOCK.index("C001")]
    assert late == customer("C001", "D001", ts("11-11T00:00:00"), "张三丰")
    window = list_page(url, token, updated_since=ts("11-11T00:00:00"), updated_until=ts("11-11T00:00:01"))
    assert window.json()["data"] == [late]
    assert pks(list_page(url, token, updated_until=ts("11-11T00:00:00")).json()["data"]) == [
        "C007", "C006", "C002", "C003",
    ], "the version it replaced is gone"  # fmt: skip
    paged = list_all(url, token, limit=2)
    assert paged == everything, "cursors page through the late version too"
    newer = customer("C001", "D001", ts("11-20T08:00:00"), "新")
    with sqlite3.connect(world) as conn:  # a later change in the DMS replaces the late one
        insert_version(conn, "customers", "C001", "D001", newer["updated_at"], None, newer)
    assert [r["name"] for r in list_page(url, token).json()["data"] if r["customer_id"] == "C001"] == ["新"]


def test_record_faults_are_drawn_only_when_asked() -> None:
    plan = FaultPlan.random(0.0, seed=3, record_rate=1.0)
    drawn = {plan.next_fault("/v1/customers") for _ in range(300)}
    assert drawn == set(record_faults())
    assert {f.damage for f in drawn if f} == {
        "bad_updated_at", "null_pk", "null_updated_at", "renamed_field", "bad_number", "unannounced_field", None,
    }  # fmt: skip
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultPlan.random(0.8, record_rate=0.3)


def test_a_replay_turns_faults_on_through_the_environment(world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert DmsApi(world).faults.rules == [], "no faults unless asked"
    monkeypatch.setenv("BAOKE_SIM_RECORD_FAULT_RATE", "0.03")
    monkeypatch.setenv("BAOKE_SIM_FAULT_SEED", "9")
    plan = DmsApi(world).faults
    assert {rule.fault for rule in plan.rules} == set(record_faults())
    assert sum(rule.rate for rule in plan.rules) == pytest.approx(0.03)
    assert plan.seed == 9
    monkeypatch.setenv("BAOKE_SIM_FAULT_RATE", "0.1")
    assert sum(rule.rate for rule in OemApi(world).faults.rules) == pytest.approx(0.13)


# --- OEM -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "wrong-key", ""])
def test_oem_bad_or_missing_key_is_403(oem: str, key: str | None) -> None:
    response = oem_get(oem, key, dealer_code="D001", period="2026-10")
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("application/json")
    assert "error" in response.json()


def test_oem_published_list_shape_and_paging(oem: str) -> None:
    first = oem_get(oem, dealer_code="D001", period="2026-10", page=1, page_size=2)
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"dealer_code", "period", "generated_at", "page", "page_size", "total", "items"}
    assert body["dealer_code"] == "D001"
    assert body["period"] == "2026-10"
    assert body["generated_at"] == ts("11-03T00:00:00")
    assert (body["page"], body["page_size"], body["total"]) == (1, 2, 3)
    assert all(set(item) == OEM_ITEM_FIELDS for item in body["items"])
    second = oem_get(oem, dealer_code="D001", period="2026-10", page=2, page_size=2).json()
    beyond = oem_get(oem, dealer_code="D001", period="2026-10", page=3, page_size=2).json()
    vins = [item["vin"] for item in body["items"] + second["items"]]
    assert vins == [f"LVIND0012026-10{n:05d}" for n in (1, 2, 3)]
    assert (beyond["total"], beyond["items"]) == (3, [])
    default = oem_get(oem, dealer_code="D001", period="2026-10").json()
    assert (default["page"], default["page_size"], len(default["items"])) == (1, 1000, 3)


def test_oem_recalls_show_each_items_latest_version_in_the_window_paged_to_total(oem: str) -> None:
    def vins(**params: Any) -> tuple[int, list[str]]:
        body = oem_get(oem, path="recalls", dealer_code="D001", **params).json()
        return body["total"], [item["vin"] for item in body["items"]]

    first = oem_get(oem, path="recalls", dealer_code="D001", page_size=2).json()
    assert set(first) == {"dealer_code", "page", "page_size", "total", "items"}
    assert (first["page"], first["page_size"], first["total"]) == (1, 2, 3)
    assert [item["vin"] for item in first["items"]] == ["V2", "V3"]
    assert first["items"][1]["remedy_available"] is True, "the latest version of V3"
    second = oem_get(oem, path="recalls", dealer_code="D001", page=2, page_size=2).json()
    assert (second["total"], second["items"]) == (3, [recall("V1", ts("11-12T10:00:00"), "2026-11-10")])
    assert vins(page=3, page_size=2) == (3, [])
    assert vins(updated_since=ts("11-06T09:00:00")) == (2, ["V3", "V1"]), "since is inclusive"
    assert vins(updated_until=ts("11-06T09:00:00")) == (1, ["V2"]), "until is exclusive"
    assert vins(updated_since=ts("11-13T00:00:00")) == (0, []), "V4 is not visible before the clock passes it"
    assert oem_get(oem, path="recalls").status_code == 400, "dealer_code is required"
    assert oem_get(oem, "wrong-key", path="recalls", dealer_code="D001").status_code == 403


def test_oem_period_not_yet_published_is_404(oem: str) -> None:
    response = oem_get(oem, dealer_code="D001", period="2026-11")  # due 2026-12-03
    assert response.status_code == 404
    assert response.json() == {"error": "period_not_published"}
    late = oem_get(oem, dealer_code="D002", period="2026-09")  # list generated 11-25 only
    assert late.status_code == 404
    assert late.json() == {"error": "period_not_published"}


def test_oem_published_period_without_items_is_an_empty_list(oem: str) -> None:
    body = oem_get(oem, dealer_code="D002", period="2026-10").json()
    assert (body["total"], body["items"], body["generated_at"]) == (0, [], ts("11-03T00:00:00"))


def test_oem_publication_follows_the_clock(oem: str, world: Path) -> None:
    assert oem_get(oem, dealer_code="D002", period="2026-09").status_code == 404
    set_clock(world, "2026-11-25T00:00:00+08:00")
    assert oem_get(oem, dealer_code="D002", period="2026-09").json()["total"] == 2


@pytest.mark.parametrize(
    "params",
    [{"period": "2026-10"}, {"dealer_code": "D001", "period": "2026-13"}, {"dealer_code": "D001"},
     {"dealer_code": "D001", "period": "2026-10", "page_size": "1001"},
     {"dealer_code": "D001", "period": "2026-10", "page": "0"}],
)  # fmt: skip
def test_oem_bad_parameters_are_400(oem: str, params: dict[str, str]) -> None:
    response = oem_get(oem, **params)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_parameter"


def test_oem_shows_the_same_transient_faults(serve: Callable[..., str]) -> None:
    path = "/oem/v1/lost-customers"
    plan = FaultPlan.script(
        FaultRule(Fault.rate_limited(2), path=path, nth=1),
        FaultRule(Fault.error(502), path=path, nth=2),
        FaultRule(Fault.repeat_page(), path=path, nth=4),
        FaultRule(Fault.html_body(), path=path, nth=5),
        FaultRule(Fault.truncated_body(), path=path, nth=6),
    )
    url = serve("oem", plan)
    params = {"dealer_code": "D001", "period": "2026-10", "page_size": 2}
    limited = oem_get(url, page=1, **params)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"
    assert oem_get(url, page=1, **params).status_code == 502
    page1 = oem_get(url, page=1, **params).json()
    assert oem_get(url, page=2, **params).json() == page1  # served twice
    assert_gateway_page(oem_get(url, page=2, **params))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        oem_get(url, page=2, **params)


def test_oem_pages_short_of_their_total(serve: Callable[..., str]) -> None:
    path = "/oem/v1/lost-customers"
    url = serve("oem", FaultPlan.script(FaultRule(Fault.short_page(), path=path, nth=1)))
    params = {"dealer_code": "D001", "period": "2026-10", "page_size": 2}
    short = oem_get(url, page=1, **params).json()
    assert (short["total"], len(short["items"])) == (3, 1), "total still counts the missing item"
    page1 = oem_get(url, page=1, **params).json()
    assert page1["items"][:1] == short["items"]
    assert len(page1["items"]) == 2
    dms = serve("dms", on_customers(Fault.short_page(), nth=1))
    assert pks(list_page(dms, get_token(dms)).json()["data"]) == VISIBLE_AT_CLOCK, "the DMS has no total: ignored"


def test_publication_time_is_the_3rd_of_the_next_month() -> None:
    assert publication_time("2026-10") == "2026-11-03T00:00:00+08:00"
    assert publication_time("2026-12") == "2027-01-03T00:00:00+08:00"


def test_server_stops_and_frees_its_port(world: Path) -> None:
    server = ApiServer(DmsApi(world)).start()
    url = server.url
    assert requests.get(f"{url}/v1/customers", timeout=2).status_code == 401
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/v1/customers", timeout=2)
