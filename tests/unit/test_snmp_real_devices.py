"""What real devices do that a first poller gets wrong, each pinned by a test on a real
recording (served from memory): a re-detection in the middle of a poll, ifNames listed
twice, identity guessed from a kernel banner, counters shown as 0 when the device has
none, an SNMP agent restart taken for a reboot."""

from __future__ import annotations

import pytest

from netwatch.snmp.oid import Oid, Value, parse_oid
from netwatch.snmp.oneshot import report
from netwatch.snmp.poller import DeviceState
from netwatch.snmp.recorded import RecordedClient
from netwatch.snmp.result import SnmpResult
from netwatch.snmp.snmprec import read_values
from tests.snmp_recordings import (
    RECORDINGS,
    column,
    interface_names,
    labels_of,
    poll,
    recorded,
    series,
)

SYS_DESCR = parse_oid("1.3.6.1.2.1.1.1.0")
SYS_UPTIME = parse_oid("1.3.6.1.2.1.1.3.0")
HR_UPTIME = parse_oid("1.3.6.1.2.1.25.1.1.0")
ENGINE_TIME = parse_oid("1.3.6.1.6.3.10.2.1.3.0")
IF_LAST_CHANGE = parse_oid("1.3.6.1.2.1.31.1.5.0")
IF_DESCR = parse_oid("1.3.6.1.2.1.2.2.1.2")
IF_IN = parse_oid("1.3.6.1.2.1.2.2.1.10")
IF_OUT = parse_oid("1.3.6.1.2.1.2.2.1.16")
UNIFI_MODEL = parse_oid("1.3.6.1.4.1.41112.1.6.3.3.0")
UNIFI_VERSION = parse_oid("1.3.6.1.4.1.41112.1.6.3.6.0")
T0 = 1_800_000_000.0


def _reboot(client: RecordedClient) -> None:
    client.set(SYS_UPTIME, 500)
    client.set(HR_UPTIME, 500)


def _interfaces_changed(client: RecordedClient) -> None:
    client.set(IF_LAST_CHANGE, 12345)


@pytest.mark.parametrize("trigger", [_reboot, _interfaces_changed], ids=["reboot", "iftable"])
async def test_a_refresh_found_due_mid_poll_reads_the_system_group(trigger: object) -> None:
    """Before: the refresh ran on a GET without sysObjectID, sysDescr and sysName, so a
    MikroTik fell to `generic` with empty identity and lost its health series for an hour."""
    client = recorded("routeros")
    client.set(IF_LAST_CHANGE, 100)
    first, state = await poll(client)
    assert callable(trigger)
    trigger(client)
    second, _ = await poll(client, state)
    assert second.profile == "mikrotik"
    (info,) = series(second, "netwatch_device_info")
    assert labels_of(info) == labels_of(next(iter(series(first, "netwatch_device_info"))))
    assert labels_of(info)["model"] == "RB952Ui-5ac2nD" and labels_of(info)["sysname"]
    assert series(second, "netwatch_device_temperature_celsius") == {'sensor="temperature"': 33}


async def test_every_row_of_a_duplicated_ifname_stays() -> None:
    """airOS listing eth0, ath0 and br0 twice (derived recording): before, the second row of
    each name was dropped without a word."""
    name = "airos_airos8_dupnames"
    values = read_values(RECORDINGS / f"{name}.snmprec")
    names = column(values, IF_DESCR)
    assert len(set(names.values())) == len(names) - 3  # three names listed twice
    result, _ = await poll(recorded(name))
    rx = series(result, "netwatch_interface_receive_bytes_total")
    tx = series(result, "netwatch_interface_transmit_bytes_total")
    labels = interface_names(values)
    assert rx == {f'ifname="{labels[i]}"': v for i, v in column(values, IF_IN).items()}
    assert tx == {f'ifname="{labels[i]}"': v for i, v in column(values, IF_OUT).items()}
    assert len(rx) == 12 and {labels[2], labels[10]} == {"eth0#2", "eth0#10"}
    infos = [labels_of(key) for key in series(result, "netwatch_interface_info")]
    assert {(i["ifname"], i["ifindex"]) for i in infos} >= {("eth0#2", "2"), ("eth0#10", "10")}


