"""The HTTP side of the API feeds: one session, retried the way the feeds need.

Transient faults (429 with ``Retry-After``, 500/502/503/504, a connection dropped or a
response that stalls past the timeout) are retried by urllib3's ``Retry`` with
exponential backoff, honouring ``Retry-After``. What a retry cannot fix (bad
credentials, a bad request) raises ``FeedError`` with the feed, the URL and the
server's own error, so the Airflow log says what to change.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import msgspec
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

#: Transient answers worth retrying (feeds.md: 429 with Retry-After, 5xx).
RETRY_STATUSES = (429, 500, 502, 503, 504)


class FeedError(RuntimeError):
    """A feed answered something no retry can fix; the message says what and where."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def session(retries: int = 5, backoff: float = 0.5, backoff_max: float = 60.0) -> requests.Session:
    """A requests session that retries transient faults, every method included (the
    token POST and the listing GETs are all safe to repeat)."""
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        backoff_max=backoff_max,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    http = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


def error_code(response: requests.Response) -> str | None:
    """The ``error`` field of a JSON error body (feeds.md), if there is one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def fail(feed: str, response: requests.Response, hint: str = "") -> FeedError:
    """A FeedError naming the feed, the request and the server's answer."""
    message = (
        f"{feed}: {response.request.method} {public_url(response.url)} answered "
        f"{response.status_code}: {response.text[:300]}"
    )
    if hint:
        message += f" ({hint})"
    return FeedError(message, response.status_code, error_code(response))


class ApiClient:
    """A JSON API on one base URL: retried session, timeout, and the auth a subclass adds
    (``headers``; ``refresh`` to recover from a 401 such as an early-expired token)."""

    feed = "api"
    #: What to tell the operator when the server refuses our credentials.
    auth_hint = "check the connection's credentials"

    def __init__(self, base_url: str, timeout: float = 30, retries: int = 5, backoff: float = 0.5) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = session(retries, backoff)

    def headers(self) -> dict[str, str]:
        return {}

    def refresh(self, response: requests.Response) -> bool:
        """Handle a 401; True if the request is worth repeating."""
        return False

    def get_page(self, path: str, params: dict[str, Any], list_field: str) -> tuple[dict[str, Any], list[Record]]:
        """GET a page: its envelope (every field but ``list_field``) and its records,
        each as (parsed, exact bytes received) — the bytes are what lands in raw."""
        return split_page(self.get(path, params).content, list_field)

    def get(self, path: str, params: dict[str, Any]) -> requests.Response:
        """GET ``path``: the 200 response, or FeedError saying why not."""
        url = f"{self.base_url}{path}"
        for _ in range(3):  # a 401 is repeated at most twice, after a refresh
            try:
                response = self.http.get(url, params=params, headers=self.headers(), timeout=self.timeout)
            except requests.RequestException as exc:
                raise FeedError(f"{self.feed}: GET {with_query(url, params)} failed after retries: {exc}") from exc
            if response.status_code == 401 and self.refresh(response):
                continue
            if response.status_code in (401, 403):
                raise fail(self.feed, response, self.auth_hint)
            if response.status_code != 200:
                raise fail(self.feed, response)
            return response
        raise fail(self.feed, response, self.auth_hint)


def public_url(url: str) -> str:
    """The URL as logged and recorded: credentials never appear in our URLs, but strip
    any userinfo defensively."""
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.rsplit('@', 1)[-1]}{slash}{path}"


def with_query(url: str, params: dict[str, Any]) -> str:
    """``url?params`` with None values left out (how the request itself is sent)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{url}?{query}" if query else url


#: One record of a page: parsed (for checks and keys) and as received (for storage).
Record = tuple[Any, bytes]
_RAW_FIELDS = msgspec.json.Decoder(dict[str, msgspec.Raw])
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_ANY = msgspec.json.Decoder()


def split_page(content: bytes, list_field: str) -> tuple[dict[str, Any], list[Record]]:
    """Split a JSON page without re-serialising its records: msgspec hands back each
    record's own bytes (``msgspec.Raw``), so what is stored is exactly what was sent,
    and parsing a page costs a fraction of ``json.loads`` plus ``json.dumps``."""
    fields = _RAW_FIELDS.decode(content)
    envelope = {name: _ANY.decode(raw) for name, raw in fields.items() if name != list_field}
    raws = _RAW_LIST.decode(fields[list_field]) if list_field in fields else []
    return envelope, [(_ANY.decode(raw), bytes(raw)) for raw in raws]
