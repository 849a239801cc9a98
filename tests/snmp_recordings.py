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
from collections.abc import Iterable
from pathlib import Path

from netwatch.snmp import profiles
from netwatch.snmp.oid import Oid, Value
from netwatch.snmp.poller import DeviceState, poll_device
from netwatch.snmp.recorded import RecordedClient
from netwatch.snmp.result import SnmpResult

RECORDINGS = Path(__file__).resolve().parents[1] / "netwatch" / "lab" / "recordings"
IF_NAME: Oid = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)
IF_DESCR: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)
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
    # neighbour tables (discovery): a Catalyst with CDP rows, the lab topology's routers
    "ios_cdp": "cisco", "topology_geser_rtr": "mikrotik", "topology_kurang_rtr": "mikrotik",
    "topology_rapi_rtr": "mikrotik",
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


def interface_names(values: dict[Oid, Value]) -> dict[int, str]:
    """{ifIndex: the ifname label}: ifName, else ifDescr; a name several rows share gets
    `#ifIndex` (the profile's `unique`)."""
    names = {i: str(n) for i, n in (column(values, IF_NAME) or column(values, IF_DESCR)).items()}
    shared = {n for n in names.values() if list(names.values()).count(n) > 1}
    return {i: f"{n}#{i}" if n in shared else n for i, n in names.items()}


def column(values: dict[Oid, Value], root: Oid) -> dict[int, object]:
    """{last index part: value} of a column (single-part indexes); text as str."""
    return {oid[-1]: v.decode() if isinstance(v, bytes) else v for oid, v in values.items()
            if oid[:len(root)] == root and len(oid) == len(root) + 1}


# --- the radio and device families, value by value against the recordings -------------------
Expectation = tuple[str, str, dict[str, str], str, float | dict[int, float]]
MT = "1.3.6.1.4.1.14988.1.1"
AIRMAX = "1.3.6.1.4.1.41112.1.4"
LTU = "1.3.6.1.4.1.41112.1.10.1"
AF60 = "1.3.6.1.4.1.41112.1.11.1"
EDGE = "1.3.6.1.4.1.41112.1.5"
UNIFI = "1.3.6.1.4.1.41112.1.6.1"
LTU_PEER = "24.232.41.30.56.214"
AF60_PEER = "244.146.191.226.158.141.1"
STA = "1.2.0.0.0.0.1"  # the derived airOS station row: wlan 1, MAC 02:00:00:00:00:01

