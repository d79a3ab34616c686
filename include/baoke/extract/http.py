"""The HTTP side of the API feeds: one session, retried the way the feeds need.

Transient faults (429 with ``Retry-After``, 500/502/503/504, a connection dropped or a
response that stalls past the timeout) are retried by urllib3's ``Retry`` with
exponential backoff, honouring ``Retry-After``. A 200 whose body is not what the API
sends (a gateway's HTML error page, a body cut short) is invisible to that layer, which
judges statuses, so the client asks again itself (``ApiClient.retried``: tenacity, with
the same number of retries and backoff), then fails naming the feed, the URL and the
first bytes received. What a retry cannot fix (bad credentials, a bad request) raises
``FeedError`` with the feed, the URL and the server's own error, so the Airflow log says
what to change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import msgspec
import requests
import tenacity
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Transient answers worth retrying (feeds.md: 429 with Retry-After, 5xx).
RETRY_STATUSES = (429, 500, 502, 503, 504)


class FeedError(RuntimeError):
    """A feed answered something no retry can fix; the message says what and where."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class MalformedBody(FeedError):
    """An answer whose body is cut short or is not the JSON the API sends: worth asking again."""


def malformed(feed: str, response: requests.Response, what: str) -> MalformedBody:
    """A MalformedBody naming the feed, the request and the first bytes received."""
    head = response.content[:60].decode("utf-8", "replace")
    more = "..." if len(response.content) > 60 else ""
    return MalformedBody(
        f"{feed}: {response.request.method} {public_url(response.url)} answered {response.status_code} "
        f"with {what} (first bytes: {head!r}{more}, {len(response.content)} bytes)",
        response.status_code,
    )


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

    def __init__(
        self, base_url: str, timeout: float = 30, retries: int = 5, backoff: float = 0.5, backoff_max: float = 60.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.http = session(retries, backoff, backoff_max)

    def headers(self) -> dict[str, str]:
        return {}

    def refresh(self, response: requests.Response) -> bool:
        """Handle a 401; True if the request is worth repeating."""
        return False

    def retried(self, read: Callable[[], T], error: type[FeedError] = MalformedBody) -> T:
        """``read()``, called again while it raises ``error``, up to the session's number
        of retries and with its exponential backoff; then FeedError with the last
        reason. For what the session cannot see: a bad body, a read that stops short."""
        attempts = self.retries + 1
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(error),
            stop=tenacity.stop_after_attempt(attempts),
            wait=tenacity.wait_exponential(multiplier=self.backoff, max=self.backoff_max),
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            return retrying(read)
        except error as exc:
            raise FeedError(f"{exc}; still so after {attempts} attempts", exc.status, exc.code) from exc

    def get_page(self, path: str, params: dict[str, Any], list_field: str) -> tuple[dict[str, Any], list[Record]]:
        """GET a page: its envelope (every field but ``list_field``) and its records,
        each as (parsed, exact bytes received) — the bytes are what lands in raw. A 200
        that is no such page (an HTML error page, a body cut short) is asked again."""
        return self.retried(lambda: page_of(self.feed, self.get(path, params), list_field))

    def get(self, path: str, params: dict[str, Any]) -> requests.Response:
        """GET ``path``: the 200 response, or FeedError saying why not (MalformedBody
        for a body cut short)."""
        url = f"{self.base_url}{path}"
        for _ in range(3):  # a 401 is repeated at most twice, after a refresh
            response = self.send("GET", url, params=params, headers=self.headers())
            if response.status_code == 401 and self.refresh(response):
                continue
            if response.status_code in (401, 403):
                raise fail(self.feed, response, self.auth_hint)
            if response.status_code != 200:
                raise fail(self.feed, response)
            return response
        raise fail(self.feed, response, self.auth_hint)

    def send(self, method: str, url: str, params: dict[str, Any] | None = None, **kwargs: Any) -> requests.Response:
        """One request through the retried session. A body that stops before its end
        (the connection dropped mid-body: requests reads the body after urllib3's
        retries are done) is MalformedBody; any other failure left after the session's
        retries is FeedError."""
        try:
            return self.http.request(method, url, params=params, timeout=self.timeout, **kwargs)
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise MalformedBody(
                f"{self.feed}: {method} {public_url(with_query(url, params or {}))} answered with a body cut short"
                f" ({_innermost(exc)})"
            ) from exc
        except requests.RequestException as exc:
            raise FeedError(
                f"{self.feed}: {method} {public_url(with_query(url, params or {}))} failed after retries: {exc}"
            ) from exc


def _innermost(exc: BaseException) -> str:
    """The first argument deepest in an exception wrapping others (requests wraps
    urllib3's, which wraps http.client's): the one that says what happened."""
    reason: object = exc
    while isinstance(reason, BaseException) and reason.args:
        reason = reason.args[0]
    return str(reason)


def _log_retry(state: tenacity.RetryCallState) -> None:
    outcome = state.outcome
    reason = outcome.exception() if outcome is not None else None
    wait = state.next_action.sleep if state.next_action is not None else 0.0
    log.warning("%s; asking again in %.1f s (attempt %d)", reason, wait, state.attempt_number + 1)


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


class NotAPage(ValueError):
    """A body that decodes, but is not a page: no object, or no list where the records go."""


def split_page(content: bytes, list_field: str) -> tuple[dict[str, Any], list[Record]]:
    """Split a JSON page without re-serialising its records: msgspec hands back each
    record's own bytes (``msgspec.Raw``), so what is stored is exactly what was sent,
    and parsing a page costs a fraction of ``json.loads`` plus ``json.dumps``. Raises
    ``msgspec.DecodeError`` for a body that is not JSON (or not an object), and
    ``NotAPage`` for one without its ``list_field`` list: an empty page says so with
    an empty list, and taking a missing one for it would lose the page."""
    fields = _RAW_FIELDS.decode(content)
    if list_field not in fields:
        raise NotAPage(f"no {list_field!r} list")
    envelope = {name: _ANY.decode(raw) for name, raw in fields.items() if name != list_field}
    raws = _RAW_LIST.decode(fields[list_field])
    return envelope, [(_ANY.decode(raw), bytes(raw)) for raw in raws]


def page_of(feed: str, response: requests.Response, list_field: str) -> tuple[dict[str, Any], list[Record]]:
    """``split_page`` of a response; MalformedBody, naming feed, URL and first bytes, if
    the body is no page (an HTML error page, JSON cut short)."""
    try:
        return split_page(response.content, list_field)
    except NotAPage as exc:
        raise malformed(feed, response, f"a JSON body that is not a page ({exc})") from exc
    except msgspec.DecodeError as exc:
        raise malformed(feed, response, f"a body that is not a JSON page ({exc})") from exc
