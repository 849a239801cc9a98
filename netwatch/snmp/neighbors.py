"""A device's neighbours from its profile's neighbour tables (LLDP, CDP, MikroTik's MNDP).

    columns = neighbor_oids(profile)            # walked with the lookups, at refreshes only
    topology = observe(profile, decoder, sysname)
    topology.neighbors                          # (Neighbor, ...): every row naming someone
    samples, over = info_samples(topology, limit)   # netwatch_neighbor_info, capped

Real agents need cleaning, done here and in the label sources (`format: text`, `mac`):
names padded with NULs or junk, or sent as hex text; chassis ids as six MAC bytes or as
MAC text in any of its spellings; remote ports as names, numbers or MACs (a MAC port id
gives way to the port description); management addresses as four or sixteen bytes, as
text (RouterOS 7), or encoded in a table index (LLDP-MIB). A row that names nobody (no
name, no chassis id, no address: RouterOS lists such rows) is dropped.

Neighbour tables change when cables do, not every poll: they are read with the cached
lookups (first poll, reboot, ifTableLastChange moved, hourly), so they cost the poller
nothing between refreshes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from netwatch.base.exposition import label_text
from netwatch.snmp.decode import Decoder, PeerLimit, Sample, lookup_oids, source_oids
from netwatch.snmp.oid import Oid, Value, as_text
from netwatch.snmp.profile import LabelSource, NeighborTableSpec, Profile

INFO = "netwatch_neighbor_info"
INFO_LABELS = ("ifname", "protocol", "remote_name", "remote_port")
MAX_NEIGHBORS = 64  # series per device; the rest are counted (netwatch_neighbors_over_limit)
_MAC = re.compile(r"([0-9a-fA-F]{2})[:-]?([0-9a-fA-F]{2})[:-]?([0-9a-fA-F]{2})[:-]?"
                  r"([0-9a-fA-F]{2})[:-]?([0-9a-fA-F]{2})[:-]?([0-9a-fA-F]{2})")
_CISCO_MAC = re.compile(r"([0-9a-fA-F]{4})\.([0-9a-fA-F]{4})\.([0-9a-fA-F]{4})")


@dataclass(frozen=True, slots=True)
class Neighbor:
    """One neighbour as one table row of the device reports it (cleaned)."""

    protocol: str  # lldp, cdp, mndp
    ifname: str  # the local interface ("" when the device does not say)
    name: str  # its system name
    port: str  # its port: a name or a number ("" when not known)
    chassis: str  # its chassis id: aa:bb:cc:dd:ee:ff, or the agent's text
    description: str  # its system description or platform
    addresses: tuple[str, ...]  # management addresses it advertises (never contacted)

    @property
    def label_name(self) -> str:
        """What the series calls it: the name, else the chassis id."""
        return self.name or self.chassis


@dataclass(frozen=True, slots=True)
class Topology:
    """What one device says about itself and its neighbours at one refresh."""

    sysname: str
    macs: frozenset[str]  # its own MACs (aa:bb:...): how others' chassis ids name it
    neighbors: tuple[Neighbor, ...]


def mac_text(text: str) -> str:
    """aa:bb:cc:dd:ee:ff for a MAC in any usual spelling, else ""; all zeros is no MAC."""
    text = text.strip()
    match = _MAC.fullmatch(text) or _CISCO_MAC.fullmatch(text)
    if match is None:
        return ""
    digits = "".join(match.groups()).lower()
    if digits == "0" * 12:
        return ""
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def _raw_mac(value: Value | None) -> str:
    if isinstance(value, bytes) and len(value) == 6:
        return mac_text(value.hex())
    return mac_text(as_text(value, 64)) if value is not None else ""


def address_text(value: Value | None) -> str:
    """An IPv4/IPv6 address from four or sixteen bytes or from text, else ""."""
    if isinstance(value, bytes) and len(value) in (4, 16):
        address = ipaddress.ip_address(value)
    else:
        try:
            address = ipaddress.ip_address(as_text(value, 64) if value is not None else "")
        except ValueError:
            return ""
    return "" if address.is_unspecified else str(address)


def _indexed_address(rest: Oid) -> str:
    """The end of an lldpRemManAddrTable index: address type, length, bytes."""
    if len(rest) < 2 or rest[1] != len(rest) - 2 or rest[0] not in (1, 2):
        return ""
    try:
        return address_text(bytes(rest[2:]))
    except ValueError:  # a component above 255
        return ""


def _label_columns(profile: Profile, sources: Iterable[LabelSource]) -> list[Oid]:
    found: list[Oid] = []
    for source in sources:
        found += source_oids(source)
        if source.ref is not None:
            table = profile.table(source.ref.partition(".")[0])
            if table is not None:
                found += lookup_oids(table)
    return found


def neighbor_oids(profile: Profile) -> list[Oid]:
    """Every column a refresh walks for the neighbours and the device's own MACs."""
    found: list[Oid] = list(profile.own_macs)
    for table in profile.neighbors:
        found += _label_columns(profile, _sources(table))
        found += [oid for a in table.remote_addresses for oid in (a.oid, a.below) if oid]
    return list(dict.fromkeys(found))


