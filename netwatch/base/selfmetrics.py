"""The daemon watching itself: build, reloads, targets, lateness, skipped polls, loop lag.

These few series use prometheus-client's own registry (rendered per scrape; they are tiny).
"""

from __future__ import annotations

import asyncio
import platform
import time

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.registry import Collector

import netwatch

disable_created_metrics()  # no _created series: they double the counters for nothing

LATENESS_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class SelfMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        build = Gauge("netwatch_build_info", "Version of netwatch and Python; always 1.",
                      ["version", "python"], registry=r)
        build.labels(netwatch.__version__, platform.python_version()).set(1)
        self.reload_ok = Gauge("netwatch_config_last_reload_successful",
                               "Whether the last config (re)load succeeded.", registry=r)
        self.reload_time = Gauge("netwatch_config_last_reload_success_timestamp_seconds",
                                 "Unix time of the last successful config (re)load.", registry=r)
        self.targets = Gauge("netwatch_targets", "Targets configured, per probe.", ["probe"],
                             registry=r)
        self.lateness = Histogram("netwatch_poll_lateness_seconds",
                                  "Delay between a poll's scheduled tick and its start.",
                                  ["probe"], buckets=LATENESS_BUCKETS, registry=r)
        self.skipped = Counter("netwatch_polls_skipped",
                               "Scheduled polls skipped because the previous one overran.",
                               ["probe"], registry=r)
        self.loop_lag = Gauge("netwatch_event_loop_lag_seconds",
                              "Largest event-loop wake-up delay seen in the last 10 s.", registry=r)
        for probe in ("icmp", "snmp"):
            self.lateness.labels(probe)
            self.skipped.labels(probe)

    def reloaded(self, ok: bool) -> None:
        self.reload_ok.set(1 if ok else 0)
        if ok:
            self.reload_time.set(time.time())

    def register(self, collector: Collector) -> None:
        self.registry.register(collector)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    async def watch_loop_lag(self, period: float = 0.1, window: float = 10.0) -> None:
        """Measure how late the loop wakes us; export the worst delay of the last window."""
        loop = asyncio.get_running_loop()
        worst: list[tuple[float, float]] = []  # (time, lag), pruned to the window
        while True:
            before = loop.time()
            await asyncio.sleep(period)
            now = loop.time()
            lag = max(0.0, now - before - period)
            worst = [(t, v) for t, v in worst if now - t < window and v > lag]
            worst.append((now, lag))
            self.loop_lag.set(max(v for _, v in worst))
