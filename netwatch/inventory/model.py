"""What the daemon polls: devices, sites, upstreams, canaries and their targets.

Frozen, compact objects built once per (re)load by `netwatch.inventory.build` from the
validated config; every later stage (scheduler, probers, sites) reads only these.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Literal

from netwatch.config.model import (
    AuthConfig,
    Config,
    Location,
    MaintenanceWindow,
    UplinkConfig,
)
from netwatch.config.thresholds import ThresholdsFile, read_thresholds

Probe = Literal["icmp", "snmp"]
PROBES: tuple[Probe, ...] = ("icmp", "snmp")

@dataclass(frozen=True, slots=True)
class IcmpPolicy:
    interval: float
    count: int
    spacing: float
    timeout: float
    size: int
    deadline: float


@dataclass(frozen=True, slots=True)
class SnmpPolicy:
    interval: float
    timeout: float
    retries: int
    deadline: float
    port: int
    profile: str
    auth_name: str
    auth: AuthConfig
    max_peers: int = 0  # radio peers with their own series (0: not a backhaul radio)


@dataclass(frozen=True, slots=True)
class StatePolicy:
    down_after: int
    up_after: int
    degraded_loss_ratio: float
    degraded_rtt_p90: float


@dataclass(frozen=True, slots=True)
class DeviceLabels:
    """The labels every per-device series carries, in this order."""

    site: str
    kecamatan: str
    device: str
    role: str

    NAMES = ("site", "kecamatan", "device", "role")

    def values(self) -> tuple[str, str, str, str]:
        return (self.site, self.kecamatan, self.device, self.role)


@dataclass(frozen=True, slots=True)
class Device:
    labels: DeviceLabels
    address: str
    parent: str | None
    uplink: UplinkConfig | None
    icmp: IcmpPolicy | None
    snmp: SnmpPolicy | None
    state: StatePolicy
    group: str  # the upstream group this device belongs to (unit of sharding)

    @property
    def key(self) -> tuple[str, str]:
        return (self.labels.site, self.labels.device)


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    kecamatan: str
    location: Location | None
    isp: str | None
    upstream: str | None
    sla_target: float | None
    maintenance: tuple[MaintenanceWindow, ...]
    state: StatePolicy
    devices: tuple[str, ...]
    power_feed: str | None = None  # sites of one feed going dark together: a power cut


@dataclass(frozen=True, slots=True)
class Upstream:
    id: str
    name: str
    kecamatan: str
    upstream: str | None
    devices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Canary:
    name: str
    address: str
    icmp: IcmpPolicy


# (site or upstream id, device name, probe); canaries: ("", name, "icmp")
TargetKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Target:
    """One thing the scheduler polls: one device (or canary) with one probe."""

    key: TargetKey
    probe: Probe
    address: str
    policy: IcmpPolicy | SnmpPolicy
    device: Device | None = None
    canary: Canary | None = None

    @property
    def interval(self) -> float:
        return self.policy.interval

    @property
    def deadline(self) -> float:
        return self.policy.deadline

    @property
    def offset_fraction(self) -> float:
        """Stable position of this target's start within its interval (0 <= x < 1)."""
        return zlib.crc32("/".join(self.key).encode()) / 2**32


@dataclass
class Inventory:
    config: Config
    timezone: str
    # the thresholds in effect: the packaged file with the config's `thresholds:` override
    # over it, read once per (re)load; every reader in the daemon takes its values from here
    thresholds: ThresholdsFile = field(default_factory=read_thresholds)
    sites: dict[str, Site] = field(default_factory=dict)
    upstreams: dict[str, Upstream] = field(default_factory=dict)
    canaries: dict[str, Canary] = field(default_factory=dict)
    devices: dict[tuple[str, str], Device] = field(default_factory=dict)
    targets: dict[TargetKey, Target] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # valid, but likely mistakes

    def count(self, probe: Probe) -> int:
        return sum(1 for t in self.targets.values() if t.probe == probe)
