"""Task analysis: explicit rules first, then semantic routing against route exemplars.

Layer: controller domain. `Router.plan` turns a task into a `Plan`: the route, its
steps, every route's score and the reasons. Rules decide where they are certain
(a task-type hint, a tenant policy, a URL); otherwise the task's embedding is
compared with each route's exemplars (cosine similarity), and the plan is marked
ambiguous when the two best routes score too close together or none fits well.
Embeddings come through the `Embedder` protocol (the domain-inference encoder).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from controller.config import RoutingSettings, TenantPolicy
from controller.models import Capability, Plan, PlanStep, Route, RouteScore

__all__ = [
    "DEFAULT_EXEMPLARS",
    "HINT_ROUTES",
    "Embedder",
    "Router",
    "TaskFacts",
    "find_urls",
    "route_from_hint",
]

# task_type hints that decide the route outright.
HINT_ROUTES: dict[str, Route] = {
    "classify": Route.DOMAIN,
    "classification": Route.DOMAIN,
    "news_topic": Route.DOMAIN,
    "domain": Route.DOMAIN,
    "general": Route.LLM,
    "llm": Route.LLM,
    "generate": Route.LLM,
    "realtime": Route.REALTIME,
    "lookup": Route.REALTIME,
    "extract": Route.REALTIME,
    "realtime_answer": Route.REALTIME_LLM,
    "agent": Route.AGENT,
}

# What each route answers, as example requests (the encoder compares tasks with them).
DEFAULT_EXEMPLARS: dict[Route, tuple[str, ...]] = {
    Route.DOMAIN: (
        "Classify this news article by topic.",
        "Which news section does this story belong to: business, entertainment, politics, sport or tech?",
        "Tag the topic of the following article.",
        "Shares in the company rose sharply after it reported record quarterly profits and raised its forecast.",
        "The government faces a crucial vote in parliament on its controversial new bill.",
        "The striker scored twice as the club came from behind to win the championship match.",
        "The new smartphone chip promises faster processing, better cameras and longer battery life.",
        "The film won best picture at the awards ceremony, and its lead actress was also honoured.",
    ),
    Route.LLM: (
        "What is the capital of France?",
        "Write a short, friendly email to my team about moving the meeting to Friday.",
        "Explain how compound interest works in simple terms.",
        "Summarise the following paragraph in two sentences.",
        "Translate this sentence into German.",
        "Give me three ideas for a team offsite.",
        "What are the pros and cons of a fixed-rate mortgage?",
        "Draft a polite reply declining the invitation.",
    ),
    Route.REALTIME: (
        "What is the current price of this product on the website?",
        "What does the page say right now?",
        "Check the latest exchange rate listed on the bank's page.",
        "What are today's top headlines on the news site?",
        "Has the terms and conditions page changed recently?",
        "Look up the current opening hours on their website.",
    ),
}

_URL = re.compile(r"https?://[^\s<>\"'()\[\]{}]+", re.IGNORECASE)
_INSTRUCTION_PREFIX = re.compile(
    r"^\s*(please\s+)?(classify|categori[sz]e|tag|label|what\s+(is\s+the\s+)?(topic|category|section)[^:]*)[^:\n]{0,80}[:\n]\s*",
    re.IGNORECASE,
)


def find_urls(text: str) -> list[str]:
    """The http(s) URLs in `text`, in order, trailing punctuation removed, without repeats."""
    seen: dict[str, None] = {}
    for match in _URL.findall(text):
        seen[match.rstrip(".,;:!?")] = None
    return list(seen)


def strip_instruction(text: str) -> str:
    """The text to classify: a leading "Classify this article:" style instruction removed."""
    stripped = _INSTRUCTION_PREFIX.sub("", text, count=1)
    return stripped if stripped.strip() else text


def route_from_hint(task_type: str, policy: TenantPolicy) -> Route | None:
    """The route a task type decides: the tenant's policy first, then the built-in hints."""
    typed = policy.task_types.get(task_type)
    if typed is not None and typed.route:
        return Route(typed.route)
    if task_type.startswith("tool:"):
        return Route.EXTERNAL_TOOL
    return HINT_ROUTES.get(task_type.lower())


class Embedder(Protocol):
    """Turns texts into unit-norm vectors."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text."""
        ...


@dataclass(frozen=True)
class TaskFacts:
    """What analysis needs to know about a task."""

    text: str
    task_type: str
    urls: tuple[str, ...]
    has_schema: bool
    tool: str = ""
    domain_model: str = "news-topic"
    llm_model: str = "general"


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(y * y for y in b)) or 1.0
    return dot / (na * nb)


