"""Fault injection for the simulated feed APIs (feeds.md §1, "Faults the API really shows").

Extractors must survive 429s, 5xx answers, stalled responses, a token that expires in the
middle of a paging loop, a page served twice, a 200 whose body is a gateway's HTML page or
is cut short, and an OEM list whose pages add up to less than its total; they must put
aside (not crash on, not load) a record the source serves damaged, and catch up on a
change made so late that no daily window reads it. The simulators produce each of these on
demand so that the retry logic is exercised by tests and demos, not first met in
production. A plan is either *scripted* ("the 3rd request to /v1/repair_orders answers
429") or *random* (each request faults with some probability); both are deterministic:
scripted rules by construction, random ones through a seeded ``random.Random``.
"""

from __future__ import annotations

import dataclasses
import os
import random
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

FaultKind = Literal[
    "error",
    "stall",
    "token_expired",
    "repeat_page",
    "html_body",
    "truncated_body",
    "short_page",
    "bad_record",
    "late_change",
]
#: How the ``bad_record`` fault damages its record.
RecordDamage = Literal[
    "bad_updated_at", "null_pk", "null_updated_at", "renamed_field", "bad_number", "unannounced_field"
]
RECORD_DAMAGES: tuple[RecordDamage, ...] = get_args(RecordDamage)


@dataclass(frozen=True)
class Fault:
    """What goes wrong with one request.

    Transient faults (a retry sees a good answer again; they lose nothing):

    - ``error``: answer ``status`` (429/500/502/503) with a JSON error body, plus
      ``Retry-After: <retry_after>`` when given (always for 429).
    - ``stall``: answer normally, but only after ``seconds`` (longer than the client's
      timeout, so the client gives up first).
    - ``token_expired``: the bearer token expires now: 401 ``{"error": "token_expired"}``,
      and the token stays expired (a client must fetch a new one, not just repeat).
    - ``repeat_page``: a listing request that carries a paging position gets the page
      served before it again (what a retried request sees on a flaky gateway).
    - ``html_body``: a gateway answers 200 with its HTML error page instead of the API's
      JSON (any route, the token endpoint included).
    - ``truncated_body``: the answer is 200 but only its first ``share`` of bytes arrive:
      with ``whole_length`` the ``Content-Length`` announces the whole body and the
      connection drops mid-body; without it the cut body is served as if complete (a
      gateway's size limit), so only the JSON is broken.
    - ``short_page``: an OEM list page is served without its last ``missing`` items
      while ``total`` still counts them (the DMS has no total: ignored there).

    Faults that damage or change what the source serves (the extractor must reject,
    report or catch up on them; DMS only, ignored elsewhere):

    - ``bad_record``: a listing page is served with one record damaged, the one at
      position ``row`` of the page (the last one if the page is shorter); ``damage``:
      ``bad_updated_at`` (a legacy zero date), ``null_pk``, ``null_updated_at``,
      ``renamed_field`` (``field`` renamed to ``to`` after a DMS upgrade, e.g. customers'
      ``mobile`` → ``phone``), ``bad_number`` (``field`` with a thousands separator,
      ``"12,000"``), ``unannounced_field`` (a new ``field`` nobody announced). Without
      ``field`` the simulator picks the entity's usual one (``dms_api``). Paging is
      unaffected and only this answer is damaged (the same page asked again is clean),
      so a damage counts exactly once per such answer.
    - ``late_change``: a record of the listing's entity (and dealer) changes now, but
      its new version says ``updated_at`` = the world's clock minus ``days``: older than
      any daily window still being read, so only a deep read over those days finds it.
      The change stays, and every later listing shows it.

    The random plan draws the transient faults by default (``default_random_faults``);
    the others only when asked (``record_faults``, ``FaultPlan.random(record_rate=)``).
    """

    kind: FaultKind
    status: int | None = None
    retry_after: int | None = None
    seconds: float = 0.0
    damage: RecordDamage | None = None
    row: int = 0
    field: str | None = None
    to: str | None = None
    share: float = 0.5
    whole_length: bool = True
    missing: int = 1
    days: float = 0.0

    @classmethod
    def error(cls, status: int, retry_after: int | None = None) -> Fault:
        """An HTTP error answer (500/502/503, or 429 with ``retry_after``)."""
        return cls("error", status=status, retry_after=retry_after)

    @classmethod
    def rate_limited(cls, retry_after: int = 1) -> Fault:
        """429 Too Many Requests with ``Retry-After: <retry_after>``."""
        return cls.error(429, retry_after=retry_after)

    @classmethod
    def stall(cls, seconds: float) -> Fault:
        """The answer comes only after ``seconds``."""
        return cls("stall", seconds=seconds)

    @classmethod
    def token_expired(cls) -> Fault:
        """The caller's bearer token expires early (DMS only; ignored elsewhere)."""
        return cls("token_expired")

    @classmethod
    def repeat_page(cls) -> Fault:
        """The previous page of the same listing is served again."""
        return cls("repeat_page")

    @classmethod
    def html_body(cls) -> Fault:
        """200 with a gateway's HTML error page as the body."""
        return cls("html_body")

    @classmethod
    def truncated_body(cls, share: float = 0.5, whole_length: bool = True) -> Fault:
        """200 with only the first ``share`` of the body (see the class docstring)."""
        if not 0.0 <= share < 1.0:
            raise ValueError(f"share must be in [0, 1), got {share}")
        return cls("truncated_body", share=share, whole_length=whole_length)

    @classmethod
    def short_page(cls, missing: int = 1) -> Fault:
        """An OEM page without its last ``missing`` items, ``total`` unchanged."""
        if missing < 1:
            raise ValueError(f"missing must be at least 1, got {missing}")
        return cls("short_page", missing=missing)

    @classmethod
    def bad_record(
        cls, damage: RecordDamage = "bad_updated_at", row: int = 0, field: str | None = None, to: str | None = None
    ) -> Fault:
        """One record of the page (0-based ``row``) served damaged (DMS only)."""
        if damage not in RECORD_DAMAGES:
            raise ValueError(f"damage must be one of {', '.join(RECORD_DAMAGES)}, got {damage!r}")
        return cls("bad_record", damage=damage, row=row, field=field, to=to)

    @classmethod
    def late_change(cls, days: float = 10.0, row: int = 0) -> Fault:
        """A record changes now with ``updated_at`` ``days`` in the past (DMS only);
        ``row`` picks among the candidates, most recently changed first."""
        if days <= 0:
            raise ValueError(f"days must be positive, got {days}")
        return cls("late_change", days=days, row=row)


