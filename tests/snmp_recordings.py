"""Polling the lab's device recordings in tests, and reading what came back.

    client = recorded("routeros")                    # served from memory (RecordedClient)
    result, state = await poll(client)               # the real poller and shipped profiles
    series(result, "netwatch_wireless_clients")      # {label text: value}
    labels_of('ifname="wlan1",stat="min"')           # {"ifname": "wlan1", "stat": "min"}
    column(read_values(path), IF_NAME)               # {index: value} of a recorded column
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from netwatch.snmp import profiles
from netwatch.snmp.oid import Oid, Value
from netwatch.snmp.poller import DeviceState, poll_device
from netwatch.snmp.recorded import RecordedClient
from netwatch.snmp.result import SnmpResult

RECORDINGS = Path(__file__).resolve().parents[1] / "netwatch" / "lab" / "recordings"
EXPECTED_PROFILE = {  # every recording the lab ships, and the profile `auto` must choose
    "airos-af": "ubiquiti-airos", "airos_airos8": "ubiquiti-airos",
    "airos_airos8_dupnames": "ubiquiti-airos", "airos_airos8_station": "ubiquiti-airos",
    "airos-af-ltu_1.4.0": "ubiquiti-ltu", "airos-af60_airos-af60": "ubiquiti-af60",
    "airos-af60_v3.4": "ubiquiti-af60", "edgeos-ep": "ubiquiti-edgemax", "ios": "cisco",
    "iosxe_isr4321": "cisco", "linux_ntc": "linux", "routeros": "mikrotik",
    "routeros_16peers": "mikrotik", "routeros_crs317": "mikrotik",
    "routeros_ltap-mini": "mikrotik", "routeros_rb433gl": "mikrotik",
    "routeros_rb750gr3": "mikrotik", "routeros_station": "mikrotik",
    "routeros_vlans": "mikrotik", "routeros_wifi": "mikrotik", "swos": "mikrotik",
    "unifi_achd": "unifi", "unifi_nanohd": "unifi", "unifi_nanohd_ccq": "unifi",
    "unifi_unifi": "unifi",
}
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def recorded(name: str, **kwargs: object) -> RecordedClient:
    return RecordedClient.from_file(RECORDINGS / f"{name}.snmprec", **kwargs)


async def poll(client: RecordedClient, state: DeviceState | None = None,
               profile: str = "auto", now: float | None = None,
               max_peers: int = 0) -> tuple[SnmpResult, DeviceState]:
    """One poll; `now` fixes the poller's clock (boot times), `max_peers` makes the device a
    backhaul radio (per-peer series)."""
    state = state or DeviceState(profile)
    if max_peers:
        state.limit_peers(max_peers)
    clock = time.time if now is None else (lambda: now)
    return await poll_device(client, state, profiles.load(), budget=10.0, now=clock), state


def series(result: SnmpResult, metric: str) -> dict[str, float]:
    return {labels: value for name, labels, value in result.samples if name == metric}


def labels_of(text: str) -> dict[str, str]:
    return {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in _LABEL.findall(text)}


def column(values: dict[Oid, Value], root: Oid) -> dict[int, object]:
    """{last index part: value} of a column (single-part indexes); text as str."""
    return {oid[-1]: v.decode() if isinstance(v, bytes) else v for oid, v in values.items()
            if oid[:len(root)] == root and len(oid) == len(root) + 1}
