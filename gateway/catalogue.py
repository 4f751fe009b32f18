"""The model catalogue as precomputed routing tables.

Layer: domain. Built once at start from `GatewaySettings.models`: every alias gets
its fallback chain resolved, and for both sensitivity classes the deployments each
hop may use and the skip records for those it may not. A request then costs one
dict lookup to know where it may go.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from agentplane.errors import FailedPreconditionError, FieldViolation, InvalidArgumentError, NotFoundError
from gateway.config import AliasSettings, DeploymentSettings, GatewaySettings
from gateway.models import Attempt

__all__ = ["AliasRoute", "Catalogue", "Deployment", "Hop", "RoutePlan"]


@dataclass(frozen=True, slots=True)
class Deployment:
    """One deployment with its key resolved and its prices per token."""

    name: str
    alias: str
    provider: str
    model: str
    base_url: str
    api_key: str
    api_version: str
    weight: float
    residency: str
    input_price_per_token: float
    output_price_per_token: float
    timeout_s: float
    stream_idle_timeout_s: float
    supports_logprobs: bool
    supports_tools: bool
    stream_usage: bool
    max_tokens_field: str
    extra_headers: tuple[tuple[str, str], ...]
    settings: DeploymentSettings

    @property
    def on_prem(self) -> bool:
        """Whether the data stays on premises."""
        return self.residency == "on_prem"

    def cost_usd(self, input_tokens: int, output_tokens: int) -> float:
        """Price of a call with these token counts."""
        return input_tokens * self.input_price_per_token + output_tokens * self.output_price_per_token


@dataclass(frozen=True, slots=True)
class AliasRoute:
    """One alias: its deployments and defaults."""

    alias: str
    deployments: tuple[Deployment, ...]
    fallbacks: tuple[str, ...]
    default_max_tokens: int
    default_temperature: float | None
    system_prompt: str
    embeddings: bool


@dataclass(frozen=True, slots=True)
class Hop:
    """One alias of a fallback chain, filtered for a sensitivity class."""

    alias: str
    deployments: tuple[Deployment, ...]
    """Usable deployments, in configured order."""
    skipped: tuple[Attempt, ...]
    """Records for deployments this sensitivity may not use."""
    fallback_from: str
    """The alias whose failure led here ("" for the requested alias)."""


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """Where a request for one alias may go, in order."""

    route: AliasRoute
    hops: tuple[Hop, ...]
    has_cloud: bool
    """Some usable deployment is a cloud one (PII redaction may apply)."""
    calls_tools: bool
    """Some usable deployment can call tools (`supports_tools`)."""


def _deployment(alias: str, cfg: DeploymentSettings, env: Mapping[str, str]) -> Deployment:
    key = env.get(cfg.api_key_env, "") if cfg.api_key_env else ""
    if not key and cfg.api_key is not None:
        key = cfg.api_key.get_secret_value()
    logprobs = cfg.supports_logprobs if cfg.supports_logprobs is not None else cfg.provider != "anthropic"
    return Deployment(
        name=cfg.name,
        alias=alias,
        provider=cfg.provider,
        model=cfg.model,
        base_url=cfg.base_url.rstrip("/"),
        api_key=key,
        api_version=cfg.api_version,
        weight=cfg.weight,
        residency=cfg.residency,
        input_price_per_token=cfg.input_price_per_1k / 1000.0,
        output_price_per_token=cfg.output_price_per_1k / 1000.0,
        timeout_s=cfg.timeout_s,
        stream_idle_timeout_s=cfg.stream_idle_timeout_s,
        supports_logprobs=logprobs,
        supports_tools=cfg.supports_tools,
        stream_usage=cfg.stream_usage,
        max_tokens_field=cfg.max_tokens_field,
        extra_headers=tuple(cfg.extra_headers.items()),
        settings=cfg,
    )


def _route(alias: str, cfg: AliasSettings, env: Mapping[str, str]) -> AliasRoute:
    return AliasRoute(
        alias=alias,
        deployments=tuple(_deployment(alias, d, env) for d in cfg.deployments),
        fallbacks=cfg.fallbacks,
        default_max_tokens=cfg.default_max_tokens,
        default_temperature=cfg.default_temperature,
        system_prompt=cfg.system_prompt,
        embeddings=cfg.embeddings,
    )


def _skip(dep: Deployment) -> Attempt:
    return Attempt(
        alias=dep.alias,
        deployment=dep.name,
        provider=dep.provider,
        residency=dep.residency,
        outcome="skipped_sensitivity",
        reason="cloud deployment not allowed for a sensitive (confidential/restricted) request",
    )


class Catalogue:
    """Aliases and their precomputed route plans.

    Args:
        routes: Alias -> route.
    """

    def __init__(self, routes: Mapping[str, AliasRoute]) -> None:
        self.routes = dict(routes)
        self._plans: dict[tuple[str, bool], RoutePlan] = {}
        for alias in self.routes:
            for sensitive in (False, True):
                self._plans[(alias, sensitive)] = self._plan(alias, sensitive)

    @classmethod
    def from_settings(cls, settings: GatewaySettings, env: Mapping[str, str]) -> Catalogue:
        """Build from settings; upstream keys are read from `env` once, here."""
        return cls({alias: _route(alias, cfg, env) for alias, cfg in settings.models.items()})

    def _chain(self, alias: str) -> list[tuple[str, str]]:
        chain: list[tuple[str, str]] = [(alias, "")]
        seen = {alias}
        i = 0
        while i < len(chain):
            current = chain[i][0]
            for nxt in self.routes[current].fallbacks:
                if nxt not in seen:
                    seen.add(nxt)
                    chain.append((nxt, current))
            i += 1
        return chain

    def _plan(self, alias: str, sensitive: bool) -> RoutePlan:
        hops = []
        for name, came_from in self._chain(alias):
            route = self.routes[name]
            usable = tuple(d for d in route.deployments if d.on_prem or not sensitive)
            skipped = tuple(_skip(d) for d in route.deployments if sensitive and not d.on_prem)
            hops.append(Hop(name, usable, skipped, came_from))
        reachable = [d for hop in hops for d in hop.deployments]
        has_cloud = any(not d.on_prem for d in reachable)
        return RoutePlan(self.routes[alias], tuple(hops), has_cloud, any(d.supports_tools for d in reachable))

    def route(self, alias: str) -> AliasRoute:
        """The route of `alias`.

        Raises:
            NotFoundError: Unknown alias (the message lists the known ones).
        """
        route = self.routes.get(alias)
        if route is None:
            known = ", ".join(sorted(self.routes))
            raise NotFoundError(
                f"unknown model alias {alias!r}; this gateway serves: {known}",
                reason="MODEL_NOT_FOUND",
                metadata={"model": alias},
            )
        return route

    def plan(self, alias: str, sensitive: bool) -> RoutePlan:
        """The route plan of `alias` for a sensitive or non-sensitive request.

        Raises:
            NotFoundError: Unknown alias.
            FailedPreconditionError: A sensitive request and no on_prem deployment in the chain.
        """
        plan = self._plans.get((alias, sensitive))
        if plan is None:
            self.route(alias)
            raise AssertionError("unreachable")  # route() raised
        if sensitive and not any(h.deployments for h in plan.hops):
            raise FailedPreconditionError(
                f"model {alias!r} has no on_prem deployment (fallbacks included) and the request is sensitive; "
                "send it with a lower sensitivity or configure an on_prem deployment",
                reason="NO_ON_PREM_DEPLOYMENT",
                metadata={"model": alias},
                violations=[FieldViolation("sensitivity", "sensitive data may only reach on_prem deployments")],
            )
        return plan

    def check_tools(self, plan: RoutePlan) -> None:
        """Refuse a request with tools for an alias that cannot call them (never drop them silently).

        Raises:
            InvalidArgumentError: No usable deployment of the plan supports tools (reason TOOLS_NOT_SUPPORTED).
        """
        if plan.calls_tools:
            return
        alias = plan.route.alias
        deployments = ", ".join(d.name for hop in plan.hops for d in hop.deployments) or "none usable"
        able = ", ".join(sorted(a for a, r in self.routes.items() if any(d.supports_tools for d in r.deployments)))
        hint = f"aliases that can: {able}" if able else "no alias of this gateway can"
        raise InvalidArgumentError(
            f"model {alias!r} cannot call tools: none of its deployments ({deployments}) supports tool calling; "
            f"send the request without tools, or use an alias that supports them ({hint})",
            reason="TOOLS_NOT_SUPPORTED",
            metadata={"model": alias},
            violations=[FieldViolation("tools", f"model {alias!r} cannot call tools")],
        )
