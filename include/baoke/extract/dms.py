"""The DMS feed (docs/feeds.md §1): OAuth client credentials, cursor paging, incremental
windows on ``updated_at``. Only what is particular to the DMS lives here; batches,
retries and state are the shared mechanism."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import requests

from baoke.extract import state
from baoke.extract.catalog import DMS, DMS_GROUP_WIDE
from baoke.extract.http import ApiClient, Record, error_code, fail, malformed, with_query
from baoke.extract.loader import Batch, BatchResult, known_versions


class DmsClient(ApiClient):
    """The DMS API with its bearer token, fetched on first use and again on expiry."""

    feed = "DMS API"
    auth_hint = "check connection dms_api: login = client_id, password = client_secret"

    def __init__(self, base_url: str, client_id: str, client_secret: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self.client_id = client_id
        self.client_secret = client_secret
        self._token: str | None = None

    def headers(self) -> dict[str, str]:
        if self._token is None:
            self._token = self._fetch_token()
        return {"Authorization": f"Bearer {self._token}"}

    def refresh(self, response: requests.Response) -> bool:
        """An early-expired token: fetch a new one and repeat the call."""
        if error_code(response) != "token_expired":
            return False
        self._token = None
        return True

    def _fetch_token(self) -> str:
        return self.retried(self._token_once)

    def _token_once(self) -> str:
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret}
        response = self.send("POST", f"{self.base_url}/oauth/token", data=form)
        if response.status_code != 200:
            raise fail(self.feed, response, self.auth_hint)
        try:
            return str(response.json()["access_token"])
        except (ValueError, KeyError, TypeError) as exc:
            raise malformed(self.feed, response, "a body that is not a token") from exc

    def pages(self, entity: str, limit: int, **params: Any) -> Iterator[tuple[int, list[Record]]]:
        """(page number, records) for every page of a listing, following ``next_cursor``."""
        cursor = None
        for number in range(1, 10**9):
            query = {**params, "limit": limit, "cursor": cursor}
            envelope, records = self.get_page(
                f"/v1/{entity}", {k: v for k, v in query.items() if v is not None}, "data"
            )
            yield number, records
            cursor = envelope.get("next_cursor")
            if not cursor:
                return


def extract(
    conn: Any,
    client: DmsClient,
    entity_name: str,
    dealer_code: str,
    business_date: dt.date,
    lookback: dt.timedelta,
    page_size: int = 1000,
    max_reject_share: float = 0.1,
    deep: dt.timedelta | None = None,
) -> BatchResult:
    """Load one DMS entity for one dealer ('' for the group-wide listings) for the run of
    ``business_date``: the window up to ``D 00:00``, overlapping the last one by
    ``lookback``, or, for a deep read, reaching ``deep`` back from D at least (what a
    change dated too far back for the daily windows needs; feeds.md §5)."""
    entity = DMS[entity_name]
    scope = "" if entity_name in DMS_GROUP_WIDE else dealer_code
    since, until = state.window(conn, "dms", entity_name, scope, business_date, lookback, deep)
    known = known_versions(conn, entity, since) if since else set()
    listing = {"dealer_code": scope or None, "updated_since": state.iso(since), "updated_until": state.iso(until)}
    source = with_query(f"{client.base_url}/v1/{entity_name}", listing)
    with Batch.open(
        conn,
        entity,
        scope,
        source,
        business_date,
        window_since=since,
        window_until=until,
        known=known,
        dealer_code=scope or None,  # a group-wide listing's problems affect every dealer
    ) as batch:
        for number, records in client.pages(entity_name, page_size, **listing):
            batch.new_page()
            for row_no, (record, text) in enumerate(records, 1):
                updated_at = record.get("updated_at") if isinstance(record, dict) else None
                batch.add(record, f"page {number} row {row_no}", str(updated_at), updated_at, text)
        return batch.load(
            max_reject_share,
            after=lambda cur, result: state.advance(cur, "dms", entity_name, scope, until, result.batch_id),
        )
