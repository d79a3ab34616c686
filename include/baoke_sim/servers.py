"""The HTTP mechanism shared by the simulated DMS and OEM APIs.

Both feeds are plain REST/JSON services (feeds.md §1 and §3). The simulators are real
HTTP servers on a TCP port, so an extractor talks to them exactly as it would to the
real systems: same URLs, headers, status codes and bodies, and real timeouts.

The pieces, smallest first:

- ``Request`` / ``Response`` / ``ApiError``: what a route sees and answers, decoupled
  from ``http.server`` so routes stay small and testable.
- ``SimulatedApi``: the base class of one API: routing, fault injection (``faults.py``),
  authentication hook, "serve the previous page again" memory. Subclasses declare
  routes and how a caller authenticates.
- ``WorldStore``: read-only access to ``world.sqlite`` and its clock, re-read on every
  request so ``baoke simulate advance`` takes effect without a restart.
- ``ApiServer``: runs one API on ``127.0.0.1`` (a free port by default) in a
  background thread; a context manager exposing ``.url``.

Why ``http.server`` and not Starlette/FastAPI on uvicorn (installed with Airflow): the
routing those would replace is ``SimulatedApi._match``, ten lines. Everything that makes
this a simulator (the fault plan, the page memory, authentication) is ours either way.
What matters here is control of the wire, and a framework takes it away. The feeds
contract asks for a 200 whose body is cut short. ``http.server`` writes whatever bytes
it is given. uvicorn refuses a body shorter than its ``Content-Length``: the client
does see a broken read, but only because the server raises "Response content shorter
than Content-Length" and logs it as an application error. A stall must be abandoned
at once on ``stop()``, which is a daemon thread here; under uvicorn it is an in-flight
request that a graceful shutdown waits for. The routes read SQLite synchronously, so
under ASGI they would run in a thread pool behind an event loop in yet another thread.
Starting is no faster (both bind and serve in well under 0.1 s), so we keep the
standard library.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hmac
import json
import logging
import re
import sqlite3
import ssl
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from baoke_sim.faults import Fault, FaultPlan, Injected, InjectionLog

log = logging.getLogger("baoke_sim")

#: China Standard Time: every timestamp of the feeds carries this offset (feeds.md).
CST = dt.timezone(dt.timedelta(hours=8))

#: The error code each injected HTTP error answers with.
_FAULT_ERRORS = {
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}


# --- requests, responses, errors -------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One HTTP request, parsed: path without query, query as a dict (last value wins),
    headers (case-insensitive lookup) and the raw body."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] | Message = field(default_factory=dict)  # http.server's Message is case-insensitive
    body: bytes = b""

    def form(self) -> dict[str, str]:
        """The body as an ``application/x-www-form-urlencoded`` form."""
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def bearer_token(self) -> str | None:
        """The token of an ``Authorization: Bearer <token>`` header, if any."""
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None


@dataclass
class Response:
    """A JSON answer. ``delay`` holds it back (the "stall" fault). The body faults
    bypass the JSON: ``raw`` bytes are sent as they are (with their ``content_type``),
    and with ``cut_at`` only that many bytes of the payload leave before the connection
    drops, its ``Content-Length`` still announcing the whole."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None
    content_type: str = "application/json; charset=utf-8"
    cut_at: int | None = None

    def encoded(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


#: What a reverse proxy in front of an API answers when its upstream is unwell, with 200.
GATEWAY_PAGE = """<!DOCTYPE html>
<html><head><title>系统维护中</title></head>
<body><h1>系统维护中</h1>
<p>The service is temporarily unavailable. Please try again later.</p>
<hr><address>nginx</address></body></html>
""".encode()


def gateway_page() -> Response:
    """The ``html_body`` fault: a gateway's HTML error page, with status 200."""
    return Response(200, None, raw=GATEWAY_PAGE, content_type="text/html; charset=utf-8")


def truncated(response: Response, fault: Fault) -> Response:
    """The ``truncated_body`` fault: the first ``fault.share`` of the answer's bytes,
    either as a connection lost mid-body (``whole_length``) or as a complete-looking
    but cut body."""
    payload = response.encoded()
    keep = int(len(payload) * fault.share)
    if fault.whole_length:
        return dataclasses.replace(response, raw=payload, cut_at=keep)
    return dataclasses.replace(response, raw=payload[:keep])


class ApiError(Exception):
    """An error answer: ``{"error": <code>}``, plus ``"message"`` when there is something
    useful to tell the developer of a client (bad parameters, mostly)."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {error}: {message or ''}".strip())
        self.status = status
        self.error = error
        self.message = message
        self.headers = headers or {}

    def response(self) -> Response:
        body: dict[str, str] = {"error": self.error}
        if self.message:
            body["message"] = self.message
        return Response(self.status, body, dict(self.headers))


def bad_parameter(message: str) -> ApiError:
    """400 for a query parameter the API cannot use."""
    return ApiError(400, "invalid_parameter", message)


def int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter in ``low..high`` (``default`` when absent); 400 otherwise."""
    raw = query.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_parameter(f"{name} must be an integer in {low}..{high}, got {raw!r}") from None
    if not low <= value <= high:
        raise bad_parameter(f"{name} must be in {low}..{high}, got {value}")
    return value


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented secret (any text) with the configured one."""
    return hmac.compare_digest((given or "").encode("utf-8"), expected.encode("utf-8"))


def normalise_timestamp(value: str, allow_date: bool = False) -> str:
    """An ISO-8601 timestamp with offset re-expressed in +08:00, the form the world
    stores, so that text comparison is time comparison. With ``allow_date`` a bare
    ``YYYY-MM-DD`` (the world clock may be kept as a date) means 00:00 in China.

    Raises ``ValueError`` for anything else, including a timestamp without offset: a
    real API would not guess the zone, so neither does the simulator.
    """
    parsed = dt.datetime.fromisoformat(value)
    if allow_date and len(value) == 10:
        parsed = parsed.replace(tzinfo=CST)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without offset: {value!r}")
    return parsed.astimezone(CST).isoformat()


# --- routing and the base API -----------------------------------------------------------

#: The faults ``SimulatedApi.alter_listing`` applies to a listing page.
_LISTING_FAULTS = ("bad_record", "short_page", "late_change")

RouteHandler = Callable[[Request, "re.Match[str]"], Response]


@dataclass(frozen=True)
class Route:
    """``method`` + a path regex (full match) → handler. ``auth``: the caller must
    authenticate. ``listing``: a paged listing (subject to the repeat-page fault)."""

    method: str
    pattern: re.Pattern[str]
    handler: RouteHandler
    auth: bool = True
    listing: bool = False


def route(method: str, pattern: str, handler: RouteHandler, *, auth: bool = True, listing: bool = False) -> Route:
    """A ``Route`` from a regex string."""
    return Route(method, re.compile(pattern), handler, auth=auth, listing=listing)


class _PageMemory:
    """The last page served per listing (its query without the paging parameter), for
    the repeat-page fault. Bounded, since each window/dealer is its own listing."""

    def __init__(self, size: int = 1024) -> None:
        self._pages: OrderedDict[tuple, Response] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Response | None:
        with self._lock:
            return self._pages.get(key)

    def put(self, key: tuple, response: Response) -> None:
        with self._lock:
            self._pages[key] = response
            self._pages.move_to_end(key)
            while len(self._pages) > self._size:
                self._pages.popitem(last=False)


class SimulatedApi:
    """One simulated API. Subclasses provide ``routes()`` and ``authenticate()``; this
    class applies the fault plan the same way for every API, so DMS and OEM misbehave
    identically (feeds.md §3: "same transient faults as the DMS")."""

    #: The query parameter that positions a paged listing ("cursor", "page").
    paging_param: str = ""

    def __init__(self, world: Path | str, faults: FaultPlan | None = None) -> None:
        self.world = WorldStore(world)
        self.faults = faults or FaultPlan.from_env()
        #: every fault applied to an answer (``Injected``), for a replay to reconcile
        self.injected = InjectionLog()
        self._pages = _PageMemory()
        self._routes = self.routes()

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def authenticate(self, request: Request) -> None:
        """Raise ``ApiError`` unless the request carries valid credentials."""
        raise NotImplementedError

    def expire_credentials(self, request: Request) -> bool:
        """The token_expired fault: make the caller's credentials expire now; whether
        they did. APIs without expiring credentials (the OEM's API key) ignore it."""
        return False

    def alter_listing(self, request: Request, match: re.Match[str], response: Response, fault: Fault) -> Response:
        """The faults that change what a listing serves (``bad_record``, ``short_page``,
        ``late_change``): ``response`` (a 200 page) as altered by ``fault``, as a new
        Response (the remembered page stays clean), after ``note``-ing what it did. An
        API answers the page unchanged for the faults it does not model."""
        return response

    def note(self, request: Request, fault: Fault, **detail: Any) -> None:
        """Log ``fault`` as applied to the answer to ``request``."""
        self.injected.add(Injected(fault.kind, request.path, dict(request.query), detail))

    def handle(self, request: Request) -> Response:
        """Answer one request: route, count it for the fault plan, apply its fault."""
        fault: Fault | None = None
        try:
            matched, match = self._match(request)
            fault = self.faults.next_fault(request.path)
            response = self._serve(request, matched, match, fault)
        except ApiError as err:
            response = err.response()
        if fault is not None and fault.kind == "stall":
            response = dataclasses.replace(response, delay=fault.seconds)
            self.note(request, fault)
        if fault is not None and fault.kind == "truncated_body" and response.status == 200:
            response = truncated(response, fault)
            self.note(request, fault, whole_length=fault.whole_length)
        return response

    def _match(self, request: Request) -> tuple[Route, re.Match[str]]:
        path_known = False
        for candidate in self._routes:
            match = candidate.pattern.fullmatch(request.path)
            if match and candidate.method == request.method:
                return candidate, match
            path_known = path_known or bool(match)
        if path_known:
            raise ApiError(405, "method_not_allowed")
        raise ApiError(404, "not_found", f"no such endpoint: {request.path}")

    def _serve(self, request: Request, matched: Route, match: re.Match[str], fault: Fault | None) -> Response:
        kind = fault.kind if fault else None
        if fault is not None and kind == "error":
            self.note(request, fault, status=fault.status)
            raise _fault_error(fault)
        if fault is not None and kind == "html_body":  # the gateway answers; the API never sees the request
            self.note(request, fault)
            return gateway_page()
        if matched.auth:
            if fault is not None and kind == "token_expired" and self.expire_credentials(request):
                self.note(request, fault)
            self.authenticate(request)
        if matched.listing:
            response = self._serve_listing(request, matched, match, fault if kind == "repeat_page" else None)
            if fault is not None and kind in _LISTING_FAULTS and response.status == 200:
                response = self.alter_listing(request, match, response, fault)
            return response
        return matched.handler(request, match)

    def _serve_listing(self, request: Request, matched: Route, match: re.Match[str], repeat: Fault | None) -> Response:
        """A listing page, remembered per listing; with a ``repeat`` fault, a request that
        has a paging position gets the page served before it instead (none before: no
        fault)."""
        key = self._listing_key(request)
        previous = self._pages.get(key) if repeat and request.query.get(self.paging_param) else None
        if repeat is not None and previous is not None:
            self.note(request, repeat)
            return dataclasses.replace(previous)
        response = matched.handler(request, match)
        if response.status == 200:
            self._pages.put(key, response)
        return response

    def _listing_key(self, request: Request) -> tuple:
        rest = sorted((k, v) for k, v in request.query.items() if k != self.paging_param)
        return (request.path, tuple(rest))


def _fault_error(fault: Fault) -> ApiError:
    status = fault.status or 500
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    return ApiError(status, _FAULT_ERRORS.get(status, "server_error"), headers=headers)


# --- the world store --------------------------------------------------------------------


class WorldStore:
    """Read-only access to the world's SQLite file. A connection per request: SQLite
    connections do not cross threads, and a fresh one sees the generator's latest
    ``advance`` of the clock."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).resolve()
        if not self.path.is_file():
            raise FileNotFoundError(f"no simulated world at {self.path} (generate one first)")

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        uri = f"{self.path.as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=10)) as conn:
            yield conn

    def clock(self, conn: sqlite3.Connection) -> str:
        """The simulated "now" (``meta.clock``) as a +08:00 timestamp."""
        row = conn.execute("select value from meta where key = 'clock'").fetchone()
        if row is None:
            raise ApiError(500, "world_not_ready", "the world has no clock (meta.clock)")
        return normalise_timestamp(row[0], allow_date=True)


# --- the HTTP server --------------------------------------------------------------------


class _HttpServer(ThreadingHTTPServer):
    """A threading HTTP server bound to one API. Handler threads are daemons and are not
    joined on close, so a stalled answer never holds up ``stop()``."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], api: SimulatedApi) -> None:
        self.api = api
        self.stopping = threading.Event()
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP into ``Request``/``Response``; HTTP/1.1 keep-alive like a real API."""

    protocol_version = "HTTP/1.1"
    server_version = "BaokeSimulator/1.0"
    timeout = 60  # an idle keep-alive connection is dropped after this
    server: _HttpServer

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        request = self._read_request()
        try:
            response = self.server.api.handle(request)
        except Exception:  # a bug in a route must still answer JSON
            log.exception("simulator error on %s %s", request.method, request.path)
            response = ApiError(500, "internal_error").response()
        if response.delay and self.server.stopping.wait(response.delay):
            self.close_connection = True
            return
        self._write(response)

    def _read_request(self) -> Request:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        return Request(self.command, split.path, query, self.headers, body)

    def _write(self, response: Response) -> None:
        payload = response.encoded()
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if response.cut_at is None:
                self.wfile.write(payload)
                return
            self.wfile.write(payload[: response.cut_at])  # then the connection drops
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class ApiServer:
    """Runs one ``SimulatedApi`` in a background thread.

    Usage::

        with ApiServer(DmsApi(world_path)) as server:
            requests.post(f"{server.url}/oauth/token", data=...)

    ``port=0`` picks a free port (tests); a CLI passes a fixed one. ``host`` stays
    127.0.0.1 unless containers must reach the simulator (then ``0.0.0.0``). With a
    server-side ``tls`` context it serves HTTPS, as a real DMS would.
    """

    def __init__(
        self, api: SimulatedApi, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.api = api
        self.host = host
        self.requested_port = port
        self.tls = tls
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def start(self) -> ApiServer:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._server = _HttpServer((self.host, self.requested_port), self.api)
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        name = f"{type(self.api).__name__}-{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; stalled answers are abandoned."""
        if self._server is None:
            return
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
