"""The daemon's topology check: configured parents and upstreams against the neighbours the
SNMP polls report, as `netwatch_topology_mismatch`.

    drift = DriftCheck(store)
    drift.sync(inventory)             # every (re)load
    drift.record(target, outcome)     # after every poll (cheap: keeps the SNMP topology)
    await drift.run()                 # re-judges every CHECK_SECONDS while something changed
    drift.neighbours(key)             # the device's rows as last judged (the site page)
    drift.seen_by(key)                # other devices' rows that name it

Neighbour tables are read at the identity cadence (refreshes, at least hourly), so the
topology of a device changes rarely: the whole inventory is judged again only after one
did (a new refresh's topology object, or a reload), at most every CHECK_SECONDS, off the
poll path, and only on a complete view: once every SNMP device has reported a poll since it
was configured, or one SNMP interval plus its deadline after the (re)load (a device ICMP
finds down is not polled by SNMP). A row names a device by a MAC or a sysName that only one
configured device reports; with half the devices read, "only one" is not known yet (in
the lab city several devices serve one recording: judged before the second of them has
answered, the first one's MAC would name it). A device whose SNMP poll fails keeps its
last topology (a dead device's cables did not move). Each mismatch is logged once when it
appears and once when it clears.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from netwatch.base.exposition import MetricStore, label_text, sample
from netwatch.discovery.topology import DeviceKey, Finding, Report, analyse
from netwatch.inventory.model import Inventory, Target
from netwatch.scheduler.prober import Outcome
from netwatch.snmp.neighbors import Topology
from netwatch.snmp.result import SnmpResult

log = structlog.get_logger("netwatch.discovery.drift")

CHECK_SECONDS = 10.0
FAMILY = "netwatch_topology_mismatch"
LABELS = ("site", "kecamatan", "device", "role", "kind", "expected", "observed")


class DriftCheck:
    def __init__(self, store: MetricStore) -> None:
        self.family = store.family(FAMILY)
        self.store = store
        self.inventory: Inventory | None = None
        self.observed: dict[DeviceKey, Topology] = {}
        self.findings: dict[tuple[DeviceKey, str], Finding] = {}
        self.reports: dict[DeviceKey, list[Report]] = {}  # per reporter, as last judged
        self.snmp_devices: set[DeviceKey] = set()  # the inventory's devices polled by SNMP
        self.reported: set[DeviceKey] = set()  # ... that have finished a poll, in any way
        self.synced_at = time.monotonic()
        self.grace = 0.0  # seconds after a (re)load to judge without every device's report
        self.naming: dict[DeviceKey, list[Report]] = {}  # per configured device named
        self.dirty = False

    def sync(self, inventory: Inventory) -> None:
        self.inventory = inventory
        for key in [k for k in self.observed if k not in inventory.devices]:
            del self.observed[key]
        snmp = [t for t in inventory.targets.values()
                if t.probe == "snmp" and t.device is not None]
        self.snmp_devices = {t.device.key for t in snmp if t.device is not None}
        self.reported &= self.snmp_devices
        self.synced_at = time.monotonic()
        self.grace = max((t.policy.interval + t.policy.deadline for t in snmp), default=0.0)
        self.dirty = True

    def record(self, target: Target, outcome: Outcome) -> None:
        if target.probe != "snmp" or target.device is None:
            return
        self.reported.add(target.device.key)
        result = outcome.result
        if not isinstance(result, SnmpResult) or result.topology is None:
            return
        key = target.device.key
        if self.observed.get(key) is not result.topology:
            self.observed[key] = result.topology
            self.dirty = True

    def ready(self, now: float | None = None) -> bool:
        """Something changed, and the view is complete (or has waited long enough)."""
        if not self.dirty:
            return False
        now = time.monotonic() if now is None else now
        return self.snmp_devices <= self.reported or now - self.synced_at >= self.grace

    def check(self) -> list[Finding]:
        """Judge the whole inventory again; export and log what changed."""
        self.dirty = False
        if self.inventory is None:
            return []
        analysis = analyse(self.inventory, self.observed)
        findings = analysis.findings
        self.reports = {key: [] for key in self.observed}
        self.naming = {}
        for report in analysis.reports:
            self.reports[report.reporter].append(report)
            if report.match is not None and report.match != report.reporter:
                self.naming.setdefault(report.match, []).append(report)
        current: dict[tuple[DeviceKey, str], Finding] = {(f.device, f.kind): f for f in findings}
        for key, old in self.findings.items():
            if key not in current:
                self.store.set(self.family, ("topology", *key), "")
                log.info("topology_mismatch_cleared", site=old.device[0],
                         device=old.device[1], kind=old.kind)
        for key, finding in current.items():  # rendered again: a reload may move labels
            device = self.inventory.devices[finding.device]
            labels = label_text(LABELS, (*device.labels.values(), finding.kind,
                                         finding.expected, finding.observed))
            self.store.set(self.family, ("topology", *key), sample(FAMILY, labels, 1))
            if self.findings.get(key) != finding:
                log.warning("topology_mismatch", site=finding.device[0],
                            device=finding.device[1], kind=finding.kind,
                            expected=finding.expected, observed=finding.observed,
                            evidence=finding.evidence)
        self.findings = current
        return findings

    def neighbours(self, key: DeviceKey) -> list[Report] | None:
        """The device's neighbour rows with the configured device each names, as last
        judged; None while none of its neighbour tables has been read (or judged yet)."""
        return self.reports.get(key)

    def seen_by(self, key: DeviceKey) -> list[Report]:
        """Other devices' rows that name this one: its links where it speaks no LLDP, MNDP
        or CDP itself (radios, access points)."""
        return self.naming.get(key, [])

    def mismatches(self, key: DeviceKey) -> list[Finding]:
        return [f for (device, _), f in sorted(self.findings.items()) if device == key]

    async def run(self, every: float = CHECK_SECONDS) -> None:
        while True:
            await asyncio.sleep(every)
            if self.ready():
                try:
                    self.check()
                except Exception:  # a bug here must not stop the daemon's other loops
                    log.exception("topology_check_failed")
