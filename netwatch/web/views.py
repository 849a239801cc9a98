"""What the pages and the API show, built from the daemon's own state (no I/O, no awaits
except the history's store for old events): one source for the NOC page, the site page, the
public page and any city portal reading /api/v1.

A site's `cause` is an object: `text` is the verdict text ("rtr down"), `name` the cause of
netwatch_site_cause (netwatch.sites.causes: power, radio_degraded, ...), `evidence` the facts
the verdict rested on (device states, loss, RTT p90) and, under `findings`, the cause's own
evidence as it stands now (each with kind, text and its numbers). docs/api/*.schema.json
describe every answer; tests validate the answers against them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from netwatch.base.exposition import parse_labels
from netwatch.config.model import MaintenanceWindow
from netwatch.config.types import parse_duration
from netwatch.discovery.drift import DriftCheck
from netwatch.discovery.topology import DeviceKey, key_text
from netwatch.history.journal import History
from netwatch.history.recent import RecentSeries
from netwatch.inventory.model import Inventory, Site
from netwatch.sites.engine import Group, SiteEngine
from netwatch.sites.maintenance import window_start
from netwatch.sites.readings import Readings
from netwatch.sites.targets import State
from netwatch.snmp.result import SnmpResult

API_VERSION = 1
# the order problems are listed in: the worst first
SEVERITY = {"down": 0, "unreachable": 1, "degraded": 2, "maintenance": 3, "unknown": 4, "up": 5}


class Screen(Protocol):
    """The parts of the daemon the pages read (netwatch.daemon.service.Daemon has them)."""

    inventory: Inventory
    sites: SiteEngine
    state: State
    history: History
    recent: RecentSeries
    readings: Readings  # each device's last SNMP readings (its boot time: reboot markers)
    drift: DriftCheck


def markers(inventory: Inventory) -> tuple[float, int, float]:
    """(flap window s, changes that make a flap, reboot window s), as the alert rules say
    (NetwatchSiteFlapping, NetwatchDeviceRebooted): from the thresholds in effect, the
    packaged file with the config's override over it."""
    thresholds = inventory.thresholds
    return (parse_duration(str(thresholds.rules["site_flapping_window"])),
            int(thresholds.rule_number("site_flapping_changes")),
            thresholds.rule_number("device_rebooted_window_seconds"))


def iso(at: float | None, tz: ZoneInfo | None = None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, tz or UTC).isoformat(timespec="milliseconds")


def refresh_seconds(inventory: Inventory) -> float:
    """How often the pages poll the API: the shortest ICMP interval, within 2..15 s."""
    intervals = [t.interval for t in inventory.targets.values() if t.probe == "icmp"]
    return min(15.0, max(2.0, min(intervals, default=15.0)))


def _cause(group: Group | None) -> dict[str, Any] | None:
    """The site's cause while it is not up: its name (netwatch_site_cause) and the verdict's
    words; None while up."""
    if group is None or (not group.cause and group.why is None):
        return None
    why = group.why
    return {"name": why.name if why else None, "text": group.cause or (why.text if why else "")}


def boot_times(screen: Screen, site: Site) -> dict[str, float]:
    """Each device's last boot as SNMP reported it (netwatch_device_boot_time_seconds)."""
    found = {name: screen.readings.boot_time((site.id, name)) for name in site.devices}
    return {name: at for name, at in found.items() if at is not None}


def site_entry(site: Site, group: Group | None, changes: int, flapping: bool,
               rebooted: float | None) -> dict[str, Any]:
    """One site of /api/v1/sites (netwatch.web.sitelist keeps them built)."""
    return {
        "id": site.id, "kelurahan": site.name, "kecamatan": site.kecamatan,
        "state": (group.state if group else None) or "unknown",
        "cause": _cause(group),
        "since": iso(group.since if group else None),
        "flapping": flapping,
        "changes_1h": changes,
        "rebooted": iso(rebooted),
        "location": ({"lat": site.location.lat, "lon": site.location.lon}
                     if site.location else None),
    }


# --- one site ------------------------------------------------------------------------------

def _snmp_facts(result: SnmpResult) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Identity, health and the interface table from a device's last SNMP poll."""
    identity: dict[str, Any] = {"profile": result.profile}
    interfaces: dict[str, dict[str, Any]] = {}
    for name, extra, value in result.samples:
        labels = parse_labels(extra) if extra else {}
        ifname = labels.get("ifname")
        if name == "netwatch_device_info":
            identity.update({k: labels.get(k, "") for k in ("vendor", "model", "os_version",
                                                             "sysname")})
        elif name == "netwatch_device_uptime_seconds":
            identity["uptime_seconds"] = value
        elif name == "netwatch_device_cpu_utilization_ratio":
            identity["cpu_ratio"] = value
        elif ifname is not None:
            row = interfaces.setdefault(ifname, {"ifname": ifname})
            if name == "netwatch_interface_info":
                row["alias"] = labels.get("ifalias", "")
            elif name == "netwatch_interface_oper_up":
                row["oper_up"] = bool(value)
            elif name == "netwatch_interface_admin_up":
                row["admin_up"] = bool(value)
            elif name == "netwatch_interface_speed_bytes":
                row["speed_bytes"] = value
            elif name == "netwatch_wireless_clients":
                row["wireless_clients"] = int(value)
    return identity, list(interfaces.values())