class Router:
    """Plans tasks.

    Args:
        settings: Routing settings (exemplars, margins).
        embedder: Source of embeddings for semantic routing (None = rules only).
    """

    def __init__(self, settings: RoutingSettings, embedder: Embedder | None) -> None:
        self._settings = settings
        self._embedder = embedder if settings.semantic else None
        exemplars: Mapping[Route, Sequence[str]] = (
            {Route(k): v for k, v in settings.exemplars.items()} if settings.exemplars else DEFAULT_EXEMPLARS
        )
        self._exemplars = {route: tuple(texts) for route, texts in exemplars.items()}
        self._vectors: dict[Route, list[list[float]]] | None = None

    async def _exemplar_vectors(self) -> dict[Route, list[list[float]]]:
        if self._vectors is None:
            assert self._embedder is not None
            routes = list(self._exemplars)
            flat = [text for r in routes for text in self._exemplars[r]]
            vectors = await self._embedder.embed(flat)
            out: dict[Route, list[list[float]]] = {}
            i = 0
            for r in routes:
                n = len(self._exemplars[r])
                out[r] = vectors[i : i + n]
                i += n
            self._vectors = out
        return self._vectors

    async def semantic_scores(self, text: str) -> list[RouteScore]:
        """Each route's score: mean of its two most similar exemplars, best first."""
        assert self._embedder is not None
        exemplars = await self._exemplar_vectors()
        (vector,) = await self._embedder.embed([text[:2000]])
        scores = []
        for route, vectors in exemplars.items():
            sims = sorted((_cosine(vector, v) for v in vectors), reverse=True)
            top = sims[:2]
            scores.append(RouteScore(route, round(sum(top) / len(top), 4), "semantic similarity to route exemplars"))
        return sorted(scores, key=lambda s: s.score, reverse=True)

    async def plan(self, facts: TaskFacts, policy: TenantPolicy) -> Plan:
        """Choose the route and steps for a task, recording every reason."""
        rules: list[str] = []
        candidates: list[RouteScore] = []
        route = route_from_hint(facts.task_type, policy) if facts.task_type else None
        if route is not None:
            rules.append(f"task_type_hint:{facts.task_type}")
            candidates.append(RouteScore(route, 1.0, f"task_type {facts.task_type!r} decides the route"))
        elif facts.urls:
            route = Route.REALTIME if facts.has_schema or _only_urls(facts.text) else Route.REALTIME_LLM
            rules.append("url_present")
            candidates.append(RouteScore(route, 1.0, "the task names a URL to consult"))
        ambiguous = False
        if route is None and self._embedder is not None:
            candidates = await self.semantic_scores(facts.text)
            best, second = candidates[0], candidates[1]
            route = best.route
            ambiguous = best.score - second.score < self._settings.ambiguity_margin or (
                best.score < self._settings.min_route_score
            )
        elif route is None:
            route = Route.LLM
            rules.append("default_route")
            candidates.append(RouteScore(Route.LLM, 0.5, "no rule fired and semantic routing is off"))
        return Plan(
            route=route,
            steps=self._steps(route, facts),
            candidates=tuple(candidates),
            rules_fired=tuple(rules),
            rationale=_rationale(route, rules, candidates, ambiguous),
            ambiguous=ambiguous,
        )

    def _steps(self, route: Route, facts: TaskFacts) -> tuple[PlanStep, ...]:
        if route is Route.DOMAIN:
            return (PlanStep("s1", Capability.DOMAIN_CLASSIFY, facts.domain_model, (), "classify the text by topic"),)
        if route is Route.LLM:
            return (PlanStep("s1", Capability.LLM_COMPLETE, facts.llm_model, (), "answer with the general LLM"),)
        if route is Route.AGENT:
            return (PlanStep("s1", Capability.LLM_COMPLETE, facts.llm_model, (), "plan and answer with tools"),)
        if route is Route.EXTERNAL_TOOL:
            return (PlanStep("s1", Capability.EXTERNAL_TOOL, facts.tool or facts.task_type[5:], (), "call the tool"),)
        cap = Capability.REALTIME_EXTRACT if facts.has_schema else Capability.REALTIME_FETCH
        fetches = tuple(
            PlanStep(f"s{i + 1}", cap, url, (), "extract the schema's fields" if facts.has_schema else "fetch the page")
            for i, url in enumerate(facts.urls)
        )
        if route is Route.REALTIME:
            return fetches
        answer = PlanStep(
            f"s{len(fetches) + 1}",
            Capability.LLM_COMPLETE,
            facts.llm_model,
            tuple(s.step_id for s in fetches),
            "answer from the fetched content",
        )
        return (*fetches, answer)


def _only_urls(text: str) -> bool:
    rest = _URL.sub(" ", text)
    rest = re.sub(
        r"\b(fetch|get|open|read|show|scrape|load|check|page|the|please|url|from|of|at)\b", " ", rest, flags=re.I
    )
    return not re.sub(r"[\W_]+", "", rest)


def _rationale(route: Route, rules: list[str], candidates: list[RouteScore], ambiguous: bool) -> str:
    if rules:
        return f"{route.value}: decided by rule {rules[0]}"
    shown = ", ".join(f"{c.route.value}={c.score:.3f}" for c in candidates[:3])
    verdict = "ambiguous (scores too close or too low)" if ambiguous else "clear winner"
    return f"{route.value}: semantic routing {shown}; {verdict}"