def _sources(table: NeighborTableSpec) -> list[LabelSource]:
    return [*table.ifname, *table.remote_name, *table.remote_port,
            *table.remote_port_description, *table.remote_chassis, *table.remote_description]


class _Addresses:
    """Management addresses of one table's rows (a column at the row, or rows below it)."""

    def __init__(self, table: NeighborTableSpec, decoder: Decoder) -> None:
        self.table = table
        self.lookups = decoder.lookups
        self._below: dict[tuple[Oid, int], dict[Oid, list[Oid]]] = {}

    def _rows_below(self, column: Oid, index: Oid) -> list[Oid]:
        key = (column, len(index))
        grouped = self._below.get(key)
        if grouped is None:
            grouped = self._below[key] = {}
            for row in self.lookups.columns.get(column, {}):
                grouped.setdefault(row[:len(index)], []).append(row[len(index):])
        return grouped.get(index, [])

    def of(self, index: Oid) -> tuple[str, ...]:
        found: dict[str, None] = {}
        for source in self.table.remote_addresses:
            if source.oid is not None:
                found[address_text(self.lookups.value(source.oid, index))] = None
            elif source.below is not None:
                for rest in self._rows_below(source.below, index):
                    found[_indexed_address(rest)] = None
        found.pop("", None)
        return tuple(found)


def _rows(table: NeighborTableSpec, decoder: Decoder) -> list[Oid]:
    indexes: dict[Oid, None] = {}
    for column in table.row_columns():
        indexes.update(dict.fromkeys(decoder.lookups.columns.get(column, {})))
    return list(indexes)[:table.max_rows]


def _port(table: NeighborTableSpec, decoder: Decoder, index: Oid) -> str:
    """The port id, unless it is a MAC or empty: then the port description."""
    port = decoder.label(table.remote_port, index)
    if port and not mac_text(port):
        return port
    return decoder.label(table.remote_port_description, index) or ""


def _chassis(table: NeighborTableSpec, decoder: Decoder, index: Oid) -> str:
    """A MAC in one spelling (aa:bb:...), or the agent's text; all zeros is nothing."""
    text = decoder.label(table.remote_chassis, index)
    return mac_text(text) or (text if text.strip("0:.- ") else "")


def observe(profile: Profile, decoder: Decoder, sysname: str) -> Topology:
    """The device's neighbours and own MACs from the lookups of its last refresh."""
    neighbors: list[Neighbor] = []
    for table in profile.neighbors:
        addresses = _Addresses(table, decoder)
        for index in _rows(table, decoder):
            neighbor = Neighbor(
                table.protocol or "", decoder.label(table.ifname, index),
                decoder.label(table.remote_name, index), _port(table, decoder, index),
                _chassis(table, decoder, index), decoder.label(table.remote_description, index),
                addresses.of(index))
            if neighbor.name or neighbor.chassis or neighbor.addresses:
                neighbors.append(neighbor)
    macs = {_raw_mac(value) for column in profile.own_macs
            for value in decoder.lookups.columns.get(column, {}).values()}
    macs.discard("")
    return Topology(sysname, frozenset(macs), tuple(neighbors))


def info_samples(topology: Topology, limit: PeerLimit) -> list[Sample]:
    """netwatch_neighbor_info per neighbour (one series per interface, protocol, name and
    port: a neighbour two tables report is one series), for at most `limit.cap` of them; the
    first ones seen keep their place while they stay, the rest are counted in `limit.over`."""
    series: dict[tuple[str, str, str], str] = {}
    for n in topology.neighbors:  # the first table to report a neighbour names its protocol
        series.setdefault((n.ifname, n.label_name, n.port),
                          label_text(INFO_LABELS, (n.ifname, n.protocol, n.label_name, n.port)))
    limit.update(series.values())
    return [(INFO, labels, 1.0) for labels in series.values() if labels in limit.admitted]
