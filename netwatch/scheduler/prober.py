"""The contract every prober implements, and what one poll yields.

A prober (`netwatch.icmp.prober`, `netwatch.snmp.prober`) turns one Target into one Result.
It raises a ProbeError subclass for a failure it can name; anything else becomes
reason="internal". Each probe also supplies the per-target `ProbeSeries` that accumulates its
results (counters, histograms) and renders its metric lines.

    Prober          start, close, `async poll(target) -> Result`, series(...)
    FastProber      a Prober that can also `begin(target, done)` a poll with no task (ICMP:
                    at 10,000 targets a task per poll costs more CPU than the pings)
    run_poll()      one poll under its deadline, errors mapped to a Failed result: the one
                    way to poll outside the scheduler (probe commands, benchmarks, tests)
    failure_of()    the same mapping for an exception the scheduler caught
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from netwatch.base.errors import ProbeError, Reason

if TYPE_CHECKING:
    from netwatch.base.exposition import Family, Fragment, MetricStore
    from netwatch.inventory.model import Probe, Target


class Result(Protocol):
    """What a prober returns: whether the poll counts as success, and if not, why."""

    @property
    def ok(self) -> bool: ...

    @property
    def reason(self) -> Reason | None: ...


@dataclass(frozen=True, slots=True)
class Failed:
    """A poll that produced nothing but an error reason."""

    reason: Reason
    detail: str = ""

    @property
    def ok(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Outcome:
    """One finished poll as the scheduler saw it."""

    result: Result
    duration: float  # seconds the poll took
    lateness: float  # seconds between the scheduled tick and the start

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def reason(self) -> Reason | None:
        return None if self.result.ok else self.result.reason


class ProbeSeries(Protocol):
    """Per-target accumulator of one probe's results, and the renderer of its series."""

    def apply(self, result: Result) -> None: ...

    def render(self, full: bool = True) -> list[tuple[Family, Fragment]]:
        """The lines to (re)set; after a poll (`full=False`) lazy families may be left out."""
        ...


class Prober(Protocol):
    probe: Probe

    async def start(self) -> None:
        """Open sockets/engines; raise StartupError with the fix when impossible."""

    async def close(self) -> None: ...

    async def poll(self, target: Target) -> Result: ...

    def series(self, target: Target, labels: str, store: MetricStore) -> ProbeSeries:
        """A fresh accumulator for a target. `labels` is the static label text of the device
        (site, kecamatan, device, role; see exposition.label_text): probe series carry no
        `probe` label, their metric names say which probe they come from."""
        ...


Cancel = Callable[[], object]


@runtime_checkable
class FastProber(Prober, Protocol):
    def begin(self, target: Target, done: Callable[[Result], object]) -> Cancel | None:
        """Start a poll now and call `done` with its result (maybe before returning);
        return how to cancel it, or None when this poll needs `poll` (it must await)."""
        ...


def failure_of(exc: BaseException) -> Failed:
    """An exception a poll ended with, as the Failed result it counts as."""
    if isinstance(exc, ProbeError):
        return Failed(exc.reason, str(exc))
    if isinstance(exc, (TimeoutError, asyncio.CancelledError)):
        return Failed("timeout", "deadline exceeded")
    return Failed("internal", type(exc).__name__)


async def run_poll(prober: Prober, target: Target) -> Result:
    """One poll of `target` under its deadline; every failure is a Failed result."""
    try:
        async with asyncio.timeout(target.deadline):
            return await prober.poll(target)
    except Exception as exc:
        return failure_of(exc)
