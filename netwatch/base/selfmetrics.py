"""The daemon watching itself: build, reloads, targets, lateness, skipped polls, loop lag.

Declared in the catalog and rendered by the MetricStore like every other family (lazy: a
few lines formatted at scrape time from plain numbers the loop updates), so the whole
exposition has one mechanism, one number format, and one place that writes HELP and TYPE.

    metrics = SelfMetrics(store)
    metrics.lateness["icmp"].observe(0.002)
    metrics.skipped["snmp"].inc()
"""

from __future__ import annotations

import asyncio
import bisect
import platform
import time
from collections.abc import Callable
from functools import partial
from itertools import accumulate

import netwatch
from netwatch.base.catalog import METRICS
from netwatch.base.exposition import MetricStore, fmt, label_text

LATENESS_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
PROBES = ("icmp", "snmp")  # every probe has its lateness and skipped series from the start
OWNER = "self"


def _le(bound: float) -> str:
    # `le` as prometheus-client wrote it when it rendered these ("1.0", not "1"): a changed
    # label value would start new series in Prometheus
    return repr(float(bound))


class Histogram:
    """Observations counted per bucket (not cumulative; the last is +Inf) and summed."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    def lines(self, name: str, labels: str) -> str:
        cumulative = list(accumulate(list(self.counts)))  # one copy: count == +Inf bucket
        les = [*(_le(b) for b in self.bounds), "+Inf"]
        return ("".join(f'{name}_bucket{{{labels},le="{le}"}} {n}\n'
                        for le, n in zip(les, cumulative, strict=True))
                + f"{name}_sum{{{labels}}} {fmt(self.sum)}\n"
                + f"{name}_count{{{labels}}} {cumulative[-1]}\n")


class Counter:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def inc(self, n: int = 1) -> None:
        self.value += n


class SelfMetrics:
    def __init__(self, store: MetricStore | None = None) -> None:
        self.store = store if store is not None else MetricStore()
        self.reload_ok = 0
        self.reload_time = 0.0
        self.targets: dict[str, int] = {}  # per probe, set on every (re)load
        self.lateness = {probe: Histogram(LATENESS_BUCKETS) for probe in PROBES}
        self.skipped = {probe: Counter() for probe in PROBES}
        self.loop_lag = 0.0
        self._build = label_text(METRICS["netwatch_build_info"].labels,
                                 (netwatch.__version__, platform.python_version()))
        renderers: dict[str, Callable[[str], str]] = {
            "netwatch_build_info": self._build_text,
            "netwatch_config_last_reload_successful": self._reload_ok_text,
            "netwatch_config_last_reload_success_timestamp_seconds": self._reload_time_text,
            "netwatch_targets": self._targets_text,
            "netwatch_poll_lateness_seconds": self._lateness_text,
            "netwatch_polls_skipped_total": self._skipped_text,
            "netwatch_event_loop_lag_seconds": self._loop_lag_text,
        }
        for name, render in renderers.items():
            family = self.store.family(name, lazy=True)
            self.store.set(family, OWNER, partial(render, family.name))

    # rendered at scrape time, in the scrape's worker thread: they only read numbers
    def _build_text(self, name: str) -> str:
        return f"{name}{{{self._build}}} 1\n"

    def _reload_ok_text(self, name: str) -> str:
        return f"{name} {self.reload_ok}\n"

    def _reload_time_text(self, name: str) -> str:
        return f"{name} {fmt(self.reload_time)}\n"

    def _targets_text(self, name: str) -> str:
        return "".join(f'{name}{{probe="{p}"}} {n}\n' for p, n in list(self.targets.items()))

    def _lateness_text(self, name: str) -> str:
        return "".join(h.lines(name, f'probe="{p}"') for p, h in self.lateness.items())

    def _skipped_text(self, name: str) -> str:
        return "".join(f'{name}{{probe="{p}"}} {c.value}\n' for p, c in self.skipped.items())

    def _loop_lag_text(self, name: str) -> str:
        return f"{name} {fmt(self.loop_lag)}\n"

    def reloaded(self, ok: bool) -> None:
        self.reload_ok = 1 if ok else 0
        if ok:
            self.reload_time = time.time()

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
            self.loop_lag = max(v for _, v in worst)