# (recording, metric, labels beyond the device's, the recorded OID, scale or enum map):
# the metric must carry exactly the recorded value times the scale (or the map's value).
# Per-peer metrics are read with the device configured as backhaul (max_peers 16).
RADIO_EXPECTATIONS: list[Expectation] = [
    # MikroTik: AP and station interfaces, registrations, LTE, PoE, SFP, storage, DHCP
    ("routeros", "netwatch_radio_frequency_hertz", {"ifname": "wlan2"}, f"{MT}.1.3.1.7.2", 1e6),
    ("routeros", "netwatch_radio_noise_floor_dbm", {"ifname": "wlan1"}, f"{MT}.1.3.1.9.1", 1),
    ("routeros", "netwatch_radio_tx_ccq_ratio", {"ifname": "wlan2"}, f"{MT}.1.3.1.10.2", 0.01),
    ("routeros_station", "netwatch_radio_signal_dbm", {"ifname": "if23"}, f"{MT}.1.1.1.4.23", 1),
    ("routeros_station", "netwatch_radio_rx_ccq_ratio", {"ifname": "if23"},
     f"{MT}.1.1.1.10.23", 0.01),
    ("routeros_station", "netwatch_radio_tx_rate_bytes_per_second", {"ifname": "if23"},
     f"{MT}.1.1.1.2.23", 0.125),
    ("routeros_16peers", "netwatch_radio_peer_signal_dbm",
     {"ifname": "wlan1", "peer": "a4:e4:b8:4a:d5:ca"}, f"{MT}.1.2.1.3.164.228.184.74.213.202.1",
     1),
    ("routeros_16peers", "netwatch_radio_peer_snr_db",
     {"ifname": "wlan4", "peer": "9c:5c:8e:a4:a4:77"}, f"{MT}.1.2.1.12.156.92.142.164.164.119.9",
     1),
    ("routeros_16peers", "netwatch_radio_peer_tx_rate_bytes_per_second",
     {"ifname": "wlan1", "peer": "c8:d7:79:dc:46:25"}, f"{MT}.1.2.1.8.200.215.121.220.70.37.1",
     0.125),
    ("routeros_16peers", "netwatch_radio_peer_rx_rate_bytes_per_second",
     {"ifname": "wlan1", "peer": "c8:d7:79:dc:46:25"}, f"{MT}.1.2.1.9.200.215.121.220.70.37.1",
     0.125),
    ("routeros_ltap-mini", "netwatch_lte_rsrp_dbm", {"ifname": "lte1"}, f"{MT}.16.1.1.4.3", 1),
    ("routeros_ltap-mini", "netwatch_lte_rsrq_db", {"ifname": "lte1"}, f"{MT}.16.1.1.3.3", 1),
    ("routeros_ltap-mini", "netwatch_lte_sinr_db", {"ifname": "lte1"}, f"{MT}.16.1.1.7.3", 1),
    ("routeros_ltap-mini", "netwatch_lte_info",
     {"ifname": "lte1", "technology": "lte", "cell_id": "2100006"}, f"{MT}.16.1.1.6.3", {7: 1}),
    ("routeros", "netwatch_poe_status", {"ifname": "ether5", "status": "waiting_for_load"},
     f"{MT}.15.1.1.3.7", {1: 0, 2: 1, 3: 0, 4: 0}),
    ("routeros", "netwatch_poe_status", {"ifname": "ether5", "status": "powered_on"},
     f"{MT}.15.1.1.3.7", {1: 0, 2: 0, 3: 1, 4: 0}),
    ("routeros", "netwatch_poe_voltage_volts", {"ifname": "ether5"}, f"{MT}.15.1.1.4.7", 0.1),
    ("routeros", "netwatch_poe_current_amperes", {"ifname": "ether5"}, f"{MT}.15.1.1.5.7", 0.001),
    ("routeros", "netwatch_poe_power_watts", {"ifname": "ether5"}, f"{MT}.15.1.1.6.7", 0.1),
    ("routeros", "netwatch_optic_rx_power_dbm", {"ifname": "sfp1"}, f"{MT}.19.1.1.10.25", 0.001),
    ("routeros", "netwatch_optic_tx_power_dbm", {"ifname": "sfp1"}, f"{MT}.19.1.1.9.25", 0.001),
    ("routeros", "netwatch_optic_temperature_celsius", {"ifname": "sfp1"}, f"{MT}.19.1.1.6.25",
     1),
    ("routeros", "netwatch_device_storage_total_bytes", {"storage": "system disk"},
     "1.3.6.1.2.1.25.2.3.1.5.131072", 1024),
    ("routeros", "netwatch_device_storage_used_bytes", {"storage": "system disk"},
     "1.3.6.1.2.1.25.2.3.1.6.131072", 1024),
    ("routeros", "netwatch_dhcp_leases", {}, f"{MT}.6.1.0", 1),
    # airOS: the link, the radio, its chains, airMAX, the station table (derived)
    ("airos_airos8", "netwatch_radio_signal_dbm", {"ifname": "ath0"}, f"{AIRMAX}.5.1.5.1", 1),
    ("airos_airos8", "netwatch_radio_rssi_db", {"ifname": "ath0"}, f"{AIRMAX}.5.1.6.1", 1),
    ("airos_airos8", "netwatch_radio_tx_ccq_ratio", {"ifname": "ath0"}, f"{AIRMAX}.5.1.7.1",
     0.01),
    ("airos_airos8", "netwatch_radio_noise_floor_dbm", {"ifname": "ath0"}, f"{AIRMAX}.5.1.8.1",
     1),
    ("airos_airos8", "netwatch_radio_rx_rate_bytes_per_second", {"ifname": "ath0"},
     f"{AIRMAX}.5.1.10.1", 0.125),
    ("airos_airos8", "netwatch_radio_frequency_hertz", {"ifname": "ath0"}, f"{AIRMAX}.1.1.4.1",
     1e6),
    ("airos_airos8", "netwatch_radio_tx_power_dbm", {"ifname": "ath0"}, f"{AIRMAX}.1.1.6.1", 1),
    ("airos_airos8", "netwatch_radio_distance_meters", {"ifname": "ath0"}, f"{AIRMAX}.1.1.7.1",
     1),
    ("airos_airos8", "netwatch_radio_chain_rssi_db", {"ifname": "ath0", "chain": "2"},
     f"{AIRMAX}.2.1.2.1.2", 1),
    ("airos_airos8", "netwatch_radio_airmax_capacity_ratio", {"ifname": "ath0"},
     f"{AIRMAX}.6.1.4.1", 0.01),
    ("airos_airos8_station", "netwatch_radio_peer_signal_dbm",
     {"ifname": "ath0", "peer": "02:00:00:00:00:01"}, f"{AIRMAX}.7.1.3.{STA}", 1),
    ("airos_airos8_station", "netwatch_radio_peer_ccq_ratio",
     {"ifname": "ath0", "peer": "02:00:00:00:00:01"}, f"{AIRMAX}.7.1.6.{STA}", 0.001),
    ("airos_airos8_station", "netwatch_radio_peer_distance_meters",
     {"ifname": "ath0", "peer": "02:00:00:00:00:01"}, f"{AIRMAX}.7.1.5.{STA}", 1),
    ("airos_airos8_station", "netwatch_wireless_client_signal_dbm",
     {"ifname": "ath0", "stat": "median"}, f"{AIRMAX}.7.1.3.{STA}", 1),
    # airFiber LTU
    ("airos-af-ltu_1.4.0", "netwatch_radio_frequency_hertz", {"ifname": "ath0"},
     f"{LTU}.2.2.0", 1e6),
    ("airos-af-ltu_1.4.0", "netwatch_radio_eirp_dbm", {"ifname": "ath0"}, f"{LTU}.2.6.0", 1),
    ("airos-af-ltu_1.4.0", "netwatch_radio_peer_tx_capacity_bytes_per_second",
     {"ifname": "ath0", "peer": "18:e8:29:1e:38:d6"}, f"{LTU}.4.1.3.{LTU_PEER}", 125),
    ("airos-af-ltu_1.4.0", "netwatch_radio_peer_rx_capacity_bytes_per_second",
     {"ifname": "ath0", "peer": "18:e8:29:1e:38:d6"}, f"{LTU}.4.1.4.{LTU_PEER}", 125),
    ("airos-af-ltu_1.4.0", "netwatch_radio_peer_rx_power_dbm",
     {"ifname": "ath0", "peer": "18:e8:29:1e:38:d6", "chain": "1"}, f"{LTU}.4.1.6.{LTU_PEER}",
     1),
    ("airos-af-ltu_1.4.0", "netwatch_radio_peer_rx_power_ideal_dbm",
     {"ifname": "ath0", "peer": "18:e8:29:1e:38:d6", "chain": "0"}, f"{LTU}.4.1.7.{LTU_PEER}",
     1),
    ("airos-af-ltu_1.4.0", "netwatch_radio_peer_tx_modulation",
     {"ifname": "ath0", "peer": "18:e8:29:1e:38:d6"}, f"{LTU}.4.1.1.{LTU_PEER}", 1),
    ("airos-af-ltu_1.4.0", "netwatch_radio_peer_distance_meters",
     {"ifname": "ath0", "peer": "18:e8:29:1e:38:d6"}, f"{LTU}.4.1.23.{LTU_PEER}", 1),
    # airFiber 60
    ("airos-af60_airos-af60", "netwatch_radio_frequency_hertz", {"ifname": "wlan0"},
     f"{AF60}.1.2.1", 1e6),
    ("airos-af60_airos-af60", "netwatch_radio_peer_signal_dbm",
     {"ifname": "wlan0", "peer": "f4:92:bf:e2:9e:8d"}, f"{AF60}.3.1.3.{AF60_PEER}", 1),
    ("airos-af60_airos-af60", "netwatch_radio_peer_snr_db",
     {"ifname": "wlan0", "peer": "f4:92:bf:e2:9e:8d"}, f"{AF60}.3.1.4.{AF60_PEER}", 1),
    ("airos-af60_airos-af60", "netwatch_radio_peer_rx_modulation",
     {"ifname": "wlan0", "peer": "f4:92:bf:e2:9e:8d"}, f"{AF60}.3.1.6.{AF60_PEER}", 1),
    ("airos-af60_airos-af60", "netwatch_radio_peer_tx_capacity_bytes_per_second",
     {"ifname": "wlan0", "peer": "f4:92:bf:e2:9e:8d"}, f"{AF60}.3.1.7.{AF60_PEER}", 125),
    ("airos-af60_airos-af60", "netwatch_radio_peer_distance_meters",
     {"ifname": "wlan0", "peer": "f4:92:bf:e2:9e:8d"}, f"{AF60}.3.1.15.{AF60_PEER}", 1),
    ("airos-af60_v3.4", "netwatch_radio_frequency_hertz", {"ifname": "wlan0"},
     f"{AF60}.1.2.1", 1e6),
    # UniFi
    ("unifi_nanohd_ccq", "netwatch_radio_tx_ccq_ratio", {"ifname": "vap1"},
     f"{UNIFI}.2.1.3.1", 0.001),
    ("unifi_nanohd", "netwatch_radio_channel", {"ifname": "vap3"}, f"{UNIFI}.2.1.4.3", 1),
    ("unifi_nanohd", "netwatch_radio_tx_power_dbm", {"ifname": "vap3"}, f"{UNIFI}.2.1.21.3", 1),
    ("unifi_nanohd", "netwatch_radio_channel_utilization_ratio", {"ifname": "radio-na"},
     f"{UNIFI}.1.1.6.2", 0.01),
    # EdgePower
    ("edgeos-ep", "netwatch_power_output_voltage_volts", {"output": "1"}, f"{EDGE}.2.2.1.2.1",
     0.001),
    ("edgeos-ep", "netwatch_power_output_current_amperes", {"output": "1"}, f"{EDGE}.2.2.1.3.1",
     0.001),
    ("edgeos-ep", "netwatch_power_output_power_watts", {"output": "1"}, f"{EDGE}.2.2.1.4.1",
     0.001),
    ("edgeos-ep", "netwatch_power_supply_on", {"supply": "psu1"}, f"{EDGE}.3.2.1.3.1",
     {1: 1, 2: 0, 3: 0}),
    ("edgeos-ep", "netwatch_power_supply_on", {"supply": "psu2"}, f"{EDGE}.3.2.1.3.2",
     {1: 1, 2: 0, 3: 0}),
    ("edgeos-ep", "netwatch_power_supply_voltage_volts", {"supply": "psu2"}, f"{EDGE}.3.2.1.5.2",
     0.001),
    ("edgeos-ep", "netwatch_power_battery_charging", {"supply": "psu2"}, f"{EDGE}.3.2.1.7.2",
     {1: 1, 2: 0}),
    ("edgeos-ep", "netwatch_power_battery_charge_ratio", {"supply": "psu2"}, f"{EDGE}.3.2.1.9.2",
     0.01),
    ("edgeos-ep", "netwatch_power_battery_remaining_seconds", {"supply": "psu2"},
     f"{EDGE}.3.2.1.10.2", 0.01),
    ("edgeos-ep", "netwatch_device_temperature_celsius", {"sensor": "thermometer2"},
     f"{EDGE}.4.2.1.3.2", 0.001),
]


def expected(values: dict[Oid, Value], oid: str, how: float | dict[int, float]) -> float:
    """The value a metric must carry: the recorded one scaled (or mapped), the same float
    product the decoder makes (the exposition's fmt() writes it as the clean number)."""
    from netwatch.snmp.oid import parse_oid

    raw = values[parse_oid(oid)]
    assert isinstance(raw, int), oid
    if isinstance(how, dict):
        return how[raw]
    return raw * how


def exported(result: SnmpResult, metric: str, labels: dict[str, str]) -> float | None:
    """The value of the series with exactly these labels (beyond the device's), or None."""
    return next((value for text, value in series(result, metric).items()
                 if labels_of(text) == labels), None)


async def families_of(names: Iterable[str]) -> set[str]:
    """Every family the poller exports for these recordings (served from memory, no device
    configured as backhaul)."""
    found: set[str] = set()
    for name in names:
        result, _ = await poll(recorded(name))
        found.update(metric for metric, _, _ in result.samples)
    return found
