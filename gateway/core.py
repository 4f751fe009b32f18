"""The gateway core that both fronts (gRPC and the OpenAI-compatible HTTP API) share.

Layer: domain. For every request, in this order and before any upstream call:
validate, resolve the alias, apply its defaults and the tenant's token cap, check
the sensitivity rule and the tenant's budgets. Then: cache lookup, single-flight,
routing (retries, breakers, fallbacks), PII restoration, accounting, cache write.
The fronts only translate wire formats and authenticate; the caller's tenant
comes in as a string.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import replace

from agentplane import request_context
from agentplane.errors import DeadlineExceededError, InvalidArgumentError, UnavailableError
from agentplane.resilience import BreakerState
from gateway.budget import BudgetPolicy, UsageReport
from gateway.cache import ResponseCache, cache_key, from_cache, is_cacheable
from gateway.catalogue import AliasRoute, Catalogue, Deployment, RoutePlan
from gateway.config import GatewaySettings
from gateway.metrics import GatewayMetrics
from gateway.models import (
    CacheMode,
    ChatChunk,
    ChatRequest,
    ChatResult,
    Completion,
    EmbedRequest,
    EmbedResult,
    Message,
    StreamEnd,
    TokenLogprob,
    Usage,
)
from gateway.pii import Redaction, Redactor
from gateway.routing import Routed, Router
from gateway.single_flight import SingleFlight
from gateway.tokens import estimate_prompt_tokens
from gateway.upstream import ChatProvider, UpstreamError
from gateway.usage import UsageLedger
from gateway.validation import RequestValidator

__all__ = ["GatewayCore"]


def _request_id() -> str:
    return "chatcmpl-" + (request_context.current().request_id or request_context.new_id())


class GatewayCore:
    """Policy, cache, routing and accounting behind both fronts.

    Args:
        settings: Gateway settings.
        catalogue: Aliases and route plans.
        router: Sends requests upstream.
        providers: Adapters to close on shutdown.
        cache: Response cache (None = caching off).
        ledger: Usage accounting.
        metrics: Where cache lookups, single-flight joins and first tokens are counted (None: not counted).
    """

    def __init__(
        self,
        settings: GatewaySettings,
        catalogue: Catalogue,
        router: Router,
        providers: Mapping[str, ChatProvider],
        cache: ResponseCache | None,
        ledger: UsageLedger,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self._settings = settings
        self._cache_settings = settings.cache
        self.catalogue = catalogue
        self.router = router
        self._providers = providers
        self.cache = cache if settings.cache.enabled else None
        self.ledger = ledger
        self.budgets = BudgetPolicy(settings.budgets, ledger)
        self.flights: SingleFlight[ChatResult] | None = SingleFlight() if settings.cache.single_flight else None
        self._validator = RequestValidator(settings.requests)
        self._redactor = Redactor(settings.pii)
        self._metrics = metrics
        self._closed = False

    async def start(self) -> None:
        """Load usage and start background flushing."""
        await self.ledger.start()

    async def aclose(self) -> None:
        """Flush usage, close the cache and every provider session (reverse order of use); idempotent."""
        if self._closed:
            return
        self._closed = True
        await self.ledger.aclose()
        if self.cache is not None:
            await self.cache.aclose()
        for provider in {id(p): p for p in self._providers.values()}.values():
            await provider.aclose()

    # --- policy --------------------------------------------------------------------

    def _prepare(self, req: ChatRequest, tenant: str) -> RoutePlan:
        route = self.catalogue.route(req.model)
        self._validator.check_chat(req)
        plan = self.catalogue.plan(req.model, req.sensitivity.sensitive)
        if req.tools:
            self.catalogue.check_tools(plan)
        if route.system_prompt and not any(m.role == "system" for m in req.messages):
            req.messages.insert(0, Message("system", route.system_prompt))
        if req.temperature is None and route.default_temperature is not None:
            req.temperature = route.default_temperature
        req.max_tokens = self.budgets.cap_max_tokens(tenant, req.max_tokens, route.default_max_tokens)
        self.budgets.check(tenant)
        return plan

    def _redaction(self, req: ChatRequest, plan: RoutePlan) -> Redaction | None:
        if plan.has_cloud and (req.redact_pii or self._redactor.always_for_cloud):
            return self._redactor.redact(req)
        return None

    def _cache_key(self, req: ChatRequest, tenant: str) -> str | None:
        if self.cache is None or not is_cacheable(req, self._cache_settings):
            return None
        return cache_key(tenant, req)

    def _ttl(self, req: ChatRequest) -> int:
        ttl = req.cache_ttl_s or self._cache_settings.default_ttl_s
        return min(ttl, self._cache_settings.max_ttl_s)

    def _usage(self, dep: Deployment, inp: int, out: int, calls: int, reported: bool) -> Usage:
        return Usage(inp, out, dep.cost_usd(inp, out), calls, not reported)

    # --- chat ----------------------------------------------------------------------

    async def complete(self, req: ChatRequest, tenant: str) -> ChatResult:
        """One chat answer for `tenant`.

        Raises:
            InvalidArgumentError, NotFoundError, FailedPreconditionError, ResourceExhaustedError,
            UnavailableError, DeadlineExceededError: See the LLMGateway contract.
        """
        plan = self._prepare(req, tenant)
        rid = _request_id()
        key = self._cache_key(req, tenant)
        if key is not None and req.cache_mode is CacheMode.USE:
            hit = await self._cached(key, tenant, rid)
            if hit is not None:
                return hit
            if self.flights is not None:
                result, follower = await self._shared(key, lambda: self._fetch(req, plan, tenant, key, rid))
                if not follower:
                    return result
                if self._metrics is not None:
                    self._metrics.single_flight_join()
                self.ledger.record(tenant, result.alias, result.deployment, Usage(), cache_hit=True)
                shared = from_cache(result, rid)
                shared.attempts = result.attempts
                return shared
        return await self._fetch(req, plan, tenant, key, rid)

    async def _cached(self, key: str, tenant: str, rid: str) -> ChatResult | None:
        """The cached answer under `key`, counted as a cache hit; None on a miss."""
        assert self.cache is not None  # a cache key is only made when there is a cache
        hit = await self.cache.get(key)
        if self._metrics is not None:
            self._metrics.cache_lookup(hit is not None)
        if hit is None:
            return None
        self.ledger.record(tenant, hit.alias, hit.deployment, Usage(), cache_hit=True)
        return from_cache(hit, rid)

    async def _shared(self, key: str, fetch: Callable[[], Awaitable[ChatResult]]) -> tuple[ChatResult, bool]:
        """Run `fetch` once for every concurrent identical request.

        The shared call outlives the caller that started it (it runs under the longer of
        that caller's deadline and the default one, and stops only when every caller has
        gone); each caller still waits no longer than its own deadline.
        """
        ctx = request_context.current()
        floor = time.monotonic() + self._settings.requests.default_deadline_s
        deadline = floor if ctx.deadline is None else max(ctx.deadline, floor)

        async def detached() -> ChatResult:
            with request_context.use(replace(ctx, deadline=deadline)):
                return await fetch()

        assert self.flights is not None
        left = request_context.remaining_s()
        try:
            async with asyncio.timeout(left):
                return await self.flights.run(key, detached)
        except TimeoutError:
            raise DeadlineExceededError(
                "the call's deadline passed while waiting for an identical request's answer",
                reason="DEADLINE_EXCEEDED",
            ) from None

    async def _fetch(self, req: ChatRequest, plan: RoutePlan, tenant: str, key: str | None, rid: str) -> ChatResult:
        redaction = self._redaction(req, plan)
        completion, routed = await self.router.complete(plan, req, redaction)
        if redaction is not None and routed.redacted:
            completion.content = redaction.restore(completion.content)
            completion.tool_calls = redaction.restore_calls(completion.tool_calls)
        result = self._result(rid, completion, routed)
        self.ledger.record(tenant, result.alias, result.deployment, result.usage)
        if key is not None and self.cache is not None:
            await self.cache.set(key, result, self._ttl(req))
        return result

    def _result(self, rid: str, completion: Completion, routed: Routed) -> ChatResult:
        dep = routed.deployment
        usage = self._usage(
            dep, completion.input_tokens, completion.output_tokens, routed.upstream_calls, completion.usage_reported
        )
        return ChatResult(
            rid,
            dep.alias,
            dep.name,
            dep.provider,
            dep.residency,
            completion,
            usage,
            False,
            routed.attempts,
            routed.redacted,
        )

    async def stream(self, req: ChatRequest, tenant: str) -> AsyncGenerator[ChatChunk, None]:
        """A chat answer as chunks; the first names who answers, the last carries usage.

        A failure before the first token fails over; one after it raises
        UnavailableError (reason STREAM_INTERRUPTED) after the chunks already sent.

        Raises:
            The errors of `complete`.
        """
        arrived = time.perf_counter()
        plan = self._prepare(req, tenant)
        rid = _request_id()
        key = self._cache_key(req, tenant)
        if key is not None and req.cache_mode is CacheMode.USE:
            hit = await self._cached(key, tenant, rid)
            if hit is not None:
                for chunk in _replay(hit):
                    yield chunk
                return
        redaction = self._redaction(req, plan)
        opened, routed = await self.router.open_stream(plan, req, redaction)
        dep = routed.deployment
        restorer = redaction.stream_restorer() if redaction is not None and routed.redacted else None
        parts: list[str] = []
        logprobs: list[TokenLogprob] | None = [] if req.logprobs else None
        end: StreamEnd | None = None
        started = False
        verdict: bool | None = None
        try:
            async with contextlib.aclosing(opened.events()) as events:
                async for event in events:
                    if isinstance(event, StreamEnd):
                        end = event
                        break
                    text = restorer.feed(event.text) if restorer is not None else event.text
                    parts.append(text)
                    if logprobs is not None and event.logprobs:
                        logprobs.extend(event.logprobs)
                    chunk = ChatChunk(rid, text, event.logprobs)
                    if not started:
                        _stamp(chunk, routed)
                        started = True
                        if self._metrics is not None:
                            self._metrics.first_token(dep.alias, time.perf_counter() - arrived)
                    yield chunk
        except UpstreamError as exc:
            verdict = False
            sent = sum(len(p) for p in parts)
            spent = self._usage(dep, estimate_prompt_tokens(req.messages), len(parts), routed.upstream_calls, False)
            self.ledger.record(tenant, dep.alias, dep.name, spent)
            raise UnavailableError(
                f"the answer from {dep.name} broke off after {sent} characters ({exc.message}); "
                "the chunks already sent are an incomplete answer",
                reason="STREAM_INTERRUPTED",
                metadata={"deployment": dep.name, "model": dep.alias, "chars_sent": str(sent)},
            ) from None
        else:
            verdict = end is not None
        finally:
            self.router.stream_ended(dep, ok=verdict)
            await opened.rest.aclose()
        if end is None:
            raise UnavailableError(f"the stream from {dep.name} ended without a finish", reason="STREAM_INTERRUPTED")
        calls = end.tool_calls
        tail = ""
        if restorer is not None and redaction is not None:
            calls = redaction.restore_calls(calls)
            tail = restorer.flush()
            parts.append(tail)
        usage = self._usage(dep, end.input_tokens, end.output_tokens, routed.upstream_calls, end.usage_reported)
        self.ledger.record(tenant, dep.alias, dep.name, usage)
        last = ChatChunk(
            rid, tail, finish_reason=end.finish_reason, usage=usage, tool_calls=calls, attempts=routed.attempts
        )
        if not started:
            _stamp(last, routed)
        if key is not None and self.cache is not None:
            completion = Completion(
                "".join(parts), end.finish_reason, calls, logprobs, end.input_tokens, end.output_tokens
            )
            result = ChatResult(
                rid, dep.alias, dep.name, dep.provider, dep.residency, completion, usage, False, [], routed.redacted
            )
            await self.cache.set(key, result, self._ttl(req))
        yield last

    # --- embeddings, usage, catalogue ------------------------------------------------

    async def embed(self, req: EmbedRequest, tenant: str) -> EmbedResult:
        """Embeddings for `tenant`.

        Raises:
            InvalidArgumentError: Not an embedding alias, or bad inputs.
            NotFoundError, FailedPreconditionError, ResourceExhaustedError, UnavailableError: As for chat.
        """
        route = self.catalogue.route(req.model)
        if not route.embeddings:
            served = ", ".join(a for a, r in self.catalogue.routes.items() if r.embeddings) or "none"
            raise InvalidArgumentError(
                f"model {req.model!r} does not serve embeddings; embedding aliases: {served}",
                reason="NOT_AN_EMBEDDING_MODEL",
                metadata={"model": req.model},
            )
        self._validator.check_embed(req)
        plan = self.catalogue.plan(req.model, req.sensitivity.sensitive)
        self.budgets.check(tenant)
        embeddings, routed = await self.router.embed(plan, req.inputs)
        dep = routed.deployment
        usage = Usage(embeddings.input_tokens, 0, dep.cost_usd(embeddings.input_tokens, 0), routed.upstream_calls)
        self.ledger.record(tenant, dep.alias, dep.name, usage)
        return EmbedResult(dep.alias, dep.name, embeddings.vectors, usage, routed.attempts)

    def usage(self, tenant: str) -> UsageReport:
        """The tenant's usage against its budgets."""
        return self.budgets.report(tenant)

    def models(self) -> list[tuple[AliasRoute, dict[str, BreakerState]]]:
        """Every alias with the breaker state of each of its deployments."""
        breakers = self.router.breakers
        return [
            (route, {d.name: breakers.get(d.name).state for d in route.deployments})
            for route in self.catalogue.routes.values()
        ]


def _stamp(chunk: ChatChunk, routed: Routed) -> None:
    dep = routed.deployment
    chunk.first = True
    chunk.alias, chunk.deployment, chunk.provider, chunk.residency = dep.alias, dep.name, dep.provider, dep.residency
    chunk.pii_redacted = routed.redacted


def _replay(result: ChatResult) -> list[ChatChunk]:
    """A cached answer as a two-chunk stream (the whole text, then the finish)."""
    c = result.completion
    head = ChatChunk(
        result.id,
        c.content,
        c.logprobs,
        first=True,
        alias=result.alias,
        deployment=result.deployment,
        provider=result.provider,
        residency=result.residency,
        cache_hit=True,
        pii_redacted=result.pii_redacted,
    )
    last = ChatChunk(result.id, finish_reason=c.finish_reason, usage=result.usage, tool_calls=c.tool_calls, attempts=[])
    return [head, replace(last, cache_hit=True)]
