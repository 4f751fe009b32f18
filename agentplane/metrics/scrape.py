"""Reading metrics endpoints: a parsed snapshot, and rates and quantiles between two snapshots.

Layer: shared core (prometheus_client's parser, aiohttp client). `agentplane top` and
the tests use it: `scrape` fetches one endpoint into a `Snapshot`; `Window` compares
two snapshots of the same endpoint the way PromQL's `rate()` and
`histogram_quantile()` would over that interval.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Sample", "Snapshot", "Window", "scrape"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One series' value."""

    name: str
    labels: Mapping[str, str]
    value: float


def _matches(labels: Mapping[str, str], match: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in match.items())


class Snapshot:
    """The samples of one scrape.

    Args:
        samples: Every sample.
        taken_at: Monotonic time of the scrape.
    """

    def __init__(self, samples: Iterable[Sample], taken_at: float) -> None:
        self.taken_at = taken_at
        self._by_name: dict[str, list[Sample]] = defaultdict(list)
        for s in samples:
            self._by_name[s.name].append(s)

    @classmethod
    def parse(cls, text: str, taken_at: float | None = None) -> Snapshot:
        """Parse the Prometheus text format."""
        samples = [
            Sample(s.name, s.labels, s.value) for family in text_string_to_metric_families(text) for s in family.samples
        ]
        return cls(samples, time.monotonic() if taken_at is None else taken_at)

    @classmethod
    def merge(cls, snapshots: Iterable[Snapshot]) -> Snapshot:
        """One snapshot of several replicas: their samples side by side (sums add them up)."""
        taken = list(snapshots)
        return cls(
            (s for snap in taken for series in snap._by_name.values() for s in series),
            max((snap.taken_at for snap in taken), default=time.monotonic()),
        )

    def names(self) -> set[str]:
        """Every series name present."""
        return set(self._by_name)

    def samples(self, name: str, **match: str) -> list[Sample]:
        """The samples of `name` whose labels include `match`."""
        return [s for s in self._by_name.get(name, ()) if _matches(s.labels, match)]

    def value(self, name: str, **match: str) -> float:
        """The sum of the matching samples (0 when there are none)."""
        return sum(s.value for s in self.samples(name, **match))

    def by(self, name: str, label: str, **match: str) -> dict[str, float]:
        """Matching samples summed per value of `label`."""
        out: dict[str, float] = defaultdict(float)
        for s in self.samples(name, **match):
            out[s.labels.get(label, "")] += s.value
        return dict(out)


@dataclass(frozen=True)
class Window:
    """Two snapshots of one endpoint: what happened between them."""

    before: Snapshot
    after: Snapshot

    @property
    def seconds(self) -> float:
        """Length of the window."""
        return max(self.after.taken_at - self.before.taken_at, 1e-9)

    def increase(self, name: str, **match: str) -> float:
        """How much a counter grew (a restart in between counts from zero)."""
        after, before = self.after.value(name, **match), self.before.value(name, **match)
        return after - before if after >= before else after

    def rate(self, name: str, **match: str) -> float:
        """Per-second growth of a counter."""
        return self.increase(name, **match) / self.seconds

    def increases(self, name: str, *labels: str, **match: str) -> dict[tuple[str, ...], float]:
        """How much each series grew, keyed by the values of `labels` (series that did not grow are left out)."""

        def by_key(snap: Snapshot) -> dict[tuple[str, ...], float]:
            out: dict[tuple[str, ...], float] = defaultdict(float)
            for s in snap.samples(name, **match):
                out[tuple(s.labels.get(label, "") for label in labels)] += s.value
            return out

        after, before = by_key(self.after), by_key(self.before)
        grown = {k: v - before.get(k, 0.0) if v >= before.get(k, 0.0) else v for k, v in after.items()}
        return {k: v for k, v in grown.items() if v}

    def increase_by(self, name: str, label: str, **match: str) -> dict[str, float]:
        """`increases` by one label: value -> growth."""
        return {k[0]: v for k, v in self.increases(name, label, **match).items()}

    def rate_by(self, name: str, label: str, **match: str) -> dict[str, float]:
        """Per-second growth per value of `label`."""
        after, before = self.after.by(name, label, **match), self.before.by(name, label, **match)
        return {k: (v - before.get(k, 0.0) if v >= before.get(k, 0.0) else v) / self.seconds for k, v in after.items()}

    def quantile(self, q: float, histogram: str, **match: str) -> float | None:
        """The q-quantile of a histogram's observations in the window (PromQL's interpolation).

        Args:
            q: 0..1.
            histogram: The histogram's name without `_bucket`.
            match: Label filter; buckets of every other label value are added up.

        Returns:
            Seconds (or the histogram's unit), or None without observations.
        """
        after = self.after.by(f"{histogram}_bucket", "le", **match)
        before = self.before.by(f"{histogram}_bucket", "le", **match)
        buckets = sorted(
            ((float(le), max(count - before.get(le, 0.0), 0.0)) for le, count in after.items()), key=lambda b: b[0]
        )
        if not buckets or buckets[-1][1] <= 0:
            return None
        total = buckets[-1][1]
        rank = q * total
        lower_bound, lower_count = 0.0, 0.0
        for bound, count in buckets:
            if count >= rank:
                if math.isinf(bound):
                    return lower_bound
                span = count - lower_count
                return lower_bound + (bound - lower_bound) * ((rank - lower_count) / span if span else 1.0)
            lower_bound, lower_count = bound, count
        return lower_bound


async def scrape(
    session: aiohttp.ClientSession, url: str, *, api_key: str | None = None, timeout_s: float = 3.0
) -> Snapshot:
    """Fetch and parse one metrics endpoint.

    Raises:
        aiohttp.ClientError, TimeoutError: The endpoint did not answer 200 in time.
    """
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with session.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
        resp.raise_for_status()
        text = await resp.text()
    return Snapshot.parse(text)
