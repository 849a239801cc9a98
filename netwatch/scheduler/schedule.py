"""One timer per (target, probe) at a fixed rate, never piling up.

Each target's ticks sit at a stable phase of its interval (from a hash of its key, aligned to
wall-clock time so a restart keeps them), which spreads the load evenly. A poll runs under
the probe's concurrency bound and its deadline; when a poll (plus its wait for a slot) runs
past the next tick, that tick is skipped and counted in `netwatch_polls_skipped_total`. A
failing or slow target only ever delays itself.

The machinery is callbacks on slot timers (netwatch.base.slots), not a task per target: at 10,000
targets a task, a sleep future and a timeout context per poll cost more CPU than the pings.
FastProbers (ICMP: `begin(target, done)`) run without any task; the others (`async poll`,
SNMP) get one task per poll. Both are bounded by the same deadline timer.

`poll_soon(key)` runs one extra poll now, off the grid, when the target is idle and its next
tick leaves room for the whole poll (the daemon asks it for the SNMP of a device whose ICMP
has just answered again: did it reboot?); the grid does not move.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable

import structlog

from netwatch.base.selfmetrics import SelfMetrics
from netwatch.base.slots import SlotTimers, slot_time
from netwatch.inventory.model import Probe, Target, TargetKey
from netwatch.scheduler.prober import Failed, FastProber, Outcome, Prober, Result, failure_of

log = structlog.get_logger("netwatch.scheduler.schedule")

DEFAULT_CONCURRENCY: dict[Probe, int] = {"icmp": 20000, "snmp": 256}
# Ticks fall on a grid of this many seconds of loop time (the ICMP engine's timer slot): polls
# whose phases fall into one slot start in one event-loop wake-up, with the engine's sends of
# that slot. Offsets stay stable; a tick moves by less than one slot.
TICK_SLOT = 0.010

OutcomeSink = Callable[[Target, Outcome], object]
Gate = Callable[[Target], bool]


def first_tick(target: Target, loop_now: float, wall_now: float) -> float:
    """Loop time of the target's next tick: its phase within the interval, aligned to UTC."""
    interval = target.interval
    phase = target.offset_fraction * interval
    k = math.ceil((wall_now - phase) / interval)
    return loop_now + (k * interval + phase - wall_now)


class _Job:
    """One target's timer: when it is due, whether a poll runs, how to stop it."""

    __slots__ = (
        "active",
        "cancel",
        "extra",
        "failing",
        "lateness",
        "poll_id",
        "started",
        "target",
        "tick",
    )

    def __init__(self, target: Target, tick: float) -> None:
        self.target = target
        self.tick = tick  # the scheduled tick of the current or next poll (loop time)
        self.started = 0.0
        self.lateness = 0.0
        self.poll_id = 0  # 0: idle; else the number of the running poll (stale callbacks)
        self.cancel: Callable[[], object] | None = None
        self.active = True  # False once a reload removed or replaced the target
        self.failing = False  # the last poll crashed (log the next crash only once)
        self.extra = False  # the running poll is off the grid (poll_soon): no next tick to plan


