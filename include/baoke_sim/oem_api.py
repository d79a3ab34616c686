"""The simulated manufacturer (OEM) feed (docs/feeds.md §3), with ``X-Api-Key``: the
lost-customer lists ``GET /oem/v1/lost-customers?dealer_code=&period=&page=&page_size=``
and the recalls ``GET /oem/v1/recalls?dealer_code=&updated_since=&updated_until=&page=&page_size=``.

Recalls: each (recall, VIN) item is versioned in the world like a DMS record (entity
``oem_recalls`` of ``dms_versions``: published, remedy available, completed); a listing
shows each item's latest version visible at the clock when its ``updated_at`` is in the
window, in (updated_at, recall, VIN) order, paged by number with the window's ``total``.

A list (dealer, month) is published when the world clock reaches its ``generated_at``
— normally the 3rd of the following month. Before that the API answers 404
``period_not_published``, and an extractor must try again on a later day rather than
record an empty list. A month for which the manufacturer has nothing to say for a
dealer is still published on the 3rd, as an empty list. Besides the transient faults of
every API, the ``short_page`` fault serves a page without its last items while ``total``
still counts them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baoke_sim.dms_api import timestamp_param
from baoke_sim.faults import Fault, FaultPlan
from baoke_sim.servers import (
    CST,
    ApiError,
    Request,
    Response,
    Route,
    SimulatedApi,
    bad_parameter,
    int_param,
    route,
    same_secret,
)

DEFAULT_API_KEY = "baoke-sim-oem-key"
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000
#: Lists are published on this day of the month after the period.
PUBLICATION_DAY = 3

_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def publication_time(period: str) -> str:
    """When a period's list is due: the 3rd of the next month, 00:00 +08:00."""
    year, month = (int(part) for part in period.split("-"))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return dt.datetime(year, month, PUBLICATION_DAY, tzinfo=CST).isoformat()


