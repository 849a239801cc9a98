"""The poller and decoder against real recordings served from memory (no network): values
match what the recording holds, requests are the ones a steady poll needs, refreshes happen
when they must, and partial failures keep what was read."""

from __future__ import annotations

from dataclasses import replace

import pytest

from netwatch.base.errors import SnmpProtocolError
from netwatch.base.exposition import fmt
from netwatch.snmp import profiles
from netwatch.snmp.oid import parse_oid
from netwatch.snmp.poller import DeviceState, poll_device
from netwatch.snmp.recorded import RecordedClient
from netwatch.snmp.snmprec import read_values
from tests.snmp_recordings import EXPECTED_PROFILE, RECORDINGS, column, poll, recorded, series

IF_NAME = parse_oid("1.3.6.1.2.1.31.1.1.1.1")
IF_DESCR = parse_oid("1.3.6.1.2.1.2.2.1.2")
IF_HC_IN = parse_oid("1.3.6.1.2.1.31.1.1.1.6")
IF_IN = parse_oid("1.3.6.1.2.1.2.2.1.10")
SYS_UPTIME = parse_oid("1.3.6.1.2.1.1.3.0")
HR_UPTIME = parse_oid("1.3.6.1.2.1.25.1.1.0")
ENGINE_TIME = parse_oid("1.3.6.1.6.3.10.2.1.3.0")
IF_LAST_CHANGE = parse_oid("1.3.6.1.2.1.31.1.5.0")


@pytest.mark.parametrize(("name", "profile"), sorted(EXPECTED_PROFILE.items()))
async def test_auto_detection_and_info(name: str, profile: str) -> None:
    result, _ = await poll(recorded(name))
    assert result.ok and result.profile == profile
    (info,) = series(result, "netwatch_device_info")
    assert f'profile="{profile}"' in info


async def test_routeros_values_are_the_recorded_ones() -> None:
    values = read_values(RECORDINGS / "routeros.snmprec")
    result, _ = await poll(recorded("routeros"))
    names = column(values, IF_NAME)
    rx = series(result, "netwatch_interface_receive_bytes_total")
    assert rx == {f'ifname="{names[i]}"': v for i, v in column(values, IF_HC_IN).items()}
    assert {'ifname="WAN"', 'ifname="ether2"', 'ifname="wlan1"'} <= set(rx)
    assert series(result, "netwatch_device_cpu_utilization_ratio") == {"": 0.0525}  # (21+0+0+0)/4 %
    assert series(result, "netwatch_device_temperature_celsius") == {'sensor="temperature"': 33.0}
    assert series(result, "netwatch_device_voltage_volts") == {'sensor="voltage"': 15.4}
    assert series(result, "netwatch_wireless_clients") == {
        'ifname="wlan1"': 7, 'ifname="wlan2"': 0, 'ifname="wlan3"': 0, 'ifname="wlan4"': 4}
    assert series(result, "netwatch_device_memory_total_bytes") == {"": 65536 * 1024}
    (info,) = series(result, "netwatch_device_info")
    assert 'model="RB952Ui-5ac2nD"' in info and 'os_version="6.40.5"' in info


async def test_routeros7_gauge_table_wins_over_legacy_scalars() -> None:
    result, _ = await poll(recorded("routeros_rb750gr3"))
    assert series(result, "netwatch_device_temperature_celsius") == {'sensor="temperature"': 38}
    assert series(result, "netwatch_device_voltage_volts") == {'sensor="voltage"': 24.3}


async def test_airos_wireless_clients_and_32_bit_fallback() -> None:
    values = read_values(RECORDINGS / "airos_airos8.snmprec")
    client = recorded("airos_airos8")
    result, state = await poll(client)
    assert series(result, "netwatch_wireless_clients") == {'ifname="ath0"': 1}
    names = column(values, IF_DESCR)  # no ifXTable: names from ifDescr, 32-bit counters
    assert series(result, "netwatch_interface_receive_bytes_total") == {
        f'ifname="{names[i]}"': v for i, v in column(values, IF_IN).items()}
    assert series(result, "netwatch_device_temperature_celsius") == {}  # x10^7 reading dropped
    before = len(client.requests)
    await poll(client, state)
    asked = [oid for _, oids in client.requests[before:] for oid in oids]
    assert IF_IN in asked and IF_HC_IN not in asked  # the fallback sticks


