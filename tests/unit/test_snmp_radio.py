"""Radio, LTE, PoE, optics, storage and power families against the real (and derived)
recordings served from memory: every value is the recorded one in the metric's unit, per-peer
series exist only for backhaul devices and stay within their cap, client tables are
aggregated, and values the MIBs mark as "none" are not exported."""

from __future__ import annotations

import pytest

from netwatch.lab import derive
from netwatch.snmp.oid import in_subtree, parse_oid
from netwatch.snmp.snmprec import read_values
from tests.snmp_recordings import (
    RADIO_EXPECTATIONS,
    RECORDINGS,
    expected,
    exported,
    labels_of,
    poll,
    recorded,
    series,
)

RTAB_STRENGTH = parse_oid("1.3.6.1.4.1.14988.1.1.1.2.1.3")
RTAB_SNR = parse_oid("1.3.6.1.4.1.14988.1.1.1.2.1.12")
PEER_FAMILIES = ("netwatch_radio_peer_signal_dbm", "netwatch_radio_peer_snr_db",
                 "netwatch_radio_peer_tx_rate_bytes_per_second",
                 "netwatch_radio_peer_rx_rate_bytes_per_second")


@pytest.mark.parametrize(("name", "metric", "labels", "oid", "how"), RADIO_EXPECTATIONS,
                         ids=[f"{e[0]}:{e[1]}:{','.join(e[2].values())}"
                              for e in RADIO_EXPECTATIONS])
async def test_value_is_the_recorded_one(name: str, metric: str, labels: dict[str, str],
                                         oid: str, how: float | dict[int, float]) -> None:
    result, _ = await poll(recorded(name), max_peers=16)
    want = expected(read_values(RECORDINGS / f"{name}.snmprec"), oid, how)
    assert exported(result, metric, labels) == want, series(result, metric)


NEIGHBOUR_TABLES = (1, 0, 8802, 1, 1, 2, 1, 4)  # LLDP-MIB lldpRemoteSystemsData


def test_the_derived_recordings_are_what_derive_makes() -> None:
    assert derive.stale() == [], "run: python -m netwatch.lab.derive"
    for derivation in derive.DERIVATIONS:
        base = read_values(RECORDINGS / f"{derivation.base}.snmprec")
        derived = read_values(RECORDINGS / f"{derivation.name}.snmprec")
        assert set(base) <= set(derived)  # every real row stays
        changed = [oid for oid in base if base[oid] != derived[oid]]
        added = set(derived) - set(base)
        assert 0 < len(changed) + len(added) < len(base) / 2  # rows, not a device
        # values changed, beyond one client count, only in neighbour tables (the topology
        # lab's routers name its other devices)
        assert len(changed) <= 1 or all(in_subtree(oid, NEIGHBOUR_TABLES) for oid in changed)
        assert derivation.change.__doc__ and "Why:" in derivation.change.__doc__


async def test_per_peer_series_only_for_backhaul_devices() -> None:
    client = recorded("routeros_16peers")
    aggregated, _ = await poll(client)
    assert not any(name.startswith("netwatch_radio_peer") for name, _, _ in aggregated.samples)
    assert "netwatch_radio_peers_over_limit" not in {n for n, _, _ in aggregated.samples}
    asked = {oid for _, oids in client.requests for oid in oids}
    assert RTAB_STRENGTH in asked and RTAB_SNR not in asked  # not even polled
    backhaul, _ = await poll(recorded("routeros_16peers"), max_peers=16)
    peers = {labels_of(k)["peer"] for k in series(backhaul, "netwatch_radio_peer_signal_dbm")}
    assert len(peers) == 16
    assert series(backhaul, "netwatch_radio_peers_over_limit") == {"": 0}
    assert len(series(backhaul, "netwatch_radio_peer_snr_db")) == 15  # SNR 0: "no value"


