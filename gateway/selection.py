"""Candidate selection: which deployments of one hop to try, in which order.

Layer: domain. The router asks a `HopCandidates` for one round of candidates at a
time; the selection owns the weighted random order (fixed for the whole hop, so a
retry round goes through the deployments in the same order), and rules out for
the rest of the hop the deployments that cannot serve the request: those without
a needed capability, those whose circuit is open, and those the router excludes
after a failure that retrying cannot fix. Every skip is recorded as an `Attempt`.
Nothing here waits or does I/O.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from agentplane.resilience import BreakerRegistry, BreakerState, CircuitBreaker
from gateway.catalogue import Deployment, Hop
from gateway.models import Attempt

__all__ = ["Candidate", "HopCandidates", "attempt_record", "weighted_order"]


def attempt_record(dep: Deployment, outcome: str, reason: str, **extra: object) -> Attempt:
    """An `Attempt` about `dep` (extra: latency_ms, error, http_status, backoff_s)."""
    return Attempt(dep.alias, dep.name, dep.provider, dep.residency, outcome, reason, **extra)  # type: ignore[arg-type]


def weighted_order(deps: Sequence[Deployment], rng: random.Random) -> Sequence[Deployment]:
    """A weighted random permutation of `deps` (heavier deployments tend to come first)."""
    if len(deps) < 2:
        return deps
    rnd = rng.random
    # Efraimidis-Spirakis: a weighted random permutation in one sort.
    return sorted(deps, key=lambda d: rnd() ** (1.0 / d.weight), reverse=True)


@dataclass(slots=True)
class Candidate:
    """A deployment cleared for one attempt (its breaker has admitted the call)."""

    deployment: Deployment
    breaker: CircuitBreaker
    reason: str
    """Why it is tried, for the attempt record ("weighted choice among 2 deployments", ...)."""


class HopCandidates:
    """The deployments of one hop, minus those ruled out so far.

    Args:
        hop: The hop (one alias of the route plan).
        breakers: One breaker per deployment.
        rng: Randomness of the weighted order.
        requires_tools: Only deployments that can call tools qualify.
        max_tries: Upstream calls allowed in this hop, over all its rounds.
        attempts: Where skips are recorded (the caller's audit trail).
    """

    def __init__(
        self,
        hop: Hop,
        breakers: BreakerRegistry,
        rng: random.Random,
        *,
        requires_tools: bool,
        max_tries: int,
        attempts: list[Attempt],
    ) -> None:
        self._order = weighted_order(hop.deployments, rng)
        self._breakers = breakers
        self._requires_tools = requires_tools
        self._attempts = attempts
        self._excluded: set[str] = set()
        self._max_tries = max_tries
        self.tries = 0
        """Upstream calls made in this hop so far."""
        self.waited_s = 0.0
        """The backoff waited before the next attempt (recorded with it, then reset)."""
        self.breaker_wait_s: float | None = None
        """The soonest an open breaker of this hop lets a probe through (None: none was open)."""
        self.reason = self._first_reason(hop)
        """Why the next candidate is tried; the router updates it on failover and retry."""

    @staticmethod
    def _first_reason(hop: Hop) -> str:
        if hop.fallback_from:
            return f"fallback from alias {hop.fallback_from!r}"
        n = len(hop.deployments)
        return f"weighted choice among {n} deployments" if n > 1 else "only deployment of the alias"

    def exclude(self, dep: Deployment) -> None:
        """Rule `dep` out for the rest of the hop."""
        self._excluded.add(dep.name)

    def start_try(self) -> float:
        """Count one upstream call; return the backoff waited before it."""
        self.tries += 1
        waited, self.waited_s = self.waited_s, 0.0
        return waited

    @property
    def exhausted(self) -> bool:
        """No further round can make a call: the tries are used up or every deployment is ruled out."""
        return self.tries >= self._max_tries or all(d.name in self._excluded for d in self._order)

    def round(self) -> Iterator[Candidate]:
        """The deployments still in play, in order, while tries are left; skips are recorded as they are met."""
        for dep in self._order:
            if self.tries >= self._max_tries:
                return
            if dep.name in self._excluded:
                continue
            if self._requires_tools and not dep.supports_tools:
                self._excluded.add(dep.name)
                self._attempts.append(attempt_record(dep, "skipped_capability", "deployment does not support tools"))
                continue
            breaker = self._breakers.get(dep.name)
            if not breaker.allow():
                wait = breaker.retry_after_s()
                self.breaker_wait_s = wait if self.breaker_wait_s is None else min(self.breaker_wait_s, wait)
                self._excluded.add(dep.name)
                self._attempts.append(attempt_record(dep, "breaker_open", f"circuit open; next probe in {wait:.1f}s"))
                continue
            why = f"half-open probe; {self.reason}" if breaker.state is BreakerState.HALF_OPEN else self.reason
            yield Candidate(dep, breaker, why)