class Scheduler:
    def __init__(self, probers: dict[Probe, Prober], sink: OutcomeSink, metrics: SelfMetrics,
                 gate: Gate | None = None, concurrency: dict[Probe, int] | None = None) -> None:
        self.probers = probers
        self.sink = sink
        self.gate = gate
        self._limits = {**DEFAULT_CONCURRENCY, **(concurrency or {})}
        self._running: dict[Probe, int] = dict.fromkeys(self._limits, 0)
        self._waiting: dict[Probe, deque[_Job]] = {p: deque() for p in self._limits}
        self._lateness = {p: metrics.lateness[p] for p in self._limits}
        self._skipped = {p: metrics.skipped[p] for p in self._limits}
        self._jobs: dict[TargetKey, _Job] = {}
        self._fast: dict[Probe, FastProber] = {}  # probers with the task-free fast path
        self._tasks: set[asyncio.Task[Result]] = set()
        self._timers: SlotTimers | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poll_ids = 0
        self.polls = 0  # finished polls, for readiness and tests

    # --- the set of targets ---------------------------------------------------
    def apply(self, targets: dict[TargetKey, Target]) -> None:
        """Start new targets, stop removed ones, restart changed ones; others keep their timer."""
        # checked here, once per (re)load: a protocol isinstance per poll would cost ~5 us
        self._fast = {p: pr for p, pr in self.probers.items() if isinstance(pr, FastProber)}
        if self._timers is None:
            self._loop = asyncio.get_running_loop()
            self._timers = SlotTimers(self._loop, TICK_SLOT)
        for key in [k for k in self._jobs if k not in targets]:
            self._retire(self._jobs.pop(key))
        now, wall = self._loop.time(), time.time()  # type: ignore[union-attr]
        for key, target in targets.items():
            if target.probe not in self.probers:
                continue
            job = self._jobs.get(key)
            if job is not None and job.target == target and job.active:
                continue
            # canaries go first: their verdict decides whether the rest can be judged at all
            tick = now if target.canary is not None else first_tick(target, now, wall)
            # retired only once its successor is planned: if planning fails (a reload
            # failing half way), the old job keeps running and applying the old set again
            # restores the whole schedule
            if job is not None:
                self._retire(job)
            self._jobs[key] = job = _Job(target, tick)
            self._timers.at(tick, self._due, job)

    def _retire(self, job: _Job) -> None:
        job.active = False
        if job.poll_id and job.cancel is not None:
            job.cancel()

    @property
    def running(self) -> int:
        return len(self._jobs)

    async def stop(self) -> None:
        for job in self._jobs.values():
            self._retire(job)
        self._jobs.clear()
        if self._timers is not None:
            self._timers.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def poll_soon(self, key: TargetKey) -> bool:
        """Poll `key` now, off its grid, if it is idle, a slot is free and its next tick is
        further away than its deadline (so this poll ends before it); True if started."""
        job = self._jobs.get(key)
        if job is None or not job.active or job.poll_id or self._loop is None:
            return False
        probe = job.target.probe
        if self._running[probe] >= self._limits[probe]:
            return False
        if job.tick - self._loop.time() <= job.target.deadline + TICK_SLOT:
            return False  # its own tick comes soon enough
        job.extra = True
        self._begin(job)
        return True

    # --- one poll -------------------------------------------------------------
    def _due(self, job: _Job) -> None:
        if not job.active:
            return
        probe = job.target.probe
        if self._running[probe] >= self._limits[probe]:
            self._waiting[probe].append(job)  # started when a poll of this probe ends
        else:
            self._begin(job)

    def _begin(self, job: _Job) -> None:
        loop, target = self._loop, job.target
        assert loop is not None and self._timers is not None
        probe = target.probe
        self._running[probe] += 1
        self._poll_ids += 1
        job.poll_id = poll_id = self._poll_ids
        job.started = now = loop.time()
        if not job.extra:  # an extra poll has no tick to be late for
            job.lateness = max(0.0, now - slot_time(job.tick, TICK_SLOT))
            self._lateness[probe].observe(job.lateness)
        if self.gate is not None and not self.gate(target):
            self._end(job, poll_id, Failed("unreachable", "gated: ICMP says the device is down"))
            return
        self._timers.at(now + target.deadline, self._expire, (job, poll_id))
        fast, cancel = self._fast.get(probe), None
        if fast is not None:
            try:
                cancel = fast.begin(target, lambda result: self._end(job, poll_id, result))
            except Exception as exc:
                self._end(job, poll_id, failure_of(exc), exc)
                return
        if cancel is None:
            task = loop.create_task(self.probers[probe].poll(target),
                                    name=f"poll {'/'.join(target.key)}")
            self._tasks.add(task)
            task.add_done_callback(lambda t: self._task_done(job, poll_id, t))
            cancel = task.cancel
        if job.poll_id == poll_id:  # not already ended by a synchronous result
            job.cancel = cancel

    def _task_done(self, job: _Job, poll_id: int, task: asyncio.Task[Result]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            self._end(job, poll_id, Failed("timeout", "deadline exceeded"))
            return
        exc = task.exception()
        if exc is None:
            self._end(job, poll_id, task.result())
        else:
            failed = failure_of(exc)  # an unexpected crash is logged (once) with its traceback
            self._end(job, poll_id, failed, exc if failed.reason == "internal" else None)

    def _expire(self, arg: tuple[_Job, int]) -> None:
        job, poll_id = arg
        if job.poll_id == poll_id:
            cancel = job.cancel
            self._end(job, poll_id, Failed("timeout", "deadline exceeded"))
            if cancel is not None:
                cancel()

    def _end(self, job: _Job, poll_id: int, result: Result,
             crashed: BaseException | None = None) -> None:
        """A poll finished (or hit its deadline): record it, free the slot, plan the next."""
        if job.poll_id != poll_id:
            return  # a stale callback: this poll already ended by its deadline
        loop, target = self._loop, job.target
        assert loop is not None and self._timers is not None
        job.poll_id, job.cancel = 0, None
        probe = target.probe
        self._running[probe] -= 1
        waiting = self._waiting[probe]
        while waiting and self._running[probe] < self._limits[probe]:
            queued = waiting.popleft()
            if queued.active:
                self._begin(queued)
        now = loop.time()
        if crashed is not None and not job.failing:
            log.error("poll_crashed", target="/".join(target.key), exc_info=crashed)
        job.failing = crashed is not None
        if job.active:
            try:
                self.sink(target, Outcome(result, now - job.started, job.lateness))
            except Exception:  # a bug in state handling must not stop this target's timer
                log.exception("record_failed", target="/".join(target.key))
            self.polls += 1
            if job.extra:
                job.extra = False  # its regular tick's timer is still set
            else:
                self._plan_next(job, now)

    def _plan_next(self, job: _Job, now: float) -> None:
        interval = job.target.interval
        job.tick += interval
        if job.tick <= now:
            missed = math.floor((now - job.tick) / interval) + 1
            job.tick += missed * interval
            self._skipped[job.target.probe].inc(missed)
        assert self._timers is not None
        self._timers.at(job.tick, self._due, job)