async def test_cisco_64_bit_counters_and_sensor_scaling() -> None:
    values = read_values(RECORDINGS / "ios.snmprec")
    result, _ = await poll(recorded("ios"))
    rx = series(result, "netwatch_interface_receive_bytes_total")
    assert rx['ifname="Gi0/8"'] == values[(*IF_HC_IN, 10108)] == 415790189932477 > 2**32
    xe, _ = await poll(recorded("iosxe_isr4321"))
    temps = series(xe, "netwatch_device_temperature_celsius")
    # 34558 e-3 and 12059 milli: the values are float products, their text the clean numbers
    assert fmt(temps['sensor="subslot 0/0 transceiver 0 Temperature Sensor"']) == "34.558"
    assert temps['sensor="Slot 6 - Temp: Internal"'] == 28
    volts = series(xe, "netwatch_device_voltage_volts")
    assert fmt(volts['sensor="Slot 6 - V: 12v"']) == "12.059"
    (info,) = series(xe, "netwatch_device_info")
    assert 'model="ISR4321/K9"' in info and 'os_version="17.6.4"' in info


async def test_unifi_stations_per_vap_and_linux_identity() -> None:
    result, _ = await poll(recorded("unifi_nanohd"))
    assert series(result, "netwatch_wireless_clients") == {
        'ifname="vap1"': 4, 'ifname="vap2"': 0, 'ifname="vap3"': 14, 'ifname="vap4"': 0}
    linux, _ = await poll(recorded("linux_ntc"))
    (info,) = series(linux, "netwatch_device_info")
    assert 'os_version="CentOS 7.4.1708"' in info
    assert series(linux, "netwatch_device_uptime_seconds") == {"": 7262288.98}  # hrSystemUptime


async def test_steady_poll_asks_only_what_metrics_use() -> None:
    client = recorded("routeros")
    _, state = await poll(client)
    before = len(client.requests)
    await poll(client, state)
    steady = client.requests[before:]
    asked = [oid for _, oids in steady for oid in oids]
    assert steady[0][0] == "get" and "next" not in [kind for kind, _ in steady]
    assert IF_NAME not in asked and IF_DESCR not in asked  # labels come from the cache
    interfaces = [oids for kind, oids in steady if kind == "bulk" and IF_HC_IN in oids]
    assert len(interfaces) == 1 and len(interfaces[0]) == 11  # the 11 IF-MIB columns metrics use


@pytest.mark.parametrize("version", ["1", "2c"])
async def test_truncated_replies_and_v1_give_the_same_samples(version: str) -> None:
    reference, _ = await poll(recorded("routeros"))
    result, _ = await poll(recorded("routeros", version=version, max_reply=5))
    assert sorted(result.samples) == sorted(reference.samples)


async def test_walk_failing_half_way_keeps_what_it_got() -> None:
    client = recorded("routeros")
    _, state = await poll(client)
    client.fail_after = len(client.requests) + 1  # the GET works, the first table walk fails
    result, _ = await poll(client, state)
    assert not result.ok and result.reason == "timeout"
    assert series(result, "netwatch_device_temperature_celsius") == {'sensor="temperature"': 33.0}
    assert series(result, "netwatch_interface_receive_bytes_total") == {}


async def test_reboot_refreshes_lookups_and_moves_boot_time() -> None:
    client = recorded("routeros")
    first, state = await poll(client)
    (boot,) = series(first, "netwatch_device_boot_time_seconds").values()
    client.set((*IF_NAME, 3), b"uplink")  # renamed: invisible until a refresh
    second, _ = await poll(client, state)
    assert 'ifname="WAN"' in series(second, "netwatch_interface_oper_up")
    client.set(SYS_UPTIME, 500)
    client.set(HR_UPTIME, 500)
    third, _ = await poll(client, state)
    assert series(third, "netwatch_device_boot_time_seconds")[""] > boot + 1000
    assert 'ifname="uplink"' in series(third, "netwatch_interface_oper_up")


async def test_if_table_last_change_and_new_rows_refresh_labels() -> None:
    client = recorded("routeros")
    client.set(IF_LAST_CHANGE, 100)
    _, state = await poll(client)
    client.set((*IF_NAME, 3), b"uplink")
    client.set(IF_LAST_CHANGE, 200)
    result, _ = await poll(client, state)
    assert 'ifname="uplink"' in series(result, "netwatch_interface_oper_up")
    client.set((*IF_HC_IN, 99), 5)  # a new interface appears in a polled column
    client.set((*IF_NAME, 99), b"ether99")
    await poll(client, state)
    result, _ = await poll(client, state)
    assert series(result, "netwatch_interface_receive_bytes_total")['ifname="ether99"'] == 5


