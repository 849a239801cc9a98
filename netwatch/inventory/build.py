"""From a validated config to the inventory: policies merged in layers, then checked once.

Settings are merged in layers (built-in < defaults < site or upstream < device), then every
effective setting is checked once (retries must fit in the deadline, auths and profiles must
exist, parents and upstreams must exist and not form cycles). Problems are reported at the
line the operator can fix.

    build_inventory(config, sources, profiles, thresholds) -> Inventory      raises ConfigError

`profiles` are the SNMP profile names a device may name: the caller passes them (the
inventory sits below the probers and does not import them). `thresholds` (the thresholds
file, with the config's override read over it) give the default `degraded` levels, below
netwatch.yml's `defaults.state.degraded` and a site's `state.degraded`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from pydantic import BaseModel

from netwatch.base.errors import ConfigError, ConfigIssue, format_path
from netwatch.config.model import (
    Config,
    DeviceConfig,
    IcmpSection,
    SnmpSection,
    StateSection,
)
from netwatch.config.read import SourceMap
from netwatch.config.thresholds import ThresholdsFile
from netwatch.config.types import format_duration
from netwatch.config.yamlload import PathKey
from netwatch.inventory.model import (
    Canary,
    Device,
    DeviceLabels,
    IcmpPolicy,
    Inventory,
    Site,
    SnmpPolicy,
    StatePolicy,
    Target,
    Upstream,
)

_P = TypeVar("_P")

BUILTIN_ICMP = IcmpSection(enabled=True, interval=15.0, count=5, spacing=1.0, timeout=2.0, size=56)
BUILTIN_SNMP = SnmpSection(enabled=True, interval=60.0, timeout=2.0, retries=1, profile="auto",
                           port=161)
BUILTIN_STATE = StateSection(down_after=3, up_after=2)  # `degraded`: the thresholds file's
DEADLINE_SHARE = 0.8  # default deadline: this share of the interval


@dataclass(frozen=True, slots=True)
class _Layers:
    """Override layers above a device, outermost first, with the path each came from."""

    icmp: list[tuple[PathKey, IcmpSection | None]]
    snmp: list[tuple[PathKey, SnmpSection | None]]


def _merge(model: type[BaseModel], *layers: BaseModel | None) -> BaseModel:
    merged: dict[str, object] = {}
    for layer in layers:
        if layer is not None:
            merged.update(layer.model_dump(exclude_none=True))
    return model.model_validate(merged)


class _Builder:
    def __init__(self, config: Config, sources: SourceMap, profiles: Collection[str],
                 thresholds: ThresholdsFile) -> None:
        self.config = config
        self.degraded = thresholds.degraded
        self.sources = sources
        self.issues: list[ConfigIssue] = []
        self._repeats: dict[ConfigIssue, int] = {}
        self.inventory = Inventory(config=config, timezone=config.timezone,
                                   thresholds=thresholds)
        self.known_profiles = {"auto", *profiles}
        self.addresses: dict[str, PathKey] = {}
        self._shared: dict[object, object] = {}  # one object per distinct policy value

    def share(self, value: _P) -> _P:
        """Thousands of devices share a handful of policies: keep one object of each."""
        return self._shared.setdefault(value, value)  # type: ignore[return-value]

    def fail(self, path: PathKey, message: str) -> None:
        # one error per cause: a policy at a defaults (or site) line is merged for every
        # device below it; its error is reported once, with the count of devices it affects
        issue = self.sources.issue(path, message)
        seen = self._repeats.get(issue)
        self._repeats[issue] = (seen or 0) + 1
        if seen is None:
            self.issues.append(issue)

    def _counted_issues(self) -> list[ConfigIssue]:
        return [replace(i, message=f"{i.message} (affects {n} devices)")
                if (n := self._repeats[i]) > 1 else i for i in self.issues]

    # --- policies -------------------------------------------------------------
    def icmp_policy(self, layers: list[tuple[PathKey, IcmpSection | None]]) -> IcmpPolicy | None:
        merged = _merge(IcmpSection, BUILTIN_ICMP, *(s for _, s in layers))
        assert isinstance(merged, IcmpSection)
        if not merged.enabled:
            return None
        assert merged.interval and merged.count and merged.spacing and merged.timeout
        deadline = merged.deadline or DEADLINE_SHARE * merged.interval
        blame = _deepest(layers, "icmp")
        round_time = (merged.count - 1) * merged.spacing + merged.timeout
        if merged.deadline and merged.deadline > merged.interval:
            self.fail((*blame, "deadline"), "deadline must not exceed the interval "
                      f"({format_duration(merged.interval)})")
        elif round_time > deadline:
            self.fail(blame, f"a round ((count {merged.count} - 1) x spacing "
                      f"{format_duration(merged.spacing)} + timeout "
                      f"{format_duration(merged.timeout)} = {format_duration(round_time)}) "
                      f"does not fit in the deadline {format_duration(deadline)}")
        assert merged.size is not None
        return self.share(IcmpPolicy(merged.interval, merged.count, merged.spacing,
                                     merged.timeout, merged.size, deadline))

    def snmp_policy(self, layers: list[tuple[PathKey, SnmpSection | None]]) -> SnmpPolicy | None:
        merged = _merge(SnmpSection, BUILTIN_SNMP, *(s for _, s in layers))
        assert isinstance(merged, SnmpSection)
        if not merged.enabled:
            return None
        assert merged.interval and merged.timeout and merged.retries is not None
        blame = _deepest(layers, "snmp")
        deadline = merged.deadline or DEADLINE_SHARE * merged.interval
        worst = merged.timeout * (merged.retries + 1)
        if merged.deadline and merged.deadline > merged.interval:
            self.fail((*blame, "deadline"), "deadline must not exceed the interval "
                      f"({format_duration(merged.interval)})")
        elif worst > deadline:
            self.fail(blame, f"timeout {format_duration(merged.timeout)} x (1 + retries "
                      f"{merged.retries}) = {format_duration(worst)} does not fit in the "
                      f"deadline {format_duration(deadline)}")
        profile = merged.profile or "auto"
        if profile not in self.known_profiles:
            known = ", ".join(sorted(self.known_profiles))
            self.fail(_deepest(layers, "snmp", "profile"),
                      f"unknown profile {profile!r} (known: {known})")
        if not merged.auth:
            self.fail(blame, "SNMP is enabled but no auth is named "
                      "(set snmp.auth to an entry under auths:, or snmp.enabled: false)")
            return None
        auth = self.config.auths.get(merged.auth)
        if auth is None:
            known = f" (known: {', '.join(sorted(self.config.auths))})" if self.config.auths else ""
            self.fail(_deepest(layers, "snmp", "auth"), f"unknown auth {merged.auth!r}{known}")
            return None
        assert merged.port is not None
        return self.share(SnmpPolicy(merged.interval, merged.timeout, merged.retries, deadline,
                                     merged.port, profile, merged.auth, auth))

    def state_policy(self, *layers: StateSection | None) -> StatePolicy:
        merged = _merge(StateSection, BUILTIN_STATE, *layers)
        assert isinstance(merged, StateSection)
        loss, rtt = self.degraded.loss_ratio, self.degraded.rtt_p90
        for layer in layers:
            if layer is not None and layer.degraded is not None:
                loss = layer.degraded.loss_ratio or loss
                rtt = layer.degraded.rtt_p90 or rtt
        assert merged.down_after and merged.up_after
        return self.share(StatePolicy(merged.down_after, merged.up_after, loss, rtt))

    # --- objects --------------------------------------------------------------
    def device(self, cfg: DeviceConfig, path: PathKey, owner: str, kecamatan: str, group: str,
               layers: _Layers, state: StatePolicy) -> Device:
        device_snmp = cfg.snmp
        if cfg.profile:
            device_snmp = (cfg.snmp or SnmpSection()).model_copy(update={"profile": cfg.profile})
        seen = self.addresses.setdefault(cfg.address, path)
        if seen != path:
            self.fail((*path, "address"),
                      f"address {cfg.address} is already used by {format_path(seen)}")
        snmp = self.snmp_policy([*layers.snmp, ((*path, "snmp"), device_snmp)])
        if cfg.radio is not None and cfg.radio.per_peer:
            if snmp is None:
                self.fail((*path, "radio", "per_peer"),
                          "per-peer radio series need SNMP, which is off for this device")
            else:
                snmp = self.share(replace(snmp, max_peers=cfg.radio.max_peers))
        return Device(
            labels=DeviceLabels(owner, kecamatan, cfg.name, cfg.role),
            address=cfg.address,
            parent=cfg.parent,
            uplink=cfg.uplink,
            icmp=self.icmp_policy([*layers.icmp, ((*path, "icmp"), cfg.icmp)]),
            snmp=snmp,
            state=state,
            group=group,
        )

    def add_devices(self, owner: str, devices: list[DeviceConfig], path: PathKey, kecamatan: str,
                    group: str, layers: _Layers, state: StatePolicy) -> tuple[str, ...]:
        names: dict[str, int] = {}
        for index, cfg in enumerate(devices):
            dpath = (*path, "devices", index)
            if cfg.name in names:
                self.fail((*dpath, "name"), f"duplicate device name {cfg.name!r} in {owner}")
                continue
            names[cfg.name] = index
            device = self.device(cfg, dpath, owner, kecamatan, group, layers, state)
            self.inventory.devices[device.key] = device
            for probe, policy in (("icmp", device.icmp), ("snmp", device.snmp)):
                if policy is not None:
                    key = (owner, cfg.name, probe)
                    self.inventory.targets[key] = Target(key, probe, device.address, policy, device)  # type: ignore[arg-type]
        self._check_parents(devices, names, path)
        return tuple(names)

    def _check_parents(self, devices: list[DeviceConfig], names: dict[str, int],
                       path: PathKey) -> None:
        parents = {d.name: d.parent for d in devices}
        for index, cfg in enumerate(devices):
            ppath = (*path, "devices", index, "parent")
            if cfg.parent is None:
                continue
            if cfg.parent == cfg.name:
                self.fail(ppath, "a device cannot be its own parent")
            elif cfg.parent not in names:
                self.fail(ppath,
                          f"unknown parent {cfg.parent!r} (devices here: {', '.join(names)})")
            elif _cycle(cfg.name, parents):
                self.fail(ppath, f"parent cycle: {' -> '.join(_cycle(cfg.name, parents))}")

    def build(self) -> Inventory:
        cfg, inv = self.config, self.inventory
        d = cfg.defaults
        base_icmp: list[tuple[PathKey, IcmpSection | None]] = [(("defaults", "icmp"), d.icmp)]
        base_snmp: list[tuple[PathKey, SnmpSection | None]] = [(("defaults", "snmp"), d.snmp)]
        for index, canary in enumerate(cfg.canaries):
            path = ("canaries", index)
            if canary.name in inv.canaries:
                self.fail((*path, "name"), f"duplicate canary name {canary.name!r}")
                continue
            policy = self.icmp_policy([*base_icmp, ((*path, "icmp"), canary.icmp)])
            if policy is None:
                self.fail((*path, "icmp", "enabled"), "a canary must be polled")
                continue
            inv.canaries[canary.name] = Canary(canary.name, canary.address, policy)
            key = ("", canary.name, "icmp")
            inv.targets[key] = Target(key, "icmp", canary.address, policy,
                                      canary=inv.canaries[canary.name])
        default_state = self.state_policy(d.state)
        upstream_chain = {u.id: u.upstream for u in cfg.upstreams}
        for index, up in enumerate(cfg.upstreams):
            path = ("upstreams", index)
            if up.id in inv.upstreams:
                self.fail((*path, "id"), f"duplicate upstream id {up.id!r}")
                continue
            layers = _Layers([*base_icmp, ((*path, "icmp"), up.icmp)],
                             [*base_snmp, ((*path, "snmp"), up.snmp)])
            group = _root_upstream(up.id, upstream_chain) or up.id
            names = self.add_devices(up.id, up.devices, path, up.kecamatan or "", group, layers,
                                     default_state)
            inv.upstreams[up.id] = Upstream(up.id, up.name, up.kecamatan or "", up.upstream, names)
        for index, up in enumerate(cfg.upstreams):
            if up.upstream is None:
                continue
            self._check_upstream_ref(("upstreams", index, "upstream"), up.upstream)
            cycle = _cycle(up.id, upstream_chain)
            if cycle:
                self.fail(("upstreams", index, "upstream"), f"upstream cycle: {' -> '.join(cycle)}")
        for index, site in enumerate(cfg.sites):
            path = ("sites", index)
            if site.id in inv.sites or site.id in inv.upstreams:
                self.fail((*path, "id"), f"duplicate site id {site.id!r}")
                continue
            if site.upstream is not None:
                self._check_upstream_ref((*path, "upstream"), site.upstream)
            state = self.state_policy(d.state, site.state)
            layers = _Layers([*base_icmp, ((*path, "icmp"), site.icmp)],
                             [*base_snmp, ((*path, "snmp"), site.snmp)])
            group = _root_upstream(site.upstream, upstream_chain) or site.id
            names = self.add_devices(site.id, site.devices, path, site.kecamatan, group, layers,
                                     state)
            inv.sites[site.id] = Site(site.id, site.name, site.kecamatan, site.location, site.isp,
                                      site.upstream, site.sla_target, tuple(site.maintenance),
                                      state, names, site.power_feed)
        if self.issues:
            raise ConfigError(self._counted_issues())
        return inv

    def _check_upstream_ref(self, path: PathKey, name: str) -> None:
        if name not in self.inventory.upstreams:
            known = ", ".join(self.inventory.upstreams) or "none defined"
            self.fail(path, f"unknown upstream {name!r} (known: {known})")


def _deepest(layers: Sequence[tuple[PathKey, BaseModel | None]], section: str,
             field_name: str | None = None) -> PathKey:
    """The most specific layer that sets the section (or the field): where to point an error."""
    for path, layer in reversed(layers):
        if layer is None:
            continue
        if field_name is None or getattr(layer, field_name, None) is not None:
            return (*path, field_name) if field_name else path
    return ("defaults", section, field_name) if field_name else ("defaults", section)


def _cycle(start: str, links: dict[str, str | None]) -> list[str]:
    """The loop reached by following links from start, or [] when the chain ends."""
    seen: list[str] = [start]
    current = links.get(start)
    while current is not None and current in links:
        if current in seen:
            return [*seen[seen.index(current):], current]
        seen.append(current)
        current = links.get(current)
    return []


def _root_upstream(name: str | None, links: dict[str, str | None]) -> str | None:
    """The top of a site's upstream chain: the group sharded as one (topology stays whole)."""
    seen: set[str] = set()
    while name is not None and links.get(name) is not None and name not in seen:
        seen.add(name)
        name = links[name]
    return name


def build_inventory(config: Config, sources: SourceMap, profiles: Collection[str],
                    thresholds: ThresholdsFile) -> Inventory:
    inventory = _Builder(config, sources, profiles, thresholds).build()
    # the sites, upstreams and canaries live on as Site/Device/Target objects: keep only the
    # global settings of the validated models (a 10,000-site config's models are ~15 MB)
    inventory.config = config.model_copy(update={"sites": [], "upstreams": [], "canaries": []})
    return inventory
