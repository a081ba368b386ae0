"""Prometheus metrics of one app (its own registry, so several apps can live in one process)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)
TOKEN_BUCKETS = (16, 64, 256, 1024, 2048, 4096, 8192, 16384, 65536)


@dataclass
class Metrics:
    """The counters, histograms and gauges the server updates."""

    registry: Any
    requests: Any
    latency: Any
    queue_depth: Any
    batch_size: Any
    batch_tokens: Any
    batch_seconds: Any
    tokens: Any

    @classmethod
    def create(cls) -> Metrics:
        """A fresh registry with every metric."""
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        reg = CollectorRegistry()
        return cls(
            registry=reg,
            requests=Counter(
                "sentvec_requests", "HTTP requests", ["route", "status"], registry=reg
            ),
            latency=Histogram(
                "sentvec_request_seconds",
                "Request latency",
                ["route"],
                buckets=LATENCY_BUCKETS,
                registry=reg,
            ),
            queue_depth=Gauge(
                "sentvec_queue_depth", "Texts waiting to be embedded", ["model"], registry=reg
            ),
            batch_size=Histogram(
                "sentvec_batch_texts",
                "Texts per model call",
                ["model"],
                buckets=SIZE_BUCKETS,
                registry=reg,
            ),
            batch_tokens=Histogram(
                "sentvec_batch_tokens",
                "Tokens per model call",
                ["model"],
                buckets=TOKEN_BUCKETS,
                registry=reg,
            ),
            batch_seconds=Histogram(
                "sentvec_batch_seconds",
                "Duration of one model call",
                ["model"],
                buckets=LATENCY_BUCKETS,
                registry=reg,
            ),
            tokens=Counter("sentvec_tokens", "Tokens embedded", ["model"], registry=reg),
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


__all__ = ["Metrics"]
