"""The small interface every prober implements, and what one poll yields.

A prober (`netwatch.icmp.prober`, `netwatch.snmp.prober`) turns one Target into one Result.
It raises a ProbeError subclass for a failure it can name; the scheduler wraps anything
else as reason="internal". Each probe also supplies the per-target `ProbeSeries` that
accumulates its results (counters, histograms) and renders its metric lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from netwatch.errors import Reason

if TYPE_CHECKING:
    from netwatch.exposition import Family, Fragment, MetricStore
    from netwatch.inventory import Probe, Target


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
