"""The metric catalog: its entries follow the naming rules, the documents generated from it
are current, and the daemon's whole exposition (every part that renders series, fed with
every device recording) agrees with it family by family and label by label."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from netwatch.base.catalog import DEVICE, METRICS, Metric, Origin, of
from netwatch.base.exposition import MetricStore
from netwatch.base.selfmetrics import LATENESS_BUCKETS, SelfMetrics
from netwatch.daemon.inventory_file import read_inventory
from netwatch.daemon.service import Daemon
from netwatch.generators import metricdoc
from netwatch.icmp.prober import IcmpProber
from netwatch.icmp.result import IcmpResult
from netwatch.inventory.model import DeviceLabels, SnmpPolicy, Target
from netwatch.scheduler.prober import Failed, Outcome, Result
from netwatch.snmp import profiles
from netwatch.snmp.neighbors import Neighbor, Topology
from netwatch.snmp.poller import DeviceState, poll_device
from netwatch.snmp.prober import SnmpProber
from netwatch.snmp.recorded import RecordedClient
from netwatch.snmp.result import SnmpResult
from tests.metrics import key, labelled, parse
from tests.scrapecheck import catalog_problems

RECORDINGS = Path(__file__).resolve().parents[2] / "netwatch" / "lab" / "recordings"
NAME = re.compile(r"^netwatch_[a-z0-9_]+$")
# objects the profiles map that no recording in the pool carries, set on the closest one:
# RouterOS reports the LTE RSSI only in 3G (0 on LTE, which the profile drops), and airOS
# 8.7 no longer reports ubntAirMaxQuality
UNRECORDED: dict[str, dict[tuple[int, ...], int]] = {
    "routeros_ltap-mini": {(1, 3, 6, 1, 4, 1, 14988, 1, 1, 16, 1, 1, 2, 3): -71},
    "airos_airos8_station": {(1, 3, 6, 1, 4, 1, 41112, 1, 4, 6, 1, 3, 1): 83},
}
LABEL = re.compile(r"^[a-z][a-z0-9_]*$")


@pytest.mark.parametrize("metric", METRICS.values(), ids=list(METRICS))
def test_entry_follows_the_naming_rules(metric: Metric) -> None:
    assert NAME.match(metric.name)
    assert metric.help.endswith(".") and not metric.help[0].islower()
    assert metric.name.endswith("_total") == (metric.type == "counter")
    assert metric.name.endswith("_info") == (metric.type == "info")
    base = metric.name.removesuffix("_total")
    if metric.unit:
        assert base.endswith(f"_{metric.unit}"), "the unit is the name's suffix"
    assert len(set(metric.labels)) == len(metric.labels)
    assert all(LABEL.match(label) for label in metric.labels)
    assert "le" not in metric.labels and "quantile" not in metric.labels


def test_catalog_device_labels_are_the_inventorys() -> None:
    assert DEVICE == DeviceLabels.NAMES
    origins: tuple[Origin, ...] = ("target", "site", "icmp", "snmp", "profile", "self",
                                     "history", "topology")
    for origin in origins:
        assert of(origin), origin


def test_generated_tables_are_current() -> None:
    assert metricdoc.stale_documents() == [], f"run: {metricdoc.COMMAND}"


def test_generated_table_needs_its_markers() -> None:
    with pytest.raises(metricdoc.DocError, match="markers for the metrics table"):
        metricdoc.render_document("metrics", "# README without the markers\n")
    readme = metricdoc.render_document(
        "metrics", "intro\n" + metricdoc.BEGIN.format(name="metrics", command="x")
        .replace("`x`", f"`{metricdoc.COMMAND}`") + "old table\n" + metricdoc.END.format(
            name="metrics") + "after\n")
    assert "old table" not in readme and readme.startswith("intro\n") and "after" in readme
    assert all(f"`{m.name}" in readme for m in METRICS.values())


def test_self_metrics_render_through_the_store() -> None:
    store = MetricStore()
    metrics = SelfMetrics(store)
    metrics.reloaded(True)
    metrics.targets = {"icmp": 3, "snmp": 1}
    metrics.lateness["icmp"].observe(0.003)
    metrics.lateness["icmp"].observe(7)
    metrics.skipped["snmp"].inc(2)
    body = store.render().decode()
    exported, problems = catalog_problems(body)
    assert problems == []
    assert exported == {m.name for m in of("self")}
    got = parse(body)
    bucket = "netwatch_poll_lateness_seconds_bucket"
    # `le` as prometheus-client wrote it before the store rendered these: same series
    assert got[key(bucket, le="1.0", probe="icmp")] == 1
    assert got[key(bucket, le="10.0", probe="icmp")] == 2
    assert got[key(bucket, le="+Inf", probe="snmp")] == 0
    assert len(labelled(got, bucket)) == 2 * (len(LATENESS_BUCKETS) + 1)
    assert got[key("netwatch_poll_lateness_seconds_sum", probe="icmp")] == 7.003
    assert got[key("netwatch_polls_skipped_total", probe="snmp")] == 2
    assert got[key("netwatch_targets", probe="icmp")] == 3
    assert got[key("netwatch_config_last_reload_successful")] == 1


def _config(recordings: list[str]) -> str:
    now = datetime.now(UTC)
    window = (f"maintenance: [{{start: \"{(now - timedelta(hours=1)).isoformat()}\", "
              "duration: 2h, reason: test}]")
    lines = ["listen: 127.0.0.1:0", "thresholds: thresholds.yml", "defaults:",
             "  snmp: {auth: lab}",
             "auths:", "  lab: {version: 2c, community: public}",
             "canaries: [{name: core, address: 127.0.0.1}]",
             "upstreams:",
             "  - {id: pop-a, name: POP A, kecamatan: Kedaton, devices: "
             "[{name: sw, role: upstream, address: 127.0.9.1}]}",
             "sites:"]
    for i, name in enumerate(recordings):
        extra = window if i == 0 else "sla_target: 0.99"
        lines.append(
            f'  - {{id: "18.71.01.{1001 + i}", name: {name}, kecamatan: Kedaton, '
            f"upstream: pop-a, {extra}, devices: ["
            f'{{name: rtr, role: router, address: "127.0.10.{i + 1}", '
            "uplink: {ifname: ether1, capacity: 20Mbit}, radio: {per_peer: true}}, "
            f'{{name: ap1, role: ap, address: "127.0.11.{i + 1}", parent: rtr}}]}}')
    return "\n".join(lines) + "\n"


async def test_the_whole_exposition_agrees_with_the_catalog(tmp_path: Path) -> None:
    """Every part that renders series, fed as the scheduler would (no network: the SNMP
    results come from every recording through the real poller and profiles)."""
    recordings = sorted(p.stem for p in RECORDINGS.glob("*.snmprec"))
    path = tmp_path / "netwatch.yml"
    path.write_text(_config(recordings))
    # baselines from one-second buckets: three polls two seconds apart make them known
    (tmp_path / "thresholds.yml").write_text("baselines: {bucket: 1s, min_buckets: 1}\n")
    inventory = read_inventory(path)
    daemon = Daemon(path, inventory, probers={"icmp": IcmpProber(), "snmp": SnmpProber()})
    moments = iter(datetime.now(UTC) + timedelta(seconds=2 * n) for n in range(1000))
    now = next(moments)
    daemon.sites.clock = lambda: now
    daemon.state.sync(inventory)  # what Daemon._apply does, minus starting the scheduler
    daemon.sites.sync(inventory)
    daemon.drift.sync(inventory)
    daemon.metrics.targets = {"icmp": 1, "snmp": 1}
    loaded = profiles.load()
    recording = {f"18.71.01.{1001 + i}": name for i, name in enumerate(recordings)}
    results: dict[Target, Result] = {}
    for target in inventory.targets.values():
        owner, device, probe = target.key
        result: Result
        if probe == "icmp":  # the first site's router is down: its AP is suppressed
            down = (owner, device) == ("18.71.01.1001", "rtr")
            result = Failed("timeout") if down else IcmpResult(3, (0.001, 0.002), duplicates=1,
                                                                late=1)
        elif owner in recording and device == "rtr":
            client = RecordedClient.from_file(RECORDINGS / f"{recording[owner]}.snmprec")
            for oid, value in UNRECORDED.get(recording[owner], {}).items():
                client.set(oid, value)
            state = DeviceState("auto")
            assert isinstance(target.policy, SnmpPolicy) and target.policy.max_peers == 16
            state.limit_peers(target.policy.max_peers)  # backhaul: per-peer series too
            result = await poll_device(client, state, loaded, 10.0)
            assert isinstance(result, SnmpResult)
            if owner == "18.71.01.1001":  # an agent sending wrong types, a table cut short
                result = replace(result, truncated=("interfaces",), rejected=(
                    ("netwatch_interface_receive_bytes_total", 2),))
        else:
            result = Failed("auth")
        results[target] = result
    for _ in range(3):  # past the hysteresis
        for target, result in results.items():
            daemon._record(target, Outcome(result, 0.01, 0.0))
        now = next(moments)
    # the second site's access point is cabled to the third site's router (by its address)
    cabled = Neighbor("lldp", "eth0", "", "ether5", "", "", ("127.0.10.3",))
    daemon._record(inventory.targets[("18.71.01.1002", "ap1", "snmp")], Outcome(
        SnmpResult((), "unifi", topology=Topology("", frozenset(), (cabled,))), 0.01, 0.0))
    assert [f.kind for f in daemon.drift.check()] == ["parent"]
    exported, problems = catalog_problems(daemon.render_metrics().decode())
    assert problems == []
    assert exported == set(METRICS), "every catalog family is rendered by someone"
