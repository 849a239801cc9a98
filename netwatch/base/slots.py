"""Timers grouped into fixed time slots: one event-loop timer per slot, not per callback.

With thousands of targets the scheduler sets a timer per poll and the ICMP engine several per
round (later echoes, the round's end). asyncio keeps each in a heap ordered by a Python-level
comparison and wakes once per distinct time; grouping them into slots of a few milliseconds
turns thousands of timers and wake-ups a second into a few hundred, and costs nothing in
accuracy: RTTs come from kernel timestamps, only the start of later echoes and the end of
rounds shift, by at most one slot.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger("netwatch.base.slots")

SLOT = 0.010  # seconds: half the wake-ups of 5 ms, for ~10 % less CPU at 10,000 targets


def slot_time(when: float, slot: float = SLOT) -> float:
    """The first slot boundary at or after `when` (loop time)."""
    return math.ceil(when / slot) * slot


class SlotTimers:
    """`at(when, callback, arg)` runs callback(arg) at the first slot boundary >= when.

    `before_slot`, when given, runs once at each slot before its callbacks (the engine reads
    its socket there, so replies already in the kernel count before rounds end).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, slot: float = SLOT,
                 before_slot: Callable[[], None] | None = None) -> None:
        self._loop = loop
        self._slot = slot
        self._before = before_slot
        self._buckets: dict[int, list[Any]] = {}  # slot index -> [callback, arg, callback, ...]
        self._handles: dict[int, asyncio.TimerHandle] = {}

    def at(self, when: float, callback: Callable[[Any], None], arg: Any) -> None:
        index = math.ceil(when / self._slot)
        bucket = self._buckets.get(index)
        if bucket is None:
            self._buckets[index] = [callback, arg]
            self._handles[index] = self._loop.call_at(index * self._slot, self._fire, index)
        else:
            bucket.append(callback)
            bucket.append(arg)

    def soon(self) -> None:
        """Make sure the next slot fires (for `before_slot` alone)."""
        index = math.ceil(self._loop.time() / self._slot)
        if index not in self._buckets:
            self._buckets[index] = []
            self._handles[index] = self._loop.call_at(index * self._slot, self._fire, index)

    def __len__(self) -> int:
        return len(self._buckets)

    def close(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
        self._buckets.clear()

    def _fire(self, index: int) -> None:
        self._handles.pop(index, None)
        bucket = self._buckets.pop(index, ())
        if self._before is not None:
            self._before()
        for i in range(0, len(bucket), 2):
            try:
                bucket[i](bucket[i + 1])
            except Exception:  # one broken callback must not strand the others of its slot
                log.exception("slot_callback_failed", callback=getattr(bucket[i], "__name__", "?"))
