"""Fakes for pure logic (real peers are for the integration tests).

    FakeIcmp(result)       an ICMP prober whose every poll returns `result` (default: a
                           timeout) and whose series are the real IcmpSeries
    inventory_of(*targets) an Inventory holding just these targets (no config file)
"""

from __future__ import annotations

from netwatch.base.exposition import MetricStore
from netwatch.config.model import Config
from netwatch.icmp.result import IcmpFamilies, IcmpSeries
from netwatch.inventory.model import Inventory, Probe, Target
from netwatch.scheduler.prober import Failed, Result

ICMP_DOWN = Failed("timeout", "test: ICMP down")


class FakeIcmp:
    """A Prober for ICMP that sends nothing."""

    probe: Probe = "icmp"

    def __init__(self, result: Result = ICMP_DOWN) -> None:
        self.result = result

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def poll(self, target: Target) -> Result:
        return self.result

    def series(self, target: Target, labels: str, store: MetricStore) -> IcmpSeries:
        return IcmpSeries(IcmpFamilies(store), labels)


def inventory_of(*targets: Target) -> Inventory:
    return Inventory(Config(), "Asia/Jakarta", targets={t.key: t for t in targets})
