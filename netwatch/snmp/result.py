"""What one SNMP poll yields, and the per-target series rendered from it.

A poll that failed part way (a walk timing out after the first requests) still carries the
samples it got: `ok` is False and `reason` says why, so `netwatch_up` is 0 and the error is
counted, while the values read are exported. A poll that got nothing is a `Failed` (or a
raised ProbeError); the target's SNMP series then disappear until the device answers again.
"""

from __future__ import annotations

from dataclasses import dataclass

from netwatch.base.catalog import METRICS
from netwatch.base.errors import Reason
from netwatch.base.exposition import Family, MetricStore, fmt
from netwatch.scheduler.prober import Result
from netwatch.snmp.decode import Sample
from netwatch.snmp.oid import format_oid
from netwatch.snmp.profile import Profile

_COMPUTED_HELP = {
    "netwatch_device_info": " From SNMPv2-MIB sysName (1.3.6.1.2.1.1.5.0); vendor, model and "
    "os_version as the profile reads them (sysDescr 1.3.6.1.2.1.1.1.0, vendor MIBs).",
    "netwatch_device_boot_time_seconds": " Now minus the first uptime present of "
    "SNMP-FRAMEWORK-MIB::snmpEngineTime (1.3.6.1.6.3.10.2.1.3.0), "
    "HOST-RESOURCES-MIB::hrSystemUptime (1.3.6.1.2.1.25.1.1.0), "
    "SNMPv2-MIB::sysUpTime (1.3.6.1.2.1.1.3.0).",
    "netwatch_device_uptime_seconds": " The first present of snmpEngineTime "
    "(1.3.6.1.6.3.10.2.1.3.0), hrSystemUptime (1.3.6.1.2.1.25.1.1.0), sysUpTime "
    "(1.3.6.1.2.1.1.3.0).",
}


@dataclass(frozen=True, slots=True)
class SnmpResult:
    samples: tuple[Sample, ...]
    profile: str
    values: int = 0  # varbinds received in this poll
    requests: int = 0
    failure: Reason | None = None  # set when the poll failed part way
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def reason(self) -> Reason | None:
        return self.failure


def help_text(metric: str, profiles: dict[str, Profile]) -> str:
    """The contract's meaning plus the OIDs that feed the metric, across profiles."""
    definition = METRICS[metric]
    if metric in _COMPUTED_HELP:
        return definition.help + _COMPUTED_HELP[metric]
    seen: dict[str, None] = {}
    for profile in profiles.values():
        for name, oid in profile.oids_of(metric):
            seen[f"{name} ({format_oid(oid)})" if name else format_oid(oid)] = None
    if not seen:
        return definition.help
    return f"{definition.help} From {', '.join(seen)}."


class SnmpFamilies:
    """Every SNMP family of the contract, declared once per store (HELP names the OIDs)."""

    def __init__(self, store: MetricStore, profiles: dict[str, Profile]) -> None:
        self.by_name: dict[str, Family] = {
            name: store.family(name, definition.kind, help_text(name, profiles))
            for name, definition in METRICS.items()
        }


class SnmpSeries:
    """The last poll's samples of one target, rendered as lines; label prefixes cached."""

    __slots__ = ("_families", "_labels", "_prefixes", "samples")

    def __init__(self, families: SnmpFamilies, labels: str) -> None:
        self._families = families
        self._labels = labels
        self._prefixes: dict[tuple[str, str], str] = {}
        self.samples: tuple[Sample, ...] = ()

    def apply(self, result: Result) -> None:
        self.samples = result.samples if isinstance(result, SnmpResult) else ()

    def _prefix(self, name: str, extra: str) -> str:
        key = (name, extra)
        prefix = self._prefixes.get(key)
        if prefix is None:
            if len(self._prefixes) > 4096:  # interfaces come and go: keep the cache bounded
                self._prefixes.clear()
            labels = f"{self._labels},{extra}" if extra else self._labels
            prefix = self._prefixes[key] = f"{name}{{{labels}}} "
        return prefix

    def render(self, full: bool = True) -> list[tuple[Family, str]]:
        parts: dict[str, list[str]] = {}
        for name, extra, value in self.samples:
            parts.setdefault(name, []).append(f"{self._prefix(name, extra)}{fmt(value)}\n")
        return [(family, "".join(parts.get(name, ())))
                for name, family in self._families.by_name.items()]
