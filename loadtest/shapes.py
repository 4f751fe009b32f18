"""Load scenarios: steady, spike and soak, each bounded in time and users.

Layer: load test scenarios (Locust LoadTestShape). The scenario and its bounds come
from the command line (`--scenario`, `--peak-users`, `--duration-s`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Stage", "scenario_stages"]


@dataclass(frozen=True)
class Stage:
    """Run `users` users (spawned at `spawn_rate`/s) until `until_s` seconds."""

    until_s: float
    users: int
    spawn_rate: float


def scenario_stages(name: str, peak_users: int, duration_s: float) -> list[Stage]:
    """The stages of a scenario.

    - steady: ramp to `peak_users` and hold.
    - spike: a quarter of the users, then 4x that (the peak) for a fifth of the time, then back.
    - soak: half the users for the whole (long) duration, to find leaks and drift.
    """
    if name == "steady":
        return [Stage(duration_s, peak_users, max(1.0, peak_users / 5))]
    if name == "spike":
        base = max(1, peak_users // 4)
        return [
            Stage(duration_s * 0.4, base, max(1.0, base / 2)),
            Stage(duration_s * 0.6, peak_users, float(peak_users)),
            Stage(duration_s, base, float(peak_users)),
        ]
    if name == "soak":
        half = max(1, peak_users // 2)
        return [Stage(duration_s, half, max(1.0, half / 10))]
    raise ValueError(f"unknown scenario {name!r}: steady, spike or soak")