@dataclass(frozen=True)
class FaultRule:
    """When a fault applies: to requests whose path starts with ``path``, either the
    ``nth`` such request (1-based, counted per exact path) or, with no ``nth``, each
    request with probability ``rate``."""

    fault: Fault
    path: str = "/"
    nth: int | None = None
    rate: float = 0.0

    def matches_path(self, path: str) -> bool:
        return path.startswith(self.path)


def default_random_faults(stall_seconds: float = 60.0) -> tuple[Fault, ...]:
    """Every transient fault kind feeds.md lists; stalls last ``stall_seconds`` (past any
    sane client timeout: the client's timeout, not the stall, is what a run waits)."""
    return (
        Fault.rate_limited(1),
        Fault.error(500),
        Fault.error(502),
        Fault.error(503),
        Fault.stall(stall_seconds),
        Fault.token_expired(),
        Fault.repeat_page(),
        Fault.html_body(),
        Fault.truncated_body(),
        Fault.truncated_body(whole_length=False),
        Fault.short_page(),
    )


def record_faults(late_days: float = 10.0) -> tuple[Fault, ...]:
    """Every way the DMS serves a record that breaks the contract, and the late change
    (backdated ``late_days``): what a replay turns on at a few percent to see the
    rejects, reports and deep reads they cause."""
    return (
        *(Fault.bad_record(damage) for damage in RECORD_DAMAGES),
        Fault.late_change(late_days),
    )


