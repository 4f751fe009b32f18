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

Composition: `gateway.selection.HopCandidates` chooses the candidates of a hop
(order, capability and breaker skips, the tries bound); one round over them is
`Router._round`; the rounds, their backoff, Retry-After, the deadline check and
the jitter come from the shared `agentplane.resilience.retry_call`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from agentplane import request_context
from agentplane.errors import (
    AgentplaneError,
    DeadlineExceededError,
    InvalidArgumentError,
    ResourceExhaustedError,
    UnavailableError,
)
from agentplane.resilience import BreakerRegistry, CircuitBreaker, retry_call
from agentplane.settings import RetrySettings
from gateway.catalogue import Deployment, RoutePlan
from gateway.metrics import GatewayMetrics
from gateway.models import Attempt, ChatRequest, Completion, Embeddings, StreamDelta, StreamEnd
from gateway.pii import Redaction
from gateway.selection import HopCandidates, attempt_record
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


@dataclass(slots=True)
class _Run:
    """What one routed request has done so far, over every hop."""

    plan: RoutePlan
    attempts: list[Attempt] = field(default_factory=list)
    failures: list[UpstreamError] = field(default_factory=list)
    calls: int = 0
    breaker_wait_s: float | None = None

    def note_breaker_wait(self, wait_s: float | None) -> None:
        if wait_s is not None:
            self.breaker_wait_s = wait_s if self.breaker_wait_s is None else min(self.breaker_wait_s, wait_s)


class _RoundFailedError(Exception):
    """Every candidate of a round failed; `retry_call` decides whether another round follows."""

    def __init__(self, retry: bool, retry_after_s: float | None) -> None:
        super().__init__("every candidate of the round failed")
        self.retry = retry
        self.retry_after_s = retry_after_s

    @staticmethod
    def worth_retrying(exc: BaseException) -> bool:
        return isinstance(exc, _RoundFailedError) and exc.retry

    @staticmethod
    def asked_wait_s(exc: BaseException) -> float | None:
        return exc.retry_after_s if isinstance(exc, _RoundFailedError) else None


