"""One timer per (target, probe) at a fixed rate, never piling up.

Each target's ticks sit at a stable phase of its interval (from a hash of its key, aligned to
wall-clock time so a restart keeps them), which spreads the load evenly. A poll runs under
the probe's concurrency bound and its deadline; when a poll (plus its wait for a slot) runs
past the next tick, that tick is skipped and counted in `netwatch_polls_skipped_total`. A
failing or slow target only ever delays itself.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

import structlog

from netwatch.errors import ProbeError
from netwatch.inventory import Probe, Target, TargetKey
from netwatch.probe import Failed, Outcome, Prober, Result
from netwatch.selfmetrics import SelfMetrics

log = structlog.get_logger("netwatch.scheduler")

DEFAULT_CONCURRENCY: dict[Probe, int] = {"icmp": 20000, "snmp": 256}
# Ticks are rounded up to a grid of this many seconds of loop time (the ICMP engine's timer
# slot): with thousands of targets, polls whose phases fall into one slot start in one
# event-loop wake-up instead of one each, with the engine's sends of that slot. Offsets stay
# stable; a tick moves by less than one slot.
TICK_SLOT = 0.005

OutcomeSink = Callable[[Target, Outcome], object]
Gate = Callable[[Target], bool]


def first_tick(target: Target, loop_now: float, wall_now: float) -> float:
    """Loop time of the target's next tick: its phase within the interval, aligned to UTC."""
    interval = target.interval
    phase = target.offset_fraction * interval
    k = math.ceil((wall_now - phase) / interval)
    return loop_now + (k * interval + phase - wall_now)


class Scheduler:
    def __init__(self, probers: dict[Probe, Prober], sink: OutcomeSink, metrics: SelfMetrics,
                 gate: Gate | None = None, concurrency: dict[Probe, int] | None = None) -> None:
        self.probers = probers
        self.sink = sink
        self.gate = gate
        limits = {**DEFAULT_CONCURRENCY, **(concurrency or {})}
        self._slots = {probe: asyncio.Semaphore(limits[probe]) for probe in probers}
        self._lateness = {p: metrics.lateness.labels(p) for p in probers}
        self._skipped = {p: metrics.skipped.labels(p) for p in probers}
        self._tasks: dict[TargetKey, tuple[Target, asyncio.Task[None]]] = {}
        self.polls = 0  # finished polls, for readiness and tests

    def apply(self, targets: dict[TargetKey, Target]) -> None:
        """Start new targets, stop removed ones, restart changed ones; others keep their timer."""
        for key in [k for k in self._tasks if k not in targets]:
            self._tasks.pop(key)[1].cancel()
        for key, target in targets.items():
            if target.probe not in self.probers:
                continue
            running = self._tasks.get(key)
            if running is not None and running[0] == target:
                continue
            if running is not None:
                running[1].cancel()
            task = asyncio.create_task(self._run(target), name=f"poll {'/'.join(key)}")
            self._tasks[key] = (target, task)

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def stop(self) -> None:
        tasks = [task for _, task in self._tasks.values()]
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, target: Target) -> None:
        loop = asyncio.get_running_loop()
        # canaries go first: their verdict decides whether the rest can be judged at all
        tick = loop.time() if target.canary is not None else first_tick(target, loop.time(),
                                                                         time.time())
        failing_internally = False
        while True:
            wake = math.ceil(tick / TICK_SLOT) * TICK_SLOT
            await asyncio.sleep(max(0.0, wake - loop.time()))
            async with self._slots[target.probe]:
                started = loop.time()
                lateness = max(0.0, started - wake)
                self._lateness[target.probe].observe(lateness)
                result, crashed = await self._poll(target)
                outcome = Outcome(result, loop.time() - started, lateness)
            if crashed and not failing_internally:
                log.error("poll_crashed", target="/".join(target.key), exc_info=crashed)
            failing_internally = crashed is not None
            try:
                self.sink(target, outcome)
            except Exception:  # a bug in state handling must not stop this target's timer
                log.exception("record_failed", target="/".join(target.key))
            self.polls += 1
            tick += target.interval
            now = loop.time()
            if tick <= now:
                missed = math.floor((now - tick) / target.interval) + 1
                tick += missed * target.interval
                self._skipped[target.probe].inc(missed)

    async def _poll(self, target: Target) -> tuple[Result, BaseException | None]:
        if self.gate is not None and not self.gate(target):
            return Failed("unreachable", "gated: ICMP says the device is down"), None
        try:
            async with asyncio.timeout(target.deadline):
                return await self.probers[target.probe].poll(target), None
        except ProbeError as exc:
            return Failed(exc.reason, str(exc)), None
        except TimeoutError:
            return Failed("timeout", "deadline exceeded"), None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return Failed("internal", type(exc).__name__), exc
