"""The configured topology against the observed neighbours: pure, shared by the daemon's
drift check and `netwatch discover`.

    analysis = analyse(inventory, observed)      # observed: {(group, device): Topology}
    analysis.findings      what contradicts the config, or is missing from it
    analysis.reports       every neighbour row, with the configured device it names (or None)
    analysis.unknown_neighbours()   the rows naming no configured device, one per neighbour

A neighbour row names a configured device by (first match wins) the address the config
gives it, one of the device's own MACs (its ifPhysAddress, its LLDP chassis id, read from
it by SNMP) when no other configured device reports that MAC, or its sysName
(case-insensitive, also the first label of a domain name) when exactly one device has that
name. Two configured devices are adjacent when either one's
neighbour table names the other.

Findings need positive evidence: the absence of a link proves nothing (a device may speak
no LLDP, MNDP or CDP, and radios may hide the other end), so only a neighbour that is a
*different* configured device than the one the config expects is a contradiction:

    parent            a device with `parent: P` is adjacent to a configured device Q that is
                      neither P, nor its own child, sibling or ancestor, and not to P
    upstream          a group's root device (no parent) is adjacent to a device of an
                      upstream that is neither the configured one (nor its ancestors) nor
                      one behind the group, and to none of the configured upstream's
    missing_parent    a root device is adjacent to a device of its own site that is not
                      behind it and either has a parent itself or a role above it
                      (upstream > router > switch > ap, server): the config lacks the link
    missing_upstream  a group without `upstream:` whose root is adjacent to an upstream's
                      device
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

from netwatch.inventory.model import Device, Inventory
from netwatch.snmp.neighbors import Neighbor, Topology, mac_text

DeviceKey = tuple[str, str]  # (site or upstream id, device name)
FindingKind = Literal["parent", "upstream", "missing_parent", "missing_upstream"]
ROLE_RANK = {"upstream": 4, "router": 3, "switch": 2, "ap": 1, "server": 1}


@dataclass(frozen=True, slots=True)
class Finding:
    """One contradiction or gap: `expected` is the configured parent or upstream ("" where
    the config has none), `observed` what the neighbours show (a device key as GROUP/NAME,
    or an upstream id), `evidence` the neighbour row(s) it rests on."""

    kind: FindingKind
    device: DeviceKey
    expected: str
    observed: str
    evidence: str


@dataclass(frozen=True, slots=True)
class Report:
    """One neighbour row of one device, with the configured device it names."""

    reporter: DeviceKey
    neighbor: Neighbor
    match: DeviceKey | None


# (reporter, the neighbour with its rows' facts together, the protocols that report it)
UnknownNeighbour = tuple[DeviceKey, Neighbor, list[str]]


@dataclass
class Analysis:
    reports: list[Report] = field(default_factory=list)
    adjacent: dict[DeviceKey, dict[DeviceKey, str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def unknown_neighbours(self) -> list[UnknownNeighbour]:
        """The rows that name no configured device, one entry per neighbour a device hears
        on an interface: some agents repeat a row, and a MikroTik hears the same neighbour
        by LLDP and MNDP. Its protocols, its addresses together, the first name, port and
        platform given."""
        entries: dict[tuple[DeviceKey, str, str], tuple[Neighbor, list[str]]] = {}
        for r in self.reports:
            if r.match is not None:
                continue
            n = r.neighbor
            key = (r.reporter, n.ifname, (n.chassis or n.name).lower())
            known = entries.get(key)
            if known is None:
                entries[key] = (n, [n.protocol])
                continue
            first, protocols = known
            if n.protocol not in protocols:
                protocols.append(n.protocol)
            addresses = (*first.addresses,
                         *(a for a in n.addresses if a not in first.addresses))
            entries[key] = (replace(first, name=first.name or n.name,
                                    port=first.port or n.port,
                                    description=first.description or n.description,
                                    addresses=addresses), protocols)
        return [(key[0], n, protocols) for key, (n, protocols) in entries.items()]


def key_text(key: DeviceKey) -> str:
    return f"{key[0]}/{key[1]}"


def _names(name: str) -> set[str]:
    lowered = name.strip().lower()
    return {lowered, lowered.split(".")[0]} if lowered else set()


class Matcher:
    """Which configured device a neighbour row names."""

    def __init__(self, inventory: Inventory, observed: dict[DeviceKey, Topology]) -> None:
        self.by_address: dict[str, DeviceKey] = {}
        macs: dict[str, set[DeviceKey]] = {}
        names: dict[str, set[DeviceKey]] = {}
        for key, device in inventory.devices.items():
            self.by_address.setdefault(device.address.lower(), key)
        for key, topology in observed.items():
            if key not in inventory.devices:
                continue
            for mac in topology.macs:
                macs.setdefault(mac, set()).add(key)
            for name in _names(topology.sysname):
                names.setdefault(name, set()).add(key)
        # a MAC or a name more than one configured device reports (a shared virtual MAC, a
        # vendor's default, a cloned config) names none of them
        self.by_mac = {m: next(iter(keys)) for m, keys in macs.items() if len(keys) == 1}
        self.by_name = {n: next(iter(keys)) for n, keys in names.items() if len(keys) == 1}

    def match(self, neighbor: Neighbor) -> DeviceKey | None:
        for address in neighbor.addresses:
            found = self.by_address.get(address.lower())
            if found is not None:
                return found
        mac = mac_text(neighbor.chassis)
        if mac and mac in self.by_mac:
            return self.by_mac[mac]
        for name in sorted(_names(neighbor.name), key=len, reverse=True):
            if name in self.by_name:
                return self.by_name[name]
        return None


class _Config:
    """The configured topology, indexed for the findings (each lookup within one group)."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.upstream_of: dict[str, str | None] = {}
        for site in inventory.sites.values():
            self.upstream_of[site.id] = site.upstream
        for upstream in inventory.upstreams.values():
            self.upstream_of[upstream.id] = upstream.upstream
        self.members: dict[str, list[DeviceKey]] = {}
        for key in inventory.devices:
            self.members.setdefault(key[0], []).append(key)
        self.chains = {group: self._chain(group) for group in self.upstream_of}
        self.behind: dict[str, set[str]] = {}  # groups whose upstream chain passes through
        for group, chain in self.chains.items():
            for ancestor in chain:
                self.behind.setdefault(ancestor, set()).add(group)

    def device(self, key: DeviceKey) -> Device:
        return self.inventory.devices[key]

    def parent(self, key: DeviceKey) -> DeviceKey | None:
        parent = self.device(key).parent
        if parent is None or (key[0], parent) not in self.inventory.devices:
            return None
        return (key[0], parent)

    def ancestors(self, key: DeviceKey) -> list[DeviceKey]:
        out: list[DeviceKey] = []
        current = self.parent(key)
        while current is not None and current not in out and current != key:
            out.append(current)
            current = self.parent(current)
        return out

    def children(self, key: DeviceKey) -> set[DeviceKey]:
        return {k for k in self.members.get(key[0], ()) if self.parent(k) == key}

    def descendants(self, key: DeviceKey) -> set[DeviceKey]:
        return {k for k in self.members.get(key[0], ()) if key in self.ancestors(k)}

    def group_devices(self, groups: Iterable[str]) -> set[DeviceKey]:
        return {k for group in groups for k in self.members.get(group, ())}

    def is_upstream(self, group: str) -> bool:
        return group in self.inventory.upstreams

    def _chain(self, group: str) -> list[str]:
        """The group's configured upstream and that one's upstreams."""
        out: list[str] = []
        current = self.upstream_of.get(group)
        while current is not None and current not in out and current != group:
            out.append(current)
            current = self.upstream_of.get(current)
        return out


