"""The ICMP prober: rounds of echoes per target over the shared engines (one per family).

    prober = IcmpProber()            # raw sockets when permitted, else ping sockets
    await prober.start()             # StartupError naming the fix when neither is allowed
    result = await prober.poll(target)   # IcmpResult; never raises for loss or unreachable
"""

from __future__ import annotations

import asyncio
import socket
import weakref
from collections.abc import Callable

import structlog

from netwatch.base.addresses import REFRESH, Resolver
from netwatch.base.errors import Unreachable
from netwatch.base.exposition import MetricStore
from netwatch.icmp.engine import IcmpEngine
from netwatch.icmp.result import IcmpFamilies, IcmpResult, IcmpSeries
from netwatch.icmp.sockets import FamilyUnavailable, Mode
from netwatch.inventory.model import IcmpPolicy, Probe, Target, TargetKey

log = structlog.get_logger("netwatch.icmp")


class IcmpProber:
    probe: Probe = "icmp"

    def __init__(self, mode: Mode = "auto", resolve_every: float = REFRESH) -> None:
        self.engines = {family: IcmpEngine(family, mode)
                        for family in (socket.AF_INET, socket.AF_INET6)}
        self.resolver = Resolver(resolve_every)
        # the series State holds for each target: replies after a round ended are counted
        # there; weak, so a target removed by a reload takes its series along
        self._series: weakref.WeakValueDictionary[TargetKey, IcmpSeries] = (
            weakref.WeakValueDictionary())
        self._families: weakref.WeakKeyDictionary[MetricStore, IcmpFamilies] = (
            weakref.WeakKeyDictionary())
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.engines[socket.AF_INET].start()  # StartupError propagates: no ICMP at all
        try:
            self.engines[socket.AF_INET6].start()
        except FamilyUnavailable as exc:
            log.warning("ipv6_unavailable", error=str(exc))
        usable = tuple(f for f, e in self.engines.items() if e.started)
        self.resolver.families = usable
        v4 = self.engines[socket.AF_INET]
        log.info("icmp_ready", socket="raw" if v4.raw else "datagram",
                 ipv6=socket.AF_INET6 in usable)

    async def close(self) -> None:
        for engine in self.engines.values():
            engine.close()

    async def poll(self, target: Target) -> IcmpResult:
        policy = target.policy
        assert isinstance(policy, IcmpPolicy)
        loop = asyncio.get_running_loop()
        entry = self.resolver.cached(target.address, loop.time())
        if entry is None:
            entry = await self.resolver.resolve(target.address)
        engine = self.engines[entry.family]
        if not engine.started:
            raise Unreachable(f"{entry.address}: no {entry.family.name} on this host")
        return await engine.ping(entry.address, policy.count, policy.spacing, policy.timeout,
                                 policy.size, self._series.get(target.key))

    def begin(self, target: Target, done: Callable[[IcmpResult], object]
              ) -> Callable[[], None] | None:
        """The scheduler's fast path: start the round now and call `done` with its result;
        returns how to cancel it. None when it must await (a host name not resolved yet, or
        an address family this host lacks): the scheduler then uses `poll`."""
        policy = target.policy
        assert isinstance(policy, IcmpPolicy)
        assert self._loop is not None
        entry = self.resolver.cached(target.address, self._loop.time())
        if entry is None:
            return None
        engine = self.engines[entry.family]
        if not engine.started:
            return None
        rnd = engine.start_round(entry.address, policy.count, policy.spacing, policy.timeout,
                                 policy.size, self._series.get(target.key), done)
        return rnd.cancel

    def series(self, target: Target, labels: str, store: MetricStore) -> IcmpSeries:
        families = self._families.get(store)
        if families is None:
            families = self._families[store] = IcmpFamilies(store)
        created = IcmpSeries(families, labels)
        self._series[target.key] = created
        return created
