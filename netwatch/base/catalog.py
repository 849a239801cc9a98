"""The SNMP metrics of DESIGN.md's contract: name, type, meaning and exact label set.

Profiles may only map OIDs to these names, with exactly these labels (on top of the device
labels site, kecamatan, device, role). Free text (ifAlias, sysDescr parts) only appears in
the `_info` metrics. The profile loader rejects anything else, so a typo in a profile is an
error at start-up, not a series nobody's dashboard shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MetricKind = Literal["counter", "gauge"]


@dataclass(frozen=True, slots=True)
class MetricDef:
    name: str
    kind: MetricKind
    help: str
    labels: frozenset[str]


def _m(name: str, kind: MetricKind, help: str, *labels: str) -> MetricDef:
    return MetricDef(name, kind, help, frozenset(labels))


_IF = "ifname"
METRICS: dict[str, MetricDef] = {m.name: m for m in (
    _m("netwatch_device_info", "gauge",
       "Device identity from SNMP (value 1); model and version as the profile reads them.",
       "vendor", "model", "os_version", "sysname", "profile"),
    _m("netwatch_device_boot_time_seconds", "gauge",
       "Unix time of the device's last boot; changes only on a reboot (uptime going back, "
       "497-day TimeTicks wrap excluded)."),
    _m("netwatch_device_uptime_seconds", "gauge", "Uptime as the device reports it."),
    _m("netwatch_device_cpu_utilization_ratio", "gauge", "CPU utilisation, 0..1."),
    _m("netwatch_device_memory_used_bytes", "gauge", "Memory in use."),
    _m("netwatch_device_memory_total_bytes", "gauge", "Memory installed."),
    _m("netwatch_device_temperature_celsius", "gauge", "Temperature per sensor.", "sensor"),
    _m("netwatch_device_voltage_volts", "gauge", "Voltage per sensor.", "sensor"),
    _m("netwatch_interface_info", "gauge", "Interface identity (value 1); join on ifname.",
       "ifname", "ifindex", "ifalias", "iftype"),
    _m("netwatch_interface_receive_bytes_total", "counter",
       "Octets received (64-bit counter where the device has it).", _IF),
    _m("netwatch_interface_transmit_bytes_total", "counter",
       "Octets sent (64-bit counter where the device has it).", _IF),
    _m("netwatch_interface_receive_packets_total", "counter", "Unicast packets received.", _IF),
    _m("netwatch_interface_transmit_packets_total", "counter", "Unicast packets sent.", _IF),
    _m("netwatch_interface_receive_errors_total", "counter", "Inbound packets with errors.", _IF),
    _m("netwatch_interface_transmit_errors_total", "counter", "Outbound packets with errors.", _IF),
    _m("netwatch_interface_receive_discards_total", "counter", "Inbound packets discarded.", _IF),
    _m("netwatch_interface_transmit_discards_total", "counter", "Outbound packets discarded.", _IF),
    _m("netwatch_interface_oper_up", "gauge", "Operational state is up (1/0).", _IF),
    _m("netwatch_interface_admin_up", "gauge", "Administrative state is up (1/0).", _IF),
    _m("netwatch_interface_speed_bytes", "gauge", "Nominal speed in bytes per second.", _IF),
    _m("netwatch_wireless_clients", "gauge", "Associated stations per radio or SSID.", _IF),
)}

# computed by the poller from the system group, not mapped by profiles
COMPUTED = ("netwatch_device_info", "netwatch_device_boot_time_seconds",
            "netwatch_device_uptime_seconds")
