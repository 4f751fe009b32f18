"""One downstream service: its channel, circuit breaker, retries and call accounting.

Layer: controller adapters. Every gRPC call the controller makes goes through
`Downstream.call`: the breaker fails fast while the service is down, retries are
budgeted and stay inside the task's deadline, and the returned `CallInfo` says
how long it took, how many attempts it needed and how it ended.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import grpc

from agentplane.errors import AgentplaneError, Code
from agentplane.resilience import CircuitBreaker, retry_call
from agentplane.rpc import ServiceChannel
from agentplane.settings import ClientSettings
from controller.capabilities import CallInfo
from controller.config import DownstreamSettings
from controller.metrics import ControllerMetrics

__all__ = ["Downstream"]

T = TypeVar("T")

# Failures that say the service is unhealthy (others are the caller's fault).
_HEALTH_CODES = frozenset({Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED, Code.INTERNAL, Code.UNKNOWN})


class Downstream:
    """A service the controller calls.

    Args:
        name: Service name ("gateway", "domain_inference", "realtime").
        addresses: host:port of its replicas.
        client: Client settings (key, default timeout).
        settings: Breaker and retry settings.
        metrics: Where calls are counted by outcome (None: not counted).
        interceptors: More client interceptors for the channel (tracing).
    """

    def __init__(
        self,
        name: str,
        addresses: tuple[str, ...],
        client: ClientSettings,
        settings: DownstreamSettings,
        *,
        metrics: ControllerMetrics | None = None,
        interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
    ) -> None:
        self.name = name
        self._metrics = metrics
        self.channel = ServiceChannel(addresses, client, interceptors=interceptors)
        self.breaker = CircuitBreaker(name, settings.breaker.breaker_settings())
        self._policy = settings.retry.policy()
        self._budget = settings.retry.budget()
        self._timeout_s = settings.timeout_s

    async def call(self, method: str, attempt: Callable[[float], Awaitable[T]]) -> tuple[T, CallInfo]:
        """Run `attempt(timeout_s)` with breaker and retries.

        Raises:
            AgentplaneError: The last failure (UnavailableError with reason CIRCUIT_OPEN
                when the breaker refused the call); its `call_info` attribute holds the CallInfo.
        """
        started = time.perf_counter()
        attempts = 0

        async def once(_: int) -> T:
            nonlocal attempts
            self.breaker.check()
            attempts += 1
            try:
                result = await attempt(self._timeout_s)
            except AgentplaneError as exc:
                if exc.code in _HEALTH_CODES:
                    self.breaker.record_failure()
                else:
                    self.breaker.record_success()
                raise
            self.breaker.record_success()
            return result

        try:
            result = await retry_call(once, self._policy, budget=self._budget, retryable=_retryable)
        except AgentplaneError as exc:
            info = CallInfo(
                self.name, method, _ms(started), attempts, "error", {"code": exc.code.name, "error": exc.message}
            )
            exc.call_info = info  # type: ignore[attr-defined]
            if self._metrics is not None:
                self._metrics.downstream_call(self.name, method, exc.code.name, info.latency_ms / 1000)
            raise
        info = CallInfo(self.name, method, _ms(started), attempts)
        if self._metrics is not None:
            self._metrics.downstream_call(self.name, method, "OK", info.latency_ms / 1000)
        return result, info

    async def aclose(self) -> None:
        """Close the channel."""
        await self.channel.aclose()


def _retryable(exc: BaseException) -> bool:
    # An open breaker will not close during a short backoff: fail over at once instead.
    return isinstance(exc, AgentplaneError) and exc.retryable and exc.reason != "CIRCUIT_OPEN"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
