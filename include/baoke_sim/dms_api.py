"""The simulated DMS API (docs/feeds.md §1): OAuth client-credentials tokens and the nine
incremental listings ``GET /v1/<entity>``, served from the world's ``dms_versions``.

What a listing shows is decided by the world clock: for each primary key, the latest
version visible at the clock (``visible_at <= clock``), included when that version's
``updated_at`` lies in the asked window. A late write (``visible_at`` after its
``updated_at``) therefore appears only once the clock passes it, in whatever window
holds its ``updated_at`` — which is why extractors must read with a lookback. The
``late_change`` fault adds such versions while the server runs (``LateChanges``), dated
further back than any lookback reaches.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
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
    "recommendations",
    "complaints",
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
    "recommendations": "recommendation_id",
    "complaints": "complaint_id",
}
#: The updated_at of a record damaged by the bad_record fault: a legacy DMS's zero date.
BAD_UPDATED_AT = "0000-00-00 00:00:00"
#: The field each entity's ``renamed_field`` damage renames, as a DMS upgrade did it.
RENAMED_FIELDS: dict[str, tuple[str, str]] = {
    "dealers": ("opened_date", "open_date"),
    "campaigns": ("cost_amount", "cost"),
    "advisors": ("active", "is_active"),
    "customers": ("mobile", "phone"),
    "vehicles": ("warranty_end_km", "warranty_km"),
    "repair_orders": ("mileage_km", "odometer_km"),
    "appointments": ("appointment_date", "appt_date"),
    "memberships": ("points_balance", "points"),
    "recommendations": ("est_amount", "estimate"),
    "complaints": ("opened_at", "open_time"),
}
#: The number each entity's ``bad_number`` damage writes with a thousands separator
#: (entities without a number are left as they are).
NUMBER_FIELDS: dict[str, str] = {
    "campaigns": "cost_amount",
    "vehicles": "warranty_end_km",
    "repair_orders": "mileage_km",
    "memberships": "points_balance",
    "recommendations": "est_amount",
}
#: The field the ``unannounced_field`` damage adds, and its value.
UNANNOUNCED_FIELD = ("dms_build", "5.2.0")

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
            since=timestamp_param(query, "updated_since"),
            until=timestamp_param(query, "updated_until"),
            after=decode_cursor(cursor) if cursor else None,
            limit=int_param(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        )


def timestamp_param(query: dict[str, str], name: str) -> str | None:
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


def fetch_page(
    conn: sqlite3.Connection, clock: str, q: ListingQuery, late: LateChanges | None = None
) -> list[tuple[str, str, str]]:
    """Up to ``q.limit + 1`` rows (updated_at, pk, record JSON) of the listing at
    ``clock``; the extra row only tells whether there is a next page. ``late`` versions
    (the late_change fault) count as versions of the world."""
    extra = late.count(q.entity) if late else 0
    filters: list[str] = []
    params: dict[str, Any] = {"entity": q.entity, "clock": clock, "limit": q.limit + 1 + extra}
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
    rows = conn.execute(_PAGE_SQL.format(filters="\n  ".join(filters)), params).fetchall()
    if late is None or not extra:
        return rows
    return late.merge(conn, clock, q, rows)[: q.limit + 1]


def page_body(rows: list[tuple[str, str, str]], limit: int) -> dict[str, Any]:
    """``{"data": [...], "next_cursor": ...}`` from ``fetch_page``'s rows."""
    page = rows[:limit]
    more = len(rows) > limit
    next_cursor = encode_cursor(page[-1][0], page[-1][1]) if more else None
    return {"data": [json.loads(record) for _, _, record in page], "next_cursor": next_cursor}


# --- late changes -----------------------------------------------------------------------


