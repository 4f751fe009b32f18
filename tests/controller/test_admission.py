"""The throughput meter behind deadline-aware admission."""

from __future__ import annotations

from controller.admission import ThroughputMeter


def test_rate_counts_completions_in_the_window_only():
    now = [100.0]
    meter = ThroughputMeter(window_s=10.0, clock=lambda: now[0])
    assert meter.rate() is None
    now[0] = 110.0
    for _ in range(50):
        meter.record()
    assert meter.rate() == 5.0  # 50 completions over the 10 s window
    now[0] = 125.0
    assert meter.rate() is None  # they all left the window
