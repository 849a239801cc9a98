"""Scheduler over a fake prober: fixed rate, stable offsets, deadlines, skips, isolation of
failures. Short intervals (tens of ms) stand in for minutes; waits poll a condition."""

from __future__ import annotations

import asyncio
import inspect
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from itertools import pairwise

import pytest

from netwatch.base.errors import ProbeTimeout
from netwatch.base.selfmetrics import SelfMetrics
from netwatch.icmp.result import IcmpResult
from netwatch.inventory.model import IcmpPolicy, Target
from netwatch.scheduler.prober import Outcome, Result
from netwatch.scheduler.schedule import Scheduler, first_tick
from tests.fakes import FakeIcmp
from tests.waiting import until


def target(name: str, interval: float = 0.05, deadline: float | None = None) -> Target:
    policy = IcmpPolicy(interval, 1, 0.01, 0.01, 56, deadline or interval * 0.8)
    return Target(("s1", name, "icmp"), "icmp", "127.0.0.1", policy)


class FakeProber(FakeIcmp):
    """Records when each target's polls start; `behaviour[device]()` runs inside the poll
    (it may raise, or return an awaitable the poll waits for); a poll that ends answers."""

    def __init__(self) -> None:
        super().__init__(IcmpResult(1, (0.0001,)))
        self.behaviour: dict[str, Callable[[], object]] = {}
        self.starts: dict[str, list[float]] = defaultdict(list)
        self.in_flight = 0
        self.max_in_flight = 0

    async def poll(self, target: Target) -> Result:
        self.starts[target.key[1]].append(asyncio.get_running_loop().time())
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            action = self.behaviour.get(target.key[1])
            pending = action() if action else None
            if inspect.isawaitable(pending):
                await pending
            return self.result
        finally:
            self.in_flight -= 1


def make(prober: FakeProber, concurrency: int | None = None
         ) -> tuple[Scheduler, dict[str, list[Outcome]], SelfMetrics]:
    outcomes: dict[str, list[Outcome]] = defaultdict(list)
    metrics = SelfMetrics()
    scheduler = Scheduler({"icmp": prober}, lambda t, o: outcomes[t.key[1]].append(o), metrics,
                          concurrency={"icmp": concurrency} if concurrency else None)
    return scheduler, outcomes, metrics


def test_first_tick_is_stable_and_inside_the_interval() -> None:
    t = target("a", interval=15.0)
    ticks = [first_tick(t, 100.0, wall) for wall in (1000.0, 1003.0, 1014.9)]
    phase = t.offset_fraction * 15.0
    for loop_tick, wall in zip(ticks, (1000.0, 1003.0, 1014.9), strict=True):
        assert 0 <= loop_tick - 100.0 < 15.0
        k = (wall + loop_tick - 100.0 - phase) / 15.0  # tick at wall time phase + k x interval
        assert k == pytest.approx(round(k), abs=1e-9)


def test_offsets_spread_targets_over_the_interval() -> None:
    fractions = [target(f"d{i}").offset_fraction for i in range(1000)]
    buckets = [0] * 10
    for f in fractions:
        buckets[int(f * 10)] += 1
    assert min(buckets) > 60  # roughly uniform, not all at once


async def test_polls_at_a_fixed_rate() -> None:
    prober = FakeProber()
    scheduler, _, _ = make(prober)
    scheduler.apply({t.key: t for t in [target("a")]})
    await until(lambda: len(prober.starts["a"]) >= 6)
    await scheduler.stop()
    gaps = [b - a for a, b in pairwise(prober.starts["a"])]
    assert sum(gaps) / len(gaps) == pytest.approx(0.05, rel=0.3)


async def test_deadline_ends_a_hanging_poll_as_timeout() -> None:
    prober = FakeProber()
    prober.behaviour["slow"] = lambda: asyncio.sleep(10)
    scheduler, outcomes, _ = make(prober)
    scheduler.apply({t.key: t for t in [target("slow", interval=0.1, deadline=0.03)]})
    await until(lambda: len(outcomes["slow"]) >= 2)
    await scheduler.stop()
    assert outcomes["slow"][0].reason == "timeout"
    assert outcomes["slow"][0].duration < 0.1


async def test_probe_errors_become_reasons_and_crashes_internal() -> None:
    prober = FakeProber()

    def crash() -> object:
        raise RuntimeError("bug")

    def timeout() -> object:
        raise ProbeTimeout("no answer")

    prober.behaviour.update(crash=crash, timeout=timeout)
    scheduler, outcomes, _ = make(prober)
    scheduler.apply({t.key: t for t in [target("crash"), target("timeout"), target("fine")]})
    await until(lambda: all(len(outcomes[n]) >= 3 for n in ("crash", "timeout", "fine")))
    await scheduler.stop()
    assert {o.reason for o in outcomes["crash"]} == {"internal"}
    assert {o.reason for o in outcomes["timeout"]} == {"timeout"}
    assert all(o.ok for o in outcomes["fine"])  # a failing target never disturbs another