async def test_a_unifi_without_its_model_object_gets_no_model_rather_than_linux() -> None:
    """UniFi firmware whose sysDescr is the kernel banner and which lacks unifiApSystemModel:
    before, the model became "Linux" and the version the kernel's."""
    client = recorded("unifi_nanohd")
    client.set(SYS_DESCR, b"Linux 2.6.32.68 #1 Thu Aug 22 16:38:44 EEST 2019 mips")
    values: dict[Oid, Value] = {k: v for k, v in client.values.items()
                                if k not in (UNIFI_MODEL, UNIFI_VERSION)}
    client.values = values
    result, _ = await poll(client)
    assert result.profile == "unifi"
    (info,) = series(result, "netwatch_device_info")
    assert labels_of(info)["vendor"] == "Ubiquiti"
    assert labels_of(info)["model"] == "" and labels_of(info)["os_version"] == ""


async def test_an_airfiber_ltu_is_identified_from_its_own_objects() -> None:
    """Before: an LTU radio (net-snmp's Linux sysObjectID) was taken for a Linux server."""
    result, _ = await poll(recorded("airos-af-ltu_1.4.0"))
    assert result.profile == "ubiquiti-ltu"
    (info,) = series(result, "netwatch_device_info")
    assert {k: labels_of(info)[k] for k in ("vendor", "model", "os_version")} == {
        "vendor": "Ubiquiti", "model": "airFiber 5XHD", "os_version": "1.4.0"}


def test_probe_prints_a_dash_for_counters_the_device_does_not_report() -> None:
    info = 'ifalias="",ifindex="3",ifname="lte1",iftype="other"'
    result = SnmpResult((("netwatch_interface_info", info, 1),
                         ("netwatch_interface_oper_up", 'ifname="lte1"', 1),
                         ("netwatch_interface_receive_bytes_total", 'ifname="lte1"', 0)),
                        "mikrotik")
    row = next(line for line in report("127.0.0.1", result, "auto").splitlines()
               if line.strip().startswith("lte1"))
    assert row.split()[-2:] == ["0", "-"]  # received 0 octets: 0; sent: not reported


async def test_an_agent_restart_is_not_a_reboot() -> None:
    """linux_ntc's snmpEngineTime (1.3 days) restarted with its agent, its hrSystemUptime
    (84 days) did not: the boot time is 84 days back, and an agent restart (engine time and
    sysUpTime back to a few seconds, the host's uptime running on) changes nothing."""
    client = recorded("linux_ntc")
    hr_ticks = client.values[HR_UPTIME]
    assert isinstance(hr_ticks, int)
    state = DeviceState("auto")
    first, _ = await poll(client, state, now=T0)
    (boot,) = series(first, "netwatch_device_boot_time_seconds").values()
    assert boot == round(T0 - hr_ticks / 100)
    client.set(ENGINE_TIME, 3)
    client.set(SYS_UPTIME, 300)
    client.set(HR_UPTIME, hr_ticks + 6000)
    asked = len(client.requests)
    second, _ = await poll(client, state, now=T0 + 60)
    assert series(second, "netwatch_device_boot_time_seconds") == {"": boot}
    assert [kind for kind, _ in client.requests[asked:]].count("next") == 0  # no refresh
    client.set(HR_UPTIME, 1000)  # the host itself rebooted: that moves it
    third, _ = await poll(client, state, now=T0 + 120)
    assert series(third, "netwatch_device_boot_time_seconds") == {"": T0 + 110}


async def test_probe_shows_each_radio_and_lte_interface() -> None:
    lte, _ = await poll(recorded("routeros_ltap-mini"))
    lines = report("127.0.0.1", lte, "auto").splitlines()
    assert "  radio lte1  rsrp -105 dBm  rsrq -10 dB  sinr 11 dB" in lines
    # no clients: RouterOS's CCQ 0 is no value, not a link at 0 %
    assert "  radio wlan1  frequency 2412 MHz  noise -113 dBm  clients 0" in lines
