"""The simulated DMS API (docs/feeds.md §1): OAuth client-credentials tokens and the eight
incremental listings ``GET /v1/<entity>``, served from the world's ``dms_versions``.

What a listing shows is decided by the world clock: for each primary key, the latest
version visible at the clock (``visible_at <= clock``), included when that version's
``updated_at`` lies in the asked window. A late write (``visible_at`` after its
``updated_at``) therefore appears only once the clock passes it, in whatever window
holds its ``updated_at`` — which is why extractors must read with a lookback.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import random
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baoke_sim.faults import Fault, FaultPlan
from baoke_sim.servers import (
    ApiError,
    Request,
    Response,
    Route,
    SimulatedApi,
    bad_parameter,
    int_param,
    normalise_timestamp,
    route,
    same_secret,
)

#: The DMS entities, as named in the URL (feeds.md §1).
ENTITIES: tuple[str, ...] = (
    "dealers",
    "advisors",
    "customers",
    "vehicles",
    "repair_orders",
    "appointments",
    "memberships",
    "campaigns",
)

#: Each entity's primary key (feeds.md §1: the first field).
PRIMARY_KEYS: dict[str, str] = {
    "dealers": "dealer_code",
    "advisors": "advisor_id",
    "customers": "customer_id",
    "vehicles": "vin",
    "repair_orders": "ro_number",
    "appointments": "appointment_id",
    "memberships": "card_no",
    "campaigns": "campaign_code",
}
#: The updated_at of a record damaged by the bad_record fault: a legacy DMS's zero date.
BAD_UPDATED_AT = "0000-00-00 00:00:00"

DEFAULT_CLIENT_ID = "baoke-sim"
DEFAULT_CLIENT_SECRET = "baoke-sim-secret"
TOKEN_TTL_SECONDS = 3600
DEFAULT_LIMIT = 500
MAX_LIMIT = 1000


# --- cursors ----------------------------------------------------------------------------


def encode_cursor(updated_at: str, pk: str) -> str:
    """The position after a row, as an opaque URL-safe string (clients never parse it)."""
    raw = json.dumps([updated_at, pk], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The (updated_at, pk) a cursor points after; 400 ``invalid_cursor`` if it is not one
    of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated_at, pk = json.loads(raw)
        if isinstance(updated_at, str) and isinstance(pk, str):
            return updated_at, pk
    except (binascii.Error, ValueError, TypeError):
        pass
    raise ApiError(400, "invalid_cursor", "cursor must be a next_cursor value returned by this API")


# --- tokens -----------------------------------------------------------------------------


class _TokenStore:
    """Bearer tokens issued and when each expires. Expired tokens are remembered, so a
    client using one is told ``token_expired`` (get a new one), not ``invalid_token``."""

    def __init__(self, seed: int, ttl: int) -> None:
        self._rng = random.Random(seed)
        self._ttl = ttl
        self._expires: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def ttl(self) -> int:
        return self._ttl

    def issue(self) -> str:
        with self._lock:
            token = f"{self._rng.getrandbits(160):040x}"
            self._expires[token] = time.monotonic() + self._ttl
            return token

    def expire(self, token: str) -> None:
        with self._lock:
            if token in self._expires:
                self._expires[token] = 0.0

    def check(self, token: str | None) -> None:
        with self._lock:
            expires = self._expires.get(token or "")
        if expires is None:
            raise _unauthorized("invalid_token")
        if time.monotonic() >= expires:
            raise _unauthorized("token_expired")


def _unauthorized(error: str) -> ApiError:
    return ApiError(401, error, headers={"WWW-Authenticate": f'Bearer error="{error}"'})


# --- listing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingQuery:
    """One page request of ``GET /v1/<entity>``, validated."""

    entity: str
    dealer_code: str | None = None
    since: str | None = None  # inclusive, +08:00
    until: str | None = None  # exclusive, +08:00
    after: tuple[str, str] | None = None  # (updated_at, pk) from the cursor
    limit: int = DEFAULT_LIMIT

    @classmethod
    def from_request(cls, entity: str, query: dict[str, str]) -> ListingQuery:
        cursor = query.get("cursor")
        return cls(
            entity=entity,
            dealer_code=None if entity == "dealers" else (query.get("dealer_code") or None),
            since=_timestamp_param(query, "updated_since"),
            until=_timestamp_param(query, "updated_until"),
            after=decode_cursor(cursor) if cursor else None,
            limit=int_param(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        )


def _timestamp_param(query: dict[str, str], name: str) -> str | None:
    raw = query.get(name)
    if not raw:
        return None
    try:
        return normalise_timestamp(raw)
    except ValueError:
        hint = " ('+' must be URL-encoded as %2B)" if " " in raw else ""
        raise bad_parameter(
            f"{name} must be ISO-8601 with offset, e.g. 2026-11-21T00:00:00+08:00{hint}; got {raw!r}"
        ) from None


_PAGE_SQL = """
select v.updated_at, v.pk, v.record
from dms_versions v
where v.entity = :entity
  and v.visible_at <= :clock
  and not exists (
      select 1 from dms_versions newer
      where newer.entity = v.entity and newer.pk = v.pk
        and newer.updated_at > v.updated_at and newer.visible_at <= :clock
  )
  {filters}
