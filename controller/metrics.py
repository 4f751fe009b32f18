"""The controller's own metrics: tasks by route and outcome, queue, confidence, escalations, reviews, downstreams.

Layer: domain-level instrumentation (prometheus_client through the shared registry).
Labels are bounded: routes, outcomes (task states) and reason codes are enums,
downstream services and methods are fixed by the contracts. No task, review or
session id is ever a label: those are in the audit trail and the traces.

    agentplane_controller_tasks_submitted_total
    agentplane_controller_tasks_total{route, outcome}            outcome: the settled state, lower case
    agentplane_controller_task_seconds{route}                    received -> settled
    agentplane_controller_queue_wait_seconds                      accepted -> a worker picked it up
    agentplane_controller_queue_depth / _running_tasks / _backlog  scraped
    agentplane_controller_confidence{route}                       histogram of scores 0..1
    agentplane_controller_escalations_total{reason}               to human review
    agentplane_controller_clarifications_total{reason}            a question back to the submitter
    agentplane_controller_reviews_pending / _review_oldest_age_seconds   refreshed before each scrape
    agentplane_controller_review_resolution_seconds{decision}     review opened -> resolved
    agentplane_controller_downstream_calls_total{service, method, outcome}
    agentplane_controller_downstream_call_seconds{service}
    agentplane_breaker_state{breaker, state}                      one breaker per downstream service
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence

from agentplane.metrics import MetricsRegistry, watch_breakers
from agentplane.resilience import BreakerState

__all__ = ["ControllerMetrics", "ReviewStats"]

_SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99, 1.0)
_TASK_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_REVIEW_BUCKETS_S = (1.0, 10.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0, 3 * 86400.0)

ReviewStats = Callable[[], Awaitable[tuple[int, float]]]
"""Reads (pending reviews, age in seconds of the oldest pending one; 0 when none) from the store."""


class ControllerMetrics:
    """The controller's domain metrics on a service registry.

    Args:
        registry: The service's registry.
    """

    def __init__(self, registry: MetricsRegistry) -> None:
        self._registry = registry
        self._submitted = registry.counter("controller_tasks_submitted", "Tasks accepted (persisted and queued).")
        self._tasks = registry.counter(
            "controller_tasks", "Tasks that reached an outcome, by route and outcome.", ["route", "outcome"]
        )
        self._task_seconds = registry.histogram(
            "controller_task_seconds",
            "Time from a task's arrival to its outcome, by route.",
            ["route"],
            buckets=_TASK_BUCKETS_S,
        )
        self._queue_wait = registry.histogram(
            "controller_queue_wait_seconds",
            "Time a task waited in the queue before a worker took it.",
            buckets=_TASK_BUCKETS_S,
        )
        self._confidence = registry.histogram(
            "controller_confidence", "Confidence scores of results, by route.", ["route"], buckets=_SCORE_BUCKETS
        )
        self._escalations = registry.counter(
            "controller_escalations", "Tasks sent to human review, by reason.", ["reason"]
        )
        self._clarifications = registry.counter(
            "controller_clarifications", "Tasks answered with a question to the submitter, by reason.", ["reason"]
        )
        self._resolution = registry.histogram(
            "controller_review_resolution_seconds",
            "Time from a review's opening to its resolution, by decision (expired included).",
            ["decision"],
            buckets=_REVIEW_BUCKETS_S,
        )
        self._pending = registry.gauge("controller_reviews_pending", "Reviews waiting for a reviewer.")
        self._oldest = registry.gauge(
            "controller_review_oldest_age_seconds", "Age of the oldest review waiting for a reviewer (0: none)."
        )
        self._calls = registry.counter(
            "controller_downstream_calls",
            "Calls to other services, by service, method and outcome (after retries).",
            ["service", "method", "outcome"],
        )
        self._call_seconds = registry.histogram(
            "controller_downstream_call_seconds", "Downstream call latency (retries included), by service.", ["service"]
        )

    def watch(
        self,
        *,
        queue_depth: Callable[[], int],
        running: Callable[[], int],
        backlog: Callable[[], int],
        breakers: Callable[[], Iterable[tuple[str, BreakerState]]],
    ) -> None:
        """Export the queue and the downstream breakers, read at every scrape."""

        def one(read: Callable[[], int]) -> Callable[[], Iterator[tuple[Sequence[str], float]]]:
            def rows() -> Iterator[tuple[Sequence[str], float]]:
                yield (), float(read())

            return rows

        reg = self._registry
        reg.scraped_gauge("controller_queue_depth", "Tasks queued, not yet taken by a worker.", [], one(queue_depth))
        reg.scraped_gauge("controller_running_tasks", "Tasks being worked on now.", [], one(running))
        reg.scraped_gauge(
            "controller_backlog", "Tasks accepted and not finished (queued, running, reserved).", [], one(backlog)
        )
        watch_breakers(reg, lambda: dict(breakers()))

    async def refresh_reviews(self, stats: ReviewStats) -> None:
        """Refresh the review gauges (run before each scrape)."""
        pending, oldest = await stats()
        self._pending.set(pending)
        self._oldest.set(oldest)

    def submitted(self) -> None:
        """A task was accepted."""
        self._submitted.inc()

    def queue_wait(self, seconds: float) -> None:
        """A worker took a task after it waited `seconds` in the queue."""
        self._queue_wait.observe(seconds)

    def settled(self, route: str, outcome: str, seconds: float | None) -> None:
        """A task reached an outcome (`route` "" when it failed before planning)."""
        route = route or "NONE"
        self._tasks.labels(route, outcome.lower()).inc()
        if seconds is not None:
            self._task_seconds.labels(route).observe(seconds)

    def confidence(self, route: str, score: float) -> None:
        """A result's confidence score."""
        self._confidence.labels(route).observe(score)

    def escalated(self, reason: str) -> None:
        """A task went to review (`reason` is a reason code)."""
        self._escalations.labels(reason).inc()

    def clarified(self, reason: str) -> None:
        """A task got a question back (`reason` is a reason code)."""
        self._clarifications.labels(reason).inc()

    def review_resolved(self, decision: str, seconds: float) -> None:
        """A review was decided (approve, edit, reject) or expired, `seconds` after it opened."""
        self._resolution.labels(decision.lower()).observe(seconds)

    def downstream_call(self, service: str, method: str, outcome: str, seconds: float) -> None:
        """A call to another service ended ("OK" or the status code name, after retries)."""
        self._calls.labels(service, method, outcome).inc()
        self._call_seconds.labels(service).observe(seconds)

    @staticmethod
    def now() -> float:
        """The clock queue waits are measured with."""
        return time.monotonic()