class Router:
    """Sends requests along route plans.

    Args:
        providers: Provider kind ("openai", "azure_openai", "anthropic") -> adapter.
        breakers: One breaker per deployment name.
        retry: Retry settings.
        rng: Randomness for weighted choice and jitter (injectable).
        metrics: Where attempts, retries and fallbacks are counted (None: not counted).
    """

    def __init__(
        self,
        providers: Mapping[str, ChatProvider],
        breakers: BreakerRegistry,
        retry: RetrySettings,
        rng: random.Random | None = None,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self._providers = dict(providers)
        self.breakers = breakers
        self._policy = retry.policy()
        self._budget = retry.budget()
        self._rng = rng or random.Random()
        self._metrics = metrics

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

    async def _run(
        self,
        plan: RoutePlan,
        call: _Call[T],
        *,
        requires_tools: bool,
        redaction: Redaction | None,
        stream: bool = False,
    ) -> tuple[T, Routed]:
        """Each hop in turn: rounds over its candidates, with backoff between rounds (`retry_call`)."""
        run = _Run(plan)
        self._budget.record_request()
        for hop in plan.hops:
            run.attempts.extend(hop.skipped)
            if hop.fallback_from and self._metrics is not None:
                self._metrics.fallback(plan.route.alias)
            candidates = HopCandidates(
                hop,
                self.breakers,
                self._rng,
                requires_tools=requires_tools,
                max_tries=self._policy.max_attempts,
                attempts=run.attempts,
            )

            def on_retry(number: int, exc: BaseException, delay: float, hop: HopCandidates = candidates) -> None:
                hop.waited_s = delay
                hop.reason = f"retry {number} after {delay:.3f}s backoff"
                if self._metrics is not None:
                    self._metrics.retry(plan.route.alias)

            async def one_round(_number: int, hop: HopCandidates = candidates) -> tuple[T, Deployment]:
                return await self._round(run, hop, call, stream=stream)

            try:
                value, dep = await retry_call(
                    one_round,
                    self._policy,
                    retryable=_RoundFailedError.worth_retrying,
                    retry_after=_RoundFailedError.asked_wait_s,
                    on_retry=on_retry,
                    rng=self._rng,
                )
            except _RoundFailedError:
                continue  # the next alias of the chain
            finally:
                run.note_breaker_wait(candidates.breaker_wait_s)
            redacted = redaction is not None and redaction.changed and not dep.on_prem
            return value, Routed(dep, run.attempts, run.calls, redacted)
        raise self._final(run, "")

    async def _round(
        self, run: _Run, candidates: HopCandidates, call: _Call[T], *, stream: bool
    ) -> tuple[T, Deployment]:
        """One pass over the hop's candidates: each failure fails over to the next at once.

        Raises:
            _RoundFailedError: Every candidate of the round failed (`retry` says whether another round may help).
            InvalidArgumentError: An upstream rejected the request itself.
            DeadlineExceededError: The caller's deadline passed.
            AgentplaneError: The retry budget is exhausted (the whole call ends).
        """
        failures: list[UpstreamError] = []
        for cand in candidates.round():
            dep, breaker = cand.deployment, cand.breaker
            if run.calls > 0 and not self._budget.try_spend():
                breaker.release_probe()
                raise self._final(run, "retry budget exhausted")
            timeout_s, caller_bound = self._timeout(dep)
            waited = candidates.start_try()
            run.calls += 1
            started = time.perf_counter()
            try:
                value = await call(dep, timeout_s)
            except UpstreamError as exc:
                latency_ms = (time.perf_counter() - started) * 1000.0
                if self._metrics is not None:
                    self._metrics.upstream_call(dep.name, exc.kind.value, latency_ms / 1000.0)
                error = f"{exc.kind.value}: {exc.message}"
                record = attempt_record(
                    dep, "error", cand.reason, latency_ms=latency_ms, error=error, http_status=exc.http_status
                )
                record.backoff_s = waited
                run.attempts.append(record)
                self._settle_failure(dep, breaker, exc, caller_bound=caller_bound)
                run.failures.append(exc)
                too_long = exc.retry_after_s is not None and exc.retry_after_s > self._policy.max_retry_after_s
                if not exc.kind.retryable or too_long:
                    candidates.exclude(dep)
                else:
                    failures.append(exc)
                candidates.reason = f"failover after {dep.name} failed"
                continue
            except BaseException:
                breaker.release_probe()
                raise
            if not stream:  # a stream's verdict comes at its end (stream_ended)
                breaker.record_success()
            latency_ms = (time.perf_counter() - started) * 1000.0
            if self._metrics is not None:
                self._metrics.upstream_call(dep.name, "ok", latency_ms / 1000.0)
            record = attempt_record(dep, "ok", cand.reason, latency_ms=latency_ms)
            record.backoff_s = waited
            run.attempts.append(record)
            return value, dep
        asked = [f.retry_after_s for f in failures if f.retry_after_s is not None]
        raise _RoundFailedError(not candidates.exhausted, max(asked) if asked else None)

    @staticmethod
    def _settle_failure(dep: Deployment, breaker: CircuitBreaker, exc: UpstreamError, *, caller_bound: bool) -> None:
        """Report a failed attempt to its breaker; raise when the failure ends the whole call.

        Raises:
            DeadlineExceededError: The attempt timed out on the caller's deadline (not the upstream's fault).
            InvalidArgumentError: The upstream rejected the request itself (neither retried nor failed over).
        """
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
    def _final(run: _Run, why: str) -> AgentplaneError:
        """The error of a call no deployment answered, from what was tried."""
        alias = run.plan.route.alias
        failures, breaker_wait = run.failures, run.breaker_wait_s
        summary = "; ".join(
            f"{a.deployment}: {a.outcome}" + (f" ({a.error})" if a.error else "")
            for a in run.attempts
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
