"""The real daemon (netwatch.daemon.service.Daemon) on a generated fleet, measured from inside.

Runs in a fresh process (clean RSS figures), started by bench/icmp.py, bench/snmp.py and
bench/compare.py, which build the fleet (loopback addresses, namespaces, snmpd agents, the
echo responder) and write its config. Prints one JSON line:

- whole-process CPU over the measured window (cores; CPU per 10,000 echoes; per SNMP poll),
  RSS (median of samples twice a second) and peak;
- per probe: polls done, lateness p99 of healthy targets (every poll's own figure, taken
  where the daemon records outcomes), skipped polls, the most polls running or waiting at
  once (sampled twice a second), and the asyncio task count (first, most, last: growth
  would mean something piles up);
- RTT p50/p99 per address class (loopback, truth = the echo responder's 20 ms, ...), and
  the echo replies per second the host received for others (a raw socket reads them all:
  other work pinging on this machine costs the daemon CPU);
- the start-up: after the warm-up it waits (at most --settle-max) until no poll has started
  a second or more late for 10 s, and reports when that was (`settled_after`, seconds from
  the daemon's start): the figures above are the steady state, this is the catching up;
- /metrics as Prometheus asks for it (gzip) once per scrape period, and once plain at the
  end: time, bytes, series; the event-loop lag (a task measuring its own wake-up delay).

    python bench/daemon.py --config fleet.yml --classes classes.json --warmup 16 --window 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import time
from array import array
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    cpu_seconds,
    icmp_echo_replies,
    peak_rss_bytes,
    percentile,
    rss_bytes,
    run_json,
    write_fleet,
)

HEALTHY = ("loopback", "truth", "snmp")  # classes whose lateness counts (not the dead)
SETTLED_FOR = 10.0  # seconds without a poll starting >= 1 s late: the start-up backlog is gone


class Recorder:
    """Taps every outcome the daemon records: lateness, RTTs, echoes, per address class."""

    def __init__(self, classes: dict[str, str]) -> None:
        self.classes = classes
        self.measuring = False
        # packed doubles, not lists of float objects: the recorder lives in the measured
        # process, and 100,000 floats as objects would add ~3 MB to its RSS
        self.lateness: dict[str, array[float]] = defaultdict(lambda: array("d"))
        self.rtts: dict[str, array[float]] = defaultdict(lambda: array("d"))
        self.polls: dict[str, int] = defaultdict(int)
        self.failed: dict[str, int] = defaultdict(int)
        self.echoes = 0
        self.sent: dict[str, int] = defaultdict(int)
        self.snmp_values = 0
        self.last_late = float("-inf")  # when a poll that started >= 1 s late last finished

    def settled(self) -> bool:
        """No poll started a second or more late in the last SETTLED_FOR seconds."""
        return time.monotonic() - self.last_late > SETTLED_FOR

    async def settle(self, end: float) -> None:
        """Until settled (a quiet spell: time passing, no event), or time.monotonic() >= end."""
        while not self.settled() and time.monotonic() < end:  # noqa: ASYNC110 (time, not an event)
            await asyncio.sleep(1)

    def wrap(self, record: Any) -> Any:
        def tapped(target: Any, outcome: Any) -> Any:
            if self.measuring:
                self.take(target, outcome)
            elif outcome.lateness >= 1.0:
                self.last_late = time.monotonic()
            return record(target, outcome)

        return tapped

    def take(self, target: Any, outcome: Any) -> None:
        kind = self.classes.get(target.address, "loopback" if target.probe == "icmp" else "snmp")
        key = f"{target.probe}/{kind}"
        self.polls[key] += 1
        if not outcome.ok:
            self.failed[key] += 1
        if kind in HEALTHY:
            self.lateness[target.probe].append(outcome.lateness)
        result = outcome.result
        if target.probe == "icmp":
            self.echoes += getattr(result, "sent", 0)
            self.sent[kind] += getattr(result, "sent", 0)
            self.rtts[kind].extend(getattr(result, "rtts", ()))
        else:
            self.snmp_values += getattr(result, "values", 0)


class Watch:
    """Samples twice a second: RSS, polls in flight, tasks; and the loop's wake-up delay."""

    def __init__(self, daemon: Any) -> None:
        self.daemon = daemon
        self.rss: list[int] = []
        self.inflight: dict[str, int] = defaultdict(int)
        self.tasks: list[int] = []
        self.lags: list[float] = []

    def _in_flight(self) -> dict[str, int]:
        """Polls running or waiting for a slot, per probe (the scheduler's private counters:
        a dict of running polls and queues of waiting ones, or a semaphore per probe)."""
        scheduler = self.daemon.scheduler
        running = getattr(scheduler, "_running", None)
        if isinstance(running, dict):
            waiting = getattr(scheduler, "_waiting", {})
            return {p: n + len(waiting.get(p, ())) for p, n in running.items()}
        slots = getattr(scheduler, "_slots", {})
        limits = getattr(sys.modules.get("netwatch.scheduler.schedule"), "DEFAULT_CONCURRENCY", {})
        return {p: limits[p] - s._value for p, s in slots.items()
                if p in limits and hasattr(s, "_value")}

    async def every_second(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            self.rss.append(rss_bytes())
            self.tasks.append(len(asyncio.all_tasks()))
            for probe, n in self._in_flight().items():
                self.inflight[probe] = max(self.inflight[probe], n)

    async def loop_lag(self, period: float = 0.02) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(period)
            self.lags.append(max(0.0, loop.time() - before - period))


def skipped(daemon: Any) -> dict[str, float]:
    return {p: float(daemon.metrics.skipped[p].value) for p in ("icmp", "snmp")}


async def scrape(http: Any, url: str, gzip: bool) -> tuple[float, int, bytes]:
    headers = {"Accept-Encoding": "gzip" if gzip else "identity"}
    started = time.perf_counter()
    async with http.get(url, headers=headers) as response:
        body = await response.read()
    return time.perf_counter() - started, len(body), body


def stats(values: Sequence[float]) -> dict[str, float]:
    return {"n": len(values), "p50": percentile(values, 50), "p99": percentile(values, 99),
            "max": max(values, default=float("nan"))}


async def measure(config: Path, classes: dict[str, str], warmup: float, window: float,
                  scrape_every: float, settle_max: float) -> dict[str, Any]:
    import aiohttp

    from netwatch.base import logs
    from netwatch.daemon.inventory_file import read_inventory_apart
    from netwatch.daemon.service import Daemon

    logs.configure("error", json=True)  # dead targets going down are warnings, not news
    loaded = time.perf_counter()
    inventory = read_inventory_apart(config)  # as `netwatch run` loads: parsed in a child
    load_s = time.perf_counter() - loaded
    daemon = Daemon(config, inventory, listen="127.0.0.1:0")
    recorder = Recorder(classes)
    # the benchmark's tap on every outcome: an instance attribute over the method
    daemon.state.record = recorder.wrap(daemon.state.record)  # type: ignore[method-assign]  # tap
    started = time.monotonic()
    await daemon.start()
    watch = Watch(daemon)
    helpers = [asyncio.create_task(watch.every_second()), asyncio.create_task(watch.loop_lag())]
    host, port = daemon.addresses[0]
    url = f"http://{host}:{port}/metrics"
    scrapes: list[tuple[float, int]] = []
    try:
        async with aiohttp.ClientSession(auto_decompress=False) as http:
            await asyncio.sleep(warmup)  # every timer has fired once
            await recorder.settle(started + settle_max)  # a start-up backlog clears first
            settled_after = time.monotonic() - started
            watch.rss.clear()
            watch.lags.clear()
            watch.inflight.clear()
            skipped0, polls0 = skipped(daemon), daemon.scheduler.polls
            recorder.measuring = True
            cpu0, wall0, replies0 = cpu_seconds(), time.monotonic(), icmp_echo_replies()
            count = max(1, math.ceil(window / scrape_every - 1e-9))  # the same in every run
            for k in range(count):
                took, size, _ = await scrape(http, url, gzip=True)
                scrapes.append((took, size))
                due = wall0 + min(window, (k + 1) * scrape_every)
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            wall, cpu = time.monotonic() - wall0, cpu_seconds() - cpu0
            replies = icmp_echo_replies() - replies0
            recorder.measuring = False
            lags = list(watch.lags)
            skips = {p: n - skipped0[p] for p, n in skipped(daemon).items()}
            polls = daemon.scheduler.polls - polls0
            plain_s, plain_bytes, body = await scrape(http, url, gzip=False)
    finally:
        for task in helpers:
            task.cancel()
        await daemon.shutdown()
    series = sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))
    snmp_polls = sum(n for k, n in recorder.polls.items() if k.startswith("snmp/"))
    return {
        "icmp_targets": inventory.count("icmp"), "snmp_targets": inventory.count("snmp"),
        "config_load_s": load_s, "settled_after": settled_after, "wall": wall, "cpu": cpu,
        "cores": cpu / wall, "polls": polls,
        "echoes": recorder.echoes,
        "per10k": cpu / recorder.echoes * 1e4 if recorder.echoes else None,
        "snmp_polls": snmp_polls, "snmp_values": recorder.snmp_values,
        "polls_by_class": dict(recorder.polls), "failed_by_class": dict(recorder.failed),
        "lateness": {p: stats(v) for p, v in recorder.lateness.items()},
        "skipped": skips, "inflight_max": dict(watch.inflight),
        "tasks": [watch.tasks[0], max(watch.tasks), watch.tasks[-1]] if watch.tasks else [],
        "rtt": {k: stats(v) for k, v in recorder.rtts.items()}, "sent": dict(recorder.sent),
        # other processes' pings: our raw socket reads (and drops) their replies too
        "foreign_replies_per_s": max(0, replies - sum(len(v) for v in recorder.rtts.values()))
        / wall,
        "rss": statistics.median(watch.rss) if watch.rss else rss_bytes(), "peak": peak_rss_bytes(),
        "scrape_gzip_s": max((s for s, _ in scrapes), default=None),
        "scrape_gzip_bytes": scrapes[-1][1] if scrapes else None,
        "scrape_plain_s": plain_s, "scrape_plain_bytes": plain_bytes, "series": series,
        "lag_p99": percentile(lags, 99), "lag_max": max(lags, default=float("nan")),
    }