@dataclass(frozen=True)
class LateVersion:
    """A version the late_change fault made: shown from ``visible_at`` on, though its
    ``updated_at`` says it was made ``days`` earlier."""

    entity: str
    pk: str
    dealer_code: str | None
    updated_at: str
    visible_at: str
    record: str

    def matches(self, q: ListingQuery) -> bool:
        return (
            (q.dealer_code is None or self.dealer_code == q.dealer_code)
            and (q.since is None or self.updated_at >= q.since)
            and (q.until is None or self.updated_at < q.until)
            and (q.after is None or (self.updated_at, self.pk) > q.after)
        )


_LATEST_BEFORE_SQL = """
select v.pk, v.dealer_code, v.record from dms_versions v
where v.entity = :entity and v.visible_at <= :clock and v.updated_at < :before {dealer}
  and not exists (
      select 1 from dms_versions newer
      where newer.entity = v.entity and newer.pk = v.pk
        and newer.updated_at > v.updated_at and newer.visible_at <= :clock
  )
order by v.updated_at desc, v.pk desc
limit 1 offset :offset
"""


class LateChanges:
    """The versions late_change faults added, kept by the server beside the read-only
    world. A listing merges them in as if the world held them: each replaces the
    record's older versions, and a newer version of the world replaces it in turn."""

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str], LateVersion] = {}
        self._lock = threading.Lock()

    def count(self, entity: str) -> int:
        with self._lock:
            return sum(1 for e, _ in self._versions if e == entity)

    def versions(self) -> list[LateVersion]:
        """Every late version made so far (for tests and logs)."""
        with self._lock:
            return list(self._versions.values())

    def make(self, conn: sqlite3.Connection, clock: str, q: ListingQuery, days: float, row: int) -> LateVersion | None:
        """A new version, made now but dated ``days`` back, of the record of ``q``'s
        entity (and dealer) changed most recently before then (``row`` skips that many);
        None if there is none."""
        before = normalise_timestamp((dt.datetime.fromisoformat(clock) - dt.timedelta(days=days)).isoformat())
        params: dict[str, Any] = {"entity": q.entity, "clock": clock, "before": before}
        dealer = ""
        if q.dealer_code is not None:
            dealer, params["dealer_code"] = "and v.dealer_code = :dealer_code", q.dealer_code
        with self._lock:
            taken = {pk for e, pk in self._versions if e == q.entity}
        for offset in range(row, row + len(taken) + 1):  # skip records changed late already
            found = conn.execute(_LATEST_BEFORE_SQL.format(dealer=dealer), {**params, "offset": offset}).fetchone()
            if found is None:
                return None
            pk, dealer_code, record = found
            if pk not in taken:
                changed = json.dumps({**json.loads(record), "updated_at": before}, ensure_ascii=False)
                version = LateVersion(q.entity, pk, dealer_code, before, clock, changed)
                with self._lock:
                    self._versions[(q.entity, pk)] = version
                return version
        return None

    def merge(
        self, conn: sqlite3.Connection, clock: str, q: ListingQuery, rows: list[tuple[str, str, str]]
    ) -> list[tuple[str, str, str]]:
        """``rows`` of the world's listing with the late versions merged in, in order."""
        with self._lock:
            late = {pk: v for (e, pk), v in self._versions.items() if e == q.entity and v.visible_at <= clock}
        current = {pk: v for pk, v in late.items() if not _replaced(conn, clock, v)}
        kept = [r for r in rows if r[1] not in current]  # the late version is newer
        added = [(v.updated_at, v.pk, v.record) for v in current.values() if v.matches(q)]
        return sorted(kept + added, key=lambda r: (r[0], r[1]))