@dataclass
class FaultPlan:
    """The faults one server injects. Scripted rules (with ``nth``) win over random ones;
    exactly one random draw is made per request, so a seed replays the same faults for
    the same sequence of requests."""

    rules: list[FaultRule] = dataclasses.field(default_factory=list)
    seed: int = 0
    _rng: random.Random = dataclasses.field(init=False, repr=False)
    _counts: Counter[str] = dataclasses.field(init=False, repr=False, default_factory=Counter)
    _lock: threading.Lock = dataclasses.field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @classmethod
    def random(
        cls,
        rate: float,
        seed: int = 0,
        path: str = "/",
        faults: tuple[Fault, ...] | None = None,
        record_rate: float = 0.0,
    ) -> FaultPlan:
        """Each request to ``path`` faults with probability ``rate``, the fault picked
        uniformly from ``faults`` (default: every transient kind of feeds.md §1), and
        with probability ``record_rate`` gets one of ``record_faults()`` instead."""
        if not 0.0 <= rate + record_rate <= 1.0 or min(rate, record_rate) < 0.0:
            raise ValueError(f"fault rates must be between 0 and 1 in all, got {rate} and {record_rate}")
        rules = _uniform(faults or default_random_faults(), rate, path) if rate else []
        if record_rate:
            rules += _uniform(record_faults(), record_rate, path)
        return cls(rules, seed=seed)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FaultPlan:
        """The plan of a simulator given none: ``BAOKE_SIM_FAULT_RATE`` (transient
        faults), ``BAOKE_SIM_RECORD_FAULT_RATE`` (damaged records and late changes) and
        ``BAOKE_SIM_FAULT_SEED``, all unset by default (no faults). So a replay, the demo
        or ``baoke simulate serve`` runs against a misbehaving DMS without a code change:
        ``BAOKE_SIM_RECORD_FAULT_RATE=0.03 baoke simulate replay ...``."""
        env = os.environ if environ is None else environ
        rate = float(env.get("BAOKE_SIM_FAULT_RATE") or 0)
        record_rate = float(env.get("BAOKE_SIM_RECORD_FAULT_RATE") or 0)
        seed = int(env.get("BAOKE_SIM_FAULT_SEED") or 0)
        return cls.random(rate, seed=seed, record_rate=record_rate)

    @classmethod
    def script(cls, *rules: FaultRule) -> FaultPlan:
        """A plan made of the given rules only (typically each with an ``nth``)."""
        return cls(list(rules))

    def script_next(self, path: str, fault: Fault) -> None:
        """Give ``fault`` to the next request to exactly ``path`` (a fault a replay wants
        on a given day, whatever the random draws of the days before made)."""
        with self._lock:
            self.rules.append(FaultRule(fault, path, nth=self._counts[path] + 1))

    def next_fault(self, path: str) -> Fault | None:
        """Count one more request to ``path`` and return the fault it gets, if any."""
        with self._lock:
            self._counts[path] += 1
            return self._pick(path, self._counts[path], self._rng.random())

    def requests_to(self, path: str) -> int:
        """How many requests to ``path`` were seen (for tests and logs)."""
        with self._lock:
            return self._counts[path]

    def requests(self) -> int:
        """How many requests were seen in all (for logs: how many draws were made)."""
        with self._lock:
            return sum(self._counts.values())

    def _pick(self, path: str, number: int, draw: float) -> Fault | None:
        candidates = [rule for rule in self.rules if rule.matches_path(path)]
        for rule in candidates:
            if rule.nth == number:
                return rule.fault
        threshold = 0.0
        for rule in candidates:
            if rule.nth is None:
                threshold += rule.rate
                if draw < threshold:
                    return rule.fault
        return None


@dataclass(frozen=True)
class Injected:
    """One fault a simulated API applied to an answer. A fault drawn for a request it
    cannot change (a repeated page with no page before it, a damaged record on an empty
    page, a short page from the DMS, a token expiry at the OEM's API key) is not one.
    ``detail`` says what it did where that matters for finding its trace: the HTTP
    status of an error; for a damaged record its entity, the record's key and version
    as served clean, the damage and the record as served; for a late change the version
    it made."""

    kind: FaultKind
    path: str
    query: Mapping[str, str]
    detail: Mapping[str, Any] = dataclasses.field(default_factory=dict)


class InjectionLog:
    """The faults a simulated API applied, in order, until a reader takes them
    (``drain``): a replay takes each day's, to find what the platform made of them."""

    def __init__(self) -> None:
        self._items: list[Injected] = []
        self._lock = threading.Lock()

    def add(self, item: Injected) -> None:
        with self._lock:
            self._items.append(item)

    def drain(self) -> list[Injected]:
        """Every fault applied since the last drain, oldest first."""
        with self._lock:
            items, self._items = self._items, []
            return items


def _uniform(faults: tuple[Fault, ...], rate: float, path: str) -> list[FaultRule]:
    """Rules drawing one of ``faults``, each as likely, with ``rate`` in all."""
    return [FaultRule(f, path=path, rate=rate / len(faults)) for f in faults]
