"""Boot time (jitter, reboots, the 497-day wrap), rendered SNMP series, and the session's
pure helpers (junk detection, credentials kept out of sight)."""

from __future__ import annotations

from netwatch.base.exposition import MetricStore
from netwatch.config.model import AuthConfig
from netwatch.scheduler.prober import Failed
from netwatch.snmp import profiles
from netwatch.snmp.ber import looks_like_snmp
from netwatch.snmp.oid import Value
from netwatch.snmp.result import SnmpFamilies, SnmpResult, SnmpSeries
from netwatch.snmp.uptime import (
    HR_SYSTEM_UPTIME,
    SNMP_ENGINE_TIME,
    SYS_UPTIME,
    TICKS_WRAP,
    BootClock,
    pick_uptime,
)
from netwatch.snmp.v3 import credential_key
from tests.metrics import Samples, key, parse

T0 = 1_800_000_000.0


def test_boot_time_ignores_jitter_and_moves_on_reboot() -> None:
    clock = BootClock()
    assert not clock.update(SYS_UPTIME, 100_000, 0.01, T0)  # up 1000 s
    assert clock.boot_time == T0 - 1000
    assert not clock.update(SYS_UPTIME, 106_000 - 7, 0.01, T0 + 60.3)  # network delay, ticks
    assert clock.boot_time == T0 - 1000
    assert clock.update(SYS_UPTIME, 3_000, 0.01, T0 + 120)  # uptime went back: reboot
    assert clock.boot_time == T0 + 90


def test_timeticks_wrap_after_497_days_is_not_a_reboot() -> None:
    clock = BootClock()
    clock.update(HR_SYSTEM_UPTIME, TICKS_WRAP - 3_000, 0.01, T0)  # 30 s before the wrap
    boot = clock.boot_time
    assert not clock.update(HR_SYSTEM_UPTIME, 3_000, 0.01, T0 + 60)
    assert clock.boot_time == boot and clock.wraps == 1
    assert clock.uptime == 30.0  # as reported


def test_drift_re_anchors_and_source_preference() -> None:
    clock = BootClock()
    clock.update(SNMP_ENGINE_TIME, 1000, 1.0, T0)
    clock.update(SNMP_ENGINE_TIME, 1000 + 86_400, 1.0, T0 + 86_400 + 59)
    assert clock.boot_time == T0 - 1000  # within the drift allowance
    clock.update(SNMP_ENGINE_TIME, 1000 + 2 * 86_400, 1.0, T0 + 2 * 86_400 - 61)
    assert clock.boot_time == T0 - 1061  # the device's clock ran fast: re-anchored
    values: dict[tuple[int, ...], Value] = {SYS_UPTIME: 5, HR_SYSTEM_UPTIME: 6, SNMP_ENGINE_TIME: 7}
    assert pick_uptime(values) == (HR_SYSTEM_UPTIME, 6, 0.01)  # the host's, not the agent's
    del values[HR_SYSTEM_UPTIME]
    assert pick_uptime(values) == (SNMP_ENGINE_TIME, 7, 1.0)


def test_engine_time_tells_how_often_a_first_ticks_reading_wrapped() -> None:
    clock = BootClock()  # up 600 days: hrSystemUptime wrapped once, the agent ran 550 days
    assert not clock.update(HR_SYSTEM_UPTIME, 600 * 8_640_000 - TICKS_WRAP, 0.01, T0,
                            at_least=550 * 86_400)
    assert clock.wraps == 1 and clock.boot_time == T0 - 600 * 86_400


def render(series: SnmpSeries, store: MetricStore) -> Samples:
    for family, text in series.render():
        store.set(family, "t", text)
    return parse(store.render())


DEVICE = 'site="18.71.01.1003",kecamatan="Kedaton",device="rtr",role="router"'
DEV = {"site": "18.71.01.1003", "kecamatan": "Kedaton", "device": "rtr", "role": "router"}


def test_series_render_partial_and_failed_polls() -> None:
    store = MetricStore()
    series = SnmpSeries(SnmpFamilies(store, profiles.load()), DEVICE)
    result = SnmpResult((("netwatch_interface_receive_bytes_total", 'ifname="ether1"', 2**60),
                         ("netwatch_interface_info", ('ifalias="to \\"POP\\"",ifindex="1",'
                          'ifname="ether1",iftype="ethernetCsmacd"'), 1)), "mikrotik")
    series.apply(result)
    out = render(series, store)
    assert out[key("netwatch_interface_receive_bytes_total", DEV, ifname="ether1")] == 2**60
    info = key("netwatch_interface_info", DEV, ifalias='to "POP"', ifindex="1", ifname="ether1",
               iftype="ethernetCsmacd")
    assert out[info] == 1
    assert "netwatch_interface_receive_bytes_total" in store.render().decode()
    partial = SnmpResult((("netwatch_device_uptime_seconds", "", 5),), "mikrotik",
                         failure="timeout")
    series.apply(partial)
    assert not partial.ok and partial.reason == "timeout"
    assert render(series, store) == {key("netwatch_device_uptime_seconds", DEV): 5}
    series.apply(Failed("timeout"))
    assert render(series, store) == {}


def test_help_names_the_oids() -> None:
    store = MetricStore()
    SnmpFamilies(store, profiles.load())
    text = store.get("netwatch_interface_receive_bytes_total")
    assert text is not None
    assert "IF-MIB::ifHCInOctets (1.3.6.1.2.1.31.1.1.1.6)" in text.help
    assert "IF-MIB::ifInOctets (1.3.6.1.2.1.2.2.1.10)" in text.help
    boot = store.get("netwatch_device_boot_time_seconds")
    assert boot is not None and "1.3.6.1.6.3.10.2.1.3.0" in boot.help


def test_junk_detection_and_secret_free_credential_key() -> None:
    assert looks_like_snmp(bytes.fromhex("3003020100"))
    assert looks_like_snmp(b"\x30\x81\x03abc")
    assert not looks_like_snmp(b"\x00garbage")
    assert not looks_like_snmp(b"\x30\x10short")
    auth = AuthConfig.model_validate({"version": "3", "username": "noc", "auth_protocol": "SHA",
                                      "auth_password": "s3cret-auth",
                                      "priv_password": "s3cret-priv"})
    key = credential_key(auth)
    assert "s3cret" not in key and key == credential_key(auth)
    other = auth.model_copy(update={"priv_password": AuthConfig.model_validate(
        {"version": "2c", "community": "s3cret-other"}).community})
    assert credential_key(other) != key
    assert "s3cret" not in repr(auth)
