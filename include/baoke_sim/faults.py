"""Fault injection for the simulated feed APIs (feeds.md §1, "Faults the API really shows").

Extractors must survive 429s, 5xx answers, stalled responses, a token that expires in the
middle of a paging loop and a page served twice, and must put aside (not crash on, not
load) a record the source serves damaged. The simulators produce each of these on
demand so that the retry logic is exercised by tests and demos, not first met in
production. A plan is either *scripted* ("the 3rd request to /v1/repair_orders answers
429") or *random* (each request faults with some probability); both are deterministic:
scripted rules by construction, random ones through a seeded ``random.Random``.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["error", "stall", "token_expired", "repeat_page", "bad_record"]
#: How the ``bad_record`` fault damages its record.
RecordDamage = Literal["bad_updated_at", "null_pk"]


@dataclass(frozen=True)
class Fault:
    """What goes wrong with one request.

    - ``error``: answer ``status`` (429/500/502/503) with a JSON error body, plus
      ``Retry-After: <retry_after>`` when given (always for 429).
    - ``stall``: answer normally, but only after ``seconds`` (longer than the client's
      timeout, so the client gives up first).
    - ``token_expired``: the bearer token expires now: 401 ``{"error": "token_expired"}``,
      and the token stays expired (a client must fetch a new one, not just repeat).
    - ``repeat_page``: a listing request that carries a paging position gets the page
      served before it again (what a retried request sees on a flaky gateway).
    - ``bad_record``: a listing page is served with one record damaged, the one at
      position ``row`` of the page (the last one if the page is shorter): its
      ``updated_at`` unparseable (``damage="bad_updated_at"``) or its primary key null
      (``"null_pk"``). Paging is unaffected and only this answer is damaged (the same
      page asked again is clean), so the reject count is exactly one per such answer.
      DMS only; ignored elsewhere. Not among the random faults: those are transient
      and lose nothing, a damaged record is a loss the extractor must report.
    """

    kind: FaultKind
    status: int | None = None
    retry_after: int | None = None
    seconds: float = 0.0
    damage: RecordDamage | None = None
    row: int = 0

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
    def bad_record(cls, damage: RecordDamage = "bad_updated_at", row: int = 0) -> Fault:
        """One record of the page (0-based ``row``) served damaged (DMS only)."""
        if damage not in ("bad_updated_at", "null_pk"):
            raise ValueError(f"damage must be bad_updated_at or null_pk, got {damage!r}")
        return cls("bad_record", damage=damage, row=row)


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
    """Every fault kind feeds.md lists; stalls last ``stall_seconds`` (past any sane
    client timeout: the client's timeout, not the stall, is what a run waits)."""
    return (
        Fault.rate_limited(1),
        Fault.error(500),
        Fault.error(502),
        Fault.error(503),
        Fault.stall(stall_seconds),
        Fault.token_expired(),
        Fault.repeat_page(),
    )


@dataclass
class FaultPlan:
    """The faults one server injects. Scripted rules (with ``nth``) win over random ones;
    exactly one random draw is made per request, so a seed replays the same faults for
    the same sequence of requests."""

    rules: list[FaultRule] = field(default_factory=list)
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _counts: Counter[str] = field(init=False, repr=False, default_factory=Counter)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @classmethod
    def random(
        cls,
        rate: float,
        seed: int = 0,
        path: str = "/",
        faults: tuple[Fault, ...] | None = None,
    ) -> FaultPlan:
        """Each request to ``path`` faults with probability ``rate``, the fault picked
        uniformly from ``faults`` (default: every kind of feeds.md §1)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, got {rate}")
        kinds = faults or default_random_faults()
        share = rate / len(kinds)
        return cls([FaultRule(f, path=path, rate=share) for f in kinds], seed=seed)

    @classmethod
    def script(cls, *rules: FaultRule) -> FaultPlan:
        """A plan made of the given rules only (typically each with an ``nth``)."""
        return cls(list(rules))

    def next_fault(self, path: str) -> Fault | None:
        """Count one more request to ``path`` and return the fault it gets, if any."""
        with self._lock:
            self._counts[path] += 1
            return self._pick(path, self._counts[path], self._rng.random())

    def requests_to(self, path: str) -> int:
        """How many requests to ``path`` were seen (for tests and logs)."""
        with self._lock:
            return self._counts[path]

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