@dataclass(frozen=True)
class ListQuery:
    """One page request of the lost-customer list, validated."""

    dealer_code: str
    period: str
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_request(cls, query: dict[str, str]) -> ListQuery:
        dealer_code = query.get("dealer_code", "")
        period = query.get("period", "")
        if not dealer_code:
            raise bad_parameter("dealer_code is required")
        if not _PERIOD.fullmatch(period):
            raise bad_parameter(f"period must be YYYY-MM, got {period!r}")
        return cls(
            dealer_code=dealer_code,
            period=period,
            page=int_param(query, "page", 1, 1, 1_000_000),
            page_size=int_param(query, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
        )


def published_at(conn: sqlite3.Connection, clock: str, q: ListQuery) -> str:
    """The list's ``generated_at`` if it is published at ``clock``; 404 otherwise.

    A list the world holds is published at its own ``generated_at`` (which may be later
    than the 3rd); a dealer/month with no list is published empty on the 3rd.
    """
    (generated_at,) = conn.execute(
        "select max(generated_at) from oem_lost_customers where dealer_code = ? and period = ?",
        (q.dealer_code, q.period),
    ).fetchone()
    due = generated_at or publication_time(q.period)
    if due > clock:
        raise ApiError(404, "period_not_published")
    return due


def fetch_items(conn: sqlite3.Connection, q: ListQuery) -> tuple[int, list[dict[str, Any]]]:
    """(total, the items of the requested page) in list order."""
    key = (q.dealer_code, q.period)
    (total,) = conn.execute(
        "select count(*) from oem_lost_customers where dealer_code = ? and period = ?", key
    ).fetchone()
    rows = conn.execute(
        "select record from oem_lost_customers where dealer_code = ? and period = ? order by item_no limit ? offset ?",
        (*key, q.page_size, (q.page - 1) * q.page_size),
    ).fetchall()
    return total, [json.loads(record) for (record,) in rows]


@dataclass(frozen=True)
class RecallQuery:
    """One page request of the recalls listing, validated."""

    dealer_code: str
    since: str | None = None  # inclusive, +08:00
    until: str | None = None  # exclusive, +08:00
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_request(cls, query: dict[str, str]) -> RecallQuery:
        dealer_code = query.get("dealer_code", "")
        if not dealer_code:
            raise bad_parameter("dealer_code is required")
        return cls(
            dealer_code=dealer_code,
            since=timestamp_param(query, "updated_since"),
            until=timestamp_param(query, "updated_until"),
            page=int_param(query, "page", 1, 1, 1_000_000),
            page_size=int_param(query, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
        )


_RECALLS_SQL = """
select {columns}
from dms_versions v
where v.entity = 'oem_recalls' and v.dealer_code = :dealer_code and v.visible_at <= :clock
  and v.updated_at >= coalesce(:since, '') and (:until is null or v.updated_at < :until)
  and not exists (
      select 1 from dms_versions newer
      where newer.entity = v.entity and newer.pk = v.pk
        and newer.updated_at > v.updated_at and newer.visible_at <= :clock
  )
{page}
"""


def fetch_recalls(conn: sqlite3.Connection, clock: str, q: RecallQuery) -> tuple[int, list[dict[str, Any]]]:
    """(total items in the window, the items of the requested page)."""
    params = {"dealer_code": q.dealer_code, "clock": clock, "since": q.since, "until": q.until}
    (total,) = conn.execute(_RECALLS_SQL.format(columns="count(*)", page=""), params).fetchone()
    rows = conn.execute(
        _RECALLS_SQL.format(columns="v.record", page="order by v.updated_at, v.pk limit :limit offset :offset"),
        {**params, "limit": q.page_size, "offset": (q.page - 1) * q.page_size},
    ).fetchall()
    return total, [json.loads(record) for (record,) in rows]


class OemApi(SimulatedApi):
    """The manufacturer's lost-customer lists and recalls, one API key for the dealer group."""

    paging_param = "page"

    def __init__(
        self,
        world: Path | str,
        *,
        api_key: str = DEFAULT_API_KEY,
        faults: FaultPlan | None = None,
    ) -> None:
        self.api_key = api_key
        super().__init__(world, faults)

    def routes(self) -> list[Route]:
        return [
            route("GET", r"/oem/v1/lost-customers", self._lost_customers, listing=True),
            route("GET", r"/oem/v1/recalls", self._recalls, listing=True),
        ]

    def authenticate(self, request: Request) -> None:
        if not same_secret(request.headers.get("X-Api-Key"), self.api_key):
            raise ApiError(403, "invalid_api_key")

    def _lost_customers(self, request: Request, _: re.Match[str]) -> Response:
        q = ListQuery.from_request(request.query)
        with self.world.connect() as conn:
            generated_at = published_at(conn, self.world.clock(conn), q)
            total, items = fetch_items(conn, q)
        body = {
            "dealer_code": q.dealer_code,
            "period": q.period,
            "generated_at": generated_at,
            "page": q.page,
            "page_size": q.page_size,
            "total": total,
            "items": items,
        }
        return Response(200, body)

    def _recalls(self, request: Request, _: re.Match[str]) -> Response:
        q = RecallQuery.from_request(request.query)
        with self.world.connect() as conn:
            total, items = fetch_recalls(conn, self.world.clock(conn), q)
        body = {"dealer_code": q.dealer_code, "page": q.page, "page_size": q.page_size, "total": total, "items": items}
        return Response(200, body)

    def alter_listing(self, request: Request, match: re.Match[str], response: Response, fault: Fault) -> Response:
        """short_page: the page without its last ``fault.missing`` items, ``total`` as it was."""
        items = response.body["items"]
        if fault.kind != "short_page" or not items:
            return response
        self.note(request, fault, missing=min(fault.missing, len(items)))
        return dataclasses.replace(response, body={**response.body, "items": items[: -fault.missing]})