def _neighbours(drift: DriftCheck, key: DeviceKey) -> list[dict[str, Any]] | None:
    """The device's own neighbour tables (LLDP, MNDP, CDP) as last read, each row with the
    configured device it names (null: not in the config); None where none was read."""
    reports = drift.neighbours(key)
    if reports is None:
        return None
    return [{"protocol": r.neighbor.protocol, "ifname": r.neighbor.ifname,
             "name": r.neighbor.name, "port": r.neighbor.port, "chassis": r.neighbor.chassis,
             "addresses": list(r.neighbor.addresses),
             "device": key_text(r.match) if r.match is not None else None}
            for r in reports]


def _seen_by(drift: DriftCheck, key: DeviceKey) -> list[dict[str, str]]:
    """Other devices' rows that name this one (where, and on which of its ports)."""
    return [{"device": key_text(r.reporter), "ifname": r.neighbor.ifname,
             "protocol": r.neighbor.protocol, "port": r.neighbor.port}
            for r in drift.seen_by(key)]


def _mismatches(drift: DriftCheck, key: DeviceKey) -> list[dict[str, str]]:
    """Where those neighbours contradict the configured topology (netwatch_topology_mismatch)."""
    return [{"kind": f.kind, "expected": f.expected, "observed": f.observed,
             "evidence": f.evidence} for f in drift.mismatches(key)]


def _windows(windows: tuple[MaintenanceWindow, ...], now: float, tz: ZoneInfo
             ) -> list[dict[str, Any]]:
    moment = datetime.fromtimestamp(now, UTC)
    out = []
    for window in windows:
        start = window_start(window, moment, tz)
        entry: dict[str, Any] = {"active": start is not None, "reason": window.reason or "",
                                 "duration_seconds": window.duration}
        if window.start is not None:
            entry["start"] = window.start.astimezone(tz).isoformat(timespec="minutes")
            entry["end"] = (window.start + timedelta(seconds=window.duration)).astimezone(
                tz).isoformat(timespec="minutes")
        elif window.weekly is not None:
            entry["weekly"] = {"days": list(window.weekly.days),
                               "at": window.weekly.at.strftime("%H:%M")}
        out.append(entry)
    return out


def site_payload(screen: Screen, site_id: str, now: float | None = None
                 ) -> dict[str, Any] | None:
    """/api/v1/sites/<kode>: devices (configured links, and the neighbours the devices
    report where their tables were read), maintenance, the cause with its evidence,
    the last day's transitions, and the RTT/loss minute series of each pinged device."""
    now = time.time() if now is None else now
    inventory = screen.inventory
    site = inventory.sites.get(site_id)
    if site is None:
        return None
    tz = ZoneInfo(inventory.timezone)
    group = screen.sites.groups.get(site_id)
    events = screen.history.last_day(site=site_id, since=now - 86400)
    cause = _cause(group)
    if cause is not None:
        last = next((e for e in reversed(events) if e.new == group.state), None) \
            if group else None
        cause["evidence"] = dict(last.evidence) if last is not None else {}
        if group is not None and group.why is not None:  # the findings as they stand now
            cause["evidence"]["findings"] = [f.as_json() for f in group.why.findings]
    devices = []
    for name in site.devices:
        device = inventory.devices[(site_id, name)]
        status = {probe: screen.state.status((site_id, name, probe))
                  for probe in ("icmp", "snmp")
                  if (site_id, name, probe) in inventory.targets}
        entry: dict[str, Any] = {
            "name": name, "role": device.labels.role, "address": device.address,
            "parent": device.parent,
            "children": [d for d in site.devices
                         if inventory.devices[(site_id, d)].parent == name],
            "status": status,
            "suppressed": group.suppressed.get(name) if group else None,
            "uplink": device.uplink.ifname if device.uplink else None,
            "identity": None, "interfaces": [], "series": None,
            "neighbours": _neighbours(screen.drift, device.key),
            "seen_by": _seen_by(screen.drift, device.key),
            "topology_mismatches": _mismatches(screen.drift, device.key),
        }
        tstate = screen.state.targets.get((site_id, name, "snmp"))
        result = tstate.last.result if tstate is not None and tstate.last else None
        if isinstance(result, SnmpResult):
            entry["identity"], entry["interfaces"] = _snmp_facts(result)
        series = screen.recent.series(device.key, now)
        if series is not None:
            entry["series"] = {"start": iso(series.start * 60.0), "step_seconds": 60,
                               "rtt_ms": series.rtt_ms, "loss": series.loss}
        devices.append(entry)
    upstream = inventory.upstreams.get(site.upstream) if site.upstream else None
    up_group = screen.sites.groups.get(upstream.id) if upstream else None
    boots = boot_times(screen, site)
    for entry in devices:
        entry["boot_time"] = iso(boots.get(str(entry["name"])))
    return {
        "version": API_VERSION, "generated": iso(now), "timezone": inventory.timezone,
        "refresh_seconds": refresh_seconds(inventory),
        "id": site.id, "kelurahan": site.name, "kecamatan": site.kecamatan,
        "isp": site.isp, "sla_target": site.sla_target,
        "state": (group.state if group else None) or "unknown", "cause": cause,
        "since": iso(group.since if group else None),
        "upstream": ({"id": upstream.id, "name": upstream.name,
                      "down": bool(up_group and screen.sites.upstream_down(upstream.id))}
                     if upstream else None),
        "devices": devices,
        "maintenance": _windows(site.maintenance, now, tz),
        "events": [e.as_json() | {"at": iso(e.at)} for e in events],
    }