async def test_peers_beyond_the_cap_are_counted_and_the_admitted_ones_stay() -> None:
    client = recorded("routeros_16peers")
    first, state = await poll(client, max_peers=10)
    assert series(first, "netwatch_radio_peers_over_limit") == {"": 6}
    admitted = set(series(first, "netwatch_radio_peer_signal_dbm"))
    assert len(admitted) == 10
    for family in PEER_FAMILIES:  # every per-peer family keeps to the same ten peers
        assert {labels_of(k)["peer"] for k in series(first, family)} <= {
            labels_of(k)["peer"] for k in admitted}
    gone = sorted(admitted)[0]
    index = next(oid for oid in client.values if oid[:len(RTAB_STRENGTH)] == RTAB_STRENGTH and
                 ":".join(f"{b:02x}" for b in oid[len(RTAB_STRENGTH):][:6]) ==
                 labels_of(gone)["peer"])
    client.values = {k: v for k, v in client.values.items() if k[-7:] != index[-7:]}
    second, _ = await poll(client, state)
    now = set(series(second, "netwatch_radio_peer_signal_dbm"))
    assert gone not in now and len(now) == 10 and len(admitted & now) == 9  # one took its place
    assert series(second, "netwatch_radio_peers_over_limit") == {"": 5}


async def test_client_tables_are_aggregated_per_radio() -> None:
    values = read_values(RECORDINGS / "routeros.snmprec")
    signals: dict[int, list[int]] = {}
    for oid, value in values.items():
        if oid[:len(RTAB_STRENGTH)] == RTAB_STRENGTH and isinstance(value, int):
            signals.setdefault(oid[-1], []).append(value)
    result, _ = await poll(recorded("routeros"))
    got = series(result, "netwatch_wireless_client_signal_dbm")
    wlan4 = sorted(signals[9])  # four clients: the median is the mean of the middle two
    assert got['ifname="wlan4",stat="min"'] == wlan4[0]
    assert got['ifname="wlan4",stat="median"'] == (wlan4[1] + wlan4[2]) / 2
    assert got['ifname="wlan1",stat="max"'] == max(signals[1])
    assert len(got) == 6  # two radios with clients, three statistics each


async def test_values_the_mibs_mark_as_none_are_not_exported() -> None:
    lte, _ = await poll(recorded("routeros_ltap-mini"))
    assert series(lte, "netwatch_lte_rssi_dbm") == {}  # RouterOS reports 0 on LTE
    routeros, _ = await poll(recorded("routeros"))
    assert set(series(routeros, "netwatch_radio_frequency_hertz")) == {
        'ifname="wlan1"', 'ifname="wlan2"'}  # the virtual APs report 0 MHz
    # and CCQ 0, wlan4 with 4 clients too; the LtAP's AP without clients as well
    assert set(series(routeros, "netwatch_radio_tx_ccq_ratio")) == {
        'ifname="wlan1"', 'ifname="wlan2"'}
    assert series(lte, "netwatch_wireless_clients") == {'ifname="wlan1"': 0}
    assert series(lte, "netwatch_radio_tx_ccq_ratio") == {}
    crs, _ = await poll(recorded("routeros_crs317"))
    assert series(crs, "netwatch_optic_rx_power_dbm") == {}  # empty cages (wavelength 0)
    unifi, _ = await poll(recorded("unifi_nanohd_ccq"))
    assert 'ifname="vap3"' not in series(unifi, "netwatch_radio_tx_ccq_ratio")  # 120 %
    power, _ = await poll(recorded("edgeos-ep"))
    assert set(series(power, "netwatch_power_supply_voltage_volts")) == {'supply="psu2"'}
    assert set(series(power, "netwatch_power_battery_charging")) == {'supply="psu2"'}
    airos, _ = await poll(recorded("airos_airos8"))
    assert series(airos, "netwatch_wireless_ssid_info") == {}  # no ubntWlStatSsid: no SSID ""


async def test_ssid_info_is_keyed_by_the_vap_interface() -> None:
    result, _ = await poll(recorded("unifi_nanohd"))
    infos = [labels_of(k) for k in series(result, "netwatch_wireless_ssid_info")]
    assert sorted((i["ifname"], i["ssid"]) for i in infos) == [
        ("vap1", "homewifi_ac"), ("vap2", "vwire-d4aebb3212a82cd8"),
        ("vap3", "homewifi_ac"), ("vap4", "vwire-d4aebb3212a82cd8")]


async def test_the_lte_cell_is_read_every_poll() -> None:
    client = recorded("routeros_ltap-mini")
    _, state = await poll(client)
    client.set(parse_oid("1.3.6.1.4.1.14988.1.1.16.1.1.5.3"), 2100007)  # a handover
    result, _ = await poll(client, state)
    (info,) = series(result, "netwatch_lte_info")
    assert labels_of(info)["cell_id"] == "2100007"