order by v.updated_at, v.pk
limit :limit
"""


def fetch_page(conn: sqlite3.Connection, clock: str, q: ListingQuery) -> list[tuple[str, str, str]]:
    """Up to ``q.limit + 1`` rows (updated_at, pk, record JSON) of the listing at
    ``clock``; the extra row only tells whether there is a next page."""
    filters: list[str] = []
    params: dict[str, Any] = {"entity": q.entity, "clock": clock, "limit": q.limit + 1}
    if q.dealer_code is not None:
        filters.append("and v.dealer_code = :dealer_code")
        params["dealer_code"] = q.dealer_code
    if q.since is not None:
        filters.append("and v.updated_at >= :since")
        params["since"] = q.since
    if q.until is not None:
        filters.append("and v.updated_at < :until")
        params["until"] = q.until
    if q.after is not None:
        filters.append("and (v.updated_at, v.pk) > (:after_at, :after_pk)")
        params["after_at"], params["after_pk"] = q.after
    return conn.execute(_PAGE_SQL.format(filters="\n  ".join(filters)), params).fetchall()


def page_body(rows: list[tuple[str, str, str]], limit: int) -> dict[str, Any]:
    """``{"data": [...], "next_cursor": ...}`` from ``fetch_page``'s rows."""
    page = rows[:limit]
    more = len(rows) > limit
    next_cursor = encode_cursor(page[-1][0], page[-1][1]) if more else None
    return {"data": [json.loads(record) for _, _, record in page], "next_cursor": next_cursor}


# --- the API ----------------------------------------------------------------------------


class DmsApi(SimulatedApi):
    """The dealer-group DMS: ``POST /oauth/token`` and ``GET /v1/<entity>``."""

    paging_param = "cursor"

    def __init__(
        self,
        world: Path | str,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        faults: FaultPlan | None = None,
        seed: int = 0,
        token_ttl: int = TOKEN_TTL_SECONDS,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self._tokens = _TokenStore(seed, token_ttl)
        super().__init__(world, faults)

    def routes(self) -> list[Route]:
        return [
            route("POST", r"/oauth/token", self._token, auth=False),
            route("GET", r"/v1/(?P<entity>[^/]+)", self._list, listing=True),
        ]

    def authenticate(self, request: Request) -> None:
        self._tokens.check(request.bearer_token())

    def expire_credentials(self, request: Request) -> None:
        token = request.bearer_token()
        if token:
            self._tokens.expire(token)

    def _token(self, request: Request, _: re.Match[str]) -> Response:
        form = request.form()
        if form.get("grant_type") != "client_credentials":
            raise ApiError(400, "unsupported_grant_type", "grant_type must be client_credentials")
        if not (
            same_secret(form.get("client_id"), self.client_id)
            and same_secret(form.get("client_secret"), self.client_secret)
        ):
            raise ApiError(401, "invalid_client")
        body = {"access_token": self._tokens.issue(), "token_type": "Bearer", "expires_in": self._tokens.ttl}
        return Response(200, body, {"Cache-Control": "no-store"})

    def _list(self, request: Request, match: re.Match[str]) -> Response:
        entity = match["entity"]
        if entity not in ENTITIES:
            raise ApiError(404, "unknown_entity", f"entities: {', '.join(ENTITIES)}")
        q = ListingQuery.from_request(entity, request.query)
        with self.world.connect() as conn:
            rows = fetch_page(conn, self.world.clock(conn), q)
        return Response(200, page_body(rows, q.limit))

    def damage_record(self, response: Response, match: re.Match[str], fault: Fault) -> Response:
        """The page with record ``fault.row`` (clamped) damaged; the list and the record are
        copied, so the page remembered for repeat_page stays clean."""
        data = list(response.body["data"])
        if not data:
            return response
        index = min(max(fault.row, 0), len(data) - 1)
        key = "updated_at" if fault.damage != "null_pk" else PRIMARY_KEYS[match["entity"]]
        data[index] = {**data[index], key: BAD_UPDATED_AT if key == "updated_at" else None}
        return dataclasses.replace(response, body={**response.body, "data": data})