async def test_missing_objects_and_missing_system_group() -> None:
    system_only = {oid: v for oid, v in read_values(RECORDINGS / "routeros.snmprec").items()
                   if oid[:8] == (1, 3, 6, 1, 2, 1, 1, 1) or oid[:7] == (1, 3, 6, 1, 2, 1, 1)}
    result, _ = await poll(RecordedClient(system_only))
    assert result.ok and result.profile == "mikrotik"
    assert {name for name, _, _ in result.samples} == {
        "netwatch_device_info", "netwatch_device_boot_time_seconds",
        "netwatch_device_uptime_seconds"}
    with pytest.raises(SnmpProtocolError, match="without the SNMPv2-MIB system group"):
        await poll(RecordedClient({parse_oid("1.3.6.1.4.1.1.1.0"): 1}))


async def test_a_refresh_that_fails_is_tried_again() -> None:
    client = recorded("routeros")
    _, state = await poll(client)
    client.set(SYS_UPTIME, 500)  # rebooted, and an interface renamed meanwhile
    client.set(HR_UPTIME, 500)
    client.set((*IF_NAME, 3), b"uplink")
    client.fail_after = len(client.requests) + 1  # the GET works, the lookup walk does not
    failed, _ = await poll(client, state)
    assert failed.reason == "timeout"
    client.fail_after = None
    result, _ = await poll(client, state)
    assert result.ok and 'ifname="uplink"' in series(result, "netwatch_interface_oper_up")


async def test_only_the_followed_uptime_is_asked_and_its_loss_is_noticed() -> None:
    client = recorded("linux_ntc")  # has hrSystemUptime, snmpEngineTime and sysUpTime
    _, state = await poll(client)
    before = len(client.requests)
    await poll(client, state)
    first_get = client.requests[before][1]
    assert HR_UPTIME in first_get and ENGINE_TIME not in first_get
    assert SYS_UPTIME not in first_get
    del client.values[HR_UPTIME]  # the agent stops answering it
    client.values = dict(client.values)
    await poll(client, state)
    result, _ = await poll(client, state)
    assert series(result, "netwatch_device_uptime_seconds") == {"": 113861}  # snmpEngineTime
    assert (await poll(client, state))[0].ok


async def test_wrong_typed_values_are_counted_per_family_not_exported() -> None:
    """An agent answering OCTET STRING for counters and TimeTicks: the device is up, and the
    refused values are counted per metric family instead of vanishing."""
    client = recorded("routeros")
    hc_in = [oid for oid in client.values if oid[:len(IF_HC_IN)] == IF_HC_IN]
    assert hc_in
    for oid in hc_in:
        client.set(oid, b"12345")  # a counter as text
    for oid in (SYS_UPTIME, HR_UPTIME):
        if oid in client.values:
            client.set(oid, b"1 day, 2:03:04")  # TimeTicks as text
    result, state = await poll(client)
    assert result.ok
    rejected = dict(result.rejected)
    assert rejected["netwatch_interface_receive_bytes_total"] == len(hc_in)
    assert rejected["netwatch_device_uptime_seconds"] >= 1
    assert series(result, "netwatch_interface_receive_bytes_total") == {}
    assert series(result, "netwatch_device_uptime_seconds") == {}
    again, _ = await poll(client, state)
    assert dict(again.rejected)["netwatch_interface_receive_bytes_total"] == len(hc_in)


async def test_a_table_cut_at_its_row_cap_is_reported() -> None:
    loaded = profiles.load()
    routeros = loaded["mikrotik"]
    capped = replace(routeros, tables=tuple(t.model_copy(update={"max_rows": 2})
                                            for t in routeros.tables))
    client = recorded("routeros")
    state = DeviceState("mikrotik")
    result = await poll_device(client, state, {**loaded, "mikrotik": capped}, budget=10.0)
    assert "interfaces" in result.truncated
    full = await poll_device(recorded("routeros"), DeviceState("mikrotik"), loaded, budget=10.0)
    assert full.truncated == ()
