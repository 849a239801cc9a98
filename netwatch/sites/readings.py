"""What each device's SNMP last said that a cause may rest on, kept past its outage.

When a router goes down, ICMP gates its SNMP polls and its series leave /metrics; the voltage
it reported a minute before it died is exactly what says "power". So the site engine keeps,
per device, the last answered poll's readings of the metrics the causes read (and only
those), with the time they were read, the device's boot time (a reboot seen is the boot time
moving) and its uplink's use (the octet counters' rate between two polls over the configured
capacity, else the interface speed).

    readings = Readings(wanted)                       # metric names the causes read
    seen = readings.record(device, result, at)        # DeviceReadings, and whether it rebooted
    readings.of((site, device)) -> DeviceReadings | None
    readings.boot_time((site, device)) -> float | None   # the pages' reboot markers
    readings.version                                  # moves when any boot time changes
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from netwatch.base.exposition import escape_label
from netwatch.inventory.model import Device
from netwatch.snmp.result import SnmpResult

BOOT_TIME = "netwatch_device_boot_time_seconds"
RECEIVED, SENT = "netwatch_interface_receive_bytes_total", "netwatch_interface_transmit_bytes_total"
SPEED = "netwatch_interface_speed_bytes"
REBOOT_MIN_MOVE = 30.0  # seconds the boot time must move by to be a reboot (clock jitter)
# read for every device: the device's health and its uplink
ALWAYS = frozenset({BOOT_TIME, "netwatch_device_cpu_utilization_ratio",
                    "netwatch_device_memory_used_bytes", "netwatch_device_memory_total_bytes",
                    "netwatch_device_storage_used_bytes", "netwatch_device_storage_total_bytes"})

Reading = tuple[str, str]  # (metric, label text beyond the device's)


@dataclass(slots=True)
class DeviceReadings:
    at: float  # Unix time of the poll these come from
    values: dict[Reading, float] = field(default_factory=dict)
    boot_time: float | None = None
    uplink_use: float | None = None  # share of the uplink's capacity, in or out, the larger
    uplink_rate: float | None = None  # bytes per second, in or out, the larger
    uplink_capacity: float | None = None
    counters: tuple[float, float, float] | None = None  # (at, received, sent) of the uplink


@dataclass(frozen=True, slots=True)
class Recorded:
    readings: DeviceReadings
    rebooted: float | None  # the new boot time when this poll showed a reboot


class Readings:
    def __init__(self, wanted: Iterable[str] = ()) -> None:
        self.wanted = ALWAYS | frozenset(wanted)
        self.devices: dict[tuple[str, str], DeviceReadings] = {}
        self.version = 0  # moves when a device's boot time changes or a device leaves

    def want(self, wanted: Iterable[str]) -> None:
        self.wanted = ALWAYS | frozenset(wanted)

    def of(self, key: tuple[str, str]) -> DeviceReadings | None:
        return self.devices.get(key)

    def boot_time(self, key: tuple[str, str]) -> float | None:
        """The device's last boot as SNMP reported it (netwatch_device_boot_time_seconds)."""
        readings = self.devices.get(key)
        return readings.boot_time if readings is not None else None

    def keep(self, devices: Iterable[tuple[str, str]]) -> None:
        wanted = set(devices)
        for key in [k for k in self.devices if k not in wanted]:
            del self.devices[key]
            self.version += 1

    def record(self, device: Device, result: SnmpResult, at: float) -> Recorded | None:
        """A poll that got values; None when it got none (the last readings stay)."""
        if not result.samples:
            return None
        wanted = self.wanted
        uplink = device.uplink
        port = f'ifname="{escape_label(uplink.ifname)}"' if uplink is not None else None
        values: dict[Reading, float] = {}
        octets = [0.0, 0.0, 0]
        speed = None
        for name, extra, value in result.samples:
            if name in wanted:
                values[(name, extra)] = value
            elif extra == port:
                if name == RECEIVED:
                    octets[0], octets[2] = value, octets[2] + 1
                elif name == SENT:
                    octets[1], octets[2] = value, octets[2] + 1
                elif name == SPEED:
                    speed = value
        previous = self.devices.get(device.key)
        now = DeviceReadings(at, values, values.get((BOOT_TIME, "")))
        if octets[2] == 2:
            now.counters = (at, octets[0], octets[1])
            capacity = uplink.capacity if uplink is not None and uplink.capacity else speed
            now.uplink_capacity = capacity
            if previous is not None and previous.counters is not None:
                now.uplink_rate = _rate(previous.counters, now.counters)
                if now.uplink_rate is not None and capacity:
                    now.uplink_use = now.uplink_rate / capacity
        rebooted = None
        if previous is not None and previous.boot_time is not None and now.boot_time is not None \
                and now.boot_time - previous.boot_time > REBOOT_MIN_MOVE:
            rebooted = now.boot_time
        elif previous is not None and now.boot_time is None:
            now.boot_time = previous.boot_time  # a partial poll without the uptime
        if now.boot_time != (previous.boot_time if previous is not None else None):
            self.version += 1
        self.devices[device.key] = now
        return Recorded(now, rebooted)


def _rate(before: tuple[float, float, float], after: tuple[float, float, float]
          ) -> float | None:
    """Bytes per second in or out, the larger; None across a counter reset or no time."""
    seconds = after[0] - before[0]
    received, sent = after[1] - before[1], after[2] - before[2]
    if seconds <= 0 or received < 0 or sent < 0:
        return None
    return max(received, sent) / seconds
