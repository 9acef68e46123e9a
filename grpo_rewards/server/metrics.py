"""Prometheus metrics of one server (``GET /metrics``).

What runs here: counters updated in the server's event loop after each request. What it may
trust: only values the server computed (status codes, counts, outcomes from the reward set),
never a label taken from the request, so a client cannot grow the number of series.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["ServerMetrics", "CONTENT_TYPE_LATEST"]


class ServerMetrics:
    """The server's metrics, in a registry of its own (two servers in one process never clash)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "grpo_rewards_requests",
            "Requests answered, by endpoint and status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.samples = Counter("grpo_rewards_samples", "Rows scored", ["endpoint"], registry=self.registry)
        self.latency = Histogram(
            "grpo_rewards_request_seconds",
            "Time to answer a scoring request",
            ["endpoint"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=self.registry,
        )
        self.outcomes = Counter(
            "grpo_rewards_outcomes", "Outcomes, by component", ["component", "outcome"], registry=self.registry
        )
        self.in_flight = Gauge("grpo_rewards_in_flight", "Requests being scored now", registry=self.registry)

    def request(self, endpoint: str, status: int, seconds: float | None = None) -> None:
        self.requests.labels(endpoint, str(status)).inc()
        if seconds is not None:
            self.latency.labels(endpoint).observe(seconds)

    def scored(self, endpoint: str, outcomes: Iterable[dict[str, str]]) -> None:
        n = 0
        for row in outcomes:
            n += 1
            for component, outcome in row.items():
                self.outcomes.labels(component, outcome).inc()
        self.samples.labels(endpoint).inc(n)

    def render(self) -> bytes:
        return generate_latest(self.registry)