def _rank(device: Device) -> int:
    return ROLE_RANK.get(device.labels.role, 0)


def analyse(inventory: Inventory, observed: dict[DeviceKey, Topology]) -> Analysis:
    """Match every neighbour row, build the adjacencies, and judge every device."""
    matcher = Matcher(inventory, observed)
    analysis = Analysis()
    for reporter, topology in sorted(observed.items()):
        for neighbor in topology.neighbors:
            match = matcher.match(neighbor)
            analysis.reports.append(Report(reporter, neighbor, match))
            if match is None or match == reporter:  # itself: a loop, or its own bridge
                continue
            evidence = _evidence(reporter, neighbor)
            analysis.adjacent.setdefault(reporter, {}).setdefault(match, evidence)
            analysis.adjacent.setdefault(match, {}).setdefault(reporter, evidence)
    config = _Config(inventory)
    for key in sorted(inventory.devices):
        analysis.findings += _judge(config, analysis.adjacent.get(key, {}), key)
    return analysis


def _evidence(reporter: DeviceKey, neighbor: Neighbor) -> str:
    where = f" on {neighbor.ifname}" if neighbor.ifname else ""
    port = f" port {neighbor.port}" if neighbor.port else ""
    return (f"{key_text(reporter)}{where} sees {neighbor.label_name or '?'}{port} "
            f"({neighbor.protocol})")


def _judge(config: _Config, seen: dict[DeviceKey, str], key: DeviceKey) -> list[Finding]:
    if not seen:
        return []
    parent = config.parent(key)
    if parent is not None:
        return _judge_parent(config, seen, key, parent)
    return _judge_root(config, seen, key)


def _judge_parent(config: _Config, seen: dict[DeviceKey, str], key: DeviceKey,
                  parent: DeviceKey) -> list[Finding]:
    if parent in seen:
        return []
    expected = {*config.ancestors(key), *config.children(parent), *config.descendants(key),
                *config.group_devices(config.chains.get(key[0], ())), key}
    others = [k for k in seen if k not in expected]
    if not others:
        return []
    observed = min(others, key=lambda k: (-_rank(config.device(k)), k))
    return [Finding("parent", key, parent[1], key_text(observed), seen[observed])]


def _judge_root(config: _Config, seen: dict[DeviceKey, str], key: DeviceKey) -> list[Finding]:
    findings: list[Finding] = []
    group = key[0]
    device = config.device(key)
    # a device of its own group it should sit behind
    below = config.descendants(key)
    candidates = [k for k in seen if k[0] == group and k != key and k not in below and (
        config.parent(k) is not None or _rank(config.device(k)) > _rank(device))]
    if candidates:
        chosen = min(candidates, key=lambda k: (-_rank(config.device(k)), k))
        findings.append(Finding("missing_parent", key, "", key_text(chosen), seen[chosen]))
        return findings
    # upstream groups it is attached to
    chain = config.chains.get(group, [])
    behind = config.behind.get(group, set())
    upstreams = {k[0]: k for k in sorted(seen) if config.is_upstream(k[0]) and k[0] != group}
    if not upstreams or any(g in chain for g in upstreams):
        return findings
    others = [g for g in upstreams if g not in behind]
    if not others:
        return findings
    observed = sorted(others)[0]
    kind: FindingKind = "upstream" if chain else "missing_upstream"
    findings.append(Finding(kind, key, chain[0] if chain else "", observed,
                            seen[upstreams[observed]]))
    return findings
