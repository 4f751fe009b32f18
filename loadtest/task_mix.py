"""The traffic mix: what share of tasks goes to which route, with sample inputs.

Layer: load test data. The default mix is a bank's: 70% domain-model tasks, 20%
general LLM, 10% real-time data. Each kind has a pool of sample inputs; real-time
tasks consult URLs of a page server given by `realtime_base_url`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["DOMAIN_TEXTS", "LLM_TEXTS", "TaskMix", "TaskSample"]

# Article-length texts (60-90 tokens): the domain model answers text this long without
# escalating when it is sure; one-line snippets mostly go to review (see README, "Confidence").
DOMAIN_TEXTS = (
    "Shares in the retailer jumped 9% after it reported record half-year profits and raised its dividend. "
    "The chief executive said sales had grown faster than analysts expected and that forty new stores "
    "would open next year, while investors welcomed a plan to return cash through a share buyback.",
    "The central bank left interest rates unchanged on Thursday but signalled that inflation would fall "
    "next year. Economists said borrowing costs could start to come down in the spring if wage growth "
    "slows, and the pound fell against the dollar after the announcement.",
    "The chancellor faces pressure from backbench MPs over planned cuts to welfare spending. Opposition "
    "leaders accused the government of breaking an election promise, and a vote in the Commons next week "
    "is expected to be close as several ministers have voiced doubts in private.",
    "The opposition leader promised a referendum on the treaty if his party wins the general election. "
    "Speaking at the party conference, he said voters deserved a say and attacked the prime minister's "
    "record on immigration, health and the economy ahead of polling day.",
    "The striker scored a late winner as the champions came from behind to beat their rivals 2-1 on "
    "Saturday. The manager praised his side's spirit after a difficult first half, and the victory moves "
    "them three points clear at the top of the league with five games left.",
    "The tennis star withdrew from the tournament with a wrist injury a day before her opening match. "
    "She said she hoped to be fit for the grass-court season, and the organisers confirmed that a "
    "qualifier would take her place in the draw for the first round.",
    "The studio's new animated film took $120m at the box office in its opening weekend, the best start "
    "for an animated release this year. Critics praised the voice cast and the score, and the film is "
    "already tipped for awards when the nominations are announced in January.",
    "The band announced a world tour after their album topped the charts in a dozen countries. The "
    "singer said the new songs were the most personal they had written, and tickets for the London "
    "shows sold out within minutes of going on sale on Friday morning.",
    "The chip maker unveiled a processor that it says doubles battery life in laptops. The company "
    "expects the first computers using the chip to reach shops before Christmas, and analysts said the "
    "design could put pressure on rivals that have struggled with power consumption.",
    "Regulators fined the social network over its handling of users' personal data. The watchdog said "
    "the firm had failed to protect information about millions of people, and ordered changes to how it "
    "seeks consent before sharing data with advertisers and software developers.",
)
LLM_TEXTS = (
    "Explain in two sentences what a fixed-rate mortgage is.",
    "Write a one-line reminder to the team about Friday's meeting.",
    "What is the difference between a debit card and a credit card?",
    "Give me a short definition of inflation.",
    "Summarise why diversification reduces investment risk.",
)
REALTIME_PATHS = ("/rates.html", "/news.html", "/policy.html")


@dataclass(frozen=True)
class TaskSample:
    """One task to submit."""

    kind: str  # "domain" | "llm" | "realtime"
    text: str
    task_type: str
    urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskMix:
    """Shares of each kind of task (they need not sum to 1)."""

    domain: float = 0.70
    llm: float = 0.20
    realtime: float = 0.10
    realtime_base_url: str = "http://127.0.0.1:8090"

    @classmethod
    def parse(cls, spec: str, realtime_base_url: str) -> TaskMix:
        """From "domain=70,llm=20,realtime=10"."""
        shares = {k.strip(): float(v) for k, v in (part.split("=") for part in spec.split(",") if part.strip())}
        unknown = set(shares) - {"domain", "llm", "realtime"}
        if unknown:
            raise ValueError(f"unknown task kinds in mix: {sorted(unknown)}")
        return cls(shares.get("domain", 0), shares.get("llm", 0), shares.get("realtime", 0), realtime_base_url)

    def sample(self, rng: random.Random) -> TaskSample:
        """Draw one task."""
        kind = rng.choices(("domain", "llm", "realtime"), weights=(self.domain, self.llm, self.realtime))[0]
        if kind == "domain":
            return TaskSample(kind, rng.choice(DOMAIN_TEXTS), "classify")
        if kind == "llm":
            return TaskSample(kind, rng.choice(LLM_TEXTS), "general")
        url = self.realtime_base_url.rstrip("/") + rng.choice(REALTIME_PATHS)
        return TaskSample(kind, f"What does {url} say?", "realtime", (url,))
