"""Routing: weighted choice, retries, per-deployment circuit breakers, alias fallbacks.

Layer: domain. For each hop of a route plan (the alias, then its fallbacks) the
router orders the usable deployments by weighted random choice and tries them:

- a failed attempt fails over to the next deployment of the alias at once;
- when every deployment of the alias failed in a round, it waits (full-jitter
  backoff, at least the upstream's Retry-After) and tries again, up to
  `retry.max_attempts` attempts per alias, never past the caller's deadline and
  within the process-wide retry budget;
- a deployment whose breaker is open costs nothing: it is skipped at once (also
  when it is the alias's only one) until a half-open probe succeeds;
- then the next alias of the chain is tried.

Every decision is recorded as an `Attempt` for the caller's audit trail.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from agentplane import request_context
from agentplane.errors import (
    AgentplaneError,
    DeadlineExceededError,
    InvalidArgumentError,
    ResourceExhaustedError,
    UnavailableError,
)
from agentplane.resilience import BreakerRegistry, BreakerState
from agentplane.settings import RetrySettings
from gateway.catalogue import Deployment, Hop, RoutePlan
from gateway.models import Attempt, ChatRequest, Completion, Embeddings, StreamDelta, StreamEnd
from gateway.pii import Redaction
from gateway.upstream import ChatProvider, FailureKind, UpstreamError

__all__ = ["OpenStream", "Routed", "Router"]

T = TypeVar("T")
_Call = Callable[[Deployment, float], Awaitable[T]]


@dataclass(slots=True)
class Routed:
    """A successful routing outcome."""

    deployment: Deployment
    attempts: list[Attempt]
    upstream_calls: int
    redacted: bool
    """The answering deployment received the redacted request."""


@dataclass(slots=True)
class OpenStream:
    """A stream that produced its first token: safe to commit to the caller."""

    buffered: list[StreamDelta | StreamEnd]
    rest: AsyncGenerator[StreamDelta | StreamEnd, None]

    async def events(self) -> AsyncGenerator[StreamDelta | StreamEnd, None]:
        """The buffered events, then the rest of the upstream stream."""
        for event in self.buffered:
            yield event
        async for event in self.rest:
            yield event


def _attempt(dep: Deployment, outcome: str, reason: str, **extra: object) -> Attempt:
    return Attempt(dep.alias, dep.name, dep.provider, dep.residency, outcome, reason, **extra)  # type: ignore[arg-type]


class Router:
    """Sends requests along route plans.

    Args:
        providers: Provider kind ("openai", "azure_openai", "anthropic") -> adapter.
        breakers: One breaker per deployment name.
        retry: Retry settings.
        rng: Randomness for weighted choice and jitter (injectable).
    """

    def __init__(
        self,
        providers: Mapping[str, ChatProvider],
        breakers: BreakerRegistry,
        retry: RetrySettings,
        rng: random.Random | None = None,
    ) -> None:
        self._providers = dict(providers)
        self.breakers = breakers
        self._policy = retry.policy()
        self._budget = retry.budget()
        self._rng = rng or random.Random()

    def provider(self, dep: Deployment) -> ChatProvider:
        """The adapter of a deployment."""
        return self._providers[dep.provider]

    async def complete(
        self, plan: RoutePlan, request: ChatRequest, redaction: Redaction | None
    ) -> tuple[Completion, Routed]:
        """One answer along `plan` (see the module docstring for the policy).

        Raises:
            InvalidArgumentError: An upstream rejected the request itself.
            ResourceExhaustedError: Every attempt was rate limited.
            UnavailableError: Every deployment failed or has an open circuit.
            DeadlineExceededError: The caller's deadline passed.
        """

        async def call(dep: Deployment, timeout_s: float) -> Completion:
            body = redaction.request if redaction is not None and not dep.on_prem else request
            return await self.provider(dep).complete(dep, body, timeout_s)

        return await self._run(plan, call, requires_tools=bool(request.tools), redaction=redaction)

    async def open_stream(
        self, plan: RoutePlan, request: ChatRequest, redaction: Redaction | None
    ) -> tuple[OpenStream, Routed]:
        """A stream that has produced its first token; failures before it fail over.

        Raises:
            The errors of `complete`.
        """

        async def call(dep: Deployment, timeout_s: float) -> OpenStream:
            body = redaction.request if redaction is not None and not dep.on_prem else request
            events = self.provider(dep).stream(dep, body, timeout_s)
            buffered: list[StreamDelta | StreamEnd] = []
            try:
                async with asyncio.timeout(timeout_s):
                    async for event in events:
                        buffered.append(event)
                        if isinstance(event, StreamEnd) or event.text:
                            break
            except TimeoutError:
                await events.aclose()
                raise UpstreamError(FailureKind.TIMEOUT, f"no first token within {timeout_s:.1f}s") from None
            except BaseException:
                await events.aclose()
                raise
            if not buffered:
                raise UpstreamError(FailureKind.PROTOCOL, "the stream ended before any event")
            return OpenStream(buffered, events)

        return await self._run(plan, call, requires_tools=bool(request.tools), redaction=redaction, stream=True)

    async def embed(self, plan: RoutePlan, inputs: list[str]) -> tuple[Embeddings, Routed]:
        """Embeddings along `plan`.

        Raises:
            The errors of `complete`.
        """

        async def call(dep: Deployment, timeout_s: float) -> Embeddings:
            return await self.provider(dep).embed(dep, inputs, timeout_s)

        return await self._run(plan, call, requires_tools=False, redaction=None)

    def stream_ended(self, dep: Deployment, *, ok: bool | None) -> None:
        """Report how an opened stream ended: True finished, False broke off, None abandoned by the caller.

        A stream's verdict for the breaker comes at its end, not at its first token, so a
        deployment that keeps breaking off mid-stream does open its breaker.
        """
        breaker = self.breakers.get(dep.name)
        if ok is None:
            breaker.release_probe()
        elif ok:
            breaker.record_success()
        else:
            breaker.record_failure()

    def _order(self, deps: tuple[Deployment, ...]) -> tuple[Deployment, ...] | list[Deployment]:
        if len(deps) < 2:
            return deps
        rnd = self._rng.random
        # Efraimidis-Spirakis: a weighted random permutation in one sort.
        return sorted(deps, key=lambda d: rnd() ** (1.0 / d.weight), reverse=True)

    @staticmethod
    def _first_reason(hop: Hop) -> str:
        if hop.fallback_from:
            return f"fallback from alias {hop.fallback_from!r}"
        n = len(hop.deployments)
        return f"weighted choice among {n} deployments" if n > 1 else "only deployment of the alias"

    async def _run(
        self,
        plan: RoutePlan,
        call: _Call[T],
        *,
        requires_tools: bool,
        redaction: Redaction | None,
        stream: bool = False,
    ) -> tuple[T, Routed]:
        attempts: list[Attempt] = []
        calls = 0
        failures: list[UpstreamError] = []
        breaker_wait: float | None = None
        self._budget.record_request()
        for hop in plan.hops:
            attempts.extend(hop.skipped)
            candidates = self._order(hop.deployments)
            excluded: set[str] = set()
            tries = 0
            round_no = 0
            reason = self._first_reason(hop)
            waited = 0.0
            while tries < self._policy.max_attempts:
                round_failures: list[UpstreamError] = []
                for dep in candidates:
                    if tries >= self._policy.max_attempts:
                        break
                    if dep.name in excluded:
                        continue
                    if requires_tools and not dep.supports_tools:
                        excluded.add(dep.name)
                        attempts.append(_attempt(dep, "skipped_capability", "deployment does not support tools"))
                        continue
                    breaker = self.breakers.get(dep.name)
                    if not breaker.allow():
                        wait = breaker.retry_after_s()
                        breaker_wait = wait if breaker_wait is None else min(breaker_wait, wait)
                        excluded.add(dep.name)
                        attempts.append(_attempt(dep, "breaker_open", f"circuit open; next probe in {wait:.1f}s"))
                        continue
                    why = f"half-open probe; {reason}" if breaker.state is BreakerState.HALF_OPEN else reason
                    if calls > 0 and not self._budget.try_spend():
                        breaker.release_probe()
                        raise self._final(plan, attempts, failures, breaker_wait, "retry budget exhausted")
                    timeout_s, caller_bound = self._timeout(dep)
                    tries += 1
                    calls += 1
                    started = time.perf_counter()
                    try:
                        value = await call(dep, timeout_s)
                    except UpstreamError as exc:
                        latency_ms = (time.perf_counter() - started) * 1000.0
                        attempts.append(
                            _attempt(
                                dep,
                                "error",
                                why,
                                latency_ms=latency_ms,
                                error=f"{exc.kind.value}: {exc.message}",
                                http_status=exc.http_status,
                                backoff_s=waited,
                            )
                        )
                        waited = 0.0
                        if exc.kind is FailureKind.TIMEOUT and caller_bound:
                            breaker.release_probe()
                            raise DeadlineExceededError(
                                f"the call's deadline passed while waiting for {dep.name}",
                                reason="DEADLINE_EXCEEDED",
                                metadata={"deployment": dep.name},
                            ) from None
                        if exc.kind.unhealthy:
                            breaker.record_failure()
                        else:
                            breaker.release_probe()
                        if exc.kind is FailureKind.REJECTED:
                            raise InvalidArgumentError(
                                f"{dep.name} rejected the request: {exc.message}",
                                reason="UPSTREAM_REJECTED",
                                metadata={"deployment": dep.name, "http_status": str(exc.http_status)},
                            ) from None
                        failures.append(exc)
                        round_failures.append(exc)
                        too_long = exc.retry_after_s is not None and exc.retry_after_s > self._policy.max_retry_after_s
                        if not exc.kind.retryable or too_long:
                            excluded.add(dep.name)
                        reason = f"failover after {dep.name} failed"
                        continue
                    except BaseException:
                        breaker.release_probe()
                        raise
                    if not stream:  # a stream's verdict comes at its end (stream_ended)
                        breaker.record_success()
                    attempts.append(
                        _attempt(
                            dep,
                            "ok",
                            why,
                            latency_ms=(time.perf_counter() - started) * 1000.0,
                            backoff_s=waited,
                        )
                    )
                    redacted = redaction is not None and redaction.changed and not dep.on_prem
                    return value, Routed(dep, attempts, calls, redacted)
                if tries >= self._policy.max_attempts or all(d.name in excluded for d in candidates):
                    break
                round_no += 1
                delay = self._policy.backoff_s(round_no, self._rng)
                asked = [f.retry_after_s for f in round_failures if f.retry_after_s is not None]
                if asked:
                    delay = max(delay, *asked)
                left = request_context.remaining_s()
                if left is not None and delay >= left:
                    break
                await asyncio.sleep(delay)
                waited = delay
                reason = f"retry {round_no} after {delay:.3f}s backoff"
        raise self._final(plan, attempts, failures, breaker_wait, "")

    @staticmethod
    def _timeout(dep: Deployment) -> tuple[float, bool]:
        left = request_context.remaining_s()
        if left is None or left >= dep.timeout_s:
            return dep.timeout_s, False
        if left <= 0:
            raise DeadlineExceededError(
                "the call's deadline passed before an upstream could be tried", reason="DEADLINE_EXCEEDED"
            )
        return left, True

    @staticmethod
    def _final(
        plan: RoutePlan,
        attempts: list[Attempt],
        failures: list[UpstreamError],
        breaker_wait: float | None,
        why: str,
    ) -> AgentplaneError:
        alias = plan.route.alias
        summary = "; ".join(
            f"{a.deployment}: {a.outcome}" + (f" ({a.error})" if a.error else "")
            for a in attempts
            if a.outcome != "skipped_sensitivity"
        )
        metadata = {"model": alias, "attempts": summary[:1000]}
        left = request_context.remaining_s()
        if left is not None and left <= 0:
            return DeadlineExceededError(
                f"the call's deadline passed while routing {alias!r}: {summary}",
                reason="DEADLINE_EXCEEDED",
                metadata=metadata,
            )
        hints = [f.retry_after_s for f in failures if f.retry_after_s is not None]
        if breaker_wait is not None:
            hints.append(breaker_wait)
        retry_after = round(min(hints), 3) if hints else None
        if not failures and breaker_wait is not None:
            return UnavailableError(
                f"every deployment of {alias!r} (fallbacks included) is failing and its circuit is open; "
                f"next probe in {breaker_wait:.1f}s",
                reason="CIRCUIT_OPEN",
                metadata=metadata,
                retry_after_s=retry_after,
            )
        if not failures:
            return UnavailableError(
                f"no deployment of {alias!r} can serve this request: {summary}",
                reason="NO_USABLE_DEPLOYMENT",
                metadata=metadata,
            )
        if all(f.kind is FailureKind.RATE_LIMITED for f in failures):
            return ResourceExhaustedError(
                f"every deployment of {alias!r} is rate limited upstream: {summary}",
                reason="UPSTREAM_RATE_LIMITED",
                metadata={**metadata, "subject": f"model:{alias}"},
                retry_after_s=retry_after,
            )
        prefix = f"{why}; " if why else ""
        return UnavailableError(
            f"{prefix}every deployment of {alias!r} failed: {summary}",
            reason="UPSTREAM_UNAVAILABLE",
            metadata=metadata,
            retry_after_s=retry_after,
        )
