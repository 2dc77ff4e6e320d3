"""Latency summaries shared by the benchmarks: every p50/p99 in the model cards means the same."""

from __future__ import annotations

import statistics


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def latency_summary(values_ms: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds: the median and the nearest-rank 99th percentile."""
    return statistics.median(values_ms), percentile(values_ms, 99)
