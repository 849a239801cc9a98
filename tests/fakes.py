"""Fakes for pure logic (real peers are for the integration tests).

    FakeIcmp(result)       an ICMP prober whose every poll returns `result` (default: a
                           timeout) and whose series are the real IcmpSeries
    inventory_of(*targets) an Inventory holding just these targets (no config file)
    SiteHarness(tmp_path, config)
                           a SiteEngine fed ICMP rounds as the scheduler would, its clock
                           moved by hand
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from netwatch.base.exposition import MetricStore
from netwatch.config.model import Config
from netwatch.daemon.inventory_file import read_inventory
from netwatch.icmp.result import IcmpFamilies, IcmpResult, IcmpSeries
from netwatch.inventory.model import Inventory, Probe, Target
from netwatch.scheduler.prober import Failed, Outcome, Result
from netwatch.sites.engine import SiteEngine
from netwatch.sites.targets import State

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


class SiteHarness:
    """A SiteEngine over `config` (written to tmp_path/netwatch.yml, `files` beside it), fed
    ICMP rounds as the scheduler would; the clock moves only by wait()."""

    def __init__(self, tmp_path: Path, config: str, **files: str) -> None:
        for name, text in files.items():
            (tmp_path / name).write_text(text)
        path = tmp_path / "netwatch.yml"
        path.write_text(config)
        self.inventory: Inventory = read_inventory(path)
        self.store = MetricStore()
        self.state = State(self.store, {"icmp": FakeIcmp()})
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
        self.sites = SiteEngine(self.store, self.state, clock=lambda: self.now)
        self.state.sync(self.inventory)
        self.sites.sync(self.inventory)

    def wait(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def poll(self, owner: str, device: str, ok: bool = True, lost: int = 0,
             rtt: float = 0.001) -> None:
        """One ICMP round of five echoes, `lost` of them unanswered (ok=False: a timeout)."""
        target = self.inventory.targets[(owner, device, "icmp")]
        result = IcmpResult(5, (rtt,) * (5 - lost)) if ok else Failed("timeout")
        self.state.record(target, Outcome(result, 0.01, 0.0))

    def round(self, ok: bool = True) -> None:
        """One poll of every ICMP target, canaries first."""
        for key in sorted(self.inventory.targets):
            if key[2] == "icmp":
                self.poll(key[0], key[1], ok)

    def site(self, sid: str) -> str | None:
        """The site's state now (a call: mypy does not narrow it across polls)."""
        return self.sites.groups[sid].state

    def sample(self, text: str) -> str | None:
        """The value of the first exported line that starts with `text`."""
        body = self.store.render().decode()
        return next((line.rsplit(" ", 1)[1] for line in body.splitlines()
                     if line.startswith(text)), None)
