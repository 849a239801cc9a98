"""The cause of a site that is not up: a table of facts in, a cause (and its evidence) out,
with the packaged rules of the thresholds file."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from netwatch.config.thresholds import read_thresholds
from netwatch.sites.causes import LinkView, SiteFacts, baselined, explain, read
from netwatch.sites.readings import DeviceReadings

RULES = read_thresholds().causes
NOW = 1_800_000_000.0
SINCE = NOW - 120  # the site left `up` two minutes ago
SIGNAL = ("netwatch_radio_signal_dbm", 'ifname="wlan1"')
CCQ = ("netwatch_radio_tx_ccq_ratio", 'ifname="wlan1"')
VOLTS = ("netwatch_device_voltage_volts", 'sensor="voltage"')
RSRP = ("netwatch_lte_rsrp_dbm", 'ifname="lte1"')
DISK = ('netwatch_device_storage_used_bytes', 'storage="system disk"')
DISK_SIZE = ('netwatch_device_storage_total_bytes', 'storage="system disk"')
NORMALS = {("rtr", *SIGNAL): -60.0, ("rtr", *CCQ): 0.95, ("rtr", *VOLTS): 24.3,
           ("rtr", *RSRP): -95.0}


def normal(device: str, metric: str, labels: str) -> float | None:
    return NORMALS.get((device, metric, labels))


def readings(at: float = SINCE - 30, boot: float | None = NOW - 86400, use: float | None = 0.1,
             **values: float) -> DeviceReadings:
    known = {"signal": SIGNAL, "ccq": CCQ, "volts": VOLTS, "rsrp": RSRP, "disk": DISK,
             "disk_size": DISK_SIZE, "cpu": ("netwatch_device_cpu_utilization_ratio", "")}
    healthy = {SIGNAL: -61.0, CCQ: 0.94, VOLTS: 24.2}
    given = {known[k]: v for k, v in values.items()}
    return DeviceReadings(at, {**healthy, **given}, boot, use, 2e6 * (use or 0), 2.5e6)


def facts(state: str = "down", **changes: Any) -> SiteFacts:
    base = SiteFacts(state, NOW, SINCE, links=(LinkView("rtr", None, None, 0.002),),
                     upstream="pop-a", readings={"rtr": readings()}, normal=normal)
    return replace(base, **changes)


CASES: list[tuple[str, SiteFacts, str, str]] = [
    # (id, facts, cause, a word its first finding says)
    ("no evidence: unknown", facts(), "unknown", ""),
    ("maintenance", facts("maintenance"), "maintenance", "maintenance window"),
    ("behind a down POP", facts("unreachable", upstream_down=True), "upstream_down",
     "upstream pop-a down"),
    ("voltage dipped before the loss", facts(readings={"rtr": readings(volts=19.0)}), "power",
     "voltage 19.0 V, its normal 24.3 V"),
    ("a dip long before the loss says nothing",
     facts(readings={"rtr": readings(at=SINCE - 3600, volts=19.0)}), "unknown", ""),
    ("a small dip is no power cut", facts(readings={"rtr": readings(volts=23.0)}), "unknown",
     ""),
    ("router and AP lost together is not power",
     facts(readings={"rtr": readings(), "ap1": readings()}), "unknown", ""),
    ("two sites of one feed dark together", facts(feed="pln-a", feed_down=(("s2", SINCE + 20),)),
     "power", "power feed pln-a: 2 sites down"),
    ("a feed neighbour dark an hour earlier is another incident",
     facts(feed="pln-a", feed_down=(("s2", SINCE - 3600),)), "unknown", ""),
    ("a degraded site's feed is not dark", facts("degraded", feed="pln-a",
                                                 feed_down=(("s2", SINCE),)), "unknown", ""),
    ("router booted a minute ago", facts(readings={"rtr": readings(boot=NOW - 60)}),
     "device_rebooted", "rtr booted at"),
    ("the POP loses as much", facts("degraded", links=(LinkView("rtr", 0.2, 0.01),),
                                     upstream_links=(LinkView("sw", 0.18, 0.01),)),
     "upstream_loss", "upstream pop-a loss 18%"),
    ("the POP is clean", facts("degraded", links=(LinkView("rtr", 0.2, 0.01),),
                               upstream_links=(LinkView("sw", 0.0, 0.001),)), "unknown", ""),
    ("uplink full and loss", facts("degraded", links=(LinkView("rtr", 0.1, 0.03, 0.002),),
                                   readings={"rtr": readings(use=0.97)}),
     "uplink_saturated", "uplink at 97%"),
    ("uplink full and RTT far over its normal",
     facts("degraded", links=(LinkView("rtr", 0.0, 0.09, 0.002),),
           readings={"rtr": readings(use=0.97)}), "uplink_saturated", "uplink at 97%"),
    ("uplink full but the link is fine: needs all",
     facts("degraded", links=(LinkView("rtr", 0.0, 0.003, 0.002),),
           readings={"rtr": readings(use=0.97)}), "unknown", ""),
    ("signal 11 dB under its normal", facts("degraded", readings={"rtr": readings(signal=-71)}),
     "radio_degraded", "wlan1 radio signal -71 dBm, its normal -60 dBm"),
    ("-61 dBm on its own normal is fine", facts("degraded"), "unknown", ""),
    ("CCQ fell", facts("degraded", readings={"rtr": readings(ccq=0.5)}), "radio_degraded",
     "ccq 50%"),
    ("LTE far under its normal", facts("degraded", readings={"rtr": readings(rsrp=-108)}),
     "radio_degraded", "lte1 lte rsrp -108 dBm"),
    ("LTE at the cell edge whatever its normal",
     facts("degraded", readings={"rtr": readings(rsrp=-118)}, normal=lambda *a: None),
     "radio_degraded", "below -115 dBm"),
    ("a faded link that died: its last readings say radio",
     facts(readings={"rtr": readings(signal=-75, ccq=0.4)}), "radio_degraded", "signal -75"),
    ("flash full", facts("degraded", readings={"rtr": readings(disk=16.2e6, disk_size=16.4e6)}),
     "storage_full", "system disk device storage used 99%"),
    ("cpu busy", facts("degraded", readings={"rtr": readings(cpu=0.98)}), "device_overload",
     "cpu 98%"),
    ("power wins over its reboot",
     facts(readings={"rtr": readings(boot=NOW - 30, volts=18.5)}), "power", "voltage 18.5"),
]


@pytest.mark.parametrize(("given", "cause", "says"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_cause(given: SiteFacts, cause: str, says: str) -> None:
    found = explain(given, RULES)
    assert found.name == cause
    if says:
        assert says in found.findings[0].text, found.text
    else:
        assert found.findings == ()


def test_evidence_is_data_for_the_log_and_the_api() -> None:
    found = explain(facts("degraded", readings={"rtr": readings(signal=-71, ccq=0.5)}), RULES)
    data = found.as_json()
    assert data["name"] == "radio_degraded"
    kinds = [e["kind"] for e in data["evidence"]]
    assert kinds == ["signal_fell", "quality_fell"]
    first = data["evidence"][0]
    assert (first["device"], first["metric"], first["value"], first["baseline"]) == \
        ("rtr", "netwatch_radio_signal_dbm", -71, -60)


def test_what_the_rules_read() -> None:
    assert {"netwatch_radio_signal_dbm", "netwatch_device_voltage_volts",
            "netwatch_lte_rsrp_dbm"} <= baselined(RULES)
    assert "netwatch_lte_rsrp_dbm" in read(RULES)
    assert "netwatch_device_cpu_utilization_ratio" not in baselined(RULES)


def test_an_override_adds_a_cause_and_changes_a_number(tmp_path: Any) -> None:
    override = tmp_path / "thresholds.yml"
    override.write_text("causes:\n  radio_degraded:\n    evidence:\n"
                        "      signal_fell: {by: 15}\n"
                        "  hot:\n    evidence: {cpu_busy: {above: 0.5}}\n")
    city = read_thresholds(override)
    assert city.cause_names[-2:] == ("hot", "unknown")
    rules = city.causes
    assert rules["radio_degraded"].evidence.signal_fell is not None
    assert rules["radio_degraded"].evidence.signal_fell.by == 15
    assert rules["radio_degraded"].evidence.quality_fell is not None  # merged, not replaced
    assert explain(facts("degraded", readings={"rtr": readings(signal=-71)}), rules).name \
        == "unknown"  # 11 dB is not 15
    assert explain(facts("degraded", readings={"rtr": readings(cpu=0.6)}), rules).name == "hot"