def run_fleet(icmp: list[str], snmp: list[tuple[str, int]], classes: dict[str, str],
              warmup: float, window: float, snmp_interval: float = 60.0,
              icmp_interval: float = 15.0, count: int = 3) -> dict[str, Any]:
    """Write the fleet's config and measure the daemon on it in a fresh process."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        config = write_fleet(Path(tmp) / "fleet.yml", icmp, snmp, count=count,
                             icmp_interval=f"{icmp_interval:g}s",
                             snmp_interval=f"{snmp_interval:g}s")
        marks = Path(tmp) / "classes.json"
        marks.write_text(json.dumps(classes))
        return run_json([__file__, "--config", str(config), "--classes", str(marks),
                         "--warmup", f"{warmup:g}", "--window", f"{window:g}",
                         "--scrape-every", f"{icmp_interval:g}"],
                        timeout=warmup + window + 1200)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--classes", type=Path, help="JSON {address: class}")
    parser.add_argument("--warmup", type=float, default=16.0)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--scrape-every", type=float, default=15.0)
    parser.add_argument("--settle-max", type=float, default=600.0,
                        help="after the warm-up, wait at most this long for late polls to end")
    args = parser.parse_args()
    classes = json.loads(args.classes.read_text()) if args.classes else {}
    result = asyncio.run(measure(args.config, classes, args.warmup, args.window,
                                 args.scrape_every, args.settle_max))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
