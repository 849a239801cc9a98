"""The SNMP prober: the daemon's side of `netwatch.scheduler.prober.Prober` for probe="snmp".

    prober = SnmpProber()
    await prober.start()                 # profiles validated (StartupError names the file)
    result = await prober.poll(target)   # SnmpResult (possibly partial) or ProbeError
    series = prober.series(target, labels, store)

Per target it keeps a session (engine, transport target) and the device state (profile,
lookups, boot clock) between polls; both are rebuilt when a reload changes the target's
SNMP settings. The scheduler enforces the deadline and the ICMP gate; the poll itself stops
a little before the deadline so what it read so far can still be exported.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

import structlog

from netwatch.base.errors import StartupError
from netwatch.base.exposition import MetricStore
from netwatch.config.model import AuthConfig, Role
from netwatch.inventory.model import (
    Device,
    DeviceLabels,
    Probe,
    SnmpPolicy,
    StatePolicy,
    Target,
    TargetKey,
)
from netwatch.snmp import profiles as shipped
from netwatch.snmp.client import SnmpClient
from netwatch.snmp.poller import DeviceState, poll_device
from netwatch.snmp.profile import Profile, ProfileError
from netwatch.snmp.result import SnmpFamilies, SnmpResult, SnmpSeries
from netwatch.snmp.session import MAX_IN_FLIGHT, EnginePool

log = structlog.get_logger("netwatch.snmp")

SWEEP_EVERY = 300.0  # seconds between sweeps of targets no longer polled


def adhoc_target(address: str, auth: AuthConfig, port: int = 161, profile: str = "auto",
                 timeout: float = 2.0, retries: int = 1, deadline: float | None = None,
                 site: str = "adhoc", name: str = "device", role: Role = "router",
                 interval: float = 60.0, max_peers: int = 0) -> Target:
    """A Target outside any inventory (`netwatch probe --snmp`, tests, benchmarks)."""
    deadline = deadline if deadline is not None else max(timeout * (retries + 1) * 4, 5.0)
    policy = SnmpPolicy(interval, timeout, retries, deadline, port, profile, "adhoc", auth,
                        max_peers)
    device = Device(DeviceLabels(site, "", name, role), address, None, None, None, policy,
                    StatePolicy(1, 1, 0.05, 0.15), site)
    return Target((site, name, "snmp"), "snmp", address, policy, device)


def poll_budget(deadline: float) -> float:
    """Stop this much before the scheduler's deadline, to keep a partial result."""
    return max(0.1, deadline - min(0.5, 0.05 * deadline))


@dataclass
class _Entry:
    policy: SnmpPolicy
    address: str
    state: DeviceState
    session: SnmpClient | None = None
    last_poll: float = 0.0


def _warn_once(target: Target, state: DeviceState, result: SnmpResult) -> None:
    """Wrong-typed values (per metric family) and tables cut at their row cap: logged once
    per device (the counters in the exposition keep counting)."""
    for family, count in result.rejected:
        if family not in state.warned:
            state.warned.add(family)
            log.warning("snmp_values_rejected", site=target.key[0], device=target.key[1],
                        family=family, values=count,
                        hint="the agent sends another type than the profile expects")
    if result.truncated and "truncated" not in state.warned:
        state.warned.add("truncated")
        log.warning("snmp_table_truncated", site=target.key[0], device=target.key[1],
                    tables=list(result.truncated), hint="more rows than the profile's max_rows")


class SnmpProber:
    probe: Probe = "snmp"

    def __init__(self, max_in_flight: int = MAX_IN_FLIGHT,
                 profiles: dict[str, Profile] | None = None) -> None:
        """`profiles`: other than the shipped ones (benchmarks compare profile variants)."""
        self._max_in_flight = max_in_flight
        self._pool: EnginePool | None = None
        self._profiles: dict[str, Profile] | None = profiles
        self._entries: dict[TargetKey, _Entry] = {}
        # per store, dropped with it (an id() key could be reused by a later store)
        self._families: weakref.WeakKeyDictionary[MetricStore, SnmpFamilies] = (
            weakref.WeakKeyDictionary())
        self._swept = time.monotonic()

    @property
    def profiles(self) -> dict[str, Profile]:
        if self._profiles is None:
            try:
                self._profiles = shipped.load()
            except ProfileError as exc:
                raise StartupError(f"invalid SNMP profile:\n{exc}") from None
        return self._profiles

    async def start(self) -> None:
        _ = self.profiles
        self._pool = EnginePool(self._max_in_flight)

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self._entries.clear()

    def _entry(self, target: Target) -> _Entry:
        policy = target.policy
        assert isinstance(policy, SnmpPolicy)
        entry = self._entries.get(target.key)
        if entry is None or entry.policy != policy or entry.address != target.address:
            state = DeviceState(policy.profile)
            if entry is not None and entry.policy.profile == policy.profile:
                state = entry.state  # same device, new transport settings: keep what we know
            entry = self._entries[target.key] = _Entry(policy, target.address, state)
        return entry

    async def poll(self, target: Target) -> SnmpResult:
        if self._pool is None:
            await self.start()
        assert self._pool is not None
        entry = self._entry(target)
        now = time.monotonic()
        entry.last_poll = now
        if now - self._swept > SWEEP_EVERY:
            self._sweep(now)
        policy = entry.policy
        if entry.session is None:
            entry.session = await self._pool.session(target.address, policy.port, policy.auth,
                                                     policy.timeout, policy.retries)
        before = entry.state.profile
        entry.state.limit_peers(policy.max_peers)
        result = await poll_device(entry.session, entry.state, self.profiles,
                                   poll_budget(policy.deadline))
        if entry.state.profile is not before and entry.state.profile is not None:
            log.info("snmp_profile", site=target.key[0], device=target.key[1],
                     profile=entry.state.profile.name, setting=policy.profile)
        _warn_once(target, entry.state, result)
        return result

    def _sweep(self, now: float) -> None:
        """Forget targets a reload removed (no poll for three intervals)."""
        self._swept = now
        for key in [k for k, e in self._entries.items()
                    if now - e.last_poll > 3 * e.policy.interval + SWEEP_EVERY]:
            del self._entries[key]

    def series(self, target: Target, labels: str, store: MetricStore) -> SnmpSeries:
        families = self._families.get(store)
        if families is None:
            families = self._families[store] = SnmpFamilies(store, self.profiles)
        return SnmpSeries(families, labels)
