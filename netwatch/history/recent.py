"""RTT and loss of every pinged device over the last 24 hours, one slot per minute, in memory.

For the site page's sparklines: Prometheus has the full series, but the page must work
without it. Each device has two fixed arrays of 1,440 slots (the minute of the day is the
index): mean RTT in microseconds (uint32) and loss in percent (uint8), 5 bytes a minute,
7.2 kB a device plus its object: 2,650 sites with a router and an access point each stay
near 40 MB (bench/screen.py measures it). A slot not written in the last 24 hours reads as
no data: every write clears the slots skipped since the previous one.

    recent = RecentSeries()
    recent.observe_round(("18.71.01.1003", "rtr"), at, result)   # after every ICMP poll
    recent.series(("18.71.01.1003", "rtr"), now)  -> Series(start, rtt_ms, loss)

Loss is what netwatch_icmp_requests_total and netwatch_icmp_responses_total count: the echoes
of the rounds that ran (an IcmpResult: sent, answered in time). A poll that failed without a
round (its deadline passed, an internal error) sent nothing anyone can count: it adds nothing
here either, as in IcmpSeries.apply. (Counting it as every echo lost once showed a healthy
lab site at 14 % loss: one round whose deadline passed while the test's browser started.)
A minute's loss is lost echoes over sent echoes of that minute; the minute being filled
reads its running sums, a finished minute is kept to 1 % (one byte).
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from netwatch.icmp.result import IcmpResult
from netwatch.scheduler.prober import Result

SLOTS = 1440  # minutes in 24 hours
NO_RTT = 0xFFFFFFFF
NO_LOSS = 0xFF


@dataclass(frozen=True, slots=True)
class Series:
    start: int  # Unix minute of the first slot (oldest first)
    rtt_ms: list[float | None]
    loss: list[float | None]  # ratio 0..1


class _Ring:
    """One device: the finished minutes, and the minute being filled."""

    __slots__ = ("loss", "minute", "received", "rtt", "rtt_count", "rtt_sum", "sent")

    def __init__(self) -> None:
        self.rtt = array("I", [NO_RTT]) * SLOTS
        self.loss = array("B", [NO_LOSS]) * SLOTS
        self.minute = -1  # the minute being filled (Unix minutes)
        self.sent = self.received = self.rtt_count = 0
        self.rtt_sum = 0.0

    def _finish(self) -> None:
        if self.minute < 0 or not self.sent:
            return
        slot = self.minute % SLOTS
        lost = 1.0 - self.received / self.sent
        self.loss[slot] = min(100, max(0, round(lost * 100)))
        if self.rtt_count:
            self.rtt[slot] = min(NO_RTT - 1, round(self.rtt_sum / self.rtt_count * 1e6))

    def advance(self, minute: int) -> None:
        """Close the minute being filled and clear the slots skipped since."""
        if minute <= self.minute:
            return
        self._finish()
        if self.minute >= 0:
            for skipped in range(self.minute + 1, min(minute, self.minute + SLOTS + 1)):
                self.rtt[skipped % SLOTS] = NO_RTT
                self.loss[skipped % SLOTS] = NO_LOSS
        slot = minute % SLOTS
        self.rtt[slot], self.loss[slot] = NO_RTT, NO_LOSS
        self.minute = minute
        self.sent = self.received = self.rtt_count = 0
        self.rtt_sum = 0.0


class RecentSeries:
    def __init__(self) -> None:
        self.rings: dict[Hashable, _Ring] = {}

    def observe_round(self, key: Hashable, at: float, result: Result) -> None:
        """One ICMP poll's result; only a round that ran counts (see the module's note)."""
        if isinstance(result, IcmpResult) and result.sent:
            self.observe(key, at, result.sent, result.received, sum(result.rtts))

    def observe(self, key: Hashable, at: float, sent: int, received: int, rtt_sum: float,
                rtt_count: int | None = None) -> None:
        """One round of echoes: `sent`, `received` in time, and the sum of their RTTs (s)."""
        ring = self.rings.get(key)
        if ring is None:
            ring = self.rings[key] = _Ring()
        ring.advance(int(at // 60))
        ring.sent += sent
        ring.received += received
        ring.rtt_sum += rtt_sum
        ring.rtt_count += received if rtt_count is None else rtt_count

    def keep(self, keys: Iterable[Hashable]) -> None:
        """Follow a reload: devices that left lose their rings."""
        wanted = set(keys)
        for key in [k for k in self.rings if k not in wanted]:
            del self.rings[key]

    def series(self, key: Hashable, now: float) -> Series | None:
        """The last 24 hours up to the current minute (partly filled), oldest first."""
        ring = self.rings.get(key)
        if ring is None:
            return None
        minute = int(now // 60)
        start = minute - SLOTS + 1
        rtt: list[float | None] = [None] * SLOTS
        loss: list[float | None] = [None] * SLOTS
        for m in range(max(start, ring.minute - SLOTS + 1), min(ring.minute, minute) + 1):
            slot = m % SLOTS
            if m == ring.minute:  # the minute being filled: read its sums
                if ring.sent:
                    loss[m - start] = 1.0 - ring.received / ring.sent
                if ring.rtt_count:
                    rtt[m - start] = ring.rtt_sum / ring.rtt_count * 1000
                continue
            if ring.rtt[slot] != NO_RTT:
                rtt[m - start] = ring.rtt[slot] / 1000
            if ring.loss[slot] != NO_LOSS:
                loss[m - start] = ring.loss[slot] / 100
        return Series(start, rtt, loss)