async def test_overrun_is_skipped_and_counted_not_piled_up() -> None:
    prober = FakeProber()
    prober.behaviour["long"] = lambda: asyncio.sleep(0.12)  # longer than the interval
    scheduler, outcomes, metrics = make(prober)
    # deadline above the interval is refused by config validation; force it here
    long = replace(target("long", interval=0.05), policy=IcmpPolicy(0.05, 1, 0.01, 0.01, 56, 1.0))
    scheduler.apply({long.key: long})
    await until(lambda: len(outcomes["long"]) >= 3)
    await scheduler.stop()
    assert metrics.skipped["icmp"].value >= 4
    assert prober.max_in_flight == 1  # never two polls of one target at once


async def test_concurrency_bound_holds() -> None:
    prober = FakeProber()
    for i in range(20):
        prober.behaviour[f"d{i}"] = lambda: asyncio.sleep(0.02)
    scheduler, outcomes, _ = make(prober, concurrency=3)
    scheduler.apply({t.key: t for t in [target(f"d{i}", interval=0.05) for i in range(20)]})
    await until(lambda: all(len(outcomes[f"d{i}"]) >= 1 for i in range(20)))
    await scheduler.stop()
    assert prober.max_in_flight == 3


async def test_apply_keeps_unchanged_timers_and_stops_removed() -> None:
    prober = FakeProber()
    scheduler, _, _ = make(prober)
    a, b = target("a"), target("b")
    scheduler.apply({a.key: a, b.key: b})
    await until(lambda: len(prober.starts["a"]) >= 2 and len(prober.starts["b"]) >= 2)
    task_a = scheduler._jobs[a.key]
    scheduler.apply({a.key: a})  # b removed, a unchanged
    assert scheduler._jobs[a.key] is task_a
    count_b = len(prober.starts["b"])
    await until(lambda: len(prober.starts["a"]) >= 5)
    assert len(prober.starts["b"]) <= count_b + 1
    changed = target("a", interval=0.06)
    scheduler.apply({changed.key: changed})
    assert scheduler._jobs[a.key] is not task_a  # restarted with the new interval
    await scheduler.stop()
    assert scheduler.running == 0


async def test_gate_skips_the_poll_with_reason_unreachable() -> None:
    prober = FakeProber()
    outcomes: dict[str, list[Outcome]] = defaultdict(list)
    scheduler = Scheduler({"icmp": prober}, lambda t, o: outcomes[t.key[1]].append(o),
                          SelfMetrics(), gate=lambda t: t.key[1] != "gated")
    scheduler.apply({t.key: t for t in [target("gated"), target("open")]})
    await until(lambda: len(outcomes["gated"]) >= 2 and len(outcomes["open"]) >= 2)
    await scheduler.stop()
    assert "gated" not in prober.starts
    assert {o.reason for o in outcomes["gated"]} == {"unreachable"}


async def test_canaries_are_polled_first() -> None:
    from netwatch.inventory.model import Canary

    prober = FakeProber()
    scheduler, outcomes, _ = make(prober)
    policy = IcmpPolicy(30.0, 1, 0.01, 0.01, 56, 24.0)  # the others' first tick is seconds away
    canary = Target(("", "core", "icmp"), "icmp", "127.0.0.1", policy,
                    canary=Canary("core", "127.0.0.1", policy))
    other = replace(target("d1"), policy=policy)
    scheduler.apply({canary.key: canary, other.key: other})
    await until(lambda: len(outcomes["core"]) >= 1, 2.0)
    await scheduler.stop()
    assert "d1" not in outcomes


async def test_poll_soon_adds_one_poll_and_keeps_the_grid() -> None:
    prober = FakeProber()
    scheduler, outcomes, metrics = make(prober)
    t = target("a", interval=0.5, deadline=0.05)
    scheduler.apply({t.key: t})
    try:
        await until(lambda: len(prober.starts["a"]) == 1, 2.0, "the first regular poll")
        first = prober.starts["a"][0]
        await asyncio.sleep(0.05)
        assert scheduler.poll_soon(t.key)  # idle, the next tick 0.45 s away
        await until(lambda: len(outcomes["a"]) == 2, 1.0, "the extra poll")
        assert prober.starts["a"][1] - first < 0.2
        await until(lambda: len(prober.starts["a"]) == 3, 2.0, "the next regular poll")
        assert prober.starts["a"][2] - first == pytest.approx(0.5, abs=0.05)  # grid unmoved
        assert sum(metrics.lateness["icmp"].counts) == 2  # the extra poll is late for nothing
        assert metrics.skipped["icmp"].value == 0
        assert not scheduler.poll_soon(("s1", "nope", "icmp"))
    finally:
        await scheduler.stop()


async def test_poll_soon_refuses_a_busy_target_or_one_whose_tick_is_near() -> None:
    prober = FakeProber()
    scheduler, outcomes, _ = make(prober)
    release = asyncio.Event()
    prober.behaviour["a"] = release.wait
    t = target("a", interval=0.5, deadline=0.4)
    scheduler.apply({t.key: t})
    try:
        await until(lambda: len(prober.starts["a"]) == 1, 2.0, "the first regular poll")
        assert not scheduler.poll_soon(t.key)  # a poll is running
        release.set()
        await until(lambda: len(outcomes["a"]) == 1, 1.0, "the regular poll's end")
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, prober.starts["a"][0] + 0.2 - loop.time()))
        # the next tick is less than a deadline (0.4 s) away: its own poll comes soon enough
        assert not scheduler.poll_soon(t.key)
        assert len(prober.starts["a"]) == 1
    finally:
        await scheduler.stop()