def _replaced(conn: sqlite3.Connection, clock: str, version: LateVersion) -> bool:
    """Whether the world shows a version of the record newer than ``version``."""
    return (
        conn.execute(
            "select 1 from dms_versions where entity = ? and pk = ? and updated_at > ? and visible_at <= ?",
            (version.entity, version.pk, version.updated_at, clock),
        ).fetchone()
        is not None
    )


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
        self.late = LateChanges()
        super().__init__(world, faults)

    def routes(self) -> list[Route]:
        return [
            route("POST", r"/oauth/token", self._token, auth=False),
            route("GET", r"/v1/(?P<entity>[^/]+)", self._list, listing=True),
        ]

    def authenticate(self, request: Request) -> None:
        self._tokens.check(request.bearer_token())

    def expire_credentials(self, request: Request) -> bool:
        token = request.bearer_token()
        if token:
            self._tokens.expire(token)
        return token is not None

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
            rows = fetch_page(conn, self.world.clock(conn), q, self.late)
        return Response(200, page_body(rows, q.limit))

    def alter_listing(self, request: Request, match: re.Match[str], response: Response, fault: Fault) -> Response:
        """bad_record: the page with record ``fault.row`` (clamped) damaged; the list and
        the record are copied, so the page remembered for repeat_page stays clean.
        late_change: the page as it is, and from now on a late version of a record."""
        entity = match["entity"]
        if fault.kind == "late_change":
            q = ListingQuery.from_request(entity, request.query)
            with self.world.connect() as conn:
                late = self.late.make(conn, self.world.clock(conn), q, fault.days, fault.row)
            if late is not None:
                self.note(request, fault, **dataclasses.asdict(late))
            return response
        data = list(response.body["data"])
        if fault.kind != "bad_record" or not data:
            return response
        index = min(max(fault.row, 0), len(data) - 1)
        clean = data[index]
        data[index] = damaged(clean, entity, fault)
        if data[index] == clean:  # nothing to damage (an entity without a number)
            return response
        self.note(
            request,
            fault,
            entity=entity,
            pk=clean.get(PRIMARY_KEYS[entity]),
            updated_at=clean.get("updated_at"),
            damage=fault.damage,
            record=data[index],
            **_damaged_fields(entity, fault),
        )
        return dataclasses.replace(response, body={**response.body, "data": data})


def damaged(record: dict[str, Any], entity: str, fault: Fault) -> dict[str, Any]:
    """A copy of ``record`` with the damage of a bad_record ``fault``."""
    record = dict(record)
    damage = fault.damage
    if damage == "bad_updated_at":
        record["updated_at"] = BAD_UPDATED_AT
    elif damage == "null_pk":
        record[PRIMARY_KEYS[entity]] = None
    elif damage == "null_updated_at":
        record["updated_at"] = None
    elif damage == "renamed_field":
        old, new = (fault.field, fault.to) if fault.field and fault.to else RENAMED_FIELDS[entity]
        record = {new if name == old else name: value for name, value in record.items()}
    elif damage == "bad_number":
        name = fault.field or NUMBER_FIELDS.get(entity)
        if name is not None:
            record[name] = with_separators(record.get(name))
    elif damage == "unannounced_field":
        name, value = UNANNOUNCED_FIELD
        record[fault.field or name] = value
    return record


def _damaged_fields(entity: str, fault: Fault) -> dict[str, str | None]:
    """The field a damage changed (``field``) and, for a renamed one, its new name (``to``)."""
    damage = fault.damage
    if damage == "renamed_field":
        old, new = (fault.field, fault.to) if fault.field and fault.to else RENAMED_FIELDS[entity]
        return {"field": old, "to": new}
    if damage == "bad_number":
        return {"field": fault.field or NUMBER_FIELDS.get(entity)}
    if damage == "unannounced_field":
        return {"field": fault.field or UNANNOUNCED_FIELD[0]}
    if damage == "null_pk":
        return {"field": PRIMARY_KEYS[entity]}
    return {"field": "updated_at"}  # bad_updated_at, null_updated_at


def with_separators(value: Any) -> str:
    """A number as a counter clerk's spreadsheet writes it: ``12000`` → ``"12,000"``,
    ``"1234.50"`` → ``"1,234.50"``; a small number or none becomes ``"12,000"``, so the
    damaged value always has a separator."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = 12_000.0
    if abs(number) < 1000:
        number = 12_000.0
    decimals = 2 if isinstance(value, str) and "." in value else 0
    return f"{number:,.{decimals}f}"
