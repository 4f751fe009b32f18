"""Candidate selection: weighted order, capability and breaker skips, the tries bound."""

from __future__ import annotations

import random
from collections import Counter

from agentplane.resilience import BreakerRegistry, BreakerSettings
from gateway.catalogue import Catalogue, Hop
from gateway.config import GatewaySettings
from gateway.models import Attempt
from gateway.selection import HopCandidates, weighted_order


def _catalogue() -> Catalogue:
    def dep(name: str, **extra: object) -> dict[str, object]:
        return {"name": name, "model": "m", "base_url": "http://127.0.0.1:1/v1", **extra}

    settings = GatewaySettings.model_validate(
        {
            "models": {
                "w": {"deployments": [dep("heavy", weight=3), dep("light", weight=1)]},
                "mixed": {"deployments": [dep("no-tools", supports_tools=False), dep("tools")]},
            }
        }
    )
    return Catalogue.from_settings(settings, {})


def _hop(alias: str) -> Hop:
    return _catalogue().plan(alias, sensitive=False).hops[0]


def test_weighted_order_follows_weights() -> None:
    deployments = _catalogue().routes["w"].deployments
    rng = random.Random(7)
    firsts = Counter(weighted_order(deployments, rng)[0].name for _ in range(4000))
    assert 0.70 < firsts["heavy"] / 4000 < 0.80


def test_a_round_skips_deployments_without_tools_and_records_why() -> None:
    attempts: list[Attempt] = []
    hop = HopCandidates(
        _hop("mixed"), BreakerRegistry(), random.Random(1), requires_tools=True, max_tries=3, attempts=attempts
    )
    assert [c.deployment.name for c in hop.round()] == ["tools"]
    assert [(a.deployment, a.outcome) for a in attempts] == [("no-tools", "skipped_capability")]
    assert [c.deployment.name for c in hop.round()] == ["tools"], "a skip holds for the whole hop, recorded once"
    assert len(attempts) == 1


def test_open_breakers_are_skipped_with_their_wait() -> None:
    breakers = BreakerRegistry(BreakerSettings(failure_threshold=1, cool_down_s=30.0))
    breakers.get("heavy").record_failure()
    attempts: list[Attempt] = []
    hop = HopCandidates(_hop("w"), breakers, random.Random(1), requires_tools=False, max_tries=3, attempts=attempts)
    assert [c.deployment.name for c in hop.round()] == ["light"]
    assert attempts[0].outcome == "breaker_open" and hop.breaker_wait_s is not None and hop.breaker_wait_s > 29
    hop.exclude(_hop("w").deployments[1])
    assert hop.exhausted


def test_tries_bound_every_round() -> None:
    hop = HopCandidates(_hop("w"), BreakerRegistry(), random.Random(1), requires_tools=False, max_tries=3, attempts=[])
    names = []
    for cand in hop.round():
        hop.start_try()
        names.append(cand.deployment.name)
    assert len(names) == 2 and not hop.exhausted
    for cand in hop.round():
        hop.start_try()
        names.append(cand.deployment.name)
    assert len(names) == 3 and hop.exhausted, "the third try ends the hop in the middle of a round"
    assert names[2] == names[0], "every round keeps the hop's weighted order"
